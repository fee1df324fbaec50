//! Static helper of the QEMU guest suite, built by `cargo xtask` for x86_64-unknown-linux-musl.
//!
//! busybox 1.35's `unshare` cannot create cgroup or time namespaces, and no busybox applet
//! installs a seccomp filter, so the guest suite uses this program for both.

use std::ffi::CString;
use std::fs;
use std::io::{self, Read, Write};
use std::os::fd::{AsRawFd, FromRawFd};
use std::os::unix::net::UnixDatagram;
use std::os::unix::process::ExitStatusExt;
use std::process::{exit, Command};

const USAGE: &str = "usage:
  nsenter-guest-helper spawn [OPTIONS] -- PROGRAM [ARGS...]
      Start PROGRAM in new namespaces, print its PID once it runs, and exit.
      --ns KINDS           comma-separated mnt,uts,ipc,net,pid,cgroup,time,user
      --hostname NAME      hostname of the new UTS namespace
      --map 'IN OUT COUNT' uid and gid map of the new user namespace (default '0 0 4294967295')
      --deny-setgroups     write 'deny' to the new user namespace's setgroups file
      --cgroup DIR         join the cgroup v2 directory DIR before unsharing
      --time-offset SECS   monotonic and boottime offset of the new time namespace (default 100000)
      --net-socket FD      keep a socket of one more new network namespace open as FD
      --chroot DIR         change the root of PROGRAM to DIR
      --uid N, --gid N     run PROGRAM with these ids (inside the new user namespace)
  nsenter-guest-helper no-pidfd PROGRAM [ARGS...]
      Run PROGRAM under a seccomp filter that fails pidfd_open with ENOSYS.
  nsenter-guest-helper reset-signals PROGRAM [ARGS...]
      Run PROGRAM with every signal at its default action, even those that a shell ignores
      for background jobs (SIGINT, SIGQUIT).
  nsenter-guest-helper status PROGRAM [ARGS...]
      Run PROGRAM and print 'exit N' or 'signal N'.
  nsenter-guest-helper pause
      Sleep until killed.";

/// CLONE_NEWTIME from linux/sched.h (Linux 5.6), spelled out for libc crates that lack it.
const CLONE_NEWTIME: libc::c_int = 0x80;

/// The namespace kinds by their /proc/PID/ns names.
const KINDS: [(&str, libc::c_int); 8] = [
    ("mnt", libc::CLONE_NEWNS),
    ("uts", libc::CLONE_NEWUTS),
    ("ipc", libc::CLONE_NEWIPC),
    ("net", libc::CLONE_NEWNET),
    ("pid", libc::CLONE_NEWPID),
    ("cgroup", libc::CLONE_NEWCGROUP),
    ("time", CLONE_NEWTIME),
    ("user", libc::CLONE_NEWUSER),
];

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("spawn") => spawn(&args[1..]),
        Some("no-pidfd") => no_pidfd(&args[1..]),
        Some("reset-signals") => reset_signals(&args[1..]),
        Some("status") => status(&args[1..]),
        Some("pause") => loop {
            // SAFETY: pause() has no preconditions; it returns only after a caught signal.
            unsafe { libc::pause() };
        },
        _ => Err(format!("unknown or missing command\n{USAGE}")),
    };
    if let Err(message) = result {
        eprintln!("nsenter-guest-helper: {message}");
        exit(1);
    }
}

#[derive(Default)]
struct SpawnOptions {
    flags: libc::c_int,
    hostname: Option<String>,
    map: Option<String>,
    deny_setgroups: bool,
    cgroup: Option<String>,
    time_offset: Option<String>,
    net_socket: Option<libc::c_int>,
    chroot: Option<String>,
    uid: Option<libc::uid_t>,
    gid: Option<libc::gid_t>,
    program: Vec<String>,
}

fn parse_spawn(args: &[String]) -> Result<SpawnOptions, String> {
    let mut options = SpawnOptions::default();
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        if arg == "--" {
            options.program = args.cloned().collect();
            break;
        }
        let mut value = || args.next().cloned().ok_or(format!("{arg} needs a value"));
        match arg.as_str() {
            "--ns" => {
                for name in value()?.split(',') {
                    let (_, flag) = KINDS
                        .iter()
                        .find(|(kind, _)| *kind == name)
                        .ok_or(format!("unknown namespace kind '{name}'"))?;
                    options.flags |= flag;
                }
            }
            "--hostname" => options.hostname = Some(value()?),
            "--map" => options.map = Some(value()?),
            "--deny-setgroups" => options.deny_setgroups = true,
            "--cgroup" => options.cgroup = Some(value()?),
            "--time-offset" => options.time_offset = Some(value()?),
            "--net-socket" => options.net_socket = Some(parse_number(arg, &value()?)?),
            "--chroot" => options.chroot = Some(value()?),
            "--uid" => options.uid = Some(parse_number(arg, &value()?)?),
            "--gid" => options.gid = Some(parse_number(arg, &value()?)?),
            other => return Err(format!("unknown option '{other}'\n{USAGE}")),
        }
    }
    if options.program.is_empty() {
        return Err("spawn needs '-- PROGRAM'".to_string());
    }
    Ok(options)
}

fn parse_number<T: std::str::FromStr>(option: &str, value: &str) -> Result<T, String> {
    value
        .parse()
        .map_err(|_| format!("invalid {option} '{value}'"))
}

/// Starts the target and prints its PID once it has called execve.
///
/// Three processes take part. The caller (this process) stays in its namespaces to write the
/// new user namespace's uid and gid maps, because a process inside that namespace may map only
/// its own id. Its child unshares, forks the target (new PID and time namespaces apply to
/// children only) and exits, so the target is reparented to the guest's init.
fn spawn(args: &[String]) -> Result<(), String> {
    let options = parse_spawn(args)?;
    let (mut from_child, child_writer) = pipe().map_err(|error| format!("pipe failed: {error}"))?;
    let (parent_reader, mut to_child) = pipe().map_err(|error| format!("pipe failed: {error}"))?;

    // SAFETY: this program is single-threaded, so the child may run any code after fork.
    let child = unsafe { libc::fork() };
    if child < 0 {
        return Err(format!("fork failed: {}", io::Error::last_os_error()));
    }
    if child == 0 {
        drop(from_child);
        drop(to_child);
        let error = unshare_and_fork(&options, child_writer, parent_reader);
        eprintln!("nsenter-guest-helper: {error}");
        exit(1);
    }
    drop(child_writer);
    drop(parent_reader);

    // The child sends 'u' once it has unshared, then the target's PID, and the pipe reaches EOF
    // once the target has called execve (the target's copy is close-on-exec).
    let mut message = [0u8; 1];
    if options.flags & libc::CLONE_NEWUSER != 0 {
        if from_child.read(&mut message).unwrap_or(0) != 1 {
            return Err("the child failed before unsharing".to_string());
        }
        write_id_maps(child, &options)?;
        to_child
            .write_all(b"g")
            .map_err(|error| format!("cannot signal the child: {error}"))?;
    }
    let mut report = String::new();
    from_child
        .read_to_string(&mut report)
        .map_err(|error| format!("cannot read from the child: {error}"))?;
    let mut status = 0;
    // SAFETY: child is the PID returned by fork above and status is a valid out pointer.
    unsafe { libc::waitpid(child, &mut status, 0) };
    if let Some(error) = report.lines().find_map(|line| line.strip_prefix("error: ")) {
        return Err(format!("the target failed: {error}"));
    }
    match report.trim().parse::<u32>() {
        Ok(pid) => {
            println!("{pid}");
            Ok(())
        }
        Err(_) => Err("the child exited before starting the target".to_string()),
    }
}

fn write_id_maps(child: libc::pid_t, options: &SpawnOptions) -> Result<(), String> {
    let map = options.map.as_deref().unwrap_or("0 0 4294967295");
    if options.deny_setgroups {
        write_file(&format!("/proc/{child}/setgroups"), "deny")?;
    }
    write_file(&format!("/proc/{child}/uid_map"), map)?;
    write_file(&format!("/proc/{child}/gid_map"), map)
}

fn write_file(path: &str, text: &str) -> Result<(), String> {
    fs::write(path, text).map_err(|error| format!("cannot write '{text}' to {path}: {error}"))
}

/// Runs in the first child: unshares, sets up the namespaces and forks the target. Returns only
/// on failure.
fn unshare_and_fork(
    options: &SpawnOptions,
    mut to_parent: fs::File,
    mut from_parent: fs::File,
) -> String {
    if let Some(dir) = &options.cgroup {
        if let Err(error) = write_file(&format!("{dir}/cgroup.procs"), "0") {
            return error;
        }
    }
    if let Some(fd) = options.net_socket {
        // The socket belongs to a network namespace that only it keeps alive, so
        // `nsenter --net-socket` has a namespace to find that is neither the caller's nor the
        // target's.
        if let Err(error) = unshare(libc::CLONE_NEWNET) {
            return format!("unshare of the socket's network namespace failed: {error}");
        }
        let socket = match UnixDatagram::unbound() {
            Ok(socket) => socket,
            Err(error) => return format!("socket failed: {error}"),
        };
        // SAFETY: both are valid descriptors; dup2 clears close-on-exec on the new one.
        if unsafe { libc::dup2(socket.as_raw_fd(), fd) } < 0 {
            return format!("dup2 to fd {fd} failed: {}", io::Error::last_os_error());
        }
    }
    if let Err(error) = unshare(options.flags) {
        return format!("unshare failed: {error}");
    }
    if options.flags & libc::CLONE_NEWUSER != 0 {
        let mut message = [0u8; 1];
        if to_parent.write_all(b"u").is_err() || from_parent.read(&mut message).unwrap_or(0) != 1 {
            return "the parent did not write the id maps".to_string();
        }
    }
    if options.flags & CLONE_NEWTIME != 0 {
        // Offsets make the time namespace visible: /proc/uptime inside reads at least SECS.
        let seconds = options.time_offset.as_deref().unwrap_or("100000");
        let offsets = format!("monotonic {seconds} 0\nboottime {seconds} 0\n");
        if let Err(error) = write_file("/proc/self/timens_offsets", &offsets) {
            return error;
        }
    }
    if let Some(name) = &options.hostname {
        // SAFETY: the pointer and length describe the bytes of `name`.
        if unsafe { libc::sethostname(name.as_ptr().cast(), name.len()) } != 0 {
            return format!("sethostname failed: {}", io::Error::last_os_error());
        }
    }

    // SAFETY: this process is single-threaded, so the child may run any code after fork.
    let target = unsafe { libc::fork() };
    if target < 0 {
        return format!("fork failed: {}", io::Error::last_os_error());
    }
    if target == 0 {
        let error = exec_target(options);
        // The parent reads everything up to EOF and looks for this line.
        let _ = writeln!(to_parent, "error: {error}");
        exit(127);
    }
    let _ = writeln!(to_parent, "{target}");
    exit(0);
}

/// Runs in the target: changes root and ids and execs the program. Returns only on failure.
fn exec_target(options: &SpawnOptions) -> String {
    if let Some(dir) = &options.chroot {
        let Ok(path) = CString::new(dir.as_str()) else {
            return format!("invalid --chroot '{dir}'");
        };
        // SAFETY: path is a NUL-terminated string and "/" is a static one.
        if unsafe { libc::chroot(path.as_ptr()) } != 0 || unsafe { libc::chdir(c"/".as_ptr()) } != 0
        {
            return format!("chroot to {dir} failed: {}", io::Error::last_os_error());
        }
    }
    if let Some(gid) = options.gid {
        // SAFETY: setgroups with an empty list and setgid take no pointers to keep alive. The
        // setgroups error is ignored: a user namespace with setgroups denied rejects it.
        unsafe { libc::setgroups(0, std::ptr::null()) };
        if unsafe { libc::setgid(gid) } != 0 {
            return format!("setgid {gid} failed: {}", io::Error::last_os_error());
        }
    }
    if let Some(uid) = options.uid {
        // SAFETY: setuid takes no pointers.
        if unsafe { libc::setuid(uid) } != 0 {
            return format!("setuid {uid} failed: {}", io::Error::last_os_error());
        }
    }
    // The target's stdout goes to stderr, so a caller's $(...) ends when this helper exits and
    // does not wait for the target.
    // SAFETY: dup2 on the standard descriptors, which exist in the guest.
    unsafe { libc::dup2(2, 1) };
    exec(&options.program)
}

fn unshare(flags: libc::c_int) -> io::Result<()> {
    // SAFETY: unshare takes only flags.
    if unsafe { libc::unshare(flags) } != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// Creates a close-on-exec pipe and returns (reader, writer).
fn pipe() -> io::Result<(fs::File, fs::File)> {
    let mut fds = [0; 2];
    // SAFETY: fds has room for the two descriptors that pipe2 writes.
    if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } != 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: pipe2 returned two new descriptors that nothing else owns.
    Ok(unsafe { (fs::File::from_raw_fd(fds[0]), fs::File::from_raw_fd(fds[1])) })
}

/// Calls execvp on `program`; returns the error when it fails.
fn exec(program: &[String]) -> String {
    let Some(name) = program.first() else {
        return "no program given".to_string();
    };
    let error = std::os::unix::process::CommandExt::exec(Command::new(name).args(&program[1..]));
    format!("cannot execute {name}: {error}")
}

/// Installs a seccomp filter that fails pidfd_open with ENOSYS, as on kernels before 5.3, and
/// execs the program, so nsenter must fall back to /proc/PID/ns.
fn no_pidfd(args: &[String]) -> Result<(), String> {
    let filter = pidfd_open_filter();
    let program = libc::sock_fprog {
        len: filter.len() as u16,
        filter: filter.as_ptr().cast_mut(),
    };

    // SAFETY: prctl gets the arguments documented in prctl(2) and seccomp(2), and `program`
    // points to `filter`, which outlives the call (the kernel copies it).
    unsafe {
        if libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 {
            return Err(format!(
                "PR_SET_NO_NEW_PRIVS failed: {}",
                io::Error::last_os_error()
            ));
        }
        let program = &program as *const libc::sock_fprog;
        if libc::prctl(libc::PR_SET_SECCOMP, libc::SECCOMP_MODE_FILTER, program) != 0 {
            return Err(format!(
                "PR_SET_SECCOMP failed: {}",
                io::Error::last_os_error()
            ));
        }
    }
    Err(exec(args))
}

/// Builds the classic BPF program: the x86_64 pidfd_open (434) returns ENOSYS and every other
/// system call is allowed, including i386-entry calls (another arch value) and x32 numbers.
fn pidfd_open_filter() -> [libc::sock_filter; 6] {
    const BPF_LD_W_ABS: u16 = 0x20; // BPF_LD | BPF_W | BPF_ABS
    const BPF_JEQ_K: u16 = 0x15; // BPF_JMP | BPF_JEQ | BPF_K
    const BPF_RET_K: u16 = 0x06; // BPF_RET | BPF_K
    const AUDIT_ARCH_X86_64: u32 = 0xC000_003E;
    const SECCOMP_RET_ALLOW: u32 = 0x7fff_0000;
    const SECCOMP_RET_ERRNO: u32 = 0x0005_0000;
    const SYS_PIDFD_OPEN: u32 = 434;
    // Offsets in struct seccomp_data.
    const NR_OFFSET: u32 = 0;
    const ARCH_OFFSET: u32 = 4;

    let instruction = |code, jt, jf, k| libc::sock_filter { code, jt, jf, k };
    [
        instruction(BPF_LD_W_ABS, 0, 0, ARCH_OFFSET),
        // Not x86_64: jump 3 ahead to ALLOW.
        instruction(BPF_JEQ_K, 0, 3, AUDIT_ARCH_X86_64),
        instruction(BPF_LD_W_ABS, 0, 0, NR_OFFSET),
        // pidfd_open: fall through to ERRNO, else jump 1 ahead to ALLOW.
        instruction(BPF_JEQ_K, 0, 1, SYS_PIDFD_OPEN),
        instruction(BPF_RET_K, 0, 0, SECCOMP_RET_ERRNO | libc::ENOSYS as u32),
        instruction(BPF_RET_K, 0, 0, SECCOMP_RET_ALLOW),
    ]
}

/// Sets every signal to its default action and execs the program.
fn reset_signals(args: &[String]) -> Result<(), String> {
    for signal in 1..libc::SIGRTMIN() {
        // SAFETY: SIG_DFL is a valid disposition; the kernel rejects SIGKILL and SIGSTOP, which
        // are already at their defaults.
        unsafe { libc::signal(signal, libc::SIG_DFL) };
    }
    Err(exec(args))
}

/// Runs a program and prints how it ended: `exit N` or `signal N`.
fn status(args: &[String]) -> Result<(), String> {
    let (name, rest) = args.split_first().ok_or("status needs a program")?;
    let status = Command::new(name)
        .args(rest)
        .status()
        .map_err(|error| format!("cannot run {name}: {error}"))?;
    match (status.code(), status.signal()) {
        (Some(code), _) => println!("exit {code}"),
        (_, Some(signal)) => println!("signal {signal}"),
        _ => println!("unknown {status}"),
    }
    Ok(())
}
