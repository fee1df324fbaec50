//! The namespaced `sleep` that every measured command enters, and its cleanup.

use std::fs;
use std::process::{Child, Command, Stdio};
use std::thread::sleep;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};

use crate::cmd;

/// The namespaced `sleep` that every command enters, and the `unshare` that started it.
pub(super) struct Target {
    unshare: Child,
    pub(super) pid: u32,
}

impl Target {
    pub(super) fn start() -> Result<Target> {
        let mut unshare = Command::new("unshare");
        unshare
            .args([
                "--fork",
                "--kill-child",
                "--pid",
                "--mount-proc",
                "--uts",
                "--ipc",
                "--net",
                "--mount",
            ])
            .args(["sleep", "600"])
            .stdin(Stdio::null());
        let line = cmd::display(&unshare);
        eprintln!("$ {line}");
        let mut child = unshare
            .spawn()
            .with_context(|| format!("cannot run `{line}`: is util-linux's unshare installed?"))?;
        match wait_for_child(&mut child, "sleep") {
            Ok(pid) => Ok(Target {
                unshare: child,
                pid,
            }),
            Err(error) => {
                // `child` is the unshare started above. Killing it by its PID ends its child too,
                // because --kill-child makes the kernel send SIGKILL to that child when unshare
                // dies.
                let _ = child.kill();
                let _ = child.wait();
                Err(error.context("cannot start the target"))
            }
        }
    }
}

impl Drop for Target {
    fn drop(&mut self) {
        // The target is PID 1 of its PID namespace, so only SIGKILL ends it from outside.
        let pid = self.pid.to_string();
        if let Err(error) = cmd::run(Command::new("kill").args(["-KILL", &pid])) {
            eprintln!("xtask: cannot kill the target {pid}: {error:#}");
        }
        let _ = self.unshare.kill();
        let _ = self.unshare.wait();
    }
}

/// Waits until `parent`'s first child runs the program `comm` and returns the child's PID.
pub(super) fn wait_for_child(parent: &mut Child, comm: &str) -> Result<u32> {
    let parent_pid = parent.id();
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        if let Some(status) = parent.try_wait()? {
            bail!("process {parent_pid} exited before its child ran {comm}: {status}");
        }
        if let Some(child) = first_child(parent_pid) {
            let child_comm = fs::read_to_string(format!("/proc/{child}/comm")).unwrap_or_default();
            if child_comm.trim() == comm {
                return Ok(child);
            }
        }
        sleep(Duration::from_millis(2));
    }
    bail!("no child of process {parent_pid} ran {comm} within 10 s")
}

fn first_child(pid: u32) -> Option<u32> {
    fs::read_to_string(format!("/proc/{pid}/task/{pid}/children"))
        .ok()?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}
