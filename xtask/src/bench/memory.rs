//! Peak and current resident memory of the nsenter process, from /proc/PID/status.

use std::fs;
use std::path::Path;
use std::process::Stdio;

use anyhow::{bail, Context, Result};

use super::target::wait_for_child;
use super::{measured_command, WAITING_PROGRAM};

/// Runs per command for the peak resident size; the page shows the median.
pub(super) const MEMORY_RUNS: usize = 5;

/// Memory of the nsenter process while it waits for the program, from /proc/PID/status, in KiB.
#[derive(Clone, Copy)]
pub(super) struct MemoryUsage {
    /// VmHWM: the peak resident set size.
    pub(super) peak_kib: u64,
    /// RssAnon: resident anonymous memory (heap, stack, data written to).
    pub(super) anon_kib: u64,
    /// RssFile: resident pages mapped from files (the binary and its libraries).
    pub(super) file_kib: u64,
}

/// Measures `argv` MEMORY_RUNS times and returns the run with the median peak.
pub(super) fn median_memory(argv: &[String]) -> Result<MemoryUsage> {
    let mut runs = Vec::new();
    for _ in 0..MEMORY_RUNS {
        runs.push(memory_of(argv)?);
    }
    runs.sort_by_key(|usage| usage.peak_kib);
    Ok(runs[runs.len() / 2])
}

/// Starts `argv`, waits until its child runs the waiting program, then reads the nsenter
/// process's own memory: the program's memory is in the child and not counted.
fn memory_of(argv: &[String]) -> Result<MemoryUsage> {
    let line = argv.join(" ");
    let mut child = measured_command(&argv[0])
        .args(&argv[1..])
        .stdin(Stdio::null())
        .spawn()
        .with_context(|| format!("cannot run `{line}`"))?;
    let program_name = Path::new(WAITING_PROGRAM[0])
        .file_name()
        .and_then(|name| name.to_str())
        .unwrap_or("sleep");
    let usage =
        wait_for_child(&mut child, program_name).and_then(|_| read_memory_usage(child.id()));
    let status = child
        .wait()
        .with_context(|| format!("cannot wait for `{line}`"))?;
    let usage = usage.with_context(|| format!("cannot measure the memory of `{line}`"))?;
    if !status.success() {
        bail!("`{line}` failed: {status}");
    }
    Ok(usage)
}

fn read_memory_usage(pid: u32) -> Result<MemoryUsage> {
    let path = format!("/proc/{pid}/status");
    let status = fs::read_to_string(&path).with_context(|| format!("cannot read {path}"))?;
    let field = |key: &str| -> Result<u64> {
        status
            .lines()
            .find_map(|line| line.strip_prefix(key)?.strip_prefix(':'))
            .and_then(|value| value.trim().trim_end_matches("kB").trim().parse().ok())
            .with_context(|| format!("{path} has no {key} line"))
    };
    Ok(MemoryUsage {
        peak_kib: field("VmHWM")?,
        anon_kib: field("RssAnon")?,
        file_kib: field("RssFile")?,
    })
}
