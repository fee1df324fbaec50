//! File descriptors: no fd of nsenter's own (namespace files, the pidfd,
//! root and cwd directories) leaks into the program, also when nsenter
//! starts with stdin closed and a new fd can land on 0.
//!
//! The program is `ls -1 /proc/self/fd`, which also lists the fd that ls
//! opens for the directory, so each run is compared with a baseline: the
//! same `ls` started the same way without nsenter. Every run starts from a
//! shell whose fds above 2 are closed, because the test harness may pass
//! down fds of its own.

mod common;

use common::{assert_no_stderr, assert_success, nsenter_bin, run, Outcome, Target};
use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};

extern "C" {
    fn close(fd: i32) -> i32;
}

/// Highest fd closed before the shell starts; an estimate of what the
/// harness may pass down, well above what it opens in practice.
const MAX_INHERITED_FD: i32 = 4096;

const LIST_FDS: &str = "ls -1 /proc/self/fd";

/// Runs `command_line` through `sh -c 'exec ...'` with stdin from
/// /dev/null, or closed when `close_stdin` is set.
fn run_shell_exec(command_line: &str, close_stdin: bool) -> Outcome {
    let redirect = if close_stdin { " <&-" } else { "" };
    let script = format!("exec {command_line}{redirect}");
    let mut command = Command::new("sh");
    command.args(["-c", &script]).stdin(Stdio::null());
    // SAFETY: the closure runs in the forked child before exec and only
    // calls close, which is async-signal-safe. Closing std's own exec
    // error pipe early only loses the report of a failed exec of sh.
    unsafe {
        command.pre_exec(|| {
            for fd in 3..=MAX_INHERITED_FD {
                close(fd);
            }
            Ok(())
        });
    }
    run(&mut command)
}

/// Returns the fds that `ls` lists when started without nsenter.
fn baseline_fds(close_stdin: bool) -> String {
    let outcome = run_shell_exec(LIST_FDS, close_stdin);
    assert_success(&outcome);
    outcome.stdout
}

/// Runs `nsenter OPTIONS ls -1 /proc/self/fd` and asserts the same fds as
/// the baseline.
fn assert_no_leak(options: &str, close_stdin: bool) {
    let expected = baseline_fds(close_stdin);
    let command_line = format!("{} {options} {LIST_FDS}", nsenter_bin().display());

    let outcome = run_shell_exec(&command_line, close_stdin);

    assert_success(&outcome);
    assert_eq!(
        outcome.stdout, expected,
        "fds seen by the program; options {options}"
    );
    assert_no_stderr(&outcome);
}

#[test]
fn baseline_has_standard_fds() {
    // Checks the method: ls lists 0, 1, 2 and its own directory fd, which
    // takes fd 0 when stdin is closed.
    assert_eq!(baseline_fds(false), "0\n1\n2\n3\n", "stdin open");
    assert_eq!(baseline_fds(true), "0\n1\n2\n", "stdin closed");
}

#[test]
fn program_sees_only_standard_fds() {
    require_root!();
    let target = Target::unshare(&["--uts", "--net"]);

    assert_no_leak(&format!("-t {} -u -n", target.pid), false);
}

#[test]
fn forking_parent_leaks_no_fds() {
    require_root!();
    let target = Target::unshare(&["--pid", "--fork", "--uts"]);

    assert_no_leak(&format!("-t {} -p -u", target.pid), false);
}

#[test]
fn all_with_root_wd_leaks_nothing() {
    require_root!();
    let target = Target::unshare(&[
        "--mount", "--uts", "--ipc", "--net", "--pid", "--fork", "--cgroup", "--time",
    ]);

    assert_no_leak(&format!("-t {} -a -r -w", target.pid), false);
}

#[test]
fn namespace_files_leak_nothing() {
    require_root!();
    let target = Target::unshare(&["--uts", "--net"]);
    let pid = target.pid;

    assert_no_leak(
        &format!("--uts=/proc/{pid}/ns/uts --net=/proc/{pid}/ns/net -r/ -w/"),
        false,
    );
}

#[test]
fn closed_stdin_leaks_nothing() {
    require_root!();
    let target = Target::unshare(&["--uts", "--net"]);

    assert_no_leak(&format!("-t {} -u -n", target.pid), true);
}

#[test]
fn closed_stdin_forking_leaks_nothing() {
    require_root!();
    let target = Target::unshare(&["--pid", "--fork", "--uts"]);

    assert_no_leak(&format!("-t {} -a", target.pid), true);
}

#[test]
fn closed_stdin_namespace_file_works() {
    require_root!();
    // The first file nsenter opens lands on fd 0 and must be used as a
    // valid fd, so entry must still succeed.
    let target = Target::unshare(&["--uts", "--pid", "--fork"]);
    let pid = target.pid;
    let command_line = format!(
        "{} --uts=/proc/{pid}/ns/uts -t {pid} -p readlink /proc/self/ns/uts /proc/self/ns/pid",
        nsenter_bin().display()
    );

    let outcome = run_shell_exec(&command_line, true);

    assert_success(&outcome);
    assert_eq!(
        outcome.stdout,
        format!("{}\n{}\n", target.ns("uts"), target.ns("pid"))
    );
    assert_no_stderr(&outcome);
}

#[test]
fn closed_stdin_target_entry_works() {
    require_root!();
    // With the target's pidfd or first namespace file on fd 0.
    let target = Target::unshare(&["--uts", "--pid", "--fork"]);
    let command_line = format!(
        "{} -t {} -u -p readlink /proc/self/ns/uts /proc/self/ns/pid",
        nsenter_bin().display(),
        target.pid
    );

    let outcome = run_shell_exec(&command_line, true);

    assert_success(&outcome);
    assert_eq!(
        outcome.stdout,
        format!("{}\n{}\n", target.ns("uts"), target.ns("pid"))
    );
    assert_no_stderr(&outcome);
}
