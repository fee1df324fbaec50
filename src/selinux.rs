//! `--follow-context`: running the program in the target's SELinux
//! context, through the kernel's files and without libselinux.

use rustix::fs::{Mode, OFlags};

use crate::error::{Error, Path};
use crate::message::Line;
use crate::target::Process;

/// `SELINUX_MAGIC` from linux/magic.h: the f_type of selinuxfs.
const SELINUX_MAGIC: i64 = 0xf97c_ff8c;

/// Copies the target's context (`/proc/PID/attr/current`) to our
/// `/proc/self/attr/exec`, so that the next execve(2), in this process or
/// in a child forked from it, runs in that context. See proc_pid_attr(5).
///
/// Without SELinux there is no context to follow. Like util-linux, which
/// acts only when SELinux is enabled, it then goes on, after a warning.
pub fn follow_context(target: Option<&Process>) -> Result<(), Error<'static>> {
    let enabled = rustix::fs::statfs(c"/sys/fs/selinux")
        .map(|fs| fs.f_type == SELINUX_MAGIC)
        .unwrap_or(false);
    if !enabled {
        Line::new()
            .text(b"SELinux is not enabled, so --follow-context has no effect")
            .write_stderr();
        return Ok(());
    }
    let target = target.ok_or(Error::TargetRequired("--follow-context"))?;

    let current = target.open_file("attr/current", OFlags::RDONLY)?;
    let mut context = [0u8; 4096];
    let length = rustix::io::read(&current, &mut context).map_err(|errno| {
        Error::Open(
            Path::Proc {
                pid: target.pid,
                file: "attr/current",
            },
            errno,
        )
    })?;
    let context = context.get(..length).unwrap_or(b"");
    let context = match context.iter().position(|&byte| byte == 0 || byte == b'\n') {
        Some(end) => context.get(..end).unwrap_or(b""),
        None => context,
    };

    let exec = rustix::fs::open(
        c"/proc/self/attr/exec",
        OFlags::WRONLY | OFlags::CLOEXEC,
        Mode::empty(),
    )
    .map_err(|errno| Error::Open(Path::Fixed("/proc/self/attr/exec"), errno))?;
    rustix::io::write(&exec, context)
        .map(|_| ())
        .map_err(|errno| Error::Failed("setting the SELinux exec context", errno))
}
