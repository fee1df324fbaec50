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
    let dir = unpacked_root().join(package);
    if dir.is_dir() {
        return Ok(dir);
    }
    let deb = download(package)?;

    // Unpack beside the final name and rename, so an interrupted run leaves no half tree that a
    // later run would take as complete. The name of this process keeps concurrent runs apart.
    let partial = unpacked_root().join(format!("{package}.{}.partial", std::process::id()));
    if partial.exists() {
        fs::remove_dir_all(&partial)
            .with_context(|| format!("cannot remove {}", partial.display()))?;
    }
    fs::create_dir_all(&partial).with_context(|| format!("cannot create {}", partial.display()))?;
    cmd::run(Command::new("dpkg-deb").arg("-x").arg(&deb).arg(&partial)).with_context(|| {
        format!(
            "cannot unpack {}: is dpkg-deb (package dpkg) installed?",
            deb.display()
        )
    })?;
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

/// Returns the cached .deb of `package`, downloading it with `apt-get download` when missing.
pub fn download(package: &str) -> Result<PathBuf> {
    if let Some(deb) = cached_deb(package)? {
        return Ok(deb);
    }
    let dir = cache_dir();
    fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    eprintln!(
        "downloading the Debian package {package} into {}",
        dir.display()
    );
    if apt_get_download(package, &dir).is_err() {
        // A fresh machine may have empty or stale package lists.
        update_package_lists()?;
        apt_get_download(package, &dir)
            .with_context(|| format!("cannot download the Debian package {package}: run 'apt-get update' and check that the machine reaches a Debian mirror"))?;
    }
    cached_deb(package)?.with_context(|| {
        format!(
            "apt-get download {package} left no {package}_*.deb in {}",
            dir.display()
        )
    })
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

/// Returns the newest `PACKAGE_VERSION_ARCH.deb` of `package` in the cache, if any.
fn cached_deb(package: &str) -> Result<Option<PathBuf>> {
    let dir = cache_dir();
    if !dir.is_dir() {
        return Ok(None);
    }
    let prefix = format!("{package}_");
    let mut debs: Vec<PathBuf> = fs::read_dir(&dir)
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

/// Returns the path of a Debian amd64 kernel (boot/vmlinuz-*), reusing any kernel already unpacked.
pub fn kernel() -> Result<PathBuf> {
    if let Some(vmlinuz) = cached_kernel()? {
        return Ok(vmlinuz);
    }
    let package = kernel_package()?;
    let dir = unpacked(&package)?;
    find_vmlinuz(&dir)?.with_context(|| format!("the package {package} contains no boot/vmlinuz-*"))
}

fn cached_kernel() -> Result<Option<PathBuf>> {
    let root = unpacked_root();
    if !root.is_dir() {
        return Ok(None);
    }
    let mut dirs: Vec<PathBuf> = fs::read_dir(&root)
        .with_context(|| format!("cannot list {}", root.display()))?
        .filter_map(|entry| entry.ok().map(|entry| entry.path()))
        .filter(|path| {
            path.file_name()
                .and_then(|name| name.to_str())
                .is_some_and(|name| name.starts_with("linux-image-") && name.ends_with("-amd64"))
        })
        .collect();
    dirs.sort();
    match dirs.pop() {
        Some(dir) => find_vmlinuz(&dir),
        None => Ok(None),
    }
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

/// Resolves the versioned kernel package (e.g. linux-image-6.1.0-48-amd64) from the metapackage's dependency.
fn kernel_package() -> Result<String> {
    let depends = || cmd::output(Command::new("apt-cache").args(["depends", KERNEL_METAPACKAGE]));
    let text = match depends() {
        Ok(text) if parse_kernel_dependency(&text).is_some() => text,
        _ => {
            update_package_lists()?;
            depends()?
        }
    };
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
    use super::parse_kernel_dependency;

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
