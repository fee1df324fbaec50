//! `-Z`/`--follow-context`: run the program in the target's SELinux
//! context (read from `/proc/PID/attr/current`, written to
//! `/proc/self/attr/exec`). On a machine without SELinux that must fail
//! with a message, not be skipped silently.

mod common;

use common::{nsenter, Target};
use std::path::Path;

#[test]
fn follow_context_without_selinux_rejected() {
    require_root!();
    if Path::new("/sys/fs/selinux/enforce").exists() {
        eprintln!("skipped follow_context_without_selinux_rejected: SELinux is enabled here");
        return;
    }
    let target = Target::unshare(&["--uts"]);

    for option in ["-Z", "--follow-context"] {
        let outcome = nsenter(&[
            "-t",
            &target.pid_arg(),
            "-u",
            option,
            "--",
            "echo",
            "program ran",
        ]);

        assert_eq!(
            outcome.code(),
            Some(1),
            "exit status with {option}; {outcome:?}"
        );
        assert_eq!(
            outcome.stdout, "",
            "the program must not run with {option}; {outcome:?}"
        );
        assert_eq!(
            outcome.stderr_lines().len(),
            1,
            "stderr lines with {option}; {outcome:?}"
        );
        assert!(
            outcome.stderr.starts_with("nsenter: "),
            "stderr prefix with {option}; {outcome:?}"
        );
        assert!(
            outcome.stderr.contains("SELinux"),
            "message names SELinux with {option}; {outcome:?}"
        );
    }
}
