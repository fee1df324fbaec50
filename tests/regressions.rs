//! Regression tests for defects found by differential and hostile
//! testing against util-linux 2.38.1: each checks the fixed behaviour.

mod common;

use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::process::Command;

use common::{nsenter, nsenter_command, run, Target, TempDir};

/// Writes an executable file at `path` with `contents`.
fn write_executable(path: &std::path::Path, contents: &str) {
    let mut file = std::fs::File::create(path).expect("create script");
    file.write_all(contents.as_bytes()).expect("write script");
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).expect("chmod");
}

#[test]
fn script_without_shebang_runs_in_sh() {
    let dir = TempDir::new("noshebang");
    let script = dir.join("script");
    write_executable(&script, "echo hi \"$@\"\n");

    let outcome = nsenter(&[script.to_str().unwrap(), "a", "b"]);

    assert_eq!(outcome.code(), Some(0), "{outcome:?}");
    assert_eq!(outcome.stdout, "hi a b\n");
    assert_eq!(outcome.stderr, "");
}

#[test]
fn script_without_shebang_found_in_path() {
    let dir = TempDir::new("noshebang-path");
    write_executable(&dir.join("greet"), "echo found \"$1\"\n");

    let mut command = nsenter_command(&["greet", "x"]);
    command.env("PATH", dir.path_str());
    let outcome = run(&mut command);

    assert_eq!(outcome.code(), Some(0), "{outcome:?}");
    assert_eq!(outcome.stdout, "found x\n");
}

#[test]
fn program_name_over_name_max_rejected() {
    let name = "a".repeat(300);

    let outcome = nsenter(&[name.as_str()]);

    assert_eq!(outcome.code(), Some(126), "{outcome:?}");
    assert_eq!(
        outcome.stderr,
        format!("nsenter: failed to execute {name}: File name too long\n")
    );
}

#[test]
fn overlong_path_keeps_errno_text() {
    let path = format!("/{}", "a".repeat(5000));

    let outcome = nsenter(&[format!("--mount={path}").as_str(), "true"]);

    assert_eq!(outcome.code(), Some(1), "{outcome:?}");
    assert_eq!(outcome.stderr_lines().len(), 1, "{outcome:?}");
    assert!(
        outcome.stderr.starts_with("nsenter: cannot open /aaa"),
        "{outcome:?}"
    );
    assert!(
        outcome.stderr.ends_with("...: File name too long\n"),
        "{outcome:?}"
    );
}

#[test]
fn wd_with_wdns_rejected() {
    let outcome = nsenter(&["-w/tmp", "-W", "/tmp", "true"]);

    assert_eq!(outcome.code(), Some(1), "{outcome:?}");
    assert_eq!(
        outcome.stderr,
        "nsenter: mutually exclusive arguments: --wdns --wd\n"
    );
}

#[test]
fn all_keeps_explicit_user() {
    require_root!();
    let target = Target::spawn(&["sleep", "1000"]);

    let outcome = nsenter(&["-t", &target.pid_arg(), "-a", "-U", "true"]);

    assert_eq!(outcome.code(), Some(1), "{outcome:?}");
    assert_eq!(
        outcome.stderr,
        "nsenter: reassociate to namespace 'ns/user' failed: Invalid argument\n"
    );
}

#[test]
fn keep_caps_without_user_ignored() {
    let outcome = nsenter(&["--keep-caps", "true"]);

    assert_eq!(outcome.code(), Some(0), "{outcome:?}");
    assert_eq!(outcome.stderr, "");
}

#[test]
fn help_write_error_reported() {
    // The run helper captures stdout, so a shell points it at /dev/full.
    let script = format!(
        "exec -a nsenter {} --help >/dev/full",
        common::nsenter_bin().display()
    );
    let outcome = run(Command::new("bash").args(["-c", &script]));

    assert_eq!(outcome.code(), Some(1), "{outcome:?}");
    assert_eq!(
        outcome.stderr,
        "nsenter: write error: No space left on device\n"
    );
}

#[test]
fn net_socket_missing_target_named() {
    let pid = {
        let mut child = Command::new("true").spawn().expect("spawn true");
        let pid = child.id();
        child.wait().expect("wait for true");
        pid
    };

    let outcome = nsenter(&["-t", &pid.to_string(), "-N", "3", "true"]);

    assert_eq!(outcome.code(), Some(1), "{outcome:?}");
    assert_eq!(
        outcome.stderr,
        format!("nsenter: cannot open /proc/{pid}: No such process\n")
    );
}
