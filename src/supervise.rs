//! The fork for the PID namespace, and the parent that waits for the
//! child: it passes on stops, continues, signals and the exit status, so
//! nsenter ends the way the program ends, for the caller's shell.

use linux_raw_sys::general as abi;
use rustix::process::{Pid, Signal, WaitOptions};

use crate::error::Error;
use crate::sys::{self, SigSet};

/// The signals the parent passes on to the child. SIGCHLD is waited for
/// along with them.
const FORWARDED: [u32; 6] = [
    abi::SIGINT,
    abi::SIGTERM,
    abi::SIGHUP,
    abi::SIGQUIT,
    abi::SIGUSR1,
    abi::SIGUSR2,
];

/// Forks. Returns in the child; the parent waits for the child and exits
/// with its status, or dies of the signal that killed it.
///
/// The forwarded signals and SIGCHLD are blocked before the fork, so that
/// none is lost between the fork and the wait. The child restores the
/// caller's mask before it runs the program.
pub fn fork() -> Result<(), Error<'static>> {
    // An ignored SIGCHLD, inherited from the caller, would make the kernel
    // reap the child before the parent can read its status.
    sys::reset_signal(abi::SIGCHLD);

    let mut waited = [0u32; 7];
    waited[..6].copy_from_slice(&FORWARDED);
    waited[6] = abi::SIGCHLD;
    let waited = SigSet::of(&waited);
    let caller_mask = sys::block_signals(waited);
    match sys::fork() {
        Err(errno) => {
            sys::restore_signal_mask(caller_mask);
            Err(Error::Failed("fork", errno))
        }
        Ok(0) => {
            sys::restore_signal_mask(caller_mask);
            Ok(())
        }
        Ok(child) => supervise(child, waited),
    }
}

/// Waits for signals until the child ends, then ends the same way.
fn supervise(child: i32, waited: SigSet) -> ! {
    let Some(child) = Pid::from_raw(child) else {
        sys::exit(1);
    };
    loop {
        let info = match sys::wait_for_signal(waited) {
            Ok(info) => info,
            Err(errno) => {
                Error::Failed("sigtimedwait", errno).report();
                sys::exit(1);
            }
        };
        if info.signal == abi::SIGCHLD {
            reap(child);
        } else {
            forward(child, info.signal, info.code);
        }
    }
}

/// Passes a signal on to the child. A signal the kernel sent from the
/// terminal (Ctrl-C, Ctrl-\) already reached the whole foreground process
/// group, so it is passed on only when the child left that group, or the
/// program would see it twice.
fn forward(child: Pid, signal: u32, code: i32) {
    let from_terminal = code == abi::SI_KERNEL as i32;
    let same_group = rustix::process::getpgid(Some(child)).ok() == Some(rustix::process::getpgrp());
    // A hangup sends SIGHUP to the session leader alone, so a session
    // leader passes it on even when the child shares its group.
    let session_leader = signal == abi::SIGHUP
        && rustix::process::getsid(None).ok() == Some(rustix::process::getpid());
    if from_terminal && same_group && !session_leader {
        return;
    }
    // NOTE: a signal sent to our whole process group (`kill %1`,
    // timeout(1)) reaches the child directly too. siginfo does not tell
    // it from a kill of nsenter alone, so the program may get it twice.
    if let Some(signal) = Signal::from_named_raw(signal as i32) {
        let _ = rustix::process::kill_process(child, signal);
    }
}

/// Collects the child's status changes: a stop stops nsenter too, and the
/// child is continued when nsenter is; an exit or a death ends nsenter.
fn reap(child: Pid) {
    loop {
        let options = WaitOptions::NOHANG | WaitOptions::UNTRACED;
        let status = match rustix::process::waitpid(Some(child), options) {
            Ok(Some((_, status))) => status,
            Ok(None) => return,
            Err(rustix::io::Errno::INTR) => continue,
            Err(errno) => {
                Error::Failed("waitpid", errno).report();
                sys::exit(1);
            }
        };
        if status.stopped() {
            let _ = rustix::process::kill_process(rustix::process::getpid(), Signal::STOP);
            let _ = rustix::process::kill_process(child, Signal::CONT);
        } else if let Some(code) = status.exit_status() {
            sys::exit(code);
        } else if let Some(signal) = status.terminating_signal() {
            die_of(signal as u32);
        }
    }
}

/// Ends nsenter with the signal that killed the child, so the caller's
/// shell reports 128+N. A core dump was the child's to write, so it is
/// turned off here.
fn die_of(signal: u32) -> ! {
    let mut no_core = rustix::process::getrlimit(rustix::process::Resource::Core);
    no_core.current = Some(0);
    let _ = rustix::process::setrlimit(rustix::process::Resource::Core, no_core);
    sys::reset_signal(signal);
    sys::set_signal_mask(abi::SIG_UNBLOCK, SigSet::of(&[signal]));
    // SAFETY: the number came from the kernel as a terminating signal.
    let raised = unsafe { Signal::from_raw_unchecked(signal as i32) };
    let _ = rustix::process::kill_process(rustix::process::getpid(), raised);
    sys::exit(128 + signal as i32);
}
