//! `isoremix build`: a remastered ISO from a profile.

use std::path::PathBuf;
use std::process::ExitCode;

use isoremix::profile::{Overrides, Profile, SourceIso as SourceSpec};
use isoremix::progress::Progress;
use isoremix::remaster;

use super::{Outcome, done, existing};

/// Examples shown after `--help`.
pub const EXAMPLES: &str = "\
Examples:
  isoremix build profiles/demo.toml
  isoremix build site.toml --source xcp-ng-8.3.0.iso -o site.iso --force
  isoremix build --source xcp-ng-8.3.0.iso -o site.iso --answerfile answer.xml \\
      --dom0-arg console=ttyS0 --add-rpm site-tools-1.0-1.noarch.rpm
  isoremix build --source builtin:sample -o demo.iso --xen-arg dom0_mem=4G --print-profile > site.toml";

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

pub fn run(args: Args, ui: &Progress) -> Outcome {
    let overrides = Overrides {
        source_iso: args.source.map(|s| s.parse::<SourceSpec>()).transpose()?,
        output_iso: args.output,
    };
    let profile = Profile::load_with(&args.profile, &overrides)?;
    // Each step's lines and warnings are shown as the step ends.
    let report = remaster::build(&profile, ui.clone(), existing(args.force))?;
    for added in &report.added {
        ui.detail(&format!("added {added}"));
    }
    for pulled in &report.pulled_in {
        let why = match &pulled.required_by {
            Some(by) => format!(", needed by {by}"),
            None => String::new(),
        };
        ui.detail(&format!(
            "pulled in {} from {}{why}",
            pulled.nevra,
            pulled.pool.display()
        ));
    }
    for up in &report.updated {
        ui.detail(&format!(
            "updated {} {} to {} {}",
            up.name, up.from, up.to_name, up.to
        ));
    }
    done(
        ui,
        &format!("wrote {} ({} bytes)", report.output.display(), report.size),
    );
    Ok(ExitCode::SUCCESS)
}
