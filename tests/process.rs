//! The program's process: exit status passthrough, death by signal, stop
//! and continue propagation, the fork for the PID namespace, `-F`, exit
//! statuses 126 and 127, the default login shell and the PATH search.

mod common;

use common::{
    assert_no_stderr, assert_success, nsenter, nsenter_bin, nsenter_command, own_ns, run,
    send_signal, Target, TempDir,
};
use std::fs;
use std::io::Read;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::process::{Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

const SIGTERM: i32 = 15;
const SIGUSR1: i32 = 10;
const SIGCONT: i32 = 18;
const SIGCHLD: i32 = 17;
const SIG_IGN: usize = 1;

extern "C" {
    fn signal(signum: i32, handler: usize) -> usize;
}

/// Writes an executable shell script `name` with `body` into `dir`.
fn write_script(dir: &TempDir, name: &str, body: &str) -> String {
    let path = dir.join(name);
    common::write_executable(&path, format!("#!/bin/sh\n{body}\n").as_bytes());
    path.to_str().expect("UTF-8 path").to_string()
}

/// Runs nsenter with `args` and returns the PID it ran as with its stdout.
fn run_and_report_pid(args: &[&str]) -> (u32, common::Outcome) {
    let mut command = nsenter_command(args);
    command.stdout(Stdio::piped()).stderr(Stdio::piped());
    let child = command.spawn().expect("spawn nsenter");
    let pid = child.id();
    let output = child.wait_with_output().expect("wait for nsenter");
    let outcome = common::Outcome {
        status: output.status,
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    };
    (pid, outcome)
}

/// Returns the state letter of `/proc/PID/stat` (`T` when stopped).
fn process_state(pid: u32) -> Option<char> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    stat[stat.rfind(')')? + 1..].trim_start().chars().next()
}

fn wait_for_state(pid: u32, state: char) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while process_state(pid) != Some(state) {
        let current = process_state(pid);
        assert!(
            current.is_some() && current != Some('Z'),
            "process {pid} exited while waiting for state {state}"
        );
        assert!(
            Instant::now() < deadline,
            "process {pid} did not reach state {state} within 10 s"
        );
        thread::sleep(Duration::from_millis(5));
    }
}

#[test]
fn exit_status_passed_through() {
    require_root!();
    let target = Target::unshare(&["--uts"]);
    let pid = target.pid_arg();

    let outcome = nsenter(&["-t", &pid, "-u", "sh", "-c", "exit 42"]);

    assert_eq!(outcome.code(), Some(42), "exit status; {outcome:?}");
    assert_eq!(outcome.stdout, "");
    assert_no_stderr(&outcome);
}

#[test]
fn exit_statuses_zero_to_255() {
    require_root!();
    // Each status goes through the exec'd program (uts only) and through
    // the forking parent (pid).
    let target = Target::unshare(&["--uts", "--pid", "--fork"]);
    let pid = target.pid_arg();

    for status in [0, 1, 2, 126, 127, 128, 255] {
        for namespace_option in ["-u", "-p"] {
            let script = format!("exit {status}");

            let outcome = nsenter(&["-t", &pid, namespace_option, "sh", "-c", &script]);

            assert_eq!(
                outcome.code(),
                Some(status),
                "exit status with {namespace_option}; {outcome:?}"
            );
            assert_eq!(outcome.stdout, "");
            assert_no_stderr(&outcome);
        }
    }
}

#[test]
fn ignored_sigchld_still_reports_status() {
    require_root!();
    // An ignored SIGCHLD is inherited across exec and makes the kernel reap
    // children at once, so the forking parent must reset it to default
    // before the fork to see the child's status.
    let target = Target::unshare(&["--pid", "--fork"]);
    let mut command = nsenter_command(&[
        "-t",
        &target.pid_arg(),
        "-p",
        "sh",
        "-c",
        "echo out; exit 42",
    ]);
    // SAFETY: the closure runs in the forked child before exec and only
    // calls signal, which is async-signal-safe.
    unsafe {
        command.pre_exec(|| {
            signal(SIGCHLD, SIG_IGN);
            Ok(())
        });
    }

    let outcome = run(&mut command);

    assert_eq!(outcome.code(), Some(42), "exit status; {outcome:?}");
    assert_eq!(outcome.stdout, "out\n");
    assert_no_stderr(&outcome);
}

#[test]
fn sigkill_death_reraised_by_parent() {
    require_root!();
    let target = Target::unshare(&["--pid", "--fork"]);
    let pid = target.pid_arg();

    let outcome = nsenter(&["-t", &pid, "-p", "sh", "-c", "kill -KILL $$"]);

    assert_eq!(outcome.code(), None, "no exit code; {outcome:?}");
    assert_eq!(
        outcome.signal(),
        Some(common::SIGKILL),
        "killed by the child's signal; {outcome:?}"
    );
    assert_eq!(outcome.stdout, "");
    assert_no_stderr(&outcome);
}

#[test]
fn exit_status_through_forking_parent() {
    require_root!();
    let target = Target::unshare(&["--pid", "--fork"]);
    let pid = target.pid_arg();

    let outcome = nsenter(&["-t", &pid, "-p", "sh", "-c", "echo out; exit 42"]);

    assert_eq!(outcome.code(), Some(42), "exit status; {outcome:?}");
    assert_eq!(outcome.stdout, "out\n");
    assert_no_stderr(&outcome);
}

#[test]
fn signal_death_reraised_by_parent() {
    require_root!();
    let target = Target::unshare(&["--pid", "--fork"]);
    let pid = target.pid_arg();

    let outcome = nsenter(&["-t", &pid, "-p", "sh", "-c", "kill -TERM $$"]);

    assert_eq!(outcome.code(), None, "no exit code; {outcome:?}");
    assert_eq!(
        outcome.signal(),
        Some(SIGTERM),
        "killed by the child's signal; {outcome:?}"
    );
    assert_eq!(outcome.stdout, "");
    assert_no_stderr(&outcome);
}

#[test]
fn signal_death_seen_by_shell() {
    require_root!();
    let target = Target::unshare(&["--pid", "--fork"]);
    let script = format!(
        "{} -t {} -p sh -c 'kill -USR1 $$'; echo $?",
        nsenter_bin().display(),
        target.pid
    );

    let outcome = run(Command::new("sh")
        .args(["-c", &script])
        .stdin(Stdio::null()));

    assert_success(&outcome);
    assert_eq!(
        outcome.stdout,
        format!("{}\n", 128 + SIGUSR1),
        "status the shell saw"
    );
    // The shell may name the signal on stderr (dash prints "User defined
    // signal 1"), but nsenter itself reports nothing.
    assert!(
        !outcome.stderr.contains("nsenter"),
        "stderr: {:?}",
        outcome.stderr
    );
}

#[test]
fn stop_and_continue_propagated() {
    require_root!();
    let target = Target::unshare(&["--pid", "--fork"]);
    let pid = target.pid_arg();
    let mut command =
        nsenter_command(&["-t", &pid, "-p", "sh", "-c", "kill -STOP $$; echo resumed"]);
    command.stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut child = command.spawn().expect("spawn nsenter");
    let nsenter_pid = child.id();

    // The child stops itself, then the forking parent stops too.
    wait_for_state(nsenter_pid, 'T');
    let program_pid = common::children_of(nsenter_pid);
    assert_eq!(
        program_pid.len(),
        1,
        "nsenter has one child: {program_pid:?}"
    );
    assert_eq!(
        process_state(program_pid[0]),
        Some('T'),
        "the program is stopped"
    );

    // Continuing the parent continues the child, which then finishes.
    assert!(send_signal(nsenter_pid, SIGCONT));
    let deadline = Instant::now() + Duration::from_secs(10);
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait for nsenter") {
            break status;
        }
        if Instant::now() >= deadline {
            common::kill_pid(program_pid[0]);
            let _ = child.kill();
            let _ = child.wait();
            panic!("nsenter did not finish within 10 s after SIGCONT");
        }
        thread::sleep(Duration::from_millis(5));
    };
    let mut stdout = String::new();
    child
        .stdout
        .take()
        .expect("piped")
        .read_to_string(&mut stdout)
        .expect("read stdout");
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .expect("piped")
        .read_to_string(&mut stderr)
        .expect("read stderr");

    assert_eq!(
        status.code(),
        Some(0),
        "exit status {status:?}, signal {:?}",
        status.signal()
    );
    assert_eq!(stdout, "resumed\n");
    assert_eq!(stderr, "");
}

#[test]
fn pid_namespace_program_sees_target() {
    require_root!();
    let target = Target::unshare(&["--pid", "--fork", "--mount-proc"]);
    let pid = target.pid_arg();

    let outcome = nsenter(&[
        "-t",
        &pid,
        "-p",
        "-m",
        "sh",
        "-c",
        "readlink /proc/self/ns/pid; cat /proc/1/comm",
    ]);

    assert_success(&outcome);
    let expected = format!("{}\nsleep\n", target.ns("pid"));
    assert_eq!(outcome.stdout, expected, "own PID namespace and its PID 1");
    assert_no_stderr(&outcome);
}

#[test]
fn fork_only_for_pid_namespace() {
    require_root!();
    let target = Target::unshare(&["--pid", "--fork", "--uts", "--time"]);
    let pid = target.pid_arg();

    // Without a PID namespace the program replaces nsenter: same PID.
    let (uts_pid, uts_outcome) = run_and_report_pid(&["-t", &pid, "-u", "sh", "-c", "echo $$"]);
    assert_success(&uts_outcome);
    assert_eq!(
        uts_outcome.stdout,
        format!("{uts_pid}\n"),
        "the uts program runs as nsenter's PID"
    );
    assert_no_stderr(&uts_outcome);

    // The time namespace switches the caller itself: no fork either.
    let (time_pid, time_outcome) = run_and_report_pid(&["-t", &pid, "-T", "sh", "-c", "echo $$"]);
    assert_success(&time_outcome);
    assert_eq!(
        time_outcome.stdout,
        format!("{time_pid}\n"),
        "the time program runs as nsenter's PID"
    );
    assert_no_stderr(&time_outcome);

    // With the PID namespace a child runs the program, with a PID from that
    // namespace (1 is the target, so the program gets a larger one).
    let (pid_pid, pid_outcome) = run_and_report_pid(&["-t", &pid, "-p", "sh", "-c", "echo $$"]);
    assert_success(&pid_outcome);
    let inner: u32 = pid_outcome.stdout.trim_end().parse().expect("a PID");
    assert_ne!(
        inner, pid_pid,
        "the program is a child with a namespace PID"
    );
    assert!(inner > 1, "PID 1 of the namespace is the target");
    assert_no_stderr(&pid_outcome);
}

#[test]
fn no_fork_keeps_pid_namespace() {
    require_root!();
    // With -F the exec'd program keeps our PID namespace, and only its
    // children would be in the target's.
    let target = Target::unshare(&["--pid", "--fork"]);
    let pid = target.pid_arg();

    let (nsenter_pid, outcome) = run_and_report_pid(&[
        "-F",
        "-t",
        &pid,
        "-p",
        "sh",
        "-c",
        "echo $$; readlink /proc/$$/ns/pid /proc/$$/ns/pid_for_children",
    ]);

    assert_success(&outcome);
    let expected = format!("{nsenter_pid}\n{}\n{}\n", own_ns("pid"), target.ns("pid"));
    assert_eq!(
        outcome.stdout, expected,
        "PID, PID namespace and PID namespace for children"
    );
    assert_no_stderr(&outcome);
}

#[test]
fn not_executable_exits_126() {
    require_root!();
    let target = Target::unshare(&["--uts"]);
    let pid = target.pid_arg();
    let dir = TempDir::new("noexec");
    let file = dir.join("not-executable");
    fs::write(&file, "#!/bin/sh\necho never\n").expect("write file");
    let file = file.to_str().expect("UTF-8 path");

    let outcome = nsenter(&["-t", &pid, "-u", file]);

    assert_eq!(outcome.code(), Some(126), "exit status; {outcome:?}");
    assert_eq!(outcome.stdout, "");
    assert_eq!(
        outcome.stderr,
        format!("nsenter: failed to execute {file}: Permission denied\n")
    );
}

#[test]
fn not_found_exits_127() {
    require_root!();
    let target = Target::unshare(&["--uts"]);
    let pid = target.pid_arg();

    let outcome = nsenter(&["-t", &pid, "-u", "nsenter-test-no-such-program"]);

    assert_eq!(outcome.code(), Some(127), "exit status; {outcome:?}");
    assert_eq!(outcome.stdout, "");
    assert_eq!(
        outcome.stderr,
        "nsenter: failed to execute nsenter-test-no-such-program: No such file or directory\n"
    );
}

#[test]
fn not_found_after_fork_exits_127() {
    require_root!();
    let target = Target::unshare(&["--pid", "--fork"]);
    let pid = target.pid_arg();

    let outcome = nsenter(&["-t", &pid, "-p", "/nonexistent/program"]);

    assert_eq!(outcome.code(), Some(127), "exit status; {outcome:?}");
    assert_eq!(outcome.stdout, "");
    assert_eq!(
        outcome.stderr,
        "nsenter: failed to execute /nonexistent/program: No such file or directory\n"
    );
}

/// Runs nsenter with no program, SHELL set to `shell` (removed when
/// `None`), HOME in an empty temp dir and `echo $0` on stdin.
fn run_default_shell(shell: Option<&str>) -> common::Outcome {
    let target = Target::unshare(&["--uts"]);
    let home = TempDir::new("home");
    let input = home.join("input");
    fs::write(&input, "echo $0\n").expect("write shell input");
    let mut command = Command::new(nsenter_bin());
    command
        .args(["-t", &target.pid_arg(), "-u"])
        .env("HOME", home.path_str())
        .env_remove("ENV")
        .current_dir(&home.path)
        .stdin(fs::File::open(&input).expect("open shell input"));
    match shell {
        Some(value) => command.env("SHELL", value),
        None => command.env_remove("SHELL"),
    };
    run(&mut command)
}

#[test]
fn default_shell_from_shell_variable() {
    require_root!();
    // A copy of sh under another name shows that argv[0] is `-` followed
    // by the basename of $SHELL.
    let dir = TempDir::new("shell");
    let shell = dir.join("test-shell");
    common::copy_executable(std::path::Path::new("/bin/sh"), &shell);

    let outcome = run_default_shell(Some(shell.to_str().expect("UTF-8 path")));

    assert_success(&outcome);
    assert_eq!(
        outcome.stdout, "-test-shell\n",
        "argv[0] of the login shell"
    );
    assert_no_stderr(&outcome);
}

#[test]
fn default_shell_unset_is_bin_sh() {
    require_root!();
    let outcome = run_default_shell(None);

    assert_success(&outcome);
    assert_eq!(outcome.stdout, "-sh\n", "argv[0] of the login shell");
    assert_no_stderr(&outcome);
}

#[test]
fn default_shell_empty_is_bin_sh() {
    require_root!();
    if common::testing_reference() {
        eprintln!("skipped: util-linux 2.38 tries to execute an empty $SHELL");
        return;
    }
    let outcome = run_default_shell(Some(""));

    assert_success(&outcome);
    assert_eq!(outcome.stdout, "-sh\n", "argv[0] of the login shell");
    assert_no_stderr(&outcome);
}

#[test]
fn default_shell_no_path_search() {
    require_root!();
    // SHELL=sh names no path, and the shell is run without a PATH search,
    // so it is not found (the cwd is an empty temp dir).
    let outcome = run_default_shell(Some("sh"));

    assert_eq!(outcome.code(), Some(127), "exit status; {outcome:?}");
    assert_eq!(outcome.stdout, "");
    assert_eq!(
        outcome.stderr,
        "nsenter: failed to execute sh: No such file or directory\n"
    );
}

#[test]
fn path_search_finds_program() {
    require_root!();
    let target = Target::unshare(&["--uts"]);
    let dir = TempDir::new("path");
    write_script(&dir, "nsenter-test-program", "echo found \"$@\"");
    let path = format!("{}:/usr/bin:/bin", dir.path_str());

    let outcome = run(nsenter_command(&[
        "-t",
        &target.pid_arg(),
        "-u",
        "nsenter-test-program",
        "-x",
        "--y",
    ])
    .env("PATH", &path));

    assert_success(&outcome);
    assert_eq!(
        outcome.stdout, "found -x --y\n",
        "the program and its own options"
    );
    assert_no_stderr(&outcome);
}

#[test]
fn path_search_skips_non_executable() {
    require_root!();
    // execvp semantics: a match that cannot be executed is skipped and the
    // search goes on to the next PATH entry.
    let target = Target::unshare(&["--uts"]);
    let first = TempDir::new("path-first");
    let second = TempDir::new("path-second");
    fs::write(
        first.join("nsenter-test-program"),
        "#!/bin/sh\necho first\n",
    )
    .expect("write file");
    write_script(&second, "nsenter-test-program", "echo second");
    let path = format!("{}:{}:/usr/bin:/bin", first.path_str(), second.path_str());

    let outcome = run(
        nsenter_command(&["-t", &target.pid_arg(), "-u", "nsenter-test-program"])
            .env("PATH", &path),
    );

    assert_success(&outcome);
    assert_eq!(outcome.stdout, "second\n");
    assert_no_stderr(&outcome);
}

#[test]
fn path_search_only_non_executable_126() {
    require_root!();
    let target = Target::unshare(&["--uts"]);
    let dir = TempDir::new("path-noexec");
    fs::write(dir.join("nsenter-test-program"), "#!/bin/sh\necho never\n").expect("write file");
    let path = format!("{}:/usr/bin:/bin", dir.path_str());

    let outcome = run(
        nsenter_command(&["-t", &target.pid_arg(), "-u", "nsenter-test-program"])
            .env("PATH", &path),
    );

    assert_eq!(outcome.code(), Some(126), "exit status; {outcome:?}");
    assert_eq!(outcome.stdout, "");
    assert_eq!(
        outcome.stderr,
        "nsenter: failed to execute nsenter-test-program: Permission denied\n"
    );
}
