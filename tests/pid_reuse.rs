//! `-t PID:INODE`: the target is named by its PID and the inode of its
//! pidfd, so a PID that now belongs to another process is rejected.
//!
//! On kernels with pidfs (Linux 6.9 and later) every pidfd of one process
//! has the same inode, and no other process gets that inode while the
//! system runs. The tests read it with Python's `os.pidfd_open` and
//! `os.fstat`, since the test harness has no libc bindings.

mod common;

use common::{assert_no_stderr, assert_success, nsenter, own_ns, run, Target};
use std::path::Path;
use std::process::Command;

const PYTHON: &str = "/usr/bin/python3";

/// Returns the inode of a pidfd of `pid`, as `fstat` reports it.
fn pidfd_inode(pid: u32) -> u64 {
    let script = format!("import os; print(os.fstat(os.pidfd_open({pid})).st_ino)");
    let outcome = run(Command::new(PYTHON).args(["-c", &script]));
    assert_success(&outcome);
    outcome
        .stdout
        .trim()
        .parse()
        .unwrap_or_else(|error| panic!("invalid inode from {PYTHON}: {error}; {outcome:?}"))
}

/// Returns from the calling test, with a printed reason, when Python is
/// missing.
macro_rules! require_python {
    () => {
        if !Path::new(PYTHON).exists() {
            eprintln!("skipped {}: needs {PYTHON}", module_path!());
            return;
        }
    };
}

#[test]
fn pid_inode_matching_enters_target() {
    require_root!();
    require_python!();
    let target = Target::unshare(&["--uts"]);
    let inode = pidfd_inode(target.pid);
    let target_arg = format!("{}:{inode}", target.pid);

    let outcome = nsenter(&[
        "-t",
        &target_arg,
        "-u",
        "--",
        "readlink",
        "/proc/self/ns/uts",
    ]);

    assert_success(&outcome);
    assert_eq!(
        outcome.stdout.trim_end(),
        target.ns("uts"),
        "program's uts namespace"
    );
    assert_ne!(
        outcome.stdout.trim_end(),
        own_ns("uts"),
        "target's uts namespace is not ours"
    );
    assert_no_stderr(&outcome);
}

#[test]
fn pid_inode_long_option_enters_target() {
    require_root!();
    require_python!();
    let target = Target::unshare(&["--uts"]);
    let inode = pidfd_inode(target.pid);
    let target_option = format!("--target={}:{inode}", target.pid);

    let outcome = nsenter(&[
        &target_option,
        "--uts",
        "--",
        "readlink",
        "/proc/self/ns/uts",
    ]);

    assert_success(&outcome);
    assert_eq!(
        outcome.stdout.trim_end(),
        target.ns("uts"),
        "program's uts namespace"
    );
    assert_no_stderr(&outcome);
}

#[test]
fn pid_inode_of_other_process_rejected() {
    require_root!();
    require_python!();
    let target = Target::unshare(&["--uts"]);
    let other = Target::unshare(&["--uts"]);
    let other_inode = pidfd_inode(other.pid);
    assert_ne!(
        other_inode,
        pidfd_inode(target.pid),
        "two live processes share a pidfd inode"
    );
    let target_arg = format!("{}:{other_inode}", target.pid);

    let outcome = nsenter(&[
        "-t",
        &target_arg,
        "-u",
        "--",
        "readlink",
        "/proc/self/ns/uts",
    ]);

    common::assert_rejected(&outcome);
}

#[test]
fn pid_inode_of_dead_process_rejected() {
    require_root!();
    require_python!();
    let dead_inode = {
        let dead = Target::unshare(&["--uts"]);
        pidfd_inode(dead.pid)
        // Dropping `dead` kills and reaps it here.
    };
    let target = Target::unshare(&["--uts"]);
    let target_arg = format!("{}:{dead_inode}", target.pid);

    let outcome = nsenter(&["-t", &target_arg, "-u", "--", "true"]);

    common::assert_rejected(&outcome);
}

/// A real PID reuse, inside a new PID namespace whose PIDs only this test
/// allocates. A `sleep` is started, its pidfd inode noted and the process
/// killed. Setting `ns_last_pid` makes the next `sleep` get the same PID,
/// and nsenter is given that PID with the old inode.
#[test]
fn pid_inode_after_pid_reuse_rejected() {
    require_root!();
    require_python!();
    let nsenter_bin = common::nsenter_bin();
    let script = format!(
        r#"
sleep 1000 & old=$!
inode=$({PYTHON} -c "import os; print(os.fstat(os.pidfd_open($old)).st_ino)") || exit 90
{{ kill -KILL $old; wait $old; }} 2>/dev/null
echo $((old - 1)) > /proc/sys/kernel/ns_last_pid || exit 91
sleep 1000 & new=$!
[ "$new" = "$old" ] || {{ echo "PID $old was not reused: got $new" >&2; exit 92; }}
exec {nsenter} -t "$new:$inode" -u -- true
"#,
        nsenter = nsenter_bin.display()
    );
    // nsenter runs as PID 1 of the new PID namespace, so its exit kills the
    // second `sleep`. --kill-child kills the namespace if the test dies.
    let outcome = run(Command::new("unshare").args([
        "--pid",
        "--fork",
        "--kill-child",
        "--mount-proc",
        "sh",
        "-c",
        &script,
    ]));

    common::assert_rejected(&outcome);
}

#[test]
fn pid_inode_malformed_rejected() {
    require_root!();
    require_python!();
    let target = Target::unshare(&["--uts"]);
    let inode = pidfd_inode(target.pid);
    let pid = target.pid;
    let malformed = [
        format!("{pid}:"),
        format!("{pid}:abc"),
        format!("{pid}:{inode}x"),
        format!("{pid}:-{inode}"),
        format!(":{inode}"),
        format!("{pid}:{inode}:{inode}"),
    ];

    for target_arg in &malformed {
        let outcome = nsenter(&["-t", target_arg, "-u", "--", "true"]);

        assert_eq!(
            outcome.code(),
            Some(1),
            "exit status for -t {target_arg}; {outcome:?}"
        );
        assert_eq!(
            outcome.stdout, "",
            "stdout for -t {target_arg}; {outcome:?}"
        );
        assert_eq!(
            outcome.stderr_lines().len(),
            1,
            "stderr lines for -t {target_arg}; {outcome:?}"
        );
        assert!(
            outcome.stderr.starts_with("nsenter: "),
            "stderr prefix for -t {target_arg}; {outcome:?}"
        );
    }
}
