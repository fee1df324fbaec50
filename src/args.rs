//! The command-line parser: getopt_long(3) with the option string
//! `+ahVt:m::u::i::n::p::C::U::T::S:G:r::w::W:FecZN:` and the long options of
//! [`OPTIONS`], written by hand over the bytes of argv.
//!
//! Parsing stops at the first word that is not an option (`+` mode) or
//! after `--`. Every value is a suffix of an argv word, so it stays a
//! NUL-terminated C string that can go to open(2) as it is, and bytes that
//! are not UTF-8 pass through untouched.

use core::ffi::CStr;

use crate::cstr::suffix;
use crate::error::Error;
use crate::message::Line;
use crate::namespace::KINDS;

/// Read access to argv, so that the parser runs on the process's raw argv
/// and on test tables alike.
pub trait Argv<'a> {
    /// Returns the number of words, program name included.
    fn count(&self) -> usize;
    /// Returns word `index`, which is below [`Argv::count`].
    fn word(&self, index: usize) -> &'a CStr;
}

impl<'a> Argv<'a> for [&'a CStr] {
    fn count(&self) -> usize {
        self.len()
    }

    fn word(&self, index: usize) -> &'a CStr {
        self.get(index).copied().unwrap_or(c"")
    }
}

/// The command the command line requests, with the options parsed up to
/// it: `--help` and `--version` end parsing where they stand, and the
/// files named before them are still opened first, as util-linux does.
#[derive(Debug)]
pub enum Command<'a> {
    Help(Options<'a>),
    Version(Options<'a>),
    Run(Options<'a>),
}

/// An option that ends parsing.
#[derive(Debug)]
enum Request {
    Help,
    Version,
}

/// A namespace request for one kind.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Namespace<'a> {
    /// Not requested.
    Off,
    /// The target's namespace, from `-t`.
    Target,
    /// The namespace file given as the option's value.
    File(&'a CStr),
}

/// A directory for `-r` or `-w`: the target's, or a path.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Directory<'a> {
    Target,
    Path(&'a CStr),
}

/// A uid or gid for `-S` or `-G`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Id {
    Number(u32),
    /// The owner of `/proc/PID`, as seen after entry.
    Follow,
}

/// The process given with `-t PID` or `-t PID:INODE`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Target {
    pub pid: i32,
    /// The inode of the process's pidfd, which differs for a reused PID.
    pub inode: Option<u64>,
}

/// The parsed options, in the form the later steps use them.
#[derive(Debug)]
pub struct Options<'a> {
    pub target: Option<Target>,
    pub all: bool,
    /// One request per entry of [`KINDS`], in the same order.
    pub namespaces: [Namespace<'a>; 8],
    pub net_socket: Option<i32>,
    pub user_parent: bool,
    pub setuid: Option<Id>,
    pub setgid: Option<Id>,
    pub preserve_credentials: bool,
    pub keep_caps: bool,
    pub root: Option<Directory<'a>>,
    pub wd: Option<Directory<'a>>,
    pub wdns: Option<&'a CStr>,
    pub env: bool,
    pub no_fork: bool,
    pub join_cgroup: bool,
    pub follow_context: bool,
    /// Index in argv of the program to run; equal to the word count when
    /// no program is given.
    pub program: usize,
}

/// A getopt_long error, shown as glibc shows it.
#[derive(Debug, PartialEq)]
pub enum Usage<'a> {
    /// `--name` that matches no option, as typed.
    Unrecognized(&'a [u8]),
    /// `-x` for an unknown letter.
    Invalid(u8),
    /// `-t` as the last word.
    ShortNeedsArgument(u8),
    /// `--target` as the last word.
    LongNeedsArgument(&'static str),
    /// `--all=x` for an option that takes no argument.
    LongTakesNoArgument(&'static str),
    /// A prefix of several long names, as typed without the dashes.
    Ambiguous(&'a [u8]),
}

/// Whether an option takes an argument, as in getopt's `has_arg`.
#[derive(Clone, Copy, PartialEq)]
enum Argument {
    None,
    Required,
    /// Attached only: `-mFILE` or `--mount=FILE`.
    Optional,
}

/// The setting an option changes.
#[derive(Clone, Copy, PartialEq)]
enum Action {
    All,
    Target,
    /// An index into [`KINDS`], a byte to keep the option table small.
    Namespace(u8),
    NetSocket,
    UserParent,
    SetUid,
    SetGid,
    PreserveCredentials,
    KeepCaps,
    Root,
    Wd,
    Wdns,
    Env,
    NoFork,
    JoinCgroup,
    FollowContext,
    Help,
    Version,
}

/// One option: its names, its argument and its line in `--help`.
struct Spec {
    letter: Option<u8>,
    long: &'static str,
    argument: Argument,
    action: Action,
    /// The argument as `--help` shows it, e.g. `[=<file>]` or ` <pid>`.
    placeholder: &'static str,
    help: &'static str,
}

const fn namespace(index: usize, help: &'static str) -> Spec {
    Spec {
        letter: Some(KINDS[index].letter),
        long: KINDS[index].long,
        argument: Argument::Optional,
        action: Action::Namespace(index as u8),
        placeholder: "[=<file>]",
        help,
    }
}

const fn flag(letter: Option<u8>, long: &'static str, action: Action, help: &'static str) -> Spec {
    Spec {
        letter,
        long,
        argument: Argument::None,
        action,
        placeholder: "",
        help,
    }
}

const fn valued(
    letter: Option<u8>,
    long: &'static str,
    argument: Argument,
    action: Action,
    placeholder: &'static str,
    help: &'static str,
) -> Spec {
    Spec {
        letter,
        long,
        argument,
        action,
        placeholder,
        help,
    }
}

/// Every option, in the order `--help` lists them. The namespace options
/// take their letters and names from [`KINDS`].
const OPTIONS: [Spec; 25] = [
    flag(
        Some(b'a'),
        "all",
        Action::All,
        "enter all namespaces of the target",
    ),
    valued(
        Some(b't'),
        "target",
        Argument::Required,
        Action::Target,
        " <pid>[:<inode>]",
        "target process to take namespaces from",
    ),
    namespace(6, "enter the mount namespace"),
    namespace(3, "enter the UTS namespace (hostname)"),
    namespace(2, "enter the System V IPC namespace"),
    namespace(4, "enter the network namespace"),
    valued(
        Some(b'N'),
        "net-socket",
        Argument::Required,
        Action::NetSocket,
        " <fd>",
        "enter the network namespace of the socket <fd>",
    ),
    namespace(5, "enter the PID namespace (the program runs as a child)"),
    namespace(1, "enter the cgroup namespace"),
    namespace(0, "enter the user namespace"),
    flag(
        None,
        "user-parent",
        Action::UserParent,
        "enter the parent of the target's user namespace",
    ),
    namespace(7, "enter the time namespace"),
    valued(
        Some(b'S'),
        "setuid",
        Argument::Required,
        Action::SetUid,
        " <uid>",
        "set the uid in the namespaces, or 'follow' the target",
    ),
    valued(
        Some(b'G'),
        "setgid",
        Argument::Required,
        Action::SetGid,
        " <gid>",
        "set the gid in the namespaces, or 'follow' the target",
    ),
    flag(
        None,
        "preserve-credentials",
        Action::PreserveCredentials,
        "keep uid, gid and groups with a user namespace",
    ),
    flag(
        None,
        "keep-caps",
        Action::KeepCaps,
        "keep user namespace capabilities as ambient",
    ),
    valued(
        Some(b'r'),
        "root",
        Argument::Optional,
        Action::Root,
        "[=<dir>]",
        "set the root directory (default: the target's)",
    ),
    valued(
        Some(b'w'),
        "wd",
        Argument::Optional,
        Action::Wd,
        "[=<dir>]",
        "set the working directory (default: the target's)",
    ),
    valued(
        Some(b'W'),
        "wdns",
        Argument::Required,
        Action::Wdns,
        " <dir>",
        "set the working directory inside the namespaces",
    ),
    flag(
        Some(b'e'),
        "env",
        Action::Env,
        "take the environment variables of the target",
    ),
    flag(
        Some(b'F'),
        "no-fork",
        Action::NoFork,
        "do not fork before running the program",
    ),
    flag(
        Some(b'c'),
        "join-cgroup",
        Action::JoinCgroup,
        "join the cgroup (v2) of the target",
    ),
    flag(
        Some(b'Z'),
        "follow-context",
        Action::FollowContext,
        "run in the SELinux context of the target",
    ),
    flag(Some(b'h'), "help", Action::Help, "display this help"),
    flag(Some(b'V'), "version", Action::Version, "display version"),
];

/// Parses argv. Returns at `--help` or `--version` as soon as it is seen,
/// like util-linux, which acts on each option in turn.
pub fn parse<'a, A: Argv<'a> + ?Sized>(argv: &A) -> Result<Command<'a>, Error<'a>> {
    let mut options = Options {
        target: None,
        all: false,
        namespaces: [Namespace::Off; 8],
        net_socket: None,
        user_parent: false,
        setuid: None,
        setgid: None,
        preserve_credentials: false,
        keep_caps: false,
        root: None,
        wd: None,
        wdns: None,
        env: false,
        no_fork: false,
        join_cgroup: false,
        follow_context: false,
        program: argv.count(),
    };
    let mut index = 1;
    while index < argv.count() {
        let word = argv.word(index);
        let bytes = word.to_bytes();
        if bytes == b"--" {
            index += 1;
            break;
        }
        if bytes.len() < 2 || bytes.first() != Some(&b'-') {
            break;
        }
        let command = if bytes.get(1) == Some(&b'-') {
            parse_long(argv, &mut index, word, &mut options)?
        } else {
            parse_short(argv, &mut index, word, &mut options)?
        };
        match command {
            Some(Request::Help) => return Ok(Command::Help(options)),
            Some(Request::Version) => return Ok(Command::Version(options)),
            None => {}
        }
        index += 1;
    }
    options.program = index;
    Ok(Command::Run(options))
}

/// Parses `--name`, `--name=value` or `--name value` at `argv[*index]`,
/// moving `*index` to the last word it used.
fn parse_long<'a, A: Argv<'a> + ?Sized>(
    argv: &A,
    index: &mut usize,
    word: &'a CStr,
    options: &mut Options<'a>,
) -> Result<Option<Request>, Error<'a>> {
    let body = suffix(word, 2);
    let body_bytes = body.to_bytes();
    let name_length = body_bytes
        .iter()
        .position(|&byte| byte == b'=')
        .unwrap_or(body_bytes.len());
    let name = body_bytes.get(..name_length).unwrap_or(b"");
    let attached = if name_length < body_bytes.len() {
        Some(suffix(body, name_length + 1))
    } else {
        None
    };
    let spec = find_long(name, body_bytes, word.to_bytes())?;
    let value = match (spec.argument, attached) {
        (Argument::None, Some(_)) => {
            return Err(Error::Usage(Usage::LongTakesNoArgument(spec.long)));
        }
        (Argument::Required, None) => {
            if *index + 1 >= argv.count() {
                return Err(Error::Usage(Usage::LongNeedsArgument(spec.long)));
            }
            *index += 1;
            Some(argv.word(*index))
        }
        (_, attached) => attached,
    };
    apply(spec.action, value, options)
}

/// Finds the long option `name`: an exact match, or the only option it is
/// a prefix of. `typed` is what follows `--` and `word` the whole word,
/// for the messages.
fn find_long<'a>(name: &[u8], typed: &'a [u8], word: &'a [u8]) -> Result<&'static Spec, Error<'a>> {
    let mut found: Option<&'static Spec> = None;
    let mut matches = 0;
    for spec in OPTIONS.iter() {
        let long = spec.long.as_bytes();
        if long == name {
            return Ok(spec);
        }
        if long.starts_with(name) && !name.is_empty() {
            found = Some(spec);
            matches += 1;
        }
    }
    match (found, matches) {
        (Some(spec), 1) => Ok(spec),
        (Some(_), _) => Err(Error::Usage(Usage::Ambiguous(typed))),
        (None, _) => Err(Error::Usage(Usage::Unrecognized(word))),
    }
}

/// Parses a cluster of short options such as `-aF`, `-t1`, `-m/path` or
/// `-t 1` at `argv[*index]`, moving `*index` to the last word it used.
fn parse_short<'a, A: Argv<'a> + ?Sized>(
    argv: &A,
    index: &mut usize,
    word: &'a CStr,
    options: &mut Options<'a>,
) -> Result<Option<Request>, Error<'a>> {
    let bytes = word.to_bytes();
    let mut position = 1;
    while let Some(&letter) = bytes.get(position) {
        let spec = OPTIONS
            .iter()
            .find(|spec| spec.letter == Some(letter))
            .ok_or(Error::Usage(Usage::Invalid(letter)))?;
        let rest = suffix(word, position + 1);
        let value = match spec.argument {
            Argument::None => None,
            Argument::Optional if rest.is_empty() => None,
            Argument::Optional => Some(rest),
            Argument::Required if !rest.is_empty() => Some(rest),
            Argument::Required => {
                if *index + 1 >= argv.count() {
                    return Err(Error::Usage(Usage::ShortNeedsArgument(letter)));
                }
                *index += 1;
                Some(argv.word(*index))
            }
        };
        let command = apply(spec.action, value, options)?;
        if command.is_some() || value.is_some() {
            return Ok(command);
        }
        position += 1;
    }
    Ok(None)
}

/// Drops one leading `=` from the value of a namespace option, `-r`, `-w`
/// or `-W`, as util-linux 2.42 does for all but `-r`: getopt leaves it in
/// `-m=/path`, which then means `-m/path` (and `--mount==/path` means
/// `--mount=/path`).
fn strip_equals(value: &CStr) -> &CStr {
    match value.to_bytes().first() {
        Some(b'=') => suffix(value, 1),
        _ => value,
    }
}

/// Records one option in `options`. Returns a command when the option
/// ends parsing (`--help`, `--version`).
fn apply<'a>(
    action: Action,
    value: Option<&'a CStr>,
    options: &mut Options<'a>,
) -> Result<Option<Request>, Error<'a>> {
    let text = value.unwrap_or(c"");
    match action {
        Action::All => options.all = true,
        Action::Target => options.target = Some(parse_target(text.to_bytes())?),
        Action::Namespace(kind) => {
            if let Some(slot) = options.namespaces.get_mut(kind as usize) {
                *slot = match value {
                    Some(file) => Namespace::File(strip_equals(file)),
                    None => Namespace::Target,
                };
            }
        }
        Action::NetSocket => {
            let fd = parse_number(text.to_bytes(), i32::MAX as u64);
            let fd = fd.ok_or(parse_error("file descriptor", text))?;
            options.net_socket = Some(fd as i32);
        }
        Action::UserParent => options.user_parent = true,
        Action::SetUid => options.setuid = Some(parse_id(text, "uid")?),
        Action::SetGid => options.setgid = Some(parse_id(text, "gid")?),
        Action::PreserveCredentials => options.preserve_credentials = true,
        Action::KeepCaps => options.keep_caps = true,
        Action::Root => options.root = Some(directory(value)),
        Action::Wd => options.wd = Some(directory(value)),
        Action::Wdns => options.wdns = Some(strip_equals(text)),
        Action::Env => options.env = true,
        Action::NoFork => options.no_fork = true,
        Action::JoinCgroup => options.join_cgroup = true,
        Action::FollowContext => options.follow_context = true,
        Action::Help => return Ok(Some(Request::Help)),
        Action::Version => return Ok(Some(Request::Version)),
    }
    Ok(None)
}

fn directory(value: Option<&CStr>) -> Directory<'_> {
    match value {
        Some(path) => Directory::Path(strip_equals(path)),
        None => Directory::Target,
    }
}

fn parse_error<'a>(kind: &'static str, value: &'a CStr) -> Error<'a> {
    Error::Parse {
        kind,
        value: value.to_bytes(),
    }
}

/// Parses `PID` or `PID:INODE`. A PID is 1 or more: util-linux 2.38
/// reads 0 as "no target" and wraps negative and huge values around,
/// where this parser rejects them.
fn parse_target(text: &[u8]) -> Result<Target, Error<'_>> {
    let invalid = || Error::Parse {
        kind: "pid",
        value: text,
    };
    let (pid_text, inode_text) = match text.iter().position(|&byte| byte == b':') {
        Some(colon) => (
            text.get(..colon).unwrap_or(b""),
            Some(text.get(colon + 1..).unwrap_or(b"")),
        ),
        None => (text, None),
    };
    let pid = parse_number(pid_text, i32::MAX as u64).filter(|&pid| pid > 0);
    let pid = pid.ok_or_else(invalid)? as i32;
    let inode = match inode_text {
        Some(inode) => Some(parse_number(inode, u64::MAX).ok_or_else(invalid)?),
        None => None,
    };
    Ok(Target { pid, inode })
}

/// Parses a uid or gid: a number below 2^32, or `follow`.
fn parse_id<'a>(text: &'a CStr, kind: &'static str) -> Result<Id, Error<'a>> {
    if text.to_bytes() == b"follow" {
        return Ok(Id::Follow);
    }
    let id = parse_number(text.to_bytes(), u32::MAX as u64);
    let id = id.ok_or(parse_error(kind, text))?;
    Ok(Id::Number(id as u32))
}

/// Parses a non-empty run of decimal digits no larger than `max`.
pub fn parse_number(text: &[u8], max: u64) -> Option<u64> {
    if text.is_empty() {
        return None;
    }
    let mut value: u64 = 0;
    for &byte in text {
        if !byte.is_ascii_digit() {
            return None;
        }
        value = value.checked_mul(10)?.checked_add((byte - b'0') as u64)?;
    }
    (value <= max).then_some(value)
}

/// Appends the getopt message for `usage` to `line`, as glibc words it.
pub fn describe_usage(usage: &Usage, line: &mut Line) {
    match usage {
        Usage::Unrecognized(word) => {
            line.text(b"unrecognized option '").text(word).text(b"'");
        }
        Usage::Invalid(letter) => {
            line.text(b"invalid option -- '")
                .text(&[*letter])
                .text(b"'");
        }
        Usage::ShortNeedsArgument(letter) => {
            line.text(b"option requires an argument -- '");
            line.text(&[*letter]).text(b"'");
        }
        Usage::LongNeedsArgument(long) => {
            line.text(b"option '--").text(long.as_bytes());
            line.text(b"' requires an argument");
        }
        Usage::LongTakesNoArgument(long) => {
            line.text(b"option '--").text(long.as_bytes());
            line.text(b"' doesn't allow an argument");
        }
        Usage::Ambiguous(typed) => {
            line.text(b"option '--").text(typed);
            line.text(b"' is ambiguous; possibilities:");
            let name_length = typed.iter().position(|&b| b == b'=').unwrap_or(typed.len());
            let name = typed.get(..name_length).unwrap_or(b"");
            for spec in OPTIONS.iter() {
                if spec.long.as_bytes().starts_with(name) {
                    line.text(b" '--").text(spec.long.as_bytes()).text(b"'");
                }
            }
        }
    }
}

/// Writes `--help` to stdout: one line per option, in util-linux's layout.
pub fn print_help() -> Result<(), rustix::io::Errno> {
    let mut out = Line::bare();
    out.text(b"\nUsage:\n nsenter [options] [<program> [<argument>...]]\n\n");
    out.text(b"Run a program in the namespaces of another process.\n\n");
    out.text(b"Options:\n");
    for spec in OPTIONS.iter() {
        if spec.action == Action::Help {
            out.text(b"\n");
        }
        let mut left = Line::bare();
        match spec.letter {
            Some(letter) => left.text(b" -").text(&[letter]).text(b", --"),
            None => left.text(b"     --"),
        };
        left.text(spec.long.as_bytes())
            .text(spec.placeholder.as_bytes());
        let width = left.as_bytes().len();
        out.text(left.as_bytes());
        for _ in width..23 {
            out.text(b" ");
        }
        out.text(b" ").text(spec.help.as_bytes()).text(b"\n");
    }
    out.text(b"\nWithout a program, runs $SHELL (default /bin/sh) as a login shell.\n");
    out.text(b"For more details see nsenter(1).\n");
    out.write_stdout()
}

/// Writes the `--version` line to stdout.
pub fn print_version() -> Result<(), rustix::io::Errno> {
    let mut out = Line::bare();
    out.text(b"nsenter from static-nsenter ");
    out.text(env!("CARGO_PKG_VERSION").as_bytes());
    out.text(b" (util-linux 2.42 options)\n");
    out.write_stdout()
}

#[cfg(test)]
mod tests;
