//! A static nsenter: runs a program in the namespaces of another process.
//!
//! [`run`] performs the steps of util-linux nsenter in their order. It
//! parses argv and opens everything the entry needs, then enters the
//! namespaces in two passes. It changes root and working directory, sets
//! up environment and cgroup, and forks for a PID namespace. Last, it sets
//! the credentials and executes the program.

#![no_std]

#[cfg(test)]
extern crate std;

pub mod args;
mod cgroup;
mod credentials;
mod cstr;
mod directory;
mod enter;
mod environment;
pub mod error;
mod exec;
pub mod message;
pub mod namespace;
mod selinux;
pub mod startup;
mod supervise;
pub mod sys;
mod target;

use core::ffi::CStr;
use core::mem::MaybeUninit;

use rustix::fd::OwnedFd;
use rustix::fs::{Mode, OFlags, RawDir};

use crate::args::{Command, Namespace, Options};
use crate::credentials::Credentials;
use crate::directory::Directories;
use crate::enter::{Plan, Source};
use crate::error::{Error, Path};
use crate::namespace::{KINDS, NET, PID, USER};
use crate::startup::StartupArgs;
use crate::target::Process;

/// Runs nsenter and returns the exit status; on success the program has
/// replaced this process and nothing returns.
pub fn run(args: &mut StartupArgs) -> i32 {
    match execute(args) {
        Ok(status) => status,
        Err(error) => {
            error.report();
            error.exit_status()
        }
    }
}

fn execute(args: &mut StartupArgs) -> Result<i32, Error<'static>> {
    // An nsenter with the set-user-ID or set-group-ID bit would let every
    // local user enter any namespace as root.
    if args.ids_differ() {
        return Err(Error::SetId);
    }

    // Parse, and open the files named on the command line in the caller's
    // namespaces and root.
    let command = args::parse(&*args)?;
    let (Command::Help(options) | Command::Version(options) | Command::Run(options)) = &command;
    let mut plan = open_namespace_files(options)?;
    let mut directories = Directories::open_given(options)?;
    let mut options = match command {
        Command::Help(_) => {
            args::print_help().map_err(Error::Write)?;
            return Ok(0);
        }
        Command::Version(_) => {
            args::print_version().map_err(Error::Write)?;
            return Ok(0);
        }
        Command::Run(options) => options,
    };

    // Work out the kinds to enter, then open the target and everything
    // taken from it, all before the first setns.
    resolve_namespaces(&mut options)?;
    let target = match options.target {
        Some(target) => Some(Process::open(target)?),
        None => None,
    };
    plan_target_namespaces(&options, target.as_ref(), &mut plan)?;
    directories.open_target(&options, target.as_ref())?;
    let environ = open_if(
        options.env,
        target.as_ref(),
        "--env",
        environment::open_environ,
    )?;
    let procs = open_if(
        options.join_cgroup,
        target.as_ref(),
        "--join-cgroup",
        cgroup::open_procs,
    )?;
    let credentials = Credentials::plan(&options, target.as_ref())?;
    if options.follow_context {
        selinux::follow_context(target.as_ref())?;
    }
    if let Some(process) = &target {
        process.confirm_alive()?;
    }

    // Enter, then switch root and working directory inside.
    plan.enter(target.as_ref().and_then(Process::entry_pidfd))?;
    directories.apply()?;

    // Environment and cgroup of the target.
    let mut envp = args.envp;
    if let (Some(file), Some(process)) = (&environ, &target) {
        envp = environment::load(file, process.pid, args.random_seed())?;
    }
    if let Some(procs) = &procs {
        cgroup::join(procs)?;
    }
    // These fds are all close-on-exec: closing them would only cost
    // system calls.
    core::mem::forget((plan, environ, procs, target));

    // A PID namespace applies only to children, so the program runs in a
    // child unless -F is given.
    let entering_pid = !matches!(options.namespaces[PID], Namespace::Off);
    if entering_pid && !options.no_fork {
        supervise::fork()?;
    }

    // Credentials, then the program.
    credentials.apply()?;
    let error = if options.program < args::Argv::count(&*args) {
        // SAFETY: the program index is below the word count, and the
        // process's envp or the one from `load` is valid.
        unsafe { exec::exec_program(args, options.program, envp) }
    } else {
        // SAFETY: as above for envp.
        unsafe { exec::exec_login_shell(envp) }
    };
    Err(error)
}

/// Opens each namespace FILE given on the command line.
fn open_namespace_files(options: &Options<'static>) -> Result<Plan, Error<'static>> {
    let mut plan = Plan::new();
    for (request, source) in options.namespaces.iter().zip(plan.sources.iter_mut()) {
        if let Namespace::File(path) = request {
            *source = Source::File(open_readonly(path)?);
        }
    }
    Ok(plan)
}

/// Opens a namespace file. `O_NONBLOCK` changes nothing for namespace
/// files, but makes a FIFO given by mistake fail at setns(2) instead of
/// blocking the open for ever.
fn open_readonly(path: &CStr) -> Result<OwnedFd, Error<'_>> {
    let flags = OFlags::RDONLY | OFlags::NONBLOCK | OFlags::CLOEXEC;
    rustix::fs::open(path, flags, Mode::empty())
        .map_err(|errno| Error::Open(Path::User(path), errno))
}

/// Applies `--all` and `--user-parent` to the namespace requests, and
/// checks that every namespace taken from the target has one.
fn resolve_namespaces(options: &mut Options) -> Result<(), Error<'static>> {
    if options.wd.is_some() && options.wdns.is_some() {
        return Err(Error::Plain("mutually exclusive arguments: --wdns --wd"));
    }
    let user_requested = options.namespaces[USER] != Namespace::Off || options.user_parent;
    if options.user_parent && options.target.is_none() {
        return Err(Error::TargetRequired("--user-parent"));
    }
    if options.user_parent && options.namespaces[USER] == Namespace::Off {
        options.namespaces[USER] = Namespace::Target;
    }
    if options.all {
        let target = options
            .target
            .ok_or(Error::Plain("no target PID specified for --all"))?;
        let present = kernel_namespaces()?;
        for (request, present) in options.namespaces.iter_mut().zip(present) {
            if *request == Namespace::Off && present {
                *request = Namespace::Target;
            }
        }
        if !user_requested && same_user_namespace(target.pid)? {
            // An explicit -U still enters it, but --all alone does not,
            // because setns(2) rejects entering one's own user namespace.
            options.namespaces[USER] = Namespace::Off;
        }
    }
    if options.target.is_none() {
        for (kind, request) in KINDS.iter().zip(options.namespaces.iter()) {
            if *request == Namespace::Target {
                return Err(Error::NoTarget(kind.file));
            }
        }
    }
    if options.net_socket.is_some() {
        if options.target.is_none() {
            return Err(Error::TargetRequired("--net-socket"));
        }
        if let Namespace::File(_) = options.namespaces[NET] {
            return Err(Error::Plain(
                "--net-socket and --net=FILE name two network namespaces: give one",
            ));
        }
        options.namespaces[NET] = Namespace::Off;
    }
    Ok(())
}

/// Returns, per entry of [`KINDS`], whether this kernel has that kind:
/// whether `/proc/self/ns/` lists it.
fn kernel_namespaces() -> Result<[bool; 8], Error<'static>> {
    let flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC;
    let directory = rustix::fs::open(c"/proc/self/ns", flags, Mode::empty()).map_err(|_| {
        Error::Plain(
            "--all lists /proc/self/ns, but /proc is not mounted: name the \
             namespaces instead, e.g. -m -u -i -n -p",
        )
    })?;
    let mut found = [false; 8];
    let mut buffer = [MaybeUninit::<u8>::uninit(); 1024];
    let mut entries = RawDir::new(&directory, &mut buffer);
    while let Some(entry) = entries.next() {
        let entry = entry.map_err(|errno| Error::Open(Path::Fixed("/proc/self/ns"), errno))?;
        let name = entry.file_name().to_bytes();
        for (kind, present) in KINDS.iter().zip(found.iter_mut()) {
            if kind.file.as_bytes().strip_prefix(b"ns/") == Some(name) {
                *present = true;
            }
        }
        // With every kind found, reading on to the end of the listing
        // would only cost another getdents64(2).
        if found.iter().all(|&present| present) {
            break;
        }
    }
    // The fd is close-on-exec: closing it would only cost a system call.
    core::mem::forget(directory);
    Ok(found)
}

/// Tells whether the target is in our own user namespace.
fn same_user_namespace(pid: i32) -> Result<bool, Error<'static>> {
    let ours = rustix::fs::stat(c"/proc/self/ns/user")
        .map_err(|errno| Error::Open(Path::Fixed("/proc/self/ns/user"), errno))?;
    let theirs = target::stat_file(pid, "ns/user")?;
    Ok(ours.st_dev == theirs.st_dev && ours.st_ino == theirs.st_ino)
}

/// Plans the namespaces taken from the target: through its pidfd where
/// setns(2) accepts one, else from `/proc/PID/ns/`. Then `--net-socket`
/// and `--user-parent`, which replace a namespace by a related one.
fn plan_target_namespaces(
    options: &Options,
    target: Option<&Process>,
    plan: &mut Plan,
) -> Result<(), Error<'static>> {
    let Some(process) = target else {
        return Ok(());
    };
    for ((kind, request), source) in KINDS
        .iter()
        .zip(options.namespaces.iter())
        .zip(plan.sources.iter_mut())
    {
        if *request != Namespace::Target {
            continue;
        }
        *source = match process.entry_pidfd() {
            Some(_) => Source::Pidfd,
            None => Source::File(process.open_file(kind.file, OFlags::RDONLY)?),
        };
    }

    if let Some(fd) = options.net_socket {
        let pidfd = process.pidfd()?;
        let failed = |call, errno| Error::NetSocket { call, fd, errno };
        let flags = rustix::process::PidfdGetfdFlags::empty();
        let socket = rustix::process::pidfd_getfd(pidfd, fd, flags)
            .map_err(|errno| failed("pidfd_getfd", errno))?;
        let namespace =
            enter::socket_namespace(&socket).map_err(|errno| failed("SIOCGSKNS", errno))?;
        plan.sources[NET] = Source::File(namespace);
    }

    if options.user_parent {
        let child = match core::mem::replace(&mut plan.sources[USER], Source::None) {
            Source::File(fd) => fd,
            _ => process.open_file("ns/user", OFlags::RDONLY)?,
        };
        let parent = enter::parent_namespace(&child)
            .map_err(|errno| Error::Failed("NS_GET_PARENT for --user-parent", errno))?;
        plan.sources[USER] = Source::File(parent);
    }
    Ok(())
}

/// Opens a file of the target for an option that needs one.
fn open_if(
    requested: bool,
    target: Option<&Process>,
    option: &'static str,
    open: fn(&Process) -> Result<OwnedFd, Error<'static>>,
) -> Result<Option<OwnedFd>, Error<'static>> {
    if !requested {
        return Ok(None);
    }
    let process = target.ok_or(Error::TargetRequired(option))?;
    open(process).map(Some)
}
