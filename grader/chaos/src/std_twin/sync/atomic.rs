//! Twins of `std::sync::atomic`'s types: `std`'s own atomics (same orderings,
//! same results) with a noise point before and after every operation, so a
//! load and a store that depend on each other get a window between them in
//! which another thread can run. `Ordering` and `compiler_fence` are `std`'s.

use std::fmt;

pub use ::std::sync::atomic::*;

use crate::threads::noise;

/// A fence, as `std::sync::atomic::fence`, after a noise point.
pub fn fence(order: Ordering) {
    noise();
    std::sync::atomic::fence(order);
}

/// Runs one atomic operation between two noise points.
#[inline]
fn around<R>(op: impl FnOnce() -> R) -> R {
    noise();
    let result = op();
    noise();
    result
}

/// The methods every atomic type has, whatever it holds.
macro_rules! common {
    ($name:ident, $value:ty) => {
        /// Reads the value.
        pub fn load(&self, order: Ordering) -> $value {
            around(|| self.0.load(order))
        }

        /// Writes the value.
        pub fn store(&self, value: $value, order: Ordering) {
            around(|| self.0.store(value, order))
        }

        /// Writes the value, returning the previous one.
        pub fn swap(&self, value: $value, order: Ordering) -> $value {
            around(|| self.0.swap(value, order))
        }

        /// Writes `new` if the value is `current`.
        pub fn compare_exchange(
            &self,
            current: $value,
            new: $value,
            success: Ordering,
            failure: Ordering,
        ) -> Result<$value, $value> {
            around(|| self.0.compare_exchange(current, new, success, failure))
        }

        /// As `compare_exchange`, but may fail spuriously.
        pub fn compare_exchange_weak(
            &self,
            current: $value,
            new: $value,
            success: Ordering,
            failure: Ordering,
        ) -> Result<$value, $value> {
            around(|| self.0.compare_exchange_weak(current, new, success, failure))
        }

        /// Applies `f` until the update wins, with noise between each read and
        /// the write that depends on it.
        pub fn fetch_update<F>(
            &self,
            set_order: Ordering,
            fetch_order: Ordering,
            mut f: F,
        ) -> Result<$value, $value>
        where
            F: FnMut($value) -> Option<$value>,
        {
            around(|| {
                self.0.fetch_update(set_order, fetch_order, |value| {
                    noise();
                    f(value)
                })
            })
        }

        /// The value, through a unique borrow.
        pub fn get_mut(&mut self) -> &mut $value {
            self.0.get_mut()
        }

        /// The value, consuming the atomic.
        pub fn into_inner(self) -> $value {
            self.0.into_inner()
        }

        /// A raw pointer to the value.
        pub const fn as_ptr(&self) -> *mut $value {
            self.0.as_ptr()
        }
    };
}

/// An atomic integer twin.
macro_rules! integer {
    ($($name:ident $int:ty;)*) => {$(
        #[doc = concat!("An atomic `", stringify!($int), "`, as `std::sync::atomic::", stringify!($name), "`.")]
        #[repr(transparent)]
        pub struct $name(std::sync::atomic::$name);

        impl $name {
            /// A new atomic holding `value`.
            pub const fn new(value: $int) -> $name {
                $name(std::sync::atomic::$name::new(value))
            }

            common!($name, $int);

            /// Adds, returning the previous value (wrapping on overflow).
            pub fn fetch_add(&self, value: $int, order: Ordering) -> $int {
                around(|| self.0.fetch_add(value, order))
            }

            /// Subtracts, returning the previous value (wrapping).
            pub fn fetch_sub(&self, value: $int, order: Ordering) -> $int {
                around(|| self.0.fetch_sub(value, order))
            }

            /// Bitwise and, returning the previous value.
            pub fn fetch_and(&self, value: $int, order: Ordering) -> $int {
                around(|| self.0.fetch_and(value, order))
            }

            /// Bitwise nand, returning the previous value.
            pub fn fetch_nand(&self, value: $int, order: Ordering) -> $int {
                around(|| self.0.fetch_nand(value, order))
            }

            /// Bitwise or, returning the previous value.
            pub fn fetch_or(&self, value: $int, order: Ordering) -> $int {
                around(|| self.0.fetch_or(value, order))
            }

            /// Bitwise xor, returning the previous value.
            pub fn fetch_xor(&self, value: $int, order: Ordering) -> $int {
                around(|| self.0.fetch_xor(value, order))
            }

            /// Maximum, returning the previous value.
            pub fn fetch_max(&self, value: $int, order: Ordering) -> $int {
                around(|| self.0.fetch_max(value, order))
            }

            /// Minimum, returning the previous value.
            pub fn fetch_min(&self, value: $int, order: Ordering) -> $int {
                around(|| self.0.fetch_min(value, order))
            }
        }

        impl Default for $name {
            fn default() -> $name {
                $name::new(0)
            }
        }

        impl From<$int> for $name {
            fn from(value: $int) -> $name {
                $name::new(value)
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Debug::fmt(&self.0, f)
            }
        }
    )*};
}

integer! {
    AtomicI8 i8;
    AtomicI16 i16;
    AtomicI32 i32;
    AtomicI64 i64;
    AtomicIsize isize;
    AtomicU8 u8;
    AtomicU16 u16;
    AtomicU32 u32;
    AtomicU64 u64;
    AtomicUsize usize;
}

/// An atomic `bool`, as `std::sync::atomic::AtomicBool`.
#[repr(transparent)]
pub struct AtomicBool(std::sync::atomic::AtomicBool);

impl AtomicBool {
    /// A new atomic holding `value`.
    pub const fn new(value: bool) -> AtomicBool {
        AtomicBool(std::sync::atomic::AtomicBool::new(value))
    }

    common!(AtomicBool, bool);

    /// Logical and, returning the previous value.
    pub fn fetch_and(&self, value: bool, order: Ordering) -> bool {
        around(|| self.0.fetch_and(value, order))
    }

    /// Logical nand, returning the previous value.
    pub fn fetch_nand(&self, value: bool, order: Ordering) -> bool {
        around(|| self.0.fetch_nand(value, order))
    }

    /// Logical or, returning the previous value.
    pub fn fetch_or(&self, value: bool, order: Ordering) -> bool {
        around(|| self.0.fetch_or(value, order))
    }

    /// Logical xor, returning the previous value.
    pub fn fetch_xor(&self, value: bool, order: Ordering) -> bool {
        around(|| self.0.fetch_xor(value, order))
    }

    /// Logical not, returning the previous value.
    pub fn fetch_not(&self, order: Ordering) -> bool {
        around(|| self.0.fetch_not(order))
    }
}

impl Default for AtomicBool {
    fn default() -> AtomicBool {
        AtomicBool::new(false)
    }
}

impl From<bool> for AtomicBool {
    fn from(value: bool) -> AtomicBool {
        AtomicBool::new(value)
    }
}

impl fmt::Debug for AtomicBool {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.0, f)
    }
}

/// An atomic raw pointer, as `std::sync::atomic::AtomicPtr`.
#[repr(transparent)]
pub struct AtomicPtr<T>(std::sync::atomic::AtomicPtr<T>);

impl<T> AtomicPtr<T> {
    /// A new atomic holding `value`.
    pub const fn new(value: *mut T) -> AtomicPtr<T> {
        AtomicPtr(std::sync::atomic::AtomicPtr::new(value))
    }

    common!(AtomicPtr, *mut T);
}

impl<T> Default for AtomicPtr<T> {
    fn default() -> AtomicPtr<T> {
        AtomicPtr::new(std::ptr::null_mut())
    }
}

impl<T> From<*mut T> for AtomicPtr<T> {
    fn from(value: *mut T) -> AtomicPtr<T> {
        AtomicPtr::new(value)
    }
}

impl<T> fmt::Debug for AtomicPtr<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.0, f)
    }
}
