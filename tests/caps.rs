//! `--keep-caps` (raise the permitted capabilities into the ambient set
//! after entering a user namespace, so they survive execve) and
//! `-S follow`/`-G follow` (take the uid and gid that own `/proc/PID`, as
//! seen after entry).

mod common;

use common::{assert_no_stderr, assert_success, nsenter, nsenter_bin, run, Outcome, Target};
use std::process::{Command, Stdio};

/// An unprivileged uid and gid for targets and callers that must not be
/// root. No account needs to exist for them.
const UNPRIVILEGED_ID: &str = "1000";

/// Returns the value of a capability set line (`CapAmb`, `CapEff`, ...) in
/// a `/proc/PID/status` text.
fn capability_set(status: &str, name: &str) -> u64 {
    let prefix = format!("{name}:");
    let line = status
        .lines()
        .find(|line| line.starts_with(&prefix))
        .unwrap_or_else(|| panic!("no {name} line in the status output: {status}"));
    let hex = line[prefix.len()..].trim();
    u64::from_str_radix(hex, 16)
        .unwrap_or_else(|error| panic!("invalid {name} value {hex:?}: {error}"))
}

/// Runs nsenter with `args` as the unprivileged uid and gid, with no
/// supplementary groups.
fn nsenter_unprivileged(args: &[&str]) -> Outcome {
    let mut command = Command::new("setpriv");
    command
        .args([
            &format!("--reuid={UNPRIVILEGED_ID}"),
            &format!("--regid={UNPRIVILEGED_ID}"),
            "--clear-groups",
        ])
        .arg(nsenter_bin())
        .args(args)
        .stdin(Stdio::null());
    run(&mut command)
}

/// Starts, as the unprivileged uid, a target in a new user namespace that
/// maps that uid to itself. The uid owns the namespace, so it may enter it
/// and gets every capability there.
fn unprivileged_user_namespace_target() -> Target {
    Target::spawn(&[
        "setpriv",
        &format!("--reuid={UNPRIVILEGED_ID}"),
        &format!("--regid={UNPRIVILEGED_ID}"),
        "--clear-groups",
        "unshare",
        "--user",
        "--map-current-user",
        "sleep",
        "1000",
    ])
}

#[test]
fn keep_caps_raises_ambient_as_root() {
    require_root!();
    let target = Target::user_namespace(&[]);

    let outcome = nsenter(&[
        "-t",
        &target.pid_arg(),
        "-U",
        "--keep-caps",
        "--",
        "cat",
        "/proc/self/status",
    ]);

    assert_success(&outcome);
    assert_ne!(
        capability_set(&outcome.stdout, "CapAmb"),
        0,
        "program's ambient set"
    );
    assert_no_stderr(&outcome);
}

#[test]
fn keep_caps_absent_leaves_ambient_empty() {
    require_root!();
    let target = Target::user_namespace(&[]);

    let outcome = nsenter(&[
        "-t",
        &target.pid_arg(),
        "-U",
        "--",
        "cat",
        "/proc/self/status",
    ]);

    assert_success(&outcome);
    assert_eq!(
        capability_set(&outcome.stdout, "CapAmb"),
        0,
        "program's ambient set"
    );
    assert_no_stderr(&outcome);
}

/// The case `--keep-caps` exists for: a non-root caller keeps its uid
/// (`--preserve-credentials`) in a user namespace it owns. Without ambient
/// capabilities a non-root program loses every capability at execve.
#[test]
fn keep_caps_unprivileged_keeps_effective() {
    require_root!();
    let target = unprivileged_user_namespace_target();
    let args = [
        "-t",
        &target.pid_arg(),
        "-U",
        "--preserve-credentials",
        "--keep-caps",
        "--",
        "cat",
        "/proc/self/status",
    ];

    let outcome = nsenter_unprivileged(&args);

    assert_success(&outcome);
    assert_ne!(
        capability_set(&outcome.stdout, "CapAmb"),
        0,
        "program's ambient set"
    );
    assert_ne!(
        capability_set(&outcome.stdout, "CapEff"),
        0,
        "program's effective set"
    );
    assert_no_stderr(&outcome);
}

/// Control for the test above: the same entry without `--keep-caps` ends
/// with no capabilities.
#[test]
fn keep_caps_unprivileged_absent_loses_effective() {
    require_root!();
    let target = unprivileged_user_namespace_target();
    let args = [
        "-t",
        &target.pid_arg(),
        "-U",
        "--preserve-credentials",
        "--",
        "cat",
        "/proc/self/status",
    ];

    let outcome = nsenter_unprivileged(&args);

    assert_success(&outcome);
    assert_eq!(
        capability_set(&outcome.stdout, "CapAmb"),
        0,
        "program's ambient set"
    );
    assert_eq!(
        capability_set(&outcome.stdout, "CapEff"),
        0,
        "program's effective set"
    );
    assert_no_stderr(&outcome);
}

#[test]
fn setuid_follow_takes_target_owner() {
    require_root!();
    let target = Target::spawn(&[
        "unshare",
        "--uts",
        "setpriv",
        "--reuid=1234",
        "--regid=1234",
        "--clear-groups",
        "sleep",
        "1000",
    ]);
    let script = "id -u; id -g; id -G; readlink /proc/self/ns/uts";

    let outcome = nsenter(&[
        "-t",
        &target.pid_arg(),
        "-u",
        "-S",
        "follow",
        "-G",
        "follow",
        "--",
        "sh",
        "-c",
        script,
    ]);

    assert_success(&outcome);
    let expected = format!("1234\n1234\n1234\n{}\n", target.ns("uts"));
    assert_eq!(
        outcome.stdout, expected,
        "program's uid, gid, groups and uts namespace"
    );
    assert_no_stderr(&outcome);
}

#[test]
fn setuid_follow_long_options() {
    require_root!();
    let target = Target::spawn(&[
        "setpriv",
        "--reuid=1234",
        "--regid=4321",
        "--clear-groups",
        "sleep",
        "1000",
    ]);
    let target_option = format!("--target={}", target.pid);

    let outcome = nsenter(&[
        &target_option,
        "--uts",
        "--setuid=follow",
        "--setgid=follow",
        "--",
        "sh",
        "-c",
        "id -u; id -g",
    ]);

    assert_success(&outcome);
    assert_eq!(outcome.stdout, "1234\n4321\n", "program's uid and gid");
    assert_no_stderr(&outcome);
}

/// The owner of `/proc/PID` must be read after entry: host root owns the
/// target, and inside its user namespace root appears as uid and gid 5.
/// Read before entry it would be 0, which is not mapped there.
#[test]
fn setuid_follow_maps_into_user_namespace() {
    require_root!();
    let target = Target::unshare(&["--user", "--map-user=5", "--map-group=5"]);

    let outcome = nsenter(&[
        "-t",
        &target.pid_arg(),
        "-U",
        "-S",
        "follow",
        "-G",
        "follow",
        "--",
        "sh",
        "-c",
        "id -u; id -g",
    ]);

    assert_success(&outcome);
    assert_eq!(outcome.stdout, "5\n5\n", "program's uid and gid");
    assert_no_stderr(&outcome);
}

/// `--keep-caps` only acts on an entered user namespace. Without one,
/// util-linux 2.40 and later ignore it and run the program.
#[test]
fn keep_caps_without_user_namespace_ignored() {
    require_root!();
    let target = Target::unshare(&["--uts"]);
    let script = "readlink /proc/self/ns/uts; grep CapAmb /proc/self/status";

    let outcome = nsenter(&[
        "-t",
        &target.pid_arg(),
        "-u",
        "--keep-caps",
        "--",
        "sh",
        "-c",
        script,
    ]);

    assert_success(&outcome);
    assert_eq!(
        outcome.stdout.lines().next(),
        Some(target.ns("uts").as_str()),
        "program's uts namespace"
    );
    assert_eq!(
        capability_set(&outcome.stdout, "CapAmb"),
        0,
        "program's ambient set"
    );
    assert_no_stderr(&outcome);
}

/// `--all` skips the user namespace when the target shares ours, so
/// `--keep-caps` has nothing to act on and the program still runs.
#[test]
fn keep_caps_all_own_user_namespace_runs() {
    require_root!();
    let target = Target::unshare(&["--uts"]);
    let script = "readlink /proc/self/ns/uts; grep CapAmb /proc/self/status";

    let outcome = nsenter(&[
        "-t",
        &target.pid_arg(),
        "-a",
        "--keep-caps",
        "--",
        "sh",
        "-c",
        script,
    ]);

    assert_success(&outcome);
    assert_eq!(
        outcome.stdout.lines().next(),
        Some(target.ns("uts").as_str()),
        "program's uts namespace"
    );
    assert_eq!(
        capability_set(&outcome.stdout, "CapAmb"),
        0,
        "program's ambient set"
    );
    assert_no_stderr(&outcome);
}
