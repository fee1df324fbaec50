//! File sizes of the three nsenter implementations and the sections of ours.

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result};

use super::entry::Tools;
use crate::cmd;

/// File sizes in bytes.
pub(super) struct Sizes {
    pub(super) ours: u64,
    pub(super) busybox: u64,
    /// /usr/bin/nsenter and each shared library it loads, symlinks resolved.
    pub(super) util_linux: Vec<(PathBuf, u64)>,
    /// `size -A` of our binary: section name and size in bytes.
    pub(super) ours_sections: Vec<(String, u64)>,
}

pub(super) fn measure_sizes(tools: &Tools) -> Result<Sizes> {
    let ldd = cmd::output(Command::new("ldd").arg(&tools.util_linux))?;
    let mut files = vec![tools.util_linux.clone()];
    files.extend(parse_ldd(&ldd));
    let mut seen = BTreeSet::new();
    let mut util_linux = Vec::new();
    for file in files {
        let real = fs::canonicalize(&file)
            .with_context(|| format!("cannot resolve {}", file.display()))?;
        if seen.insert(real.clone()) {
            let bytes = file_size(&real)?;
            util_linux.push((real, bytes));
        }
    }
    let sections = cmd::output(Command::new("size").arg("-A").arg(&tools.ours))
        .context("cannot list the sections of the release binary: is binutils installed?")?;
    Ok(Sizes {
        ours: file_size(&tools.ours)?,
        busybox: file_size(&tools.busybox)?,
        util_linux,
        ours_sections: parse_size_sections(&sections),
    })
}

fn file_size(path: &Path) -> Result<u64> {
    Ok(fs::metadata(path)
        .with_context(|| format!("cannot stat {}", path.display()))?
        .len())
}

/// Returns the library paths in `ldd` output: the vDSO has none and is left out.
fn parse_ldd(text: &str) -> Vec<PathBuf> {
    text.lines()
        .filter_map(|line| {
            let line = line.trim();
            let path = match line.split_once("=>") {
                Some((_, resolved)) => resolved.split_whitespace().next()?,
                None => line.split_whitespace().next()?,
            };
            path.starts_with('/').then(|| PathBuf::from(path))
        })
        .collect()
}

/// Returns the sections of `size -A` output that take bytes.
fn parse_size_sections(text: &str) -> Vec<(String, u64)> {
    text.lines()
        .filter_map(|line| {
            let mut fields = line.split_whitespace();
            let name = fields.next()?;
            let bytes: u64 = fields.next()?.parse().ok()?;
            (name.starts_with('.') && bytes > 0).then(|| (name.to_string(), bytes))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ldd_paths_parsed() {
        let text = "\tlinux-vdso.so.1 (0x00007ffd)\n\tlibselinux.so.1 => \
             /lib/x86_64-linux-gnu/libselinux.so.1 (0x00007f)\n\t/lib64/ld-linux-x86-64.so.2 \
             (0x00007f)\n";
        assert_eq!(
            parse_ldd(text),
            [
                PathBuf::from("/lib/x86_64-linux-gnu/libselinux.so.1"),
                PathBuf::from("/lib64/ld-linux-x86-64.so.2")
            ]
        );
    }

    #[test]
    fn size_sections_parsed() {
        let text = "nsenter  :\n\
                    section   size   addr\n\
                    .text    3000   4096\n\
                    .bss     0      0\n\
                    Total    3000\n";
        assert_eq!(parse_size_sections(text), [(".text".to_string(), 3000)]);
    }
}
