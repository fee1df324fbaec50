//! `cargo xtask bench`: measures the release nsenter beside util-linux and busybox nsenter and
//! writes docs/benchmarks.md.
//!
//! Every measurement enters one target of the command's own: a `sleep` that util-linux `unshare`
//! starts in new PID, mount, UTS, IPC and network namespaces. xtask kills only that target and
//! its unshare, by PID, when it finishes or fails.

mod entry;
mod goals;
mod machine;
mod memory;
mod page;
mod size;
mod syscalls;
mod target;
mod timing;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{bail, Context, Result};

use crate::{build, cmd, debs};
use entry::{Entry, Tools, ENTRIES};
use memory::{median_memory, MemoryUsage};
use page::render;
use size::{measure_sizes, Sizes};
use syscalls::{trace, SyscallCount};
use target::Target;
use timing::{measure_times, Timing, ROUNDS, RUNS_PER_ROUND};

/// The program each command line runs, as in `nsenter -t PID -a /bin/true`.
const PROGRAM: &str = "/bin/true";

/// The program of the memory runs: it must outlive the read of nsenter's /proc/PID/status.
const WAITING_PROGRAM: [&str; 2] = ["/bin/sleep", "0.2"];

/// The page this command writes, relative to the workspace root.
const PAGE: &str = "docs/benchmarks.md";

pub fn run(args: &[String]) -> Result<()> {
    if let Some(arg) = args.first() {
        bail!("bench takes no arguments, got '{arg}'");
    }
    ensure_tool("hyperfine", "hyperfine")?;
    ensure_tool("strace", "strace")?;
    for (program, package) in [("unshare", "util-linux"), ("ldd", "libc-bin")] {
        if cmd::find_in_path(program).is_none() {
            bail!("{program} is not on PATH: install the Debian package {package}");
        }
    }
    let util_linux = PathBuf::from("/usr/bin/nsenter");
    if !util_linux.is_file() {
        bail!("/usr/bin/nsenter is missing: install the Debian package util-linux");
    }
    let tools = Tools {
        ours: build::nsenter()?,
        util_linux,
        busybox: debs::unpacked("busybox-static")?.join("bin/busybox"),
    };
    let work_dir = cmd::repo_root().join("target/bench");
    fs::create_dir_all(&work_dir)
        .with_context(|| format!("cannot create {}", work_dir.display()))?;

    let target = Target::start()?;
    let results = measure(&tools, target.pid, &work_dir)?;
    drop(target);

    let page = render(&tools, &results)?;
    let path = cmd::repo_root().join(PAGE);
    fs::write(&path, page).with_context(|| format!("cannot write {}", path.display()))?;
    eprintln!("wrote {}", path.display());
    Ok(())
}

/// Installs a Debian package when its program is missing, updating the package lists once if
/// the first install fails.
fn ensure_tool(program: &str, package: &str) -> Result<()> {
    if cmd::find_in_path(program).is_some() {
        return Ok(());
    }
    if !cmd::is_root() {
        bail!("{program} is not on PATH: run 'sudo apt-get install {package}'");
    }
    let install = || {
        cmd::run(
            Command::new("apt-get")
                .args(["install", "-y", package])
                .env("DEBIAN_FRONTEND", "noninteractive"),
        )
    };
    if install().is_err() {
        debs::update_package_lists()?;
        install().with_context(|| format!("cannot install the Debian package {package}"))?;
    }
    Ok(())
}

/// Returns a command for `program` with the dynamic loader's variables removed from its
/// environment: `cargo run` sets LD_LIBRARY_PATH for xtask, and with it every dynamically linked
/// program measured here would search cargo's target directories for its libraries first.
fn measured_command(program: impl AsRef<std::ffi::OsStr>) -> Command {
    let mut command = Command::new(program);
    for (name, _) in std::env::vars_os() {
        if name.to_string_lossy().starts_with("LD_") {
            command.env_remove(name);
        }
    }
    command
}

/// Everything measured in one run of the command.
struct Results {
    target: u32,
    sizes: Sizes,
    times: Vec<Timing>,
    syscalls: Vec<(Entry, SyscallCount)>,
    memory: Vec<(Entry, MemoryUsage)>,
}

fn measure(tools: &Tools, target: u32, work_dir: &Path) -> Result<Results> {
    eprintln!("measuring sizes");
    let sizes = measure_sizes(tools)?;
    eprintln!(
        "measuring wall time: {ROUNDS} rounds of hyperfine, {RUNS_PER_ROUND} runs per command each"
    );
    let times = measure_times(tools, target, work_dir)?;
    eprintln!("tracing system calls with strace");
    let mut syscalls = Vec::new();
    for entry in ENTRIES {
        let argv = entry.argv(tools, target, &[PROGRAM]);
        let trace_file = work_dir.join(format!("strace-{}.txt", entry.label().replace(' ', "")));
        syscalls.push((entry, trace(&argv, &trace_file)?));
    }
    eprintln!("measuring peak resident sizes");
    let mut memory = Vec::new();
    for entry in ENTRIES {
        let argv = entry.argv(tools, target, &WAITING_PROGRAM);
        memory.push((entry, median_memory(&argv)?));
    }
    Ok(Results {
        target,
        sizes,
        times,
        syscalls,
        memory,
    })
}
