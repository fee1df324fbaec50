//! Differential test: the same command lines run through util-linux's
//! `/usr/bin/nsenter` and through ours, against the same target, must give
//! the same exit status and stdout.
//!
//! Stderr is not compared: getopt messages print argv[0], and the wording
//! of some messages differs on purpose. Command lines where this project
//! differs from util-linux 2.38.1 on purpose are left out:
//! - `-m=/path`, `-w=DIR`, `-r=DIR`: ours drops the `=`, 2.38.1 keeps it.
//! - `-W DIR` with a separate argument: required in ours, optional in 2.38.
//! - `--us`: ambiguous in ours (`--user`, `--user-parent`), and `--user`
//!   in 2.38, which has no `--user-parent`.
//! - `--help`, `-V`: the text names a different option set and version.
//! - `SHELL=` (empty): ours runs /bin/sh, 2.38 tries to execute "".
//! - Options that 2.38 lacks: `-e`, `-c`, `-N`, `--user-parent`,
//!   `--keep-caps`, `-t PID:inode`, `-S follow`, `-G follow`.
//! - `-a` without `-t` is kept: both exit 1, only the message differs.

mod common;

use common::{nsenter_bin, reference_bin, run_binary, Outcome, Target};

/// Hostname set inside the target's uts namespace, so `uname -n` shows
/// whether the program runs there.
const TARGET_HOSTNAME: &str = "nsenter-differential";

/// Starts a target in new mount, uts, ipc, net, pid, cgroup and time
/// namespaces, with its own hostname.
fn start_target() -> Target {
    let script = format!("hostname {TARGET_HOSTNAME} && exec sleep 1000");
    Target::spawn(&[
        "unshare", "--mount", "--uts", "--ipc", "--net", "--pid", "--fork", "--cgroup", "--time",
        "sh", "-c", &script,
    ])
}

/// Returns a short description of what differs between the two runs, or
/// `None` when exit status, signal and stdout agree.
fn compare(args: &[String], reference: &Outcome, ours: &Outcome) -> Option<String> {
    let same_status = reference.code() == ours.code() && reference.signal() == ours.signal();
    if same_status && reference.stdout == ours.stdout {
        return None;
    }
    Some(format!(
        "nsenter {args:?}\n  util-linux: status {:?} signal {:?} stdout {:?} stderr {:?}\n  ours:       status {:?} signal {:?} stdout {:?} stderr {:?}",
        reference.code(),
        reference.signal(),
        reference.stdout,
        reference.stderr,
        ours.code(),
        ours.signal(),
        ours.stdout,
        ours.stderr,
    ))
}

/// Returns the util-linux release of `reference` from its `-V` line, as
/// (major, minor).
fn reference_version(reference: &std::path::Path) -> Option<(u32, u32)> {
    let outcome = run_binary(reference, &["-V"]);
    let release = outcome.stdout.split("util-linux ").nth(1)?;
    let mut numbers = release
        .trim()
        .split('.')
        .map(|part| part.parse::<u32>().ok());
    Some((numbers.next()??, numbers.next()??))
}

/// Runs every case through both binaries with `{pid}` replaced by the
/// target's PID, and fails listing every case that differs.
fn run_cases(target: &Target, cases: &[&[&str]]) {
    let Some(reference) = reference_bin() else {
        eprintln!("skipped: /usr/bin/nsenter (util-linux) is not installed");
        return;
    };
    // 2.41 rejects command lines without a namespace option, which this
    // project accepts and many cases below use.
    let version = reference_version(&reference);
    if !matches!(version, Some((2, 38..=40))) {
        eprintln!("skipped: the cases are for util-linux 2.38 to 2.40, found {version:?}");
        return;
    }
    let ours = nsenter_bin();
    let pid = target.pid_arg();

    let mut differences = Vec::new();
    for case in cases {
        let args: Vec<String> = case
            .iter()
            .map(|word| word.replace("{pid}", &pid))
            .collect();
        let reference_outcome = run_binary(&reference, &args);
        let our_outcome = run_binary(&ours, &args);
        if let Some(difference) = compare(&args, &reference_outcome, &our_outcome) {
            differences.push(difference);
        }
    }

    assert!(
        differences.is_empty(),
        "{} of {} command lines differ:\n{}",
        differences.len(),
        cases.len(),
        differences.join("\n")
    );
}

/// Option parsing: bundling, attached and separate arguments, prefixes and
/// `--`.
const PARSING_CASES: &[&[&str]] = &[
    &["-t", "{pid}", "-u", "uname", "-n"],
    &["-t{pid}", "-u", "uname", "-n"],
    &["--target={pid}", "-u", "uname", "-n"],
    &["--target", "{pid}", "-u", "uname", "-n"],
    &["--targ", "{pid}", "--uts", "uname", "-n"],
    &["--tar={pid}", "--ut", "uname", "-n"],
    // -m swallows the rest of the word: the file "uin" does not exist.
    &["-t", "{pid}", "-muin", "readlink", "/proc/self/ns/uts"],
    // -u swallows "m" as its file.
    &["-t", "{pid}", "-um", "uname", "-n"],
    &["-t", "{pid}", "-Fu", "uname", "-n"],
    &["-t", "{pid}", "-Fm", "readlink", "/proc/self/ns/mnt"],
    &["-t", "{pid}", "--no-fork", "--uts", "uname", "-n"],
    &["-t", "{pid}", "-u", "-t", "{pid}", "uname", "-n"],
    &["-t", "{pid}", "-n", "--", "/bin/echo", "-n", "--", "x"],
    &["-t", "{pid}", "-aF", "uname", "-n"],
    &["-m/proc/{pid}/ns/mnt", "readlink", "/proc/self/ns/mnt"],
    // `-m /path` enters the target's mount namespace and runs /path.
    &["-t", "{pid}", "-m", "/proc/{pid}/ns/mnt"],
    &[
        "--mount=/proc/{pid}/ns/mnt",
        "readlink",
        "/proc/self/ns/mnt",
    ],
    // `--mount /path` has no file and no target.
    &["--mount", "/proc/{pid}/ns/mnt"],
    &["-t", "{pid}", "--", "uname", "-n"],
    &["-t", "{pid}", "-u", "--", "uname", "-n"],
    &["-t", "{pid}", "-u", "/bin/echo", "-n", "x"],
    &["-t", "{pid}", "-u", "uname", "-n", "-s"],
    &[
        "-t",
        "{pid}",
        "-u",
        "sh",
        "-c",
        "echo $0 $#",
        "zero",
        "a",
        "b",
    ],
    &["--pres", "-t", "{pid}", "-u", "id", "-u"],
    &["--p", "-t", "{pid}", "true"],
    &["--u=/proc/{pid}/ns/uts", "uname", "-n"],
    &["-t", "-u", "true"],
    &["-t", "{pid}", "--bogus", "true"],
    &["-t", "{pid}", "-x", "true"],
    &["--all=x", "-t", "{pid}", "true"],
    &["-t"],
    &["--target"],
];

/// Entry into each kind, `--all`, root and working directory, credentials.
const ENTRY_CASES: &[&[&str]] = &[
    &["-t", "{pid}", "-m", "readlink", "/proc/self/ns/mnt"],
    &["-t", "{pid}", "-i", "readlink", "/proc/self/ns/ipc"],
    &["-t", "{pid}", "-n", "readlink", "/proc/self/ns/net"],
    &["-t", "{pid}", "-p", "readlink", "/proc/self/ns/pid"],
    &[
        "-t",
        "{pid}",
        "-p",
        "-F",
        "readlink",
        "/proc/self/ns/pid_for_children",
    ],
    &["-t", "{pid}", "-C", "readlink", "/proc/self/ns/cgroup"],
    &["-t", "{pid}", "-T", "readlink", "/proc/self/ns/time"],
    &["-t", "{pid}", "--time", "readlink", "/proc/self/ns/time"],
    &["-t", "{pid}", "-n", "-m", "uname", "-n"],
    &[
        "-t",
        "{pid}",
        "-m",
        "-u",
        "-i",
        "-n",
        "readlink",
        "/proc/self/ns/net",
    ],
    &[
        "-t",
        "{pid}",
        "-a",
        "sh",
        "-c",
        "uname -n; readlink /proc/self/ns/mnt /proc/self/ns/pid",
    ],
    &[
        "-a",
        "-t",
        "{pid}",
        "--uts=/proc/self/ns/uts",
        "uname",
        "-n",
    ],
    &[
        "--cgroup=/proc/{pid}/ns/cgroup",
        "--ipc=/proc/{pid}/ns/ipc",
        "sh",
        "-c",
        "readlink /proc/self/ns/cgroup /proc/self/ns/ipc",
    ],
    &["-t", "{pid}", "uname", "-n"],
    &["uname", "-n"],
    &["-t", "{pid}", "-u", "-S", "0", "-G", "0", "id", "-u"],
    &[
        "-t",
        "{pid}",
        "-S",
        "65534",
        "-G",
        "65534",
        "-u",
        "sh",
        "-c",
        "id -u; id -g; id -G",
    ],
    &["-S", "65534", "id", "-u"],
    &["-t", "{pid}", "-r", "-w", "pwd"],
    &["-t", "{pid}", "-w", "pwd"],
    &["-t", "{pid}", "-m", "-w", "pwd"],
    &["-t", "{pid}", "-m", "-r", "pwd"],
    &["-t", "{pid}", "--wd=/", "pwd"],
    &["-t", "{pid}", "-m", "-W/", "pwd"],
    &["-t", "{pid}", "-m", "--wdns=/proc", "pwd"],
    &["-r/", "-t", "{pid}", "-u", "uname", "-n"],
];

/// Exit statuses: the program's own, 126, 127, and nsenter's errors.
const STATUS_CASES: &[&[&str]] = &[
    &["-t", "{pid}", "-u", "sh", "-c", "exit 7"],
    &["-t", "{pid}", "-p", "sh", "-c", "exit 9"],
    &["-t", "{pid}", "-p", "sh", "-c", "kill -TERM $$"],
    &["-t", "{pid}", "-u", "nsenter-test-no-such-program"],
    &["-t", "{pid}", "-p", "nsenter-test-no-such-program"],
    &["-t", "{pid}", "-u", "/etc/passwd"],
    &["-t", "{pid}", "-u", "/"],
    &["-t", "abc", "-u", "true"],
    &["-t", "{pid}x", "-u", "true"],
    &["-t", "999999999", "-u", "true"],
    &["-u", "true"],
    &["-a", "true"],
    &["--net=/proc/{pid}/ns/uts", "true"],
    &["--net=/nonexistent", "true"],
    &["-S", "abc", "true"],
    &["-G", "abc", "true"],
    // Entering your own user namespace explicitly fails with EINVAL.
    &["-t", "{pid}", "-U", "true"],
    &["-t", "{pid}", "-u", "-U", "--preserve-credentials", "true"],
    &["-t", "{pid}", "--mount=", "true"],
    &["-t", "0", "-u", "true"],
    &["-t", "-5", "-u", "true"],
    &["-t", "{pid}", "--", "-u"],
];

#[test]
fn differential_parsing_edge_cases() {
    require_root!();
    let target = start_target();
    run_cases(&target, PARSING_CASES);
}

#[test]
fn differential_namespace_entry() {
    require_root!();
    let target = start_target();
    run_cases(&target, ENTRY_CASES);
}

#[test]
fn differential_exit_statuses() {
    require_root!();
    let target = start_target();
    run_cases(&target, STATUS_CASES);
}

#[test]
fn differential_user_namespace() {
    require_root!();
    let target = Target::user_namespace(&["--uts"]);
    run_cases(
        &target,
        &[
            &[
                "-t",
                "{pid}",
                "-U",
                "sh",
                "-c",
                "id -u; id -g; id -G; readlink /proc/self/ns/user",
            ],
            &["-t", "{pid}", "-U", "--preserve-credentials", "id", "-u"],
            &[
                "-t",
                "{pid}",
                "-a",
                "sh",
                "-c",
                "id -u; readlink /proc/self/ns/user /proc/self/ns/uts",
            ],
            &[
                "--user=/proc/{pid}/ns/user",
                "--uts=/proc/{pid}/ns/uts",
                "id",
                "-u",
            ],
            &["-t", "{pid}", "-U", "-S", "0", "-G", "0", "id", "-G"],
        ],
    );
}

#[test]
fn differential_has_forty_cases() {
    let total = PARSING_CASES.len() + ENTRY_CASES.len() + STATUS_CASES.len();
    assert!(total >= 40, "only {total} command lines");
}
