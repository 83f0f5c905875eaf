//! A driver disk, judged as the installer loads one.

use super::{
    EntryReport, Finding, Options, Report, Severity, VariantReport, check_packages, repodata, solve,
};
use crate::entries;
use crate::iso::SourceIso;
use crate::xcpng;

/// A driver disk: the installer loads it with `yum install @drivers` from its repository, whose
/// comps must have the `drivers` group (DriverUpdateYumRepository.isRepo); no signature checks.
pub(super) fn driver_disk(source: &SourceIso, options: &Options) -> Report {
    let repo = repodata::check(source);
    let mut findings = repo.findings.clone();
    check_packages(
        source,
        &repo.media,
        &|_| false,
        &|_| None,
        options,
        None,
        &mut findings,
    );
    let has_group = repo
        .groups
        .as_deref()
        .and_then(|xml| crate::repo::comps::parse_groups(xml).ok())
        .is_some_and(|groups| groups.iter().any(|g| g.id == xcpng::DRIVERS_GROUP));
    if !has_group {
        findings.push(Finding {
            check: "repodata",
            severity: Severity::Error,
            message: format!(
                "the repository has no comps group {:?}: the installer does not take it as a driver disk",
                xcpng::DRIVERS_GROUP
            ),
        });
    }
    let line = entries::BootLine {
        config: xcpng::UPDATE_XML.trim_start_matches('/').to_string(),
        name: "driver disk".into(),
        xen: None,
        kernel: None,
        args: Vec::new(),
    };
    let install = entries::action(&entries::BootLine {
        xen: Some(String::new()),
        ..line.clone()
    });
    let mut v = VariantReport::new(&line, vec![&line.config], install);
    v.targets = vec![format!("@{}", xcpng::DRIVERS_GROUP)];
    v.reasons = findings
        .iter()
        .filter(|f| f.severity == Severity::Error)
        .map(|f| f.message.clone())
        .collect();
    if has_group {
        // Loaded into the installer's own root, whose packages are not known here: only what
        // the disk itself cannot satisfy by name is reported, as a warning.
        let solver = solve::Solver::new(&repo.records, repo.groups.as_deref());
        let solved = solver.solve(&v.targets, &options.allow_unresolved);
        v.packages = solved
            .install
            .iter()
            .filter_map(|&i| solver.record(i).map(solve::nevra))
            .collect();
        findings.extend(solved.problems.into_iter().map(|p| Finding {
            check: "solve",
            severity: Severity::Warning,
            message: format!("{p} (unless the installer's own root provides it)"),
        }));
    }
    Report::with_kind(
        "driver-disk",
        findings,
        vec![EntryReport::new("driver disk", vec![v])],
    )
}
