//! The argv and envp that the C start-up code passes to `main`.

use core::ffi::{c_char, c_int, CStr};

use crate::args::Argv;

/// The process's own argv and envp, which live as long as the process.
pub struct StartupArgs {
    count: usize,
    argv: *const *const c_char,
    pub envp: *const *const c_char,
}

impl StartupArgs {
    /// Wraps the arguments of `main`.
    ///
    /// # Safety
    ///
    /// `argv` contains `argc` NUL-terminated strings followed by NULL, and
    /// `envp` is a NULL-terminated array of NUL-terminated strings, as the
    /// kernel and the C start-up code pass them; none of them is changed
    /// for the rest of the process.
    pub unsafe fn new(argc: c_int, argv: *const *const c_char, envp: *const *const c_char) -> Self {
        StartupArgs {
            count: if argv.is_null() {
                0
            } else {
                argc.max(0) as usize
            },
            argv,
            envp,
        }
    }

    /// Returns the NULL-terminated argv array from word `index` on, the
    /// argv of the program.
    pub fn tail(&self, index: usize) -> *const *const c_char {
        // SAFETY: `index` is at most `count`, so the pointer stays inside
        // the array or on its terminating NULL.
        unsafe { self.argv.add(index.min(self.count)) }
    }
}

impl Argv<'static> for StartupArgs {
    fn count(&self) -> usize {
        self.count
    }

    fn word(&self, index: usize) -> &'static CStr {
        if index >= self.count {
            return c"";
        }
        // SAFETY: `index` is below `count`, and each word is a
        // NUL-terminated string that lives for the rest of the process.
        unsafe { CStr::from_ptr(*self.argv.add(index)) }
    }
}
