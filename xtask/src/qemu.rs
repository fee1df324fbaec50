//! `cargo xtask qemu`: boots the guest to an interactive shell, and runs the guest suite for `test`.
//!
//! The guest is Debian's amd64 kernel with the initramfs of `initramfs.rs`. Its init (qemu/init)
//! reads `nsenter.mode=` from the kernel command line: `shell` starts a busybox shell on the
//! serial console, `test` runs qemu/tests.sh and powers off.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{ChildStdout, Command, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};

use crate::{cmd, debs, initramfs};

const QEMU: &str = "qemu-system-x86_64";
const QEMU_PACKAGE: &str = "qemu-system-x86";

/// The host-side limit on one run of the guest suite, boot included.
const DEFAULT_SUITE_TIMEOUT: Duration = Duration::from_secs(300);

/// Options of the commands that boot the guest.
pub struct Options {
    /// Use KVM instead of TCG. Off by default because a nested KVM guest hangs in early boot on
    /// some hosts.
    pub kvm: bool,
    /// Wall-time limit for the guest suite, after which xtask kills QEMU.
    pub timeout: Duration,
}

impl Options {
    /// Parses `--kvm` and, when `allow_timeout` is set, `--timeout SECS`.
    pub fn parse(args: &[String], allow_timeout: bool) -> Result<Options> {
        let mut options = Options {
            kvm: false,
            timeout: DEFAULT_SUITE_TIMEOUT,
        };
        let mut args = args.iter();
        while let Some(arg) = args.next() {
            match arg.as_str() {
                "--kvm" => options.kvm = true,
                "--timeout" if allow_timeout => {
                    let value = args.next().context("--timeout needs a number of seconds")?;
                    let seconds: u64 = value.parse().with_context(|| {
                        format!("invalid --timeout '{value}': expected whole seconds")
                    })?;
                    options.timeout = Duration::from_secs(seconds);
                }
                other => bail!("unknown option '{other}'"),
            }
        }
        Ok(options)
    }
}

pub fn run(args: &[String]) -> Result<()> {
    let options = Options::parse(args, false)?;
    let qemu = ensure_qemu()?;
    let kernel = debs::kernel()?;
    let initramfs = initramfs::build_image()?;
    eprintln!("booting the guest shell: leave it with 'poweroff -f', or Ctrl-A then x");
    let mut command = qemu_command(&qemu, &kernel, &initramfs, "shell", options.kvm);
    // mon:stdio multiplexes the serial console and the QEMU monitor on the terminal, so Ctrl-A x
    // quits and Ctrl-A c opens the monitor.
    command.args(["-serial", "mon:stdio"]);
    cmd::run(&mut command)
}

/// Returns the path of qemu-system-x86_64, installing the Debian package as root when missing.
pub fn ensure_qemu() -> Result<PathBuf> {
    if let Some(path) = cmd::find_in_path(QEMU) {
        return Ok(path);
    }
    if !cmd::is_root() {
        bail!("{QEMU} not found: install the Debian package {QEMU_PACKAGE} ('sudo apt-get install {QEMU_PACKAGE}')");
    }
    eprintln!("{QEMU} not found: installing the Debian package {QEMU_PACKAGE}");
    let install = || {
        cmd::run(
            Command::new("apt-get")
                .args(["install", "-y", "--no-install-recommends", QEMU_PACKAGE])
                .env("DEBIAN_FRONTEND", "noninteractive"),
        )
    };
    if install().is_err() {
        // A fresh machine may have empty or stale package lists.
        debs::update_package_lists()?;
        install().with_context(|| {
            format!("cannot install {QEMU_PACKAGE}: run 'apt-get install {QEMU_PACKAGE}'")
        })?;
    }
    cmd::find_in_path(QEMU)
        .with_context(|| format!("{QEMU_PACKAGE} is installed but {QEMU} is not on PATH"))
}

/// Builds the QEMU command line shared by the shell and the suite; the caller adds the serial port.
fn qemu_command(qemu: &Path, kernel: &Path, initramfs: &Path, mode: &str, kvm: bool) -> Command {
    let mut command = Command::new(qemu);
    // console=ttyS0: the serial port is the only console (the 8250 driver is built into Debian's
    // kernel). quiet: no kernel log lines between the test lines. panic=-1: a kernel panic
    // reboots at once, which -no-reboot turns into QEMU's exit.
    let append = format!("console=ttyS0 quiet panic=-1 nsenter.mode={mode}");
    command
        .arg("-kernel")
        .arg(kernel)
        .arg("-initrd")
        .arg(initramfs)
        .args(["-append", &append])
        // No default NIC, VGA, floppy or parallel port, since the guest uses none, and no
        // host-wide QEMU configuration file that could add devices.
        .args(["-nodefaults", "-no-user-config"])
        // Ends QEMU when the guest reboots or powers off instead of booting it again.
        .arg("-no-reboot")
        // No window: the serial port is the guest's only input and output.
        .args(["-display", "none"])
        // The initramfs (about 2.5 MiB) is unpacked into RAM, and the suite runs one command at a
        // time, so a small machine with one CPU is enough.
        .args(["-m", "512M", "-smp", "1"]);
    if kvm {
        // Only on request: a nested KVM guest hangs after "Probing EDD" on some hosts, and
        // `-cpu host` aborts on an MSR there, so the default CPU model stays.
        command.args(["-accel", "kvm"]);
    } else {
        command.args(["-accel", "tcg"]);
    }
    command
}

/// The counts and failure lines of one guest suite run.
#[derive(Debug)]
pub struct GuestReport {
    pub passed: u64,
    pub failed: u64,
    /// The guest's `GUEST-TEST FAIL` lines and the host's reasons (panic, timeout, no summary).
    pub failures: Vec<String>,
}

/// Boots the guest in test mode and collects the `GUEST-TEST` and `GUEST-SUMMARY` lines.
pub fn run_suite(options: &Options, initramfs: &Path) -> Result<GuestReport> {
    let qemu = ensure_qemu()?;
    let kernel = debs::kernel()?;
    let mut command = qemu_command(&qemu, &kernel, initramfs, "test", options.kvm);
    // The serial port on stdout is how the host reads the results; the monitor is not needed.
    command
        .args(["-serial", "stdio", "-monitor", "none"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped());
    let line = cmd::display(&command);
    eprintln!("$ {line}");
    let started = Instant::now();
    let mut child = command
        .spawn()
        .with_context(|| format!("cannot run `{line}`"))?;
    let stdout = child.stdout.take().context("QEMU's stdout is not piped")?;
    let lines = read_lines(stdout);

    let deadline = started + options.timeout;
    let mut console = Console::default();
    let timed_out = loop {
        let remaining = deadline.saturating_duration_since(Instant::now());
        match lines.recv_timeout(remaining) {
            Ok(text) => {
                eprintln!("guest| {text}");
                if text.starts_with("GUEST-INIT ") {
                    let seconds = started.elapsed().as_secs_f64();
                    eprintln!("guest init started {seconds:.1} s after QEMU");
                }
                console.read_line(&text);
            }
            Err(RecvTimeoutError::Disconnected) => break false,
            Err(RecvTimeoutError::Timeout) => break true,
        }
    };

    if timed_out {
        // The child is the QEMU process started above, so killing it by its PID is safe.
        let _ = child.kill();
    }
    let status = child.wait().context("cannot wait for QEMU")?;
    let seconds = started.elapsed().as_secs_f64();
    eprintln!("guest suite took {seconds:.1} s; QEMU {status}");
    Ok(console.into_report(timed_out.then_some(options.timeout)))
}

/// Sends each line of `stdout`, without its line ending, from a thread of its own.
fn read_lines(stdout: ChildStdout) -> Receiver<String> {
    let (sender, receiver) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).split(b'\n') {
            let Ok(line) = line else { break };
            let text = String::from_utf8_lossy(&line);
            if sender
                .send(text.trim_end_matches('\r').to_string())
                .is_err()
            {
                break;
            }
        }
    });
    receiver
}

/// The results read so far from the guest's serial console.
#[derive(Default)]
struct Console {
    passed: u64,
    failed_tests: u64,
    failures: Vec<String>,
    /// The last `GUEST-SUMMARY` line, and whether another `GUEST-` line followed it.
    summary: Option<String>,
    summary_followed: bool,
    summary_lines: u64,
    panicked: bool,
}

impl Console {
    fn read_line(&mut self, text: &str) {
        if text.starts_with("GUEST-") && self.summary.is_some() {
            self.summary_followed = true;
        }
        if let Some(result) = text.strip_prefix("GUEST-TEST ") {
            if result.starts_with("ok ") {
                self.passed += 1;
            } else {
                self.failed_tests += 1;
                self.failures.push(text.to_string());
            }
        }
        if text.starts_with("GUEST-SUMMARY ") {
            self.summary = Some(text.to_string());
            self.summary_followed = false;
            self.summary_lines += 1;
        }
        if text.contains("Kernel panic") {
            self.panicked = true;
            self.failures.push(format!("guest kernel panic: {text}"));
        }
    }

    /// Builds the report from the counted `GUEST-TEST` lines. A guest that panicked, timed
    /// out (`timeout` is set) or lacks a valid summary counts as one more failure.
    fn into_report(mut self, timeout: Option<Duration>) -> GuestReport {
        let problem = match timeout {
            Some(timeout) => Some(format!(
                "guest timed out after {} s: QEMU killed",
                timeout.as_secs()
            )),
            None => self.summary_problem(),
        };
        let failed = self.failed_tests + u64::from(problem.is_some() || self.panicked);
        self.failures.extend(problem);
        GuestReport {
            passed: self.passed,
            failed,
            failures: self.failures,
        }
    }

    /// Describes why the summary is not trusted: missing, repeated, followed by another
    /// `GUEST-` line, malformed, or with counts that differ from the `GUEST-TEST` lines.
    fn summary_problem(&self) -> Option<String> {
        let Some(summary) = &self.summary else {
            return Some("guest ended without a GUEST-SUMMARY line".to_string());
        };
        if self.summary_lines > 1 {
            return Some(format!(
                "guest printed {} GUEST-SUMMARY lines, expected one at the end",
                self.summary_lines
            ));
        }
        if self.summary_followed {
            return Some(format!(
                "guest printed more GUEST- lines after '{summary}', expected it last"
            ));
        }
        let counted = (self.passed, self.failed_tests);
        match parse_counts(&summary["GUEST-SUMMARY ".len()..]) {
            None => Some(format!(
                "invalid guest summary '{summary}': expected 'GUEST-SUMMARY N passed, M failed'"
            )),
            Some(counts) if counts != counted => Some(format!(
                "guest summary '{summary}' does not match the {} ok and {} FAIL lines it printed",
                counted.0, counted.1
            )),
            Some(_) => None,
        }
    }
}

/// Parses `N passed, M failed` into (N, M).
pub fn parse_counts(text: &str) -> Option<(u64, u64)> {
    let (passed, failed) = text.trim().split_once(", ")?;
    let passed = passed.strip_suffix(" passed")?.parse().ok()?;
    let failed = failed.strip_suffix(" failed")?.parse().ok()?;
    Some((passed, failed))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report_of(lines: &[&str], timeout: Option<Duration>) -> GuestReport {
        let mut console = Console::default();
        for line in lines {
            console.read_line(line);
        }
        console.into_report(timeout)
    }

    #[test]
    fn report_takes_summary_counts() {
        let report = report_of(
            &[
                "GUEST-TEST ok a",
                "GUEST-TEST FAIL b: why",
                "GUEST-SUMMARY 1 passed, 1 failed",
            ],
            None,
        );
        assert_eq!(report.passed, 1);
        assert_eq!(report.failed, 1);
        assert_eq!(report.failures, ["GUEST-TEST FAIL b: why"]);
    }

    #[test]
    fn report_without_summary_fails() {
        let report = report_of(&["GUEST-TEST ok a", "GUEST-TEST ok b"], None);
        assert_eq!(report.passed, 2);
        assert_eq!(report.failed, 1);
        assert_eq!(
            report.failures,
            ["guest ended without a GUEST-SUMMARY line"]
        );
    }

    #[test]
    fn report_after_timeout_fails() {
        let report = report_of(&["GUEST-TEST ok a"], Some(Duration::from_secs(9)));
        assert_eq!(report.passed, 1);
        assert_eq!(report.failed, 1);
        assert_eq!(report.failures, ["guest timed out after 9 s: QEMU killed"]);
    }

    #[test]
    fn report_after_panic_fails() {
        let panic = "[    1.0] Kernel panic - not syncing: Attempted to kill init!";
        let report = report_of(&["GUEST-TEST ok a", panic], None);
        assert_eq!(report.failed, 1);
        assert_eq!(
            report.failures.len(),
            2,
            "panic and missing summary: {:?}",
            report.failures
        );
    }

    #[test]
    fn report_early_summary_fails() {
        let report = report_of(
            &[
                "GUEST-SUMMARY 2 passed, 0 failed",
                "GUEST-TEST ok a",
                "GUEST-TEST FAIL b: why",
            ],
            None,
        );
        assert_eq!(report.passed, 1);
        assert_eq!(report.failed, 2);
        assert_eq!(
            report.failures,
            [
                "GUEST-TEST FAIL b: why",
                "guest printed more GUEST- lines after 'GUEST-SUMMARY 2 passed, 0 failed', \
                 expected it last",
            ]
        );
    }

    #[test]
    fn report_summary_mismatch_fails() {
        let report = report_of(
            &[
                "GUEST-TEST ok a",
                "GUEST-TEST FAIL b: why",
                "GUEST-SUMMARY 2 passed, 0 failed",
            ],
            None,
        );
        assert_eq!(report.passed, 1);
        assert_eq!(report.failed, 2);
        assert_eq!(
            report.failures,
            [
                "GUEST-TEST FAIL b: why",
                "guest summary 'GUEST-SUMMARY 2 passed, 0 failed' does not match \
                 the 1 ok and 1 FAIL lines it printed",
            ]
        );
    }

    #[test]
    fn report_repeated_summary_fails() {
        let report = report_of(
            &[
                "GUEST-SUMMARY 1 passed, 0 failed",
                "GUEST-TEST ok a",
                "GUEST-SUMMARY 1 passed, 0 failed",
            ],
            None,
        );
        assert_eq!(report.passed, 1);
        assert_eq!(report.failed, 1);
        assert_eq!(
            report.failures,
            ["guest printed 2 GUEST-SUMMARY lines, expected one at the end"]
        );
    }

    #[test]
    fn report_malformed_summary_fails() {
        let report = report_of(&["GUEST-TEST ok a", "GUEST-SUMMARY all good"], None);
        assert_eq!(report.passed, 1);
        assert_eq!(report.failed, 1);
        assert_eq!(
            report.failures,
            ["invalid guest summary 'GUEST-SUMMARY all good': \
              expected 'GUEST-SUMMARY N passed, M failed'"]
        );
    }

    #[test]
    fn report_other_lines_after_summary_accepted() {
        let report = report_of(
            &[
                "GUEST-INIT test",
                "GUEST-TEST ok a",
                "GUEST-SUMMARY 1 passed, 0 failed",
                "[    2.0] reboot: Power down",
            ],
            None,
        );
        assert_eq!(report.passed, 1);
        assert_eq!(report.failed, 0);
        assert!(report.failures.is_empty(), "{:?}", report.failures);
    }

    #[test]
    fn counts_parsed() {
        assert_eq!(parse_counts("12 passed, 3 failed"), Some((12, 3)));
    }

    #[test]
    fn counts_malformed() {
        assert_eq!(parse_counts("12 passed"), None);
        assert_eq!(parse_counts("x passed, 0 failed"), None);
    }
}
