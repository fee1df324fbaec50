//! The system calls that rustix keeps private: fork, execve, exit and the
//! signal calls. Each is one raw `syscall` instruction with the numbers and
//! constants from `linux-raw-sys`; everything else goes through rustix.

use core::arch::asm;
use core::ffi::c_char;

use linux_raw_sys::general as abi;
use rustix::io::Errno;

#[cfg(not(target_arch = "x86_64"))]
compile_error!("the raw system calls in sys.rs are written for x86_64 only");

/// The kernel's `sigset_t` for the rt_sig* calls: one bit per signal.
#[derive(Clone, Copy, Default)]
pub struct SigSet(u64);

impl SigSet {
    /// Returns the set that contains every signal in `signals`.
    pub fn of(signals: &[u32]) -> Self {
        let mut bits = 0;
        for signal in signals {
            bits |= 1u64 << (signal - 1);
        }
        SigSet(bits)
    }
}

/// The fields of the kernel's `siginfo_t` that nsenter reads.
pub struct SigInfo {
    pub signal: u32,
    pub code: i32,
}

/// Converts a raw syscall return value into a result, as libc does.
fn check(ret: isize) -> Result<usize, Errno> {
    if (-4095..0).contains(&ret) {
        Err(Errno::from_raw_os_error(-ret as i32))
    } else {
        Ok(ret as usize)
    }
}

/// Issues the system call `nr` with up to four arguments.
///
/// # Safety
///
/// The arguments must be valid for that call: pointers point to memory of
/// the size and type the kernel expects for as long as the call runs.
unsafe fn syscall4(nr: u32, a0: usize, a1: usize, a2: usize, a3: usize) -> isize {
    let ret: isize;
    // SAFETY: the x86_64 syscall ABI: number in rax, arguments in rdi, rsi,
    // rdx, r10; the kernel clobbers rcx and r11 and touches no user stack.
    unsafe {
        asm!(
            "syscall",
            inlateout("rax") nr as isize => ret,
            in("rdi") a0,
            in("rsi") a1,
            in("rdx") a2,
            in("r10") a3,
            lateout("rcx") _,
            lateout("r11") _,
            options(nostack),
        );
    }
    ret
}

/// `fork()`: `clone(SIGCHLD)` with no new stack, so the child continues on
/// a copy of this one. Returns 0 in the child and the child's pid in the
/// parent. See fork(2).
pub fn fork() -> Result<i32, Errno> {
    // SAFETY: clone without CLONE_VM or a new stack duplicates the whole
    // address space like fork(2); no pointers are passed. The process is
    // single-threaded, so no lock can be held by a thread that is gone.
    let ret = unsafe { syscall4(abi::__NR_clone, abi::SIGCHLD as usize, 0, 0, 0) };
    check(ret).map(|pid| pid as i32)
}

/// `execve(path, argv, envp)`: replaces the process image. It returns only
/// on failure, with the errno. See execve(2).
///
/// # Safety
///
/// `path` is a NUL-terminated string; `argv` and `envp` are NULL-terminated
/// arrays of NUL-terminated strings, all alive for the call.
pub unsafe fn execve(
    path: *const c_char,
    argv: *const *const c_char,
    envp: *const *const c_char,
) -> Errno {
    // SAFETY: the caller guarantees the three pointers as documented.
    let ret = unsafe {
        syscall4(
            abi::__NR_execve,
            path as usize,
            argv as usize,
            envp as usize,
            0,
        )
    };
    match check(ret) {
        Err(errno) => errno,
        Ok(_) => Errno::NOEXEC,
    }
}

/// `exit_group(code)`: ends the process at once, without unwinding or
/// running any destructor. See exit_group(2).
pub fn exit(code: i32) -> ! {
    loop {
        // SAFETY: exit_group takes an integer and does not return.
        unsafe { syscall4(abi::__NR_exit_group, code as usize, 0, 0, 0) };
    }
}

/// `rt_sigaction(signal, SIG_DFL)`: restores the default action of a
/// signal. No handler is ever installed, so no restorer is needed.
pub fn reset_signal(signal: u32) {
    // struct kernel_sigaction: handler, flags, restorer, mask.
    // SIG_DFL is handler value 0.
    let action: [usize; 4] = [0, 0, 0, 0];
    // SAFETY: `action` is a valid kernel_sigaction for the whole call and
    // the old action pointer is NULL; SIGKILL and SIGSTOP just fail.
    unsafe {
        syscall4(
            abi::__NR_rt_sigaction,
            signal as usize,
            action.as_ptr() as usize,
            0,
            8,
        )
    };
}

/// `rt_sigprocmask(how, set)`: changes the blocked signals and returns the
/// mask that was in force before. See sigprocmask(2).
pub fn set_signal_mask(how: u32, set: SigSet) -> SigSet {
    let mut old = SigSet(0);
    // SAFETY: both pointers point to 8-byte sigsets alive for the call.
    unsafe {
        syscall4(
            abi::__NR_rt_sigprocmask,
            how as usize,
            &set.0 as *const u64 as usize,
            &mut old.0 as *mut u64 as usize,
            8,
        )
    };
    old
}

/// Blocks the signals in `set` and returns the previous mask.
pub fn block_signals(set: SigSet) -> SigSet {
    set_signal_mask(abi::SIG_BLOCK, set)
}

/// Restores a mask returned by [`block_signals`].
pub fn restore_signal_mask(mask: SigSet) {
    set_signal_mask(abi::SIG_SETMASK, mask);
}

/// `rt_sigtimedwait(set, info, NULL)`: waits with no timeout until one of
/// the blocked signals in `set` is pending and takes it. See sigwaitinfo(2).
pub fn wait_for_signal(set: SigSet) -> Result<SigInfo, Errno> {
    // siginfo_t is 128 bytes: si_signo at byte 0, si_code at byte 8.
    let mut info = [0i32; 32];
    loop {
        // SAFETY: `set` is an 8-byte sigset and `info` a 128-byte buffer,
        // both alive for the call; a NULL timeout waits forever.
        let ret = unsafe {
            syscall4(
                abi::__NR_rt_sigtimedwait,
                &set.0 as *const u64 as usize,
                info.as_mut_ptr() as usize,
                0,
                8,
            )
        };
        match check(ret) {
            Ok(signal) => {
                return Ok(SigInfo {
                    signal: signal as u32,
                    code: info[2],
                })
            }
            Err(Errno::INTR) => continue,
            Err(errno) => return Err(errno),
        }
    }
}
