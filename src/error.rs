//! The errors nsenter reports, each rendered as one `nsenter: ...` line in
//! the shapes util-linux prints, and the exit status that goes with it.

use core::ffi::CStr;

use rustix::io::Errno;

use crate::args::{self, Usage};
use crate::message::Line;

/// A file named in a message: a path the user gave, or one under
/// `/proc/PID/`, which is formatted only when the message is printed.
#[derive(Debug)]
pub enum Path<'a> {
    User(&'a CStr),
    Proc { pid: i32, file: &'static str },
    Fixed(&'static str),
}

/// Everything that makes nsenter stop with a message.
#[derive(Debug)]
pub enum Error<'a> {
    /// A getopt error; the message ends with the `--help` hint.
    Usage(Usage<'a>),
    /// An option value that is not a number of the expected kind:
    /// `failed to parse pid: 'abc'`.
    Parse { kind: &'static str, value: &'a [u8] },
    /// A namespace, root or cwd to take from the target, but no `-t`:
    /// `neither filename nor target pid supplied for ns/mnt`.
    NoTarget(&'static str),
    /// An option that needs `-t`, with the option as typed in help.
    TargetRequired(&'static str),
    /// open(2) failed: `cannot open /proc/123/ns/net: ...`.
    Open(Path<'a>, Errno),
    /// A file under /proc is needed, and /proc is not mounted.
    ProcNotMounted(Path<'a>),
    /// setns(2) failed: `reassociate to namespace 'ns/net' failed: ...`, with the
    /// file name from the namespace table.
    Setns(&'static str, Errno),
    /// A system call failed: `WHAT failed: strerror`.
    Failed(&'static str, Errno),
    /// execve(2) failed for the program: exit status 126 or 127.
    Exec(&'a [u8], Errno),
    /// A fixed explanation with no system error behind it.
    Plain(&'static str),
    /// `-t PID:INODE` where the process's pidfd has another inode.
    InodeMismatch { pid: i32, expected: u64, found: u64 },
    /// The target's environment does not fit the fixed buffer.
    EnvironmentTooLarge { limit: usize },
    /// A step of `--net-socket` failed on the target's fd.
    NetSocket {
        call: &'static str,
        fd: i32,
        errno: Errno,
    },
    /// The target exited, or is a zombie, while its files were opened.
    TargetExited(i32),
    /// Writing `--help` or `--version` to stdout failed.
    Write(Errno),
    /// Real and effective ids differ: installed set-user-ID or -group-ID.
    SetId,
}

impl Error<'_> {
    /// Returns the exit status for this error: 126 when the program
    /// exists but cannot run, 127 when it is not found, else 1.
    pub fn exit_status(&self) -> i32 {
        match self {
            Error::Exec(_, Errno::NOENT) => 127,
            Error::Exec(..) => 126,
            _ => 1,
        }
    }

    /// Writes the message to stderr: one `nsenter: ` line, and for a usage
    /// error a second line that points to `--help`.
    pub fn report(&self) {
        let mut line = Line::new();
        self.describe(&mut line);
        line.write_stderr();
        if let Error::Usage(_) = self {
            Line::bare()
                .text(b"Try 'nsenter --help' for more information.")
                .write_stderr();
        }
    }

    /// Appends the message text, without the `nsenter: ` prefix, to `line`.
    pub fn describe(&self, line: &mut Line) {
        match self {
            Error::Usage(usage) => args::describe_usage(usage, line),
            Error::Parse { kind, value } => {
                line.text(b"failed to parse ").text(kind.as_bytes());
                line.text(b": '").text(value).text(b"'");
            }
            Error::NoTarget(file) => {
                line.text(b"neither filename nor target pid supplied for ");
                line.text(file.as_bytes());
            }
            Error::TargetRequired(option) => {
                line.text(option.as_bytes());
                line.text(b" needs a target process: add --target PID");
            }
            Error::Open(path, errno) => {
                line.text(b"cannot open ");
                push_path(line, path);
                line.errno(*errno);
            }
            Error::ProcNotMounted(path) => {
                line.text(b"cannot open ");
                push_path(line, path);
                line.text(b": /proc is not mounted (mount it with: mount -t proc proc /proc)");
            }
            Error::Setns(file, errno) => {
                line.text(b"reassociate to namespace '");
                line.text(file.as_bytes()).text(b"' failed");
                line.errno(*errno);
            }
            Error::Failed(what, errno) => {
                line.text(what.as_bytes()).text(b" failed").errno(*errno);
            }
            Error::Exec(program, errno) => {
                line.text(b"failed to execute ").text(program);
                line.errno(*errno);
            }
            Error::Plain(text) => {
                line.text(text.as_bytes());
            }
            Error::InodeMismatch {
                pid,
                expected,
                found,
            } => {
                line.text(b"target process ").number(*pid as u64);
                line.text(b" has pidfd inode ").number(*found);
                line.text(b", not ").number(*expected);
                line.text(b": a wrong inode, or the PID now belongs to another process");
            }
            Error::EnvironmentTooLarge { limit } => {
                line.text(b"the target's environment is larger than ");
                line.number(*limit as u64);
                line.text(b" bytes, the maximum --env copies");
            }
            Error::NetSocket { call, fd, errno } => {
                line.text(call.as_bytes()).text(b" of the target's fd ");
                line.number(*fd as u64).text(b" failed").errno(*errno);
            }
            Error::TargetExited(pid) => {
                line.text(b"target process ").number(*pid as u64);
                line.text(b" exited while nsenter opened its /proc files");
            }
            Error::Write(errno) => {
                line.text(b"write error").errno(*errno);
            }
            Error::SetId => {
                line.text(
                    b"refusing to run with real and effective ids that differ \
                      (set-user-ID or set-group-ID?): that gives users root",
                );
            }
        }
    }
}

/// Appends a path as the user gave it, or as `/proc/PID/FILE`.
pub fn push_path(line: &mut Line, path: &Path) {
    match path {
        Path::User(name) => line.text(name.to_bytes()),
        Path::Proc { pid, file } => {
            line.text(b"/proc/").number(*pid as u64);
            if !file.is_empty() {
                line.text(b"/").text(file.as_bytes());
            }
            line
        }
        Path::Fixed(name) => line.text(name.as_bytes()),
    };
}
