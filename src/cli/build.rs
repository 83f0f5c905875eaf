//! `isoremix build`: a remastered ISO from a profile.

use std::path::PathBuf;
use std::process::ExitCode;

use isoremix::profile::{Overrides, Profile, SourceIso as SourceSpec};
use isoremix::progress::Progress;
use isoremix::remaster;

use super::{Outcome, existing};

#[derive(clap::Args)]
pub struct Args {
    /// The profile (TOML).
    profile: PathBuf,
    /// Write here instead of the profile's [output] iso.
    #[arg(short, long)]
    output: Option<PathBuf>,
    /// Start from this ISO (or builtin:sample) instead of the profile's [source] iso.
    #[arg(long)]
    source: Option<String>,
    /// Replace the output file if it already exists.
    #[arg(long)]
    force: bool,
}

pub fn run(args: Args) -> Outcome {
    let overrides = Overrides {
        source_iso: args.source.map(|s| s.parse::<SourceSpec>()).transpose()?,
        output_iso: args.output,
    };
    let profile = Profile::load_with(&args.profile, &overrides)?;
    let report = remaster::build(&profile, Progress::auto(), existing(args.force))?;
    for step in &report.steps {
        eprintln!("  {step}");
    }
    for warning in &report.warnings {
        eprintln!("warning: {warning}");
    }
    println!("wrote {} ({} bytes)", report.output.display(), report.size);
    Ok(ExitCode::SUCCESS)
}
