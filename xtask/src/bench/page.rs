//! Renders the measured results as docs/benchmarks.md.

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::path::Path;

use anyhow::Result;

use super::entry::{util_linux, Entry, Tools};
use super::goals::{render_goals, render_misses};
use super::machine::{describe_machine, Machine};
use super::memory::MEMORY_RUNS;
use super::syscalls::SyscallCount;
use super::timing::{Summary, ROUNDS, RUNS_PER_ROUND, WARMUP_RUNS};
use super::{Results, PROGRAM, WAITING_PROGRAM};
use crate::cmd;

pub(super) fn render(tools: &Tools, results: &Results) -> Result<String> {
    let machine = describe_machine(tools)?;
    let mut page = String::new();
    render_header(&mut page, tools, &machine)?;
    render_commands(&mut page, results)?;
    render_goals(&mut page, results)?;
    render_sizes(&mut page, results)?;
    render_times(&mut page, results)?;
    render_syscalls(&mut page, results)?;
    render_memory(&mut page, results)?;
    render_misses(&mut page, results)?;
    Ok(page)
}

fn render_header(page: &mut String, tools: &Tools, machine: &Machine) -> Result<()> {
    let relative = |path: &Path| relative_path(&path.display().to_string());
    writeln!(page, "# Benchmarks\n")?;
    writeln!(
        page,
        "Written by `cargo xtask bench`, run as root from the workspace root. Run it again to \
         refresh every number on this page.\n"
    )?;

    writeln!(page, "## Machine and software\n")?;
    writeln!(page, "| | |\n|---|---|")?;
    writeln!(page, "| date | {} |", machine.date)?;
    writeln!(page, "| CPU | {} |", machine.cpu)?;
    writeln!(page, "| cores (`nproc`) | {} |", machine.cores)?;
    writeln!(page, "| kernel | {} |", machine.kernel)?;
    writeln!(
        page,
        "| ours | `{}`, {} |",
        relative(&tools.ours),
        machine.commit
    )?;
    writeln!(
        page,
        "| util-linux | `{}`, {} |",
        tools.util_linux.display(),
        machine.util_linux
    )?;
    writeln!(
        page,
        "| busybox | `{}` from the Debian package busybox-static, {} |",
        relative(&tools.busybox),
        machine.busybox
    )?;
    writeln!(
        page,
        "| tools | {}, {} |",
        machine.hyperfine, machine.strace
    )?;
    writeln!(
        page,
        "| locale | {} (glibc programs load locale files for it) |",
        machine.locale
    )?;
    writeln!(page)?;
    Ok(())
}

fn render_commands(page: &mut String, results: &Results) -> Result<()> {
    writeln!(page, "## Commands\n")?;
    writeln!(
        page,
        "The target is a `sleep 600` started with `unshare --fork --kill-child --pid --mount-proc \
         --uts --ipc --net --mount sleep 600`, and PID {} below is that `sleep`. It shares the \
         host's root filesystem, so `{PROGRAM}` exists in its mount namespace. Paths are \
         relative to the workspace root.\n",
        results.target
    )?;
    writeln!(page, "| label | command line |\n|---|---|")?;
    for timing in &results.times {
        let argv: Vec<String> = timing.argv.iter().map(|arg| relative_path(arg)).collect();
        writeln!(page, "| {} | `{}` |", timing.label, argv.join(" "))?;
    }
    writeln!(page)?;
    writeln!(
        page,
        "Busybox 1.35 `nsenter` has no `-a` and cannot enter cgroup or time namespaces, so no \
         flag set of it equals `-a`, and the page has no busybox `-a` row.\n"
    )?;
    Ok(())
}

/// Returns `path` relative to the workspace root when it lies inside it.
fn relative_path(path: &str) -> String {
    let root = cmd::repo_root().display().to_string() + "/";
    path.strip_prefix(&root).unwrap_or(path).to_string()
}

/// Returns the median wall time of `label`, in seconds.
pub(super) fn median_of(results: &Results, label: &str) -> f64 {
    results
        .times
        .iter()
        .find(|timing| timing.label == label)
        .map(|timing| Summary::of(&timing.seconds).median)
        .unwrap_or(f64::NAN)
}

pub(super) fn median_of_entry(results: &Results, entry: Entry) -> f64 {
    median_of(results, &entry.label())
}

pub(super) fn syscalls_of(results: &Results, entry: Entry) -> Option<&SyscallCount> {
    results
        .syscalls
        .iter()
        .find(|(measured, _)| *measured == entry)
        .map(|(_, count)| count)
}

pub(super) fn kib(bytes: u64) -> String {
    format!("{:.1} KiB", bytes as f64 / 1024.0)
}

fn render_sizes(page: &mut String, results: &Results) -> Result<()> {
    let sizes = &results.sizes;
    let util_linux_total: u64 = sizes.util_linux.iter().map(|(_, bytes)| bytes).sum();

    writeln!(page, "## Size\n")?;
    writeln!(
        page,
        "File sizes on disk. util-linux's `nsenter` is dynamically linked, so its row adds the \
         shared libraries that `ldd /usr/bin/nsenter` lists (the vDSO has no file), with \
         symlinks resolved.\n"
    )?;
    writeln!(
        page,
        "| binary | bytes | KiB | ÷ ours |\n|---|---:|---:|---:|"
    )?;
    let ratio = |bytes: u64| bytes as f64 / sizes.ours as f64;

    writeln!(
        page,
        "| ours (stripped, static) | {} | {} | 1.00 |",
        sizes.ours,
        kib(sizes.ours)
    )?;
    writeln!(
        page,
        "| busybox-static, whole (all applets) | {} | {} | {:.1} |",
        sizes.busybox,
        kib(sizes.busybox),
        ratio(sizes.busybox)
    )?;
    writeln!(
        page,
        "| util-linux nsenter with its libraries | {util_linux_total} | {} | {:.1} |",
        kib(util_linux_total),
        ratio(util_linux_total)
    )?;
    for (path, bytes) in &sizes.util_linux {
        writeln!(
            page,
            "| &nbsp;&nbsp;`{}` | {bytes} | {} | |",
            path.display(),
            kib(*bytes)
        )?;
    }
    writeln!(page)?;

    writeln!(
        page,
        "Sections of ours as `size -A` lists them. `.bss` takes memory at run time but no bytes \
         in the file.\n"
    )?;
    writeln!(page, "| section | bytes |\n|---|---:|")?;
    for (name, bytes) in &sizes.ours_sections {
        writeln!(page, "| `{name}` | {bytes} |")?;
    }
    writeln!(page)?;
    Ok(())
}

fn render_times(page: &mut String, results: &Results) -> Result<()> {
    writeln!(page, "## Wall time\n")?;
    writeln!(
        page,
        "Measured with `hyperfine -N` (no shell, so each run is one fork and execve by hyperfine \
         plus the command) in {ROUNDS} rounds. Each round is one hyperfine invocation that runs \
         every command {WARMUP_RUNS} times as warm-up and then {RUNS_PER_ROUND} times in a row, \
         one command after another. The order of the commands rotates by one from round to \
         round, so the runs of all commands interleave in blocks. The statistics pool all {} \
         runs of a command. Variables starting with `LD_` are removed from the environment of \
         every measured command, because `cargo run` sets LD_LIBRARY_PATH for xtask and the \
         dynamically linked programs would search it. The floor is `{PROGRAM}` started directly, \
         which every command line here ends by running.\n",
        ROUNDS * RUNS_PER_ROUND
    )?;
    writeln!(
        page,
        "| command | median ms | p25–p75 ms | min–max ms | ÷ util-linux | ÷ floor \
         |\n|---|---:|---:|---:|---:|---:|"
    )?;
    let floor = median_of(results, "floor");
    for timing in &results.times {
        let summary = Summary::of(&timing.seconds);
        let to_util_linux = match timing.entry {
            Some(entry) => {
                let util_linux_median = median_of_entry(results, util_linux(entry.selection));
                format!("{:.2}", summary.median / util_linux_median)
            }
            None => String::new(),
        };
        let ms = |seconds: f64| seconds * 1000.0;
        writeln!(
            page,
            "| {} | {:.3} | {:.3}–{:.3} | {:.3}–{:.3} | {to_util_linux} | {:.2} |",
            timing.label,
            ms(summary.median),
            ms(summary.p25),
            ms(summary.p75),
            ms(summary.min),
            ms(summary.max),
            summary.median / floor
        )?;
    }
    writeln!(page)?;
    Ok(())
}

fn render_syscalls(page: &mut String, results: &Results) -> Result<()> {
    writeln!(page, "## System calls\n")?;
    writeln!(
        page,
        "From `strace -f -qq -e trace=all -e signal=none`, one run per command line. Counted are \
         the calls of the nsenter process and of the child it forks, from the first call after \
         nsenter's own execve up to and including the execve of `{PROGRAM}`. The parent's calls \
         after that execve, waiting for the child and exiting, count too. Not counted are \
         nsenter's own execve and everything `{PROGRAM}` does. The heap row counts brk calls and \
         anonymous mmap calls among them. The raw traces are in target/bench/.\n"
    )?;
    let names: BTreeSet<&String> = results
        .syscalls
        .iter()
        .flat_map(|(_, count)| count.by_name.keys())
        .collect();

    write!(page, "| system call |")?;
    for (entry, _) in &results.syscalls {
        write!(page, " {} |", entry.label())?;
    }
    write!(page, "\n|---|")?;
    for _ in &results.syscalls {
        write!(page, "---:|")?;
    }
    writeln!(page)?;

    for name in names {
        write!(page, "| {name} |")?;
        for (_, count) in &results.syscalls {
            match count.by_name.get(name) {
                Some(calls) => write!(page, " {calls} |")?,
                None => write!(page, " |")?,
            }
        }
        writeln!(page)?;
    }
    write!(page, "| **total** |")?;
    for (_, count) in &results.syscalls {
        write!(page, " **{}** |", count.total())?;
    }
    write!(page, "\n| heap (brk, anonymous mmap) |")?;
    for (_, count) in &results.syscalls {
        write!(page, " {} |", count.heap)?;
    }
    writeln!(page, "\n")?;
    Ok(())
}

fn render_memory(page: &mut String, results: &Results) -> Result<()> {
    writeln!(page, "## Memory\n")?;
    writeln!(
        page,
        "Each command line runs `{}` in place of `{PROGRAM}`. Once the forked child has become \
         `sleep`, xtask reads the nsenter process's own /proc/PID/status, which then covers all \
         of nsenter's work and none of the program's. VmHWM is the peak resident set size. \
         RssAnon and RssFile split the current one into anonymous pages (heap, stack, written \
         data) and pages mapped from files (the binary and its libraries). Median of \
         {MEMORY_RUNS} runs by VmHWM. All three tools fork for `-p`, so each row is the waiting \
         parent.\n",
        WAITING_PROGRAM.join(" ")
    )?;
    writeln!(
        page,
        "| command | VmHWM KiB | RssAnon KiB | RssFile KiB |\n|---|---:|---:|---:|"
    )?;
    for (entry, usage) in &results.memory {
        writeln!(
            page,
            "| {} | {} | {} | {} |",
            entry.label(),
            usage.peak_kib,
            usage.anon_kib,
            usage.file_kib
        )?;
    }
    writeln!(page)?;
    Ok(())
}
