//! `-c`/`--join-cgroup`: nsenter moves itself into the target's cgroup v2
//! group (by writing its PID to `cgroup.procs`) before it runs the program.
//!
//! Each test makes its own cgroup under the test process's cgroup in the
//! cgroup2 hierarchy, found in /proc/self/mountinfo (it is
//! /sys/fs/cgroup on pure v2 hosts and /sys/fs/cgroup/unified on hybrid
//! ones), moves a target there and removes the cgroup afterwards.

mod common;

use common::{assert_no_stderr, assert_success, nsenter, nsenter_bin, run, Target};
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread;
use std::time::{Duration, Instant};

/// Returns the mount point of the cgroup2 hierarchy, or `None` when no
/// cgroup2 file system is mounted.
fn cgroup2_mount_point() -> Option<PathBuf> {
    let mountinfo = fs::read_to_string("/proc/self/mountinfo").expect("read /proc/self/mountinfo");
    for line in mountinfo.lines() {
        // The mount point is the fifth field. The fields after " - " are
        // the file system type, the source and the super block options.
        let Some((mount_fields, fs_fields)) = line.split_once(" - ") else {
            continue;
        };
        if fs_fields.split_whitespace().next() == Some("cgroup2") {
            return mount_fields.split_whitespace().nth(4).map(PathBuf::from);
        }
    }
    None
}

/// Returns the cgroup v2 path of `pid` (the `0::` line of
/// `/proc/PID/cgroup`), e.g. `/user.slice/test`.
fn cgroup_v2_path(pid: &str) -> String {
    let path = format!("/proc/{pid}/cgroup");
    let contents =
        fs::read_to_string(&path).unwrap_or_else(|error| panic!("failed to read {path}: {error}"));
    cgroup_v2_line(&contents)
        .unwrap_or_else(|| panic!("no cgroup v2 line in {path}: {contents}"))
        .to_string()
}

/// Returns the path on the `0::` line of a `/proc/PID/cgroup` text.
fn cgroup_v2_line(contents: &str) -> Option<&str> {
    contents.lines().find_map(|line| line.strip_prefix("0::"))
}

static CGROUP_COUNTER: AtomicUsize = AtomicUsize::new(0);

/// A cgroup v2 group made for one test, removed on drop. Processes in it
/// must be gone by then, so declare it before the targets it holds.
struct TestCgroup {
    /// Path of the group's directory in the cgroup2 file system.
    directory: PathBuf,
    /// The group's path as `/proc/PID/cgroup` shows it.
    path: String,
}

impl TestCgroup {
    /// Creates a group under the test process's own group, or returns
    /// `None` (after printing why) when cgroup2 is missing or read-only.
    fn create(mount_point: &Path) -> Option<TestCgroup> {
        let parent = cgroup_v2_path("self");
        let name = format!(
            "nsenter-test-{}-{}",
            std::process::id(),
            CGROUP_COUNTER.fetch_add(1, Ordering::Relaxed)
        );
        let path = if parent == "/" {
            format!("/{name}")
        } else {
            format!("{parent}/{name}")
        };
        let directory = mount_point.join(path.trim_start_matches('/'));
        if let Err(error) = fs::create_dir(&directory) {
            eprintln!("cannot create the cgroup {}: {error}", directory.display());
            return None;
        }
        Some(TestCgroup { directory, path })
    }

    /// Moves `pid` into the group.
    fn add(&self, pid: u32) {
        let procs = self.directory.join("cgroup.procs");
        fs::write(&procs, pid.to_string()).unwrap_or_else(|error| {
            panic!("failed to write {pid} to {}: {error}", procs.display())
        });
    }
}

impl Drop for TestCgroup {
    fn drop(&mut self) {
        // rmdir fails with EBUSY until the last member has exited and been
        // reaped, which may lag the kill by a few milliseconds.
        let deadline = Instant::now() + Duration::from_secs(5);
        while fs::remove_dir(&self.directory).is_err() && Instant::now() < deadline {
            thread::sleep(Duration::from_millis(10));
        }
    }
}

/// Evaluates to the cgroup2 mount point, or returns from the calling test
/// with a printed reason when no cgroup2 hierarchy is mounted.
macro_rules! require_cgroup2 {
    () => {
        match cgroup2_mount_point() {
            Some(mount_point) => mount_point,
            None => {
                eprintln!(
                    "skipped {}: no cgroup2 file system is mounted",
                    module_path!()
                );
                return;
            }
        }
    };
}

/// Starts a target and moves it into a new test cgroup.
fn target_in_new_cgroup(mount_point: &Path) -> Option<(TestCgroup, Target)> {
    let cgroup = TestCgroup::create(mount_point)?;
    let target = Target::unshare(&["--uts"]);
    cgroup.add(target.pid);
    assert_eq!(
        cgroup_v2_path(&target.pid_arg()),
        cgroup.path,
        "target's cgroup after the move"
    );
    Some((cgroup, target))
}

#[test]
fn cgroup_join_target_cgroup() {
    require_root!();
    let mount_point = require_cgroup2!();
    let Some((cgroup, target)) = target_in_new_cgroup(&mount_point) else {
        panic!("cgroup2 at {} is not writable", mount_point.display());
    };
    assert_ne!(
        cgroup_v2_path("self"),
        cgroup.path,
        "the target's cgroup is not ours"
    );

    let outcome = nsenter(&[
        "-t",
        &target.pid_arg(),
        "-c",
        "--",
        "cat",
        "/proc/self/cgroup",
    ]);

    assert_success(&outcome);
    assert_eq!(
        cgroup_v2_line(&outcome.stdout),
        Some(cgroup.path.as_str()),
        "program's cgroup; {outcome:?}"
    );
    assert_no_stderr(&outcome);
}

#[test]
fn cgroup_join_long_option_with_namespace() {
    require_root!();
    let mount_point = require_cgroup2!();
    let Some((cgroup, target)) = target_in_new_cgroup(&mount_point) else {
        panic!("cgroup2 at {} is not writable", mount_point.display());
    };
    let script = "cat /proc/self/cgroup; readlink /proc/self/ns/uts";

    let outcome = nsenter(&[
        "--target",
        &target.pid_arg(),
        "--uts",
        "--join-cgroup",
        "--",
        "sh",
        "-c",
        script,
    ]);

    assert_success(&outcome);
    assert_eq!(
        cgroup_v2_line(&outcome.stdout),
        Some(cgroup.path.as_str()),
        "program's cgroup; {outcome:?}"
    );
    assert_eq!(
        outcome.stdout.lines().last(),
        Some(target.ns("uts").as_str()),
        "program's uts namespace"
    );
    assert_no_stderr(&outcome);
}

/// Without the cgroup2 mount (unmounted in a private mount namespace) the
/// target's `cgroup.procs` cannot be opened: nsenter must fail before it
/// runs the program.
#[test]
fn cgroup_procs_unopenable_rejected() {
    require_root!();
    let mount_point = require_cgroup2!();
    let Some((_cgroup, target)) = target_in_new_cgroup(&mount_point) else {
        panic!("cgroup2 at {} is not writable", mount_point.display());
    };
    let script = format!(
        "umount -l {mount} || exit 90; exec {nsenter} -t {pid} -c -- echo program ran",
        mount = mount_point.display(),
        nsenter = nsenter_bin().display(),
        pid = target.pid,
    );

    let outcome = run(Command::new("unshare").args([
        "--mount",
        "--propagation",
        "private",
        "sh",
        "-c",
        &script,
    ]));

    common::assert_rejected(&outcome);
    assert!(
        outcome.stderr.contains("cgroup"),
        "message names the cgroup; {outcome:?}"
    );
}

#[test]
fn cgroup_without_target_rejected() {
    require_root!();

    let outcome = nsenter(&["-c", "--", "echo", "program ran"]);

    common::assert_rejected(&outcome);
}
