//! The dependency solver against dnf 4 (libsolv): for the same packages and targets, the set of
//! packages `depsolve::solve` chooses must be the set dnf installs into an empty root, and a
//! request dnf refuses must be refused. Where XCP-ng's installer differs from Debian's dnf
//! (rpm 4.11.3 lacks `rpmlib(PayloadIsZstd)`; XCP-ng installs x86_64 and noarch only, while dnf
//! on x86_64 takes i686 as multilib), the test asserts both answers and says why they differ.
//!
//! Packages are built with the crate's own builder, the repodata with `repo::write_repodata`.
//! Media packages and pool packages go in two repositories; for `Prefer::OnMedia` the media
//! repository gets a better dnf priority, for `Prefer::Newest` both have the same.

mod common;

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};

use common::require;
use isoremix::depsolve::{self, Candidate, Origin, Prefer, Request, Universe};
use isoremix::repo::{self, Record};
use isoremix::rpm::Nevra;
use isoremix::rpm::read_package;
use isoremix::rpm::{Dep, DepCmp, FileSpec, PackageSpec, build_package};

const TIME: u32 = 1_700_000_000;

/// A package spec from `name-[epoch:]version-release.arch`.
fn pkg(nevra: &str) -> PackageSpec {
    let n = Nevra::parse(nevra).unwrap();
    let mut s = PackageSpec::new(
        &n.name,
        &n.evr.version,
        &n.evr.release,
        &n.arch,
        TIME,
        "test.invalid",
    );
    s.epoch = n.evr.epoch;
    s.summary = format!("{} for the solver tests", n.name);
    s.description = s.summary.clone();
    s
}

/// A dependency from `name`, or `name OP [epoch:]version[-release]`.
fn dep(text: &str) -> Dep {
    let words: Vec<&str> = text.split_whitespace().collect();
    match words.as_slice() {
        [name] => Dep::any(*name),
        [name, op, evr] => {
            let cmp = match *op {
                "<" => DepCmp::Lt,
                "<=" => DepCmp::Le,
                "=" => DepCmp::Eq,
                ">=" => DepCmp::Ge,
                ">" => DepCmp::Gt,
                _ => panic!("bad operator in {text}"),
            };
            Dep::versioned(*name, cmp, *evr)
        }
        _ => panic!("bad dependency {text}"),
    }
}

fn requires(mut s: PackageSpec, deps: &[&str]) -> PackageSpec {
    s.requires.extend(deps.iter().map(|d| dep(d)));
    s
}

fn provides(mut s: PackageSpec, deps: &[&str]) -> PackageSpec {
    s.provides.extend(deps.iter().map(|d| dep(d)));
    s
}

fn conflicts(mut s: PackageSpec, deps: &[&str]) -> PackageSpec {
    s.conflicts.extend(deps.iter().map(|d| dep(d)));
    s
}

fn obsoletes(mut s: PackageSpec, deps: &[&str]) -> PackageSpec {
    s.obsoletes.extend(deps.iter().map(|d| dep(d)));
    s
}

fn file(mut s: PackageSpec, path: &str) -> PackageSpec {
    s.files
        .push(FileSpec::new(path, 0o755, TIME, b"#!/bin/true\n".to_vec()));
    s
}

/// One comparison: media packages, pool packages, targets.
struct Case {
    name: &'static str,
    media: Vec<PackageSpec>,
    pool: Vec<PackageSpec>,
    targets: Vec<&'static str>,
    prefer: Prefer,
}

impl Case {
    fn new(name: &'static str, media: Vec<PackageSpec>, targets: &[&'static str]) -> Case {
        Case {
            name,
            media,
            pool: Vec::new(),
            targets: targets.to_vec(),
            prefer: Prefer::OnMedia,
        }
    }

    fn pool(mut self, pool: Vec<PackageSpec>) -> Case {
        self.pool = pool;
        self
    }

    fn prefer(mut self, prefer: Prefer) -> Case {
        self.prefer = prefer;
        self
    }
}

/// Builds `specs` into repositories under `dir` (`dir/0`, `dir/1`...: repodata holds one
/// package per name and arch, so further versions go to further repositories); returns the
/// repositories and the candidates.
fn repositories(
    dir: &Path,
    specs: &[PackageSpec],
    origin: Origin,
) -> (Vec<PathBuf>, Vec<Candidate>) {
    let mut layers: Vec<Vec<(Record, Candidate)>> = Vec::new();
    for s in specs {
        let mut bytes = Vec::new();
        build_package(s, &mut bytes).unwrap();
        let file = read_package(bytes.as_slice()).unwrap();
        let location = format!("Packages/{}", s.file_name());
        let record = Record::from_package(
            &file,
            &location,
            TIME as u64,
            Some(repo::DEFAULT_CHANGELOG_LIMIT),
        );
        let candidate = Candidate::from_package(&file, &location, origin);
        let layer = layers
            .iter()
            .position(|l| {
                !l.iter()
                    .any(|(r, _)| r.name == record.name && r.arch == record.arch)
            })
            .unwrap_or_else(|| {
                layers.push(Vec::new());
                layers.len() - 1
            });
        let packages = dir.join(layer.to_string()).join("Packages");
        fs::create_dir_all(&packages).unwrap();
        fs::write(packages.join(s.file_name()), &bytes).unwrap();
        layers[layer].push((record, candidate));
    }
    let mut roots = Vec::new();
    let mut candidates = Vec::new();
    for (n, layer) in layers.into_iter().enumerate() {
        let root = dir.join(n.to_string());
        let mut records: Vec<Record> = layer.iter().map(|(r, _)| r.clone()).collect();
        repo::sort_records(&mut records);
        repo::write_repodata(&records, None, TIME as u64)
            .unwrap()
            .write_to_dir(&root)
            .unwrap();
        candidates.extend(layer.into_iter().map(|(_, c)| c));
        roots.push(root);
    }
    (roots, candidates)
}

/// What a solver answered: the installed `name-[E:]V-R.arch`, or its error text.
type Answer = Result<BTreeSet<String>, String>;

/// Builds the case's repositories in a fresh folder; returns (our answer, dnf's answer).
fn judge(case: &Case) -> (Answer, Answer) {
    let work = workdir();
    let dir = work.path().join(case.name);
    let (media, mut candidates) = repositories(&dir.join("media"), &case.media, Origin::Iso);
    let (pool, more) = repositories(&dir.join("pool"), &case.pool, Origin::Pool);
    candidates.extend(more);
    let universe = Universe::new(candidates);
    let targets: Vec<String> = case.targets.iter().map(|t| t.to_string()).collect();
    let ours = depsolve::solve(
        &universe,
        &Request {
            targets: &targets,
            allow_unresolved: &[],
            prefer: case.prefer,
        },
    )
    .map(|s| {
        s.install
            .iter()
            .map(|&i| {
                let c = &universe.candidates()[i];
                format!("{}.{}", c.nevr(), c.record.arch)
            })
            .collect()
    })
    .map_err(|e| e.to_string());
    (ours, dnf_install(&dir, &media, &pool, case))
}

/// dnf 4 installing the targets into an empty root from the two repositories.
fn dnf_install(dir: &Path, media: &[PathBuf], pool: &[PathBuf], case: &Case) -> Answer {
    let root = dir.join("root");
    fs::create_dir_all(&root).unwrap();
    let media_priority = match case.prefer {
        Prefer::OnMedia => "1",
        Prefer::Newest => "99",
    };
    let mut dnf = common::dnf::dnf_into(&root);
    for (kind, repos, priority) in [("media", media, media_priority), ("pool", pool, "99")] {
        for (n, path) in repos.iter().enumerate() {
            dnf.arg(format!("--repofrompath={kind}{n},{}", path.display()))
                .arg(format!("--repo={kind}{n}"))
                .arg(format!("--setopt={kind}{n}.priority={priority}"));
        }
    }
    let out = dnf.arg("install").args(&case.targets).output().unwrap();
    if !out.status.success() {
        return Err(format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    Ok(common::dnf::installed(
        &root,
        "%{name}-%|epoch?{%{epoch}:}:{}|%{version}-%{release}.%{arch}\\n",
    ))
}

fn set(items: &[&str]) -> BTreeSet<String> {
    items.iter().map(|s| s.to_string()).collect()
}

/// Asserts both solvers install exactly `want`.
fn agree(case: Case, want: &[&str]) {
    let (ours, dnf) = judge(&case);
    assert_eq!(dnf, Ok(set(want)), "{}: dnf", case.name);
    assert_eq!(ours, Ok(set(want)), "{}: isoremix", case.name);
}

/// Asserts both solvers refuse; ours with a message containing `ours_says`, dnf's with
/// `dnf_says`.
fn both_refuse(case: Case, ours_says: &str, dnf_says: &str) {
    let (ours, dnf) = judge(&case);
    let dnf = dnf.expect_err(&format!("{}: dnf should refuse", case.name));
    assert!(dnf.contains(dnf_says), "{}: dnf said {dnf}", case.name);
    let ours = ours.expect_err(&format!("{}: isoremix should refuse", case.name));
    assert!(
        ours.contains(ours_says),
        "{}: isoremix said {ours}",
        case.name
    );
}

fn workdir() -> tempfile::TempDir {
    for tool in ["dnf", "rpm"] {
        require(tool);
    }
    tempfile::tempdir().unwrap()
}

/// xcp-ng-deps requires site-monitoring, which requires a library no media package provides.
fn monitoring_without_libfoo(name: &'static str) -> Case {
    Case::new(
        name,
        vec![
            requires(pkg("xcp-ng-deps-8.3-1.noarch"), &["site-monitoring"]),
            requires(
                pkg("site-monitoring-1.0-1.x86_64"),
                &["libfoo.so.1()(64bit)"],
            ),
        ],
        &["xcp-ng-deps"],
    )
}

#[test]
fn missing_dependency_is_refused_with_its_chain() {
    let case = monitoring_without_libfoo("missing");
    both_refuse(
        case,
        "xcp-ng-deps-8.3-1 → site-monitoring-1.0-1 requires libfoo.so.1()(64bit): \
         nothing on the ISO provides it",
        "nothing provides libfoo.so.1()(64bit) needed by site-monitoring-1.0-1.x86_64",
    );
}

#[test]
fn versioned_requires_compare_epochs_and_releases_as_rpm() {
    let case = Case::new(
        "versions",
        vec![
            requires(
                pkg("app-1.0-1.x86_64"),
                &["libb >= 1:0.1", "libc < 2.0", "libd = 1.0"],
            ),
            // The epoch outweighs the higher version.
            pkg("libb-2.0-1.x86_64"),
            pkg("libb-1:0.5-1.x86_64"),
            pkg("libc-1.5-1.x86_64"),
            pkg("libc-2.0-1.x86_64"),
            // A requirement without a release matches every release: the highest is taken.
            pkg("libd-1.0-2.x86_64"),
            pkg("libd-1.0-3.x86_64"),
            pkg("libd-1.1-1.x86_64"),
        ],
        &["app"],
    );
    agree(
        case,
        &[
            "app-1.0-1.x86_64",
            "libb-1:0.5-1.x86_64",
            "libc-1.5-1.x86_64",
            "libd-1.0-3.x86_64",
        ],
    );
}

#[test]
fn unsatisfiable_version_is_refused() {
    let case = Case::new(
        "too-old",
        vec![
            requires(pkg("app-1.0-1.x86_64"), &["libb >= 2:0"]),
            pkg("libb-1:3.0-1.x86_64"),
        ],
        &["app"],
    );
    both_refuse(
        case,
        "app-1.0-1 requires libb >= 2:0: nothing on the ISO provides it",
        "nothing provides libb >= 2:0 needed by app-1.0-1.x86_64",
    );
}

#[test]
fn file_requires_come_from_file_lists() {
    let case = Case::new(
        "files",
        vec![
            requires(
                pkg("tool-1.0-1.noarch"),
                &["/usr/bin/helper", "/usr/share/tool/data.txt"],
            ),
            file(pkg("helper-1.0-1.x86_64"), "/usr/bin/helper"),
            // Not a "primary" path: only filelists.xml lists it.
            file(pkg("tool-data-1.0-1.noarch"), "/usr/share/tool/data.txt"),
            pkg("unrelated-1.0-1.noarch"),
        ],
        &["tool"],
    );
    agree(
        case,
        &[
            "helper-1.0-1.x86_64",
            "tool-1.0-1.noarch",
            "tool-data-1.0-1.noarch",
        ],
    );
}

#[test]
fn virtual_provides_with_versions() {
    let case = Case::new(
        "virtual",
        vec![
            requires(pkg("app-1.0-1.x86_64"), &["webthing", "api >= 3"]),
            provides(pkg("httpd-2.4-1.x86_64"), &["webthing = 2.0"]),
            provides(pkg("old-api-1.0-1.x86_64"), &["api = 2"]),
            provides(pkg("new-api-1.0-1.x86_64"), &["api = 3"]),
        ],
        &["app"],
    );
    agree(
        case,
        &[
            "app-1.0-1.x86_64",
            "httpd-2.4-1.x86_64",
            "new-api-1.0-1.x86_64",
        ],
    );
}

#[test]
fn a_virtual_provide_can_be_a_target() {
    let case = Case::new(
        "virtual-target",
        vec![
            provides(pkg("kernel-alt-4.19-1.x86_64"), &["kernel-flavour = 4.19"]),
            pkg("kernel-4.19-2.x86_64"),
        ],
        &["kernel-flavour"],
    );
    agree(case, &["kernel-alt-4.19-1.x86_64"]);
}

/// `app` requires `libb` and `tool`, and `tool` rules out the newer of libb 1.0 and 2.0: both
/// solvers take the older.
fn tool_rules_out_the_newer_libb(name: &'static str, tool: PackageSpec) {
    let case = Case::new(
        name,
        vec![
            requires(pkg("app-1.0-1.x86_64"), &["libb", "tool"]),
            pkg("libb-1.0-1.x86_64"),
            pkg("libb-2.0-1.x86_64"),
            tool,
        ],
        &["app"],
    );
    agree(
        case,
        &["app-1.0-1.x86_64", "libb-1.0-1.x86_64", "tool-1.0-1.x86_64"],
    );
}

#[test]
fn conflicts_steer_the_choice_of_version() {
    tool_rules_out_the_newer_libb(
        "conflicts",
        conflicts(pkg("tool-1.0-1.x86_64"), &["libb >= 2"]),
    );
}

#[test]
fn an_unavoidable_conflict_names_both_packages() {
    let case = Case::new(
        "clash",
        vec![
            requires(pkg("app-1.0-1.x86_64"), &["libb", "tool"]),
            pkg("libb-2.0-1.x86_64"),
            conflicts(pkg("tool-1.0-1.x86_64"), &["libb >= 2"]),
        ],
        &["app"],
    );
    both_refuse(
        case,
        "app-1.0-1 → tool-1.0-1 conflicts with libb >= 2: libb-2.0-1 provides it",
        "conflicts with libb >= 2",
    );
}

#[test]
fn obsoletes_exclude_what_they_name() {
    tool_rules_out_the_newer_libb(
        "obsoletes",
        obsoletes(pkg("tool-1.0-1.x86_64"), &["libb >= 2"]),
    );
}

#[test]
fn a_foreign_architecture_does_not_satisfy() {
    let case = Case::new(
        "arch",
        vec![
            requires(pkg("app-1.0-1.x86_64"), &["libz.so.1()(64bit)"]),
            provides(pkg("libz-1.0-1.aarch64"), &["libz.so.1()(64bit)"]),
        ],
        &["app"],
    );
    both_refuse(
        case,
        "app-1.0-1 requires libz.so.1()(64bit): only libz-1.0-1.aarch64 provides it, \
         and XCP-ng installs x86_64 and noarch packages only",
        "libz.so.1()(64bit)",
    );
}

/// dnf on x86_64 installs i686 packages (multilib); XCP-ng's dom0 is x86_64 and noarch only:
/// the installer's yum runs with that arch list, so an i686 provider is refused here.
#[test]
fn i686_is_refused_where_dnf_takes_it_as_multilib() {
    let case = Case::new(
        "multilib",
        vec![
            requires(pkg("app-1.0-1.x86_64"), &["libz.so.1"]),
            provides(pkg("libz-1.0-1.i686"), &["libz.so.1"]),
        ],
        &["app"],
    );
    let (ours, dnf) = judge(&case);
    assert_eq!(dnf, Ok(set(&["app-1.0-1.x86_64", "libz-1.0-1.i686"])));
    let ours = ours.unwrap_err();
    assert!(ours.contains("only libz-1.0-1.i686 provides it"), "{ours}");
}

/// rpm 4.18 (beside dnf) unpacks zstd payloads; XCP-ng's rpm 4.11.3 cannot, so a package
/// requiring `rpmlib(PayloadIsZstd)` is refused although dnf installs it.
#[test]
fn rpmlib_payload_is_zstd_is_refused_where_dnf_accepts_it() {
    let case = Case::new(
        "zstd",
        vec![
            requires(pkg("xcp-ng-deps-8.3-1.noarch"), &["modern"]),
            requires(
                pkg("modern-1.0-1.x86_64"),
                &["rpmlib(PayloadIsZstd) <= 5.4.18-1"],
            ),
        ],
        &["xcp-ng-deps"],
    );
    let (ours, dnf) = judge(&case);
    assert_eq!(
        dnf,
        Ok(set(&["modern-1.0-1.x86_64", "xcp-ng-deps-8.3-1.noarch"]))
    );
    assert_eq!(
        ours.unwrap_err(),
        "xcp-ng-deps-8.3-1 → modern-1.0-1 requires rpmlib(PayloadIsZstd) <= 5.4.18-1: \
         rpm 4.11.3 (XCP-ng's) does not provide it"
    );
}

#[test]
fn the_pool_supplies_a_missing_dependency() {
    let case = monitoring_without_libfoo("pool-dep").pool(vec![
        provides(pkg("libfoo-1.2-1.x86_64"), &["libfoo.so.1()(64bit)"]),
        provides(pkg("libfoo-1.1-1.x86_64"), &["libfoo.so.1()(64bit)"]),
        pkg("unneeded-1.0-1.noarch"),
    ]);
    agree(
        case,
        &[
            "libfoo-1.2-1.x86_64",
            "site-monitoring-1.0-1.x86_64",
            "xcp-ng-deps-8.3-1.noarch",
        ],
    );
}

#[test]
fn on_media_keeps_the_media_version_newest_takes_the_pool() {
    let media = || {
        vec![
            requires(pkg("xcp-ng-deps-8.3-1.noarch"), &["libb"]),
            pkg("libb-1.0-1.x86_64"),
        ]
    };
    let pool = || vec![pkg("libb-1.1-1.x86_64")];
    let on_media = Case::new("on-media", media(), &["xcp-ng-deps"]).pool(pool());
    agree(on_media, &["libb-1.0-1.x86_64", "xcp-ng-deps-8.3-1.noarch"]);
    let newest = Case::new("newest", media(), &["xcp-ng-deps"])
        .pool(pool())
        .prefer(Prefer::Newest);
    agree(newest, &["libb-1.1-1.x86_64", "xcp-ng-deps-8.3-1.noarch"]);
}

#[test]
fn an_update_renamed_through_obsoletes_replaces_the_old_name() {
    let case = Case::new(
        "renamed",
        vec![
            requires(pkg("xcp-ng-deps-8.3-1.noarch"), &["oldname"]),
            pkg("oldname-1.0-1.x86_64"),
        ],
        &["xcp-ng-deps"],
    )
    .pool(vec![obsoletes(
        provides(pkg("newname-2.0-1.x86_64"), &["oldname = 2.0-1"]),
        &["oldname < 2.0-1"],
    )])
    .prefer(Prefer::Newest);
    agree(case, &["newname-2.0-1.x86_64", "xcp-ng-deps-8.3-1.noarch"]);
}

#[test]
fn a_choice_between_two_providers_is_dnfs() {
    let case = Case::new(
        "choice",
        vec![
            requires(pkg("app-1.0-1.x86_64"), &["mta"]),
            provides(pkg("sendmail-8.0-1.x86_64"), &["mta"]),
            provides(pkg("postfix-3.0-1.x86_64"), &["mta"]),
        ],
        &["app"],
    );
    agree(case, &["app-1.0-1.x86_64", "postfix-3.0-1.x86_64"]);
}

#[test]
fn cycles_and_several_targets() {
    let case = Case::new(
        "cycle",
        vec![
            requires(pkg("a-1.0-1.noarch"), &["b"]),
            requires(pkg("b-1.0-1.noarch"), &["a = 1.0-1", "/usr/bin/c"]),
            file(pkg("c-1.0-1.x86_64"), "/usr/bin/c"),
            requires(pkg("d-1.0-1.noarch"), &["c"]),
        ],
        &["a", "d"],
    );
    agree(
        case,
        &[
            "a-1.0-1.noarch",
            "b-1.0-1.noarch",
            "c-1.0-1.x86_64",
            "d-1.0-1.noarch",
        ],
    );
}

#[test]
fn a_missing_target_is_refused() {
    let case = Case::new("no-target", vec![pkg("a-1.0-1.noarch")], &["kernel-alt"]);
    both_refuse(
        case,
        "kernel-alt: nothing on the ISO provides it",
        "No match for argument: kernel-alt",
    );
}

/// Not a dnf comparison: dnf has no per-package tolerance. The tolerated requirement is
/// reported with its chain, and the rest of the answer is what dnf would install without it.
#[test]
fn allow_unresolved_tolerates_and_reports() {
    let specs = [
        requires(pkg("xcp-ng-deps-8.3-1.noarch"), &["vendor-agent"]),
        requires(
            pkg("vendor-agent-1.0-1.x86_64"),
            &["libvendor.so.3", "helper"],
        ),
        pkg("helper-1.0-1.noarch"),
    ];
    let work = tempfile::tempdir().unwrap();
    let (_, candidates) = repositories(work.path(), &specs, Origin::Added);
    let universe = Universe::new(candidates);
    let targets = vec!["xcp-ng-deps".to_string()];
    let refused = depsolve::solve(
        &universe,
        &Request {
            targets: &targets,
            allow_unresolved: &[],
            prefer: Prefer::OnMedia,
        },
    )
    .unwrap_err();
    assert_eq!(refused.problems.len(), 1, "{refused}");
    let allow = vec!["vendor-agent".to_string()];
    let solution = depsolve::solve(
        &universe,
        &Request {
            targets: &targets,
            allow_unresolved: &allow,
            prefer: Prefer::OnMedia,
        },
    )
    .unwrap();
    let names: Vec<&str> = solution
        .install
        .iter()
        .map(|&i| universe.candidates()[i].record.name.as_str())
        .collect();
    assert_eq!(names, ["helper", "vendor-agent", "xcp-ng-deps"]);
    assert_eq!(solution.tolerated.len(), 1);
    assert_eq!(
        solution.tolerated[0].to_string(),
        "xcp-ng-deps-8.3-1 → vendor-agent-1.0-1 requires libvendor.so.3: nothing on the ISO provides it"
    );
}
