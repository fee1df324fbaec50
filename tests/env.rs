//! `-e`/`--env`: the program gets the target's environment, read from
//! `/proc/PID/environ`, and PATH (for the program lookup) and SHELL (when
//! no program is given) come from that environment.
//!
//! Environments that `env -i` cannot build (entries without `=`, repeated
//! names) are passed by Python's ctypes straight to execve(2).

mod common;

use common::{
    assert_no_stderr, assert_success, nsenter, nsenter_command, run, Outcome, Target, TempDir,
};
use std::fs::{self, File};
use std::os::unix::fs::symlink;
use std::path::Path;

const PYTHON: &str = "/usr/bin/python3";

/// Python script that execs `/bin/sleep 1000` with exactly the environment
/// entries given as its arguments, in that order.
const EXEC_SLEEP_WITH_ENTRIES: &str = r#"
import ctypes, sys
libc = ctypes.CDLL(None, use_errno=True)
entries = [entry.encode() for entry in sys.argv[1:]]
envp = (ctypes.c_char_p * (len(entries) + 1))(*entries, None)
argv = (ctypes.c_char_p * 3)(b"sleep", b"1000", None)
libc.execve(b"/bin/sleep", argv, envp)
raise OSError(ctypes.get_errno(), "execve /bin/sleep failed")
"#;

/// Python script that execs `/bin/sleep 1000` with an environment of about
/// 4 MB: 40 variables of 100,000 bytes. A single string may not exceed 128
/// KiB (MAX_ARG_STRLEN), and the stack limit is lifted so that execve
/// accepts up to 6 MiB in all.
const EXEC_SLEEP_WITH_HUGE_ENVIRONMENT: &str = r#"
import os, resource
resource.setrlimit(resource.RLIMIT_STACK, (resource.RLIM_INFINITY, resource.RLIM_INFINITY))
environment = {f"V{i:02}": "x" * 100000 for i in range(40)}
os.execve("/bin/sleep", ["sleep", "1000"], environment)
"#;

/// Python script that execs `/bin/sleep 1000` with 40,000 short variables
/// (about 300 KB). That is more than the 32,768 variables for which
/// nsenter's pointer table has room (VARIABLES_CAPACITY in
/// src/environment.rs).
const EXEC_SLEEP_WITH_MANY_VARIABLES: &str = r#"
import os
os.execve("/bin/sleep", ["sleep", "1000"], {f"V{i}": "" for i in range(40000)})
"#;

/// Returns from the calling test, with a printed reason, when Python is
/// missing.
macro_rules! require_python {
    () => {
        if !Path::new(PYTHON).exists() {
            eprintln!("skipped {}: needs {PYTHON}", module_path!());
            return;
        }
    };
}

/// Starts a target whose environment is exactly `entries`.
fn target_with_entries(entries: &[&str]) -> Target {
    let mut argv = vec![PYTHON, "-c", EXEC_SLEEP_WITH_ENTRIES];
    argv.extend_from_slice(entries);
    Target::spawn(&argv)
}

/// Returns the lines of `output`, sorted, because the order of the
/// program's environment is not part of the contract.
fn sorted_lines(output: &str) -> Vec<&str> {
    let mut lines: Vec<&str> = output.lines().collect();
    lines.sort_unstable();
    lines
}

/// Writes an executable shell script.
fn write_script(path: &Path, body: &str) {
    common::write_executable(path, format!("#!/bin/sh\n{body}\n").as_bytes());
}

#[test]
fn env_replaced_by_target_environment() {
    require_root!();
    let target = Target::spawn(&[
        "env",
        "-i",
        "A=1",
        "B=2",
        "PATH=/usr/bin:/bin",
        "/bin/sleep",
        "1000",
    ]);

    let outcome = nsenter(&["-t", &target.pid_arg(), "-e", "--", "/usr/bin/env"]);

    assert_success(&outcome);
    assert_eq!(
        sorted_lines(&outcome.stdout),
        ["A=1", "B=2", "PATH=/usr/bin:/bin"],
        "program's environment"
    );
    assert_no_stderr(&outcome);
}

#[test]
fn env_long_option_replaces_environment() {
    require_root!();
    let target = Target::spawn(&["env", "-i", "ONLY=long", "/bin/sleep", "1000"]);

    let outcome = nsenter(&["--target", &target.pid_arg(), "--env", "--", "/usr/bin/env"]);

    assert_success(&outcome);
    assert_eq!(outcome.stdout, "ONLY=long\n", "program's environment");
    assert_no_stderr(&outcome);
}

#[test]
fn env_entries_without_equals_skipped() {
    require_root!();
    require_python!();
    let target = target_with_entries(&["A=1", "NO_EQUALS_SIGN", "B=2", "ALSO_NONE"]);

    let outcome = nsenter(&["-t", &target.pid_arg(), "-e", "--", "/usr/bin/env"]);

    assert_success(&outcome);
    assert_eq!(
        sorted_lines(&outcome.stdout),
        ["A=1", "B=2"],
        "program's environment"
    );
    assert_no_stderr(&outcome);
}

#[test]
fn env_empty_environment_accepted() {
    require_root!();
    let target = Target::spawn(&["env", "-i", "/bin/sleep", "1000"]);

    let outcome = nsenter(&["-t", &target.pid_arg(), "-e", "--", "/usr/bin/env"]);

    assert_success(&outcome);
    assert_eq!(outcome.stdout, "", "program's environment");
    assert_no_stderr(&outcome);
}

#[test]
fn env_duplicate_name_last_wins() {
    require_root!();
    require_python!();
    let target = target_with_entries(&["A=first", "B=2", "A=last"]);

    let outcome = nsenter(&["-t", &target.pid_arg(), "-e", "--", "/usr/bin/env"]);

    assert_success(&outcome);
    assert_eq!(
        sorted_lines(&outcome.stdout),
        ["A=last", "B=2"],
        "program's environment"
    );
    assert_no_stderr(&outcome);
}

#[test]
fn env_path_from_target_used() {
    require_root!();
    let bin_dir = TempDir::new("env-path");
    write_script(&bin_dir.join("nsenter-env-probe"), "echo probe ran");
    let path_entry = format!("PATH={}", bin_dir.path_str());
    let target = Target::spawn(&["env", "-i", &path_entry, "/bin/sleep", "1000"]);

    let outcome = nsenter(&["-t", &target.pid_arg(), "-e", "--", "nsenter-env-probe"]);

    assert_success(&outcome);
    assert_eq!(outcome.stdout, "probe ran\n", "program's output");
    assert_no_stderr(&outcome);

    // Without -e the lookup uses our PATH, which lacks the directory.
    let control = nsenter(&["-t", &target.pid_arg(), "--", "nsenter-env-probe"]);
    assert_eq!(
        control.code(),
        Some(127),
        "exit status without -e; {control:?}"
    );
}

#[test]
fn env_duplicate_path_last_wins() {
    require_root!();
    require_python!();
    let bin_dir = TempDir::new("env-path-last");
    write_script(&bin_dir.join("nsenter-env-probe"), "echo last path");
    let first_path = "PATH=/nonexistent-nsenter-test-dir";
    let last_path = format!("PATH={}", bin_dir.path_str());
    let target = target_with_entries(&[first_path, &last_path]);

    let outcome = nsenter(&["-t", &target.pid_arg(), "-e", "--", "nsenter-env-probe"]);

    assert_success(&outcome);
    assert_eq!(outcome.stdout, "last path\n", "program's output");
    assert_no_stderr(&outcome);
}

/// With no program, `-e` runs the target's SHELL as a login shell. The
/// shell is dash under a name of our own, so its `$0` (argv[0]) shows both
/// where it came from and the login-shell `-` prefix.
#[test]
fn env_shell_from_target_login() {
    require_root!();
    let dir = TempDir::new("env-shell");
    let shell = dir.join("probe-shell");
    symlink("/bin/dash", &shell).expect("symlink the probe shell");
    let commands = dir.join("commands");
    fs::write(&commands, "echo \"$0\"\n").expect("write the shell's input");
    let shell_entry = format!("SHELL={}", shell.display());
    let target = Target::spawn(&[
        "env",
        "-i",
        &shell_entry,
        "PATH=/usr/bin:/bin",
        "/bin/sleep",
        "1000",
    ]);

    let mut command = nsenter_command(&["-t", &target.pid_arg(), "-e"]);
    command.stdin(File::open(&commands).expect("open the shell's input"));
    let outcome = run(&mut command);

    assert_success(&outcome);
    assert_eq!(outcome.stdout, "-probe-shell\n", "shell's argv[0]");
    assert_no_stderr(&outcome);
}

/// Asserts that nsenter rejected the target's environment with status 1,
/// no output and one `nsenter: ` line that names the environment and a
/// limit (a number other than the target's PID).
fn assert_environment_rejected(outcome: &Outcome, target: &Target) {
    assert_eq!(outcome.code(), Some(1), "exit status; {:?}", outcome.status);
    assert_eq!(outcome.stdout, "", "stdout must be empty (no program ran)");
    assert_eq!(
        outcome.stderr_lines().len(),
        1,
        "one stderr line: {}",
        outcome.stderr
    );
    assert!(
        outcome.stderr.starts_with("nsenter: "),
        "stderr prefix: {}",
        outcome.stderr
    );
    assert!(
        outcome.stderr.contains("environment"),
        "message names the environment: {}",
        outcome.stderr
    );
    let pid = target.pid_arg();
    let numbers: Vec<&str> = outcome
        .stderr
        .split(|c: char| !c.is_ascii_digit())
        .filter(|word| !word.is_empty() && *word != pid)
        .collect();
    assert!(
        !numbers.is_empty(),
        "message names the limit: {}",
        outcome.stderr
    );
}

/// An environment larger than nsenter's fixed buffer is an error that names
/// the limit, never a silently truncated environment.
#[test]
fn env_larger_than_buffer_rejected() {
    require_root!();
    require_python!();
    let target = Target::spawn(&[PYTHON, "-c", EXEC_SLEEP_WITH_HUGE_ENVIRONMENT]);

    let outcome = nsenter(&["-t", &target.pid_arg(), "-e", "--", "/usr/bin/env"]);

    assert_environment_rejected(&outcome, &target);
}

/// More variables than fit in nsenter's table of variable pointers is an
/// error too, even when their bytes fit in the buffer.
#[test]
fn env_too_many_variables_rejected() {
    require_root!();
    require_python!();
    let target = Target::spawn(&[PYTHON, "-c", EXEC_SLEEP_WITH_MANY_VARIABLES]);

    let outcome = nsenter(&["-t", &target.pid_arg(), "-e", "--", "/usr/bin/env"]);

    assert_environment_rejected(&outcome, &target);
}

/// A target whose SHELL is empty gets `/bin/sh`, still as a login shell.
#[test]
fn env_empty_shell_uses_bin_sh() {
    require_root!();
    let dir = TempDir::new("env-empty-shell");
    let commands = dir.join("commands");
    fs::write(&commands, "echo \"$0\"\n").expect("write the shell's input");
    let target = Target::spawn(&[
        "env",
        "-i",
        "SHELL=",
        "PATH=/usr/bin:/bin",
        "/bin/sleep",
        "1000",
    ]);

    let mut command = nsenter_command(&["-t", &target.pid_arg(), "-e"]);
    command.stdin(File::open(&commands).expect("open the shell's input"));
    let outcome = run(&mut command);

    assert_success(&outcome);
    assert_eq!(outcome.stdout, "-sh\n", "shell's argv[0]");
    assert_no_stderr(&outcome);
}
