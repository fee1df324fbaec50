//! `cargo xtask demo`: shows the release nsenter entering a target's fresh namespaces.
//!
//! It prints the hostname and namespace ids seen inside beside the host's. The target is a
//! `sleep` started by util-linux `unshare` in new PID, mount, UTS, IPC, network, cgroup and time
//! namespaces with its own hostname. Run as root, it shares our user namespace, which `--all`
//! then leaves alone. xtask kills only that target, by its PID.

use std::fs;
use std::process::{Child, Command, Stdio};
use std::thread::sleep;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};

use crate::{build, cmd};

const TARGET_HOSTNAME: &str = "nsenter-demo";

/// The namespace kinds shown, as named in /proc/PID/ns.
const KINDS: [&str; 8] = ["cgroup", "ipc", "mnt", "net", "pid", "time", "user", "uts"];

pub fn run(args: &[String]) -> Result<()> {
    if let Some(arg) = args.first() {
        bail!("demo takes no arguments, got '{arg}'");
    }
    let nsenter = build::nsenter()?;

    let mut unshare = Command::new("unshare");
    unshare.args([
        "--fork",
        "--pid",
        "--mount-proc",
        "--uts",
        "--ipc",
        "--net",
        "--mount",
        "--cgroup",
        "--time",
    ]);
    if !cmd::is_root() {
        // Without root, a user namespace where we are root makes the others possible.
        unshare.args(["--user", "--map-root-user"]);
    }
    let set_hostname = format!("hostname {TARGET_HOSTNAME} && exec sleep 300");
    unshare
        .args(["/bin/sh", "-c", &set_hostname])
        .stdin(Stdio::null());
    let line = cmd::display(&unshare);
    eprintln!("$ {line}");
    let mut unshare_child = unshare
        .spawn()
        .with_context(|| format!("cannot run `{line}`: is util-linux's unshare installed?"))?;

    let result = wait_for_target(&mut unshare_child).and_then(|target| {
        let printed = print_comparison(&nsenter.to_string_lossy(), target);
        // unshare goes first: util-linux 2.38.1's unshare prints "sigprocmask unblock failed"
        // when its child is killed. Then the target, PID 1 of its PID namespace, which
        // only SIGKILL ends from outside.
        let _ = unshare_child.kill();
        let _ = unshare_child.wait();
        let killed = cmd::run(Command::new("kill").args(["-KILL", &target.to_string()]));
        printed.and(killed)
    });
    let _ = unshare_child.kill();
    let _ = unshare_child.wait();
    result
}

/// Waits until unshare's child has set the hostname and become `sleep`, and returns its PID.
fn wait_for_target(unshare_child: &mut Child) -> Result<u32> {
    let unshare_pid = unshare_child.id();
    let children_file = format!("/proc/{unshare_pid}/task/{unshare_pid}/children");
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        if let Some(status) = unshare_child.try_wait()? {
            bail!("unshare exited before the target started: {status}");
        }
        let children = fs::read_to_string(&children_file).unwrap_or_default();
        if let Some(target) = children
            .split_whitespace()
            .next()
            .and_then(|pid| pid.parse::<u32>().ok())
        {
            let comm = fs::read_to_string(format!("/proc/{target}/comm")).unwrap_or_default();
            if comm.trim() == "sleep" {
                return Ok(target);
            }
        }
        sleep(Duration::from_millis(20));
    }
    // unshare_child is the unshare process started by this command.
    let _ = unshare_child.kill();
    bail!("the target did not start within 10 s (read {children_file})")
}

/// Runs nsenter --all into the target and prints its view beside the host's.
fn print_comparison(nsenter: &str, target: u32) -> Result<()> {
    let script = format!(
        "hostname; for kind in {}; do readlink /proc/self/ns/$kind; done",
        KINDS.join(" ")
    );
    let mut command = Command::new(nsenter);
    command.args([
        "--target",
        &target.to_string(),
        "--all",
        "--",
        "/bin/sh",
        "-c",
        &script,
    ]);
    eprintln!("$ {}", cmd::display(&command));
    let output = command
        .output()
        .with_context(|| format!("cannot run {nsenter}"))?;
    if !output.status.success() {
        bail!(
            "nsenter failed: {}: {}",
            output.status,
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
    let inside = String::from_utf8_lossy(&output.stdout);
    let mut inside = inside.lines();

    let host_hostname = fs::read_to_string("/proc/sys/kernel/hostname").unwrap_or_default();
    println!(
        "{:<10} {:<24} target {target} via nsenter --all",
        "", "host"
    );
    println!(
        "{:<10} {:<24} {}",
        "hostname",
        host_hostname.trim(),
        inside.next().unwrap_or("?")
    );
    for kind in KINDS {
        let host = fs::read_link(format!("/proc/self/ns/{kind}"))
            .map(|link| link.to_string_lossy().into_owned())
            .unwrap_or_else(|_| "-".to_string());
        println!("{kind:<10} {host:<24} {}", inside.next().unwrap_or("?"));
    }
    Ok(())
}
