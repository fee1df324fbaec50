//! Root and working directory: `-r`, `-w`, `-W DIR` (resolved inside the
//! namespaces) and `-r` without `-w` (the cwd is taken after entry).
//!
//! The chrooted targets run in a `RootFs`: a temp dir holding copies of a
//! few host programs and their shared libraries, with a marker file that
//! exists only inside it.

mod common;

use common::{
    assert_no_stderr, assert_success, nsenter, testing_reference, RootFs, Target, TempDir,
};

const MARKER_TEXT: &str = "inside the chroot\n";

/// Builds a root with sh, sleep and cat, a `/marker` file and the
/// directories `/sub` and `/other`.
fn build_root() -> RootFs {
    let root = RootFs::with_programs(&["sh", "sleep", "cat"]);
    root.write("marker", MARKER_TEXT);
    root.create_dir("sub");
    root.create_dir("other");
    root
}

/// Starts a target chrooted into `root` with its cwd at `/sub`.
fn chrooted_in_sub(root: &RootFs) -> Target {
    Target::spawn(&[
        "chroot",
        root.path_str(),
        "/bin/sh",
        "-c",
        "cd /sub && exec /bin/sleep 1000",
    ])
}

#[test]
fn root_runs_program_inside_target_root() {
    require_root!();
    let root = build_root();
    let target = Target::chrooted(root.path());
    let pid = target.pid_arg();

    let outcome = nsenter(&["-t", &pid, "-r", "/bin/cat", "/marker"]);

    assert_success(&outcome);
    assert_eq!(outcome.stdout, MARKER_TEXT);
    assert_no_stderr(&outcome);
}

#[test]
fn root_and_wd_from_target() {
    require_root!();
    let root = build_root();
    let target = chrooted_in_sub(&root);
    let pid = target.pid_arg();

    let outcome = nsenter(&[
        "-t",
        &pid,
        "-r",
        "-w",
        "/bin/sh",
        "-c",
        "pwd; cat ../marker",
    ]);

    assert_success(&outcome);
    assert_eq!(
        outcome.stdout,
        format!("/sub\n{MARKER_TEXT}"),
        "cwd and a file relative to it"
    );
    assert_no_stderr(&outcome);
}

#[test]
fn wd_alone_is_target_cwd() {
    require_root!();
    // Without -r the root stays ours, so the target's cwd shows by its
    // full path from our root.
    let root = build_root();
    let target = chrooted_in_sub(&root);
    let pid = target.pid_arg();

    let outcome = nsenter(&["-t", &pid, "-w", "sh", "-c", "pwd"]);

    assert_success(&outcome);
    assert_eq!(outcome.stdout, format!("{}/sub\n", root.path_str()));
    assert_no_stderr(&outcome);
}

#[test]
fn wdns_resolves_inside_root() {
    require_root!();
    // /other exists only inside the chroot, so it is resolved after the
    // chroot into the target's root.
    let root = build_root();
    let target = chrooted_in_sub(&root);
    let pid = target.pid_arg();

    let outcome = nsenter(&["-t", &pid, "-r", "--wdns=/other", "/bin/sh", "-c", "pwd"]);

    assert_success(&outcome);
    assert_eq!(outcome.stdout, "/other\n");
    assert_no_stderr(&outcome);
}

#[test]
fn wdns_short_attached_argument() {
    require_root!();
    let root = build_root();
    let target = chrooted_in_sub(&root);
    let pid = target.pid_arg();

    let outcome = nsenter(&["-t", &pid, "-r", "-W/other", "/bin/sh", "-c", "pwd"]);

    assert_success(&outcome);
    assert_eq!(outcome.stdout, "/other\n");
    assert_no_stderr(&outcome);
}

#[test]
fn wdns_separate_required_argument() {
    require_root!();
    if testing_reference() {
        // util-linux 2.38 parses the argument of -W as optional, so
        // `-W /other` would run /other as the program.
        eprintln!("skipped: util-linux 2.38 takes no separate argument for -W");
        return;
    }
    let root = build_root();
    let target = chrooted_in_sub(&root);
    let pid = target.pid_arg();

    let outcome = nsenter(&["-t", &pid, "-r", "-W", "/other", "/bin/sh", "-c", "pwd"]);

    assert_success(&outcome);
    assert_eq!(outcome.stdout, "/other\n");
    assert_no_stderr(&outcome);
}

#[test]
fn wdns_resolves_inside_mount_namespace() {
    require_root!();
    // The directory exists only on a tmpfs mounted in the target's mount
    // namespace, so it can be found only after entry.
    let mount_point = TempDir::new("wdns");
    let inside = format!("{}/only-inside", mount_point.path_str());
    let script = format!(
        "mount -t tmpfs none {} && mkdir {inside} && exec sleep 1000",
        mount_point.path_str()
    );
    let target = Target::spawn(&[
        "unshare",
        "--mount",
        "--propagation",
        "private",
        "sh",
        "-c",
        &script,
    ]);
    let pid = target.pid_arg();
    let wdns = format!("--wdns={inside}");

    let outcome = nsenter(&["-t", &pid, "-m", &wdns, "sh", "-c", "pwd"]);

    assert_success(&outcome);
    assert_eq!(outcome.stdout, format!("{inside}\n"));
    assert_no_stderr(&outcome);
}

#[test]
fn root_without_wd_cwd_after_entry() {
    require_root!();
    // Entering a mount namespace moves the caller's cwd to that
    // namespace's root, and -r without -w keeps the cwd taken after entry.
    // Taken before entry it would be the test's own cwd.
    let target = Target::unshare(&["--mount"]);
    let pid = target.pid_arg();
    let own_cwd = std::env::current_dir().expect("current dir");
    assert_ne!(own_cwd.to_str(), Some("/"), "the test must not run from /");

    let outcome = nsenter(&["-t", &pid, "-m", "-r", "sh", "-c", "pwd"]);

    assert_success(&outcome);
    assert_eq!(outcome.stdout, "/\n");
    assert_no_stderr(&outcome);
}

#[test]
fn root_inside_target_mount_namespace() {
    require_root!();
    // The tmpfs on /other exists only in the target's mount namespace, so
    // the file is visible only through the target's root after entry.
    let root = build_root();
    let script = format!(
        "mount -t tmpfs none {dir}/other && echo mounted > {dir}/other/file && exec chroot {dir} /bin/sh -c 'cd /sub && exec /bin/sleep 1000'",
        dir = root.path_str()
    );
    let target = Target::spawn(&[
        "unshare",
        "--mount",
        "--propagation",
        "private",
        "sh",
        "-c",
        &script,
    ]);
    let pid = target.pid_arg();

    let outcome = nsenter(&[
        "-t",
        &pid,
        "-m",
        "-r",
        "-w",
        "/bin/sh",
        "-c",
        "pwd; cat /other/file /marker",
    ]);

    assert_success(&outcome);
    assert_eq!(
        outcome.stdout,
        format!("/sub\nmounted\n{MARKER_TEXT}"),
        "cwd, the tmpfs file and the marker"
    );
    assert_no_stderr(&outcome);
}

#[test]
fn root_with_directory_argument() {
    require_root!();
    // `--root=DIR` is opened in our own root, and needs no target.
    let root = build_root();
    let root_option = format!("--root={}", root.path_str());

    let outcome = nsenter(&[&root_option, "/bin/cat", "/marker"]);

    assert_success(&outcome);
    assert_eq!(outcome.stdout, MARKER_TEXT);
    assert_no_stderr(&outcome);
}

#[test]
fn root_short_attached_directory() {
    require_root!();
    let root = build_root();
    let root_option = format!("-r{}", root.path_str());

    let outcome = nsenter(&[&root_option, "/bin/cat", "/marker"]);

    assert_success(&outcome);
    assert_eq!(outcome.stdout, MARKER_TEXT);
    assert_no_stderr(&outcome);
}

#[test]
fn root_equals_sign_dropped() {
    require_root!();
    if testing_reference() {
        // util-linux keeps the `=` for -r only, and opens "=DIR".
        eprintln!("skipped: util-linux keeps the `=` of `-r=DIR`");
        return;
    }
    let root = build_root();
    let root_option = format!("-r={}", root.path_str());

    let outcome = nsenter(&[&root_option, "/bin/cat", "/marker"]);

    assert_success(&outcome);
    assert_eq!(outcome.stdout, MARKER_TEXT);
    assert_no_stderr(&outcome);
}

#[test]
fn wd_with_directory_argument() {
    require_root!();
    // `-wDIR` is opened in our root before the chroot, and lies inside the
    // target's root, so inside it shows as /sub.
    let root = build_root();
    let target = Target::chrooted(root.path());
    let pid = target.pid_arg();
    let wd_option = format!("--wd={}/sub", root.path_str());

    let outcome = nsenter(&["-t", &pid, "-r", &wd_option, "/bin/sh", "-c", "pwd"]);

    assert_success(&outcome);
    assert_eq!(outcome.stdout, "/sub\n");
    assert_no_stderr(&outcome);
}

#[test]
fn wd_equals_sign_dropped() {
    require_root!();
    if testing_reference() {
        // util-linux 2.38.1 opens "=DIR" for -w too.
        eprintln!("skipped: util-linux 2.38 keeps the `=` of `-w=DIR`");
        return;
    }
    let root = build_root();
    let target = Target::chrooted(root.path());
    let pid = target.pid_arg();
    let wd_option = format!("-w={}/sub", root.path_str());

    let outcome = nsenter(&["-t", &pid, "-r", &wd_option, "/bin/sh", "-c", "pwd"]);

    assert_success(&outcome);
    assert_eq!(outcome.stdout, "/sub\n");
    assert_no_stderr(&outcome);
}
