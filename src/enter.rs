//! Entering the namespaces: the sources of each kind, opened before the
//! first setns(2), and the two passes of entry.

use rustix::fd::{AsFd, BorrowedFd, OwnedFd};
use rustix::thread::ThreadNameSpaceType;

use crate::error::Error;
use crate::namespace::{KINDS, USER};

/// The source of the namespace of one kind.
pub enum Source {
    /// Not entered, or already entered.
    None,
    /// The target's, entered through its pidfd.
    Pidfd,
    /// An open namespace file: `/proc/PID/ns/KIND` or a FILE argument.
    File(OwnedFd),
}

/// The namespaces still to enter, one [`Source`] per entry of [`KINDS`].
pub struct Plan {
    pub sources: [Source; 8],
}

impl Plan {
    /// Returns a plan that enters nothing.
    pub fn new() -> Self {
        Plan {
            sources: [const { Source::None }; 8],
        }
    }

    /// Enters every planned namespace in two passes over [`KINDS`]. The
    /// first pass enters all but the user namespace and ignores errors,
    /// so a privileged caller enters them before it drops privileges in
    /// the user namespace. The second pass enters what is left, the user
    /// namespace first, so an unprivileged caller gains its capabilities
    /// there first; any error in it is fatal.
    pub fn enter(&mut self, pidfd: Option<BorrowedFd>) -> Result<(), Error<'static>> {
        self.enter_pidfd_kinds(pidfd, false);
        for kind in (0..KINDS.len()).filter(|&kind| kind != USER) {
            let _ = self.enter_file(kind);
        }

        self.enter_file(USER)?;
        self.enter_pidfd_kinds_or_explain(pidfd)?;
        for kind in 0..KINDS.len() {
            self.enter_file(kind)?;
        }
        Ok(())
    }

    /// Returns the set of kinds still planned through the pidfd.
    fn pidfd_mask(&self, with_user: bool) -> u32 {
        let mut mask = 0;
        for (kind, source) in KINDS.iter().zip(&self.sources) {
            if matches!(source, Source::Pidfd) && (with_user || kind.flag != KINDS[USER].flag) {
                mask |= kind.flag;
            }
        }
        mask
    }

    /// Enters the pidfd kinds in one atomic setns(2); returns whether it
    /// succeeded. Without `with_user` the user namespace is left out.
    fn enter_pidfd_kinds(&mut self, pidfd: Option<BorrowedFd>, with_user: bool) -> bool {
        let mask = self.pidfd_mask(with_user);
        let Some(pidfd) = pidfd.filter(|_| mask != 0) else {
            return true;
        };
        let spaces = ThreadNameSpaceType::from_bits_retain(mask);
        if rustix::thread::move_into_thread_name_spaces(pidfd, spaces).is_err() {
            return false;
        }
        self.mark_entered(mask);
        true
    }

    /// Enters the remaining pidfd kinds. When the atomic call fails, it
    /// enters them one at a time in [`KINDS`] order to name the kind that
    /// fails, since the message names one namespace.
    fn enter_pidfd_kinds_or_explain(
        &mut self,
        pidfd: Option<BorrowedFd>,
    ) -> Result<(), Error<'static>> {
        if self.enter_pidfd_kinds(pidfd, true) {
            return Ok(());
        }
        let Some(pidfd) = pidfd else {
            return Ok(());
        };
        for (kind, source) in KINDS.iter().zip(self.sources.iter_mut()) {
            if matches!(source, Source::Pidfd) {
                let single = ThreadNameSpaceType::from_bits_retain(kind.flag);
                rustix::thread::move_into_thread_name_spaces(pidfd, single)
                    .map_err(|errno| Error::Setns(kind.file, errno))?;
                *source = Source::None;
            }
        }
        Ok(())
    }

    /// Enters the namespace file planned for `kind`, if there is one, and
    /// closes it.
    fn enter_file(&mut self, kind: usize) -> Result<(), Error<'static>> {
        let (Some(source), Some(info)) = (self.sources.get_mut(kind), KINDS.get(kind)) else {
            return Ok(());
        };
        let Source::File(fd) = source else {
            return Ok(());
        };
        rustix::thread::move_into_link_name_space(fd.as_fd(), Some(info.link))
            .map_err(|errno| Error::Setns(info.file, errno))?;
        *source = Source::None;
        Ok(())
    }

    fn mark_entered(&mut self, mask: u32) {
        for (kind, source) in KINDS.iter().zip(self.sources.iter_mut()) {
            if mask & kind.flag != 0 {
                *source = Source::None;
            }
        }
    }
}

impl Default for Plan {
    fn default() -> Self {
        Plan::new()
    }
}

/// An ioctl(2) that returns a new namespace fd, such as `NS_GET_PARENT`
/// on a user namespace or `SIOCGSKNS` on a socket. The kernel opens the
/// fd with `O_CLOEXEC`.
struct GetNamespace {
    opcode: rustix::ioctl::Opcode,
}

// SAFETY: both requests take no argument and return a new fd or fail, so
// the pointer is unused and the return value is a fd we own.
unsafe impl rustix::ioctl::Ioctl for GetNamespace {
    type Output = OwnedFd;

    const IS_MUTATING: bool = false;

    fn opcode(&self) -> rustix::ioctl::Opcode {
        self.opcode
    }

    fn as_ptr(&mut self) -> *mut core::ffi::c_void {
        core::ptr::null_mut()
    }

    unsafe fn output_from_ptr(
        out: rustix::ioctl::IoctlOutput,
        _: *mut core::ffi::c_void,
    ) -> rustix::io::Result<OwnedFd> {
        use rustix::fd::FromRawFd;
        // SAFETY: a successful call returns a new fd that nothing else owns.
        Ok(unsafe { OwnedFd::from_raw_fd(out) })
    }
}

/// `SIOCGSKNS` from linux/sockios.h: the network namespace of a socket.
const SIOCGSKNS: rustix::ioctl::Opcode = 0x894c;

/// Opens the network namespace that the socket `socket` was created in.
pub fn socket_namespace(socket: &OwnedFd) -> rustix::io::Result<OwnedFd> {
    // SAFETY: SIOCGSKNS on a socket fd takes no argument, as GetNamespace
    // assumes.
    unsafe { rustix::ioctl::ioctl(socket, GetNamespace { opcode: SIOCGSKNS }) }
}

/// Opens the parent of the user namespace `namespace` (`NS_GET_PARENT`).
pub fn parent_namespace(namespace: &OwnedFd) -> rustix::io::Result<OwnedFd> {
    let opcode = linux_raw_sys::ioctl::NS_GET_PARENT as rustix::ioctl::Opcode;
    // SAFETY: NS_GET_PARENT takes no argument, as GetNamespace assumes.
    unsafe { rustix::ioctl::ioctl(namespace, GetNamespace { opcode }) }
}
