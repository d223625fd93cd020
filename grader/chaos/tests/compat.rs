//! The stand-in compiles and behaves as `parking_lot` for the whole API the
//! course uses: the same code is instantiated against both crates.

use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

macro_rules! exercise_api {
    ($module:ident, $krate:ident) => {
        mod $module {
            use super::*;
            use parking_lot::{
                Condvar, FairMutex, Mutex, MutexGuard, Once, OnceState, ReentrantMutex,
                ReentrantMutexGuard, RwLock, RwLockReadGuard, RwLockUpgradableReadGuard,
                RwLockWriteGuard, WaitTimeoutResult,
            };
            use $krate as parking_lot;

            static GLOBAL: Mutex<u64> = Mutex::new(0);
            static SIGNAL: Condvar = Condvar::new();
            static REENTRANT: ReentrantMutex<u8> = ReentrantMutex::new(1);
            static TABLE: RwLock<Vec<u8>> = RwLock::new(Vec::new());
            static INIT: Once = Once::new();

            fn bump(guard: &mut MutexGuard<'_, u64>) -> u64 {
                **guard += 1;
                **guard
            }

            #[test]
            fn mutex_api() {
                let mutex = Mutex::new(vec![1, 2, 3]);
                mutex.lock().push(4);
                assert!(!mutex.is_locked());
                {
                    let guard = mutex.lock();
                    assert!(mutex.try_lock().is_none());
                    assert!(mutex.try_lock_for(Duration::from_millis(5)).is_none());
                    assert!(
                        mutex
                            .try_lock_until(Instant::now() + Duration::from_millis(5))
                            .is_none()
                    );
                    assert_eq!(guard.len(), 4);
                }
                let first = MutexGuard::map(mutex.lock(), |v| &mut v[0]);
                assert_eq!(*first, 1);
                drop(first);
                let mut guard = mutex.lock();
                let inside = MutexGuard::unlocked(&mut guard, || mutex.try_lock().is_some());
                assert!(inside);
                drop(guard);
                let mut mutex = mutex;
                mutex.get_mut().push(5);
                assert_eq!(mutex.into_inner(), vec![1, 2, 3, 4, 5]);
                let mut global = GLOBAL.lock();
                let before = *global;
                assert_eq!(bump(&mut global), before + 1);
                let fair = FairMutex::new(3);
                *fair.lock() += 1;
                assert_eq!(*fair.lock(), 4);
                let defaulted: Mutex<u8> = Mutex::default();
                let from: Mutex<u8> = Mutex::from(7);
                assert_eq!(*defaulted.lock() + *from.lock(), 7);
                assert!(format!("{defaulted:?}").contains("Mutex"));
            }

            #[test]
            fn condvar_api() {
                let pair = Arc::new((Mutex::new(false), Condvar::new()));
                let other = Arc::clone(&pair);
                let setter = thread::spawn(move || {
                    thread::sleep(Duration::from_millis(20));
                    *other.0.lock() = true;
                    let _: bool = other.1.notify_one();
                    let _: usize = other.1.notify_all();
                });
                let (lock, cvar) = &*pair;
                let mut ready = lock.lock();
                while !*ready {
                    cvar.wait(&mut ready);
                }
                drop(ready);
                setter.join().unwrap();

                let mut guard = lock.lock();
                let result: WaitTimeoutResult = cvar.wait_for(&mut guard, Duration::from_millis(1));
                let _ = result.timed_out();
                let result = cvar.wait_until(&mut guard, Instant::now() + Duration::from_millis(1));
                let _ = result.timed_out();
                cvar.wait_while(&mut guard, |ready| !*ready);
                let result =
                    cvar.wait_while_for(&mut guard, |ready| *ready, Duration::from_millis(20));
                assert!(result.timed_out(), "the condition never became false");
                let result = cvar.wait_while_until(
                    &mut guard,
                    |ready| *ready,
                    Instant::now() + Duration::from_millis(20),
                );
                assert!(result.timed_out());
                drop(guard);
                assert!(!SIGNAL.notify_one());
                assert_eq!(SIGNAL.notify_all(), 0);
            }

            #[test]
            fn reentrant_api() {
                let outer: ReentrantMutexGuard<'_, u8> = REENTRANT.lock();
                let inner = REENTRANT.lock();
                assert_eq!(*outer + *inner, 2);
                assert!(REENTRANT.try_lock().is_some());
                assert!(REENTRANT.is_owned_by_current_thread());
                let other = thread::scope(|s| s.spawn(|| REENTRANT.try_lock().is_none()).join());
                assert!(other.unwrap());
                drop(inner);
                drop(outer);
                let local = ReentrantMutex::new(String::from("x"));
                assert_eq!(local.into_inner(), "x");
            }

            #[test]
            fn rwlock_api() {
                TABLE.write().push(1);
                {
                    let a: RwLockReadGuard<'_, Vec<u8>> = TABLE.read();
                    let b = TABLE.read();
                    assert_eq!(a.len(), b.len());
                    assert!(TABLE.try_write().is_none());
                    assert!(TABLE.try_read().is_some());
                }
                let upgradable: RwLockUpgradableReadGuard<'_, Vec<u8>> = TABLE.upgradable_read();
                let mut writer: RwLockWriteGuard<'_, Vec<u8>> =
                    RwLockUpgradableReadGuard::upgrade(upgradable);
                writer.push(2);
                let reader = RwLockWriteGuard::downgrade(writer);
                assert!(reader.ends_with(&[1, 2]));
                drop(reader);
                assert!(TABLE.try_write_for(Duration::from_millis(1)).is_some());
                assert!(TABLE.try_read_for(Duration::from_millis(1)).is_some());
                let mut lock = RwLock::new(5);
                *lock.get_mut() += 1;
                assert_eq!(lock.into_inner(), 6);
            }

            #[test]
            fn once_api() {
                let mut calls = 0;
                INIT.call_once(|| calls += 1);
                INIT.call_once(|| calls += 1);
                assert!(calls <= 1);
                assert!(INIT.state().done());
                let state: OnceState = INIT.state();
                assert!(!state.poisoned());
            }
        }
    };
}

exercise_api!(against_chaos, chaos);
exercise_api!(against_parking_lot, parking_lot);
