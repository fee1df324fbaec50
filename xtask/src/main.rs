//! The project's build, test, QEMU and demo commands (the cargo-xtask convention).

mod bench;
mod build;
mod cmd;
mod debs;
mod demo;
mod initramfs;
mod qemu;
mod test;

use std::process::ExitCode;

const USAGE: &str = "usage: cargo xtask COMMAND [OPTIONS]

commands:
  build       build the static release binary and print its path
  test        run the unit, host integration and QEMU guest tests
  qemu        boot the guest image to an interactive busybox shell
  initramfs   write the guest initramfs and print its path
  demo        enter fresh namespaces of a target of its own with the release binary
  bench       measure against util-linux and busybox nsenter and write docs/benchmarks.md

options of test and qemu:
  --kvm             use KVM instead of TCG emulation (hangs under nested KVM)
  --timeout SECS    kill the guest after SECS seconds of wall time (test: 300)
";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some((command, rest)) = args.split_first() else {
        eprint!("{USAGE}");
        return ExitCode::FAILURE;
    };
    if matches!(command.as_str(), "help" | "-h" | "--help") {
        print!("{USAGE}");
        return ExitCode::SUCCESS;
    }
    let result = cmd::load_workspace().and_then(|()| dispatch(command, rest));
    match result {
        Ok(code) => code,
        Err(error) => {
            eprintln!("xtask: {error:#}");
            ExitCode::FAILURE
        }
    }
}

fn dispatch(command: &str, rest: &[String]) -> anyhow::Result<ExitCode> {
    match command {
        "build" => build::run(rest).map(|()| ExitCode::SUCCESS),
        "test" => test::run(rest),
        "qemu" => qemu::run(rest).map(|()| ExitCode::SUCCESS),
        "initramfs" => initramfs::run(rest).map(|()| ExitCode::SUCCESS),
        "demo" => demo::run(rest).map(|()| ExitCode::SUCCESS),
        "bench" => bench::run(rest).map(|()| ExitCode::SUCCESS),
        other => {
            eprint!("xtask: unknown command '{other}'\n{USAGE}");
            Ok(ExitCode::FAILURE)
        }
    }
}
