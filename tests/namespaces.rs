//! Entering each namespace kind by target PID (`-t PID -X`) and by file
//! (`--KIND=FILE`, `-XFILE`), `--all`, and the order of entry.
//!
//! Entry is proven by the program itself: it prints `readlink
//! /proc/self/ns/KIND`, which must equal the target's `/proc/PID/ns/KIND`
//! and differ from ours.

mod common;

use common::{assert_no_stderr, assert_success, nsenter, own_ns, run, Target};
use std::process::{Command, Stdio};

/// A namespace kind: its `/proc/PID/ns` leaf, its short and long options,
/// and the `unshare` flags that start a target in a new one.
struct Kind {
    leaf: &'static str,
    short: &'static str,
    long: &'static str,
    unshare_flags: &'static [&'static str],
}

const MOUNT: Kind = Kind {
    leaf: "mnt",
    short: "-m",
    long: "--mount",
    unshare_flags: &["--mount"],
};
const UTS: Kind = Kind {
    leaf: "uts",
    short: "-u",
    long: "--uts",
    unshare_flags: &["--uts"],
};
const IPC: Kind = Kind {
    leaf: "ipc",
    short: "-i",
    long: "--ipc",
    unshare_flags: &["--ipc"],
};
const NET: Kind = Kind {
    leaf: "net",
    short: "-n",
    long: "--net",
    unshare_flags: &["--net"],
};
const PID: Kind = Kind {
    leaf: "pid",
    short: "-p",
    long: "--pid",
    unshare_flags: &["--pid", "--fork"],
};
const CGROUP: Kind = Kind {
    leaf: "cgroup",
    short: "-C",
    long: "--cgroup",
    unshare_flags: &["--cgroup"],
};
const USER: Kind = Kind {
    leaf: "user",
    short: "-U",
    long: "--user",
    unshare_flags: &["--user", "--map-root-user"],
};
const TIME: Kind = Kind {
    leaf: "time",
    short: "-T",
    long: "--time",
    unshare_flags: &["--time"],
};

/// The leaves of every kind, in the order the `--all` test prints them.
const ALL_LEAVES: [&str; 8] = ["mnt", "uts", "ipc", "net", "pid", "cgroup", "user", "time"];

/// Runs nsenter with `options` and the program `readlink
/// /proc/self/ns/LEAF`, and asserts that it printed the target's link.
fn assert_enters(target: &Target, leaf: &str, options: &[String]) {
    let mut args: Vec<String> = options.to_vec();
    args.extend(["readlink".to_string(), format!("/proc/self/ns/{leaf}")]);
    let outcome = nsenter(&args);

    assert_success(&outcome);
    assert_eq!(
        outcome.stdout.trim_end(),
        target.ns(leaf),
        "{leaf} link seen by the program; args {args:?}"
    );
    assert_no_stderr(&outcome);
}

/// Starts a target in a new namespace of `kind` and enters it in the three
/// ways: `-t PID -X`, `--long=/proc/PID/ns/LEAF` and `-X/proc/PID/ns/LEAF`.
fn check_kind(kind: &Kind) {
    let target = Target::unshare(kind.unshare_flags);
    assert_ne!(
        target.ns(kind.leaf),
        own_ns(kind.leaf),
        "the target has its own {} namespace",
        kind.leaf
    );
    let pid = target.pid_arg();
    let file = format!("/proc/{pid}/ns/{}", kind.leaf);

    assert_enters(
        &target,
        kind.leaf,
        &["-t".to_string(), pid.clone(), kind.short.to_string()],
    );
    assert_enters(&target, kind.leaf, &[format!("{}={file}", kind.long)]);
    assert_enters(&target, kind.leaf, &[format!("{}{file}", kind.short)]);
}

#[test]
fn mount_namespace_by_target_and_file() {
    require_root!();
    check_kind(&MOUNT);
}

#[test]
fn uts_namespace_by_target_and_file() {
    require_root!();
    check_kind(&UTS);
}

#[test]
fn ipc_namespace_by_target_and_file() {
    require_root!();
    check_kind(&IPC);
}

#[test]
fn net_namespace_by_target_and_file() {
    require_root!();
    check_kind(&NET);
}

#[test]
fn pid_namespace_by_target_and_file() {
    require_root!();
    check_kind(&PID);
}

#[test]
fn cgroup_namespace_by_target_and_file() {
    require_root!();
    check_kind(&CGROUP);
}

#[test]
fn user_namespace_by_target_and_file() {
    require_root!();
    check_kind(&USER);
}

#[test]
fn time_namespace_by_target_and_file() {
    require_root!();
    check_kind(&TIME);
}

/// Returns the shell script that prints `/proc/self/ns/LEAF` for every
/// leaf of `ALL_LEAVES`, one line each.
fn print_all_links_script() -> String {
    format!(
        "for leaf in {}; do readlink /proc/self/ns/$leaf; done",
        ALL_LEAVES.join(" ")
    )
}

#[test]
fn all_enters_every_namespace() {
    require_root!();
    let target = Target::unshare(&[
        "--mount", "--uts", "--ipc", "--net", "--pid", "--fork", "--cgroup", "--time",
    ]);
    let pid = target.pid_arg();

    let outcome = nsenter(&["-t", &pid, "--all", "sh", "-c", &print_all_links_script()]);

    assert_success(&outcome);
    let seen: Vec<&str> = outcome.stdout.lines().collect();
    let expected: Vec<String> = ALL_LEAVES.iter().map(|leaf| target.ns(leaf)).collect();
    assert_eq!(seen, expected, "links seen by the program");
    assert_no_stderr(&outcome);
}

#[test]
fn all_skips_own_user_namespace() {
    require_root!();
    // The target shares our user namespace, and entering your own user
    // namespace fails with EINVAL, so --all must leave it out.
    let target = Target::unshare(&["--uts"]);
    assert_eq!(target.ns("user"), own_ns("user"));
    let pid = target.pid_arg();

    let outcome = nsenter(&["-a", "-t", &pid, "readlink", "/proc/self/ns/uts"]);

    assert_success(&outcome);
    assert_eq!(outcome.stdout.trim_end(), target.ns("uts"));
    assert_no_stderr(&outcome);
}

#[test]
fn all_enters_identical_namespaces_anyway() {
    require_root!();
    // Every namespace of this target but the uts one is ours: entering an
    // identical non-user namespace is not an error.
    let target = Target::unshare(&["--uts"]);
    let pid = target.pid_arg();

    let outcome = nsenter(&[
        "--all",
        "--target",
        &pid,
        "sh",
        "-c",
        &print_all_links_script(),
    ]);

    assert_success(&outcome);
    let seen: Vec<&str> = outcome.stdout.lines().collect();
    let expected: Vec<String> = ALL_LEAVES.iter().map(|leaf| target.ns(leaf)).collect();
    assert_eq!(seen, expected, "links seen by the program");
    assert_no_stderr(&outcome);
}

#[test]
fn all_with_explicit_file_overrides() {
    require_root!();
    let target = Target::unshare(&["--uts", "--net"]);
    let other = Target::unshare(&["--uts"]);
    let pid = target.pid_arg();
    let other_uts = format!("--uts=/proc/{}/ns/uts", other.pid);

    let outcome = nsenter(&[
        "-a",
        "-t",
        &pid,
        &other_uts,
        "sh",
        "-c",
        "readlink /proc/self/ns/uts /proc/self/ns/net",
    ]);

    assert_success(&outcome);
    let seen: Vec<&str> = outcome.stdout.lines().collect();
    assert_eq!(
        seen,
        [other.ns("uts"), target.ns("net")],
        "uts from the file, net from the target"
    );
    assert_no_stderr(&outcome);
}

#[test]
fn file_namespace_needs_no_target() {
    require_root!();
    // Two kinds from two different processes, both by file.
    let first = Target::unshare(&["--uts"]);
    let second = Target::unshare(&["--net"]);
    let uts_file = format!("--uts=/proc/{}/ns/uts", first.pid);
    let net_file = format!("-n/proc/{}/ns/net", second.pid);

    let outcome = nsenter(&[
        &uts_file,
        &net_file,
        "sh",
        "-c",
        "readlink /proc/self/ns/uts /proc/self/ns/net",
    ]);

    assert_success(&outcome);
    let seen: Vec<&str> = outcome.stdout.lines().collect();
    assert_eq!(seen, [first.ns("uts"), second.ns("net")]);
    assert_no_stderr(&outcome);
}

#[test]
fn file_opened_before_mount_entry() {
    require_root!();
    // An explicit file is opened in the caller's mount namespace before any
    // setns ("tunnel" semantics): the path below does not exist inside the
    // target's mount namespace, where the temp dir is an empty tmpfs.
    let holder = Target::unshare(&["--net"]);
    let link_dir = common::TempDir::new("tunnel");
    let link = link_dir.join("net");
    std::os::unix::fs::symlink(format!("/proc/{}/ns/net", holder.pid), &link)
        .expect("create symlink");
    let temp = std::env::temp_dir();
    let script = format!("mount -t tmpfs none {} && exec sleep 1000", temp.display());
    let target = Target::spawn(&[
        "unshare",
        "--mount",
        "--propagation",
        "private",
        "sh",
        "-c",
        &script,
    ]);
    let pid = target.pid_arg();
    let net_file = format!("--net={}", link.display());

    let outcome = nsenter(&["-t", &pid, "-m", &net_file, "readlink", "/proc/self/ns/net"]);

    assert_success(&outcome);
    assert_eq!(outcome.stdout.trim_end(), holder.ns("net"));
    assert_no_stderr(&outcome);
}

#[test]
fn privileged_caller_enters_user_last() {
    require_root!();
    // The net namespace is owned by our user namespace and the user
    // namespace is a child of it. Once inside the child user namespace the
    // caller has no capability over the net namespace, so the net
    // namespace must be entered first.
    let target = Target::spawn(&[
        "unshare",
        "--net",
        "unshare",
        "--user",
        "--map-root-user",
        "sleep",
        "1000",
    ]);
    assert_ne!(target.ns("net"), own_ns("net"));
    let pid = target.pid_arg();

    let outcome = nsenter(&[
        "-t",
        &pid,
        "-U",
        "-n",
        "sh",
        "-c",
        "readlink /proc/self/ns/user /proc/self/ns/net",
    ]);

    assert_success(&outcome);
    let seen: Vec<&str> = outcome.stdout.lines().collect();
    assert_eq!(seen, [target.ns("user"), target.ns("net")]);
    assert_no_stderr(&outcome);
}

#[test]
fn unprivileged_caller_enters_user_first() {
    require_root!();
    // An unprivileged user owns the target's user namespace and the uts
    // namespace in it. The same user can enter the uts namespace only
    // from inside the user namespace, so the user namespace comes first.
    // The call uses --preserve-credentials because this user namespace
    // denies setgroups, which the forced uid and gid 0 of plain -U call.
    let unprivileged = [
        "setpriv",
        "--reuid=65534",
        "--regid=65534",
        "--clear-groups",
    ];
    let mut target_argv = unprivileged.to_vec();
    target_argv.extend([
        "unshare",
        "--user",
        "--map-root-user",
        "--uts",
        "sleep",
        "1000",
    ]);
    let target = Target::spawn(&target_argv);
    let pid = target.pid_arg();

    let bin = common::nsenter_bin();
    let mut command = Command::new(unprivileged[0]);
    command
        .args(&unprivileged[1..])
        .arg(&bin)
        .args([
            "-t",
            &pid,
            "-u",
            "-U",
            "--preserve-credentials",
            "sh",
            "-c",
            "readlink /proc/self/ns/user /proc/self/ns/uts",
        ])
        .stdin(Stdio::null());
    let outcome = run(&mut command);

    assert_success(&outcome);
    let seen: Vec<&str> = outcome.stdout.lines().collect();
    assert_eq!(seen, [target.ns("user"), target.ns("uts")]);
    assert_no_stderr(&outcome);
}
