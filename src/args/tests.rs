//! Parser tests: a table of command lines with the options each should
//! give, checked against our parser and against getopt(1) with the same
//! option string, plus error messages and a no-panic sweep.

use std::ffi::CString;
use std::string::{String, ToString};
use std::vec::Vec;

use super::*;

const SHORT_OPTIONS: &str = "+ahVt:m::u::i::n::p::C::U::T::S:G:r::w::W:FecZN:";
const LONG_OPTIONS: &str = "all,help,version,target:,mount::,uts::,ipc::,net::,pid::,\
    cgroup::,user::,time::,setuid:,setgid:,root::,wd::,wdns:,no-fork,\
    preserve-credentials,keep-caps,user-parent,env,join-cgroup,follow-context,net-socket:";

/// Command lines (after `nsenter`) and the options they give, in the form
/// [`summarize`] writes; `error` for a getopt error.
const TABLE: &[(&[&str], &str)] = &[
    (&[], "prog="),
    (&["-t", "1", "-m", "ls", "-l"], "t=1 mount prog=ls,-l"),
    (&["-t1", "-a"], "t=1 all prog="),
    (&["--target=1", "-a"], "t=1 all prog="),
    (&["--target", "1", "--all"], "t=1 all prog="),
    (&["--targ", "1", "-u"], "t=1 uts prog="),
    (&["-m/path"], "mount=/path prog="),
    (&["-m", "/path"], "mount prog=/path"),
    (&["--mount=/path"], "mount=/path prog="),
    (&["--mount", "/path"], "mount prog=/path"),
    (&["-m=/path"], "mount=/path prog="),
    (&["--mount==/path"], "mount=/path prog="),
    (&["--wd==odd"], "w=odd prog="),
    (&["-muin"], "mount=uin prog="),
    (&["-aF"], "all F prog="),
    (&["-Fm"], "mount F prog="),
    (&["-Fm/x", "true"], "mount=/x F prog=true"),
    (&["-at1"], "t=1 all prog="),
    (&["-at", "1", "true"], "t=1 all prog=true"),
    (&["--pres"], "preserve-credentials prog="),
    (&["--preserve-credentials"], "preserve-credentials prog="),
    (&["--user"], "user prog="),
    (&["--user-p"], "user-parent prog="),
    (&["--keep"], "keep-caps prog="),
    (&["--", "-a"], "prog=-a"),
    (&["-a", "--", "--", "x"], "all prog=--,x"),
    (&["-", "-a"], "prog=-,-a"),
    (&["-t", "1", "true", "-a"], "t=1 prog=true,-a"),
    (&["-S", "0", "-G0"], "S=0 G=0 prog="),
    (&["--setuid=5", "--setgid", "6"], "S=5 G=6 prog="),
    (&["-S", "follow"], "S=follow prog="),
    (&["-r", "-w", "x"], "r w prog=x"),
    (&["-r/x", "-w/y"], "r=/x w=/y prog="),
    (&["--root=/x", "--wd=/y"], "r=/x w=/y prog="),
    (&["-w=/y"], "w=/y prog="),
    (&["-W", "/d", "pwd"], "W=/d prog=pwd"),
    (&["-W/d"], "W=/d prog="),
    (&["--wdns", "/d"], "W=/d prog="),
    (&["--wdns=/d"], "W=/d prog="),
    (&["-N", "3", "-t1"], "t=1 N=3 prog="),
    (&["--net-socket=3"], "N=3 prog="),
    (&["-ecZ"], "e c Z prog="),
    (
        &["--env", "--join-cgroup", "--follow-context"],
        "e c Z prog=",
    ),
    (
        &["-C", "-U", "-T", "-p", "-n", "-i"],
        "user cgroup ipc net pid time prog=",
    ),
    (&["--cgroup=/c", "--time=/t"], "cgroup=/c time=/t prog="),
    (&["-n/a", "-n"], "net prog="),
    (&["-h", "-a"], "help"),
    (&["-V"], "version"),
    (&["--vers"], "version"),
    (&["--he"], "help"),
    (&["--bogus"], "error"),
    (&["-x"], "error"),
    (&["-t"], "error"),
    (&["--target"], "error"),
    (&["--all=x"], "error"),
    (&["--p"], "error"),
    (&["--us"], "error"),
    (&["-W"], "error"),
    (&["-aN"], "error"),
    (&["--bogus=1"], "error"),
    (&["--=x"], "error"),
];

fn c_words(words: &[&str]) -> Vec<CString> {
    let mut all = std::vec![CString::new("nsenter").unwrap()];
    all.extend(words.iter().map(|word| CString::new(*word).unwrap()));
    all
}

fn text(value: &CStr) -> String {
    String::from_utf8_lossy(value.to_bytes()).into_owned()
}

/// Writes parsed options in the table's form.
fn summarize(argv: &[&CStr], result: Result<Command, Error>) -> String {
    let options = match result {
        Ok(Command::Help(_)) => return "help".to_string(),
        Ok(Command::Version(_)) => return "version".to_string(),
        Ok(Command::Run(options)) => options,
        Err(_) => return "error".to_string(),
    };
    let mut items: Vec<String> = Vec::new();
    if let Some(target) = options.target {
        items.push(match target.inode {
            Some(inode) => std::format!("t={}:{}", target.pid, inode),
            None => std::format!("t={}", target.pid),
        });
    }
    if options.all {
        items.push("all".into());
    }
    for (kind, request) in KINDS.iter().zip(options.namespaces.iter()) {
        match request {
            Namespace::Off => {}
            Namespace::Target => items.push(kind.long.into()),
            Namespace::File(file) => items.push(std::format!("{}={}", kind.long, text(file))),
        }
    }
    let flags = [
        (options.user_parent, "user-parent"),
        (options.preserve_credentials, "preserve-credentials"),
        (options.keep_caps, "keep-caps"),
        (options.env, "e"),
        (options.join_cgroup, "c"),
        (options.follow_context, "Z"),
        (options.no_fork, "F"),
    ];
    for (set, name) in flags {
        if set {
            items.push(name.into());
        }
    }
    for (id, name) in [(options.setuid, "S"), (options.setgid, "G")] {
        match id {
            Some(Id::Number(number)) => items.push(std::format!("{name}={number}")),
            Some(Id::Follow) => items.push(std::format!("{name}=follow")),
            None => {}
        }
    }
    for (directory, name) in [(options.root, "r"), (options.wd, "w")] {
        match directory {
            Some(Directory::Target) => items.push(name.into()),
            Some(Directory::Path(path)) => items.push(std::format!("{name}={}", text(path))),
            None => {}
        }
    }
    if let Some(wdns) = options.wdns {
        items.push(std::format!("W={}", text(wdns)));
    }
    if let Some(fd) = options.net_socket {
        items.push(std::format!("N={fd}"));
    }
    let program: Vec<String> = argv[options.program..]
        .iter()
        .map(|word| text(word))
        .collect();
    items.push(std::format!("prog={}", program.join(",")));
    canonical(&items)
}

/// Orders summary items the way the table writes them.
fn canonical(items: &[String]) -> String {
    const ORDER: &[&str] = &[
        "t",
        "all",
        "user",
        "cgroup",
        "ipc",
        "uts",
        "net",
        "pid",
        "mount",
        "time",
        "user-parent",
        "preserve-credentials",
        "keep-caps",
        "e",
        "c",
        "Z",
        "F",
        "S",
        "G",
        "r",
        "w",
        "W",
        "N",
        "prog",
    ];
    let key = |item: &String| {
        let name = item.split('=').next().unwrap_or("");
        ORDER
            .iter()
            .position(|known| *known == name)
            .unwrap_or(usize::MAX)
    };
    let mut sorted = items.to_vec();
    sorted.sort_by_key(key);
    sorted.join(" ")
}

fn parse_words(words: &[&str]) -> String {
    let owned = c_words(words);
    let argv: Vec<&CStr> = owned.iter().map(|word| word.as_c_str()).collect();
    summarize(&argv, parse(&argv[..]))
}

#[test]
fn table_matches_parser() {
    for (words, expected) in TABLE {
        assert_eq!(parse_words(words), *expected, "nsenter {words:?}");
    }
}

/// Splits getopt(1)'s shell-quoted output into words.
fn split_quoted(output: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut current: Option<String> = None;
    let mut chars = output.trim().chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\'' => {
                let word = current.get_or_insert_with(String::new);
                for inner in chars.by_ref() {
                    if inner == '\'' {
                        break;
                    }
                    word.push(inner);
                }
            }
            '\\' => {
                if let Some(next) = chars.next() {
                    current.get_or_insert_with(String::new).push(next);
                }
            }
            ' ' => {
                if let Some(word) = current.take() {
                    words.push(word);
                }
            }
            other => current.get_or_insert_with(String::new).push(other),
        }
    }
    words.extend(current);
    words
}

/// Interprets getopt(1)'s normalized output (every option separate, every
/// optional argument written, empty when absent) into the table's form.
fn summarize_getopt(words: &[String]) -> String {
    let mut items: Vec<String> = Vec::new();
    let mut index = 0;
    let strip = |value: &str| value.strip_prefix('=').unwrap_or(value).to_string();
    while index < words.len() {
        let word = words[index].as_str();
        if word == "--" {
            break;
        }
        let name = word.trim_start_matches('-');
        let spec = OPTIONS
            .iter()
            .find(|spec| {
                if word.starts_with("--") {
                    spec.long == name
                } else {
                    spec.letter.map(|l| l as char).map(String::from).as_deref() == Some(name)
                }
            })
            .expect("getopt printed an unknown option");
        let value = if spec.argument == Argument::None {
            None
        } else {
            index += 1;
            Some(words[index].clone())
        };
        let label = match spec.action {
            Action::Help => return "help".into(),
            Action::Version => return "version".into(),
            Action::Namespace(kind) => KINDS[kind as usize].long,
            Action::All => "all",
            Action::Target => "t",
            Action::NetSocket => "N",
            Action::UserParent => "user-parent",
            Action::SetUid => "S",
            Action::SetGid => "G",
            Action::PreserveCredentials => "preserve-credentials",
            Action::KeepCaps => "keep-caps",
            Action::Root => "r",
            Action::Wd => "w",
            Action::Wdns => "W",
            Action::Env => "e",
            Action::NoFork => "F",
            Action::JoinCgroup => "c",
            Action::FollowContext => "Z",
        };
        // The parser drops a leading `=` from these values, however the
        // option was written.
        let drops_equals = matches!(
            spec.action,
            Action::Namespace(_) | Action::Root | Action::Wd | Action::Wdns
        );
        let value = match value {
            Some(value) if drops_equals => Some(strip(&value)),
            other => other,
        };
        let item = match (spec.argument, value) {
            (Argument::Optional, Some(value)) if value.is_empty() => label.to_string(),
            (_, Some(value)) => std::format!("{label}={value}"),
            _ => label.to_string(),
        };
        items.retain(|existing| existing.split('=').next() != Some(label));
        items.push(item);
        index += 1;
    }
    let program: Vec<String> = words[(index + 1).min(words.len())..].to_vec();
    items.push(std::format!("prog={}", program.join(",")));
    canonical(&items)
}

/// Runs each table line through getopt(1) from util-linux with the same
/// option string, so the table's expectations follow getopt_long itself.
#[test]
fn table_matches_getopt() {
    let Ok(version) = std::process::Command::new("getopt").arg("-T").output() else {
        std::println!("skipped: getopt(1) is not installed");
        return;
    };
    if version.status.code() != Some(4) {
        std::println!("skipped: getopt(1) is not the util-linux one");
        return;
    }
    for (words, expected) in TABLE {
        let output = std::process::Command::new("getopt")
            .args([
                "-o",
                SHORT_OPTIONS,
                "-l",
                LONG_OPTIONS,
                "-n",
                "nsenter",
                "--",
            ])
            .args(*words)
            .output()
            .expect("getopt runs");
        let found = if output.status.success() {
            summarize_getopt(&split_quoted(&String::from_utf8_lossy(&output.stdout)))
        } else {
            "error".to_string()
        };
        assert_eq!(found, *expected, "getopt for nsenter {words:?}");
    }
}

fn message(words: &[&str]) -> String {
    let owned = c_words(words);
    let argv: Vec<&CStr> = owned.iter().map(|word| word.as_c_str()).collect();
    let Err(error) = parse(&argv[..]) else {
        panic!("nsenter {words:?} parsed");
    };
    let mut line = Line::bare();
    error.describe(&mut line);
    String::from_utf8_lossy(line.as_bytes()).into_owned()
}

#[test]
fn usage_messages_match_glibc() {
    assert_eq!(message(&["--bogus"]), "unrecognized option '--bogus'");
    assert_eq!(message(&["--bogus=1"]), "unrecognized option '--bogus=1'");
    assert_eq!(message(&["-x"]), "invalid option -- 'x'");
    assert_eq!(message(&["-t"]), "option requires an argument -- 't'");
    assert_eq!(
        message(&["--targ"]),
        "option '--target' requires an argument"
    );
    assert_eq!(
        message(&["--all=x"]),
        "option '--all' doesn't allow an argument"
    );
    assert_eq!(
        message(&["--p"]),
        "option '--p' is ambiguous; possibilities: '--pid' '--preserve-credentials'"
    );
    assert_eq!(
        message(&["--us"]),
        "option '--us' is ambiguous; possibilities: '--user' '--user-parent'"
    );
}

#[test]
fn value_errors_show_value() {
    assert_eq!(message(&["-t", "abc"]), "failed to parse pid: 'abc'");
    assert_eq!(message(&["-t", "0"]), "failed to parse pid: '0'");
    assert_eq!(message(&["-t", "-5"]), "failed to parse pid: '-5'");
    assert_eq!(
        message(&["-t", "2147483648"]),
        "failed to parse pid: '2147483648'"
    );
    assert_eq!(message(&["-t", "5:"]), "failed to parse pid: '5:'");
    assert_eq!(message(&["-t", "5:x"]), "failed to parse pid: '5:x'");
    assert_eq!(message(&["-S", "abc"]), "failed to parse uid: 'abc'");
    assert_eq!(
        message(&["-G", "4294967296"]),
        "failed to parse gid: '4294967296'"
    );
    assert_eq!(
        message(&["-N", "x"]),
        "failed to parse file descriptor: 'x'"
    );
}

#[test]
fn target_with_inode() {
    assert_eq!(parse_words(&["-t", "42:123456"]), "t=42:123456 prog=");
}

#[test]
fn non_utf8_program_passes_through() {
    let words = [
        CString::new("nsenter").unwrap(),
        CString::new(&b"-m/\xff"[..]).unwrap(),
        CString::new(&b"\xfe\xff"[..]).unwrap(),
    ];
    let argv: Vec<&CStr> = words.iter().map(|word| word.as_c_str()).collect();
    let Ok(Command::Run(options)) = parse(&argv[..]) else {
        panic!("did not parse");
    };
    assert_eq!(options.namespaces[6], Namespace::File(c"/\xff"));
    assert_eq!(options.program, 2);
    assert_eq!(argv[options.program].to_bytes(), b"\xfe\xff");
}

/// Every sequence of up to three tricky words parses or fails cleanly.
#[test]
fn tricky_words_never_panic() {
    const WORDS: &[&str] = &[
        "-", "--", "-=", "--=", "--a=", "-a", "-t", "-t=", "-m", "-m=", "--mount=", "--m", "--u",
        "-W", "-N", "--user", "--user=", "-S", "follow", "1", "x", "-mt1",
    ];
    for first in WORDS {
        for second in WORDS {
            for third in WORDS {
                let _ = parse_words(&[first, second, third]);
            }
        }
    }
}
