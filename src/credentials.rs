//! The credentials of the program: supplementary groups, gid and uid, and
//! the ambient capabilities of `--keep-caps`.

use rustix::fd::OwnedFd;
use rustix::process::{Gid, Uid};
use rustix::thread::{CapabilitySet, CapabilitySets};

use crate::args::{Id, Options};
use crate::error::Error;
use crate::namespace::USER;
use crate::target::Process;

/// The ids to set after entry, and what is needed to set them.
pub struct Credentials {
    uid: Option<Id>,
    gid: Option<Id>,
    /// Whether setgroups(2) already succeeded before entry.
    groups_dropped: bool,
    /// Whether the ids are forced by entering a user namespace.
    forced: bool,
    /// `/proc/PID`, opened before entry, for `follow`.
    proc_dir: Option<OwnedFd>,
    keep_caps: bool,
}

impl Credentials {
    /// Works out the ids from the options. Entering a user namespace
    /// without `--preserve-credentials` forces uid 0 and gid 0, the ids
    /// that are mapped in any namespace made with `--map-root-user`.
    pub fn plan(options: &Options, target: Option<&Process>) -> Result<Self, Error<'static>> {
        let entering_user = !matches!(options.namespaces[USER], crate::args::Namespace::Off);
        let forced = entering_user && !options.preserve_credentials;
        let uid = options.setuid.or(forced.then_some(Id::Number(0)));
        let gid = options.setgid.or(forced.then_some(Id::Number(0)));
        let follow = uid == Some(Id::Follow) || gid == Some(Id::Follow);
        let proc_dir = match (follow, target) {
            (false, _) => None,
            (true, Some(process)) => Some(
                process.open_file("", rustix::fs::OFlags::PATH | rustix::fs::OFlags::DIRECTORY)?,
            ),
            (true, None) => return Err(Error::TargetRequired("follow in -S or -G")),
        };
        // A user namespace with setgroups denied rejects the call after
        // entry, so it is tried here first as well.
        let groups_dropped = forced && rustix::thread::set_thread_groups(&[]).is_ok();
        Ok(Credentials {
            uid,
            gid,
            groups_dropped,
            forced,
            proc_dir,
            // As in util-linux, --keep-caps acts only with a user
            // namespace, where the capabilities were gained.
            keep_caps: options.keep_caps && entering_user,
        })
    }

    /// Sets groups, gid and uid in this order, then raises the ambient
    /// capabilities. Runs after entry, in the process that runs the
    /// program.
    pub fn apply(&self) -> Result<(), Error<'static>> {
        let (uid, gid) = self.resolve_follow()?;
        if let Some(gid) = gid {
            if let Err(errno) = rustix::thread::set_thread_groups(&[]) {
                if self.forced && !self.groups_dropped {
                    return Err(Error::Failed("setgroups", errno));
                }
            }
            rustix::thread::set_thread_gid(Gid::from_raw(gid))
                .map_err(|errno| Error::Failed("setgid", errno))?;
        }
        if let Some(uid) = uid {
            rustix::thread::set_thread_uid(Uid::from_raw(uid))
                .map_err(|errno| Error::Failed("setuid", errno))?;
        }
        if self.keep_caps {
            raise_ambient_capabilities()?;
        }
        Ok(())
    }

    /// Replaces `follow` by the owner of `/proc/PID`, read now that the
    /// ids are seen through the entered user namespace.
    fn resolve_follow(&self) -> Result<(Option<u32>, Option<u32>), Error<'static>> {
        let owner = match &self.proc_dir {
            Some(dir) => Some(
                rustix::fs::fstat(dir)
                    .map_err(|errno| Error::Failed("fstat of /proc/PID", errno))?,
            ),
            None => None,
        };
        let pick = |id: Option<Id>, followed: Option<u32>| match id {
            Some(Id::Number(number)) => Some(number),
            Some(Id::Follow) => followed,
            None => None,
        };
        Ok((
            pick(self.uid, owner.as_ref().map(|stat| stat.st_uid)),
            pick(self.gid, owner.as_ref().map(|stat| stat.st_gid)),
        ))
    }
}

/// Keeps the permitted capabilities across execve(2) by making them
/// inheritable and raising each into the ambient set. See capabilities(7).
fn raise_ambient_capabilities() -> Result<(), Error<'static>> {
    let failed = |errno| Error::Failed("raising the ambient capabilities", errno);
    let sets = rustix::thread::capabilities(None).map_err(failed)?;
    let raised = CapabilitySets {
        inheritable: sets.permitted,
        ..sets
    };
    rustix::thread::set_capabilities(None, raised).map_err(failed)?;
    for bit in 0..64 {
        let capability = CapabilitySet::from_bits_retain(1 << bit);
        if sets.permitted.contains(capability) {
            rustix::thread::configure_capability_in_ambient_set(capability, true)
                .map_err(failed)?;
        }
    }
    Ok(())
}
