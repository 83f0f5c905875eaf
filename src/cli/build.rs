//! `isoremix build`: a remastered ISO from a profile.

use std::path::PathBuf;
use std::process::ExitCode;

use isoremix::profile::{Overrides, Profile, QuickProfile, SourceIso as SourceSpec};
use isoremix::progress::Progress;
use isoremix::remaster;

use super::{Outcome, done, existing};

/// The two ways to call `build`: with a profile, or quick mode from flags.
pub const USAGE: &str = "isoremix build [OPTIONS] <PROFILE>
       isoremix build --source <ISO> -o <OUTPUT> [QUICK MODE OPTIONS] [--print-profile]";

/// Examples shown after `--help`.
pub const EXAMPLES: &str = "\
Examples:
  isoremix build profiles/demo.toml
  isoremix build profiles/demo.toml --plan
  isoremix build profiles/demo.toml --json > report.json
  isoremix build site.toml --source xcp-ng-8.3.0.iso -o site.iso --force
  isoremix build --source xcp-ng-8.3.0.iso -o site.iso --answerfile answer.xml \\
      --dom0-arg console=ttyS0 --add-rpm site-tools-1.0-1.noarch.rpm
  isoremix build --source builtin:sample -o demo.iso --xen-arg dom0_mem=4G --print-profile > site.toml";

#[derive(clap::Args)]
pub struct Args {
    /// The profile (TOML). Without one, --source and -o make a quick build from the flags below.
    #[arg(required_unless_present_all = ["source", "output"])]
    profile: Option<PathBuf>,
    /// Write here instead of the profile's [output] iso.
    #[arg(short, long)]
    output: Option<PathBuf>,
    /// Start from this ISO (or builtin:sample) instead of the profile's [source] iso.
    #[arg(long)]
    source: Option<String>,
    /// Replace the output file if it already exists.
    #[arg(long)]
    force: bool,
    /// Say what the build would change (files, packages, boot lines, install.img), writing
    /// nothing.
    #[arg(long)]
    plan: bool,
    /// Print the build report (or the plan) as JSON on stdout.
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    quick: Quick,
}

/// Quick mode: the edits of a small profile given as flags (mkksiso's habit).
#[derive(clap::Args)]
#[group(id = "quick", multiple = true, conflicts_with = "profile")]
#[command(next_help_heading = "Quick mode (no profile; with --source and -o)")]
struct Quick {
    /// An answer file for unattended installs ([installer] answerfile).
    #[arg(long, value_name = "FILE")]
    answerfile: Option<PathBuf>,
    /// Set a dom0 kernel argument, KEY=VALUE or a flag ([boot.dom0_args] set).
    #[arg(long, value_name = "ARG")]
    dom0_arg: Vec<String>,
    /// Set a Xen argument ([boot.xen_args] set).
    #[arg(long, value_name = "ARG")]
    xen_arg: Vec<String>,
    /// Remove a dom0 kernel argument, KEY or KEY=VALUE ([boot.dom0_args] remove).
    #[arg(long, value_name = "ARG")]
    rm_arg: Vec<String>,
    /// Add an RPM to the repository ([packages] add).
    #[arg(long, value_name = "FILE")]
    add_rpm: Vec<PathBuf>,
    /// Add a file to the ISO at an absolute path ([[iso.files]]).
    #[arg(long, value_name = "SRC:DEST", value_parser = parse_add)]
    add: Vec<(PathBuf, String)>,
    /// The new volume identifier ([output] volume_id).
    #[arg(short = 'V', long, value_name = "LABEL")]
    volume_id: Option<String>,
    /// Print the profile the flags stand for instead of building.
    #[arg(long)]
    print_profile: bool,
}

/// `SRC:DEST`: split at the last `:` before the absolute ISO path.
fn parse_add(value: &str) -> Result<(PathBuf, String), String> {
    match value.rsplit_once(':') {
        Some((src, dest)) if !src.is_empty() && !dest.is_empty() => {
            Ok((PathBuf::from(src), dest.to_owned()))
        }
        _ => Err(format!(
            "`{value}` is not SRC:DEST (a local file, a colon, its path in the ISO)"
        )),
    }
}

pub fn run(args: Args, ui: &Progress) -> Outcome {
    let profile = match args.profile {
        Some(path) => {
            let overrides = Overrides {
                source_iso: args.source.map(|s| s.parse::<SourceSpec>()).transpose()?,
                output_iso: args.output,
            };
            Profile::load_with(&path, &overrides)?
        }
        None => {
            let q = args.quick;
            let quick = QuickProfile {
                // Both are required without a profile.
                source: args.source.unwrap_or_default(),
                output: args.output.unwrap_or_default(),
                volume_id: q.volume_id,
                answerfile: q.answerfile,
                dom0_args: q.dom0_arg,
                xen_args: q.xen_arg,
                rm_args: q.rm_arg,
                add_rpms: q.add_rpm,
                add_files: q.add,
            };
            let profile = quick.to_profile(&std::env::current_dir()?)?;
            if q.print_profile {
                print!("{}", profile.text);
                return Ok(ExitCode::SUCCESS);
            }
            profile
        }
    };
    // Each step's lines and warnings are shown as the step ends.
    let report = if args.plan {
        remaster::plan(&profile, ui.clone())?
    } else {
        remaster::build(&profile, ui.clone(), existing(args.force))?
    };
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
        return Ok(ExitCode::SUCCESS);
    }
    if args.plan {
        println!("plan for {} (nothing written):", report.output.display());
        print!("{}", report.changes.to_text());
        return Ok(ExitCode::SUCCESS);
    }
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
