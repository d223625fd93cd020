//! The twins of `std::sync`, `std::sync::atomic` and `std::thread` compile
//! and behave as `std` does: the same code is instantiated against `std` and
//! against `chaos::std_twin`.

macro_rules! std_api {
    ($module:ident, $root:path) => {
        mod $module {
            use std::panic;
            use std::time::{Duration, Instant};

            use root::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
            use root::sync::mpsc;
            use root::sync::{
                Arc, Barrier, Condvar, LazyLock, LockResult, Mutex, MutexGuard, Once, OnceLock,
                RwLock, TryLockError, WaitTimeoutResult,
            };
            use root::thread;
            use $root as root;

            static COUNT: AtomicUsize = AtomicUsize::new(0);
            static TABLE: Mutex<Vec<u8>> = Mutex::new(Vec::new());
            static INIT: Once = Once::new();
            static CELL: OnceLock<u32> = OnceLock::new();
            static LAZY: LazyLock<Vec<u32>> = LazyLock::new(|| vec![1, 2]);

            fn first(guard: &MutexGuard<'_, Vec<u8>>) -> Option<u8> {
                guard.first().copied()
            }

            #[test]
            fn mutex_locks_and_poisons() {
                TABLE.lock().unwrap().push(7);
                assert_eq!(first(&TABLE.lock().unwrap()), Some(7));
                let mutex = Arc::new(Mutex::new(1));
                {
                    let _held = mutex.lock().unwrap();
                    assert!(matches!(mutex.try_lock(), Err(TryLockError::WouldBlock)));
                }
                let other = Arc::clone(&mutex);
                let result = thread::spawn(move || {
                    let _guard = other.lock().unwrap();
                    panic!("poison it");
                })
                .join();
                assert!(result.is_err());
                assert!(mutex.is_poisoned());
                let locked: LockResult<MutexGuard<'_, i32>> = mutex.lock();
                assert_eq!(*locked.unwrap_err().into_inner(), 1);
                assert!(matches!(mutex.try_lock(), Err(TryLockError::Poisoned(_))));
                mutex.clear_poison();
                *mutex.lock().unwrap() += 1;
                assert_eq!(
                    format!("{:?}", Mutex::new(3)),
                    "Mutex { data: 3, poisoned: false, .. }"
                );
                let mut owned = Mutex::new(String::from("a"));
                owned.get_mut().unwrap().push('b');
                assert_eq!(owned.into_inner().unwrap(), "ab");
                let unsized_lock: &Mutex<[u8]> = &Mutex::new([1, 2, 3]);
                assert_eq!(unsized_lock.lock().unwrap().len(), 3);
                assert!(panic::catch_unwind(|| *mutex.lock().unwrap()).is_ok());
            }

            #[test]
            fn condvar_waits_and_times_out() {
                let pair = Arc::new((Mutex::new(false), Condvar::new()));
                let other = Arc::clone(&pair);
                let setter = thread::spawn(move || {
                    thread::sleep(Duration::from_millis(20));
                    *other.0.lock().unwrap() = true;
                    other.1.notify_all();
                });
                let (lock, cvar) = &*pair;
                let mut ready = lock.lock().unwrap();
                while !*ready {
                    ready = cvar.wait(ready).unwrap();
                }
                drop(ready);
                setter.join().unwrap();
                let guard = cvar.wait_while(lock.lock().unwrap(), |r| !*r).unwrap();
                drop(guard);
                let start = Instant::now();
                let (guard, result): (_, WaitTimeoutResult) = cvar
                    .wait_timeout_while(lock.lock().unwrap(), Duration::from_millis(30), |r| *r)
                    .unwrap();
                assert!(result.timed_out());
                assert!(start.elapsed() >= Duration::from_millis(30));
                let (_guard, _) = cvar.wait_timeout(guard, Duration::from_millis(1)).unwrap();
                cvar.notify_one();
            }

            #[test]
            fn rwlock_shares_and_excludes() {
                let lock = RwLock::new(5);
                {
                    let a = lock.read().unwrap();
                    let b = lock.try_read().unwrap();
                    assert_eq!(*a + *b, 10);
                    assert!(matches!(lock.try_write(), Err(TryLockError::WouldBlock)));
                }
                *lock.write().unwrap() += 1;
                assert_eq!(lock.into_inner().unwrap(), 6);
            }

            #[test]
            fn barrier_once_oncelock_and_channels() {
                let barrier = Arc::new(Barrier::new(4));
                let (tx, rx) = mpsc::channel();
                let handles: Vec<_> = (0..4)
                    .map(|_| {
                        let barrier = Arc::clone(&barrier);
                        let tx = tx.clone();
                        thread::spawn(move || {
                            INIT.call_once(|| {
                                COUNT.fetch_add(100, Ordering::SeqCst);
                            });
                            CELL.get_or_init(|| 9);
                            tx.send(barrier.wait().is_leader()).unwrap();
                        })
                    })
                    .collect();
                drop(tx);
                for handle in handles {
                    handle.join().unwrap();
                }
                let leaders = rx.iter().filter(|&leader| leader).count();
                assert_eq!(leaders, 1);
                assert!(INIT.is_completed());
                assert_eq!(CELL.get(), Some(&9));
                assert_eq!(LAZY.len() + LazyLock::force(&LAZY).len(), 4);
                let (tx, rx) = mpsc::sync_channel::<u8>(1);
                tx.try_send(1).unwrap();
                assert!(matches!(tx.try_send(2), Err(mpsc::TrySendError::Full(2))));
                assert_eq!(rx.recv_timeout(Duration::from_millis(5)), Ok(1));
                assert_eq!(rx.try_recv(), Err(mpsc::TryRecvError::Empty));
            }

            #[test]
            fn atomics_keep_their_results() {
                let a = AtomicU64::new(1);
                assert_eq!(a.fetch_add(2, Ordering::Relaxed), 1);
                assert_eq!(a.swap(10, Ordering::AcqRel), 3);
                assert_eq!(
                    a.compare_exchange(10, 11, Ordering::SeqCst, Ordering::SeqCst),
                    Ok(10)
                );
                assert_eq!(
                    a.compare_exchange(10, 12, Ordering::SeqCst, Ordering::SeqCst),
                    Err(11)
                );
                assert_eq!(
                    a.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |v| Some(v * 2)),
                    Ok(11)
                );
                assert_eq!(a.fetch_max(30, Ordering::Relaxed), 22);
                assert_eq!(a.load(Ordering::Relaxed), 30);
                assert_eq!(format!("{a:?}"), "30");
                let flag = AtomicBool::default();
                assert!(!flag.fetch_or(true, Ordering::Relaxed));
                assert!(flag.load(Ordering::Relaxed));
                root::sync::atomic::fence(Ordering::SeqCst);
                let counter = AtomicUsize::new(0);
                thread::scope(|s| {
                    for _ in 0..4 {
                        s.spawn(|| {
                            for _ in 0..1000 {
                                counter.fetch_add(1, Ordering::Relaxed);
                            }
                        });
                    }
                });
                assert_eq!(counter.into_inner(), 4000);
            }

            #[test]
            fn threads_spawn_scope_park_and_build() {
                let named = thread::Builder::new()
                    .name("twin".to_string())
                    .spawn(|| thread::current().name().map(str::to_string))
                    .unwrap();
                assert_eq!(named.join().unwrap().as_deref(), Some("twin"));
                let mut data = vec![1, 2, 3];
                thread::scope(|s| {
                    let sum = s.spawn(|| data.iter().sum::<i32>());
                    let built = thread::Builder::new().spawn_scoped(s, || 4).unwrap();
                    assert_eq!(sum.join().unwrap() + built.join().unwrap(), 10);
                });
                data.push(4);
                let flag = Arc::new(AtomicBool::new(false));
                let parked = {
                    let flag = Arc::clone(&flag);
                    thread::spawn(move || {
                        while !flag.load(Ordering::Acquire) {
                            thread::park();
                        }
                    })
                };
                thread::yield_now();
                flag.store(true, Ordering::Release);
                parked.thread().unpark();
                parked.join().unwrap();
                thread::park_timeout(Duration::from_millis(1));
            }
        }
    };
}

std_api!(with_std, ::std);
std_api!(with_twins, ::chaos::std_twin);
