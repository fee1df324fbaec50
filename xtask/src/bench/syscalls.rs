//! System calls of nsenter, counted from `strace -f` traces.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::Path;
use std::process::Stdio;

use anyhow::{Context, Result};

use super::measured_command;
use crate::cmd;

/// The system calls that nsenter makes itself, per name.
#[derive(Default)]
pub(super) struct SyscallCount {
    pub(super) by_name: BTreeMap<String, usize>,
    /// brk calls and anonymous mmap calls: heap or other private memory.
    pub(super) heap: usize,
    /// The counted strace lines, in order, shortened.
    pub(super) lines: Vec<String>,
}

impl SyscallCount {
    pub(super) fn total(&self) -> usize {
        self.by_name.values().sum()
    }
}

/// Runs `argv` under `strace -f` into `trace_file` and counts nsenter's own calls.
pub(super) fn trace(argv: &[String], trace_file: &Path) -> Result<SyscallCount> {
    let mut strace = measured_command("strace");
    strace
        .args(["-f", "-qq", "-e", "trace=all", "-e", "signal=none", "-o"])
        .arg(trace_file)
        .args(argv)
        .stdin(Stdio::null());
    cmd::output(&mut strace)?;
    let text = fs::read_to_string(trace_file)
        .with_context(|| format!("cannot read {}", trace_file.display()))?;
    Ok(count_own_syscalls(&text))
}

/// Counts the calls of an `strace -f` trace that nsenter makes itself: every call of its
/// processes, except the execve that started nsenter and whatever a process does after it
/// successfully executed the program. The program's execve is counted, as nsenter makes it.
fn count_own_syscalls(trace: &str) -> SyscallCount {
    let mut count = SyscallCount::default();
    let mut program_pids = BTreeSet::new();
    let mut started = false;
    for line in trace.lines() {
        let Some((pid, call)) = line.split_once(char::is_whitespace) else {
            continue;
        };
        let call = call.trim_start();
        // Resumed halves of interrupted calls, signals and exits are not new calls.
        if call.starts_with("<...") || call.starts_with("---") || call.starts_with("+++") {
            continue;
        }
        let Some(name) = call.split_once('(').map(|(name, _)| name) else {
            continue;
        };
        if name.is_empty()
            || !name
                .bytes()
                .all(|byte| byte.is_ascii_alphanumeric() || byte == b'_')
        {
            continue;
        }
        if !started {
            // The first call is the execve of nsenter itself.
            started = true;
            continue;
        }
        if program_pids.contains(pid) {
            continue;
        }
        *count.by_name.entry(name.to_string()).or_default() += 1;
        if name == "brk" || (name == "mmap" && call.contains("MAP_ANONYMOUS")) {
            count.heap += 1;
        }
        count.lines.push(shorten(line, 130));
        if name == "execve" && !call.contains(") = -1") {
            program_pids.insert(pid.to_string());
        }
    }
    count
}

fn shorten(line: &str, max_chars: usize) -> String {
    match line.char_indices().nth(max_chars) {
        Some((end, _)) => format!("{} …", &line[..end]),
        None => line.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TRACE: &str = concat!(
        r#"100 execve("/usr/bin/nsenter", ["nsenter", "-t", "5", "-a", "/bin/true"], "#,
        r#"0x7ffd /* 3 vars */) = 0
100 brk(NULL)                         = 0x55b5b03e0000
100 mmap(NULL, 8192, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0) = 0x7f00
100 setns(3, CLONE_NEWNS)             = 0
100 clone(child_stack=NULL, flags=SIGCHLD) = 101
101 execve("/bin/true", ["/bin/true"], 0x7ffe /* 3 vars */ <unfinished ...>
100 wait4(101,  <unfinished ...>
101 <... execve resumed>)             = 0
101 brk(NULL)                         = 0x56
101 exit_group(0)                     = ?
100 <... wait4 resumed>[{WIFEXITED(s) && WEXITSTATUS(s) == 0}], 0, NULL) = 101
100 exit_group(0)                     = ?
"#
    );

    #[test]
    fn syscalls_counted_per_name() {
        let count = count_own_syscalls(TRACE);
        let names: Vec<(&str, usize)> = count
            .by_name
            .iter()
            .map(|(name, calls)| (name.as_str(), *calls))
            .collect();
        assert_eq!(
            names,
            [
                ("brk", 1),
                ("clone", 1),
                ("execve", 1),
                ("exit_group", 1),
                ("mmap", 1),
                ("setns", 1),
                ("wait4", 1)
            ]
        );
        assert_eq!(count.total(), 7);
        assert_eq!(count.heap, 2);
    }

    #[test]
    fn failed_execve_keeps_counting() {
        let trace =
            "7 execve(\"/x\", [\"x\"], 0x1) = 0\n8 execve(\"/a\", [\"a\"], 0x1) = -1 ENOENT (No \
             such file or directory)\n8 execve(\"/b\", [\"b\"], 0x1) = 0\n8 brk(NULL) = 0x1\n";
        let count = count_own_syscalls(trace);
        assert_eq!(count.by_name.get("execve"), Some(&2));
        assert_eq!(count.by_name.get("brk"), None);
    }
}
