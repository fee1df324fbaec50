//! `--join-cgroup`: moving the program into the target's cgroup v2.

use rustix::fd::OwnedFd;
use rustix::fs::{Mode, OFlags};
use rustix::io::Errno;

use crate::error::{Error, Path};
use crate::message::format_decimal;
use crate::target::Process;

/// A path with room for PATH_MAX bytes and a NUL.
type PathBuffer = heapless::Vec<u8, 4104>;

/// Opens the `cgroup.procs` file of the target's cgroup, before entry,
/// while the cgroup path in `/proc/PID/cgroup` is relative to our own
/// cgroup namespace and the cgroup2 mount is found in our own mount
/// namespace.
pub fn open_procs(target: &Process) -> Result<OwnedFd, Error<'static>> {
    let file = target.open_file("cgroup", OFlags::RDONLY)?;
    let mut window = [0u8; 8192];
    let line = find_line(&file, &mut window, |line| line.starts_with(b"0::"))
        .map_err(|errno| {
            let path = Path::Proc {
                pid: target.pid,
                file: "cgroup",
            };
            Error::Open(path, errno)
        })?
        .ok_or(Error::Plain(
            "--join-cgroup supports cgroup v2 only, and the target has no v2 cgroup",
        ))?;
    let cgroup = line.get(3..).unwrap_or(b"");

    let mut path = PathBuffer::new();
    find_cgroup2_mount(&mut path)?;
    // NOTE: this assumes the cgroup2 mount shows the root of our cgroup
    // namespace (mountinfo root `/`), as it does unless a subtree of the
    // hierarchy was bind-mounted there.
    let relative = cgroup.strip_prefix(b"/").unwrap_or(cgroup);
    let fits = (relative.is_empty() || path.push(b'/').is_ok())
        && path.extend_from_slice(relative).is_ok()
        && path.extend_from_slice(b"/cgroup.procs\0").is_ok();
    let path = crate::cstr::from_terminated(&path)
        .filter(|_| fits)
        .ok_or(Error::Open(
            Path::Fixed("the target's cgroup.procs"),
            Errno::NAMETOOLONG,
        ))?;
    rustix::fs::open(path, OFlags::WRONLY | OFlags::CLOEXEC, Mode::empty())
        .map_err(|errno| Error::Open(Path::Fixed("cgroup.procs of the target's cgroup"), errno))
}

/// Writes the mount point of the cgroup2 file system into `path`: the
/// first `cgroup2` line of `/proc/self/mountinfo`, which finds it both at
/// /sys/fs/cgroup and at /sys/fs/cgroup/unified on hybrid systems.
fn find_cgroup2_mount(path: &mut PathBuffer) -> Result<(), Error<'static>> {
    let failed = |errno| crate::target::proc_error(Path::Fixed("/proc/self/mountinfo"), errno);
    let flags = OFlags::RDONLY | OFlags::CLOEXEC;
    let mountinfo =
        rustix::fs::open(c"/proc/self/mountinfo", flags, Mode::empty()).map_err(failed)?;
    let mut window = [0u8; 8192];
    let line = find_line(&mountinfo, &mut window, |line| {
        cgroup2_mount_point(line).is_some()
    })
    .map_err(failed)?;
    match line.and_then(cgroup2_mount_point) {
        Some(mount_point) => unescape_into(mount_point, path),
        None => Err(Error::Plain(
            "--join-cgroup supports cgroup v2 only, and none is mounted",
        )),
    }
}

/// Reads `file` a line at a time through `window` and returns the first
/// line that `matches` accepts. A line longer than the window is read in
/// window-sized pieces, each taken as a line; no line nsenter looks for
/// is that long.
fn find_line<'w>(
    file: &OwnedFd,
    window: &'w mut [u8],
    matches: impl Fn(&[u8]) -> bool,
) -> Result<Option<&'w [u8]>, Errno> {
    let mut filled = 0;
    loop {
        let read = rustix::io::read(file, window.get_mut(filled..).unwrap_or(&mut []))?;
        filled += read;
        let data = window.get(..filled).unwrap_or(b"");
        // At the end of the file, the last line needs no newline.
        let complete = match (read, data.iter().rposition(|&byte| byte == b'\n')) {
            (0, _) => filled,
            (_, Some(newline)) => newline + 1,
            (_, None) if filled == window.len() => filled,
            (_, None) => 0,
        };
        let mut start = 0;
        for line in data
            .get(..complete)
            .unwrap_or(b"")
            .split(|&byte| byte == b'\n')
        {
            if matches(line) {
                return Ok(window.get(start..start + line.len()));
            }
            start += line.len() + 1;
        }
        if read == 0 {
            return Ok(None);
        }
        window.copy_within(complete..filled, 0);
        filled -= complete;
    }
}

/// Returns the mount point field of a mountinfo line for cgroup2. See
/// proc_pid_mountinfo(5): the file system type follows the ` - `.
fn cgroup2_mount_point(line: &[u8]) -> Option<&[u8]> {
    let separator = line.windows(3).position(|window| window == b" - ")?;
    let after = line.get(separator + 3..)?;
    let fs_type = after.split(|&byte| byte == b' ').next()?;
    if fs_type != b"cgroup2" {
        return None;
    }
    line.split(|&byte| byte == b' ').nth(4)
}

/// Copies a mountinfo field into `path`, decoding the `\NNN` octal escapes
/// that mountinfo uses for spaces, tabs, newlines and backslashes.
fn unescape_into(field: &[u8], path: &mut PathBuffer) -> Result<(), Error<'static>> {
    let mut index = 0;
    while let Some(&byte) = field.get(index) {
        let octal = field.get(index + 1..index + 4).filter(|digits| {
            byte == b'\\' && digits.iter().all(|digit| (b'0'..=b'7').contains(digit))
        });
        let decoded = match octal {
            Some(digits) => {
                index += 4;
                digits
                    .iter()
                    .fold(0u8, |value, digit| value.wrapping_mul(8) + (digit - b'0'))
            }
            None => {
                index += 1;
                byte
            }
        };
        path.push(decoded)
            .map_err(|_| Error::Open(Path::Fixed("the cgroup2 mount point"), Errno::NAMETOOLONG))?;
    }
    Ok(())
}

/// Moves this process into the cgroup of `procs`, so that the program and
/// everything it starts is counted and limited there.
pub fn join(procs: &OwnedFd) -> Result<(), Error<'static>> {
    let mut digits = [0u8; 20];
    let pid = rustix::process::getpid().as_raw_nonzero().get() as u64;
    let text = format_decimal(pid, &mut digits);
    rustix::io::write(procs, text)
        .map(|_| ())
        .map_err(|errno| Error::Failed("joining the target's cgroup", errno))
}
