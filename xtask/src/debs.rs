//! Debian packages fetched with `apt-get download` into target/debs and unpacked with `dpkg-deb -x`.
//!
//! Nothing is installed system-wide. Later runs reuse the cache, so only the first run needs
//! the Debian mirror.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{bail, Context, Result};

use crate::cmd;

/// The metapackage whose dependency names the current versioned kernel package.
const KERNEL_METAPACKAGE: &str = "linux-image-amd64";

/// Returns the cache of downloaded .deb files, target/debs.
pub fn cache_dir() -> PathBuf {
    cmd::repo_root().join("target/debs")
}

fn unpacked_root() -> PathBuf {
    cache_dir().join("unpacked")
}

/// Returns the directory where `package` is unpacked, downloading and unpacking it on first use.
pub fn unpacked(package: &str) -> Result<PathBuf> {
    unpacked_resolved(|| Ok(package.to_string())).map(|(_, dir)| dir)
}

/// Returns the package that `resolve` names and the directory where it is unpacked.
///
/// When the name cannot be resolved or downloaded, updates the package lists and calls
/// `resolve` again, because stale lists may name a version the mirror no longer has.
fn unpacked_resolved(resolve: impl Fn() -> Result<String>) -> Result<(String, PathBuf)> {
    let mut updated = false;
    let package = match resolve() {
        Ok(package) => package,
        Err(error) => {
            eprintln!("xtask: {error:#}");
            eprintln!("xtask: updating the package lists and trying again");
            update_package_lists()?;
            updated = true;
            resolve()?
        }
    };
    let dir = unpacked_root().join(&package);
    if dir.is_dir() {
        return Ok((package, dir));
    }
    let (package, deb) = match cached_or_downloaded(&package) {
        Ok(deb) => (package, deb),
        Err(error) if !updated => {
            eprintln!("xtask: {error:#}");
            eprintln!("xtask: updating the package lists and trying again");
            update_package_lists()?;
            let package = resolve()?;
            let deb = cached_or_downloaded(&package)?;
            (package, deb)
        }
        Err(error) => return Err(error),
    };
    let dir = unpack(&package, &deb)?;
    Ok((package, dir))
}

/// Unpacks `deb` into the unpacked cache and returns the directory, downloading the package
/// once more when `dpkg-deb -x` rejects the cached file.
fn unpack(package: &str, deb: &Path) -> Result<PathBuf> {
    let dir = unpacked_root().join(package);
    if dir.is_dir() {
        return Ok(dir);
    }
    if cmd::find_in_path("dpkg-deb").is_none() {
        bail!("dpkg-deb not found: install the Debian package dpkg");
    }
    remove_stale(&unpacked_root(), package, "partial")?;

    // Unpack beside the final name and rename, so an interrupted run leaves no half tree that a
    // later run would take as complete. The ID of this process keeps concurrent runs apart.
    let partial = unpacked_root().join(format!("{}.partial", in_progress_name(&dir)));
    create_empty_dir(&partial)?;
    if let Err(error) = dpkg_extract(deb, &partial) {
        // A .deb that an older xtask wrote in place and was interrupted, or a damaged file,
        // makes dpkg-deb fail.
        eprintln!("xtask: {error:#}");
        eprintln!("xtask: removing {} and downloading it again", deb.display());
        fs::remove_file(deb).with_context(|| format!("cannot remove {}", deb.display()))?;
        let deb = download(package)?;
        create_empty_dir(&partial)?;
        dpkg_extract(&deb, &partial).with_context(|| {
            format!(
                "{} is corrupt or truncated even after a new download: check the Debian mirror",
                deb.display()
            )
        })?;
    }

    if let Err(error) = fs::rename(&partial, &dir) {
        // A concurrent run may have finished the same package first.
        if !dir.is_dir() {
            return Err(error).with_context(|| {
                format!("cannot rename {} to {}", partial.display(), dir.display())
            });
        }
        let _ = fs::remove_dir_all(&partial);
    }
    Ok(dir)
}

/// Runs `dpkg-deb -x`, removing `partial` when it fails.
fn dpkg_extract(deb: &Path, partial: &Path) -> Result<()> {
    let extracted = cmd::run(Command::new("dpkg-deb").arg("-x").arg(deb).arg(partial))
        .with_context(|| format!("cannot unpack {}", deb.display()));
    if extracted.is_err() {
        let _ = fs::remove_dir_all(partial);
    }
    extracted
}

/// Creates `dir` as an empty directory, removing what a previous attempt left there.
fn create_empty_dir(dir: &Path) -> Result<()> {
    if dir.exists() {
        fs::remove_dir_all(dir).with_context(|| format!("cannot remove {}", dir.display()))?;
    }
    fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))
}

/// Returns `NAME.PID` for the last component of `path`, the stem of this process's temporary
/// files beside it.
fn in_progress_name(path: &Path) -> String {
    let name = path.file_name().unwrap_or_default().to_string_lossy();
    format!("{name}.{}", std::process::id())
}

/// Removes `PACKAGE.PID.SUFFIX` entries in `dir` that a process no longer running left behind.
fn remove_stale(dir: &Path, package: &str, suffix: &str) -> Result<()> {
    let Ok(entries) = fs::read_dir(dir) else {
        return Ok(());
    };
    for path in entries.filter_map(|entry| entry.ok().map(|entry| entry.path())) {
        let Some(name) = path.file_name().and_then(|name| name.to_str()) else {
            continue;
        };
        let Some(pid) = parse_in_progress_pid(name, package, suffix) else {
            continue;
        };
        // NOTE: a reused PID keeps a stale entry until that process ends, which is harmless.
        if Path::new("/proc").join(pid.to_string()).exists() {
            continue;
        }
        eprintln!("removing {}, left by an interrupted run", path.display());
        let removed = if path.is_dir() {
            fs::remove_dir_all(&path)
        } else {
            fs::remove_file(&path)
        };
        removed.with_context(|| format!("cannot remove {}", path.display()))?;
    }
    Ok(())
}

/// Returns the PID in a `PACKAGE.PID.SUFFIX` name.
fn parse_in_progress_pid(name: &str, package: &str, suffix: &str) -> Option<u32> {
    let pid = name
        .strip_prefix(package)?
        .strip_prefix('.')?
        .strip_suffix(suffix)?
        .strip_suffix('.')?;
    pid.parse().ok()
}

/// Returns the cached .deb of `package`, downloading it with `apt-get download` when missing.
fn cached_or_downloaded(package: &str) -> Result<PathBuf> {
    match cached_deb(package)? {
        Some(deb) => Ok(deb),
        None => download(package),
    }
}

/// Downloads `package` with `apt-get download` into a temporary directory and moves the .deb
/// into the cache, so an interrupted download leaves no .deb that a later run would take as
/// complete.
fn download(package: &str) -> Result<PathBuf> {
    let dir = cache_dir();
    fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    remove_stale(&dir, package, "download")?;
    let temporary = dir.join(format!("{}.download", in_progress_name(&dir.join(package))));
    create_empty_dir(&temporary)?;
    eprintln!(
        "downloading the Debian package {package} into {}",
        dir.display()
    );
    let moved = apt_get_download(package, &temporary)
        .with_context(|| format!("cannot download the Debian package {package}: check that the machine reaches a Debian mirror"))
        .and_then(|()| move_deb(package, &temporary, &dir));
    let _ = fs::remove_dir_all(&temporary);
    moved
}

/// Moves the `PACKAGE_*.deb` that `apt-get download` wrote into `temporary` to `dir`.
fn move_deb(package: &str, temporary: &Path, dir: &Path) -> Result<PathBuf> {
    let downloaded = find_deb(package, temporary)?.with_context(|| {
        format!(
            "apt-get download {package} left no {package}_*.deb in {}",
            temporary.display()
        )
    })?;
    let deb = dir.join(downloaded.file_name().unwrap_or_default());
    fs::rename(&downloaded, &deb).with_context(|| {
        format!(
            "cannot rename {} to {}",
            downloaded.display(),
            deb.display()
        )
    })?;
    Ok(deb)
}

fn apt_get_download(package: &str, dir: &Path) -> Result<()> {
    // As root, apt drops to the user _apt, which cannot write into target/, so it downloads as
    // root directly instead of warning about it.
    cmd::run(
        Command::new("apt-get")
            .args(["download", "-o", "APT::Sandbox::User=root", package])
            .current_dir(dir),
    )
}

/// Runs `apt-get update` as root, or fails with the command to run.
pub fn update_package_lists() -> Result<()> {
    if !cmd::is_root() {
        bail!("the Debian package lists may be missing or stale: run 'sudo apt-get update'");
    }
    cmd::run(Command::new("apt-get").arg("update"))
        .context("cannot update the Debian package lists")
}

/// Returns the cached `PACKAGE_VERSION_ARCH.deb` of `package`, if any.
fn cached_deb(package: &str) -> Result<Option<PathBuf>> {
    find_deb(package, &cache_dir())
}

/// Returns the `PACKAGE_VERSION_ARCH.deb` of `package` in `dir` with the greatest file name.
///
/// NOTE: file names sort as strings, not as Debian versions. Downloads happen only when no
/// .deb of the package is cached, so the cache normally contains one.
fn find_deb(package: &str, dir: &Path) -> Result<Option<PathBuf>> {
    if !dir.is_dir() {
        return Ok(None);
    }
    let prefix = format!("{package}_");
    let mut debs: Vec<PathBuf> = fs::read_dir(dir)
        .with_context(|| format!("cannot list {}", dir.display()))?
        .filter_map(|entry| entry.ok().map(|entry| entry.path()))
        .filter(|path| {
            path.file_name()
                .and_then(|name| name.to_str())
                .is_some_and(|name| name.starts_with(&prefix) && name.ends_with(".deb"))
        })
        .collect();
    debs.sort();
    Ok(debs.pop())
}

/// Returns the path of the Debian amd64 kernel (boot/vmlinuz-*) that the package lists name.
///
/// The versioned package is resolved through apt on every call, so a kernel unpacked for an
/// older name is not reused after the lists move on.
pub fn kernel() -> Result<PathBuf> {
    let (package, dir) = unpacked_resolved(kernel_package)?;
    let vmlinuz = find_vmlinuz(&dir)?
        .with_context(|| format!("the package {package} contains no boot/vmlinuz-*"))?;
    let version = cached_deb(&package)?
        .as_deref()
        .and_then(|deb| deb_version(&package, deb))
        .unwrap_or_else(|| "unknown version: its .deb is no longer cached".to_string());
    eprintln!("guest kernel: {package} ({version}), {}", vmlinuz.display());
    Ok(vmlinuz)
}

/// Returns the Debian version in a `PACKAGE_VERSION_ARCH.deb` file name, with the `%3a` that
/// apt writes for an epoch's colon decoded.
fn deb_version(package: &str, deb: &Path) -> Option<String> {
    let name = deb.file_name()?.to_str()?;
    let rest = name.strip_prefix(package)?.strip_prefix('_')?;
    let (version, _arch) = rest.strip_suffix(".deb")?.rsplit_once('_')?;
    Some(version.replace("%3a", ":"))
}

fn find_vmlinuz(dir: &Path) -> Result<Option<PathBuf>> {
    let boot = dir.join("boot");
    if !boot.is_dir() {
        return Ok(None);
    }
    let vmlinuz = fs::read_dir(&boot)
        .with_context(|| format!("cannot list {}", boot.display()))?
        .filter_map(|entry| entry.ok().map(|entry| entry.path()))
        .find(|path| {
            path.file_name()
                .and_then(|name| name.to_str())
                .is_some_and(|name| name.starts_with("vmlinuz-"))
        });
    Ok(vmlinuz)
}

/// Resolves the versioned kernel package (e.g. linux-image-6.1.0-48-amd64) from the
/// metapackage's dependency in the current package lists.
fn kernel_package() -> Result<String> {
    let text = cmd::output(Command::new("apt-cache").args(["depends", KERNEL_METAPACKAGE]))?;
    parse_kernel_dependency(&text).with_context(|| {
        format!("apt-cache depends {KERNEL_METAPACKAGE} names no linux-image-*-amd64 package: is a Debian mirror in the apt sources?")
    })
}

/// Finds the `Depends: linux-image-VERSION-amd64` line of `apt-cache depends` output.
fn parse_kernel_dependency(text: &str) -> Option<String> {
    text.lines()
        .filter_map(|line| line.trim().strip_prefix("Depends:"))
        .map(str::trim)
        .find(|name| name.starts_with("linux-image-") && name.ends_with("-amd64"))
        .map(str::to_string)
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::{deb_version, parse_in_progress_pid, parse_kernel_dependency};

    #[test]
    fn deb_version_parsed() {
        let deb = Path::new("/c/linux-image-6.1.0-48-amd64_6.1.172-1_amd64.deb");
        assert_eq!(
            deb_version("linux-image-6.1.0-48-amd64", deb).as_deref(),
            Some("6.1.172-1")
        );
    }

    #[test]
    fn deb_version_epoch_decoded() {
        let deb = Path::new("busybox-static_1%3a1.35.0-4+deb12u1+b1_amd64.deb");
        assert_eq!(
            deb_version("busybox-static", deb).as_deref(),
            Some("1:1.35.0-4+deb12u1+b1")
        );
    }

    #[test]
    fn in_progress_pid_parsed() {
        let parse = |name| parse_in_progress_pid(name, "busybox-static", "partial");
        assert_eq!(parse("busybox-static.123.partial"), Some(123));
        assert_eq!(parse("busybox-static.123.download"), None);
        assert_eq!(parse("busybox-static-extra.123.partial"), None);
        assert_eq!(parse("busybox-static.partial"), None);
        assert_eq!(parse("busybox-static"), None);
    }

    #[test]
    fn kernel_dependency_parsed() {
        let text = "linux-image-amd64\n  Depends: linux-image-6.1.0-48-amd64\n";
        assert_eq!(
            parse_kernel_dependency(text).as_deref(),
            Some("linux-image-6.1.0-48-amd64")
        );
    }

    #[test]
    fn kernel_dependency_missing() {
        assert_eq!(parse_kernel_dependency("linux-image-amd64\n"), None);
    }
}
