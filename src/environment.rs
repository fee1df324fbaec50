//! Environment lists: lookups in an `envp` array, and `--env`, which
//! replaces the environment with the target's `/proc/PID/environ`.

use core::ffi::{c_char, CStr};
use core::ptr;

use rustix::fd::OwnedFd;
use rustix::fs::OFlags;
use rustix::io::Errno;

use crate::error::{Error, Path};
use crate::target::Process;

/// The maximum size of the environment `--env` copies: Linux's default limit
/// for argv and environment together (a quarter of an 8 MiB stack).
const ENVIRON_CAPACITY: usize = 2 << 20;
/// The maximum number of variables `--env` copies.
const VARIABLES_CAPACITY: usize = 32 << 10;
/// The size of the hash table of names: twice the number of variables,
/// so probes stay short.
const SLOTS: usize = 2 * VARIABLES_CAPACITY;

/// The target's environment: its bytes and the envp array built on them.
/// Static, so that a large environment costs no stack and no heap, and
/// pages are only touched when `--env` is used.
struct Storage {
    bytes: [u8; ENVIRON_CAPACITY + 1],
    pointers: [*const c_char; VARIABLES_CAPACITY + 1],
    /// The offset in `bytes` of each variable's first entry, for names.
    starts: [u32; VARIABLES_CAPACITY],
    /// A hash table of names: 0 for a free slot, else 1 + the index of
    /// the variable in `pointers`.
    slots: [u32; SLOTS],
}

static mut STORAGE: Storage = Storage {
    bytes: [0; ENVIRON_CAPACITY + 1],
    pointers: [ptr::null(); VARIABLES_CAPACITY + 1],
    starts: [0; VARIABLES_CAPACITY],
    slots: [0; SLOTS],
};

/// Looks up `name` (with its `=`) in the hash table, by linear probing
/// from its FNV-1a hash. The random `seed` and the mixing into the high
/// bits keep a target from choosing names that all land in one slot.
/// Returns the slot where the probe stopped and, when the name is there,
/// the index of its variable.
fn find_slot(
    slots: &[u32; SLOTS],
    starts: &[u32],
    data: &[u8],
    name: &[u8],
    seed: u32,
) -> (usize, Option<usize>) {
    let hash = name.iter().fold(0x811c_9dc5 ^ seed, |hash, &byte| {
        (hash ^ byte as u32).wrapping_mul(0x0100_0193)
    });
    let mut slot = (hash.wrapping_mul(0x9e37_79b1) >> 16) as usize % SLOTS;
    loop {
        let Some(index) = slots[slot].checked_sub(1) else {
            return (slot, None);
        };
        let index = index as usize;
        let start = starts.get(index).map_or(0, |&start| start as usize);
        if data
            .get(start..)
            .is_some_and(|entry| entry.starts_with(name))
        {
            return (slot, Some(index));
        }
        slot = (slot + 1) % SLOTS;
    }
}

/// Opens `/proc/PID/environ`, before entry.
pub fn open_environ(target: &Process) -> Result<OwnedFd, Error<'static>> {
    target.open_file("environ", OFlags::RDONLY)
}

/// Reads the environment from `file` and returns it as a NULL-terminated
/// envp array. Entries without `=` or with an empty name are skipped,
/// and of duplicate names the last value wins, in the position of the
/// first.
///
/// nsenter calls it once: a second call would overwrite the static
/// storage that the first array points into.
pub fn load(file: &OwnedFd, pid: i32, seed: u32) -> Result<*const *const c_char, Error<'static>> {
    // nsenter is single-threaded and this is the only place that touches
    // STORAGE, once, so no other reference to it exists.
    let storage: *mut Storage = &raw mut STORAGE;
    // SAFETY: as above; the pointer comes from a static, so it is valid.
    let storage = unsafe { &mut *storage };
    let length = match read_all(file, &mut storage.bytes[..ENVIRON_CAPACITY]) {
        Ok(length) => length,
        Err(Errno::TOOBIG) => {
            return Err(Error::EnvironmentTooLarge {
                limit: ENVIRON_CAPACITY,
            })
        }
        Err(errno) => {
            return Err(Error::Open(
                Path::Proc {
                    pid,
                    file: "environ",
                },
                errno,
            ))
        }
    };
    // The byte after the data ends the last entry even without its NUL.
    storage.bytes[length] = 0;
    let data = &storage.bytes[..length];

    let mut count = 0;
    let mut start = 0;
    while start < data.len() {
        let end = data[start..]
            .iter()
            .position(|&byte| byte == 0)
            .map_or(data.len(), |offset| start + offset);
        let entry = &data[start..end];
        // Entries without `=` or with an empty name are no variables.
        let equals = entry.iter().position(|&byte| byte == b'=');
        if let Some(equals) = equals.filter(|&at| at > 0) {
            let name = &entry[..=equals];
            let pointer = entry.as_ptr().cast::<c_char>();
            match find_slot(&storage.slots, &storage.starts, data, name, seed) {
                (_, Some(index)) => storage.pointers[index] = pointer,
                (slot, None) if count < VARIABLES_CAPACITY => {
                    storage.slots[slot] = count as u32 + 1;
                    storage.starts[count] = start as u32;
                    storage.pointers[count] = pointer;
                    count += 1;
                }
                (_, None) => {
                    return Err(Error::Plain(
                        "the target has more than 32768 environment variables, \
                         the maximum --env copies",
                    ))
                }
            }
        }
        start = end + 1;
    }
    storage.pointers[count] = ptr::null();
    Ok(storage.pointers.as_ptr())
}

/// Reads `file` to its end into `buffer`; more data than fits is an error
/// that names the limit, never a silent truncation.
fn read_all(file: &OwnedFd, buffer: &mut [u8]) -> Result<usize, Errno> {
    let mut length = 0;
    loop {
        let Some(free) = buffer.get_mut(length..) else {
            return Ok(length);
        };
        if free.is_empty() {
            let mut probe = [0u8; 1];
            return match rustix::io::read(file, &mut probe) {
                Ok(0) => Ok(length),
                Ok(_) => Err(Errno::TOOBIG),
                Err(errno) => Err(errno),
            };
        }
        match rustix::io::read(file, free) {
            Ok(0) => return Ok(length),
            Ok(read) => length += read,
            Err(Errno::INTR) => continue,
            Err(errno) => return Err(errno),
        }
    }
}

/// Looks up `name` (without `=`) in a NULL-terminated envp array.
///
/// # Safety
///
/// `envp` is NULL or a NULL-terminated array of NUL-terminated strings
/// that live for the rest of the process, as the kernel's envp and the
/// array from [`load`] do.
pub unsafe fn lookup(envp: *const *const c_char, name: &[u8]) -> Option<&'static CStr> {
    if envp.is_null() {
        return None;
    }
    let mut index = 0;
    loop {
        // SAFETY: the array is NULL-terminated, so every index up to the
        // NULL is inside it.
        let entry = unsafe { *envp.add(index) };
        if entry.is_null() {
            return None;
        }
        // SAFETY: each entry is a NUL-terminated string that lives for the
        // rest of the process, per the caller's guarantee.
        let entry = unsafe { CStr::from_ptr(entry) };
        let bytes = entry.to_bytes_with_nul();
        if bytes.starts_with(name) && bytes.get(name.len()) == Some(&b'=') {
            return bytes
                .get(name.len() + 1..)
                .and_then(crate::cstr::from_terminated);
        }
        index += 1;
    }
}
