//! `cargo xtask bench`: measures the release nsenter beside util-linux and busybox nsenter and writes docs/benchmarks.md.
//!
//! Every measurement enters one target of the command's own: a `sleep` that util-linux `unshare`
//! starts in new PID, mount, UTS, IPC and network namespaces. xtask kills only that target and
//! its unshare, by PID, when it finishes or fails.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::thread::sleep;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};

use crate::{build, cmd, debs};

/// Hyperfine invocations. Each one runs every command RUNS_PER_ROUND times in a row, and the
/// command order rotates by one from one round to the next, so slow drift of the machine spreads
/// over all commands instead of landing on one.
const ROUNDS: usize = 30;
const RUNS_PER_ROUND: usize = 40;
const WARMUP_RUNS: usize = 5;

/// Runs per command for the peak resident size; the page shows the median.
const MEMORY_RUNS: usize = 5;

/// The program each command line runs, as in `nsenter -t PID -a /bin/true`.
const PROGRAM: &str = "/bin/true";

/// The program of the memory runs: it must outlive the read of nsenter's /proc/PID/status.
const WAITING_PROGRAM: [&str; 2] = ["/bin/sleep", "0.2"];

const GOAL_SIZE_BYTES: u64 = 32 * 1024;
const GOAL_UTIL_LINUX_RATIO: f64 = 0.5;
const GOAL_FLOOR_RATIO: f64 = 1.15;
const GOAL_SYSCALLS: usize = 15;

/// The page this command writes, relative to the workspace root.
const PAGE: &str = "docs/benchmarks.md";

/// The reason for each system call of the release nsenter, as read from src/ when this table was written.
// NOTE: a call that src/ adds or drops later changes the generated counts but not this table.
const SYSCALL_REASONS: &[(&str, &str)] = &[
    ("arch_prctl", "musl's static start-up sets the thread pointer before `main`"),
    ("set_tid_address", "musl's static start-up, before `main`"),
    ("getuid", "rejects a set-user-ID run when the auxiliary vector lacks the ids (it never does on Linux)"),
    ("geteuid", "as getuid"),
    ("getgid", "as getuid, for the group ids"),
    ("getegid", "as getuid, for the group ids"),
    ("open", "`-a` opens /proc/self/ns to list the namespace kinds this kernel has"),
    ("getdents64", "`-a` reads the /proc/self/ns listing; the second call returns the end of the directory"),
    ("newfstatat", "`-a` stats /proc/self/ns/user and /proc/PID/ns/user to leave out a user namespace that is already ours"),
    ("pidfd_open", "opens the target"),
    ("uname", "reads the kernel release to decide whether setns(2) accepts a pidfd (Linux 5.8)"),
    ("ppoll", "with -r, -w, -e, -c or -Z: checks through the pidfd that the target whose /proc files were opened still runs"),
    ("setns", "enters all requested namespaces in one call through the pidfd"),
    ("close", "closes a namespace file after entering it"),
    ("rt_sigaction", "resets SIGCHLD to the default, so an ignored SIGCHLD cannot reap the child"),
    ("rt_sigprocmask", "blocks the forwarded signals before the fork, and the child restores the caller's mask"),
    ("clone", "the fork that a PID namespace needs: only children enter it"),
    ("rt_sigtimedwait", "the parent waits for SIGCHLD or a signal to forward"),
    ("wait4", "the parent reaps the child and reads its status"),
    ("exit_group", "the parent exits with the child's status"),
    ("execve", "runs the program in the child"),
];

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

/// The three nsenter implementations compared.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Tool {
    Ours,
    UtilLinux,
    Busybox,
}

impl Tool {
    fn name(self) -> &'static str {
        match self {
            Tool::Ours => "ours",
            Tool::UtilLinux => "util-linux",
            Tool::Busybox => "busybox",
        }
    }
}

struct Tools {
    ours: PathBuf,
    util_linux: PathBuf,
    busybox: PathBuf,
}

impl Tools {
    /// Returns the argv that starts `tool`'s nsenter, before its options.
    fn prefix(&self, tool: Tool) -> Vec<String> {
        match tool {
            Tool::Ours => vec![self.ours.display().to_string()],
            Tool::UtilLinux => vec![self.util_linux.display().to_string()],
            Tool::Busybox => vec![self.busybox.display().to_string(), "nsenter".to_string()],
        }
    }
}

/// The two namespace selections measured.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Selection {
    /// `-m -u -i -n -p --`: the namespaces the target was created with.
    Named,
    /// `-a`: every namespace of the target, cgroup and time included.
    All,
}

impl Selection {
    fn flags(self) -> &'static [&'static str] {
        match self {
            Selection::Named => &["-m", "-u", "-i", "-n", "-p", "--"],
            Selection::All => &["-a"],
        }
    }

    fn label(self) -> &'static str {
        match self {
            Selection::Named => "-m -u -i -n -p",
            Selection::All => "-a",
        }
    }
}

/// One nsenter command line: a tool entering the target with a selection of namespaces.
#[derive(Clone, Copy, PartialEq, Eq)]
struct Entry {
    tool: Tool,
    selection: Selection,
}

/// The entries measured. Busybox 1.35 nsenter has no `-a`, and it cannot enter cgroup or time
/// namespaces, so no flag set of it equals `-a`.
const ENTRIES: [Entry; 5] = [
    Entry {
        tool: Tool::Ours,
        selection: Selection::Named,
    },
    Entry {
        tool: Tool::UtilLinux,
        selection: Selection::Named,
    },
    Entry {
        tool: Tool::Busybox,
        selection: Selection::Named,
    },
    Entry {
        tool: Tool::Ours,
        selection: Selection::All,
    },
    Entry {
        tool: Tool::UtilLinux,
        selection: Selection::All,
    },
];

impl Entry {
    fn label(self) -> String {
        format!("{} {}", self.tool.name(), self.selection.label())
    }

    /// Returns the full argv that enters `target` and runs `program` there.
    fn argv(self, tools: &Tools, target: u32, program: &[&str]) -> Vec<String> {
        let mut argv = tools.prefix(self.tool);
        argv.push("-t".to_string());
        argv.push(target.to_string());
        argv.extend(self.selection.flags().iter().map(|flag| flag.to_string()));
        argv.extend(program.iter().map(|arg| arg.to_string()));
        argv
    }
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

/// The namespaced `sleep` that every command enters, and the `unshare` that started it.
struct Target {
    unshare: Child,
    pid: u32,
}

impl Target {
    fn start() -> Result<Target> {
        let mut unshare = Command::new("unshare");
        unshare
            .args([
                "--fork",
                "--kill-child",
                "--pid",
                "--mount-proc",
                "--uts",
                "--ipc",
                "--net",
                "--mount",
            ])
            .args(["sleep", "600"])
            .stdin(Stdio::null());
        let line = cmd::display(&unshare);
        eprintln!("$ {line}");
        let mut child = unshare
            .spawn()
            .with_context(|| format!("cannot run `{line}`: is util-linux's unshare installed?"))?;
        match wait_for_child(&mut child, "sleep") {
            Ok(pid) => Ok(Target {
                unshare: child,
                pid,
            }),
            Err(error) => {
                // `child` is the unshare started above. Killing it by its PID ends its child too,
                // because --kill-child makes the kernel send SIGKILL to that child when unshare dies.
                let _ = child.kill();
                let _ = child.wait();
                Err(error.context("cannot start the target"))
            }
        }
    }
}

impl Drop for Target {
    fn drop(&mut self) {
        // The target is PID 1 of its PID namespace, so only SIGKILL ends it from outside.
        let pid = self.pid.to_string();
        if let Err(error) = cmd::run(Command::new("kill").args(["-KILL", &pid])) {
            eprintln!("xtask: cannot kill the target {pid}: {error:#}");
        }
        let _ = self.unshare.kill();
        let _ = self.unshare.wait();
    }
}

/// Waits until `parent`'s first child runs the program `comm` and returns the child's PID.
fn wait_for_child(parent: &mut Child, comm: &str) -> Result<u32> {
    let parent_pid = parent.id();
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        if let Some(status) = parent.try_wait()? {
            bail!("process {parent_pid} exited before its child ran {comm}: {status}");
        }
        if let Some(child) = first_child(parent_pid) {
            let child_comm = fs::read_to_string(format!("/proc/{child}/comm")).unwrap_or_default();
            if child_comm.trim() == comm {
                return Ok(child);
            }
        }
        sleep(Duration::from_millis(2));
    }
    bail!("no child of process {parent_pid} ran {comm} within 10 s")
}

fn first_child(pid: u32) -> Option<u32> {
    fs::read_to_string(format!("/proc/{pid}/task/{pid}/children"))
        .ok()?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
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

/// File sizes in bytes.
struct Sizes {
    ours: u64,
    busybox: u64,
    /// /usr/bin/nsenter and each shared library it loads, symlinks resolved.
    util_linux: Vec<(PathBuf, u64)>,
    /// `size -A` of our binary: section name and size in bytes.
    ours_sections: Vec<(String, u64)>,
}

fn measure_sizes(tools: &Tools) -> Result<Sizes> {
    let ldd = cmd::output(Command::new("ldd").arg(&tools.util_linux))?;
    let mut files = vec![tools.util_linux.clone()];
    files.extend(parse_ldd(&ldd));
    let mut seen = BTreeSet::new();
    let mut util_linux = Vec::new();
    for file in files {
        let real = fs::canonicalize(&file)
            .with_context(|| format!("cannot resolve {}", file.display()))?;
        if seen.insert(real.clone()) {
            let bytes = file_size(&real)?;
            util_linux.push((real, bytes));
        }
    }
    let sections = cmd::output(Command::new("size").arg("-A").arg(&tools.ours))
        .context("cannot list the sections of the release binary: is binutils installed?")?;
    Ok(Sizes {
        ours: file_size(&tools.ours)?,
        busybox: file_size(&tools.busybox)?,
        util_linux,
        ours_sections: parse_size_sections(&sections),
    })
}

fn file_size(path: &Path) -> Result<u64> {
    Ok(fs::metadata(path)
        .with_context(|| format!("cannot stat {}", path.display()))?
        .len())
}

/// Returns the library paths in `ldd` output: the vDSO has none and is left out.
fn parse_ldd(text: &str) -> Vec<PathBuf> {
    text.lines()
        .filter_map(|line| {
            let line = line.trim();
            let path = match line.split_once("=>") {
                Some((_, resolved)) => resolved.split_whitespace().next()?,
                None => line.split_whitespace().next()?,
            };
            path.starts_with('/').then(|| PathBuf::from(path))
        })
        .collect()
}

/// Returns the sections of `size -A` output that take bytes.
fn parse_size_sections(text: &str) -> Vec<(String, u64)> {
    text.lines()
        .filter_map(|line| {
            let mut fields = line.split_whitespace();
            let name = fields.next()?;
            let bytes: u64 = fields.next()?.parse().ok()?;
            (name.starts_with('.') && bytes > 0).then(|| (name.to_string(), bytes))
        })
        .collect()
}

/// The wall times of one command line, in seconds, pooled over all rounds.
struct Timing {
    label: String,
    argv: Vec<String>,
    /// The entry this command line measures, or None for a reference command.
    entry: Option<Entry>,
    seconds: Vec<f64>,
}

/// Returns the command lines timed: the floor, start-up alone, one entry without a fork, then
/// the entries.
fn timed_commands(tools: &Tools, target: u32) -> Vec<Timing> {
    let timing = |label: String, argv: Vec<String>, entry| Timing {
        label,
        argv,
        entry,
        seconds: Vec::new(),
    };
    let mut commands = vec![
        timing("floor".to_string(), vec![PROGRAM.to_string()], None),
        timing(
            "ours --version".to_string(),
            vec![tools.ours.display().to_string(), "--version".to_string()],
            None,
        ),
        timing(
            "util-linux --version".to_string(),
            vec![
                tools.util_linux.display().to_string(),
                "--version".to_string(),
            ],
            None,
        ),
    ];
    let mut no_fork = tools.prefix(Tool::Ours);
    no_fork.extend(
        [
            "-t",
            &target.to_string(),
            "-m",
            "-u",
            "-i",
            "-n",
            "--",
            PROGRAM,
        ]
        .map(String::from),
    );
    commands.push(timing(
        "ours -m -u -i -n (no fork)".to_string(),
        no_fork,
        None,
    ));
    for entry in ENTRIES {
        commands.push(timing(
            entry.label(),
            entry.argv(tools, target, &[PROGRAM]),
            Some(entry),
        ));
    }
    commands
}

fn measure_times(tools: &Tools, target: u32, work_dir: &Path) -> Result<Vec<Timing>> {
    let mut commands = timed_commands(tools, target);
    for argv in commands.iter().flat_map(|command| &command.argv) {
        if argv.contains(char::is_whitespace) || argv.contains(['\'', '"', '\\']) {
            bail!("hyperfine -N splits commands at spaces and quotes, which '{argv}' contains: move the checkout to a plain path");
        }
    }
    let json = work_dir.join("hyperfine.json");
    for round in 0..ROUNDS {
        let order: Vec<usize> = (0..commands.len())
            .map(|index| (index + round) % commands.len())
            .collect();
        let mut hyperfine = measured_command("hyperfine");
        hyperfine
            .args(["-N", "--style", "none"])
            .args([
                "--warmup",
                &WARMUP_RUNS.to_string(),
                "--runs",
                &RUNS_PER_ROUND.to_string(),
            ])
            .arg("--export-json")
            .arg(&json);
        for &index in &order {
            hyperfine.arg(commands[index].argv.join(" "));
        }
        cmd::output(&mut hyperfine).context("hyperfine failed")?;
        let text =
            fs::read_to_string(&json).with_context(|| format!("cannot read {}", json.display()))?;
        let times = parse_hyperfine_times(&text);
        if times.len() != order.len() {
            bail!(
                "{} contains {} results for {} commands",
                json.display(),
                times.len(),
                order.len()
            );
        }
        for (index, seconds) in order.into_iter().zip(times) {
            commands[index].seconds.extend(seconds);
        }
    }
    Ok(commands)
}

/// Returns the `"times"` array of each result in hyperfine's JSON export, in command order.
fn parse_hyperfine_times(json: &str) -> Vec<Vec<f64>> {
    json.split("\"times\"")
        .skip(1)
        .filter_map(|rest| {
            let open = rest.find('[')?;
            let close = rest.find(']')?;
            let numbers = rest.get(open + 1..close)?;
            Some(
                numbers
                    .split(',')
                    .filter_map(|number| number.trim().parse().ok())
                    .collect(),
            )
        })
        .collect()
}

/// The median and spread of a sample.
struct Summary {
    median: f64,
    p25: f64,
    p75: f64,
    min: f64,
    max: f64,
}

impl Summary {
    fn of(sample: &[f64]) -> Summary {
        let mut sorted = sample.to_vec();
        sorted.sort_by(f64::total_cmp);
        Summary {
            median: percentile(&sorted, 0.5),
            p25: percentile(&sorted, 0.25),
            p75: percentile(&sorted, 0.75),
            min: sorted.first().copied().unwrap_or(f64::NAN),
            max: sorted.last().copied().unwrap_or(f64::NAN),
        }
    }
}

/// Returns the `q` quantile of a sorted sample, interpolating linearly between ranks.
fn percentile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = q * (sorted.len() - 1) as f64;
    let below = rank.floor() as usize;
    let above = rank.ceil() as usize;
    sorted[below] + (sorted[above] - sorted[below]) * (rank - below as f64)
}

/// The system calls that nsenter makes itself, per name.
#[derive(Default)]
struct SyscallCount {
    by_name: BTreeMap<String, usize>,
    /// brk calls and anonymous mmap calls: heap or other private memory.
    heap: usize,
    /// The counted strace lines, in order, shortened.
    lines: Vec<String>,
}

impl SyscallCount {
    fn total(&self) -> usize {
        self.by_name.values().sum()
    }
}

/// Runs `argv` under `strace -f` into `trace_file` and counts nsenter's own calls.
fn trace(argv: &[String], trace_file: &Path) -> Result<SyscallCount> {
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

/// Memory of the nsenter process while it waits for the program, from /proc/PID/status, in KiB.
#[derive(Clone, Copy)]
struct MemoryUsage {
    /// VmHWM: the peak resident set size.
    peak_kib: u64,
    /// RssAnon: resident anonymous memory (heap, stack, data written to).
    anon_kib: u64,
    /// RssFile: resident pages mapped from files (the binary and its libraries).
    file_kib: u64,
}

/// Measures `argv` MEMORY_RUNS times and returns the run with the median peak.
fn median_memory(argv: &[String]) -> Result<MemoryUsage> {
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

/// Facts about the machine and the software measured.
struct Machine {
    date: String,
    cpu: String,
    cores: String,
    kernel: String,
    commit: String,
    util_linux: String,
    busybox: String,
    hyperfine: String,
    strace: String,
    /// LC_ALL, else LANG, of the measured commands' environment.
    locale: String,
}

fn describe_machine(tools: &Tools) -> Result<Machine> {
    let first_line = |text: String| text.lines().next().unwrap_or("").trim().to_string();
    let cpuinfo = fs::read_to_string("/proc/cpuinfo").context("cannot read /proc/cpuinfo")?;
    let cpu = cpuinfo
        .lines()
        .find_map(|line| line.strip_prefix("model name")?.split_once(':'))
        .map(|(_, model)| model.trim().to_string())
        .unwrap_or_else(|| "unknown".to_string());
    let kernel = fs::read_to_string("/proc/sys/kernel/osrelease")
        .context("cannot read /proc/sys/kernel/osrelease")?;
    // busybox without an applet name prints its version and usage. Its exit status is not checked
    // because it is no part of what this command measures.
    let busybox = Command::new(&tools.busybox)
        .output()
        .with_context(|| format!("cannot run {}", tools.busybox.display()))?;
    let commit = describe_commit();
    Ok(Machine {
        date: first_line(cmd::output(
            Command::new("date").args(["-u", "+%Y-%m-%d %H:%M UTC"]),
        )?),
        cpu,
        cores: first_line(cmd::output(&mut Command::new("nproc"))?),
        kernel: kernel.trim().to_string(),
        commit,
        util_linux: first_line(cmd::output(
            Command::new(&tools.util_linux).arg("--version"),
        )?),
        busybox: first_line(String::from_utf8_lossy(&busybox.stdout).into_owned()),
        hyperfine: first_line(cmd::output(Command::new("hyperfine").arg("--version"))?),
        locale: locale(),
        strace: first_line(cmd::output(Command::new("strace").arg("-V"))?),
    })
}

fn locale() -> String {
    ["LC_ALL", "LANG"]
        .iter()
        .find_map(|name| {
            let value = std::env::var(name).ok().filter(|value| !value.is_empty())?;
            Some(format!("{name}={value}"))
        })
        .unwrap_or_else(|| "LANG and LC_ALL unset".to_string())
}

/// Returns the commit of the source and whether the files the binary is built from differ from it.
fn describe_commit() -> String {
    let git =
        |args: &[&str]| cmd::output(Command::new("git").args(args).current_dir(cmd::repo_root()));
    let Ok(commit) = git(&["rev-parse", "--short", "HEAD"]) else {
        return "unknown (no git checkout)".to_string();
    };
    // --no-optional-locks keeps git status from rewriting the index while it reads.
    let changes = git(&[
        "--no-optional-locks",
        "status",
        "--porcelain",
        "--",
        "src",
        "build.rs",
        "Cargo.toml",
        "Cargo.lock",
        ".cargo",
    ]);
    let state = match changes {
        Ok(text) if text.trim().is_empty() => "no uncommitted changes in the binary's sources",
        Ok(_) => "with uncommitted changes in the binary's sources",
        Err(_) => "uncommitted changes unknown",
    };
    format!("commit {}, {state}", commit.trim())
}

fn render(tools: &Tools, results: &Results) -> Result<String> {
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
    writeln!(page, "Written by `cargo xtask bench`, run as root from the workspace root. Run it again to refresh every number on this page.\n")?;

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
    writeln!(page, "The target is a `sleep 600` started with `unshare --fork --kill-child --pid --mount-proc --uts --ipc --net --mount sleep 600`, and PID {} below is that `sleep`. It shares the host's root filesystem, so `{PROGRAM}` exists in its mount namespace. Paths are relative to the workspace root.\n", results.target)?;
    writeln!(page, "| label | command line |\n|---|---|")?;
    for timing in &results.times {
        let argv: Vec<String> = timing.argv.iter().map(|arg| relative_path(arg)).collect();
        writeln!(page, "| {} | `{}` |", timing.label, argv.join(" "))?;
    }
    writeln!(page)?;
    writeln!(page, "Busybox 1.35 `nsenter` has no `-a` and cannot enter cgroup or time namespaces, so no flag set of it equals `-a`, and the page has no busybox `-a` row.\n")?;
    Ok(())
}

/// Returns `path` relative to the workspace root when it lies inside it.
fn relative_path(path: &str) -> String {
    let root = cmd::repo_root().display().to_string() + "/";
    path.strip_prefix(&root).unwrap_or(path).to_string()
}

/// Returns the median wall time of `label`, in seconds.
fn median_of(results: &Results, label: &str) -> f64 {
    results
        .times
        .iter()
        .find(|timing| timing.label == label)
        .map(|timing| Summary::of(&timing.seconds).median)
        .unwrap_or(f64::NAN)
}

fn median_of_entry(results: &Results, entry: Entry) -> f64 {
    median_of(results, &entry.label())
}

fn syscalls_of(results: &Results, entry: Entry) -> Option<&SyscallCount> {
    results
        .syscalls
        .iter()
        .find(|(measured, _)| *measured == entry)
        .map(|(_, count)| count)
}

/// Formats whether `measured` is at most `goal`, and by how much it misses.
fn verdict(measured: f64, goal: f64) -> String {
    if measured <= goal {
        return "met".to_string();
    }
    let over = (measured / goal - 1.0) * 100.0;
    format!("missed by {:.2} ({over:.0} % over)", measured - goal)
}

fn ours(selection: Selection) -> Entry {
    Entry {
        tool: Tool::Ours,
        selection,
    }
}

fn util_linux(selection: Selection) -> Entry {
    Entry {
        tool: Tool::UtilLinux,
        selection,
    }
}

fn render_goals(page: &mut String, results: &Results) -> Result<()> {
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
        writeln!(page, "| `{flags}`: median wall time at most {GOAL_UTIL_LINUX_RATIO} of util-linux's | {to_util_linux:.3} | {} |", verdict(to_util_linux, GOAL_UTIL_LINUX_RATIO))?;
        writeln!(page, "| `{flags}`: median wall time at most {GOAL_FLOOR_RATIO} of the floor | {to_floor:.3} | {} |", verdict(to_floor, GOAL_FLOOR_RATIO))?;
    }

    if let Some(count) = syscalls_of(results, ours(Selection::All)) {
        let total = count.total();
        let result = if total <= GOAL_SYSCALLS {
            "met".to_string()
        } else {
            format!("missed by {} calls", total - GOAL_SYSCALLS)
        };
        writeln!(page, "| `-a`: at most {GOAL_SYSCALLS} system calls of its own, fork and wait included | {total} | {result} |")?;
    }

    let heap: usize = results
        .syscalls
        .iter()
        .filter(|(entry, _)| entry.tool == Tool::Ours)
        .map(|(_, count)| count.heap)
        .sum();
    let heap_result = if heap == 0 { "met" } else { "missed" };
    writeln!(page, "| no heap: no brk or anonymous mmap before the program runs | {heap} calls | {heap_result} |")?;
    writeln!(page)?;
    Ok(())
}

fn kib(bytes: u64) -> String {
    format!("{:.1} KiB", bytes as f64 / 1024.0)
}

fn render_sizes(page: &mut String, results: &Results) -> Result<()> {
    let sizes = &results.sizes;
    let util_linux_total: u64 = sizes.util_linux.iter().map(|(_, bytes)| bytes).sum();

    writeln!(page, "## Size\n")?;
    writeln!(page, "File sizes on disk. util-linux's `nsenter` is dynamically linked, so its row adds the shared libraries that `ldd /usr/bin/nsenter` lists (the vDSO has no file), with symlinks resolved.\n")?;
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

    writeln!(page, "Sections of ours as `size -A` lists them. `.bss` takes memory at run time but no bytes in the file.\n")?;
    writeln!(page, "| section | bytes |\n|---|---:|")?;
    for (name, bytes) in &sizes.ours_sections {
        writeln!(page, "| `{name}` | {bytes} |")?;
    }
    writeln!(page)?;
    Ok(())
}

fn render_times(page: &mut String, results: &Results) -> Result<()> {
    writeln!(page, "## Wall time\n")?;
    writeln!(page, "Measured with `hyperfine -N` (no shell, so each run is one fork and execve by hyperfine plus the command) in {ROUNDS} rounds. Each round is one hyperfine invocation that runs every command {WARMUP_RUNS} times as warm-up and then {RUNS_PER_ROUND} times in a row, one command after another. The order of the commands rotates by one from round to round, so the runs of all commands interleave in blocks. The statistics pool all {} runs of a command. Variables starting with `LD_` are removed from the environment of every measured command, because `cargo run` sets LD_LIBRARY_PATH for xtask and the dynamically linked programs would search it. The floor is `{PROGRAM}` started directly, which every command line here ends by running.\n", ROUNDS * RUNS_PER_ROUND)?;
    writeln!(page, "| command | median ms | p25–p75 ms | min–max ms | ÷ util-linux | ÷ floor |\n|---|---:|---:|---:|---:|---:|")?;
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
    writeln!(page, "From `strace -f -qq -e trace=all -e signal=none`, one run per command line. Counted are the calls of the nsenter process and of the child it forks, from the first call after nsenter's own execve up to and including the execve of `{PROGRAM}`. The parent's calls after that execve, waiting for the child and exiting, count too. Not counted are nsenter's own execve and everything `{PROGRAM}` does. The heap row counts brk calls and anonymous mmap calls among them. The raw traces are in target/bench/.\n")?;
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
    writeln!(page, "Each command line runs `{}` in place of `{PROGRAM}`. Once the forked child has become `sleep`, xtask reads the nsenter process's own /proc/PID/status, which then covers all of nsenter's work and none of the program's. VmHWM is the peak resident set size. RssAnon and RssFile split the current one into anonymous pages (heap, stack, written data) and pages mapped from files (the binary and its libraries). Median of {MEMORY_RUNS} runs by VmHWM. All three tools fork for `-p`, so each row is the waiting parent.\n", WAITING_PROGRAM.join(" "))?;
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
        write!(page, " `.rela.dyn`, `.data.rel.ro`, `.got` and `.dynamic` ({relocations} bytes together) exist because the binary is a static position-independent executable that relocates itself at start-up.")?;
    }
    let unwind = section(".eh_frame") + section(".eh_frame_hdr");
    if unwind > 0 {
        write!(page, " `.eh_frame` and `.eh_frame_hdr` ({unwind} bytes) are unwind tables, which only debuggers and profilers read because panics abort.")?;
    }
    writeln!(page, "\n")?;
    Ok(())
}

fn render_misses(page: &mut String, results: &Results) -> Result<()> {
    writeln!(page, "## Why goals are missed\n")?;
    render_size_miss(page, &results.sizes)?;
    let floor = median_of(results, "floor");
    let startup = median_of(results, "ours --version");
    let no_fork = median_of(results, "ours -m -u -i -n (no fork)");
    let ms = |seconds: f64| seconds * 1000.0;
    writeln!(page, "**Time against the floor.** The floor runs `{PROGRAM}` once. Every nsenter command line runs two programs, nsenter and then `{PROGRAM}`, and forks once more for `-p`. Starting ours and exiting at once (`ours --version`) takes {:.3} ms, {:.2} of the floor, while the goal allows {:.3} ms above the floor for all of nsenter's work. Entering the namespaces without the fork (`ours -m -u -i -n`) takes {:.3} ms, {:.2} of the floor; the fork, the entry into the PID namespace and the wait for the child add the rest.\n",
        ms(startup), startup / floor, ms(floor * (GOAL_FLOOR_RATIO - 1.0)), ms(no_fork), no_fork / floor)?;

    let Some(count) = syscalls_of(results, ours(Selection::All)) else {
        return Ok(());
    };
    let total = count.total();
    if total > GOAL_SYSCALLS {
        let startup = count
            .by_name
            .iter()
            .filter(|(name, _)| *name == "arch_prctl" || *name == "set_tid_address")
            .map(|(_, calls)| calls)
            .sum::<usize>();
        writeln!(page, "**System calls of `-a`.** Ours makes {total} calls, {} over the goal of {GOAL_SYSCALLS}. {startup} of them are musl's start-up before `main`, which leaves {} of nsenter's own. Per call, with the reason from the source:\n", total - GOAL_SYSCALLS, total - startup)?;
        writeln!(page, "| system call | calls | reason |\n|---|---:|---|")?;
        for (name, calls) in &count.by_name {
            let reason = SYSCALL_REASONS
                .iter()
                .find(|(known, _)| known == name)
                .map_or(
                    "not in the table of reasons in xtask/src/bench.rs",
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

#[cfg(test)]
mod tests {
    use super::*;

    const TRACE: &str = r#"100 execve("/usr/bin/nsenter", ["nsenter", "-t", "5", "-a", "/bin/true"], 0x7ffd /* 3 vars */) = 0
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
"#;

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
        let trace = "7 execve(\"/x\", [\"x\"], 0x1) = 0\n8 execve(\"/a\", [\"a\"], 0x1) = -1 ENOENT (No such file or directory)\n8 execve(\"/b\", [\"b\"], 0x1) = 0\n8 brk(NULL) = 0x1\n";
        let count = count_own_syscalls(trace);
        assert_eq!(count.by_name.get("execve"), Some(&2));
        assert_eq!(count.by_name.get("brk"), None);
    }

    #[test]
    fn ldd_paths_parsed() {
        let text = "\tlinux-vdso.so.1 (0x00007ffd)\n\tlibselinux.so.1 => /lib/x86_64-linux-gnu/libselinux.so.1 (0x00007f)\n\t/lib64/ld-linux-x86-64.so.2 (0x00007f)\n";
        assert_eq!(
            parse_ldd(text),
            [
                PathBuf::from("/lib/x86_64-linux-gnu/libselinux.so.1"),
                PathBuf::from("/lib64/ld-linux-x86-64.so.2")
            ]
        );
    }

    #[test]
    fn hyperfine_times_parsed() {
        let json = r#"{"results": [{"command": "a", "times": [0.5, 0.25], "exit_codes": [0, 0]}, {"command": "b", "times": [
  1.0
]}]}"#;
        assert_eq!(parse_hyperfine_times(json), [vec![0.5, 0.25], vec![1.0]]);
    }

    #[test]
    fn percentile_interpolates() {
        let sorted = [1.0, 2.0, 3.0, 4.0];
        assert_eq!(percentile(&sorted, 0.0), 1.0);
        assert_eq!(percentile(&sorted, 0.5), 2.5);
        assert_eq!(percentile(&sorted, 1.0), 4.0);
    }

    #[test]
    fn size_sections_parsed() {
        let text = "nsenter  :\nsection   size   addr\n.text    3000   4096\n.bss     0      0\nTotal    3000\n";
        assert_eq!(parse_size_sections(text), [(".text".to_string(), 3000)]);
    }
}
