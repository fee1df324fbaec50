//! `--join-cgroup`: moving the program into the target's cgroup v2.

use rustix::fd::OwnedFd;
use rustix::fs::{Mode, OFlags};
use rustix::io::Errno;

use crate::error::{Error, Path};
use crate::message::format_decimal;
use crate::target::Process;

/// Where cgroup v2 is expected, as systemd and most distributions mount it.
const CGROUP_ROOT: &[u8] = b"/sys/fs/cgroup";
/// `CGROUP2_SUPER_MAGIC` from linux/magic.h: the f_type of a cgroup2 mount.
const CGROUP2_SUPER_MAGIC: i64 = 0x6367_7270;

/// Opens the `cgroup.procs` file of the target's cgroup, before entry,
/// while the cgroup path in `/proc/PID/cgroup` is relative to our own
/// cgroup namespace and mount namespace.
pub fn open_procs(target: &Process) -> Result<OwnedFd, Error<'static>> {
    let root = rustix::fs::statfs(c"/sys/fs/cgroup")
        .map_err(|errno| Error::Open(Path::Fixed("/sys/fs/cgroup"), errno))?;
    if root.f_type != CGROUP2_SUPER_MAGIC {
        return Err(Error::Plain(
            "--join-cgroup needs cgroup v2 mounted at /sys/fs/cgroup, which holds another file system (cgroup v1?)",
        ));
    }

    let file = target.open_file("cgroup", OFlags::RDONLY)?;
    let mut contents = [0u8; 4096];
    let length = rustix::io::read(&file, &mut contents).map_err(|errno| {
        Error::Open(
            Path::Proc {
                pid: target.pid,
                file: "cgroup",
            },
            errno,
        )
    })?;
    let contents = contents.get(..length).unwrap_or(b"");
    let cgroup = contents
        .split(|&byte| byte == b'\n')
        .find_map(|line| line.strip_prefix(b"0::"))
        .ok_or(Error::Plain(
            "the target is in no cgroup v2 hierarchy, and --join-cgroup supports only cgroup v2",
        ))?;

    let mut path: heapless::Vec<u8, 4200> = heapless::Vec::new();
    let fits = path.extend_from_slice(CGROUP_ROOT).is_ok()
        && path.extend_from_slice(cgroup).is_ok()
        && path.extend_from_slice(b"/cgroup.procs\0").is_ok();
    let path = core::ffi::CStr::from_bytes_with_nul(&path)
        .ok()
        .filter(|_| fits)
        .ok_or(Error::Open(
            Path::Fixed("the target's cgroup.procs"),
            Errno::NAMETOOLONG,
        ))?;
    rustix::fs::open(path, OFlags::WRONLY | OFlags::CLOEXEC, Mode::empty()).map_err(|errno| {
        Error::Open(
            Path::Fixed("the cgroup.procs file of the target's cgroup"),
            errno,
        )
    })
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
