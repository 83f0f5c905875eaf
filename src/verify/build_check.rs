//! The check a build runs on its result before writing it: problems the build brought refuse
//! the build; problems the source already had are warnings.

use super::boot_configs::consistency;
use super::{Options, Report, Severity, verify};
use crate::entries;
use crate::iso::SourceIso;
use crate::xcpng;

/// Why a build's result would not install; nothing is written.
#[derive(Debug, thiserror::Error)]
#[error(
    "the built image would not install:\n  {}{}",
    problems.join("\n  "),
    notes.iter().map(|n| format!("\nnote: {n}")).collect::<String>()
)]
pub struct WouldNotInstall {
    /// Each problem, naming the entry, package, requirement and chain where it applies.
    pub problems: Vec<String>,
    /// What the build noticed on the way that may explain them (e.g. why a pool package was
    /// not taken).
    pub notes: Vec<String>,
}

/// Runs the build's checks ([`Options::build`]) on an image about to be written, and on the
/// source it was made from (read again from its file). Problems the build brought are errors;
/// problems the source already had are returned as warnings (a remaster does not refuse to
/// touch an image that was broken before). An image without `.treeinfo` and repodata is only
/// checked for boot configs that agree.
pub fn check_build(
    source: &SourceIso,
    allow_unresolved: &[String],
) -> Result<Vec<String>, WouldNotInstall> {
    let options = Options::build(allow_unresolved);
    let after = build_problems(source, &options);
    if after.is_empty() {
        return Ok(Vec::new());
    }
    let before = SourceIso::open(source.path())
        .map(|original| build_problems(&original, &options))
        .unwrap_or_default();
    let (old, new): (Vec<String>, Vec<String>) =
        after.into_iter().partition(|p| before.contains(p));
    if new.is_empty() {
        Ok(old
            .into_iter()
            .map(|p| format!("{p} (so already in the source image)"))
            .collect())
    } else {
        Err(WouldNotInstall {
            problems: new,
            notes: Vec::new(),
        })
    }
}

/// The build's checks on one image: each problem, entry-prefixed where it is an entry's.
fn build_problems(source: &SourceIso, options: &Options) -> Vec<String> {
    let installer = source.exists(xcpng::TREEINFO) || source.exists(xcpng::REPOMD);
    let report = if installer {
        verify(source, options)
    } else {
        let configs = entries::read_configs(source);
        let findings = consistency(&entries::entries(&configs.configs), &configs.configs, true);
        Report::new(findings, Vec::new())
    };
    let mut problems: Vec<String> = report
        .findings
        .iter()
        .filter(|f| f.severity == Severity::Error)
        .map(|f| f.message.clone())
        .collect();
    let image_wide = problems.clone();
    for (label, reasons) in report.failures() {
        for r in reasons {
            if !image_wide.contains(r) {
                problems.push(format!("entry {label:?}: {r}"));
            }
        }
    }
    problems
}
