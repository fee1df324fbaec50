//! `-Z`/`--follow-context`: run the program in the target's SELinux
//! context (read from `/proc/PID/attr/current`, written to
//! `/proc/self/attr/exec`). Without SELinux there is no context to
//! follow: like util-linux, the program runs anyway, and nsenter prints
//! one line that the option had no effect.

mod common;

use common::{nsenter, Target};
use std::path::Path;

#[test]
fn follow_context_without_selinux_warns() {
    require_root!();
    if Path::new("/sys/fs/selinux/enforce").exists() {
        eprintln!("skipped follow_context_without_selinux_warns: SELinux is enabled here");
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
            Some(0),
            "exit status with {option}; {outcome:?}"
        );
        assert_eq!(
            outcome.stdout, "program ran\n",
            "the program runs with {option}; {outcome:?}"
        );
        assert_eq!(
            outcome.stderr, "nsenter: SELinux is not enabled, so --follow-context has no effect\n",
            "one warning line with {option}; {outcome:?}"
        );
    }
}
