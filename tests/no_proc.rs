//! nsenter with no /proc mounted: `-t PID` with namespace options works
//! through a pidfd (pidfd_open(2) and setns(2) with a pidfd need no /proc),
//! and the options that read `/proc/PID/...` fail with a message that
//! names /proc.
//!
//! nsenter runs in a private mount namespace (made by `unshare --mount`)
//! where /proc is unmounted. It does not change its PID namespace, so the
//! target's PID is valid there.

mod common;

use common::{assert_no_stderr, assert_success, nsenter_bin, run, Outcome, Target};
use std::process::{Command, Stdio};

/// Runs nsenter with `args` in a new mount namespace without /proc.
fn nsenter_without_proc(args: &[&str]) -> Outcome {
    // The shell unmounts /proc, checks that it is gone and replaces itself
    // with nsenter ("$0") and its arguments ("$@").
    let script = "umount -l /proc || exit 90; [ -e /proc/self ] && exit 91; exec \"$0\" \"$@\"";
    let mut command = Command::new("unshare");
    command
        .args(["--mount", "--propagation", "private", "sh", "-c", script])
        .arg(nsenter_bin())
        .args(args)
        .stdin(Stdio::null());
    let outcome = run(&mut command);
    assert_ne!(outcome.code(), Some(90), "umount /proc failed; {outcome:?}");
    assert_ne!(
        outcome.code(),
        Some(91),
        "/proc is still there after umount; {outcome:?}"
    );
    outcome
}

/// Starts a target in new uts and net namespaces with the host name
/// `nsenter-no-proc`.
fn start_target() -> Target {
    Target::spawn(&[
        "unshare",
        "--uts",
        "--net",
        "sh",
        "-c",
        "hostname nsenter-no-proc && exec sleep 1000",
    ])
}

/// The program proves entry without /proc: it prints the host name, then
/// mounts a /proc of its own (in the private mount namespace, which dies
/// with it) to print its namespace links.
#[test]
fn no_proc_namespace_entry_works() {
    require_root!();
    let target = start_target();
    let script =
        "hostname && mount -t proc proc /proc && readlink /proc/self/ns/net /proc/self/ns/uts";

    let outcome = nsenter_without_proc(&[
        "-t",
        &target.pid_arg(),
        "-u",
        "-n",
        "--",
        "sh",
        "-c",
        script,
    ]);

    assert_success(&outcome);
    let expected = format!(
        "nsenter-no-proc\n{}\n{}\n",
        target.ns("net"),
        target.ns("uts")
    );
    assert_eq!(
        outcome.stdout, expected,
        "program's host name and namespaces"
    );
    assert_no_stderr(&outcome);
}

/// A PID namespace makes nsenter fork, which needs no /proc either.
#[test]
fn no_proc_pid_namespace_entry_works() {
    require_root!();
    let target = Target::unshare(&["--pid", "--fork", "--uts"]);
    let script = "mount -t proc proc /proc && readlink /proc/self/ns/pid /proc/self/ns/uts";

    let outcome = nsenter_without_proc(&[
        "-t",
        &target.pid_arg(),
        "-p",
        "-u",
        "--",
        "sh",
        "-c",
        script,
    ]);

    assert_success(&outcome);
    let expected = format!("{}\n{}\n", target.ns("pid"), target.ns("uts"));
    assert_eq!(outcome.stdout, expected, "program's pid and uts namespaces");
    assert_no_stderr(&outcome);
}

/// Each of these options reads a file under `/proc/PID` (`-a` reads
/// /proc/self/ns to find the kernel's namespace kinds), so without /proc it
/// must fail before the program runs and name /proc in its message.
#[test]
fn no_proc_options_needing_proc_rejected() {
    require_root!();
    let target = start_target();
    let pid = target.pid_arg();
    let options: [&[&str]; 7] = [
        &["-e"],
        &["-r"],
        &["-w"],
        &["-S", "follow"],
        &["-G", "follow"],
        &["-c"],
        &["-a"],
    ];

    for option in options {
        let mut args = vec!["-t", pid.as_str(), "-u"];
        args.extend_from_slice(option);
        args.extend_from_slice(&["--", "echo", "program ran"]);

        let outcome = nsenter_without_proc(&args);

        assert_eq!(
            outcome.code(),
            Some(1),
            "exit status with {option:?}; {outcome:?}"
        );
        assert_eq!(
            outcome.stdout, "",
            "the program must not run with {option:?}; {outcome:?}"
        );
        assert_eq!(
            outcome.stderr_lines().len(),
            1,
            "stderr lines with {option:?}; {outcome:?}"
        );
        assert!(
            outcome.stderr.starts_with("nsenter: "),
            "stderr prefix with {option:?}; {outcome:?}"
        );
        assert!(
            outcome.stderr.contains("/proc"),
            "message names /proc with {option:?}; {outcome:?}"
        );
    }
}

/// `-t PID:INODE` checks the inode with fstat(2) on the pidfd, which needs
/// no /proc. The inode is read from the host side with Python.
#[test]
fn no_proc_pid_inode_entry_works() {
    require_root!();
    let python = "/usr/bin/python3";
    if !std::path::Path::new(python).exists() {
        eprintln!("skipped no_proc_pid_inode_entry_works: needs {python}");
        return;
    }
    let target = start_target();
    let inode_script = format!(
        "import os; print(os.fstat(os.pidfd_open({})).st_ino)",
        target.pid
    );
    let inode_outcome = run(Command::new(python).args(["-c", &inode_script]));
    assert_success(&inode_outcome);
    let target_arg = format!("{}:{}", target.pid, inode_outcome.stdout.trim());

    let outcome = nsenter_without_proc(&["-t", &target_arg, "-u", "--", "hostname"]);

    assert_success(&outcome);
    assert_eq!(outcome.stdout, "nsenter-no-proc\n", "program's host name");
    assert_no_stderr(&outcome);
}

/// Entering a user namespace (with its forced uid 0 and the setgroups
/// calls) needs no /proc either.
#[test]
fn no_proc_user_namespace_entry_works() {
    require_root!();
    let target = Target::spawn(&[
        "unshare",
        "--user",
        "--map-root-user",
        "--uts",
        "sh",
        "-c",
        "hostname nsenter-no-proc-user && exec sleep 1000",
    ]);

    let outcome = nsenter_without_proc(&[
        "-t",
        &target.pid_arg(),
        "-U",
        "-u",
        "--",
        "sh",
        "-c",
        "id -u; hostname",
    ]);

    assert_success(&outcome);
    assert_eq!(
        outcome.stdout, "0\nnsenter-no-proc-user\n",
        "program's uid and host name"
    );
    assert_no_stderr(&outcome);
}
