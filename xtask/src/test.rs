//! `cargo xtask test`: runs the unit, host integration and QEMU guest tests, then prints `N passed, N failed`.

use std::io::{BufRead, BufReader};
use std::process::{Command, ExitCode, Stdio};

use anyhow::{Context, Result};

use crate::{build, cmd, initramfs, qemu};

pub fn run(args: &[String]) -> Result<ExitCode> {
    let options = qemu::Options::parse(args, true)?;
    let mut totals = Totals::default();

    eprintln!("== unit tests");
    totals.add_cargo_test(cmd::cargo().args(["test", "--lib", "--no-fail-fast"]));
    totals.add_cargo_test(cmd::cargo().args([
        "test",
        "--package",
        "xtask",
        "--target",
        "x86_64-unknown-linux-gnu",
    ]));

    eprintln!("== host integration and differential tests");
    match build::nsenter() {
        // `--test '*'` runs every tests/*.rs target and not the library's unit tests again.
        Ok(binary) => totals.add_cargo_test(
            cmd::cargo()
                .args(["test", "--test", "*", "--no-fail-fast"])
                .env("NSENTER_BIN", &binary),
        ),
        Err(error) => totals.add_failure(format!("cannot build the release binary: {error:#}")),
    }

    eprintln!("== QEMU guest suite");
    match initramfs::build_image().and_then(|image| qemu::run_suite(&options, &image)) {
        Ok(report) => {
            totals.passed += report.passed;
            totals.failed += report.failed;
            totals.failures.extend(report.failures);
        }
        Err(error) => totals.add_failure(format!("cannot run the guest suite: {error:#}")),
    }

    if !totals.failures.is_empty() {
        eprintln!("== failures");
        for failure in &totals.failures {
            eprintln!("{failure}");
        }
    }
    println!("{} passed, {} failed", totals.passed, totals.failed);
    if totals.failed == 0 && totals.failures.is_empty() {
        Ok(ExitCode::SUCCESS)
    } else {
        Ok(ExitCode::FAILURE)
    }
}

#[derive(Default)]
struct Totals {
    passed: u64,
    failed: u64,
    /// Lines to repeat before the closing line, so failures are easy to find in a long log.
    failures: Vec<String>,
}

impl Totals {
    fn add_failure(&mut self, reason: String) {
        self.failed += 1;
        self.failures.push(reason);
    }

    /// Runs a `cargo test` command, echoes its output and adds its `test result:` counts.
    ///
    /// A run that exits non-zero without reporting a failed test (a compile error, a crashed
    /// test binary) counts as one failure.
    fn add_cargo_test(&mut self, command: &mut Command) {
        let line = cmd::display(command);
        eprintln!("$ {line}");
        let mut child = match command.stdout(Stdio::piped()).spawn() {
            Ok(child) => child,
            Err(error) => return self.add_failure(format!("cannot run `{line}`: {error}")),
        };
        let mut failed_before = 0;
        if let Some(stdout) = child.stdout.take() {
            for text in BufReader::new(stdout).lines().map_while(Result::ok) {
                println!("{text}");
                if let Some((passed, failed)) = parse_test_result(&text) {
                    self.passed += passed;
                    self.failed += failed;
                    failed_before += failed;
                }
            }
        }
        match child
            .wait()
            .with_context(|| format!("cannot wait for `{line}`"))
        {
            Ok(status) if status.success() => {}
            Ok(status) if failed_before > 0 => {
                self.failures.push(format!(
                    "`{line}` failed: {status}, {failed_before} tests failed"
                ));
            }
            Ok(status) => self.add_failure(format!(
                "`{line}` failed: {status}, with no failed test reported (a compile error?)"
            )),
            Err(error) => self.add_failure(format!("{error:#}")),
        }
    }
}

/// Parses libtest's `test result: ok. 5 passed; 1 failed; 0 ignored; ...` line into (5, 1).
fn parse_test_result(line: &str) -> Option<(u64, u64)> {
    let rest = line.trim().strip_prefix("test result: ")?;
    let (_, counts) = rest.split_once(". ")?;
    let mut passed = None;
    let mut failed = None;
    for item in counts.split("; ") {
        let mut words = item.split_whitespace();
        let number = words.next()?.parse::<u64>().ok();
        match words.next() {
            Some("passed") => passed = number,
            Some("failed") => failed = number,
            _ => {}
        }
    }
    Some((passed?, failed?))
}

#[cfg(test)]
mod tests {
    use super::parse_test_result;

    #[test]
    fn test_result_ok_parsed() {
        let line = "test result: ok. 5 passed; 0 failed; 1 ignored; 0 measured; 0 filtered out; finished in 0.01s";
        assert_eq!(parse_test_result(line), Some((5, 0)));
    }

    #[test]
    fn test_result_failed_parsed() {
        let line = "test result: FAILED. 3 passed; 2 failed; 0 ignored; 0 measured; 0 filtered out; finished in 1.20s";
        assert_eq!(parse_test_result(line), Some((3, 2)));
    }

    #[test]
    fn test_result_other_line_ignored() {
        assert_eq!(parse_test_result("test parser::tests::bundle ... ok"), None);
    }
}
