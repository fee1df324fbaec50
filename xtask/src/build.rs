//! `cargo xtask build`: installs the musl target when missing and builds the static binary.

use std::path::PathBuf;
use std::process::Command;

use anyhow::{bail, Context, Result};

use crate::cmd;

/// The target of the shipped binary, as set by `build.target` in .cargo/config.toml.
pub const TARGET: &str = "x86_64-unknown-linux-musl";

/// The package of the static helper that the guest suite uses (qemu/helper).
pub const GUEST_HELPER: &str = "nsenter-guest-helper";

pub fn run(args: &[String]) -> Result<()> {
    if let Some(arg) = args.first() {
        bail!("build takes no arguments, got '{arg}'");
    }
    let binary = nsenter()?;
    println!("{}", binary.display());
    Ok(())
}

/// Builds the release nsenter and returns the path of the static binary.
pub fn nsenter() -> Result<PathBuf> {
    release_package("nsenter")
}

/// Builds the static guest helper and returns its path.
pub fn guest_helper() -> Result<PathBuf> {
    release_package(GUEST_HELPER)
}

fn release_package(package: &str) -> Result<PathBuf> {
    ensure_musl_target()?;
    // --target repeats build.target, so the path below stays right when CARGO_BUILD_TARGET is set.
    let mut build = cmd::cargo();
    build.args([
        "build",
        "--release",
        "--target",
        TARGET,
        "--package",
        package,
    ]);
    cmd::run(&mut build).with_context(|| format!("cannot build the package {package}"))?;
    let binary = cmd::target_dir().join(TARGET).join("release").join(package);
    if !binary.is_file() {
        bail!("cargo built {package} but {} is missing", binary.display());
    }
    Ok(binary)
}

/// Installs the musl standard library through rustup when this toolchain lacks it.
pub fn ensure_musl_target() -> Result<()> {
    let sysroot = cmd::output(Command::new("rustc").args(["--print", "sysroot"]))
        .context("cannot find the Rust sysroot: is rustc on PATH?")?;
    let target_lib = PathBuf::from(sysroot.trim())
        .join("lib/rustlib")
        .join(TARGET)
        .join("lib");
    if target_lib.is_dir() {
        return Ok(());
    }
    eprintln!("installing the Rust target {TARGET} with rustup");
    cmd::run(Command::new("rustup").args(["target", "add", TARGET])).with_context(|| {
        format!("cannot install the Rust target {TARGET}: run 'rustup target add {TARGET}'")
    })
}
