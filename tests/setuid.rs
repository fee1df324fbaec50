//! nsenter rejects running when installed set-user-ID or set-group-ID
//! (its real and effective ids differ): a set-user-ID-root nsenter would
//! let every local user run anything as root in any namespace.
//!
//! The tests copy the binary into a temporary directory, set the mode bits
//! and run the copy as `nobody` (uid and gid 65534) through setpriv.

mod common;

use common::{assert_no_stderr, assert_success, nsenter_bin, run, Outcome, Target, TempDir};
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

const NOBODY: &str = "65534";

/// Returns true when the file system holding `path` is mounted `nosuid`,
/// judged by the mount in /proc/self/mountinfo with the longest mount
/// point that is a prefix of `path`.
fn mounted_nosuid(path: &Path) -> bool {
    let mountinfo = fs::read_to_string("/proc/self/mountinfo").expect("read /proc/self/mountinfo");
    let mut best: Option<(usize, bool)> = None;
    for line in mountinfo.lines() {
        let fields: Vec<&str> = line.split_whitespace().collect();
        // Field 5 is the mount point and field 6 the per-mount options.
        let (Some(mount_point), Some(options)) = (fields.get(4), fields.get(5)) else {
            continue;
        };
        if !path.starts_with(mount_point) {
            continue;
        }
        let nosuid = options.split(',').any(|option| option == "nosuid");
        // A later line with the same mount point is mounted on top.
        if best.is_none_or(|(length, _)| mount_point.len() >= length) {
            best = Some((mount_point.len(), nosuid));
        }
    }
    best.is_some_and(|(_, nosuid)| nosuid)
}

/// A copy of the binary under test with the given mode, in a directory
/// that `nobody` can search.
struct InstalledCopy {
    path: PathBuf,
    _dir: TempDir,
}

impl InstalledCopy {
    /// Returns `None`, after printing why, when the temp directory's file
    /// system ignores set-user-ID bits.
    fn new(mode: u32) -> Option<InstalledCopy> {
        let dir = TempDir::new("setuid");
        if mounted_nosuid(&dir.path) {
            eprintln!("{} is on a nosuid mount", dir.path_str());
            return None;
        }
        fs::set_permissions(&dir.path, fs::Permissions::from_mode(0o755))
            .expect("chmod the temp dir");
        let path = dir.join("nsenter");
        // cp writes the copy in its own process: a write descriptor open in
        // this multithreaded test process could leak into a concurrently
        // forked child and make exec fail with ETXTBSY.
        let copy = run(Command::new("cp").arg(nsenter_bin()).arg(&path));
        assert_success(&copy);
        fs::set_permissions(&path, fs::Permissions::from_mode(mode)).expect("chmod the copy");
        Some(InstalledCopy { path, _dir: dir })
    }

    /// Runs the copy as `nobody` with `args`.
    fn run_as_nobody(&self, args: &[&str]) -> Outcome {
        let mut command = Command::new("setpriv");
        command
            .args([
                &format!("--reuid={NOBODY}"),
                &format!("--regid={NOBODY}"),
                "--clear-groups",
            ])
            .arg(&self.path)
            .args(args)
            .stdin(Stdio::null());
        run(&mut command)
    }
}

/// Asserts that the copy rejected running, with status 1, no output and
/// one `nsenter: ` line that names the set-ID install.
fn assert_rejected_as_set_id(outcome: &Outcome) {
    common::assert_rejected(outcome);
    let names_set_id = ["set-user-ID", "set-group-ID", "setuid", "setgid"]
        .iter()
        .any(|term| outcome.stderr.contains(term));
    assert!(
        names_set_id,
        "message explains the set-ID install; {outcome:?}"
    );
}

#[test]
fn setuid_install_rejected_for_user() {
    require_root!();
    let Some(copy) = InstalledCopy::new(0o4755) else {
        eprintln!("skipped setuid_install_rejected_for_user: set-user-ID bits are ignored here");
        return;
    };
    let target = Target::unshare(&["--uts"]);

    let outcome = copy.run_as_nobody(&["-t", &target.pid_arg(), "-u", "--", "echo", "program ran"]);

    assert_rejected_as_set_id(&outcome);
}

#[test]
fn setgid_install_rejected_for_user() {
    require_root!();
    let Some(copy) = InstalledCopy::new(0o2755) else {
        eprintln!("skipped setgid_install_rejected_for_user: set-group-ID bits are ignored here");
        return;
    };
    let target = Target::unshare(&["--uts"]);

    let outcome = copy.run_as_nobody(&["-t", &target.pid_arg(), "-u", "--", "echo", "program ran"]);

    assert_rejected_as_set_id(&outcome);
}

/// Also with no namespace option at all: the check comes before anything
/// else that could act with the borrowed privilege.
#[test]
fn setuid_install_rejected_without_namespace() {
    require_root!();
    let Some(copy) = InstalledCopy::new(0o4755) else {
        eprintln!(
            "skipped setuid_install_rejected_without_namespace: set-user-ID bits are ignored here"
        );
        return;
    };

    let outcome = copy.run_as_nobody(&["-S", "0", "--", "echo", "program ran"]);

    assert_rejected_as_set_id(&outcome);
}

/// Root running the set-user-ID-root copy has equal real and effective ids,
/// so nothing is borrowed and nsenter works as usual.
#[test]
fn setuid_install_run_by_root_works() {
    require_root!();
    let Some(copy) = InstalledCopy::new(0o4755) else {
        eprintln!("skipped setuid_install_run_by_root_works: set-user-ID bits are ignored here");
        return;
    };
    let target = Target::unshare(&["--uts"]);
    let mut command = Command::new(&copy.path);
    command
        .args([
            "-t",
            &target.pid_arg(),
            "-u",
            "--",
            "readlink",
            "/proc/self/ns/uts",
        ])
        .stdin(Stdio::null());

    let outcome = run(&mut command);

    assert_success(&outcome);
    assert_eq!(
        outcome.stdout.trim_end(),
        target.ns("uts"),
        "program's uts namespace"
    );
    assert_no_stderr(&outcome);
}
