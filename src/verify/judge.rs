//! One installer command line judged up to what it installs: its abort reasons, its answer
//! file, the checks it turns on, and what yum resolves for its targets.

use super::{InstallImg, Options, VariantReport, solve};
use crate::entries::{Checks, Install};
use crate::xcpng;

/// What every entry's judgement reads.
pub(super) struct Context<'a> {
    pub(super) image: &'a InstallImg,
    pub(super) options: &'a Options,
    pub(super) repository_targets: &'a [String],
    pub(super) solver: &'a solve::Solver,
}

/// Judges one installer command line up to what it installs; signatures come later.
pub(super) fn judge(v: &mut VariantReport, install: &Install, cx: &Context<'_>) {
    if let Some(why) = install.abort() {
        v.reasons.push(why);
    }
    let mut answer = None;
    if install.unattended() {
        match answerfile(install, cx.image, cx.options) {
            Ok(attrs) => answer = attrs,
            Err(why) => v.reasons.push(why),
        }
    }
    let checks: Checks = install.checks(
        answer
            .as_ref()
            .map(|(g, r): &(Option<String>, Option<String>)| (g.as_deref(), r.as_deref())),
    );
    v.checks = Some(checks);
    v.targets = install.targets(cx.repository_targets);
    let solved = cx.solver.solve(&v.targets, &cx.options.allow_unresolved);
    v.reasons.extend(solved.problems);
    v.tolerated = solved.tolerated;
    v.packages = solved
        .install
        .iter()
        .filter_map(|&i| cx.solver.record(i).map(solve::nevra))
        .collect();
    v.installed = solved.install;
}

/// The answer file's `gpgcheck` and `repo-gpgcheck` attributes, after checking it is in
/// install.img and parses; `Ok(None)` when it cannot be checked here (a remote address).
type Attributes = (Option<String>, Option<String>);

fn answerfile(
    install: &Install,
    image: &InstallImg,
    options: &Options,
) -> Result<Option<Attributes>, String> {
    let Some(path) = install.answerfile_path() else {
        return Ok(None);
    };
    if !options.install_img {
        return Ok(None);
    }
    let Some(text) = image.file(path) else {
        return Err(format!(
            "the answer file {path} is not a file in {}",
            xcpng::INSTALL_IMG
        ));
    };
    let name = format!("{}:{path}", xcpng::INSTALL_IMG);
    match crate::answerfile::validate(&name, text).map_err(|e| e.to_string())? {
        crate::answerfile::Root::Restore => {
            return Err(format!(
                "the answer file {path} restores a backup: it installs nothing"
            ));
        }
        crate::answerfile::Root::Installation => {}
    }
    let get = |attr: &str| {
        crate::answerfile::root_attribute(&name, text, attr).map_err(|e| e.to_string())
    };
    Ok(Some((
        get(xcpng::attr::GPGCHECK)?,
        get(xcpng::attr::REPO_GPGCHECK)?,
    )))
}
