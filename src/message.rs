//! One-line messages on stderr, built in a fixed buffer and written with a
//! single write(2) so that concurrent writers do not interleave them.

use rustix::io::Errno;

/// Bytes kept free at the end of a line for what follows a long text.
const RESERVE: usize = 256;

/// A message line under construction. A text too long for the line, which
/// only a path longer than PATH_MAX can be, is cut in the middle of it.
pub struct Line {
    bytes: heapless::Vec<u8, 4608>,
}

impl Line {
    /// Starts a line with the `nsenter: ` prefix.
    pub fn new() -> Self {
        let mut line = Line::bare();
        line.text(b"nsenter: ");
        line
    }

    /// Starts a line without a prefix.
    pub fn bare() -> Self {
        Line {
            bytes: heapless::Vec::new(),
        }
    }

    /// Returns the bytes written so far.
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// Appends bytes as they are. A text that would leave less than
    /// [`RESERVE`] bytes free is cut and marked with `...`, so that the
    /// errno text after a very long path still fits in the reserve.
    pub fn text(&mut self, text: &[u8]) -> &mut Self {
        let room = self.bytes.capacity() - self.bytes.len();
        let (kept, cut) = if text.len() + RESERVE <= room {
            (text.len(), false)
        } else if room > RESERVE {
            (room - RESERVE, true)
        } else {
            (text.len().min(room), false)
        };
        let _ = self
            .bytes
            .extend_from_slice(text.get(..kept).unwrap_or(b""));
        if cut {
            let _ = self.bytes.extend_from_slice(b"...");
        }
        self
    }

    /// Appends a number in decimal.
    pub fn number(&mut self, value: u64) -> &mut Self {
        let mut digits = [0u8; 20];
        let text = format_decimal(value, &mut digits);
        self.text(text)
    }

    /// Appends `: ` and the strerror(3) text of `errno`.
    pub fn errno(&mut self, errno: Errno) -> &mut Self {
        self.text(b": ");
        match describe_errno(errno) {
            Some(text) => self.text(text.as_bytes()),
            None => self
                .text(b"Unknown error ")
                .number(errno.raw_os_error() as u64),
        }
    }

    /// Ends the line with a newline and writes it to stderr.
    pub fn write_stderr(&mut self) {
        self.write_to(2);
    }

    /// Writes the line as it is, without adding a newline, to stdout.
    pub fn write_stdout(&mut self) -> Result<(), Errno> {
        write_all(1, &self.bytes)
    }

    fn write_to(&mut self, fd: i32) {
        if self.bytes.push(b'\n').is_err() {
            if let Some(last) = self.bytes.last_mut() {
                *last = b'\n';
            }
        }
        // There is nowhere left to report a failed write to stderr.
        let _ = write_all(fd, &self.bytes);
    }
}

impl Default for Line {
    fn default() -> Self {
        Line::new()
    }
}

/// Writes all of `bytes` to the raw fd, retrying short writes.
pub fn write_all(fd: i32, mut bytes: &[u8]) -> Result<(), Errno> {
    // SAFETY: rustix only passes the number to write(2), for the writes
    // below. fd 1 or 2 may be closed (EBADF), or, when the caller started
    // nsenter without them, be a file nsenter opened: O_PATH and read-only
    // fds reject writes, and cgroup.procs rejects the text with EINVAL.
    let fd = unsafe { rustix::fd::BorrowedFd::borrow_raw(fd) };
    while !bytes.is_empty() {
        match rustix::io::write(fd, bytes) {
            Ok(0) => return Err(Errno::IO),
            Ok(written) => bytes = bytes.get(written..).unwrap_or(b""),
            Err(Errno::INTR) => continue,
            Err(errno) => return Err(errno),
        }
    }
    Ok(())
}

/// Formats `value` in decimal into the end of `buffer` and returns the
/// digits.
pub fn format_decimal(mut value: u64, buffer: &mut [u8; 20]) -> &[u8] {
    let mut start = buffer.len();
    loop {
        start -= 1;
        buffer[start] = b'0' + (value % 10) as u8;
        value /= 10;
        if value == 0 {
            return &buffer[start..];
        }
    }
}

/// Returns glibc's strerror(3) text for the errors nsenter can meet, so
/// that messages read as util-linux's do.
fn describe_errno(errno: Errno) -> Option<&'static str> {
    let text = match errno {
        Errno::PERM => "Operation not permitted",
        Errno::NOENT => "No such file or directory",
        Errno::SRCH => "No such process",
        Errno::INTR => "Interrupted system call",
        Errno::IO => "Input/output error",
        Errno::NXIO => "No such device or address",
        Errno::TOOBIG => "Argument list too long",
        Errno::NOEXEC => "Exec format error",
        Errno::BADF => "Bad file descriptor",
        Errno::AGAIN => "Resource temporarily unavailable",
        Errno::NOMEM => "Cannot allocate memory",
        Errno::ACCESS => "Permission denied",
        Errno::FAULT => "Bad address",
        Errno::BUSY => "Device or resource busy",
        Errno::EXIST => "File exists",
        Errno::NODEV => "No such device",
        Errno::NOTDIR => "Not a directory",
        Errno::ISDIR => "Is a directory",
        Errno::INVAL => "Invalid argument",
        Errno::NFILE => "Too many open files in system",
        Errno::MFILE => "Too many open files",
        Errno::NOTTY => "Inappropriate ioctl for device",
        Errno::TXTBSY => "Text file busy",
        Errno::NOSPC => "No space left on device",
        Errno::ROFS => "Read-only file system",
        Errno::PIPE => "Broken pipe",
        Errno::NAMETOOLONG => "File name too long",
        Errno::NOSYS => "Function not implemented",
        Errno::LOOP => "Too many levels of symbolic links",
        Errno::NOTSOCK => "Socket operation on non-socket",
        Errno::OPNOTSUPP => "Operation not supported",
        Errno::STALE => "Stale file handle",
        Errno::LIBBAD => "Accessing a corrupted shared library",
        _ => return None,
    };
    Some(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimal_formatting() {
        let mut buffer = [0u8; 20];
        assert_eq!(format_decimal(0, &mut buffer), b"0");
        assert_eq!(format_decimal(4096, &mut buffer), b"4096");
        assert_eq!(
            format_decimal(u64::MAX, &mut buffer),
            b"18446744073709551615"
        );
    }

    #[test]
    fn errno_text_matches_glibc() {
        let mut line = Line::new();
        line.text(b"cannot open x").errno(Errno::NOENT);
        assert_eq!(
            &line.bytes[..],
            b"nsenter: cannot open x: No such file or directory"
        );
    }

    #[test]
    fn unknown_errno_shows_number() {
        let mut line = Line::bare();
        line.errno(Errno::from_raw_os_error(4000));
        assert_eq!(&line.bytes[..], b": Unknown error 4000");
    }
}
