//! The forking parent (it forks because the PID namespace only applies to
//! children) forwards SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1 and
//! SIGUSR2 to the program, so killing nsenter does not orphan it, and
//! nsenter's exit status still reflects the program's.
//!
//! Targets are PID 1 of a new PID namespace, so dropping the target kills
//! every process that nsenter started in it.

mod common;

use common::{children_of, command_name, nsenter_command, send_signal, Target};
use std::fs;
use std::io::{BufRead, BufReader, Read};
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::process::{Child, ExitStatus, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

/// Maximum time nsenter and its program may take to start or to react to
/// a signal.
const REACTION_TIMEOUT: Duration = Duration::from_secs(10);

/// The forwarded signals, by number and by the name `trap` uses.
const FORWARDED_SIGNALS: [(i32, &str); 6] = [
    (2, "INT"),
    (15, "TERM"),
    (1, "HUP"),
    (3, "QUIT"),
    (10, "USR1"),
    (12, "USR2"),
];

/// Maximum time stderr may stay open after nsenter exited.
const STDERR_CLOSE_TIMEOUT: Duration = Duration::from_secs(2);

const SIGINT: i32 = 2;
const SIGQUIT: i32 = 3;
const SIGTERM: i32 = 15;

/// The `SIG_DFL` handler value of signal(2).
const SIG_DFL: usize = 0;

extern "C" {
    fn signal(signum: i32, handler: usize) -> usize;
}

/// An nsenter process started by a test, killed by PID and reaped on drop.
struct RunningNsenter {
    child: Child,
    stdout_lines: mpsc::Receiver<String>,
    /// Receives all of stderr once the pipe closes.
    stderr_text: mpsc::Receiver<String>,
}

impl RunningNsenter {
    fn spawn(args: &[&str]) -> RunningNsenter {
        let mut command = nsenter_command(args);
        // A test run started in the background of a non-interactive shell
        // inherits SIGINT and SIGQUIT ignored, and a shell cannot trap a
        // signal that was ignored when it started.
        // SAFETY: signal(2) is async-signal-safe and touches no memory of
        // the parent.
        unsafe {
            command.pre_exec(|| {
                signal(SIGINT, SIG_DFL);
                signal(SIGQUIT, SIG_DFL);
                Ok(())
            });
        }
        let mut child = command
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn nsenter");

        // Both pipes are read on threads: when nsenter fails to forward a
        // signal, the orphaned program keeps them open, and the test must
        // still end with a message instead of blocking on a read.
        let stdout = child.stdout.take().expect("stdout is piped");
        let (line_sender, stdout_lines) = mpsc::channel();
        thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if line_sender.send(line).is_err() {
                    break;
                }
            }
        });
        let mut stderr = child.stderr.take().expect("stderr is piped");
        let (text_sender, stderr_text) = mpsc::channel();
        thread::spawn(move || {
            let mut text = String::new();
            let _ = stderr.read_to_string(&mut text);
            let _ = text_sender.send(text);
        });

        RunningNsenter {
            child,
            stdout_lines,
            stderr_text,
        }
    }

    fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Returns the next line of stdout, panicking after `REACTION_TIMEOUT`.
    fn next_line(&mut self, waiting_for: &str) -> String {
        match self.stdout_lines.recv_timeout(REACTION_TIMEOUT) {
            Ok(line) => line,
            Err(error) => {
                let _ = self.child.kill();
                panic!(
                    "no stdout line ({waiting_for}) from nsenter: {error}; stderr: {}",
                    self.stderr()
                );
            }
        }
    }

    /// Waits for nsenter to exit, panicking after `REACTION_TIMEOUT`.
    fn wait(&mut self) -> ExitStatus {
        let deadline = Instant::now() + REACTION_TIMEOUT;
        loop {
            if let Some(status) = self.child.try_wait().expect("wait for nsenter") {
                return status;
            }
            if Instant::now() >= deadline {
                let _ = self.child.kill();
                panic!(
                    "nsenter did not exit within {REACTION_TIMEOUT:?}; stderr: {}",
                    self.stderr()
                );
            }
            thread::sleep(Duration::from_millis(5));
        }
    }

    /// Returns all of stderr, or a note when a process still has the
    /// pipe open after `STDERR_CLOSE_TIMEOUT`.
    fn stderr(&mut self) -> String {
        self.stderr_text
            .recv_timeout(STDERR_CLOSE_TIMEOUT)
            .unwrap_or_else(|_| "(stderr still open: a process outlived nsenter)".to_string())
    }
}

impl Drop for RunningNsenter {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Returns true when `pid` has exited: it is gone or a zombie.
fn has_exited(pid: u32) -> bool {
    match fs::read_to_string(format!("/proc/{pid}/stat")) {
        Err(_) => true,
        Ok(stat) => {
            // The state is the first field after the parenthesised name.
            let after_name = stat.rfind(')').map(|end| &stat[end + 1..]).unwrap_or("");
            after_name.split_whitespace().next() == Some("Z")
        }
    }
}

/// Waits until nsenter's child (the program) has exec'd `name`, and
/// returns its PID.
fn wait_for_program(nsenter_pid: u32, name: &str) -> u32 {
    let deadline = Instant::now() + REACTION_TIMEOUT;
    loop {
        let program = children_of(nsenter_pid)
            .into_iter()
            .find(|&child| command_name(child).as_deref() == Some(name));
        if let Some(pid) = program {
            return pid;
        }
        assert!(
            Instant::now() < deadline,
            "nsenter {nsenter_pid} did not start {name} within {REACTION_TIMEOUT:?}"
        );
        thread::sleep(Duration::from_millis(5));
    }
}

/// Each forwarded signal reaches a program that traps it: the program
/// reports it and exits 7, and nsenter exits 7 too.
#[test]
fn signal_forwarded_to_trapping_program() {
    require_root!();
    let target = Target::unshare(&["--pid", "--fork"]);
    // The background sleep gets no stdout or stderr and is killed by the
    // trap, so reading nsenter's pipes to the end cannot wait on it.
    let script = r#"
for name in INT TERM HUP QUIT USR1 USR2; do
    trap "echo got $name; kill \$! 2>/dev/null; exit 7" $name
done
echo ready
sleep 1000 >/dev/null 2>&1 &
wait
"#;

    for (signal, name) in FORWARDED_SIGNALS {
        let mut nsenter =
            RunningNsenter::spawn(&["-t", &target.pid_arg(), "-p", "--", "sh", "-c", script]);
        assert_eq!(
            nsenter.next_line("the program's ready line"),
            "ready",
            "program's first line"
        );

        assert!(
            send_signal(nsenter.pid(), signal),
            "send SIG{name} to nsenter"
        );

        assert_eq!(
            nsenter.next_line("the trap's line"),
            format!("got {name}"),
            "program's trap output"
        );
        let status = nsenter.wait();
        assert_eq!(
            status.code(),
            Some(7),
            "nsenter's exit status after SIG{name}"
        );
        assert_eq!(nsenter.stderr(), "", "nsenter's stderr after SIG{name}");
    }
}

/// A program without a handler dies of the forwarded SIGTERM, and nsenter
/// then kills itself with the same signal. Without forwarding, SIGTERM
/// would kill only nsenter and leave `sleep` running.
#[test]
fn signal_term_kills_program_and_nsenter() {
    require_root!();
    let target = Target::unshare(&["--pid", "--fork"]);
    let mut nsenter =
        RunningNsenter::spawn(&["-t", &target.pid_arg(), "-p", "--", "sleep", "1000"]);
    let program = wait_for_program(nsenter.pid(), "sleep");

    assert!(
        send_signal(nsenter.pid(), SIGTERM),
        "send SIGTERM to nsenter"
    );

    let status = nsenter.wait();
    assert_eq!(
        status.signal(),
        Some(SIGTERM),
        "nsenter's termination signal: {status}"
    );
    let deadline = Instant::now() + REACTION_TIMEOUT;
    while !has_exited(program) && Instant::now() < deadline {
        thread::sleep(Duration::from_millis(5));
    }
    assert!(
        has_exited(program),
        "the program {program} outlived nsenter"
    );
    assert_eq!(nsenter.stderr(), "", "nsenter's stderr");
}

/// Every forwarded signal, with no handler in the program, ends both the
/// program and nsenter with that signal. SIGQUIT would dump core, which
/// the default of this machine may write, so it is left to the test above.
#[test]
fn signal_forwarded_without_handler() {
    require_root!();
    let target = Target::unshare(&["--pid", "--fork"]);

    for (signal, name) in FORWARDED_SIGNALS
        .into_iter()
        .filter(|&(_, name)| name != "QUIT")
    {
        let mut nsenter =
            RunningNsenter::spawn(&["-t", &target.pid_arg(), "-p", "--", "sleep", "1000"]);
        let program = wait_for_program(nsenter.pid(), "sleep");

        assert!(
            send_signal(nsenter.pid(), signal),
            "send SIG{name} to nsenter"
        );

        let status = nsenter.wait();
        assert_eq!(
            status.signal(),
            Some(signal),
            "nsenter's termination signal after SIG{name}: {status}"
        );
        let deadline = Instant::now() + REACTION_TIMEOUT;
        while !has_exited(program) && Instant::now() < deadline {
            thread::sleep(Duration::from_millis(5));
        }
        assert!(
            has_exited(program),
            "the program {program} outlived nsenter after SIG{name}"
        );
    }
}

/// nsenter only forwards: a program that ignores SIGTERM keeps running,
/// and nsenter exits with the program's own status instead of dying.
#[test]
fn signal_ignored_by_program_keeps_status() {
    require_root!();
    let target = Target::unshare(&["--pid", "--fork"]);
    // `sleep` inherits the ignored SIGTERM, so the pause survives it too.
    let script = "trap '' TERM; echo ready; sleep 0.3; echo done; exit 3";
    let mut nsenter =
        RunningNsenter::spawn(&["-t", &target.pid_arg(), "-p", "--", "sh", "-c", script]);
    assert_eq!(
        nsenter.next_line("the program's ready line"),
        "ready",
        "program's first line"
    );

    assert!(
        send_signal(nsenter.pid(), SIGTERM),
        "send SIGTERM to nsenter"
    );

    assert_eq!(
        nsenter.next_line("the program's last line"),
        "done",
        "program's last line"
    );
    let status = nsenter.wait();
    assert_eq!(status.code(), Some(3), "nsenter's exit status: {status}");
    assert_eq!(nsenter.stderr(), "", "nsenter's stderr");
}
