#[cfg_attr(all(), path = "@COURSE@/solutions/05-event/src/lib.rs")]
mod reference;
pub use reference::*;
