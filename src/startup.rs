//! The argv and envp that the C start-up code passes to `main`.

use core::ffi::{c_char, c_int, CStr};
use core::ptr;

use crate::args::Argv;

/// The process's own argv and envp, which live as long as the process.
pub struct StartupArgs {
    count: usize,
    argv: *mut *const c_char,
    pub envp: *const *const c_char,
    /// The two words [`StartupArgs::prepend`] replaced, to put back.
    replaced: [*const c_char; 2],
    /// The auxiliary vector after envp, or NULL without an envp.
    auxv: *const usize,
}

impl StartupArgs {
    /// Wraps the arguments of `main`.
    ///
    /// # Safety
    ///
    /// `argv` contains `argc` NUL-terminated strings followed by NULL, and
    /// `envp` is a NULL-terminated array of NUL-terminated strings, as the
    /// kernel and the C start-up code pass them, in writable memory. Only
    /// [`StartupArgs::prepend`] changes the array, and the strings live
    /// for the rest of the process.
    pub unsafe fn new(argc: c_int, argv: *mut *const c_char, envp: *const *const c_char) -> Self {
        StartupArgs {
            count: if argv.is_null() {
                0
            } else {
                argc.max(0) as usize
            },
            argv,
            envp,
            replaced: [ptr::null(); 2],
            // SAFETY: as guaranteed by the caller.
            auxv: unsafe { find_auxv(envp) },
        }
    }

    /// Returns the NULL-terminated argv array from word `index` on, the
    /// argv of the program.
    pub fn tail(&self, index: usize) -> *const *const c_char {
        // SAFETY: `index` is at most `count`, so the pointer stays inside
        // the array or on its terminating NULL.
        unsafe { self.argv.add(index.min(self.count)).cast_const() }
    }
}

/// auxv keys from linux/auxvec.h: the ids execve(2) gave the process, and
/// the address of 16 random bytes.
const AT_UID: usize = 11;
const AT_EUID: usize = 12;
const AT_GID: usize = 13;
const AT_EGID: usize = 14;
const AT_RANDOM: usize = 25;

impl StartupArgs {
    /// Tells whether the real and effective ids differ, as they do when
    /// the binary runs set-user-ID or set-group-ID. The ids come from the
    /// auxiliary vector, which costs no system call. Without those entries
    /// it makes the four get*id calls.
    pub fn ids_differ(&self) -> bool {
        let ids = [AT_UID, AT_EUID, AT_GID, AT_EGID].map(|key| self.auxv(key));
        match ids {
            [Some(uid), Some(euid), Some(gid), Some(egid)] => uid != euid || gid != egid,
            _ => {
                rustix::process::getuid() != rustix::process::geteuid()
                    || rustix::process::getgid() != rustix::process::getegid()
            }
        }
    }

    /// Returns 32 random bits from the 16 bytes the kernel puts on the
    /// initial stack for each new program (AT_RANDOM), or 0 without them.
    pub fn random_seed(&self) -> u32 {
        match self.auxv(AT_RANDOM) {
            // SAFETY: AT_RANDOM points at 16 bytes on the initial stack,
            // which lives as long as the process; 4 of them are read.
            Some(address) if address != 0 => unsafe { (address as *const u32).read_unaligned() },
            _ => 0,
        }
    }

    /// Returns the value of `key` in the auxiliary vector: pairs of words,
    /// ended by AT_NULL (0). See getauxval(3).
    fn auxv(&self, key: usize) -> Option<usize> {
        if self.auxv.is_null() {
            return None;
        }
        // SAFETY: `auxv` points at the kernel's vector of pairs, which
        // ends with AT_NULL (0), as `find_auxv` found it.
        unsafe {
            let mut pair = self.auxv;
            while *pair != 0 {
                if *pair == key {
                    return Some(*pair.add(1));
                }
                pair = pair.add(2);
            }
        }
        None
    }

    /// Makes the argv tail at `index` into `FIRST SECOND ARGS...`, where
    /// ARGS are the words after `index`, by overwriting words `index - 1`
    /// and `index`. Returns the new tail, or `None` when `index` is 0 or
    /// past the end. [`StartupArgs::restore`] undoes it.
    pub fn prepend(
        &mut self,
        index: usize,
        first: &'static CStr,
        second: &CStr,
    ) -> Option<*const *const c_char> {
        if index == 0 || index >= self.count {
            return None;
        }
        // SAFETY: `index - 1` and `index` are below `count`, so both slots
        // are inside the argv array, which is writable process memory.
        unsafe {
            let slots = self.argv.add(index - 1);
            self.replaced = [*slots, *slots.add(1)];
            *slots = first.as_ptr();
            *slots.add(1) = second.as_ptr();
            Some(slots.cast_const())
        }
    }

    /// Puts back the words replaced by [`StartupArgs::prepend`] at `index`.
    pub fn restore(&mut self, index: usize) {
        if index == 0 || index >= self.count {
            return;
        }
        // SAFETY: as in `prepend`, both slots are inside the argv array.
        unsafe {
            let slots = self.argv.add(index - 1);
            *slots = self.replaced[0];
            *slots.add(1) = self.replaced[1];
        }
    }
}

/// Returns the auxiliary vector, which the kernel places right after
/// envp's terminating NULL, or NULL when there is no envp.
///
/// # Safety
///
/// `envp` is NULL or the kernel's own envp array.
unsafe fn find_auxv(envp: *const *const c_char) -> *const usize {
    if envp.is_null() {
        return ptr::null();
    }
    let mut entry = envp;
    // SAFETY: the array is NULL-terminated, per the caller.
    unsafe {
        while !(*entry).is_null() {
            entry = entry.add(1);
        }
        entry.add(1).cast::<usize>()
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
