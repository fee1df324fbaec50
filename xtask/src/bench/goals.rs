//! The goals of the release nsenter, whether the results meet them, and why they miss.

use std::fmt::Write as _;

use anyhow::Result;

use super::entry::{ours, util_linux, Selection, Tool};
use super::page::{kib, median_of, median_of_entry, syscalls_of};
use super::size::Sizes;
use super::syscalls::SyscallCount;
use super::{Results, PROGRAM};

const GOAL_SIZE_BYTES: u64 = 32 * 1024;
const GOAL_UTIL_LINUX_RATIO: f64 = 0.5;
const GOAL_FLOOR_RATIO: f64 = 1.15;
const GOAL_SYSCALLS: usize = 15;

/// The reason for each system call of the release nsenter, as read from src/ when this table was
/// written.
// NOTE: a call that src/ adds or drops later changes the generated counts but not this table.
const SYSCALL_REASONS: &[(&str, &str)] = &[
    (
        "arch_prctl",
        "musl's static start-up sets the thread pointer before `main`",
    ),
    ("set_tid_address", "musl's static start-up, before `main`"),
    (
        "getuid",
        "rejects a set-user-ID run when the auxiliary vector lacks the ids (it never does on \
         Linux)",
    ),
    ("geteuid", "as getuid"),
    ("getgid", "as getuid, for the group ids"),
    ("getegid", "as getuid, for the group ids"),
    (
        "open",
        "`-a` opens /proc/self/ns to list the namespace kinds this kernel has",
    ),
    (
        "getdents64",
        "`-a` reads the /proc/self/ns listing; the second call returns the end of the directory",
    ),
    (
        "newfstatat",
        "`-a` stats /proc/self/ns/user and /proc/PID/ns/user to leave out a user namespace that \
         is already ours",
    ),
    ("pidfd_open", "opens the target"),
    (
        "uname",
        "reads the kernel release to decide whether setns(2) accepts a pidfd (Linux 5.8)",
    ),
    (
        "ppoll",
        "with -r, -w, -e, -c or -Z: checks through the pidfd that the target whose /proc files \
         were opened still runs",
    ),
    (
        "setns",
        "enters all requested namespaces in one call through the pidfd",
    ),
    ("close", "closes a namespace file after entering it"),
    (
        "rt_sigaction",
        "resets SIGCHLD to the default, so an ignored SIGCHLD cannot reap the child",
    ),
    (
        "rt_sigprocmask",
        "blocks the forwarded signals before the fork, and the child restores the caller's mask",
    ),
    (
        "clone",
        "the fork that a PID namespace needs: only children enter it",
    ),
    (
        "rt_sigtimedwait",
        "the parent waits for SIGCHLD or a signal to forward",
    ),
    ("wait4", "the parent reaps the child and reads its status"),
    ("exit_group", "the parent exits with the child's status"),
    ("execve", "runs the program in the child"),
];

/// Formats whether `measured` is at most `goal`, and by how much it misses.
fn verdict(measured: f64, goal: f64) -> String {
    if measured <= goal {
        return "met".to_string();
    }
    let over = (measured / goal - 1.0) * 100.0;
    format!("missed by {:.2} ({over:.0} % over)", measured - goal)
}

pub(super) fn render_goals(page: &mut String, results: &Results) -> Result<()> {
    writeln!(page, "## Goals\n")?;
    writeln!(page, "| goal | measured | result |\n|---|---|---|")?;

    let size = results.sizes.ours;
    let size_result = if size <= GOAL_SIZE_BYTES {
        "met".to_string()
    } else {
        let over = (size as f64 / GOAL_SIZE_BYTES as f64 - 1.0) * 100.0;
        format!(
            "missed by {} bytes ({over:.0} % over)",
            size - GOAL_SIZE_BYTES
        )
    };
    writeln!(
        page,
        "| binary at most {} KiB ({GOAL_SIZE_BYTES} bytes) | {size} bytes ({}) | {size_result} |",
        GOAL_SIZE_BYTES / 1024,
        kib(size)
    )?;

    let floor = median_of(results, "floor");
    for selection in [Selection::Named, Selection::All] {
        let ours_median = median_of_entry(results, ours(selection));
        let to_util_linux = ours_median / median_of_entry(results, util_linux(selection));
        let to_floor = ours_median / floor;
        let flags = selection.label();
        writeln!(
            page,
            "| `{flags}`: median wall time at most {GOAL_UTIL_LINUX_RATIO} of util-linux's | \
             {to_util_linux:.3} | {} |",
            verdict(to_util_linux, GOAL_UTIL_LINUX_RATIO)
        )?;
        writeln!(
            page,
            "| `{flags}`: median wall time at most {GOAL_FLOOR_RATIO} of the floor | \
             {to_floor:.3} | {} |",
            verdict(to_floor, GOAL_FLOOR_RATIO)
        )?;
    }

    if let Some(count) = syscalls_of(results, ours(Selection::All)) {
        let total = count.total();
        let own = total - startup_calls(count);
        let result = if own <= GOAL_SYSCALLS {
            "met".to_string()
        } else {
            format!("missed by {} calls", own - GOAL_SYSCALLS)
        };
        writeln!(
            page,
            "| `-a`: at most {GOAL_SYSCALLS} system calls of its own, fork and wait included | \
             {own} ({total} with musl's start-up) | {result} |"
        )?;
    }

    let heap: usize = results
        .syscalls
        .iter()
        .filter(|(entry, _)| entry.tool == Tool::Ours)
        .map(|(_, count)| count.heap)
        .sum();
    let heap_result = if heap == 0 { "met" } else { "missed" };
    writeln!(
        page,
        "| no heap: no brk or anonymous mmap before the program runs | {heap} calls | \
         {heap_result} |"
    )?;
    writeln!(page)?;
    Ok(())
}

fn render_size_miss(page: &mut String, sizes: &Sizes) -> Result<()> {
    if sizes.ours <= GOAL_SIZE_BYTES {
        return Ok(());
    }
    let section = |name: &str| {
        sizes
            .ours_sections
            .iter()
            .find(|(section, _)| section == name)
            .map_or(0, |(_, bytes)| *bytes)
    };
    let mut in_file: Vec<&(String, u64)> = sizes
        .ours_sections
        .iter()
        .filter(|(name, _)| name != ".bss")
        .collect();

    in_file.sort_by_key(|(_, bytes)| std::cmp::Reverse(*bytes));
    let largest: Vec<String> = in_file
        .iter()
        .take(3)
        .map(|(name, bytes)| format!("`{name}` {bytes} bytes"))
        .collect();

    write!(
        page,
        "**Size.** Ours is {} bytes, {} over the goal. Its largest sections are {}.",
        sizes.ours,
        sizes.ours - GOAL_SIZE_BYTES,
        largest.join(", ")
    )?;
    let relocations =
        section(".rela.dyn") + section(".data.rel.ro") + section(".got") + section(".dynamic");
    if section(".rela.dyn") > 0 {
        write!(
            page,
            " `.rela.dyn`, `.data.rel.ro`, `.got` and `.dynamic` ({relocations} bytes together) \
             exist because the binary is a static position-independent executable that relocates \
             itself at start-up."
        )?;
    }
    let unwind = section(".eh_frame") + section(".eh_frame_hdr");
    if unwind > 0 {
        write!(
            page,
            " `.eh_frame` and `.eh_frame_hdr` ({unwind} bytes) are unwind tables, which only \
             debuggers and profilers read because panics abort."
        )?;
    }
    writeln!(page, "\n")?;
    Ok(())
}

pub(super) fn render_misses(page: &mut String, results: &Results) -> Result<()> {
    writeln!(page, "## Why goals are missed\n")?;
    render_size_miss(page, &results.sizes)?;
    let floor = median_of(results, "floor");
    let startup = median_of(results, "ours --version");
    let no_fork = median_of(results, "ours -m -u -i -n (no fork)");
    let ms = |seconds: f64| seconds * 1000.0;
    writeln!(
        page,
        "**Time against the floor.** The floor runs `{PROGRAM}` once. Every nsenter command line \
         runs two programs, nsenter and then `{PROGRAM}`, and forks once more for `-p`. Starting \
         ours and exiting at once (`ours --version`) takes {:.3} ms, {:.2} of the floor, while \
         the goal allows {:.3} ms above the floor for all of nsenter's work. Entering the \
         namespaces without the fork (`ours -m -u -i -n`) takes {:.3} ms, {:.2} of the floor; \
         the fork, the entry into the PID namespace and the wait for the child add the rest.\n",
        ms(startup),
        startup / floor,
        ms(floor * (GOAL_FLOOR_RATIO - 1.0)),
        ms(no_fork),
        no_fork / floor
    )?;

    let Some(count) = syscalls_of(results, ours(Selection::All)) else {
        return Ok(());
    };
    let total = count.total();
    let startup = startup_calls(count);
    let own = total - startup;
    if own > GOAL_SYSCALLS {
        writeln!(
            page,
            "**System calls of `-a`.** Ours makes {total} calls. {startup} of them are musl's \
             start-up before `main`, which leaves {own} of nsenter's own, {} over the goal of \
             {GOAL_SYSCALLS}. Per call, with the reason from the source:\n",
            own - GOAL_SYSCALLS,
        )?;
        writeln!(page, "| system call | calls | reason |\n|---|---:|---|")?;
        for (name, calls) in &count.by_name {
            let reason = SYSCALL_REASONS
                .iter()
                .find(|(known, _)| known == name)
                .map_or(
                    "not in the table of reasons in xtask/src/bench/goals.rs",
                    |(_, reason)| reason,
                );
            writeln!(page, "| {name} | {calls} | {reason} |")?;
        }
        writeln!(page, "\nThe counted calls of `ours -a`, in order:\n\n```")?;
        for line in &count.lines {
            writeln!(page, "{line}")?;
        }
        writeln!(page, "```\n")?;
    }
    Ok(())
}

/// Returns how many of the counted calls musl's static start-up code makes
/// before `main`, which the goal does not count as nsenter's own.
fn startup_calls(count: &SyscallCount) -> usize {
    count
        .by_name
        .iter()
        .filter(|(name, _)| *name == "arch_prctl" || *name == "set_tid_address")
        .map(|(_, calls)| calls)
        .sum()
}
