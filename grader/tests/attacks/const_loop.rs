#![allow(long_running_const_eval)]
// An endless compile: a const evaluation of 2^64 steps.
pub const SPIN: u64 = {
    let mut i = 0u64;
    let mut x = 0u64;
    while i < u64::MAX {
        x = x.wrapping_add(i ^ (x >> 3));
        i += 1;
    }
    x
};
fn attack() {
    panic!("{SPIN}");
}
