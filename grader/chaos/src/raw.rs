//! The raw locks behind the public types: each wraps the real `parking_lot`
//! raw lock and adds noise, the lock-order graph and the monitor's
//! bookkeeping around every operation. The safe types on top
//! (`lock_api::Mutex<RawMutex, T>` and friends) are exactly the ones
//! `parking_lot` uses, so student code sees the same API.
//!
//! Bookkeeping order (the monitor relies on it): a lock is added to the
//! thread's held list after it is acquired and removed before it is released.
#![allow(unsafe_code)]

use std::panic::Location;
use std::sync::atomic::AtomicU64;
use std::time::{Duration, Instant};

use parking_lot::lock_api::{self, RawCondvarTimed as _, RawMutexFair as _};

use crate::config::config;
use crate::lockdep;
use crate::report;
use crate::threads::{self, Held, LockId, LockKind, WaitKind, lock_id};

type Loc = &'static Location<'static>;
type Guard = <parking_lot::RawMutex as lock_api::RawMutex>::Guard;
type RwGuard = <parking_lot::RawRwLock as lock_api::RawRwLock>::SharedGuard;

// ---------------------------------------------------------------------------
// Shared steps of every acquisition and release.

/// Before a blocking acquisition: noise, then the lock-order checks.
fn before_lock(id: LockId, kind: LockKind, at: Loc) {
    threads::with(|local| {
        local.noise();
        if config().wait_stall_one_in != 0 && crate::wait_sites::known(at) {
            local.wait_site_stall();
        }
        if !config().lockdep {
            return;
        }
        let held = local.held.borrow();
        if held.is_empty() {
            return;
        }
        if let Some(previous) = held
            .iter()
            .find(|h| h.id == id && (kind != LockKind::Read || h.kind != LockKind::Read))
        {
            report::fail(
                report::DEADLOCK_EXIT_CODE,
                &format!(
                    "deadlock: {} takes a {} at {at} that it already holds (it took it at {}). \
                     A Mutex is not reentrant: the second lock() waits for the first to be \
                     released, which never happens. Release the guard first, or pass the \
                     guard's data to the helper instead of locking again.",
                    local.shared.label(),
                    kind.noun(),
                    previous.at
                ),
            );
        }
        if let Some(text) = lockdep::acquire(
            local.shared.serial,
            &local.shared.label(),
            &held,
            id,
            kind,
            at,
        ) {
            report::fail(report::LOCK_ORDER_EXIT_CODE, &text);
        }
    });
}

/// Takes a lock: first without blocking; if that fails, blocks with the
/// wait registered for the monitor.
fn block<G>(
    id: LockId,
    wait: WaitKind,
    at: Loc,
    fast: impl FnOnce() -> Option<G>,
    slow: impl FnOnce() -> G,
) -> G {
    if let Some(guard) = fast() {
        return guard;
    }
    threads::with(|local| local.set_waiting(wait, id, Some(at)));
    let guard = slow();
    threads::with(|local| local.clear_waiting());
    guard
}

/// After an acquisition succeeded. (No noise while a lock is held: it
/// would only serialize the other threads, not open new interleavings.)
fn after_lock(id: LockId, kind: LockKind, at: Loc) {
    threads::with(|local| local.push_held(Held { id, kind, at }));
}

/// Before a non-blocking or timed acquisition: noise only (a `try_lock`
/// cannot deadlock, so it adds no edge to the lock-order graph).
fn before_try() {
    threads::with(|local| local.noise());
}

/// Before a release.
fn before_unlock(id: LockId) {
    threads::with(|local| local.pop_held(id));
}

/// After a release.
fn after_unlock() {
    threads::with(|local| local.noise());
}

fn timed<G>(id: LockId, kind: LockKind, at: Loc, attempt: impl FnOnce() -> Option<G>) -> Option<G> {
    before_try();
    threads::with(|local| local.set_waiting(WaitKind::TimedLock(kind), id, Some(at)));
    let guard = attempt();
    threads::with(|local| local.clear_waiting());
    if guard.is_some() {
        after_lock(id, kind, at);
    }
    guard
}

// ---------------------------------------------------------------------------
// Mutex

/// The raw mutex behind [`Mutex`](crate::Mutex): `parking_lot`'s, instrumented.
pub struct RawMutex {
    inner: parking_lot::RawMutex,
    id: AtomicU64,
}

impl RawMutex {
    fn id(&self) -> LockId {
        lock_id(&self.id)
    }
}

impl Drop for RawMutex {
    fn drop(&mut self) {
        let id = *self.id.get_mut();
        if id != 0 {
            lockdep::forget(id);
        }
    }
}

// SAFETY: every method delegates the locking itself to `parking_lot::RawMutex`
// and only adds bookkeeping around it.
unsafe impl lock_api::RawMutex for RawMutex {
    const INIT: RawMutex = RawMutex {
        inner: parking_lot::RawMutex::INIT,
        id: AtomicU64::new(0),
    };

    type Guard = Guard;

    #[track_caller]
    fn lock(&self) -> Guard {
        let at = Location::caller();
        let id = self.id();
        before_lock(id, LockKind::Mutex, at);
        let guard = block(
            id,
            WaitKind::Lock(LockKind::Mutex),
            at,
            || self.inner.try_lock(),
            || self.inner.lock(),
        );
        after_lock(id, LockKind::Mutex, at);
        guard
    }

    #[track_caller]
    fn try_lock(&self) -> Option<Guard> {
        let at = Location::caller();
        before_try();
        let guard = self.inner.try_lock();
        if guard.is_some() {
            after_lock(self.id(), LockKind::Mutex, at);
        }
        guard
    }

    unsafe fn unlock(&self, guard: Guard) {
        before_unlock(self.id());
        // SAFETY: forwarded from our caller.
        unsafe { self.inner.unlock(guard) };
        after_unlock();
    }

    fn is_locked(&self) -> bool {
        self.inner.is_locked()
    }
}

// SAFETY: as above.
unsafe impl lock_api::RawMutexFair for RawMutex {
    unsafe fn unlock_fair(&self, guard: Guard) {
        before_unlock(self.id());
        // SAFETY: forwarded from our caller.
        unsafe { self.inner.unlock_fair(guard) };
        after_unlock();
    }
}

// SAFETY: as above.
unsafe impl lock_api::RawMutexTimed for RawMutex {
    type Duration = Duration;
    type Instant = Instant;

    #[track_caller]
    fn try_lock_for(&self, timeout: Duration) -> Option<Guard> {
        let at = Location::caller();
        timed(self.id(), LockKind::Mutex, at, || {
            self.inner.try_lock_for(timeout)
        })
    }

    #[track_caller]
    fn try_lock_until(&self, timeout: Instant) -> Option<Guard> {
        let at = Location::caller();
        timed(self.id(), LockKind::Mutex, at, || {
            self.inner.try_lock_until(timeout)
        })
    }
}

/// The raw mutex behind [`FairMutex`](crate::FairMutex): every unlock is fair.
pub struct RawFairMutex(RawMutex);

// SAFETY: delegates to the instrumented `RawMutex`.
unsafe impl lock_api::RawMutex for RawFairMutex {
    const INIT: RawFairMutex = RawFairMutex(RawMutex::INIT);

    type Guard = Guard;

    #[track_caller]
    fn lock(&self) -> Guard {
        self.0.lock()
    }

    #[track_caller]
    fn try_lock(&self) -> Option<Guard> {
        self.0.try_lock()
    }

    unsafe fn unlock(&self, guard: Guard) {
        // SAFETY: forwarded from our caller.
        unsafe { self.0.unlock_fair(guard) }
    }

    fn is_locked(&self) -> bool {
        self.0.is_locked()
    }
}

// SAFETY: delegates to the instrumented `RawMutex`.
unsafe impl lock_api::RawMutexFair for RawFairMutex {
    unsafe fn unlock_fair(&self, guard: Guard) {
        // SAFETY: forwarded from our caller.
        unsafe { self.0.unlock_fair(guard) }
    }
}

// SAFETY: delegates to the instrumented `RawMutex`.
unsafe impl lock_api::RawMutexTimed for RawFairMutex {
    type Duration = Duration;
    type Instant = Instant;

    #[track_caller]
    fn try_lock_for(&self, timeout: Duration) -> Option<Guard> {
        self.0.try_lock_for(timeout)
    }

    #[track_caller]
    fn try_lock_until(&self, timeout: Instant) -> Option<Guard> {
        self.0.try_lock_until(timeout)
    }
}

// ---------------------------------------------------------------------------
// Condvar

/// The raw condition variable behind [`Condvar`](crate::Condvar):
/// `parking_lot`'s, instrumented. Unlike `parking_lot`'s, a wait sometimes
/// returns without a notification (a spurious wakeup), as `std`'s and
/// CPython's condition variables may, so that only code that re-checks its
/// condition after waking passes. `notify_one` and `notify_all` still return
/// exactly how many waiters they woke.
pub struct RawCondvar {
    inner: parking_lot::RawCondvar,
}

/// What a wait will do, decided before it starts.
struct WaitPlan {
    /// Wake up by this time even if nobody notifies (a spurious wakeup).
    spurious_at: Option<Instant>,
}

impl RawCondvar {
    fn before_wait(mutex: &RawMutex, timed: bool) -> WaitPlan {
        let id = mutex.id();
        let kind = if timed {
            WaitKind::TimedCondvar
        } else {
            WaitKind::Condvar
        };
        threads::with(|local| {
            let at = local.pop_held(id).map(|h| h.at);
            if let Some(at) = at {
                crate::wait_sites::learn(at);
            }
            WAIT_AT.with(|slot| slot.set(at));
            local.set_waiting(kind, id, at);
            let spurious = config().spurious && local.one_in(config().spurious_one_in);
            let spurious_at = spurious.then(|| {
                Instant::now() + Duration::from_micros(local.up_to(config().spurious_max_us))
            });
            WaitPlan { spurious_at }
        })
        .unwrap_or(WaitPlan { spurious_at: None })
    }

    fn after_wait(mutex: &RawMutex) {
        let id = mutex.id();
        let at = WAIT_AT.with(|slot| slot.take());
        threads::with(|local| {
            local.clear_waiting();
            if let Some(at) = at {
                local.push_held(Held {
                    id,
                    kind: LockKind::Mutex,
                    at,
                });
            }
        });
    }
}

thread_local! {
    /// Where the mutex a thread waits with was locked, kept over the wait.
    static WAIT_AT: std::cell::Cell<Option<Loc>> = const { std::cell::Cell::new(None) };
}

// SAFETY: waiting, notifying and the mutex hand-over are `parking_lot`'s; an
// early (spurious) return is a timed wait on the same mutex, which re-locks
// it before returning, as the contract requires.
unsafe impl lock_api::RawCondvar for RawCondvar {
    const INIT: RawCondvar = RawCondvar {
        inner: parking_lot::RawCondvar::INIT,
    };

    type RawMutex = RawMutex;

    unsafe fn wait(&self, mutex: &RawMutex, guard: &mut Guard) {
        let plan = Self::before_wait(mutex, false);
        match plan.spurious_at {
            Some(at) => {
                // SAFETY: forwarded from our caller.
                let timed_out = unsafe { self.inner.wait_until(&mutex.inner, guard, &at) };
                if timed_out {
                    report::note_spurious_wakeup();
                }
            }
            // SAFETY: forwarded from our caller.
            None => unsafe { self.inner.wait(&mutex.inner, guard) },
        }
        Self::after_wait(mutex);
    }

    fn notify_one(&self) -> bool {
        let woke = self.inner.notify_one();
        threads::with(|local| local.noise());
        woke
    }

    fn notify_all(&self) -> usize {
        let woke = self.inner.notify_all();
        threads::with(|local| local.noise());
        woke
    }
}

// SAFETY: as above; a spurious return happens only before the caller's
// deadline and reports "not timed out", as a real spurious wakeup would.
unsafe impl lock_api::RawCondvarTimed for RawCondvar {
    fn checked_duration_to_instant(timeout: &Duration) -> Option<Instant> {
        <parking_lot::RawCondvar as lock_api::RawCondvarTimed>::checked_duration_to_instant(timeout)
    }

    unsafe fn wait_until(&self, mutex: &RawMutex, guard: &mut Guard, timeout: &Instant) -> bool {
        let plan = Self::before_wait(mutex, true);
        let timed_out = match plan.spurious_at {
            Some(at) if at < *timeout => {
                // SAFETY: forwarded from our caller.
                if unsafe { self.inner.wait_until(&mutex.inner, guard, &at) } {
                    report::note_spurious_wakeup();
                }
                false
            }
            // SAFETY: forwarded from our caller.
            _ => unsafe { self.inner.wait_until(&mutex.inner, guard, timeout) },
        };
        Self::after_wait(mutex);
        timed_out
    }
}

// ---------------------------------------------------------------------------
// RwLock

/// The raw reader-writer lock behind [`RwLock`](crate::RwLock):
/// `parking_lot`'s, instrumented. Upgradable reads count as reads.
pub struct RawRwLock {
    inner: parking_lot::RawRwLock,
    id: AtomicU64,
}

impl RawRwLock {
    fn id(&self) -> LockId {
        lock_id(&self.id)
    }
}

impl Drop for RawRwLock {
    fn drop(&mut self) {
        let id = *self.id.get_mut();
        if id != 0 {
            lockdep::forget(id);
        }
    }
}

// SAFETY: every method delegates the locking to `parking_lot::RawRwLock` and
// only adds bookkeeping around it.
unsafe impl lock_api::RawRwLock for RawRwLock {
    const INIT: RawRwLock = RawRwLock {
        inner: parking_lot::RawRwLock::INIT,
        id: AtomicU64::new(0),
    };

    type SharedGuard = RwGuard;
    type ExclusiveGuard = RwGuard;

    #[track_caller]
    fn lock_shared(&self) -> RwGuard {
        let at = Location::caller();
        let id = self.id();
        before_lock(id, LockKind::Read, at);
        let guard = block(
            id,
            WaitKind::Lock(LockKind::Read),
            at,
            || self.inner.try_lock_shared(),
            || self.inner.lock_shared(),
        );
        after_lock(id, LockKind::Read, at);
        guard
    }

    #[track_caller]
    fn try_lock_shared(&self) -> Option<RwGuard> {
        let at = Location::caller();
        before_try();
        let guard = self.inner.try_lock_shared();
        if guard.is_some() {
            after_lock(self.id(), LockKind::Read, at);
        }
        guard
    }

    unsafe fn unlock_shared(&self, guard: RwGuard) {
        before_unlock(self.id());
        // SAFETY: forwarded from our caller.
        unsafe { self.inner.unlock_shared(guard) };
        after_unlock();
    }

    #[track_caller]
    fn lock_exclusive(&self) -> RwGuard {
        let at = Location::caller();
        let id = self.id();
        before_lock(id, LockKind::Write, at);
        let guard = block(
            id,
            WaitKind::Lock(LockKind::Write),
            at,
            || self.inner.try_lock_exclusive(),
            || self.inner.lock_exclusive(),
        );
        after_lock(id, LockKind::Write, at);
        guard
    }

    #[track_caller]
    fn try_lock_exclusive(&self) -> Option<RwGuard> {
        let at = Location::caller();
        before_try();
        let guard = self.inner.try_lock_exclusive();
        if guard.is_some() {
            after_lock(self.id(), LockKind::Write, at);
        }
        guard
    }

    unsafe fn unlock_exclusive(&self, guard: RwGuard) {
        before_unlock(self.id());
        // SAFETY: forwarded from our caller.
        unsafe { self.inner.unlock_exclusive(guard) };
        after_unlock();
    }

    fn is_locked(&self) -> bool {
        self.inner.is_locked()
    }

    fn is_locked_exclusive(&self) -> bool {
        self.inner.is_locked_exclusive()
    }
}

// SAFETY: as above.
unsafe impl lock_api::RawRwLockFair for RawRwLock {
    unsafe fn unlock_shared_fair(&self, guard: RwGuard) {
        before_unlock(self.id());
        // SAFETY: forwarded from our caller.
        unsafe { self.inner.unlock_shared_fair(guard) };
        after_unlock();
    }

    unsafe fn unlock_exclusive_fair(&self, guard: RwGuard) {
        before_unlock(self.id());
        // SAFETY: forwarded from our caller.
        unsafe { self.inner.unlock_exclusive_fair(guard) };
        after_unlock();
    }
}

/// Changes the kind of this thread's most recent hold of `id`.
fn rekind(id: LockId, kind: LockKind) {
    threads::with(|local| {
        if let Some(held) = local
            .shared
            .held
            .lock()
            .iter_mut()
            .rev()
            .find(|h| h.id == id)
        {
            held.kind = kind;
        }
    });
}

// SAFETY: as above.
unsafe impl lock_api::RawRwLockDowngrade for RawRwLock {
    unsafe fn downgrade(&self, guard: RwGuard) -> RwGuard {
        rekind(self.id(), LockKind::Read);
        // SAFETY: forwarded from our caller.
        unsafe { self.inner.downgrade(guard) }
    }
}

// SAFETY: as above.
unsafe impl lock_api::RawRwLockTimed for RawRwLock {
    type Duration = Duration;
    type Instant = Instant;

    #[track_caller]
    fn try_lock_shared_for(&self, timeout: Duration) -> Option<RwGuard> {
        let at = Location::caller();
        timed(self.id(), LockKind::Read, at, || {
            self.inner.try_lock_shared_for(timeout)
        })
    }

    #[track_caller]
    fn try_lock_shared_until(&self, timeout: Instant) -> Option<RwGuard> {
        let at = Location::caller();
        timed(self.id(), LockKind::Read, at, || {
            self.inner.try_lock_shared_until(timeout)
        })
    }

    #[track_caller]
    fn try_lock_exclusive_for(&self, timeout: Duration) -> Option<RwGuard> {
        let at = Location::caller();
        timed(self.id(), LockKind::Write, at, || {
            self.inner.try_lock_exclusive_for(timeout)
        })
    }

    #[track_caller]
    fn try_lock_exclusive_until(&self, timeout: Instant) -> Option<RwGuard> {
        let at = Location::caller();
        timed(self.id(), LockKind::Write, at, || {
            self.inner.try_lock_exclusive_until(timeout)
        })
    }
}

// SAFETY: as above.
unsafe impl lock_api::RawRwLockUpgrade for RawRwLock {
    type UpgradableGuard = RwGuard;

    #[track_caller]
    fn lock_upgradable(&self) -> RwGuard {
        let at = Location::caller();
        let id = self.id();
        before_lock(id, LockKind::Read, at);
        let guard = block(
            id,
            WaitKind::Lock(LockKind::Write),
            at,
            || self.inner.try_lock_upgradable(),
            || self.inner.lock_upgradable(),
        );
        after_lock(id, LockKind::Read, at);
        guard
    }

    #[track_caller]
    fn try_lock_upgradable(&self) -> Option<RwGuard> {
        let at = Location::caller();
        before_try();
        let guard = self.inner.try_lock_upgradable();
        if guard.is_some() {
            after_lock(self.id(), LockKind::Read, at);
        }
        guard
    }

    unsafe fn unlock_upgradable(&self, guard: RwGuard) {
        before_unlock(self.id());
        // SAFETY: forwarded from our caller.
        unsafe { self.inner.unlock_upgradable(guard) };
        after_unlock();
    }

    unsafe fn upgrade(&self, guard: RwGuard) -> RwGuard {
        before_try();
        // SAFETY: forwarded from our caller.
        let guard = unsafe { self.inner.upgrade(guard) };
        rekind(self.id(), LockKind::Write);
        guard
    }

    unsafe fn try_upgrade(&self, guard: RwGuard) -> Result<RwGuard, RwGuard> {
        // SAFETY: forwarded from our caller.
        let result = unsafe { self.inner.try_upgrade(guard) };
        if result.is_ok() {
            rekind(self.id(), LockKind::Write);
        }
        result
    }
}

// SAFETY: as above.
unsafe impl lock_api::RawRwLockUpgradeFair for RawRwLock {
    unsafe fn unlock_upgradable_fair(&self, guard: RwGuard) {
        before_unlock(self.id());
        // SAFETY: forwarded from our caller.
        unsafe { self.inner.unlock_upgradable_fair(guard) };
        after_unlock();
    }
}

// SAFETY: as above.
unsafe impl lock_api::RawRwLockUpgradeDowngrade for RawRwLock {
    unsafe fn downgrade_upgradable(&self, guard: RwGuard) -> RwGuard {
        // SAFETY: forwarded from our caller.
        unsafe { self.inner.downgrade_upgradable(guard) }
    }

    unsafe fn downgrade_to_upgradable(&self, guard: RwGuard) -> RwGuard {
        rekind(self.id(), LockKind::Read);
        // SAFETY: forwarded from our caller.
        unsafe { self.inner.downgrade_to_upgradable(guard) }
    }
}

// SAFETY: as above.
unsafe impl lock_api::RawRwLockUpgradeTimed for RawRwLock {
    #[track_caller]
    fn try_lock_upgradable_for(&self, timeout: Duration) -> Option<RwGuard> {
        let at = Location::caller();
        timed(self.id(), LockKind::Read, at, || {
            self.inner.try_lock_upgradable_for(timeout)
        })
    }

    #[track_caller]
    fn try_lock_upgradable_until(&self, timeout: Instant) -> Option<RwGuard> {
        let at = Location::caller();
        timed(self.id(), LockKind::Read, at, || {
            self.inner.try_lock_upgradable_until(timeout)
        })
    }

    unsafe fn try_upgrade_for(
        &self,
        guard: RwGuard,
        timeout: Duration,
    ) -> Result<RwGuard, RwGuard> {
        // SAFETY: forwarded from our caller.
        let result = unsafe { self.inner.try_upgrade_for(guard, timeout) };
        if result.is_ok() {
            rekind(self.id(), LockKind::Write);
        }
        result
    }

    unsafe fn try_upgrade_until(
        &self,
        guard: RwGuard,
        timeout: Instant,
    ) -> Result<RwGuard, RwGuard> {
        // SAFETY: forwarded from our caller.
        let result = unsafe { self.inner.try_upgrade_until(guard, timeout) };
        if result.is_ok() {
            rekind(self.id(), LockKind::Write);
        }
        result
    }
}
