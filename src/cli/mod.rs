//! The `isoremix` command line: the argument definitions (one module per
//! subcommand, each with its arguments and the code that runs it) and the
//! printing of errors. All the work is in the library.

mod build;
mod docs;
mod driver_disk;
mod extract;
mod inspect;
mod sample;
mod verify;

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use isoremix::iso::Existing;
use isoremix::progress::{Progress, Verbosity};

/// Remaster XCP-ng installer ISOs without root.
#[derive(Parser)]
#[command(name = "isoremix", version, about, after_help = EXAMPLES)]
pub struct Cli {
    /// Print errors only: nothing on success.
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    quiet: bool,
    /// Also print per-file and per-package detail.
    #[arg(short, long, global = true)]
    verbose: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Build a remastered ISO from a profile.
    #[command(after_help = build::EXAMPLES, override_usage = build::USAGE)]
    Build(build::Args),
    /// Show what an ISO holds and what boots what.
    #[command(after_help = inspect::EXAMPLES)]
    Inspect(inspect::Args),
    /// Say, per boot entry, whether XCP-ng 8.3's installer installs from an ISO, and if not, why.
    /// Exits 0 only when every entry that runs the installer installs.
    #[command(after_help = verify::EXAMPLES)]
    Verify(verify::Args),
    /// Extract an ISO's whole tree into a folder (never writing outside it).
    #[command(after_help = extract::EXAMPLES)]
    Extract(extract::Args),
    /// Build an XCP-ng driver disk ISO from a driver-disk profile.
    #[command(after_help = driver_disk::EXAMPLES)]
    DriverDisk(driver_disk::Args),
    /// Write the built-in XCP-ng 8.3-shaped sample source ISO.
    #[command(after_help = sample::EXAMPLES)]
    Sample(sample::Args),
    /// Print a shell completion script for bash, zsh, fish, elvish or PowerShell.
    #[command(after_help = docs::COMPLETIONS_EXAMPLES)]
    Completions(docs::CompletionsArgs),
    /// Print the manual page, or write one page per subcommand into a folder.
    #[command(after_help = docs::MAN_EXAMPLES)]
    Man(docs::ManArgs),
}

/// Examples shown after `isoremix --help`.
const EXAMPLES: &str = "\
Examples:
  isoremix sample source.iso
  isoremix build profiles/demo.toml --source source.iso -o site.iso
  isoremix build --source source.iso -o site.iso --dom0-arg console=ttyS0 --print-profile
  isoremix verify site.iso
  isoremix inspect site.iso";

/// What a subcommand returns: its exit code, or an error to print.
type Outcome = Result<ExitCode, Box<dyn std::error::Error>>;

/// Parses the command line, runs it and prints an error with its causes.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(code) => code,
        Err(err) => {
            let mut shown = err.to_string();
            eprintln!("error: {shown}");
            // Causes whose text the message already carries are not repeated.
            let mut source = err.source();
            while let Some(cause) = source {
                let text = cause.to_string();
                if !shown.contains(&text) {
                    eprintln!("  caused by: {text}");
                    shown.push_str(&text);
                }
                source = cause.source();
            }
            ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> Outcome {
    let ui = Progress::new(match (cli.quiet, cli.verbose) {
        (true, _) => Verbosity::Quiet,
        (_, true) => Verbosity::Verbose,
        _ => Verbosity::Normal,
    });
    match cli.command {
        Command::Build(args) => build::run(args, &ui),
        Command::Inspect(args) => inspect::run(args, &ui),
        Command::Verify(args) => verify::run(args, &ui),
        Command::Extract(args) => extract::run(args, &ui),
        Command::DriverDisk(args) => driver_disk::run(args, &ui),
        Command::Sample(args) => sample::run(args, &ui),
        Command::Completions(args) => docs::completions(args),
        Command::Man(args) => docs::man(args, &ui),
    }
}

/// Prints a command's closing result line on standard output, unless quiet.
fn done(ui: &Progress, line: &str) {
    if ui.verbosity() > Verbosity::Quiet {
        println!("{line}");
    }
}

/// What `--force` means for an existing output file.
fn existing(force: bool) -> Existing {
    if force {
        Existing::Replace
    } else {
        Existing::Refuse
    }
}
