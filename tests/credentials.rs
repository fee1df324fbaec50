//! Credentials after entry: the forced uid and gid 0 of `-U`, numeric
//! `-S`/`-G`, `--preserve-credentials`, `-S follow`/`-G follow`, and
//! `--all` against a target in its own user namespace.
//!
//! Most targets here map the ids 0-65535 inside to 100000-165535 outside,
//! which leaves our own root unmapped: an unmapped id shows inside as the
//! overflow id, which distinguishes a kept credential from a set one.

mod common;

use common::{assert_no_stderr, assert_success, nsenter, own_ns, run, testing_reference, Target};
use std::process::{Command, Stdio};

const SHIFTED_MAP: &str = "0 100000 65536";

const PRINT_IDS: &str = "id -u; id -g; id -G";

/// Returns the id that an unmapped uid shows inside a user namespace.
fn overflow_uid() -> String {
    std::fs::read_to_string("/proc/sys/kernel/overflowuid")
        .expect("read overflowuid")
        .trim()
        .to_string()
}

fn overflow_gid() -> String {
    std::fs::read_to_string("/proc/sys/kernel/overflowgid")
        .expect("read overflowgid")
        .trim()
        .to_string()
}

fn shifted_target() -> Target {
    Target::user_namespace_with_maps(&["--uts"], SHIFTED_MAP, SHIFTED_MAP, "exec sleep 1000")
}

#[test]
fn user_forces_root_ids() {
    require_root!();
    let target = shifted_target();
    let pid = target.pid_arg();

    let outcome = nsenter(&["-t", &pid, "-U", "sh", "-c", PRINT_IDS]);

    assert_success(&outcome);
    assert_eq!(outcome.stdout, "0\n0\n0\n", "uid, gid and groups inside");
    assert_no_stderr(&outcome);
}

#[test]
fn user_enters_namespace_of_target() {
    require_root!();
    let target = shifted_target();
    let pid = target.pid_arg();

    let outcome = nsenter(&["-t", &pid, "-U", "readlink", "/proc/self/ns/user"]);

    assert_success(&outcome);
    assert_eq!(outcome.stdout.trim_end(), target.ns("user"));
    assert_ne!(outcome.stdout.trim_end(), own_ns("user"));
    assert_no_stderr(&outcome);
}

#[test]
fn user_with_numeric_setuid_setgid() {
    require_root!();
    let target = shifted_target();
    let pid = target.pid_arg();

    let outcome = nsenter(&[
        "-t", &pid, "-U", "-S", "1", "-G", "2", "sh", "-c", PRINT_IDS,
    ]);

    assert_success(&outcome);
    // -G also drops the supplementary groups, so the only group is 2.
    assert_eq!(outcome.stdout, "1\n2\n2\n", "uid, gid and groups inside");
    assert_no_stderr(&outcome);
}

#[test]
fn user_with_attached_setuid_setgid() {
    require_root!();
    let target = shifted_target();
    let pid = target.pid_arg();

    let outcome = nsenter(&["-t", &pid, "-U", "-S3", "--setgid=4", "sh", "-c", PRINT_IDS]);

    assert_success(&outcome);
    assert_eq!(outcome.stdout, "3\n4\n4\n", "uid, gid and groups inside");
    assert_no_stderr(&outcome);
}

#[test]
fn user_preserve_credentials_keeps_ids() {
    require_root!();
    let target = shifted_target();
    let pid = target.pid_arg();

    let outcome = nsenter(&[
        "-t",
        &pid,
        "-U",
        "--preserve-credentials",
        "sh",
        "-c",
        PRINT_IDS,
    ]);

    assert_success(&outcome);
    // Our root is unmapped inside, so the kept ids show as overflow ids.
    let expected = format!(
        "{}\n{}\n{}\n",
        overflow_uid(),
        overflow_gid(),
        overflow_gid()
    );
    assert_eq!(outcome.stdout, expected, "uid, gid and groups inside");
    assert_no_stderr(&outcome);
}

#[test]
fn all_enters_user_namespace_target() {
    require_root!();
    let target = Target::user_namespace(&["--uts", "--net", "--ipc"]);
    let pid = target.pid_arg();
    let script = format!("readlink /proc/self/ns/user /proc/self/ns/uts /proc/self/ns/net /proc/self/ns/ipc; {PRINT_IDS}");

    let outcome = nsenter(&["--all", "-t", &pid, "sh", "-c", &script]);

    assert_success(&outcome);
    let lines: Vec<&str> = outcome.stdout.lines().collect();
    assert_eq!(lines.len(), 7, "four links and three id lines: {lines:?}");
    assert_eq!(lines[0], target.ns("user"));
    assert_eq!(lines[1], target.ns("uts"));
    assert_eq!(lines[2], target.ns("net"));
    assert_eq!(lines[3], target.ns("ipc"));
    assert_eq!(&lines[4..], ["0", "0", "0"], "uid, gid and groups inside");
    assert_no_stderr(&outcome);
}

#[test]
fn all_with_shifted_user_namespace() {
    require_root!();
    let target = shifted_target();
    let pid = target.pid_arg();

    let outcome = nsenter(&["-a", "-t", &pid, "sh", "-c", PRINT_IDS]);

    assert_success(&outcome);
    assert_eq!(outcome.stdout, "0\n0\n0\n", "uid, gid and groups inside");
    assert_no_stderr(&outcome);
}

#[test]
fn setuid_setgid_without_user_namespace() {
    require_root!();
    let target = Target::unshare(&["--uts"]);
    let pid = target.pid_arg();

    let outcome = nsenter(&[
        "-t", &pid, "-u", "-S", "65534", "-G", "65534", "sh", "-c", PRINT_IDS,
    ]);

    assert_success(&outcome);
    assert_eq!(
        outcome.stdout, "65534\n65534\n65534\n",
        "uid, gid and groups"
    );
    assert_no_stderr(&outcome);
}

#[test]
fn setuid_with_no_namespace_option() {
    require_root!();
    // No namespace option at all is allowed: only the credentials change.
    let outcome = nsenter(&["-S", "65534", "-G", "65534", "sh", "-c", PRINT_IDS]);

    assert_success(&outcome);
    assert_eq!(
        outcome.stdout, "65534\n65534\n65534\n",
        "uid, gid and groups"
    );
    assert_no_stderr(&outcome);
}

#[test]
fn setuid_follow_inside_user_namespace() {
    require_root!();
    if testing_reference() {
        eprintln!("skipped: util-linux 2.38 has no `follow` for -S and -G");
        return;
    }
    // Inside the user namespace the target runs as uid 5 and gid 6, so its
    // /proc/PID, seen after entry, belongs to 5 and 6. Our root stays root
    // inside so that the target's shell keeps its capabilities across exec
    // and setpriv may change its ids.
    let root_and_shifted = "0 0 1\n1 100001 65535";
    let target = Target::user_namespace_with_maps(
        &[],
        root_and_shifted,
        root_and_shifted,
        "exec setpriv --reuid=5 --regid=6 --clear-groups sleep 1000",
    );
    let pid = target.pid_arg();

    let outcome = nsenter(&[
        "-t", &pid, "-U", "-S", "follow", "-G", "follow", "sh", "-c", PRINT_IDS,
    ]);

    assert_success(&outcome);
    assert_eq!(outcome.stdout, "5\n6\n6\n", "uid, gid and groups inside");
    assert_no_stderr(&outcome);
}

#[test]
fn setgroups_denied_fails_with_message() {
    require_root!();
    // An unprivileged user's user namespace made with --map-root-user
    // denies setgroups, and the same user cannot call it outside either,
    // so the forced drop of supplementary groups fails both times.
    let unprivileged = [
        "setpriv",
        "--reuid=65534",
        "--regid=65534",
        "--clear-groups",
    ];
    let mut target_argv = unprivileged.to_vec();
    target_argv.extend(["unshare", "--user", "--map-root-user", "sleep", "1000"]);
    let target = Target::spawn(&target_argv);
    let pid = target.pid_arg();

    let mut command = Command::new(unprivileged[0]);
    command
        .args(&unprivileged[1..])
        .arg(common::nsenter_bin())
        .args(["-t", &pid, "-U", "id", "-u"])
        .stdin(Stdio::null());
    let outcome = run(&mut command);

    assert_eq!(outcome.code(), Some(1), "exit status; {outcome:?}");
    assert_eq!(outcome.stdout, "");
    assert_eq!(
        outcome.stderr,
        "nsenter: setgroups failed: Operation not permitted\n"
    );
}

#[test]
fn unprivileged_preserve_credentials_succeeds() {
    require_root!();
    // The same namespace as above, entered with --preserve-credentials:
    // no setgroups call, and our uid 65534 is root inside.
    let unprivileged = [
        "setpriv",
        "--reuid=65534",
        "--regid=65534",
        "--clear-groups",
    ];
    let mut target_argv = unprivileged.to_vec();
    target_argv.extend(["unshare", "--user", "--map-root-user", "sleep", "1000"]);
    let target = Target::spawn(&target_argv);
    let pid = target.pid_arg();

    let mut command = Command::new(unprivileged[0]);
    command
        .args(&unprivileged[1..])
        .arg(common::nsenter_bin())
        .args([
            "-t",
            &pid,
            "-U",
            "--preserve-credentials",
            "sh",
            "-c",
            "id -u; id -g",
        ])
        .stdin(Stdio::null());
    let outcome = run(&mut command);

    assert_success(&outcome);
    assert_eq!(outcome.stdout, "0\n0\n", "uid and gid inside");
    assert_no_stderr(&outcome);
}
