//! `isoremix completions` and `isoremix man`: shell completions and manual
//! pages, generated from the same argument definitions the parser uses.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::CommandFactory;
use isoremix::progress::Progress;

use super::{Cli, Outcome, done};

#[derive(clap::Args)]
pub struct CompletionsArgs {
    /// The shell to complete for.
    shell: clap_complete::Shell,
}

#[derive(clap::Args)]
pub struct ManArgs {
    /// Write one page per subcommand (isoremix.1, isoremix-build.1, ...) into this folder
    /// instead of the main page to standard output.
    #[arg(long, value_name = "DIR")]
    dir: Option<PathBuf>,
}

/// Examples shown after `isoremix completions --help`.
pub const COMPLETIONS_EXAMPLES: &str = "\
Examples:
  isoremix completions bash > ~/.local/share/bash-completion/completions/isoremix
  isoremix completions zsh > ~/.zfunc/_isoremix
  isoremix completions fish > ~/.config/fish/completions/isoremix.fish";

/// Examples shown after `isoremix man --help`.
pub const MAN_EXAMPLES: &str = "\
Examples:
  isoremix man | man -l -
  isoremix man --dir ~/.local/share/man/man1";

pub fn completions(args: CompletionsArgs) -> Outcome {
    let mut cmd = Cli::command();
    clap_complete::generate(args.shell, &mut cmd, "isoremix", &mut std::io::stdout());
    Ok(ExitCode::SUCCESS)
}

pub fn man(args: ManArgs, ui: &Progress) -> Outcome {
    let cmd = Cli::command();
    match args.dir {
        Some(dir) => {
            std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
            clap_mangen::generate_to(cmd, &dir).map_err(|e| format!("{}: {e}", dir.display()))?;
            done(
                ui,
                &format!("wrote the manual pages into {}", dir.display()),
            );
        }
        None => clap_mangen::Man::new(cmd).render(&mut std::io::stdout())?,
    }
    Ok(ExitCode::SUCCESS)
}
