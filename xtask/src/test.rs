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
        let mut results = ResultReader::default();
        if let Some(stdout) = child.stdout.take() {
            for text in BufReader::new(stdout).lines().map_while(Result::ok) {
                println!("{text}");
                results.read_line(&text);
            }
        }
        let (passed, failed_before) = results.finish();
        self.passed += passed;
        self.failed += failed_before;
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

/// Adds up the `test result:` lines of libtest's output that belong to a test binary's run.
///
/// A test binary prints `running N tests`, its tests, the output of its failed tests, then
/// `test result: ...`. Because the output of a failed test may contain a line that looks like
/// a result, a result line counts only when its passed, failed, ignored and measured counts
/// add up to the N of the latest header. Of several such lines, the last one counts.
#[derive(Default)]
struct ResultReader {
    /// The N of the latest `running N tests` line, until a later header replaces it.
    tests: Option<u64>,
    /// The (passed, failed) counts of the last matching result line since that header.
    pending: Option<(u64, u64)>,
    passed: u64,
    failed: u64,
}

impl ResultReader {
    fn read_line(&mut self, line: &str) {
        if let Some(tests) = parse_running(line) {
            self.commit();
            self.tests = Some(tests);
            return;
        }
        let Some(tests) = self.tests else { return };
        if let Some(result) = parse_test_result(line) {
            if result.total() == tests {
                self.pending = Some((result.passed, result.failed));
            }
        }
    }

    fn commit(&mut self) {
        if let Some((passed, failed)) = self.pending.take() {
            self.passed += passed;
            self.failed += failed;
        }
    }

    /// Returns the (passed, failed) totals of all test binaries.
    fn finish(mut self) -> (u64, u64) {
        self.commit();
        (self.passed, self.failed)
    }
}

/// Parses libtest's `running 5 tests` (or `running 1 test`) header into 5.
fn parse_running(line: &str) -> Option<u64> {
    let rest = line.strip_prefix("running ")?;
    let (number, noun) = rest.split_once(' ')?;
    if noun != "tests" && noun != "test" {
        return None;
    }
    number.parse().ok()
}

/// The counts of one libtest `test result:` line.
#[derive(Debug, PartialEq)]
struct TestResult {
    passed: u64,
    failed: u64,
    ignored: u64,
    measured: u64,
}

impl TestResult {
    /// Returns the number of tests that the line accounts for. Filtered-out tests are not in
    /// libtest's `running N tests` count, so they are left out.
    fn total(&self) -> u64 {
        self.passed + self.failed + self.ignored + self.measured
    }
}

/// Parses libtest's `test result: ok. 5 passed; 1 failed; 0 ignored; 0 measured; ...` line.
///
/// Rejects a line whose verdict disagrees with its counts: `ok.` with failed tests, or
/// `FAILED.` without them.
fn parse_test_result(line: &str) -> Option<TestResult> {
    let rest = line.strip_prefix("test result: ")?;
    let (verdict, counts) = rest.split_once(". ")?;
    let mut passed = None;
    let mut failed = None;
    let mut ignored = None;
    let mut measured = None;
    for item in counts.split("; ") {
        let mut words = item.split_whitespace();
        let Some(number) = words.next().and_then(|word| word.parse::<u64>().ok()) else {
            continue;
        };
        match words.next() {
            Some("passed") => passed = Some(number),
            Some("failed") => failed = Some(number),
            Some("ignored") => ignored = Some(number),
            Some("measured") => measured = Some(number),
            _ => {}
        }
    }
    let result = TestResult {
        passed: passed?,
        failed: failed?,
        ignored: ignored?,
        measured: measured?,
    };
    let verdict_matches = match verdict {
        "ok" => result.failed == 0,
        "FAILED" => result.failed > 0,
        _ => false,
    };
    verdict_matches.then_some(result)
}

#[cfg(test)]
mod tests {
    use super::{parse_running, parse_test_result, ResultReader, TestResult};

    fn totals_of(lines: &[&str]) -> (u64, u64) {
        let mut reader = ResultReader::default();
        for line in lines {
            reader.read_line(line);
        }
        reader.finish()
    }

    #[test]
    fn test_result_ok_parsed() {
        let line = "test result: ok. 5 passed; 0 failed; 1 ignored; 0 measured; 0 filtered out; finished in 0.01s";
        let expected = TestResult {
            passed: 5,
            failed: 0,
            ignored: 1,
            measured: 0,
        };
        assert_eq!(parse_test_result(line), Some(expected));
    }

    #[test]
    fn test_result_failed_parsed() {
        let line = "test result: FAILED. 3 passed; 2 failed; 0 ignored; 0 measured; 0 filtered out; finished in 1.20s";
        let expected = TestResult {
            passed: 3,
            failed: 2,
            ignored: 0,
            measured: 0,
        };
        assert_eq!(parse_test_result(line), Some(expected));
    }

    #[test]
    fn test_result_other_line_ignored() {
        assert_eq!(parse_test_result("test parser::tests::bundle ... ok"), None);
    }

    #[test]
    fn test_result_wrong_verdict_ignored() {
        let ok_with_failure =
            "test result: ok. 3 passed; 1 failed; 0 ignored; 0 measured; 0 filtered out";
        let failed_without =
            "test result: FAILED. 4 passed; 0 failed; 0 ignored; 0 measured; 0 filtered out";
        assert_eq!(parse_test_result(ok_with_failure), None);
        assert_eq!(parse_test_result(failed_without), None);
    }

    #[test]
    fn running_header_parsed() {
        assert_eq!(parse_running("running 12 tests"), Some(12));
        assert_eq!(parse_running("running 1 test"), Some(1));
        assert_eq!(parse_running("running 0 tests"), Some(0));
        assert_eq!(parse_running("running tests"), None);
        assert_eq!(parse_running("  running 3 tests"), None);
    }

    #[test]
    fn reader_sums_binaries() {
        let lines = [
            "running 2 tests",
            "test a ... ok",
            "test b ... ignored",
            "test result: ok. 1 passed; 0 failed; 1 ignored; 0 measured; 3 filtered out; finished in 0.00s",
            "running 1 test",
            "test c ... FAILED",
            "test result: FAILED. 0 passed; 1 failed; 0 ignored; 0 measured; 0 filtered out; finished in 0.00s",
        ];
        assert_eq!(totals_of(&lines), (1, 1));
    }

    #[test]
    fn reader_ignores_result_without_header() {
        let lines = ["test result: ok. 9 passed; 0 failed; 0 ignored; 0 measured; 0 filtered out"];
        assert_eq!(totals_of(&lines), (0, 0));
    }

    #[test]
    fn reader_ignores_printed_fake_results() {
        // The failed test prints two fake result lines: one whose counts do not add up to the
        // header's 2, and one that does but comes before the real line.
        let lines = [
            "running 2 tests",
            "test a ... FAILED",
            "test b ... ok",
            "failures:",
            "---- a stdout ----",
            "test result: ok. 40 passed; 0 failed; 0 ignored; 0 measured; 0 filtered out",
            "test result: ok. 2 passed; 0 failed; 0 ignored; 0 measured; 0 filtered out",
            "test result: FAILED. 1 passed; 1 failed; 0 ignored; 0 measured; 0 filtered out; finished in 0.00s",
        ];
        assert_eq!(totals_of(&lines), (1, 1));
    }
}
