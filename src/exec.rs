//! Running the program: execvp(3) semantics over a PATH search, or the
//! user's shell as a login shell when no program is given.

use core::ffi::{c_char, CStr};
use core::ptr;

use rustix::io::Errno;

use crate::args::Argv;
use crate::environment;
use crate::error::Error;
use crate::startup::StartupArgs;
use crate::sys;

/// The search path when the environment has no PATH, as glibc's execvp.
const DEFAULT_PATH: &[u8] = b"/bin:/usr/bin";
/// PATH_MAX from linux/limits.h, with room for the NUL.
const PATH_MAX: usize = 4096;
/// NAME_MAX from linux/limits.h: the longest file name a search can find.
const NAME_MAX: usize = 255;
/// The shell that runs an executable file without a `#!` line.
const SCRIPT_SHELL: &CStr = c"/bin/sh";

/// Runs the program at argv word `index` with the words after it and
/// `envp`, as execvp(3) does: PATH from `envp` is searched when the name
/// has no `/`, and a file the kernel cannot execute (ENOEXEC) is run by
/// `/bin/sh`. Returns only on failure.
///
/// # Safety
///
/// `index` is below the word count of `args`, and `envp` is as for
/// [`environment::lookup`].
// `slice::contains` on bytes brings a 200-byte search routine into the
// binary; the plain loop of `iter().any` is enough for one name.
#[allow(clippy::manual_contains)]
pub unsafe fn exec_program(
    args: &mut StartupArgs,
    index: usize,
    envp: *const *const c_char,
) -> Error<'static> {
    let name = args.word(index);
    let bytes = name.to_bytes();
    if bytes.iter().any(|&byte| byte == b'/') {
        // SAFETY: `name` is NUL-terminated; envp is valid per the caller.
        let errno = unsafe { exec_file(args, index, name, envp) };
        return Error::Exec(bytes, errno);
    }
    if bytes.is_empty() {
        return Error::Exec(bytes, Errno::NOENT);
    }
    if bytes.len() > NAME_MAX {
        return Error::Exec(bytes, Errno::NAMETOOLONG);
    }

    // SAFETY: envp is valid per the caller.
    let path = unsafe { environment::lookup(envp, b"PATH") };
    let path = path.map_or(DEFAULT_PATH, CStr::to_bytes);
    let mut denied = false;
    for directory in path.split(|&byte| byte == b':') {
        // An empty entry means the current directory, where glibc runs
        // the bare name, which the program then gets as its $0.
        let mut candidate: heapless::Vec<u8, PATH_MAX> = heapless::Vec::new();
        let joined = (directory.is_empty()
            || (candidate.extend_from_slice(directory).is_ok() && candidate.push(b'/').is_ok()))
            && candidate.extend_from_slice(bytes).is_ok()
            && candidate.push(0).is_ok();
        let Some(candidate) = joined
            .then(|| crate::cstr::from_terminated(&candidate))
            .flatten()
        else {
            continue;
        };
        // SAFETY: `candidate` is NUL-terminated and outlives the call;
        // envp is valid per the caller.
        let errno = unsafe { exec_file(args, index, candidate, envp) };
        match errno {
            Errno::ACCESS => denied = true,
            Errno::NOENT | Errno::NOTDIR | Errno::STALE | Errno::NODEV | Errno::TIMEDOUT => {}
            errno => return Error::Exec(bytes, errno),
        }
    }
    Error::Exec(bytes, if denied { Errno::ACCESS } else { Errno::NOENT })
}

/// Executes `file` with the argv tail at `index`. On ENOEXEC it runs
/// `/bin/sh FILE ARGS...` instead, which needs one more argv slot, so the
/// word before the program (nsenter's own) is overwritten for that call
/// and restored. Returns the errno of the last execve(2), as glibc's
/// execvp does: without /bin/sh, ENOENT lets a PATH search go on.
///
/// # Safety
///
/// As for [`exec_program`]; `file` is NUL-terminated.
unsafe fn exec_file(
    args: &mut StartupArgs,
    index: usize,
    file: &CStr,
    envp: *const *const c_char,
) -> Errno {
    // SAFETY: the argv tail and `file` are NUL-terminated and valid; envp
    // is valid per the caller.
    let errno = unsafe { sys::execve(file.as_ptr(), args.tail(index), envp) };
    if errno != Errno::NOEXEC {
        return errno;
    }
    let Some(script_argv) = args.prepend(index, SCRIPT_SHELL, file) else {
        return errno;
    };
    // SAFETY: `script_argv` is the process's argv with two words replaced
    // by NUL-terminated strings that outlive the call.
    let errno = unsafe { sys::execve(SCRIPT_SHELL.as_ptr(), script_argv, envp) };
    args.restore(index);
    errno
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
