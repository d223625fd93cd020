//! The pass record: how a hidden test proves to the grader that its body
//! returned, in a way the code under test cannot forge.
//!
//! The grader's sandbox starts every test process with two extra
//! descriptors, named in [`PROOF_VAR`](crate::PROOF_VAR) as `SECRET,RECORD`:
//! a pipe holding a one-time secret, and a pipe it reads the record from.
//! Before the test body runs (and so before any student code runs in the
//! process), [`take`] reads the secret into memory that the kernel keeps out
//! of `/proc/self/mem`, `process_vm_readv` and ptrace (`memfd_secret(2)`),
//! closes the secret's descriptor and marks the record's close-on-exec. When
//! the body returns, [`Proof::record`] writes `PASS <secret>` to the record
//! in one atomic write. Student code can write to the record too (it is an
//! open descriptor of its process) but cannot know the secret, and a program
//! it starts inherits neither descriptor.
//!
//! Outside the grader (`cargo test` at home) the variable is unset and
//! nothing happens.

#![allow(unsafe_code)]

use std::sync::OnceLock;

/// Bytes of secret memory kept (the secret itself is much shorter).
const SECRET_PAGE: usize = 4096;

/// A taken secret and the descriptor its record goes to.
pub struct Proof {
    /// Start of the secret memory (a private mapping that lives as long as
    /// the process).
    secret: *mut u8,
    /// Bytes of secret read.
    len: usize,
    /// The record descriptor.
    record_fd: i32,
}

// SAFETY: the mapping is written once in `take`, before the `Proof` is
// shared, and only read afterwards.
unsafe impl Send for Proof {}
// SAFETY: as above: after `take`, every access is a read.
unsafe impl Sync for Proof {}

static TAKEN: OnceLock<Option<Proof>> = OnceLock::new();

/// Takes this process's secret (once; later calls return the same proof).
/// `None` when the process was not started by the grader's sandbox.
pub fn take() -> Option<&'static Proof> {
    TAKEN.get_or_init(take_once).as_ref()
}

fn take_once() -> Option<Proof> {
    let value = std::env::var(crate::PROOF_VAR).ok()?;
    let (secret_fd, record_fd) = value.split_once(',')?;
    let secret_fd: i32 = secret_fd.trim().parse().ok()?;
    let record_fd: i32 = record_fd.trim().parse().ok()?;
    let secret = secret_memory()?;
    // SAFETY: `secret` points to SECRET_PAGE writable bytes; the descriptors
    // are plain integers the kernel checks.
    unsafe {
        let mut len = 0usize;
        while len < SECRET_PAGE {
            let n = libc::read(
                secret_fd,
                secret.add(len).cast::<libc::c_void>(),
                SECRET_PAGE - len,
            );
            if n <= 0 {
                break;
            }
            len += n as usize;
        }
        libc::close(secret_fd);
        libc::fcntl(record_fd, libc::F_SETFD, libc::FD_CLOEXEC);
        (len > 0).then_some(Proof {
            secret,
            len,
            record_fd,
        })
    }
}

/// A page the secret lives in: `memfd_secret(2)` memory where the kernel
/// offers it (reads of it through `/proc/self/mem` fail), else an ordinary
/// private page (the sandbox then hides `/proc` from the test).
fn secret_memory() -> Option<*mut u8> {
    // SAFETY: plain system calls; every result is checked before use.
    unsafe {
        let fd = libc::syscall(libc::SYS_memfd_secret, 0) as i32;
        let (flags, map_fd) = if fd >= 0 && libc::ftruncate(fd, SECRET_PAGE as libc::off_t) == 0 {
            (libc::MAP_SHARED, fd)
        } else {
            (libc::MAP_PRIVATE | libc::MAP_ANONYMOUS, -1)
        };
        let page = libc::mmap(
            std::ptr::null_mut(),
            SECRET_PAGE,
            libc::PROT_READ | libc::PROT_WRITE,
            flags,
            map_fd,
            0,
        );
        if fd >= 0 {
            libc::close(fd);
        }
        (page != libc::MAP_FAILED).then_some(page.cast::<u8>())
    }
}

impl Proof {
    /// Writes `PASS <secret>` to the record, in one write (atomic for a pipe).
    pub fn record(&self) {
        let prefix = b"PASS ";
        let newline = b"\n";
        let parts = [
            libc::iovec {
                iov_base: prefix.as_ptr() as *mut libc::c_void,
                iov_len: prefix.len(),
            },
            libc::iovec {
                iov_base: self.secret.cast::<libc::c_void>(),
                iov_len: self.len,
            },
            libc::iovec {
                iov_base: newline.as_ptr() as *mut libc::c_void,
                iov_len: newline.len(),
            },
        ];
        // SAFETY: every iovec points to live memory of the stated length.
        unsafe {
            libc::writev(self.record_fd, parts.as_ptr(), parts.len() as i32);
        }
    }
}
