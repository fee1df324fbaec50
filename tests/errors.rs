//! Error messages and exit statuses of nsenter itself, plus `--help` and
//! `--version`.
//!
//! Every error exits with status 1, prints nothing on stdout and one
//! stderr line `nsenter: WHAT[: strerror]`. Usage errors from option
//! parsing add the line `Try 'nsenter --help' for more information.`

mod common;

use common::{assert_no_stderr, assert_success, nsenter, testing_reference, Outcome, Target};

const TRY_HELP: &str = "Try 'nsenter --help' for more information.";

/// Asserts exit status 1, empty stdout and exactly `expected` on stderr.
fn assert_error(outcome: &Outcome, expected: &str) {
    assert_eq!(outcome.code(), Some(1), "exit status; {outcome:?}");
    assert_eq!(outcome.stdout, "", "stdout");
    assert_eq!(outcome.stderr, format!("{expected}\n"), "stderr");
}

/// Asserts a usage error: exit status 1, empty stdout, `expected` and the
/// help hint on stderr.
fn assert_usage_error(outcome: &Outcome, expected: &str) {
    assert_error(outcome, &format!("{expected}\n{TRY_HELP}"));
}

/// Returns the PID of a process that has exited and been reaped.
fn gone_pid() -> u32 {
    let mut child = std::process::Command::new("true")
        .spawn()
        .expect("spawn true");
    let pid = child.id();
    child.wait().expect("wait for true");
    pid
}

#[test]
fn target_gone_cannot_open() {
    require_root!();
    let pid = gone_pid();

    let outcome = nsenter(&["-t", &pid.to_string(), "-n", "true"]);

    assert_error(
        &outcome,
        &format!("nsenter: cannot open /proc/{pid}/ns/net: No such file or directory"),
    );
}

#[test]
fn file_missing_cannot_open() {
    let outcome = nsenter(&["--net=/nonexistent/ns/net", "true"]);

    assert_error(
        &outcome,
        "nsenter: cannot open /nonexistent/ns/net: No such file or directory",
    );
}

#[test]
fn wrong_file_kind_reassociate_failed() {
    require_root!();
    // A uts namespace file given for the net namespace: setns with
    // CLONE_NEWNET rejects it with EINVAL.
    let target = Target::unshare(&["--uts"]);
    let uts_file = format!("--net=/proc/{}/ns/uts", target.pid);

    let outcome = nsenter(&[&uts_file, "true"]);

    assert_error(
        &outcome,
        "nsenter: reassociate to namespace 'ns/net' failed: Invalid argument",
    );
}

#[test]
fn user_own_namespace_reassociate_fails() {
    require_root!();
    // Unlike --all, an explicit -U tries our own user namespace, and
    // setns rejects that with EINVAL.
    let target = Target::unshare(&["--uts"]);

    let outcome = nsenter(&["-t", &target.pid_arg(), "-U", "true"]);

    assert_error(
        &outcome,
        "nsenter: reassociate to namespace 'ns/user' failed: Invalid argument",
    );
}

#[test]
fn mount_without_target_or_file() {
    let outcome = nsenter(&["-m", "true"]);

    assert_error(
        &outcome,
        "nsenter: neither filename nor target pid supplied for ns/mnt",
    );
}

#[test]
fn net_without_target_or_file() {
    let outcome = nsenter(&["--net", "true"]);

    assert_error(
        &outcome,
        "nsenter: neither filename nor target pid supplied for ns/net",
    );
}

#[test]
fn target_pid_not_a_number() {
    let outcome = nsenter(&["-t", "abc", "-m", "true"]);

    assert_error(&outcome, "nsenter: failed to parse pid: 'abc'");
}

#[test]
fn target_pid_trailing_garbage() {
    let outcome = nsenter(&["--target=12x", "-m", "true"]);

    assert_error(&outcome, "nsenter: failed to parse pid: '12x'");
}

#[test]
fn setuid_not_a_number() {
    let outcome = nsenter(&["-S", "abc", "true"]);

    assert_eq!(outcome.code(), Some(1), "exit status; {outcome:?}");
    assert_eq!(outcome.stdout, "");
    let lines = outcome.stderr_lines();
    assert_eq!(lines.len(), 1, "one stderr line: {lines:?}");
    assert!(lines[0].starts_with("nsenter: "), "prefix: {lines:?}");
    assert!(lines[0].contains("'abc'"), "shows the value: {lines:?}");
}

#[test]
fn program_not_found_fails_execute() {
    require_root!();
    let target = Target::unshare(&["--uts"]);

    let outcome = nsenter(&["-t", &target.pid_arg(), "-u", "nsenter-test-foo"]);

    assert_eq!(outcome.code(), Some(127), "exit status; {outcome:?}");
    assert_eq!(outcome.stdout, "");
    assert_eq!(
        outcome.stderr,
        "nsenter: failed to execute nsenter-test-foo: No such file or directory\n"
    );
}

#[test]
fn unrecognized_long_option() {
    let outcome = nsenter(&["--bogus"]);

    assert_usage_error(&outcome, "nsenter: unrecognized option '--bogus'");
}

#[test]
fn invalid_short_option() {
    let outcome = nsenter(&["-x"]);

    assert_usage_error(&outcome, "nsenter: invalid option -- 'x'");
}

#[test]
fn short_option_requires_argument() {
    let outcome = nsenter(&["-t"]);

    assert_usage_error(&outcome, "nsenter: option requires an argument -- 't'");
}

#[test]
fn long_option_requires_argument() {
    let outcome = nsenter(&["--target"]);

    assert_usage_error(&outcome, "nsenter: option '--target' requires an argument");
}

#[test]
fn ambiguous_long_prefix() {
    // The exact wording is glibc's in util-linux, so only its parts are
    // checked: the prefix as typed and the word "ambiguous".
    let outcome = nsenter(&["--p"]);

    assert_eq!(outcome.code(), Some(1), "exit status; {outcome:?}");
    assert_eq!(outcome.stdout, "");
    let lines = outcome.stderr_lines();
    assert_eq!(lines.len(), 2, "message and help hint: {lines:?}");
    assert!(lines[0].starts_with("nsenter: "), "prefix: {lines:?}");
    assert!(lines[0].contains("'--p'"), "the option as typed: {lines:?}");
    assert!(lines[0].contains("ambiguous"), "says ambiguous: {lines:?}");
    assert_eq!(lines[1], TRY_HELP);
}

#[test]
fn ambiguous_user_prefix() {
    // `--us` is a prefix of both `--user` and `--user-parent`.
    if testing_reference() {
        // util-linux 2.38 has no --user-parent, so `--us` means `--user`.
        eprintln!("skipped: util-linux 2.38 takes `--us` as `--user`");
        return;
    }
    let outcome = nsenter(&["--us", "true"]);

    assert_eq!(outcome.code(), Some(1), "exit status; {outcome:?}");
    assert_eq!(outcome.stdout, "");
    let lines = outcome.stderr_lines();
    assert_eq!(lines.len(), 2, "message and help hint: {lines:?}");
    assert!(lines[0].starts_with("nsenter: "), "prefix: {lines:?}");
    assert!(
        lines[0].contains("'--us'"),
        "the option as typed: {lines:?}"
    );
    assert!(lines[0].contains("ambiguous"), "says ambiguous: {lines:?}");
    assert_eq!(lines[1], TRY_HELP);
}

#[test]
fn all_rejects_argument() {
    let outcome = nsenter(&["--all=x"]);

    assert_usage_error(
        &outcome,
        "nsenter: option '--all' doesn't allow an argument",
    );
}

#[test]
fn all_without_target_says_missing() {
    let outcome = nsenter(&["-a", "true"]);

    assert_eq!(outcome.code(), Some(1), "exit status; {outcome:?}");
    assert_eq!(outcome.stdout, "");
    let lines = outcome.stderr_lines();
    assert_eq!(lines.len(), 1, "one stderr line: {lines:?}");
    assert!(lines[0].starts_with("nsenter: "), "prefix: {lines:?}");
    assert!(
        lines[0].contains("target"),
        "names the missing target: {lines:?}"
    );
    assert!(
        !lines[0].contains("ns/"),
        "not a per-namespace message: {lines:?}"
    );
}

/// Long options that `--help` must list: every option of util-linux 2.38.
const OPTIONS_IN_2_38: &[&str] = &[
    "--all",
    "--target",
    "--mount",
    "--uts",
    "--ipc",
    "--net",
    "--pid",
    "--cgroup",
    "--user",
    "--time",
    "--setuid",
    "--setgid",
    "--preserve-credentials",
    "--root",
    "--wd",
    "--wdns",
    "--no-fork",
    "--follow-context",
    "--help",
    "--version",
];

/// Long options added after util-linux 2.38 that ours lists too.
const OPTIONS_AFTER_2_38: &[&str] = &[
    "--net-socket",
    "--user-parent",
    "--keep-caps",
    "--env",
    "--join-cgroup",
];

/// Short options that `--help` must list, each as `-X,`.
const SHORT_OPTIONS_IN_2_38: &[&str] = &[
    "-a", "-t", "-m", "-u", "-i", "-n", "-p", "-C", "-U", "-T", "-S", "-G", "-r", "-w", "-W", "-F",
    "-Z", "-h", "-V",
];

const SHORT_OPTIONS_AFTER_2_38: &[&str] = &["-N", "-e", "-c"];

#[test]
fn help_lists_every_option() {
    let outcome = nsenter(&["--help"]);

    assert_success(&outcome);
    assert_no_stderr(&outcome);
    let mut long_options = OPTIONS_IN_2_38.to_vec();
    let mut short_options = SHORT_OPTIONS_IN_2_38.to_vec();
    if testing_reference() {
        // util-linux 2.38 prints "-W. --wdns", a typo for "-W, --wdns".
        short_options.retain(|option| *option != "-W");
    } else {
        long_options.extend_from_slice(OPTIONS_AFTER_2_38);
        short_options.extend_from_slice(SHORT_OPTIONS_AFTER_2_38);
    }
    for option in long_options {
        assert!(outcome.stdout.contains(option), "--help lists {option}");
    }
    for option in short_options {
        assert!(
            outcome.stdout.contains(&format!("{option},")),
            "--help lists {option}"
        );
    }
}

#[test]
fn help_short_option() {
    let outcome = nsenter(&["-h"]);

    assert_success(&outcome);
    assert!(
        outcome.stdout.contains("--target"),
        "usage text: {:?}",
        outcome.stdout
    );
    assert_no_stderr(&outcome);
}

#[test]
fn version_prints_one_line() {
    for option in ["-V", "--version"] {
        let outcome = nsenter(&[option]);

        assert_success(&outcome);
        let lines: Vec<&str> = outcome.stdout.lines().collect();
        assert_eq!(lines.len(), 1, "{option}: one line: {lines:?}");
        assert!(
            lines[0].starts_with("nsenter"),
            "{option}: names the program: {lines:?}"
        );
        assert_no_stderr(&outcome);
    }
}
