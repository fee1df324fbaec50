//! Shared helpers for the integration tests: the binary under test, a root
//! check, targets started in chosen namespaces, and a run helper with a
//! timeout.
//!
//! Every target is owned by a guard that kills it by PID with SIGKILL and
//! reaps its launcher in `Drop`, so a failed assertion never leaves a
//! process behind. The API is shared by several test files: add functions,
//! do not rename or change the existing ones.

#![allow(dead_code)]

use std::ffi::OsStr;
use std::fs;
use std::io::Read;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread;
use std::time::{Duration, Instant};

extern "C" {
    fn geteuid() -> u32;
    fn kill(pid: i32, signal: i32) -> i32;
}

pub const SIGKILL: i32 = 9;

/// Maximum wall time of one command run through `run`.
pub const RUN_TIMEOUT: Duration = Duration::from_secs(20);

/// Maximum time a target may take to finish its setup and exec `sleep`.
pub const TARGET_SETUP_TIMEOUT: Duration = Duration::from_secs(10);

/// Returns the nsenter under test: `$NSENTER_BIN` when set and not empty
/// (xtask points it at the release build, and it may name
/// `/usr/bin/nsenter` to check the tests themselves), else the binary that
/// cargo built for this test run.
pub fn nsenter_bin() -> PathBuf {
    match std::env::var_os("NSENTER_BIN") {
        Some(path) if !path.is_empty() => PathBuf::from(path),
        _ => PathBuf::from(env!("CARGO_BIN_EXE_nsenter")),
    }
}

/// Returns the util-linux nsenter used as the reference, when installed.
pub fn reference_bin() -> Option<PathBuf> {
    let path = PathBuf::from("/usr/bin/nsenter");
    path.exists().then_some(path)
}

/// Returns true when the binary under test is util-linux's rather than
/// ours, so tests of deliberate differences can state what they expect.
pub fn testing_reference() -> bool {
    reference_bin().is_some_and(|reference| nsenter_bin() == reference)
}

pub fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { geteuid() == 0 }
}

/// Returns from the calling test, with a printed reason, unless the tests
/// run as root (every namespace operation here needs root).
#[macro_export]
macro_rules! require_root {
    () => {
        if !$crate::common::is_root() {
            eprintln!("skipped {}: needs root", module_path!());
            return;
        }
    };
}

/// Exit status and captured output of one finished command.
#[derive(Debug)]
pub struct Outcome {
    pub status: ExitStatus,
    pub stdout: String,
    pub stderr: String,
}

impl Outcome {
    /// Exit code, or `None` when the process died of a signal.
    pub fn code(&self) -> Option<i32> {
        self.status.code()
    }

    /// Signal that killed the process, if any.
    pub fn signal(&self) -> Option<i32> {
        self.status.signal()
    }

    /// Returns the stderr lines without their line ends.
    pub fn stderr_lines(&self) -> Vec<&str> {
        self.stderr.lines().collect()
    }
}

/// Runs `command` with stdin from /dev/null (unless the caller set it) and
/// captured stdout and stderr, and panics when it runs longer than
/// `RUN_TIMEOUT` (after killing it).
pub fn run(command: &mut Command) -> Outcome {
    run_with_timeout(command, RUN_TIMEOUT)
}

pub fn run_with_timeout(command: &mut Command, timeout: Duration) -> Outcome {
    let description = format!("{command:?}");
    let mut child = command
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|error| panic!("failed to spawn {description}: {error}"));

    // Both pipes are drained on threads so a chatty program cannot block on
    // a full pipe while we wait for it.
    let mut stdout_pipe = child.stdout.take().expect("stdout is piped");
    let mut stderr_pipe = child.stderr.take().expect("stderr is piped");
    let stdout_reader = thread::spawn(move || {
        let mut bytes = Vec::new();
        let _ = stdout_pipe.read_to_end(&mut bytes);
        bytes
    });
    let stderr_reader = thread::spawn(move || {
        let mut bytes = Vec::new();
        let _ = stderr_pipe.read_to_end(&mut bytes);
        bytes
    });

    let deadline = Instant::now() + timeout;
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if Instant::now() < deadline => thread::sleep(Duration::from_millis(5)),
            Ok(None) => {
                let _ = child.kill();
                let _ = child.wait();
                panic!("timed out after {timeout:?}: {description}");
            }
            Err(error) => panic!("failed to wait for {description}: {error}"),
        }
    };

    let stdout = stdout_reader.join().expect("stdout reader panicked");
    let stderr = stderr_reader.join().expect("stderr reader panicked");
    Outcome {
        status,
        stdout: String::from_utf8_lossy(&stdout).into_owned(),
        stderr: String::from_utf8_lossy(&stderr).into_owned(),
    }
}

/// Returns a command for the binary under test with `args`, argv[0]
/// `nsenter` and stdin from /dev/null. util-linux prefixes its getopt
/// messages with argv[0], so a fixed argv[0] keeps stderr comparable.
pub fn nsenter_command<S: AsRef<OsStr>>(args: &[S]) -> Command {
    binary_command(&nsenter_bin(), args)
}

/// Runs the binary under test with `args`.
pub fn nsenter<S: AsRef<OsStr>>(args: &[S]) -> Outcome {
    run(&mut nsenter_command(args))
}

/// Returns a command for `binary` (ours or the reference) with `args`,
/// argv[0] `nsenter` and stdin from /dev/null.
pub fn binary_command<S: AsRef<OsStr>>(binary: &Path, args: &[S]) -> Command {
    let mut command = Command::new(binary);
    command.arg0("nsenter").args(args).stdin(Stdio::null());
    command
}

/// Runs `binary` (ours or the reference) with `args` and argv[0] `nsenter`.
pub fn run_binary<S: AsRef<OsStr>>(binary: &Path, args: &[S]) -> Outcome {
    run(&mut binary_command(binary, args))
}

/// Returns the `/proc/PID/ns/KIND` link of a process, e.g. `net:[4026531840]`.
pub fn ns_of(pid: u32, kind: &str) -> String {
    read_link(&format!("/proc/{pid}/ns/{kind}"))
}

/// Returns the `/proc/self/ns/KIND` link of the test process.
pub fn own_ns(kind: &str) -> String {
    read_link(&format!("/proc/self/ns/{kind}"))
}

fn read_link(path: &str) -> String {
    fs::read_link(path)
        .unwrap_or_else(|error| panic!("failed to read link {path}: {error}"))
        .to_string_lossy()
        .into_owned()
}

/// Sends SIGKILL to `pid`, ignoring a process that is already gone.
pub fn kill_pid(pid: u32) {
    // SAFETY: kill has no memory preconditions; the PID is one that the
    // calling test started.
    unsafe {
        kill(pid as i32, SIGKILL);
    }
}

/// Sends `signal` to `pid`, which must be a process the calling test started.
pub fn send_signal(pid: u32, signal: i32) -> bool {
    // SAFETY: as in kill_pid.
    unsafe { kill(pid as i32, signal) == 0 }
}

/// Returns the parent PID of `pid` from `/proc/PID/stat`, or `None` when
/// the process is gone.
pub fn parent_pid(pid: u32) -> Option<u32> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name in field 2 may contain spaces and parentheses, so
    // the fields after it are found from the last ')'.
    let after_name = &stat[stat.rfind(')')? + 1..];
    after_name.split_whitespace().nth(1)?.parse().ok()
}

/// Returns the PIDs of the children of `pid` by scanning `/proc` (this
/// kernel may lack `/proc/PID/task/TID/children`).
pub fn children_of(pid: u32) -> Vec<u32> {
    let mut children = Vec::new();
    let Ok(entries) = fs::read_dir("/proc") else {
        return children;
    };
    for entry in entries.flatten() {
        let Some(candidate) = entry
            .file_name()
            .to_str()
            .and_then(|name| name.parse().ok())
        else {
            continue;
        };
        if parent_pid(candidate) == Some(pid) {
            children.push(candidate);
        }
    }
    children
}

/// Returns the command name (`/proc/PID/comm`) of `pid`, or `None` when gone.
pub fn command_name(pid: u32) -> Option<String> {
    let comm = fs::read_to_string(format!("/proc/{pid}/comm")).ok()?;
    Some(comm.trim_end().to_string())
}

/// A process started by a test to be entered, and the launcher that
/// started it. Dropping it kills both by PID and reaps the launcher.
pub struct Target {
    /// PID of the `sleep` process whose namespaces the tests enter.
    pub pid: u32,
    launcher: Child,
}

impl Target {
    /// Starts `argv`, which must end by running `sleep` (for example
    /// `unshare --uts sleep 1000`, or `sh -c 'setup; exec sleep 1000'`),
    /// and waits until a process named `sleep` exists: the launcher itself
    /// or one of its descendants (up to three levels down, which covers
    /// `unshare --fork`). Its setup is then complete because it has
    /// exec'd.
    pub fn spawn<S: AsRef<OsStr>>(argv: &[S]) -> Target {
        let mut command = Command::new(&argv[0]);
        command
            .args(&argv[1..])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        Target::spawn_command(command)
    }

    /// Like `spawn`, for a prepared command. Stdout and stderr are left as
    /// the caller set them.
    pub fn spawn_command(mut command: Command) -> Target {
        let description = format!("{command:?}");
        let mut launcher = command
            .spawn()
            .unwrap_or_else(|error| panic!("failed to spawn target {description}: {error}"));
        let launcher_pid = launcher.id();
        let deadline = Instant::now() + TARGET_SETUP_TIMEOUT;
        loop {
            if let Some(pid) = find_sleep(launcher_pid, 3) {
                return Target { pid, launcher };
            }
            if let Ok(Some(status)) = launcher.try_wait() {
                let mut stderr = String::new();
                if let Some(mut pipe) = launcher.stderr.take() {
                    let _ = pipe.read_to_string(&mut stderr);
                }
                panic!("target {description} exited during setup with {status}: {stderr}");
            }
            if Instant::now() >= deadline {
                kill_tree(launcher_pid, 3);
                let _ = launcher.kill();
                let _ = launcher.wait();
                panic!("target {description} did not exec sleep within {TARGET_SETUP_TIMEOUT:?}");
            }
            thread::sleep(Duration::from_millis(5));
        }
    }

    /// Starts `unshare FLAGS sleep 1000`. Pass `--fork` with `--pid` so the
    /// target is PID 1 of its new PID namespace.
    pub fn unshare(flags: &[&str]) -> Target {
        let mut argv = vec!["unshare"];
        argv.extend_from_slice(flags);
        argv.extend_from_slice(&["sleep", "1000"]);
        Target::spawn(&argv)
    }

    /// Starts a target in a new user namespace that maps root to the
    /// caller (`unshare --user --map-root-user`) plus the namespaces in
    /// `flags`, which the new user namespace owns.
    pub fn user_namespace(flags: &[&str]) -> Target {
        let mut all_flags = vec!["--user", "--map-root-user"];
        all_flags.extend_from_slice(flags);
        Target::unshare(&all_flags)
    }

    /// Starts a target in a new user namespace (plus the namespaces in
    /// `flags`) whose `uid_map` and `gid_map` the test writes from outside,
    /// e.g. `"0 100000 65536"`, which leaves our own root unmapped.
    /// `setgroups` stays allowed. The target then runs `after_maps`, a
    /// shell command line that must end by running `sleep`.
    pub fn user_namespace_with_maps(
        flags: &[&str],
        uid_map: &str,
        gid_map: &str,
        after_maps: &str,
    ) -> Target {
        let script = format!("read line; {after_maps}");
        let mut command = Command::new("unshare");
        command
            .arg("--user")
            .args(flags)
            .args(["sh", "-c", &script])
            .stdin(Stdio::piped())
            .stdout(Stdio::null());
        let mut launcher = command.spawn().expect("spawn unshare --user");
        let pid = launcher.id();

        // The guard kills the launcher if setup fails below, so no target is
        // left behind.
        let mut stdin = launcher.stdin.take().expect("stdin is piped");
        let pending = Target { pid, launcher };
        let own_user = own_ns("user");
        let deadline = Instant::now() + TARGET_SETUP_TIMEOUT;
        while fs::read_link(format!("/proc/{pid}/ns/user"))
            .ok()
            .map(|link| link.to_string_lossy().into_owned())
            == Some(own_user.clone())
        {
            assert!(
                Instant::now() < deadline,
                "unshare --user did not unshare within {TARGET_SETUP_TIMEOUT:?}"
            );
            thread::sleep(Duration::from_millis(5));
        }
        fs::write(format!("/proc/{pid}/uid_map"), uid_map).expect("write uid_map");
        fs::write(format!("/proc/{pid}/gid_map"), gid_map).expect("write gid_map");
        std::io::Write::write_all(&mut stdin, b"go\n").expect("release the target");

        let mut target = pending;
        while find_sleep(pid, 3).is_none() {
            if let Ok(Some(status)) = target.launcher.try_wait() {
                panic!("user namespace target exited during setup with {status}: {after_maps}");
            }
            assert!(
                Instant::now() < deadline,
                "user namespace target did not exec sleep within {TARGET_SETUP_TIMEOUT:?}"
            );
            thread::sleep(Duration::from_millis(5));
        }
        target.pid = find_sleep(pid, 3).expect("sleep was found above");
        target
    }

    /// Starts `chroot ROOT /bin/sleep 1000`; `root` must contain
    /// `/bin/sleep`, as a `RootFs` with "sleep" does.
    pub fn chrooted(root: &Path) -> Target {
        let root = root.to_str().expect("root path is UTF-8");
        Target::spawn(&["chroot", root, "/bin/sleep", "1000"])
    }

    /// Starts `sh -c SCRIPT`; the script must end with `exec sleep 1000`.
    pub fn shell(script: &str) -> Target {
        Target::spawn(&["sh", "-c", script])
    }

    /// Returns the target's `/proc/PID/ns/KIND` link.
    pub fn ns(&self, kind: &str) -> String {
        ns_of(self.pid, kind)
    }

    /// Returns the target's PID as a string, for command lines.
    pub fn pid_arg(&self) -> String {
        self.pid.to_string()
    }

    /// Returns the launcher's PID (the target's own PID when the launcher
    /// exec'd `sleep` itself).
    pub fn launcher_pid(&self) -> u32 {
        self.launcher.id()
    }
}

impl Drop for Target {
    fn drop(&mut self) {
        // A target that is PID 1 of its PID namespace ignores the signals
        // from outside that it has no handler for, except SIGKILL.
        kill_pid(self.pid);
        let _ = self.launcher.kill();
        let _ = self.launcher.wait();
    }
}

fn find_sleep(pid: u32, depth: u32) -> Option<u32> {
    if command_name(pid).as_deref() == Some("sleep") && in_sleep_call(pid) {
        return Some(pid);
    }
    if depth == 0 {
        return None;
    }
    children_of(pid)
        .into_iter()
        .find_map(|child| find_sleep(child, depth - 1))
}

/// Tells whether `pid` is blocked in nanosleep(2) or clock_nanosleep(2).
/// The kernel renames a process at execve before it sets up the new
/// environment, so `comm` alone can show `sleep` while
/// `/proc/PID/environ` is still empty. Without the right to read
/// `/proc/PID/syscall` (not root), `comm` has to do.
fn in_sleep_call(pid: u32) -> bool {
    const NANOSLEEP: &str = "35";
    const CLOCK_NANOSLEEP: &str = "230";
    match fs::read_to_string(format!("/proc/{pid}/syscall")) {
        Ok(text) => matches!(
            text.split_whitespace().next(),
            Some(NANOSLEEP | CLOCK_NANOSLEEP)
        ),
        Err(error) => error.kind() == std::io::ErrorKind::PermissionDenied,
    }
}

fn kill_tree(pid: u32, depth: u32) {
    if depth > 0 {
        for child in children_of(pid) {
            kill_tree(child, depth - 1);
        }
    }
    kill_pid(pid);
}

static TEMP_DIR_COUNTER: AtomicUsize = AtomicUsize::new(0);

/// A directory under the system temp dir, removed with its contents on drop.
pub struct TempDir {
    pub path: PathBuf,
}

impl TempDir {
    pub fn new(label: &str) -> TempDir {
        let number = TEMP_DIR_COUNTER.fetch_add(1, Ordering::Relaxed);
        let path = std::env::temp_dir().join(format!(
            "nsenter-test-{label}-{}-{number}",
            std::process::id()
        ));
        let _ = fs::remove_dir_all(&path);
        fs::create_dir_all(&path)
            .unwrap_or_else(|error| panic!("failed to create {}: {error}", path.display()));
        TempDir { path }
    }

    /// Returns `self.path` joined with `relative`.
    pub fn join(&self, relative: &str) -> PathBuf {
        self.path.join(relative)
    }

    pub fn path_str(&self) -> &str {
        self.path.to_str().expect("temp path is UTF-8")
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.path);
    }
}

/// A minimal root file system for chroot tests: host programs copied to
/// `/bin/NAME` together with the shared libraries that `ldd` lists for
/// them, at the same paths as on the host. No busybox is needed.
pub struct RootFs {
    pub dir: TempDir,
}

impl RootFs {
    /// Builds a root with each program of `programs` (looked up in PATH).
    pub fn with_programs(programs: &[&str]) -> RootFs {
        let dir = TempDir::new("root");
        fs::create_dir_all(dir.join("bin")).expect("create bin in the root");
        for program in programs {
            let host_path = find_in_path(program)
                .unwrap_or_else(|| panic!("{program} is not in PATH, needed in the chroot"));
            copy_file(&host_path, &dir.join(&format!("bin/{program}")));
            for library in shared_libraries(&host_path) {
                let inside = dir
                    .path
                    .join(library.strip_prefix("/").expect("ldd paths are absolute"));
                if !inside.exists() {
                    copy_file(&library, &inside);
                }
            }
        }
        RootFs { dir }
    }

    pub fn path(&self) -> &Path {
        &self.dir.path
    }

    pub fn path_str(&self) -> &str {
        self.dir.path_str()
    }

    /// Writes `contents` to `relative` inside the root, creating parents.
    pub fn write(&self, relative: &str, contents: &str) {
        let path = self.dir.join(relative);
        if let Some(parent) = path.parent() {
            fs::create_dir_all(parent).expect("create parent in the root");
        }
        fs::write(&path, contents)
            .unwrap_or_else(|error| panic!("failed to write {}: {error}", path.display()));
    }

    /// Creates the directory `relative` inside the root.
    pub fn create_dir(&self, relative: &str) {
        fs::create_dir_all(self.dir.join(relative)).expect("create directory in the root");
    }
}

/// Returns the first file named `program` in `$PATH`.
pub fn find_in_path(program: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_else(|| "/usr/bin:/bin".into());
    std::env::split_paths(&path)
        .map(|dir| dir.join(program))
        .find(|candidate| candidate.is_file())
}

fn copy_file(from: &Path, to: &Path) {
    if let Some(parent) = to.parent() {
        fs::create_dir_all(parent).expect("create parent directory");
    }
    fs::copy(from, to).unwrap_or_else(|error| {
        panic!(
            "failed to copy {} to {}: {error}",
            from.display(),
            to.display()
        )
    });
}

/// Returns the absolute library paths that `ldd` lists for `binary`
/// (nothing for a static binary).
fn shared_libraries(binary: &Path) -> Vec<PathBuf> {
    let output = Command::new("ldd")
        .arg(binary)
        .stderr(Stdio::null())
        .output()
        .expect("run ldd");
    let text = String::from_utf8_lossy(&output.stdout).into_owned();
    let mut libraries = Vec::new();
    for line in text.lines() {
        // Lines look like "libc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x...)"
        // or "/lib64/ld-linux-x86-64.so.2 (0x...)".
        let path = match line.split_once("=>") {
            Some((_, right)) => right.split_whitespace().next(),
            None => line.split_whitespace().next(),
        };
        if let Some(path) = path.filter(|path| path.starts_with('/')) {
            libraries.push(PathBuf::from(path));
        }
    }
    libraries
}

/// Asserts that stderr is empty, showing it when it is not.
pub fn assert_no_stderr(outcome: &Outcome) {
    assert_eq!(outcome.stderr, "", "unexpected stderr; {outcome:?}");
}

/// Asserts a successful exit (code 0).
pub fn assert_success(outcome: &Outcome) {
    assert_eq!(outcome.code(), Some(0), "exit status; {outcome:?}");
}

/// Asserts that nsenter failed with status 1, printed nothing on stdout
/// and exactly one `nsenter: ` line on stderr.
pub fn assert_rejected(outcome: &Outcome) {
    assert_eq!(outcome.code(), Some(1), "exit status; {outcome:?}");
    assert_eq!(outcome.stdout, "", "the program must not run; {outcome:?}");
    assert_eq!(
        outcome.stderr_lines().len(),
        1,
        "one stderr line; {outcome:?}"
    );
    assert!(
        outcome.stderr.starts_with("nsenter: "),
        "stderr prefix; {outcome:?}"
    );
}

/// Writes an executable file at `path`. A file this multithreaded process
/// opens for writing can stay open for a moment in a child that another
/// test thread forks, and exec of the file then fails with ETXTBSY. So the
/// contents go to a side file that is never executed, and `cp`, a process
/// of its own, writes the executable.
pub fn write_executable(path: &Path, contents: &[u8]) {
    let mut draft = path.as_os_str().to_owned();
    draft.push(".draft");
    fs::write(&draft, contents).expect("write the draft file");
    copy_executable(Path::new(&draft), path);
}

/// Copies `source` to an executable file at `path` with `cp`, for the
/// reason given at [`write_executable`].
pub fn copy_executable(source: &Path, path: &Path) {
    let copy = run(Command::new("cp").arg(source).arg(path));
    assert_eq!(copy.code(), Some(0), "cp {}: {copy:?}", path.display());
    let mode = std::os::unix::fs::PermissionsExt::from_mode(0o755);
    fs::set_permissions(path, mode).expect("chmod the executable");
}
