//! The target process: its PID, the pidfd that pins it, and the files
//! under `/proc/PID/` that nsenter opens before entering its namespaces.

use core::cell::Cell;
use core::ffi::CStr;

use rustix::event::{PollFd, PollFlags, Timespec};
use rustix::fd::{AsFd, BorrowedFd, OwnedFd};
use rustix::fs::{Mode, OFlags};
use rustix::io::Errno;
use rustix::process::{Pid, PidfdFlags};

use crate::args::Target;
use crate::error::{Error, Path};
use crate::message::format_decimal;

/// `/proc/PID/` plus the longest file name used below it, with the NUL.
type ProcPath = heapless::Vec<u8, 48>;

/// A process whose namespaces and files nsenter uses.
pub struct Process {
    pub pid: i32,
    /// The pidfd from pidfd_open(2), or its error. It keeps the process's
    /// identity fixed: its PID can be reused once it exits, the pidfd
    /// cannot.
    pidfd: Result<OwnedFd, Errno>,
    /// Whether setns(2) accepts the pidfd (Linux 5.8 and later).
    setns_by_pidfd: bool,
    /// Whether a file under `/proc/PID/` was opened, which
    /// [`Process::confirm_alive`] then checks.
    opened_proc_file: Cell<bool>,
}

impl Process {
    /// Opens the target. Without a pidfd (no pidfd_open, or the PID does
    /// not exist) the namespaces come from `/proc/PID/ns/`, where a missing
    /// process gets util-linux's message. `PID:INODE` needs the pidfd.
    pub fn open(target: Target) -> Result<Process, Error<'static>> {
        let pidfd = Pid::from_raw(target.pid)
            .ok_or(Errno::SRCH)
            .and_then(|pid| rustix::process::pidfd_open(pid, PidfdFlags::empty()));
        if let Some(expected) = target.inode {
            let pidfd = pidfd.map_err(|errno| Error::Open(pidfd_path(target.pid), errno))?;
            let found = rustix::fs::fstat(&pidfd)
                .map_err(|errno| Error::Failed("fstat of the pidfd", errno))?
                .st_ino;
            if found != expected {
                return Err(Error::InodeMismatch {
                    pid: target.pid,
                    expected,
                    found,
                });
            }
            return Ok(Process::with_pidfd(target.pid, pidfd));
        }
        match pidfd {
            Ok(pidfd) => Ok(Process::with_pidfd(target.pid, pidfd)),
            // Without /proc there is no fallback with a better message.
            Err(Errno::SRCH) if !proc_mounted() => {
                Err(Error::Open(pidfd_path(target.pid), Errno::SRCH))
            }
            Err(errno) => Ok(Process {
                pid: target.pid,
                pidfd: Err(errno),
                setns_by_pidfd: false,
                opened_proc_file: Cell::new(false),
            }),
        }
    }

    fn with_pidfd(pid: i32, pidfd: OwnedFd) -> Process {
        Process {
            pid,
            pidfd: Ok(pidfd),
            setns_by_pidfd: kernel_at_least(5, 8),
            opened_proc_file: Cell::new(false),
        }
    }

    /// Returns the pidfd, if setns(2) can take it for namespace entry.
    pub fn entry_pidfd(&self) -> Option<BorrowedFd<'_>> {
        self.pidfd
            .as_ref()
            .ok()
            .filter(|_| self.setns_by_pidfd)
            .map(|fd| fd.as_fd())
    }

    /// Returns the pidfd, for calls such as pidfd_getfd(2), or the error
    /// of pidfd_open(2).
    pub fn pidfd(&self) -> Result<BorrowedFd<'_>, Error<'static>> {
        match &self.pidfd {
            Ok(fd) => Ok(fd.as_fd()),
            Err(Errno::NOSYS) => Err(Error::Plain(
                "this kernel has no pidfd_open(2), from Linux 5.3",
            )),
            Err(errno) => Err(Error::Open(pidfd_path(self.pid), *errno)),
        }
    }

    /// Opens `/proc/PID/FILE` with `O_CLOEXEC` added to `flags`.
    pub fn open_file(&self, file: &'static str, flags: OFlags) -> Result<OwnedFd, Error<'static>> {
        self.opened_proc_file.set(true);
        let mut path = ProcPath::new();
        let path = proc_path(&mut path, self.pid, file);
        rustix::fs::open(path, flags | OFlags::CLOEXEC, Mode::empty()).map_err(|errno| {
            proc_error(
                Path::Proc {
                    pid: self.pid,
                    file,
                },
                errno,
            )
        })
    }

    /// Confirms that the process still runs, so that the `/proc/PID` files
    /// opened so far belong to it and not to a new process with its PID.
    /// A pidfd polls readable once its process has exited. Without a pidfd
    /// there is nothing to compare with, and without a `/proc` file there
    /// is nothing to confirm.
    pub fn confirm_alive(&self) -> Result<(), Error<'static>> {
        let (Ok(pidfd), true) = (&self.pidfd, self.opened_proc_file.get()) else {
            return Ok(());
        };
        let mut fds = [PollFd::new(pidfd, PollFlags::IN)];
        match rustix::event::poll(&mut fds, Some(&Timespec::default())) {
            Ok(0) => Ok(()),
            Ok(_) => Err(Error::TargetExited(self.pid)),
            Err(errno) => Err(Error::Failed("poll of the pidfd", errno)),
        }
    }
}

/// `PROC_SUPER_MAGIC` from linux/magic.h: the f_type of procfs.
const PROC_SUPER_MAGIC: i64 = 0x9fa0;

/// Returns the error for a failed open of a file under /proc. When /proc
/// is not mounted at all, as in early initramfs shells, the message
/// states that instead of the errno.
pub fn proc_error(path: Path<'static>, errno: Errno) -> Error<'static> {
    if proc_mounted() {
        Error::Open(path, errno)
    } else {
        Error::ProcNotMounted(path)
    }
}

/// Tells whether procfs is mounted at /proc.
fn proc_mounted() -> bool {
    rustix::fs::statfs(c"/proc").is_ok_and(|fs| fs.f_type == PROC_SUPER_MAGIC)
}

/// Returns stat(2) of `/proc/PID/FILE`.
pub fn stat_file(pid: i32, file: &'static str) -> Result<rustix::fs::Stat, Error<'static>> {
    let mut path = ProcPath::new();
    rustix::fs::stat(proc_path(&mut path, pid, file))
        .map_err(|errno| proc_error(Path::Proc { pid, file }, errno))
}

/// Returns the path `/proc/PID`, which messages about the pidfd name.
fn pidfd_path(pid: i32) -> Path<'static> {
    Path::Proc { pid, file: "" }
}

/// Builds the NUL-terminated path `/proc/PID/FILE` in `buffer`.
fn proc_path<'b>(buffer: &'b mut ProcPath, pid: i32, file: &str) -> &'b CStr {
    let mut digits = [0u8; 20];
    let _ = buffer.extend_from_slice(b"/proc/");
    let _ = buffer.extend_from_slice(format_decimal(pid as u64, &mut digits));
    if !file.is_empty() {
        let _ = buffer.push(b'/');
        let _ = buffer.extend_from_slice(file.as_bytes());
    }
    let _ = buffer.push(0);
    crate::cstr::from_terminated(buffer).unwrap_or(c"/proc/")
}

/// Tells whether the running kernel's release is at least `major.minor`,
/// reading the leading `MAJOR.MINOR` of uname(2)'s release string.
fn kernel_at_least(major: u32, minor: u32) -> bool {
    let uname = rustix::system::uname();
    let mut found = [0u32; 2];
    let mut part = 0;
    for &byte in uname.release().to_bytes() {
        match (byte, found.get_mut(part)) {
            (b'0'..=b'9', Some(number)) => {
                *number = number.wrapping_mul(10).wrapping_add((byte - b'0') as u32);
            }
            (b'.', _) => part += 1,
            _ => break,
        }
    }
    found >= [major, minor]
}
