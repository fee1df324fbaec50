//! The nsenter implementations and namespace selections measured, and the command lines they make.

use std::path::PathBuf;

/// The three nsenter implementations compared.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Tool {
    Ours,
    UtilLinux,
    Busybox,
}

impl Tool {
    fn name(self) -> &'static str {
        match self {
            Tool::Ours => "ours",
            Tool::UtilLinux => "util-linux",
            Tool::Busybox => "busybox",
        }
    }
}

pub(super) struct Tools {
    pub(super) ours: PathBuf,
    pub(super) util_linux: PathBuf,
    pub(super) busybox: PathBuf,
}

impl Tools {
    /// Returns the argv that starts `tool`'s nsenter, before its options.
    pub(super) fn prefix(&self, tool: Tool) -> Vec<String> {
        match tool {
            Tool::Ours => vec![self.ours.display().to_string()],
            Tool::UtilLinux => vec![self.util_linux.display().to_string()],
            Tool::Busybox => vec![self.busybox.display().to_string(), "nsenter".to_string()],
        }
    }
}

/// The two namespace selections measured.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Selection {
    /// `-m -u -i -n -p --`: the namespaces the target was created with.
    Named,
    /// `-a`: every namespace of the target, cgroup and time included.
    All,
}

impl Selection {
    fn flags(self) -> &'static [&'static str] {
        match self {
            Selection::Named => &["-m", "-u", "-i", "-n", "-p", "--"],
            Selection::All => &["-a"],
        }
    }

    pub(super) fn label(self) -> &'static str {
        match self {
            Selection::Named => "-m -u -i -n -p",
            Selection::All => "-a",
        }
    }
}

/// One nsenter command line: a tool entering the target with a selection of namespaces.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) struct Entry {
    pub(super) tool: Tool,
    pub(super) selection: Selection,
}

/// The entries measured. Busybox 1.35 nsenter has no `-a`, and it cannot enter cgroup or time
/// namespaces, so no flag set of it equals `-a`.
pub(super) const ENTRIES: [Entry; 5] = [
    Entry {
        tool: Tool::Ours,
        selection: Selection::Named,
    },
    Entry {
        tool: Tool::UtilLinux,
        selection: Selection::Named,
    },
    Entry {
        tool: Tool::Busybox,
        selection: Selection::Named,
    },
    Entry {
        tool: Tool::Ours,
        selection: Selection::All,
    },
    Entry {
        tool: Tool::UtilLinux,
        selection: Selection::All,
    },
];

impl Entry {
    pub(super) fn label(self) -> String {
        format!("{} {}", self.tool.name(), self.selection.label())
    }

    /// Returns the full argv that enters `target` and runs `program` there.
    pub(super) fn argv(self, tools: &Tools, target: u32, program: &[&str]) -> Vec<String> {
        let mut argv = tools.prefix(self.tool);
        argv.push("-t".to_string());
        argv.push(target.to_string());
        argv.extend(self.selection.flags().iter().map(|flag| flag.to_string()));
        argv.extend(program.iter().map(|arg| arg.to_string()));
        argv
    }
}

pub(super) fn ours(selection: Selection) -> Entry {
    Entry {
        tool: Tool::Ours,
        selection,
    }
}

pub(super) fn util_linux(selection: Selection) -> Entry {
    Entry {
        tool: Tool::UtilLinux,
        selection,
    }
}
