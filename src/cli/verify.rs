//! `isoremix verify`: per boot entry, whether XCP-ng 8.3's installer installs.

use std::path::PathBuf;
use std::process::ExitCode;

use isoremix::iso::SourceIso;
use isoremix::progress::{Progress, Verbosity};
use isoremix::verify;

use super::Outcome;

/// Examples shown after `--help`.
pub const EXAMPLES: &str = "\
Examples:
  isoremix verify site.iso
  isoremix -q verify site.iso && echo installs";

#[derive(clap::Args)]
pub struct Args {
    /// The ISO image (installer, remastered, or driver disk).
    iso: PathBuf,
    /// Print JSON instead of text.
    #[arg(long)]
    json: bool,
}

pub fn run(args: Args, ui: &Progress) -> Outcome {
    let source = SourceIso::open(&args.iso)?;
    let bar = ui.spinner("verifying");
    let options = verify::Options {
        install_img_memo: isoremix::cache_file::default_dir(),
        ..verify::Options::full()
    };
    let report = verify::verify(&source, &options);
    bar.clear();
    // Quiet: the exit status says it all, and the report is printed only when it fails.
    let show = !report.installs || ui.verbosity() > Verbosity::Quiet;
    if show && args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else if show {
        print!("{}", report.to_text());
    }
    if !report.installs {
        return Ok(ExitCode::FAILURE);
    }
    Ok(ExitCode::SUCCESS)
}
