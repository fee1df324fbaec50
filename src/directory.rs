//! The root and working directories of the program: `-r`, `-w` and `-W`.

use core::ffi::CStr;

use rustix::fd::OwnedFd;
use rustix::fs::{Mode, OFlags};

use crate::args::{Directory, Options};
use crate::error::{Error, Path};
use crate::target::Process;

/// Opens a directory for a later fchdir(2) or chroot, with `O_CLOEXEC` so
/// it never reaches the program.
pub fn open_directory(path: &CStr) -> Result<OwnedFd, Error<'_>> {
    let flags = OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC;
    rustix::fs::open(path, flags, Mode::empty())
        .map_err(|errno| Error::Open(Path::User(path), errno))
}

/// The directories to switch to after entry.
pub struct Directories<'a> {
    root: Option<OwnedFd>,
    cwd: Option<OwnedFd>,
    wdns: Option<&'a CStr>,
}

impl<'a> Directories<'a> {
    /// Opens `-r DIR` and `-w DIR` right away, in the caller's namespaces
    /// and root, as util-linux does while it parses.
    pub fn open_given(options: &Options<'a>) -> Result<Self, Error<'a>> {
        let open_path = |request: Option<Directory<'a>>| match request {
            Some(Directory::Path(path)) => open_directory(path).map(Some),
            _ => Ok(None),
        };
        Ok(Directories {
            root: open_path(options.root)?,
            cwd: open_path(options.wd)?,
            wdns: options.wdns,
        })
    }

    /// Opens the target's root and cwd for `-r` and `-w` without DIR.
    pub fn open_target(
        &mut self,
        options: &Options,
        target: Option<&Process>,
    ) -> Result<(), Error<'a>> {
        let flags = OFlags::PATH | OFlags::DIRECTORY;
        for (request, slot, file) in [
            (options.root, &mut self.root, "root"),
            (options.wd, &mut self.cwd, "cwd"),
        ] {
            if request != Some(Directory::Target) {
                continue;
            }
            let process = target.ok_or(Error::NoTarget(file))?;
            *slot = Some(process.open_file(file, flags)?);
        }
        Ok(())
    }

    /// Changes root and cwd. Runs after entry: a new root without a new
    /// cwd keeps the cwd that entry left, which is opened here first.
    pub fn apply(mut self) -> Result<(), Error<'a>> {
        if self.root.is_some() && self.cwd.is_none() && self.wdns.is_none() {
            self.cwd = Some(open_directory(c".")?);
        }

        if let Some(root) = &self.root {
            rustix::process::fchdir(root).map_err(|errno| {
                Error::Failed("change directory by root file descriptor", errno)
            })?;
            rustix::process::chroot(c".").map_err(|errno| Error::Failed("chroot", errno))?;
            rustix::process::chdir(c"/").map_err(|errno| Error::Failed("chdir to /", errno))?;
        }

        if let Some(wdns) = self.wdns {
            self.cwd = Some(open_directory(wdns)?);
        }
        if let Some(cwd) = &self.cwd {
            rustix::process::fchdir(cwd).map_err(|errno| {
                Error::Failed(
                    "change directory by working directory file descriptor",
                    errno,
                )
            })?;
        }
        Ok(())
    }
}
