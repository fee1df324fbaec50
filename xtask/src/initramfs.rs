//! `cargo xtask initramfs`: writes the guest's initramfs, an uncompressed cpio (newc) archive.
//!
//! The archive contains busybox with its applet links, the static nsenter, the static guest
//! helper, and the guest's init, test script and shell profile from qemu/.

use std::fs;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{bail, Context, Result};

use crate::{build, cmd, debs};

pub fn run(args: &[String]) -> Result<()> {
    if let Some(arg) = args.first() {
        bail!("initramfs takes no arguments, got '{arg}'");
    }
    let image = build_image()?;
    println!("{}", image.display());
    Ok(())
}

/// Builds the binaries, fetches busybox and writes target/qemu/initramfs.cpio, returning its path.
pub fn build_image() -> Result<PathBuf> {
    let nsenter = build::nsenter()?;
    let helper = build::guest_helper()?;
    let busybox = debs::unpacked("busybox-static")?.join("bin/busybox");
    let image = cmd::repo_root().join("target/qemu/initramfs.cpio");
    // Written under a name of this process and renamed, so a concurrent run never boots a
    // half-written image.
    let partial = image.with_extension(format!("cpio.{}.partial", std::process::id()));
    write_image(&partial, &nsenter, &helper, &busybox)
        .with_context(|| format!("cannot write the initramfs {}", partial.display()))?;
    fs::rename(&partial, &image)
        .with_context(|| format!("cannot rename {} to {}", partial.display(), image.display()))?;
    eprintln!("wrote {}", image.display());
    Ok(image)
}

fn write_image(image: &Path, nsenter: &Path, helper: &Path, busybox: &Path) -> Result<()> {
    let qemu_dir = cmd::repo_root().join("qemu");
    let applets = busybox_applets(busybox)?;
    if let Some(parent) = image.parent() {
        fs::create_dir_all(parent)?;
    }
    let mut cpio = CpioWriter::new(BufWriter::new(fs::File::create(image)?));

    for dir in [
        "bin", "sbin", "usr", "usr/bin", "usr/sbin", "dev", "proc", "sys", "etc", "root", "mnt",
    ] {
        cpio.directory(dir, 0o755)?;
    }
    cpio.directory("tmp", 0o1777)?;

    // The kernel opens /dev/console for init's stdin, stdout and stderr before init can mount
    // devtmpfs, so the node must be in the archive.
    cpio.char_device("dev/console", 0o600, 5, 1)?;

    cpio.file("bin/busybox", 0o755, &read(busybox)?)?;
    for applet in &applets {
        cpio.symlink(applet, "/bin/busybox")?;
    }
    cpio.file("bin/nsenter", 0o755, &read(nsenter)?)?;
    cpio.file(
        &format!("bin/{}", build::GUEST_HELPER),
        0o755,
        &read(helper)?,
    )?;
    cpio.file("init", 0o755, &read(&qemu_dir.join("init"))?)?;
    cpio.file("tests.sh", 0o755, &read(&qemu_dir.join("tests.sh"))?)?;
    cpio.file("etc/profile", 0o644, &read(&qemu_dir.join("profile"))?)?;
    cpio.finish()?.flush()?;
    Ok(())
}

fn read(path: &Path) -> Result<Vec<u8>> {
    fs::read(path).with_context(|| format!("cannot read {}", path.display()))
}

/// Lists the applet links of a static busybox (e.g. `usr/bin/env`) by running it on the host.
///
/// The links that would shadow a file of the archive (`bin/busybox` itself) or our nsenter are
/// left out; busybox's own nsenter stays reachable as `busybox nsenter`.
fn busybox_applets(busybox: &Path) -> Result<Vec<String>> {
    let list = cmd::output(Command::new(busybox).arg("--list-full"))
        .with_context(|| format!("cannot list the applets of {}", busybox.display()))?;
    let applets: Vec<String> = list
        .lines()
        .map(|line| line.trim().trim_start_matches('/'))
        .filter(|path| !path.is_empty())
        .filter(|path| !matches!(path.rsplit('/').next(), Some("busybox" | "nsenter")))
        .map(str::to_string)
        .collect();
    if applets.is_empty() {
        bail!("{} --list-full printed no applets", busybox.display());
    }
    Ok(applets)
}

const S_IFDIR: u32 = 0o040000;
const S_IFREG: u32 = 0o100000;
const S_IFLNK: u32 = 0o120000;
const S_IFCHR: u32 = 0o020000;

/// A writer of the cpio "newc" format (magic 070701) that the kernel unpacks as initramfs.
///
/// Each entry is a 110-byte ASCII header of 13 hexadecimal fields, the NUL-terminated name and
/// the data, where the name and the data each end padded with NULs to a multiple of 4 bytes. A
/// `TRAILER!!!` entry ends the archive. Format: the kernel's
/// Documentation/driver-api/early-userspace/buffer-format.rst.
struct CpioWriter<W: Write> {
    out: W,
    written: u64,
    next_inode: u32,
}

impl<W: Write> CpioWriter<W> {
    fn new(out: W) -> Self {
        CpioWriter {
            out,
            written: 0,
            next_inode: 1,
        }
    }

    fn directory(&mut self, name: &str, permissions: u32) -> io::Result<()> {
        self.entry(name, S_IFDIR | permissions, 2, (0, 0), &[])
    }

    fn file(&mut self, name: &str, permissions: u32, data: &[u8]) -> io::Result<()> {
        self.entry(name, S_IFREG | permissions, 1, (0, 0), data)
    }

    fn symlink(&mut self, name: &str, target: &str) -> io::Result<()> {
        self.entry(name, S_IFLNK | 0o777, 1, (0, 0), target.as_bytes())
    }

    fn char_device(
        &mut self,
        name: &str,
        permissions: u32,
        major: u32,
        minor: u32,
    ) -> io::Result<()> {
        self.entry(name, S_IFCHR | permissions, 1, (major, minor), &[])
    }

    /// Writes the trailer entry and returns the underlying writer.
    fn finish(mut self) -> io::Result<W> {
        self.next_inode = 0;
        self.entry("TRAILER!!!", 0, 1, (0, 0), &[])?;
        Ok(self.out)
    }

    fn entry(
        &mut self,
        name: &str,
        mode: u32,
        links: u32,
        rdev: (u32, u32),
        data: &[u8],
    ) -> io::Result<()> {
        let size = u32::try_from(data.len())
            .map_err(|_| io::Error::other(format!("{name} is larger than 4 GiB")))?;
        let name_size = name.len() as u32 + 1;
        let inode = self.next_inode;
        if inode != 0 {
            self.next_inode += 1;
        }
        // Fields: magic, ino, mode, uid, gid, nlink, mtime, filesize, devmajor, devminor,
        // rdevmajor, rdevminor, namesize, check. Owner root and mtime 0 keep the archive
        // reproducible.
        let header = format!(
            "070701{inode:08X}{mode:08X}{:08X}{:08X}{links:08X}{:08X}{size:08X}{:08X}{:08X}{:08X}{:08X}{name_size:08X}{:08X}",
            0, 0, 0, 0, 0, rdev.0, rdev.1, 0
        );
        self.put(header.as_bytes())?;
        self.put(name.as_bytes())?;
        self.put(&[0])?;
        self.pad()?;
        self.put(data)?;
        self.pad()
    }

    fn put(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.out.write_all(bytes)?;
        self.written += bytes.len() as u64;
        Ok(())
    }

    fn pad(&mut self) -> io::Result<()> {
        let padding = (4 - self.written % 4) % 4;
        self.put(&[0; 3][..padding as usize])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpio_file_entry_layout() {
        let mut cpio = CpioWriter::new(Vec::new());
        cpio.file("init", 0o755, b"hello").unwrap();
        let bytes = cpio.finish().unwrap();

        let header = std::str::from_utf8(&bytes[..110]).unwrap();
        assert_eq!(&header[..6], "070701");
        assert_eq!(&header[6..14], "00000001", "inode");
        assert_eq!(&header[14..22], "000081ED", "mode: regular file 0755");
        assert_eq!(&header[54..62], "00000005", "file size");
        assert_eq!(&header[94..102], "00000005", "name size with NUL");
        // 110 header + "init\0" = 115 bytes, padded to 116; then 5 data bytes padded to 8.
        assert_eq!(&bytes[110..116], b"init\0\0");
        assert_eq!(&bytes[116..124], b"hello\0\0\0");
        assert_eq!(&bytes[124..130], b"070701");
    }

    #[test]
    fn cpio_ends_with_trailer() {
        let bytes = CpioWriter::new(Vec::new()).finish().unwrap();
        assert_eq!(bytes.len() % 4, 0);
        assert_eq!(&bytes[110..121], b"TRAILER!!!\0");
    }

    #[test]
    fn cpio_char_device_numbers() {
        let mut cpio = CpioWriter::new(Vec::new());
        cpio.char_device("dev/console", 0o600, 5, 1).unwrap();
        let bytes = cpio.finish().unwrap();
        let header = std::str::from_utf8(&bytes[..110]).unwrap();
        assert_eq!(&header[14..22], "00002180", "mode: character device 0600");
        assert_eq!(&header[78..86], "00000005", "rdevmajor");
        assert_eq!(&header[86..94], "00000001", "rdevminor");
    }
}
