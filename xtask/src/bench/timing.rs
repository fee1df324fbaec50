//! Wall times from rounds of `hyperfine -N`, and their median and spread.

use std::fs;
use std::path::Path;

use anyhow::{bail, Context, Result};

use super::entry::{Entry, Tool, Tools, ENTRIES};
use super::{measured_command, PROGRAM};
use crate::cmd;

/// Hyperfine invocations. Each one runs every command RUNS_PER_ROUND times in a row, and the
/// command order rotates by one from one round to the next, so slow drift of the machine spreads
/// over all commands instead of landing on one.
pub(super) const ROUNDS: usize = 30;
pub(super) const RUNS_PER_ROUND: usize = 40;
pub(super) const WARMUP_RUNS: usize = 5;

/// The wall times of one command line, in seconds, pooled over all rounds.
pub(super) struct Timing {
    pub(super) label: String,
    pub(super) argv: Vec<String>,
    /// The entry this command line measures, or None for a reference command.
    pub(super) entry: Option<Entry>,
    pub(super) seconds: Vec<f64>,
}

/// Returns the command lines timed: the floor, start-up alone, one entry without a fork, then
/// the entries.
fn timed_commands(tools: &Tools, target: u32) -> Vec<Timing> {
    let timing = |label: String, argv: Vec<String>, entry| Timing {
        label,
        argv,
        entry,
        seconds: Vec::new(),
    };
    let mut commands = vec![
        timing("floor".to_string(), vec![PROGRAM.to_string()], None),
        timing(
            "ours --version".to_string(),
            vec![tools.ours.display().to_string(), "--version".to_string()],
            None,
        ),
        timing(
            "util-linux --version".to_string(),
            vec![
                tools.util_linux.display().to_string(),
                "--version".to_string(),
            ],
            None,
        ),
    ];
    let mut no_fork = tools.prefix(Tool::Ours);
    no_fork.extend(
        [
            "-t",
            &target.to_string(),
            "-m",
            "-u",
            "-i",
            "-n",
            "--",
            PROGRAM,
        ]
        .map(String::from),
    );
    commands.push(timing(
        "ours -m -u -i -n (no fork)".to_string(),
        no_fork,
        None,
    ));
    for entry in ENTRIES {
        commands.push(timing(
            entry.label(),
            entry.argv(tools, target, &[PROGRAM]),
            Some(entry),
        ));
    }
    commands
}

pub(super) fn measure_times(tools: &Tools, target: u32, work_dir: &Path) -> Result<Vec<Timing>> {
    let mut commands = timed_commands(tools, target);
    for argv in commands.iter().flat_map(|command| &command.argv) {
        if argv.contains(char::is_whitespace) || argv.contains(['\'', '"', '\\']) {
            bail!(
                "hyperfine -N splits commands at spaces and quotes, which '{argv}' contains: move \
                 the checkout to a plain path"
            );
        }
    }
    let json = work_dir.join("hyperfine.json");
    for round in 0..ROUNDS {
        let order: Vec<usize> = (0..commands.len())
            .map(|index| (index + round) % commands.len())
            .collect();
        let mut hyperfine = measured_command("hyperfine");
        hyperfine
            .args(["-N", "--style", "none"])
            .args([
                "--warmup",
                &WARMUP_RUNS.to_string(),
                "--runs",
                &RUNS_PER_ROUND.to_string(),
            ])
            .arg("--export-json")
            .arg(&json);
        for &index in &order {
            hyperfine.arg(commands[index].argv.join(" "));
        }
        cmd::output(&mut hyperfine).context("hyperfine failed")?;
        let text =
            fs::read_to_string(&json).with_context(|| format!("cannot read {}", json.display()))?;
        let times = parse_hyperfine_times(&text);
        if times.len() != order.len() {
            bail!(
                "{} contains {} results for {} commands",
                json.display(),
                times.len(),
                order.len()
            );
        }
        for (index, seconds) in order.into_iter().zip(times) {
            commands[index].seconds.extend(seconds);
        }
    }
    Ok(commands)
}

/// Returns the `"times"` array of each result in hyperfine's JSON export, in command order.
fn parse_hyperfine_times(json: &str) -> Vec<Vec<f64>> {
    json.split("\"times\"")
        .skip(1)
        .filter_map(|rest| {
            let open = rest.find('[')?;
            let close = rest.find(']')?;
            let numbers = rest.get(open + 1..close)?;
            Some(
                numbers
                    .split(',')
                    .filter_map(|number| number.trim().parse().ok())
                    .collect(),
            )
        })
        .collect()
}

/// The median and spread of a sample.
pub(super) struct Summary {
    pub(super) median: f64,
    pub(super) p25: f64,
    pub(super) p75: f64,
    pub(super) min: f64,
    pub(super) max: f64,
}

impl Summary {
    pub(super) fn of(sample: &[f64]) -> Summary {
        let mut sorted = sample.to_vec();
        sorted.sort_by(f64::total_cmp);
        Summary {
            median: percentile(&sorted, 0.5),
            p25: percentile(&sorted, 0.25),
            p75: percentile(&sorted, 0.75),
            min: sorted.first().copied().unwrap_or(f64::NAN),
            max: sorted.last().copied().unwrap_or(f64::NAN),
        }
    }
}

/// Returns the `q` quantile of a sorted sample, interpolating linearly between ranks.
fn percentile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = q * (sorted.len() - 1) as f64;
    let below = rank.floor() as usize;
    let above = rank.ceil() as usize;
    sorted[below] + (sorted[above] - sorted[below]) * (rank - below as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hyperfine_times_parsed() {
        let json = concat!(
            r#"{"results": [{"command": "a", "times": [0.5, 0.25], "exit_codes": [0, 0]}, "#,
            r#"{"command": "b", "times": [
  1.0
]}]}"#
        );
        assert_eq!(parse_hyperfine_times(json), [vec![0.5, 0.25], vec![1.0]]);
    }

    #[test]
    fn percentile_interpolates() {
        let sorted = [1.0, 2.0, 3.0, 4.0];
        assert_eq!(percentile(&sorted, 0.0), 1.0);
        assert_eq!(percentile(&sorted, 0.5), 2.5);
        assert_eq!(percentile(&sorted, 1.0), 4.0);
    }
}
