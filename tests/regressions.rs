//! Regression tests for defects found by differential and hostile
//! testing against util-linux 2.38.1: each checks the fixed behaviour.

mod common;

use std::process::Command;

use common::{nsenter, nsenter_command, run, Target, TempDir};

/// Writes an executable file at `path` with `contents`.
fn write_executable(path: &std::path::Path, contents: &str) {
    common::write_executable(path, contents.as_bytes());
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

#[test]
fn setgroups_denied_not_fatal_unforced() {
    require_root!();
    // --map-root-user writes "deny" to the target's setgroups file.
    let target = Target::user_namespace(&[]);

    let outcome = nsenter(&[
        "-t",
        &target.pid_arg(),
        "-U",
        "--preserve-credentials",
        "-G",
        "0",
        "id",
        "-g",
    ]);

    assert_eq!(outcome.code(), Some(0), "{outcome:?}");
    assert_eq!(outcome.stdout, "0\n");
    assert_eq!(outcome.stderr, "");
}

#[test]
fn user_parent_without_target_rejected() {
    require_root!();
    let target = Target::user_namespace(&[]);
    let file = format!("--user=/proc/{}/ns/user", target.pid_arg());

    let outcome = nsenter(&["--user-parent", file.as_str(), "true"]);

    assert_eq!(outcome.code(), Some(1), "{outcome:?}");
    assert_eq!(
        outcome.stderr,
        "nsenter: --user-parent needs a target process: add --target PID\n"
    );
}

#[test]
fn realtime_signal_death_reraised() {
    use std::os::unix::process::ExitStatusExt;
    require_root!();
    let target = Target::unshare(&["--pid", "--fork"]);

    let outcome = nsenter(&[
        "-t",
        &target.pid_arg(),
        "-p",
        "--",
        "python3",
        "-c",
        "import os; os.kill(os.getpid(), 40)",
    ]);

    assert_eq!(outcome.status.signal(), Some(40), "{outcome:?}");
    assert_eq!(outcome.stderr, "");
}

/// Runs nsenter as the session leader of a new pseudo-terminal, then hangs
/// the terminal up: the kernel sends SIGHUP to the session leader alone.
const HANGUP_SCRIPT: &str = r#"
import os, pty, sys, time
binary, target = sys.argv[1], sys.argv[2]
pid, master = pty.fork()
if pid == 0:
    os.execv(binary, ["nsenter", "-t", target, "-p", "--", "sleep", "1000"])
deadline = time.time() + 10
children = []
while not children and time.time() < deadline:
    time.sleep(0.05)
    children = open(f"/proc/{pid}/task/{pid}/children").read().split()
os.close(master)
for _ in range(200):
    done, status = os.waitpid(pid, os.WNOHANG)
    if done:
        break
    time.sleep(0.05)
else:
    os.kill(pid, 9)
    os.waitpid(pid, 0)
    status = -1
alive = [c for c in children if os.path.exists(f"/proc/{c}")
         and open(f"/proc/{c}/stat").read().split()[2] != "Z"]
for c in alive:
    os.kill(int(c), 9)
print("status", status, "children", len(children), "alive", len(alive))
"#;

#[test]
fn hangup_reaches_program_from_leader() {
    require_root!();
    let target = Target::unshare(&["--pid", "--fork"]);
    let binary = common::nsenter_bin();

    let outcome = run(Command::new("python3").args([
        "-c",
        HANGUP_SCRIPT,
        binary.to_str().unwrap(),
        &target.pid_arg(),
    ]));

    assert_eq!(outcome.code(), Some(0), "{outcome:?}");
    // Wait status 1: killed by SIGHUP, after the program died of it too.
    assert_eq!(outcome.stdout, "status 1 children 1 alive 0\n");
}

#[test]
fn path_search_skips_script_without_sh() {
    // A root with no /bin/sh: the first PATH match is a script without
    // `#!`, which cannot run, so the search goes on to a real binary.
    let root = TempDir::new("nosh-root");
    std::fs::create_dir_all(root.join("bin")).unwrap();
    std::fs::create_dir_all(root.join("usr/bin")).unwrap();
    write_executable(&root.join("bin/prog"), "echo script\n");
    common::copy_executable(&common::nsenter_bin(), &root.join("usr/bin/prog"));
    let root_option = format!("-r{}", root.path_str());

    let mut command = nsenter_command(&[root_option.as_str(), "prog", "-V"]);
    command.env("PATH", "/bin:/usr/bin");
    let outcome = run(&mut command);

    assert_eq!(outcome.code(), Some(0), "{outcome:?}");
    assert!(outcome.stdout.starts_with("nsenter from"), "{outcome:?}");
    assert_eq!(outcome.stderr, "");
}

#[test]
fn script_without_sh_by_path_not_found() {
    let root = TempDir::new("nosh-path");
    std::fs::create_dir_all(root.join("bin")).unwrap();
    write_executable(&root.join("bin/prog"), "echo script\n");
    let root_option = format!("-r{}", root.path_str());

    let outcome = nsenter(&[root_option.as_str(), "/bin/prog"]);

    assert_eq!(outcome.code(), Some(127), "{outcome:?}");
    assert_eq!(
        outcome.stderr,
        "nsenter: failed to execute /bin/prog: No such file or directory\n"
    );
}

#[test]
fn equals_dropped_in_long_option_value() {
    let dir = TempDir::new("equals");
    std::fs::create_dir(dir.join("odd")).unwrap();

    let mut command = nsenter_command(&["--wd==odd", "pwd"]);
    command.current_dir(dir.path_str());
    let outcome = run(&mut command);

    assert_eq!(outcome.code(), Some(0), "{outcome:?}");
    assert!(outcome.stdout.ends_with("/odd\n"), "{outcome:?}");
}

#[test]
fn empty_path_entry_runs_bare_name() {
    let dir = TempDir::new("empty-path");
    write_executable(&dir.join("show0"), "#!/bin/sh\necho \"$0\"\n");

    let mut command = nsenter_command(&["show0"]);
    command
        .current_dir(dir.path_str())
        .env("PATH", ":/usr/bin:/bin");
    let outcome = run(&mut command);

    assert_eq!(outcome.code(), Some(0), "{outcome:?}");
    assert_eq!(outcome.stdout, "show0\n");
}

#[test]
fn env_empty_name_entries_skipped() {
    require_root!();
    // ctypes passes the entries to execve(2) as they are; os.execve
    // rejects the empty name.
    let script = "import ctypes\n\
        libc = ctypes.CDLL(None)\n\
        envp = (ctypes.c_char_p * 3)(b'=value', b'X=1', None)\n\
        argv = (ctypes.c_char_p * 3)(b'sleep', b'1000', None)\n\
        libc.execve(b'/bin/sleep', argv, envp)\n";
    let target = Target::spawn(&["python3", "-c", script]);

    let outcome = nsenter(&["-t", &target.pid_arg(), "-e", "/usr/bin/env"]);

    assert_eq!(outcome.code(), Some(0), "{outcome:?}");
    assert_eq!(outcome.stdout, "X=1\n");
}

#[test]
fn files_before_version_opened_first() {
    let outcome = nsenter(&["-m/nonexistent", "-V"]);

    assert_eq!(outcome.code(), Some(1), "{outcome:?}");
    assert_eq!(outcome.stdout, "");
    assert_eq!(
        outcome.stderr,
        "nsenter: cannot open /nonexistent: No such file or directory\n"
    );
}

#[test]
fn follow_context_without_target_or_selinux() {
    if std::path::Path::new("/sys/fs/selinux/enforce").exists() {
        eprintln!("skipped follow_context_without_target_or_selinux: SELinux is enabled");
        return;
    }

    let outcome = nsenter(&["-Z", "echo", "ran"]);

    assert_eq!(outcome.code(), Some(0), "{outcome:?}");
    assert_eq!(outcome.stdout, "ran\n");
    assert_eq!(
        outcome.stderr,
        "nsenter: SELinux is not enabled, so --follow-context has no effect\n"
    );
}

#[test]
fn fifo_namespace_file_fails_fast() {
    let dir = TempDir::new("fifo");
    let fifo = dir.join("fifo");
    let mkfifo = run(Command::new("mkfifo").arg(&fifo));
    assert_eq!(mkfifo.code(), Some(0), "mkfifo: {mkfifo:?}");
    let option = format!("--mount={}", fifo.display());

    let outcome = nsenter(&[option.as_str(), "true"]);

    assert_eq!(outcome.code(), Some(1), "{outcome:?}");
    assert_eq!(
        outcome.stderr,
        "nsenter: reassociate to namespace 'ns/mnt' failed: Invalid argument\n"
    );
}
