//! The nsenter binary: C start-up from musl, then [`nsenter::run`].

#![no_std]
#![no_main]

use core::ffi::{c_char, c_int};

use nsenter::startup::StartupArgs;

/// Ends the process on a panic with exit status 1. Every path in nsenter
/// reports its own errors, so a panic is a bug. The panic message is not
/// formatted, because that would pull `core::fmt` into the binary.
#[panic_handler]
fn panic(_: &core::panic::PanicInfo) -> ! {
    nsenter::message::Line::new()
        .text(b"internal error: please report this bug")
        .write_stderr();
    nsenter::sys::exit(1)
}

/// The C entry point, called by musl's `__libc_start_main`.
#[no_mangle]
extern "C" fn main(argc: c_int, argv: *mut *const c_char, envp: *const *const c_char) -> c_int {
    // SAFETY: musl passes the kernel's argv and envp unchanged, on the
    // writable initial stack.
    let mut args = unsafe { StartupArgs::new(argc, argv, envp) };
    nsenter::sys::exit(nsenter::run(&mut args))
}

/// The unwinding personality routine that the prebuilt `core` refers to.
/// With `panic = "abort"` nothing unwinds, so it is never called; release
/// builds drop the reference, while unoptimized builds still need the
/// symbol to link.
#[no_mangle]
extern "C" fn rust_eh_personality() {}
