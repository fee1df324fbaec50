//! Helpers to run external commands, echo them on stderr and turn failures into errors.

use std::ffi::OsStr;
use std::os::unix::fs::MetadataExt;
use std::path::PathBuf;
use std::process::Command;
use std::sync::OnceLock;

use anyhow::{bail, Context, Result};

/// The workspace paths that `cargo metadata` reports.
struct Workspace {
    root: PathBuf,
    /// Cargo's target directory, which `CARGO_TARGET_DIR` or `build.target-dir` can move.
    target_dir: PathBuf,
}

static WORKSPACE: OnceLock<Workspace> = OnceLock::new();

/// Asks `cargo metadata` for the workspace root and target directory. Main calls it first.
///
/// The xtask manifest is found through `CARGO_MANIFEST_DIR`, which `cargo run` sets at run
/// time. The path fixed at compile time is only a fallback, because a checkout copied
/// together with its target/ would otherwise run the old checkout's files.
pub fn load_workspace() -> Result<()> {
    if WORKSPACE.get().is_some() {
        return Ok(());
    }
    let xtask_dir = std::env::var_os("CARGO_MANIFEST_DIR")
        .map_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")), PathBuf::from);
    let manifest = xtask_dir.join("Cargo.toml");
    let program = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let text = output(
        Command::new(program)
            .args([
                "metadata",
                "--format-version",
                "1",
                "--no-deps",
                "--manifest-path",
            ])
            .arg(&manifest),
    )
    .context("cannot read the workspace layout: is cargo on PATH?")?;
    let field = |key: &str| {
        json_string_field(&text, key)
            .map(PathBuf::from)
            .with_context(|| format!("cargo metadata printed no \"{key}\" string"))
    };
    let workspace = Workspace {
        root: field("workspace_root")?,
        target_dir: field("target_directory")?,
    };
    let _ = WORKSPACE.set(workspace);
    Ok(())
}

fn workspace() -> &'static Workspace {
    WORKSPACE
        .get()
        .expect("main calls cmd::load_workspace before any command")
}

/// Returns the workspace root that `cargo metadata` reported.
pub fn repo_root() -> PathBuf {
    workspace().root.clone()
}

/// Returns cargo's target directory that `cargo metadata` reported.
pub fn target_dir() -> PathBuf {
    workspace().target_dir.clone()
}

/// Returns the string value of the first `"key":"..."` pair in compact JSON, with escapes decoded.
///
/// A key cannot match text inside another string, because quotes there are escaped. Cargo
/// prints no spaces around the colon.
fn json_string_field(json: &str, key: &str) -> Option<String> {
    let start = json.find(&format!("\"{key}\":\""))? + key.len() + 4;
    let mut value = String::new();
    let mut chars = json[start..].chars();
    loop {
        match chars.next()? {
            '"' => return Some(value),
            '\\' => match chars.next()? {
                'n' => value.push('\n'),
                't' => value.push('\t'),
                'r' => value.push('\r'),
                'b' => value.push('\u{8}'),
                'f' => value.push('\u{c}'),
                'u' => {
                    let hex: String = chars.by_ref().take(4).collect();
                    let code = u32::from_str_radix(&hex, 16).ok()?;
                    // Paths with characters outside the BMP arrive as surrogate pairs, which
                    // this minimal decoder rejects.
                    value.push(char::from_u32(code)?);
                }
                other => value.push(other),
            },
            other => value.push(other),
        }
    }
}

/// Returns the `cargo` that started xtask, or the one on PATH.
pub fn cargo() -> Command {
    let program = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut command = Command::new(program);
    command.current_dir(repo_root());
    command
}

/// Formats a command as one shell line for progress and error messages.
pub fn display(command: &Command) -> String {
    let mut line = quote(&command.get_program().to_string_lossy());
    for arg in command.get_args() {
        line.push(' ');
        line.push_str(&quote(&arg.to_string_lossy()));
    }
    line
}

/// Quotes a word for sh when it contains anything but letters, digits and `-_./=:,+%@`.
fn quote(word: &str) -> String {
    let plain = |c: char| c.is_ascii_alphanumeric() || "-_./=:,+%@".contains(c);
    if !word.is_empty() && word.chars().all(plain) {
        return word.to_string();
    }
    format!("'{}'", word.replace('\'', "'\\''"))
}

/// Runs a command with inherited stdio and fails unless it exits with status 0.
pub fn run(command: &mut Command) -> Result<()> {
    let line = display(command);
    eprintln!("$ {line}");
    let status = command
        .status()
        .with_context(|| format!("cannot run `{line}`"))?;
    if !status.success() {
        bail!("`{line}` failed: {status}");
    }
    Ok(())
}

/// Runs a command quietly and returns its stdout, failing unless it exits with status 0.
pub fn output(command: &mut Command) -> Result<String> {
    let line = display(command);
    let output = command
        .output()
        .with_context(|| format!("cannot run `{line}`"))?;
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        bail!("`{line}` failed: {}: {}", output.status, stderr.trim());
    }
    Ok(String::from_utf8_lossy(&output.stdout).into_owned())
}

/// Returns the first executable file called `name` in the directories of PATH.
pub fn find_in_path(name: impl AsRef<OsStr>) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(name.as_ref()))
        .find(|candidate| {
            candidate
                .metadata()
                .is_ok_and(|meta| meta.is_file() && meta.mode() & 0o111 != 0)
        })
}

/// Tells whether xtask runs with effective user id 0 (the owner of /proc/self).
pub fn is_root() -> bool {
    std::fs::metadata("/proc/self").is_ok_and(|meta| meta.uid() == 0)
}

#[cfg(test)]
mod tests {
    use super::{json_string_field, quote};

    #[test]
    fn json_field_found() {
        let json = r#"{"packages":[],"target_directory":"/work/t","workspace_root":"/work/main"}"#;
        assert_eq!(
            json_string_field(json, "workspace_root").as_deref(),
            Some("/work/main")
        );
        assert_eq!(
            json_string_field(json, "target_directory").as_deref(),
            Some("/work/t")
        );
    }

    #[test]
    fn json_field_escapes_decoded() {
        let json = r#"{"workspace_root":"/a \"b\"\\c\u00e9"}"#;
        assert_eq!(
            json_string_field(json, "workspace_root").as_deref(),
            Some("/a \"b\"\\c\u{e9}")
        );
    }

    #[test]
    fn json_field_inside_string_ignored() {
        let json = r#"{"description":"\"workspace_root\":\"/fake\"","workspace_root":"/real"}"#;
        assert_eq!(
            json_string_field(json, "workspace_root").as_deref(),
            Some("/real")
        );
    }

    #[test]
    fn json_field_missing() {
        assert_eq!(
            json_string_field(r#"{"workspace_root":null}"#, "workspace_root"),
            None
        );
        assert_eq!(
            json_string_field(r#"{"workspace_root":"/open"#, "workspace_root"),
            None
        );
    }

    #[test]
    fn quote_plain_word_unchanged() {
        assert_eq!(quote("--target=12"), "--target=12");
    }

    #[test]
    fn quote_script_single_quoted() {
        assert_eq!(quote("echo $A; it's"), "'echo $A; it'\\''s'");
    }
}
