//! `--user-parent`: enter the parent of the target's user namespace (the
//! NS_GET_USERNS ioctl) instead of the target's own.
//!
//! The target is two nested user namespaces deep: `unshare --fork` keeps
//! the outer `unshare` alive in the outer namespace, so its PID names the
//! parent namespace, and the inner `sleep` lives in the child namespace.

mod common;

use common::{assert_no_stderr, assert_success, ns_of, nsenter, own_ns, Target};

/// A `sleep` in a user namespace nested in another new user namespace,
/// and the outer namespace's `user:[INODE]` link.
struct NestedTarget {
    target: Target,
    outer_ns: String,
}

fn start_nested_target() -> NestedTarget {
    let target = Target::spawn(&[
        "unshare",
        "--user",
        "--map-root-user",
        "--fork",
        "unshare",
        "--user",
        "--map-root-user",
        "sleep",
        "1000",
    ]);
    let outer_ns = ns_of(target.launcher_pid(), "user");
    assert_ne!(
        outer_ns,
        target.ns("user"),
        "the launcher is in the outer user namespace"
    );
    assert_ne!(
        outer_ns,
        own_ns("user"),
        "the outer user namespace is not ours"
    );
    NestedTarget { target, outer_ns }
}

#[test]
fn user_parent_enters_outer_namespace() {
    require_root!();
    let nested = start_nested_target();
    let pid = nested.target.pid_arg();

    let outcome = nsenter(&[
        "-t",
        &pid,
        "-U",
        "--user-parent",
        "--",
        "readlink",
        "/proc/self/ns/user",
    ]);

    assert_success(&outcome);
    assert_eq!(
        outcome.stdout.trim_end(),
        nested.outer_ns,
        "program's user namespace"
    );
    assert_no_stderr(&outcome);
}

/// The other namespaces still come from the target itself.
#[test]
fn user_parent_with_target_uts() {
    require_root!();
    let target = Target::spawn(&[
        "unshare",
        "--user",
        "--map-root-user",
        "--fork",
        "unshare",
        "--user",
        "--map-root-user",
        "--uts",
        "sleep",
        "1000",
    ]);
    let outer_ns = ns_of(target.launcher_pid(), "user");
    let script = "readlink /proc/self/ns/user /proc/self/ns/uts";

    let outcome = nsenter(&[
        "-t",
        &target.pid_arg(),
        "-U",
        "--user-parent",
        "-u",
        "--",
        "sh",
        "-c",
        script,
    ]);

    assert_success(&outcome);
    let expected = format!("{outer_ns}\n{}\n", target.ns("uts"));
    assert_eq!(
        outcome.stdout, expected,
        "program's user and uts namespaces"
    );
    assert_no_stderr(&outcome);
}

/// Control for the test above: plain `-U` enters the target's own (inner)
/// user namespace, so the two tests tell the options apart.
#[test]
fn user_parent_absent_enters_own_namespace() {
    require_root!();
    let nested = start_nested_target();
    let pid = nested.target.pid_arg();

    let outcome = nsenter(&["-t", &pid, "-U", "--", "readlink", "/proc/self/ns/user"]);

    assert_success(&outcome);
    assert_eq!(
        outcome.stdout.trim_end(),
        nested.target.ns("user"),
        "program's user namespace"
    );
    assert_no_stderr(&outcome);
}

/// `--user-parent` alone enables the user namespace too, as in util-linux.
#[test]
fn user_parent_alone_enters_outer_namespace() {
    require_root!();
    let nested = start_nested_target();
    let pid = nested.target.pid_arg();

    let outcome = nsenter(&[
        "-t",
        &pid,
        "--user-parent",
        "--",
        "readlink",
        "/proc/self/ns/user",
    ]);

    assert_success(&outcome);
    assert_eq!(
        outcome.stdout.trim_end(),
        nested.outer_ns,
        "program's user namespace"
    );
    assert_no_stderr(&outcome);
}

/// The initial user namespace has no parent, so the ioctl fails with EPERM
/// and nsenter must stop before it runs the program.
#[test]
fn user_parent_of_initial_namespace_rejected() {
    require_root!();
    let target = Target::unshare(&["--uts"]);
    assert_eq!(
        target.ns("user"),
        own_ns("user"),
        "the target shares our user namespace"
    );

    let outcome = nsenter(&[
        "-t",
        &target.pid_arg(),
        "-U",
        "--user-parent",
        "--",
        "echo",
        "program ran",
    ]);

    common::assert_rejected(&outcome);
}
