//! C strings made from byte buffers without `CStr::from_bytes_with_nul`,
//! whose general search code costs more bytes than the whole check here.

use core::ffi::CStr;

/// Returns `bytes` as a C string when its only NUL is its last byte. The
/// scan is a plain loop: `slice::contains` brings a 200-byte search.
pub fn from_terminated(bytes: &[u8]) -> Option<&CStr> {
    match bytes.split_last() {
        Some((0, text)) if text.iter().all(|&byte| byte != 0) => {
            // SAFETY: just checked: one NUL, at the end.
            Some(unsafe { CStr::from_bytes_with_nul_unchecked(bytes) })
        }
        _ => None,
    }
}

/// Returns the part of `text` from byte `start` on, an empty string past
/// the end.
pub fn suffix(text: &CStr, start: usize) -> &CStr {
    match text.to_bytes_with_nul().get(start..) {
        Some(rest) if !rest.is_empty() => {
            // SAFETY: a non-empty tail of a C string's bytes has no NUL but
            // its last byte.
            unsafe { CStr::from_bytes_with_nul_unchecked(rest) }
        }
        _ => c"",
    }
}
