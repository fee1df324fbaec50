//! Running the program: execvp(3) semantics over a PATH search, or the
//! user's shell as a login shell when no program is given.

use core::ffi::{c_char, CStr};
use core::ptr;

use rustix::io::Errno;

use crate::environment;
use crate::error::Error;
use crate::sys;

/// The search path when the environment has no PATH, as glibc's execvp.
const DEFAULT_PATH: &[u8] = b"/bin:/usr/bin";
/// PATH_MAX from linux/limits.h, with room for the NUL.
const PATH_MAX: usize = 4096;

/// Runs `argv[0]` with `argv` and `envp`, searching PATH from `envp` when
/// the name has no `/`. Returns only on failure.
///
/// # Safety
///
/// `argv` is a NULL-terminated array of NUL-terminated strings with at
/// least one entry, and `envp` is as for [`environment::lookup`].
pub unsafe fn exec_program(
    argv: *const *const c_char,
    envp: *const *const c_char,
) -> Error<'static> {
    // SAFETY: the caller guarantees argv[0] is a NUL-terminated string
    // that lives for the rest of the process.
    let name: &'static CStr = unsafe { CStr::from_ptr(*argv) };
    let bytes = name.to_bytes();
    if bytes.contains(&b'/') {
        // SAFETY: all three pointers are valid per the caller.
        let errno = unsafe { sys::execve(name.as_ptr(), argv, envp) };
        return Error::Exec(bytes, errno);
    }
    if bytes.is_empty() {
        return Error::Exec(bytes, Errno::NOENT);
    }

    // SAFETY: envp is valid per the caller.
    let path = unsafe { environment::lookup(envp, b"PATH") };
    let path = path.map_or(DEFAULT_PATH, CStr::to_bytes);
    let mut denied = false;
    for directory in path.split(|&byte| byte == b':') {
        let mut candidate: heapless::Vec<u8, PATH_MAX> = heapless::Vec::new();
        let directory = if directory.is_empty() {
            b"."
        } else {
            directory
        };
        let joined = candidate.extend_from_slice(directory).is_ok()
            && candidate.push(b'/').is_ok()
            && candidate.extend_from_slice(bytes).is_ok()
            && candidate.push(0).is_ok();
        if !joined {
            continue;
        }
        // SAFETY: `candidate` is NUL-terminated and outlives the call;
        // argv and envp are valid per the caller.
        let errno = unsafe { sys::execve(candidate.as_ptr().cast(), argv, envp) };
        match errno {
            Errno::ACCESS => denied = true,
            Errno::NOENT | Errno::NOTDIR | Errno::STALE | Errno::NODEV | Errno::TIMEDOUT => {}
            errno => return Error::Exec(bytes, errno),
        }
    }
    Error::Exec(bytes, if denied { Errno::ACCESS } else { Errno::NOENT })
}

/// Runs `$SHELL` from `envp`, or `/bin/sh` when it is unset or empty, as a
/// login shell: argv[0] is `-` and the shell's base name. No PATH search,
/// as login(1) does. Returns only on failure.
///
/// # Safety
///
/// `envp` is as for [`environment::lookup`].
pub unsafe fn exec_login_shell(envp: *const *const c_char) -> Error<'static> {
    // SAFETY: envp is valid per the caller.
    let shell = unsafe { environment::lookup(envp, b"SHELL") };
    let shell = shell
        .filter(|shell| !shell.is_empty())
        .unwrap_or(c"/bin/sh");
    let bytes = shell.to_bytes();
    let base = bytes.rsplit(|&byte| byte == b'/').next().unwrap_or(bytes);

    let mut login_name: heapless::Vec<u8, PATH_MAX> = heapless::Vec::new();
    let _ = login_name.push(b'-');
    let _ = login_name.extend_from_slice(base);
    let _ = login_name.push(0);
    let argv = [login_name.as_ptr().cast::<c_char>(), ptr::null()];
    // SAFETY: `shell` and `login_name` are NUL-terminated, `argv` is
    // NULL-terminated, and all outlive the call; envp is valid.
    let errno = unsafe { sys::execve(shell.as_ptr(), argv.as_ptr(), envp) };
    Error::Exec(bytes, errno)
}
