//! Repodata written by isoremix against the referees: createrepo_c (the same tree, every
//! package record compared field by field and the uncompressed XML byte by byte), dnf (query,
//! install, group install from the repository), and a check that reads primary.xml the way the
//! XCP-ng installer pairs location/size/checksum.

mod common;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use common::rpmbuild::{Spec, build_rpm, set_mtime};
use common::{require, run};
use isoremix::repo::{self, GroupsFile, PackageJob, Record};

/// The `time file` both generators get (createrepo_c takes the file mtime).
const FILE_TIME: u64 = 1_700_000_000;
/// The repomd timestamp we pass (SOURCE_DATE_EPOCH).
const EPOCH: u64 = 1_700_000_123;

fn specs() -> Vec<Spec> {
    let mut many_changes = String::new();
    for day in (1..=14).rev() {
        many_changes.push_str(&format!(
            "* Mon Jan {day:02} 2024 Dev Eloper <dev@example.org> - 1.0-{day}\n- change {day}\n"
        ));
    }
    vec![
        Spec {
            name: "hello",
            body: r#"Version: 1.2
Release: 3
Epoch: 2
Summary: A <test> & "package"
License: MIT
URL: https://example.org/x?a=1&b=2
Group: Applications/System
Vendor: Test Vendor
Packager: Tester <t@example.org>
BuildArch: noarch
Provides: hello-virtual = 1.0
Provides: /usr/bin/hello
Requires: /bin/sh
Requires(pre): /bin/sh
Requires(post): coreutils
Requires: /usr/bin/hello
Requires: /etc/hello.conf
Requires: /usr/share/hello/data
Requires: hello-virtual = 1.0
Conflicts: hello-old < 1:0.5-1
Obsoletes: hello-ancient <= 0.1
Recommends: hello-extras
Suggests: hello-docs
Supplements: hello-base
Enhances: hello-more
%description
Line one of the description.
Second line with <tags> & ampersand.
%install
mkdir -p %{buildroot}/usr/bin %{buildroot}/etc %{buildroot}/usr/share/hello %{buildroot}/var/lib/hello %{buildroot}/opt/x/sbin
echo '#!/bin/sh' > %{buildroot}/usr/bin/hello
chmod 755 %{buildroot}/usr/bin/hello
echo x > %{buildroot}/etc/hello.conf
echo data > %{buildroot}/usr/share/hello/data
echo tool > %{buildroot}/opt/x/sbin/tool
%files
/usr/bin/hello
%config /etc/hello.conf
%dir /usr/share/hello
/usr/share/hello/data
/opt/x/sbin/tool
%ghost /var/lib/hello/state
%dir /var/lib/hello
%changelog
* Tue Jan 02 2024 Alice <a@example.org> - 2:1.2-3
- newer entry
* Tue Jan 02 2024 Bob <b@example.org> - 2:1.2-2
- same day entry
* Mon Jan 01 2024 Carol <c@example.org>  - 1.0-1
- first & <old>
"#
            .to_string(),
        },
        Spec {
            name: "libby",
            body: format!(
                r#"Version: 1.0
Release: 14.el7
Summary: libc filtering, duplicate requires, long changelog
License: GPL
BuildArch: x86_64
AutoReqProv: no
Requires: libc.so.6()(64bit)
Requires: libc.so.6(GLIBC_2.14)(64bit)
Requires: libc.so.6(GLIBC_2.2.5)(64bit)
Requires: zlib >= 1.2
Requires: zlib >= 1.2
Requires: tzdata
%description
libby
%install
mkdir -p %{{buildroot}}/usr/lib64
echo lib > %{{buildroot}}/usr/lib64/libby.so.1
%files
/usr/lib64/libby.so.1
%changelog
{many_changes}"#
            ),
        },
        Spec {
            name: "simple",
            body: r#"Version: 0.1
Release: 1
Summary: installable without dependencies
License: MIT
BuildArch: noarch
AutoReqProv: no
%description
simple
%install
mkdir -p %{buildroot}/usr/share/simple
echo s > %{buildroot}/usr/share/simple/file
%files
/usr/share/simple/file
"#
            .to_string(),
        },
        Spec {
            name: "needs-simple",
            body: r#"Version: 3
Release: 1
Summary: pulls simple in
License: MIT
BuildArch: noarch
AutoReqProv: no
Requires: simple >= 0.1
%description
needs simple
%install
mkdir -p %{buildroot}/usr/share/needs-simple
echo n > %{buildroot}/usr/share/needs-simple/file
%files
/usr/share/needs-simple/file
"#
            .to_string(),
        },
    ]
}

const COMPS: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE comps PUBLIC "-//Red Hat, Inc.//DTD Comps info//EN" "comps.dtd">
<comps>
  <group>
    <id>base_group</id>
    <name>Base</name>
    <default>true</default>
    <description>Base group</description>
    <uservisible>true</uservisible>
    <packagelist>
      <packagereq type="mandatory">needs-simple</packagereq>
    </packagelist>
  </group>
</comps>
"#;

/// Builds the test packages into `tree/Packages`, all with mtime FILE_TIME.
fn build_tree(work: &Path) -> PathBuf {
    let tree = work.join("tree");
    fs::create_dir_all(tree.join("Packages")).unwrap();
    for spec in specs() {
        let rpm = build_rpm(&work.join("rpmbuild"), &spec);
        let dest = tree.join("Packages").join(rpm.file_name().unwrap());
        fs::copy(&rpm, &dest).unwrap();
        set_mtime(&dest, FILE_TIME);
    }
    let crated = tree.join("Packages/crated-4.5-2.x86_64.rpm");
    crate_built_package().write_file(&crated).unwrap();
    set_mtime(&crated, FILE_TIME);
    tree
}

/// A package made by another producer than rpmbuild: the `rpm` crate's builder.
fn crate_built_package() -> rpm::Package {
    use rpm::{Dependency, FileOptions, PackageBuilder};
    PackageBuilder::new("crated", "4.5", "MIT", "x86_64", "built with the rpm crate")
        .release("2")
        .epoch(1)
        .description("A package from a second producer.")
        .vendor("Crate Vendor")
        .build_host("cratehost")
        .with_file_contents(
            "#!/bin/sh\necho crated\n",
            FileOptions::new("/usr/sbin/crated").mode(0o100755),
        )
        .unwrap()
        .with_file_contents(
            "key = value\n",
            FileOptions::new("/etc/crated.conf").config(),
        )
        .unwrap()
        .with_file_contents("doc\n", FileOptions::new("/usr/share/crated/README"))
        .unwrap()
        .with_ghost(FileOptions::ghost("/var/log/crated.log"))
        .unwrap()
        .requires(Dependency::greater_eq("simple", "0.1"))
        .requires(Dependency::script_pre("simple"))
        .requires(Dependency::any("/usr/sbin/crated"))
        .provides(Dependency::eq("crated-api", "1:2-3"))
        .obsoletes(Dependency::less("crated-old", "4"))
        .add_changelog_entry(
            "Crate Dev <dev@example.org> - 4.5-2",
            "- second",
            1_690_000_000u32,
        )
        .add_changelog_entry(
            "Crate Dev <dev@example.org> - 4.5-1",
            "- first",
            1_680_000_000u32,
        )
        .build()
        .unwrap()
}

/// A job for every package of `tree/Packages`, sorted by location, each dated FILE_TIME.
fn package_jobs(tree: &Path) -> Vec<PackageJob> {
    let mut jobs: Vec<PackageJob> = fs::read_dir(tree.join("Packages"))
        .unwrap()
        .map(|e| {
            let path = e.unwrap().path();
            let name = path.file_name().unwrap().to_str().unwrap().to_string();
            PackageJob {
                path,
                location_href: format!("Packages/{name}"),
                time_file: FILE_TIME,
            }
        })
        .collect();
    jobs.sort_by(|a, b| a.location_href.cmp(&b.location_href));
    jobs
}

/// Reads every package of `tree/Packages` into records, createrepo_c's order.
fn our_records(tree: &Path) -> Vec<Record> {
    let jobs = package_jobs(tree);
    let mut records: Vec<Record> =
        repo::read_records(&jobs, 2, Some(repo::DEFAULT_CHANGELOG_LIMIT), |j| {
            fs::File::open(&j.path)
        })
        .into_iter()
        .collect::<Result<_, _>>()
        .unwrap();
    repo::sort_records(&mut records);
    records
}

fn write_ours(tree: &Path, out: &Path, groups: Option<&[u8]>) -> repo::RepoFiles {
    let records = our_records(tree);
    let files = repo::write_repodata(
        &records,
        groups.map(|xml| GroupsFile {
            name: "comps.xml",
            xml,
        }),
        EPOCH,
    )
    .unwrap();
    copy_dir(&tree.join("Packages"), &out.join("Packages"));
    files.write_to_dir(out).unwrap();
    files
}

fn copy_dir(from: &Path, to: &Path) {
    fs::create_dir_all(to).unwrap();
    for e in fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        fs::copy(e.path(), to.join(e.file_name())).unwrap();
    }
}

/// The uncompressed XML of `kind` in the repository at `root`, located through repomd.xml.
fn xml_of(root: &Path, kind: &str) -> Vec<u8> {
    let repomd = repo::parse_repomd(&fs::read(root.join("repodata/repomd.xml")).unwrap()).unwrap();
    let href = &repomd.record(kind).unwrap().location_href;
    let gz = fs::read(root.join(href)).unwrap();
    let mut out = Vec::new();
    std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(&gz[..]), &mut out).unwrap();
    out
}

#[test]
fn records_match_createrepo_c_field_by_field() {
    require("rpmbuild");
    require("createrepo_c");
    let work = tempfile::tempdir().unwrap();
    let tree = build_tree(work.path());

    let theirs = work.path().join("theirs");
    copy_dir(&tree.join("Packages"), &theirs.join("Packages"));
    for p in fs::read_dir(theirs.join("Packages")).unwrap() {
        set_mtime(&p.unwrap().path(), FILE_TIME);
    }
    fs::write(work.path().join("comps.xml"), COMPS).unwrap();
    run(Command::new("createrepo_c")
        .args(["--no-database", "--general-compress-type=gz", "--groupfile"])
        .arg(work.path().join("comps.xml"))
        .arg(&theirs));

    let ours_dir = work.path().join("ours");
    write_ours(&tree, &ours_dir, Some(COMPS.as_bytes()));

    // repomd.xml: same records in the same order; the same open checksums and sizes, and the
    // same checksum for the uncompressed comps. Documented differences: timestamps and
    // revision (createrepo_c uses the clock, we the given time), and the gzip bytes (so the
    // compressed checksum, size and file name of .gz files).
    let parse = |root: &Path| {
        repo::parse_repomd(&fs::read(root.join("repodata/repomd.xml")).unwrap()).unwrap()
    };
    let (their_md, our_md) = (parse(&theirs), parse(&ours_dir));
    let kinds = |md: &repo::Repomd| {
        md.records
            .iter()
            .map(|r| r.kind.clone())
            .collect::<Vec<_>>()
    };
    assert_eq!(
        kinds(&their_md),
        ["primary", "filelists", "other", "group", "group_gz"]
    );
    assert_eq!(kinds(&their_md), kinds(&our_md));
    for (t, o) in their_md.records.iter().zip(&our_md.records) {
        assert_eq!(t.checksum_type, o.checksum_type);
        assert_eq!(t.open_checksum, o.open_checksum, "{}", t.kind);
        assert_eq!(t.open_size, o.open_size, "{}", t.kind);
        if t.kind == "group" {
            assert_eq!(
                (&t.checksum, &t.location_href, t.size),
                (&o.checksum, &o.location_href, o.size)
            );
        }
        let suffix =
            |r: &repo::RepomdRecord| r.location_href.rsplit_once('-').unwrap().1.to_string();
        assert_eq!(suffix(t), suffix(o));
    }
    assert_eq!(our_md.revision.as_deref(), Some(EPOCH.to_string().as_str()));
    // The groups of createrepo_c's repository read back for keeping: name and bytes.
    let kept = repo::read_groups(&their_md, |href| Ok(fs::read(theirs.join(href)).unwrap()))
        .unwrap()
        .unwrap();
    assert_eq!(
        (kept.0.as_str(), kept.1.as_slice()),
        ("comps.xml", COMPS.as_bytes())
    );
    let mut gz_only = their_md.clone();
    gz_only.records.retain(|r| r.kind != "group");
    let kept = repo::read_groups(&gz_only, |href| Ok(fs::read(theirs.join(href)).unwrap()))
        .unwrap()
        .unwrap();
    assert_eq!(
        (kept.0.as_str(), kept.1.as_slice()),
        ("comps.xml", COMPS.as_bytes())
    );
    assert!(our_md.records.iter().all(|r| r.timestamp == EPOCH));

    let their_records = repo::read_repo_dir(&theirs).unwrap();
    let our_records = repo::read_repo_dir(&ours_dir).unwrap();
    assert_eq!(their_records.len(), 5);
    assert_eq!(their_records.len(), our_records.len());
    for (t, o) in their_records.iter().zip(&our_records) {
        // No documented differences: time_file is the mtime createrepo_c sees, which the
        // test sets to the value it passes to isoremix.
        assert_eq!(t, o, "record of {} differs", t.name);
    }
    // Stronger: the uncompressed XML is byte for byte what createrepo_c writes.
    for kind in ["primary", "filelists", "other"] {
        let (t, o) = (xml_of(&theirs, kind), xml_of(&ours_dir, kind));
        assert!(
            t == o,
            "{kind}.xml differs:\n--- createrepo_c\n{}\n--- isoremix\n{}",
            String::from_utf8_lossy(&t),
            String::from_utf8_lossy(&o)
        );
    }
    // The filtering rules really were exercised.
    let hello = our_records.iter().find(|r| r.name == "hello").unwrap();
    assert!(
        hello
            .requires
            .iter()
            .all(|d| d.name != "/usr/bin/hello" && d.name != "/etc/hello.conf")
    );
    assert!(
        hello
            .requires
            .iter()
            .any(|d| d.name == "coreutils" && d.pre)
    );
    let libby = our_records.iter().find(|r| r.name == "libby").unwrap();
    assert_eq!(libby.changelogs.len(), repo::DEFAULT_CHANGELOG_LIMIT);
    assert_eq!(
        libby
            .requires
            .iter()
            .filter(|d| d.name.starts_with("libc.so.6"))
            .count(),
        1
    );
}

/// The python check mirrors host-installer's media check: every location, size and
/// sha256 checksum of primary.xml, zipped in document order, each file verified.
const PAIRING_CHECK: &str = r#"
import gzip, hashlib, os, sys, xml.dom.minidom
root = sys.argv[1]
repomd = xml.dom.minidom.parse(os.path.join(root, "repodata/repomd.xml"))
href = None
for data in repomd.getElementsByTagName("data"):
    if data.getAttribute("type") == "primary":
        href = data.getElementsByTagName("location")[0].getAttribute("href")
doc = xml.dom.minidom.parseString(gzip.open(os.path.join(root, href)).read())
locations = [e.getAttribute("href") for e in doc.getElementsByTagName("location")]
sizes = [int(e.getAttribute("package")) for e in doc.getElementsByTagName("size")]
sums = [e.firstChild.data for e in doc.getElementsByTagName("checksum") if e.getAttribute("type") == "sha256"]
packages = len(doc.getElementsByTagName("package"))
assert len(locations) == len(sizes) == len(sums) == packages, (len(locations), len(sizes), len(sums), packages)
for loc, size, digest in zip(locations, sizes, sums):
    path = os.path.join(root, loc)
    assert os.path.getsize(path) == size, loc
    assert hashlib.sha256(open(path, "rb").read()).hexdigest() == digest, loc
print("ok", packages)
"#;

#[test]
fn installer_style_pairing_check_passes() {
    require("rpmbuild");
    require("python3");
    let work = tempfile::tempdir().unwrap();
    let tree = build_tree(work.path());
    let out = work.path().join("out");
    write_ours(&tree, &out, None);
    let stdout = run(Command::new("python3")
        .arg("-c")
        .arg(PAIRING_CHECK)
        .arg(&out));
    assert_eq!(stdout.trim(), "ok 5");
}

fn dnf(root: &Path, repo_dir: &Path) -> Command {
    let mut cmd = Command::new("dnf");
    cmd.arg(format!("--repofrompath=r,{}", repo_dir.display()))
        .args([
            "--repo=r",
            "--releasever=1",
            "--setopt=reposdir=/nonexistent",
            "--setopt=gpgcheck=0",
            "--setopt=install_weak_deps=0",
            "--nodocs",
            "-y",
            "-q",
        ])
        .arg(format!("--installroot={}", root.display()));
    cmd
}

/// Installs `what` with dnf from `repo_dir` into the root `root` (made if missing); returns the
/// names of the packages then installed there, sorted.
fn dnf_install(root: &Path, repo_dir: &Path, what: &str) -> Vec<String> {
    fs::create_dir_all(root).unwrap();
    run(dnf(root, repo_dir).args(["install", what]));
    let installed = run(Command::new("rpm")
        .arg(format!("--root={}", root.display()))
        .args(["-qa", "--qf", "%{name}\n"]));
    let mut names: Vec<String> = installed.lines().map(str::to_string).collect();
    names.sort();
    names
}

#[test]
fn dnf_queries_and_installs_from_our_repo() {
    require("rpmbuild");
    require("dnf");
    require("rpm");
    let work = tempfile::tempdir().unwrap();
    let tree = build_tree(work.path());
    let out = work.path().join("out");
    write_ours(&tree, &out, Some(COMPS.as_bytes()));

    let root = work.path().join("root");
    fs::create_dir_all(&root).unwrap();
    let listed = run(dnf(&root, &out).args([
        "repoquery",
        "--qf",
        "%{name}-%{epoch}:%{version}-%{release}.%{arch}",
    ]));
    let mut lines: Vec<&str> = listed.lines().filter(|l| !l.trim().is_empty()).collect();
    lines.sort();
    assert_eq!(
        lines,
        vec![
            "crated-1:4.5-2.x86_64",
            "hello-2:1.2-3.noarch",
            "libby-0:1.0-14.el7.x86_64",
            "needs-simple-0:3-1.noarch",
            "simple-0:0.1-1.noarch"
        ]
    );
    let whatprovides = run(dnf(&root, &out).args([
        "repoquery",
        "--qf",
        "%{name}",
        "--whatprovides",
        "/usr/bin/hello",
    ]));
    assert_eq!(whatprovides.trim(), "hello");

    // A dependency is resolved from our metadata and the package installs.
    assert_eq!(
        dnf_install(&root, &out, "needs-simple"),
        vec!["needs-simple", "simple"]
    );
}

#[test]
fn dnf_installs_a_comps_group_from_our_repo() {
    require("rpmbuild");
    require("dnf");
    require("rpm");
    let work = tempfile::tempdir().unwrap();
    let tree = build_tree(work.path());
    let out = work.path().join("out");
    let files = write_ours(&tree, &out, Some(COMPS.as_bytes()));
    let group = files.repomd.record("group").unwrap();
    assert_eq!(
        fs::read(out.join(&group.location_href)).unwrap(),
        COMPS.as_bytes()
    );
    assert!(files.repomd.record("group_gz").is_some());

    let root = work.path().join("root");
    fs::create_dir_all(&root).unwrap();
    run(dnf(&root, &out).args(["install", "@base_group"]));
    let installed = run(Command::new("rpm")
        .arg(format!("--root={}", root.display()))
        .args(["-q", "needs-simple", "simple"]));
    assert!(installed.contains("needs-simple-3-1"), "{installed}");
}

#[test]
fn dnf_installs_a_package_added_to_a_group_by_comps_edit() {
    require("rpmbuild");
    require("dnf");
    require("rpm");
    let work = tempfile::tempdir().unwrap();
    let tree = build_tree(work.path());
    let out = work.path().join("out");
    // hello needs /bin/sh and coreutils that this repository lacks; crated only needs simple.
    let edited = repo::add_packages(
        COMPS.as_bytes(),
        "base_group",
        &["crated"],
        repo::ReqKind::Mandatory,
    )
    .unwrap();
    // Every original byte is kept: the edit only inserted one line.
    let added = "      <packagereq type=\"mandatory\">crated</packagereq>\n";
    assert_eq!(
        String::from_utf8(edited.clone())
            .unwrap()
            .replace(added, ""),
        COMPS
    );
    write_ours(&tree, &out, Some(&edited));

    let root = work.path().join("root");
    assert_eq!(
        dnf_install(&root, &out, "@base_group"),
        vec!["crated", "needs-simple", "simple"]
    );
}

#[test]
fn dnf_installs_the_drivers_group_of_a_driver_disk_repo() {
    require("rpmbuild");
    require("dnf");
    require("rpm");
    let work = tempfile::tempdir().unwrap();
    let packages = work.path().join("dd/Packages");
    fs::create_dir_all(&packages).unwrap();
    for name in ["update-mydriver", "mydriver-module"] {
        let spec = Spec {
            name,
            body: format!(
                "Version: 1.0\nRelease: 1\nSummary: {name}\nLicense: GPL\nBuildArch: noarch\nAutoReqProv: no\n\
%description\n{name}\n%install\nmkdir -p %{{buildroot}}/usr/share/{name}\necho x > %{{buildroot}}/usr/share/{name}/f\n\
%files\n/usr/share/{name}/f\n"
            ),
        };
        let rpm = build_rpm(&work.path().join("b"), &spec);
        fs::copy(&rpm, packages.join(rpm.file_name().unwrap())).unwrap();
    }
    let comps = repo::driver_disk_comps("update-mydriver", &["mydriver-module"]).unwrap();
    let groups = repo::parse_groups(&comps).unwrap();
    assert_eq!(
        groups.iter().map(|g| g.id.as_str()).collect::<Vec<_>>(),
        ["update", "drivers"]
    );

    let dd = work.path().join("dd");
    let records = our_records(&dd);
    let files = repo::write_repodata(
        &records,
        Some(GroupsFile {
            name: "groups.xml",
            xml: &comps,
        }),
        EPOCH,
    )
    .unwrap();
    files.write_to_dir(&dd).unwrap();

    for (group, expected) in [
        ("@update", vec!["update-mydriver"]),
        ("@drivers", vec!["mydriver-module", "update-mydriver"]),
    ] {
        let root = work.path().join(format!("root{}", &group[1..]));
        assert_eq!(dnf_install(&root, &dd, group), expected, "{group}");
    }
}

#[test]
fn output_is_deterministic_whatever_the_thread_count() {
    require("rpmbuild");
    let work = tempfile::tempdir().unwrap();
    let tree = build_tree(work.path());
    let jobs = package_jobs(&tree);
    let run_with = |threads| {
        let mut records: Vec<Record> =
            repo::read_records(&jobs, threads, Some(10), |j| fs::File::open(&j.path))
                .into_iter()
                .collect::<Result<_, _>>()
                .unwrap();
        repo::sort_records(&mut records);
        repo::write_repodata(
            &records,
            Some(GroupsFile {
                name: "comps.xml",
                xml: COMPS.as_bytes(),
            }),
            EPOCH,
        )
        .unwrap()
    };
    let one = run_with(1);
    assert_eq!(one, run_with(2));
    assert_eq!(one, run_with(8));
    let names: Vec<&str> = one.files.iter().map(|f| f.path.as_str()).collect();
    assert_eq!(names.last(), Some(&"repodata/repomd.xml"));
    assert!(names.iter().all(|n| n.starts_with("repodata/")));
    let repomd = String::from_utf8(one.files.last().unwrap().bytes.clone()).unwrap();
    assert!(repomd.contains(&format!("<revision>{EPOCH}</revision>")));
    assert_eq!(
        repomd
            .matches(&format!("<timestamp>{EPOCH}</timestamp>"))
            .count(),
        5
    );
}

#[test]
fn a_thousand_unchanged_packages_are_reused_without_reading_them() {
    require("rpmbuild");
    require("dnf");
    let work = tempfile::tempdir().unwrap();
    let tree = build_tree(work.path());
    let template = our_records(&tree)
        .into_iter()
        .find(|r| r.name == "hello")
        .unwrap();
    let mut many: Vec<Record> = (0..1000)
        .map(|i| {
            let mut r = template.clone();
            r.name = format!("pkg{i:04}");
            r.location_href = format!("Packages/pkg{i:04}-1.2-3.noarch.rpm");
            r.pkgid = format!("{:064x}", i + 1);
            r.size_package += i;
            r.provides[1].name = r.name.clone();
            r
        })
        .collect();
    repo::sort_records(&mut many);
    let out = work.path().join("big");
    repo::write_repodata(&many, None, EPOCH)
        .unwrap()
        .write_to_dir(&out)
        .unwrap();

    let started = std::time::Instant::now();
    let index = repo::ReuseIndex::new(repo::read_repo_dir(&out).unwrap());
    let inputs: Vec<repo::PackageInput> = many
        .iter()
        .map(|r| repo::PackageInput {
            job: PackageJob {
                path: out.join(&r.location_href),
                location_href: r.location_href.clone(),
                time_file: 0,
            },
            size: r.size_package,
            sha256: Some(r.pkgid.clone()),
        })
        .collect();
    // No package file exists: any attempt to read one fails the collection.
    let (records, stats) = repo::collect_records(&inputs, &index, 2, Some(10), |_| {
        Err::<fs::File, _>(std::io::Error::other("a reused package must not be opened"))
    })
    .unwrap();
    let elapsed = started.elapsed();
    assert_eq!((stats.reused, stats.read), (1000, 0));
    assert_eq!(records, many);
    assert!(
        elapsed.as_secs() < 20,
        "reuse of 1000 records took {elapsed:?}"
    );

    // The referee reads the big metadata too.
    let root = work.path().join("root");
    fs::create_dir_all(&root).unwrap();
    let listed = run(dnf(&root, &out).args(["repoquery", "--qf", "%{name}"]));
    assert_eq!(
        listed.lines().filter(|l| l.starts_with("pkg")).count(),
        1000
    );
}

#[test]
fn reused_records_equal_fresh_ones_and_changed_packages_are_not_reused() {
    require("rpmbuild");
    let work = tempfile::tempdir().unwrap();
    let tree = build_tree(work.path());
    let out = work.path().join("out");
    write_ours(&tree, &out, None);

    let fresh = our_records(&tree);
    let index = repo::ReuseIndex::new(repo::read_repo_dir(&out).unwrap());
    assert_eq!(index.len(), fresh.len());
    for r in &fresh {
        let reused = index
            .lookup(&r.location_href, r.size_package, Some(&r.pkgid))
            .expect("unchanged package is reused");
        assert_eq!(reused, r);
        // cheap path: name and size only
        assert!(
            index
                .lookup(&r.location_href, r.size_package, None)
                .is_some()
        );
    }
    // A package rebuilt with other content: size or checksum differ, so it is read again.
    let simple = fresh.iter().find(|r| r.name == "simple").unwrap();
    assert!(
        index
            .lookup(&simple.location_href, simple.size_package + 1, None)
            .is_none()
    );
    assert!(
        index
            .lookup(
                &simple.location_href,
                simple.size_package,
                Some(&"0".repeat(64))
            )
            .is_none()
    );
    assert!(
        index
            .lookup("Packages/other.rpm", simple.size_package, None)
            .is_none()
    );

    // The pipeline helper reuses unchanged packages and reads the changed one.
    let inputs: Vec<repo::PackageInput> = fresh
        .iter()
        .map(|r| repo::PackageInput {
            job: PackageJob {
                path: tree.join(&r.location_href),
                location_href: r.location_href.clone(),
                time_file: FILE_TIME,
            },
            size: if r.name == "simple" {
                r.size_package + 1
            } else {
                r.size_package
            },
            sha256: None,
        })
        .collect();
    let (collected, stats) =
        repo::collect_records(&inputs, &index, 2, Some(10), |j| fs::File::open(&j.path)).unwrap();
    assert_eq!((stats.reused, stats.read), (fresh.len() - 1, 1));
    assert_eq!(collected, fresh);

    // Writing from reused records gives the same bytes as writing from fresh ones.
    let mut reused: Vec<Record> = fresh
        .iter()
        .map(|r| {
            index
                .lookup(&r.location_href, r.size_package, None)
                .unwrap()
                .clone()
        })
        .collect();
    repo::sort_records(&mut reused);
    let a = repo::write_repodata(&fresh, None, EPOCH).unwrap();
    let b = repo::write_repodata(&reused, None, EPOCH).unwrap();
    assert_eq!(a, b);
}
