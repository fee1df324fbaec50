//! Facts about the machine and the versions of the software measured.

use std::fs;
use std::process::Command;

use anyhow::{Context, Result};

use super::entry::Tools;
use crate::cmd;

/// Facts about the machine and the software measured.
pub(super) struct Machine {
    pub(super) date: String,
    pub(super) cpu: String,
    pub(super) cores: String,
    pub(super) kernel: String,
    pub(super) commit: String,
    pub(super) util_linux: String,
    pub(super) busybox: String,
    pub(super) hyperfine: String,
    pub(super) strace: String,
    /// LC_ALL, else LANG, of the measured commands' environment.
    pub(super) locale: String,
}

pub(super) fn describe_machine(tools: &Tools) -> Result<Machine> {
    let first_line = |text: String| text.lines().next().unwrap_or("").trim().to_string();
    let cpuinfo = fs::read_to_string("/proc/cpuinfo").context("cannot read /proc/cpuinfo")?;
    let cpu = cpuinfo
        .lines()
        .find_map(|line| line.strip_prefix("model name")?.split_once(':'))
        .map(|(_, model)| model.trim().to_string())
        .unwrap_or_else(|| "unknown".to_string());
    let kernel = fs::read_to_string("/proc/sys/kernel/osrelease")
        .context("cannot read /proc/sys/kernel/osrelease")?;
    // busybox without an applet name prints its version and usage. Its exit status is not checked
    // because it is no part of what this command measures.
    let busybox = Command::new(&tools.busybox)
        .output()
        .with_context(|| format!("cannot run {}", tools.busybox.display()))?;
    let commit = describe_commit();
    Ok(Machine {
        date: first_line(cmd::output(
            Command::new("date").args(["-u", "+%Y-%m-%d %H:%M UTC"]),
        )?),
        cpu,
        cores: first_line(cmd::output(&mut Command::new("nproc"))?),
        kernel: kernel.trim().to_string(),
        commit,
        util_linux: first_line(cmd::output(
            Command::new(&tools.util_linux).arg("--version"),
        )?),
        busybox: first_line(String::from_utf8_lossy(&busybox.stdout).into_owned()),
        hyperfine: first_line(cmd::output(Command::new("hyperfine").arg("--version"))?),
        locale: locale(),
        strace: first_line(cmd::output(Command::new("strace").arg("-V"))?),
    })
}

fn locale() -> String {
    ["LC_ALL", "LANG"]
        .iter()
        .find_map(|name| {
            let value = std::env::var(name).ok().filter(|value| !value.is_empty())?;
            Some(format!("{name}={value}"))
        })
        .unwrap_or_else(|| "LANG and LC_ALL unset".to_string())
}

/// Returns the commit of the source and whether the files the binary is built from differ from it.
fn describe_commit() -> String {
    let git =
        |args: &[&str]| cmd::output(Command::new("git").args(args).current_dir(cmd::repo_root()));
    let Ok(commit) = git(&["rev-parse", "--short", "HEAD"]) else {
        return "unknown (no git checkout)".to_string();
    };
    // --no-optional-locks keeps git status from rewriting the index while it reads.
    let changes = git(&[
        "--no-optional-locks",
        "status",
        "--porcelain",
        "--",
        "src",
        "build.rs",
        "Cargo.toml",
        "Cargo.lock",
        ".cargo",
    ]);
    let state = match changes {
        Ok(text) if text.trim().is_empty() => "no uncommitted changes in the binary's sources",
        Ok(_) => "with uncommitted changes in the binary's sources",
        Err(_) => "uncommitted changes unknown",
    };
    format!("commit {}, {state}", commit.trim())
}
