//! `-N FD`/`--net-socket FD`: enter the network namespace of the socket
//! that is open in the target as FD (pidfd_getfd(2), then the SIOCGSKNS ioctl),
//! which may differ from the target's own network namespace.

mod common;

use common::{assert_no_stderr, assert_success, nsenter, own_ns, Target, TempDir};
use std::fs;
use std::path::Path;

const PYTHON: &str = "/usr/bin/python3";

/// The descriptor number of the socket in the target.
const SOCKET_FD: &str = "7";

/// Python script, run in a new network namespace A. It opens a UDP socket
/// as fd 7 and writes the `net:[INODE]` link of A to the file named by its
/// argument. Then it moves itself to a second new network namespace B with
/// unshare(CLONE_NEWNET) and execs `sleep 1000`, keeping fd 7. The socket
/// keeps A alive.
const SOCKET_THEN_NEW_NAMESPACE: &str = r#"
import ctypes, os, socket, sys
sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
os.dup2(sock.fileno(), 7, inheritable=True)
with open(sys.argv[1], "w") as link_file:
    link_file.write(os.readlink("/proc/self/ns/net"))
libc = ctypes.CDLL(None, use_errno=True)
CLONE_NEWNET = 0x40000000
if libc.unshare(CLONE_NEWNET) != 0:
    raise OSError(ctypes.get_errno(), "unshare(CLONE_NEWNET) failed")
os.execv("/bin/sleep", ["sleep", "1000"])
"#;

/// Returns from the calling test, with a printed reason, when Python is
/// missing.
macro_rules! require_python {
    () => {
        if !Path::new(PYTHON).exists() {
            eprintln!("skipped {}: needs {PYTHON}", module_path!());
            return;
        }
    };
}

/// A target whose fd 7 is a socket of a network namespace other than its
/// own, and that namespace's `net:[INODE]` link.
struct SocketTarget {
    target: Target,
    socket_ns: String,
    _dir: TempDir,
}

fn start_socket_target() -> SocketTarget {
    let dir = TempDir::new("net-socket");
    let link_file = dir.join("socket-netns");
    let link_file_arg = link_file.to_str().expect("temp path is UTF-8");
    let target = Target::spawn(&[
        "unshare",
        "--net",
        PYTHON,
        "-c",
        SOCKET_THEN_NEW_NAMESPACE,
        link_file_arg,
    ]);
    // The script wrote the file before it exec'd sleep, and Target::spawn
    // returns only after that exec.
    let socket_ns = fs::read_to_string(&link_file).expect("read the socket's namespace link");
    assert_ne!(
        socket_ns,
        target.ns("net"),
        "the socket's namespace is not the target's"
    );
    assert_ne!(
        socket_ns,
        own_ns("net"),
        "the socket's namespace is not ours"
    );
    SocketTarget {
        target,
        socket_ns,
        _dir: dir,
    }
}

#[test]
fn net_socket_enters_socket_namespace() {
    require_root!();
    require_python!();
    let socket_target = start_socket_target();
    let pid = socket_target.target.pid_arg();

    let outcome = nsenter(&[
        "-t",
        &pid,
        "-N",
        SOCKET_FD,
        "--",
        "readlink",
        "/proc/self/ns/net",
    ]);

    assert_success(&outcome);
    assert_eq!(
        outcome.stdout.trim_end(),
        socket_target.socket_ns,
        "program's net namespace"
    );
    assert_no_stderr(&outcome);
}

#[test]
fn net_socket_long_option_attached() {
    require_root!();
    require_python!();
    let socket_target = start_socket_target();
    let target_option = format!("--target={}", socket_target.target.pid);
    let socket_option = format!("--net-socket={SOCKET_FD}");

    let outcome = nsenter(&[
        &target_option,
        &socket_option,
        "--",
        "readlink",
        "/proc/self/ns/net",
    ]);

    assert_success(&outcome);
    assert_eq!(
        outcome.stdout.trim_end(),
        socket_target.socket_ns,
        "program's net namespace"
    );
    assert_no_stderr(&outcome);
}

/// `-N` and `-u` together: the uts namespace comes from the target, the
/// network namespace from the socket.
#[test]
fn net_socket_with_other_namespace() {
    require_root!();
    require_python!();
    let socket_target = start_socket_target();
    let target = &socket_target.target;
    let script = "readlink /proc/self/ns/net /proc/self/ns/uts";

    let outcome = nsenter(&[
        "-t",
        &target.pid_arg(),
        "-u",
        "-N",
        SOCKET_FD,
        "--",
        "sh",
        "-c",
        script,
    ]);

    assert_success(&outcome);
    let expected = format!("{}\n{}\n", socket_target.socket_ns, target.ns("uts"));
    assert_eq!(outcome.stdout, expected, "program's net and uts namespaces");
    assert_no_stderr(&outcome);
}

#[test]
fn net_socket_without_target_rejected() {
    require_root!();

    let outcome = nsenter(&["-N", "3", "--", "echo", "program ran"]);

    common::assert_rejected(&outcome);
    assert!(
        outcome.stderr.contains("target"),
        "message names the missing target; {outcome:?}"
    );
}

#[test]
fn net_socket_closed_fd_rejected() {
    require_root!();
    let target = Target::unshare(&["--net"]);

    let outcome = nsenter(&[
        "-t",
        &target.pid_arg(),
        "-N",
        "99",
        "--",
        "echo",
        "program ran",
    ]);

    common::assert_rejected(&outcome);
}

/// The target's fd 0 is /dev/null (Target::spawn redirects stdin), which
/// pidfd_getfd can copy but which has no network namespace.
#[test]
fn net_socket_not_a_socket_rejected() {
    require_root!();
    let target = Target::unshare(&["--net"]);

    let outcome = nsenter(&[
        "-t",
        &target.pid_arg(),
        "-N",
        "0",
        "--",
        "echo",
        "program ran",
    ]);

    common::assert_rejected(&outcome);
}

#[test]
fn net_socket_invalid_number_rejected() {
    require_root!();
    let target = Target::unshare(&["--net"]);

    for fd in ["abc", "-1", "7x", ""] {
        let outcome = nsenter(&[
            "-t",
            &target.pid_arg(),
            "-N",
            fd,
            "--",
            "echo",
            "program ran",
        ]);

        assert_eq!(
            outcome.code(),
            Some(1),
            "exit status for -N '{fd}'; {outcome:?}"
        );
        assert_eq!(outcome.stdout, "", "stdout for -N '{fd}'; {outcome:?}");
        assert!(
            outcome.stderr.starts_with("nsenter: "),
            "stderr for -N '{fd}'; {outcome:?}"
        );
    }
}

/// `-N` wins over `-n`: the socket names the network namespace.
#[test]
fn net_socket_overrides_net_option() {
    require_root!();
    require_python!();
    let socket_target = start_socket_target();
    let pid = socket_target.target.pid_arg();

    let outcome = nsenter(&[
        "-t",
        &pid,
        "-n",
        "-N",
        SOCKET_FD,
        "--",
        "readlink",
        "/proc/self/ns/net",
    ]);

    assert_success(&outcome);
    assert_eq!(
        outcome.stdout.trim_end(),
        socket_target.socket_ns,
        "program's net namespace"
    );
    assert_no_stderr(&outcome);
}
