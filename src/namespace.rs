//! The namespace kinds nsenter can enter, in one table that drives the
//! parser, the opening of namespace files and the entry itself.

use linux_raw_sys::general as abi;
use rustix::thread::LinkNameSpaceType;

/// One namespace kind.
pub struct Kind {
    /// The short option letter, as in `-m`.
    pub letter: u8,
    /// The long option name, as in `--mount`.
    pub long: &'static str,
    /// The file under `/proc/PID/`, also the name in messages.
    pub file: &'static str,
    /// The `CLONE_NEW*` flag that names this kind to setns(2).
    pub flag: u32,
    /// The same flag as rustix's type for setns(2) on a namespace file.
    pub link: LinkNameSpaceType,
}

/// Every kind, in the order of entry.
///
/// The user namespace comes first: an unprivileged caller gains the
/// capabilities to enter the others only inside it, while a privileged
/// caller enters it in the second pass, after the others, so it drops its
/// privileges last. The mount namespace comes late because entering it
/// changes the root and working directory, and time comes last because
/// setns(2) accepts it only from a single-threaded caller that has already
/// settled its other namespaces.
pub const KINDS: [Kind; 8] = [
    Kind {
        letter: b'U',
        long: "user",
        file: "ns/user",
        flag: abi::CLONE_NEWUSER,
        link: LinkNameSpaceType::User,
    },
    Kind {
        letter: b'C',
        long: "cgroup",
        file: "ns/cgroup",
        flag: abi::CLONE_NEWCGROUP,
        link: LinkNameSpaceType::ControlGroup,
    },
    Kind {
        letter: b'i',
        long: "ipc",
        file: "ns/ipc",
        flag: abi::CLONE_NEWIPC,
        link: LinkNameSpaceType::InterProcessCommunication,
    },
    Kind {
        letter: b'u',
        long: "uts",
        file: "ns/uts",
        flag: abi::CLONE_NEWUTS,
        link: LinkNameSpaceType::HostNameAndNISDomainName,
    },
    Kind {
        letter: b'n',
        long: "net",
        file: "ns/net",
        flag: abi::CLONE_NEWNET,
        link: LinkNameSpaceType::Network,
    },
    Kind {
        letter: b'p',
        long: "pid",
        file: "ns/pid",
        flag: abi::CLONE_NEWPID,
        link: LinkNameSpaceType::ProcessID,
    },
    Kind {
        letter: b'm',
        long: "mount",
        file: "ns/mnt",
        flag: abi::CLONE_NEWNS,
        link: LinkNameSpaceType::Mount,
    },
    Kind {
        letter: b'T',
        long: "time",
        file: "ns/time",
        flag: abi::CLONE_NEWTIME,
        link: LinkNameSpaceType::Time,
    },
];

/// Index of the user namespace in [`KINDS`].
pub const USER: usize = 0;
/// Index of the network namespace in [`KINDS`].
pub const NET: usize = 4;
/// Index of the PID namespace in [`KINDS`].
pub const PID: usize = 5;
