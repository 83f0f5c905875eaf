//! The `[packages]`, `[treeinfo]` and `[signing]` steps of `isoremix build`, end to end, against
//! referees: createrepo_c (run on the same extracted tree, every package record of primary,
//! filelists and other compared field by field), dnf (queries the new repository and installs
//! the meta-package or the comps group into a temporary root, with gpgcheck on when signed),
//! rpm -K (package signatures) and gpg (repomd.xml.asc). Also: the package the demo profile
//! builds (`[[packages.build]]`) is in the repository as its spec says, createrepo_c agreeing.

mod common;

use std::fs;
use std::path::{Path, PathBuf};

use isoremix::rpm::{FileSpec, PackageSpec, build_package};

fn manifest(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(rel)
}

// ---- end to end: builds checked by the referees ----

use std::collections::BTreeSet;
use std::process::Command;

use common::{groups_source, isoremix, require, run, run_all, xorriso_extract};
use isoremix::repo::{self, Record};
use isoremix::rpm::Dep;

/// SOURCE_DATE_EPOCH of every build here.
const EPOCH: u64 = 1_700_000_000;

/// A package that provides `/bin/sh` (the sample's tools require it), so dnf can resolve the
/// whole meta-package in an empty root.
fn sh_stub(dir: &Path) -> PathBuf {
    let mut s = PackageSpec::new(
        "sh-stub",
        "1.0",
        "1",
        "noarch",
        common::package::TIME,
        "test.invalid",
    );
    s.summary = "Provides /bin/sh for the test root".into();
    s.description = s.summary.clone();
    s.provides.push(Dep::any("/bin/sh"));
    s.files.push(FileSpec::new(
        "/usr/share/sh-stub/README",
        0o644,
        common::package::TIME,
        b"stub\n".to_vec(),
    ));
    let mut bytes = Vec::new();
    build_package(&s, &mut bytes).unwrap();
    let path = dir.join(s.file_name());
    fs::write(&path, bytes).unwrap();
    path
}

/// `rpms/` with the demo package and the /bin/sh stub.
fn rpms(work: &Path) {
    let dir = work.join("rpms");
    common::demo::demo_rpm(&dir);
    sh_stub(&dir);
}

fn sample(work: &Path) -> PathBuf {
    let iso = work.join("source.iso");
    run(isoremix().arg("sample").arg(&iso));
    iso
}

/// Runs `isoremix build` on `profile` (written in `work`); returns stdout and stderr.
fn build(work: &Path, name: &str, profile: &str) -> String {
    let path = work.join(name);
    fs::write(&path, profile).unwrap();
    run_all(
        isoremix()
            .env("SOURCE_DATE_EPOCH", EPOCH.to_string())
            .arg("build")
            .arg(&path),
    )
}

fn extract(iso: &Path, dir: &Path) {
    xorriso_extract(iso, dir);
    run(Command::new("chmod").arg("-R").arg("u+w").arg(dir));
}

/// dnf 4 reading the repository at `tree` into the empty root `root`.
fn dnf(root: &Path, tree: &Path, gpgkey: Option<&Path>) -> Command {
    let mut cmd = Command::new("dnf");
    cmd.arg(format!("--repofrompath=r,{}", tree.display()))
        .args([
            "--repo=r",
            "--releasever=1",
            "--setopt=reposdir=/nonexistent",
            "--setopt=install_weak_deps=0",
            "--nodocs",
            "-y",
            "-q",
        ]);
    match gpgkey {
        Some(key) => {
            cmd.args(["--setopt=r.gpgcheck=1", "--setopt=r.repo_gpgcheck=1"])
                .arg(format!("--setopt=r.gpgkey=file://{}", key.display()));
        }
        None => {
            cmd.arg("--setopt=gpgcheck=0");
        }
    }
    cmd.arg(format!("--installroot={}", root.display()));
    cmd
}

fn installed(root: &Path) -> BTreeSet<String> {
    run(Command::new("rpm")
        .arg(format!("--root={}", root.display()))
        .args(["-qa", "--qf", "%{name}\\n"]))
    .lines()
    .filter(|l| !l.starts_with("gpg-pubkey"))
    .map(str::to_string)
    .collect()
}

/// Runs createrepo_c on a copy of `tree`'s packages (with `groups` as its groups file) and
/// compares every package record of primary, filelists and other field by field.
/// Documented difference: `time file` (createrepo_c takes each file's mtime; isoremix keeps
/// the source's value for reused records and uses SOURCE_DATE_EPOCH for new ones).
fn compare_with_createrepo_c(work: &Path, tree: &Path, groups: Option<&[u8]>) {
    require("createrepo_c");
    let theirs = work.join("createrepo_c");
    fs::create_dir_all(theirs.join("Packages")).unwrap();
    for e in fs::read_dir(tree.join("Packages")).unwrap() {
        let e = e.unwrap();
        fs::copy(e.path(), theirs.join("Packages").join(e.file_name())).unwrap();
    }
    let mut cmd = Command::new("createrepo_c");
    cmd.args(["-q", "--no-database", "--general-compress-type=gz"]);
    if let Some(g) = groups {
        let path = work.join("their-groups.xml");
        fs::write(&path, g).unwrap();
        cmd.arg("-g").arg(path);
    }
    run(cmd.arg(&theirs));
    let by_location = |records: Vec<Record>| -> Vec<Record> {
        let mut r = records;
        r.sort_by(|a, b| a.location_href.cmp(&b.location_href));
        r
    };
    let their = by_location(repo::read_repo_dir(&theirs).unwrap());
    let ours = by_location(repo::read_repo_dir(tree).unwrap());
    assert_eq!(
        their.iter().map(|r| &r.location_href).collect::<Vec<_>>(),
        ours.iter().map(|r| &r.location_href).collect::<Vec<_>>()
    );
    for (mut t, o) in their.into_iter().zip(ours) {
        t.time_file = o.time_file;
        assert_eq!(t, o, "record of {} differs from createrepo_c's", o.name);
    }
    let kinds = |root: &Path| {
        let md = repo::parse_repomd(&fs::read(root.join("repodata/repomd.xml")).unwrap()).unwrap();
        md.records
            .into_iter()
            .map(|r| (r.kind, r.open_checksum.unwrap_or(r.checksum)))
            .collect::<Vec<_>>()
    };
    let (t, o) = (kinds(&theirs), kinds(tree));
    assert_eq!(
        t.iter().map(|x| &x.0).collect::<Vec<_>>(),
        o.iter().map(|x| &x.0).collect::<Vec<_>>()
    );
    // The comps file is the same bytes in both.
    for ((kind, a), (_, b)) in t.iter().zip(&o) {
        if kind.starts_with("group") {
            assert_eq!(a, b, "{kind}");
        }
    }
}

/// The installer's media check (host-installer pairs every location, size and sha256 of
/// primary.xml in document order and checks each file).
const PAIRING_CHECK: &str = r#"
import gzip, hashlib, os, sys, xml.dom.minidom
root = sys.argv[1]
repomd = xml.dom.minidom.parse(os.path.join(root, "repodata/repomd.xml"))
href = [d for d in repomd.getElementsByTagName("data") if d.getAttribute("type") == "primary"][0] \
    .getElementsByTagName("location")[0].getAttribute("href")
doc = xml.dom.minidom.parseString(gzip.open(os.path.join(root, href)).read())
locations = [e.getAttribute("href") for e in doc.getElementsByTagName("location")]
sizes = [int(e.getAttribute("package")) for e in doc.getElementsByTagName("size")]
sums = [e.firstChild.data for e in doc.getElementsByTagName("checksum") if e.getAttribute("type") == "sha256"]
assert len(locations) == len(sizes) == len(sums) == len(doc.getElementsByTagName("package"))
for loc, size, digest in zip(locations, sizes, sums):
    path = os.path.join(root, loc)
    assert os.path.getsize(path) == size, loc
    assert hashlib.sha256(open(path, "rb").read()).hexdigest() == digest, loc
print("ok", len(locations))
"#;

fn pairing_check(tree: &Path) -> String {
    require("python3");
    run(Command::new("python3")
        .arg("-c")
        .arg(PAIRING_CHECK)
        .arg(tree))
    .trim()
    .to_string()
}

fn treeinfo(tree: &Path) -> isoremix::treeinfo::TreeInfo {
    isoremix::treeinfo::TreeInfo::parse(&fs::read_to_string(tree.join(".treeinfo")).unwrap())
        .unwrap()
}

#[test]
fn meta_package_source_installs_added_packages_with_dnf() {
    for tool in ["dnf", "rpm", "createrepo_c"] {
        require(tool);
    }
    let work = tempfile::tempdir().unwrap();
    let work = work.path();
    sample(work);
    rpms(work);
    let log = build(
        work,
        "p.toml",
        "[source]\niso = \"source.iso\"\n[output]\niso = \"out.iso\"\n\
         [packages]\nadd = [\"rpms/*.rpm\"]\nremove = [\"sample-docs\"]\n\
         [treeinfo]\nbuild_number = \"remix-7\"\n",
    );
    assert!(log.contains("6 records reused, 0 read"), "{log}");
    assert!(
        log.contains("the installer installs the meta-package xcp-ng-deps"),
        "{log}"
    );
    assert!(
        log.contains("warning: packages changed without a [signing] key"),
        "{log}"
    );
    let tree = work.join("tree");
    extract(&work.join("out.iso"), &tree);

    // Unsigned: the checks are off in every installer entry, the stale signature is gone.
    let isolinux = fs::read_to_string(tree.join("boot/isolinux/isolinux.cfg")).unwrap();
    let grub = fs::read_to_string(tree.join("EFI/xenserver/grub.cfg")).unwrap();
    for cfg in [&isolinux, &grub] {
        assert!(
            cfg.contains("no-gpgcheck") && cfg.contains("no-repo-gpgcheck"),
            "{cfg}"
        );
    }
    assert!(!tree.join("repodata/repomd.xml.asc").exists());

    // The new meta-package release requires the added packages, not the removed one.
    let metas: Vec<_> = fs::read_dir(tree.join("Packages"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.starts_with("xcp-ng-deps-"))
        .collect();
    assert_eq!(metas, ["xcp-ng-deps-8.3-1.xcpng8.3.remix1.noarch.rpm"]);
    let db = work.join("db");
    fs::create_dir_all(&db).unwrap();
    let requires = run(Command::new("rpm")
        .arg("--dbpath")
        .arg(&db)
        .args(["-qp", "--requires"])
        .arg(tree.join("Packages").join(&metas[0])));
    let requires: BTreeSet<&str> = requires
        .lines()
        .map(|l| l.split(' ').next().unwrap())
        .collect();
    assert!(
        requires.contains("site-tools") && requires.contains("sh-stub"),
        "{requires:?}"
    );
    assert!(!requires.contains("sample-docs"), "{requires:?}");
    run(Command::new("rpm")
        .arg("--dbpath")
        .arg(&db)
        .arg("-K")
        .arg("--nosignature")
        .arg(tree.join("Packages").join(&metas[0])));

    compare_with_createrepo_c(work, &tree, None);
    assert_eq!(pairing_check(&tree), "ok 7");
    let shown = run(isoremix().arg("inspect").arg(work.join("out.iso")));
    assert!(shown.contains("packages:    7 in repodata"), "{shown}");
    assert!(
        shown.contains("installs:  meta-package xcp-ng-deps"),
        "{shown}"
    );
    assert!(
        shown.contains("site-tools, sh-stub") || shown.contains("sh-stub, site-tools"),
        "{shown}"
    );
    assert!(shown.contains("repomd.xml not signed"), "{shown}");
    let t = treeinfo(&tree);
    assert_eq!(
        t.get("general", "timestamp"),
        Some(EPOCH.to_string().as_str())
    );
    assert_eq!(t.get("build", "number"), Some("remix-7"));

    // dnf sees the new repository and installs the meta-package with the added packages.
    let root = work.join("root");
    fs::create_dir_all(&root).unwrap();
    let names: BTreeSet<String> =
        run(dnf(&root, &tree, None).args(["repoquery", "--qf", "%{name}"]))
            .lines()
            .filter(|l| !l.is_empty())
            .map(str::to_string)
            .collect();
    let expected: BTreeSet<String> = [
        "sample-tools",
        "sh-stub",
        "site-tools",
        "xcp-ng-deps",
        "xcp-ng-release",
    ]
    .map(String::from)
    .into();
    let mut offered = expected.clone();
    offered.extend(["bash", "kernel-alt"].map(String::from));
    assert_eq!(names, offered);
    run(dnf(&root, &tree, None).args(["install", "xcp-ng-deps"]));
    // sh-stub, now required, provides /bin/sh: bash is not needed.
    assert_eq!(installed(&root), expected);

    // A second run with nothing to change reuses every record and reads no package.
    let log = build(
        work,
        "again.toml",
        "[source]\niso = \"out.iso\"\n[output]\niso = \"again.iso\"\n[packages]\ninstall = [\"site-tools\"]\n",
    );
    assert!(
        log.contains("7 source packages (7 records reused, 0 read)"),
        "{log}"
    );
    assert!(
        log.contains("no package changed: the source's repodata is kept"),
        "{log}"
    );
    assert!(!log.contains("warning: packages changed"), "{log}");
    assert!(
        !log.contains("xcp-ng-deps release"),
        "already required: no new release\n{log}"
    );
}

/// A throwaway GnuPG home with a generated RSA key protected by a passphrase; returns the
/// armored secret key's path.
fn test_key(work: &Path) -> PathBuf {
    common::gpg::test_key(work, "Packages Test <pk@example.org>", "rsa3072", "s3cret").secret_file
}

#[test]
fn signed_build_passes_rpm_k_gpg_and_dnf_with_gpgcheck() {
    for tool in ["dnf", "rpm", "rpmkeys", "gpg"] {
        require(tool);
    }
    let work = tempfile::tempdir().unwrap();
    let work = work.path();
    sample(work);
    rpms(work);
    test_key(work);
    let out = isoremix()
        .env("SOURCE_DATE_EPOCH", EPOCH.to_string())
        .env("PK_TEST_PASSPHRASE", "s3cret")
        .arg("build")
        .arg({
            let p = work.join("signed.toml");
            fs::write(
                &p,
                "[source]\niso = \"source.iso\"\n[output]\niso = \"signed.iso\"\n\
                 [packages]\nadd = [\"rpms/*.rpm\"]\nremove = [\"sample-docs\"]\n\
                 [signing]\nkey = \"signing.asc\"\npassphrase_env = \"PK_TEST_PASSPHRASE\"\n",
            )
            .unwrap();
            p
        })
        .output()
        .unwrap();
    let log = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{log}");
    assert!(!log.contains("warning: packages changed"), "{log}");
    let tree = work.join("tree");
    extract(&work.join("signed.iso"), &tree);

    // .treeinfo names our key first; the file is on the image.
    let t = treeinfo(&tree);
    let keys = t.options("keys");
    assert!(keys[0].1.starts_with("RPM-GPG-KEY-isoremix-"), "{keys:?}");
    assert_eq!(keys[1].1, "RPM-GPG-KEY-xcpng");
    let key_file = tree.join(&keys[0].1);
    assert!(key_file.is_file());
    // Signatures stay on: no boot argument turns them off.
    let isolinux = fs::read_to_string(tree.join("boot/isolinux/isolinux.cfg")).unwrap();
    assert!(!isolinux.contains("no-gpgcheck"), "{isolinux}");

    // rpm -K accepts every package's signature with the key from the image.
    let db = work.join("keydb");
    fs::create_dir_all(&db).unwrap();
    run(Command::new("rpmkeys")
        .arg("--dbpath")
        .arg(&db)
        .arg("--import")
        .arg(&key_file));
    for e in fs::read_dir(tree.join("Packages")).unwrap() {
        let path = e.unwrap().path();
        let k = run_all(
            Command::new("rpm")
                .arg("--dbpath")
                .arg(&db)
                .arg("-K")
                .arg(&path),
        );
        assert!(k.contains("signatures OK"), "{}: {k}", path.display());
    }
    // gpg accepts repomd.xml.asc.
    let home = work.join("verify-home");
    fs::create_dir_all(&home).unwrap();
    run(Command::new("chmod").arg("700").arg(&home));
    run_all(
        Command::new("gpg")
            .env("GNUPGHOME", &home)
            .args(["--batch", "--import"])
            .arg(&key_file),
    );
    run_all(
        Command::new("gpg")
            .env("GNUPGHOME", &home)
            .args(["--batch", "--verify"])
            .arg(tree.join("repodata/repomd.xml.asc"))
            .arg(tree.join("repodata/repomd.xml")),
    );
    // dnf with gpgcheck and repo_gpgcheck installs the meta-package.
    let root = work.join("root");
    fs::create_dir_all(&root).unwrap();
    run(dnf(&root, &tree, Some(&key_file)).args(["install", "xcp-ng-deps"]));
    assert!(installed(&root).contains("site-tools"));
    assert_eq!(pairing_check(&tree), "ok 7");
    let shown = run(isoremix().arg("inspect").arg(work.join("signed.iso")));
    assert!(
        shown.contains("7 of 7 packages signed, repomd.xml signed (repomd.xml.asc), keys: RPM-GPG-KEY-isoremix-"),
        "{shown}"
    );
}

#[test]
fn groups_source_gets_the_package_in_its_comps_group() {
    for tool in ["dnf", "rpm", "createrepo_c"] {
        require(tool);
    }
    let work = tempfile::tempdir().unwrap();
    let work = work.path();
    let src = groups_source(work, common::XENSERVER_COMPS.as_bytes());
    fs::rename(&src, work.join("source.iso")).unwrap();
    rpms(work);
    fs::remove_file(work.join("rpms/sh-stub-1.0-1.noarch.rpm")).unwrap();
    let log = build(
        work,
        "g.toml",
        "[source]\niso = \"source.iso\"\n[output]\niso = \"out.iso\"\n[packages]\nadd = [\"rpms/*.rpm\"]\n",
    );
    assert!(
        log.contains("the installer installs the comps group xenserver_base"),
        "{log}"
    );
    assert!(log.contains("3 records reused, 0 read"), "{log}");
    let tree = work.join("tree");
    extract(&work.join("out.iso"), &tree);

    // The comps gained one line; every other byte is kept.
    let md = repo::parse_repomd(&fs::read(tree.join("repodata/repomd.xml")).unwrap()).unwrap();
    let group = md.record("group").expect("group kept");
    assert!(md.record("group_gz").is_some());
    let comps = fs::read_to_string(tree.join(&group.location_href)).unwrap();
    let expected = common::XENSERVER_COMPS.replace(
        "base-tool</packagereq>\n",
        "base-tool</packagereq>\n      <packagereq type=\"mandatory\">site-tools</packagereq>\n",
    );
    assert_eq!(comps, expected);
    compare_with_createrepo_c(work, &tree, Some(expected.as_bytes()));
    assert_eq!(pairing_check(&tree), "ok 4");
    // Nothing asked .treeinfo to change: it is kept as it was, timestamp included.
    let t = treeinfo(&tree);
    assert_eq!(t.get("vendor-notes", "kept"), Some("yes"));
    assert_eq!(t.get("general", "timestamp"), Some("1600000000"));

    let root = work.join("root");
    fs::create_dir_all(&root).unwrap();
    run(dnf(&root, &tree, None).args(["install", "@xenserver_base"]));
    let got = installed(&root);
    assert!(
        got.contains("site-tools") && got.contains("base-tool"),
        "{got:?}"
    );
}

#[test]
fn with_an_answer_file_the_checks_are_turned_off_in_it_and_on_the_other_entries_command_line() {
    require("bzip2");
    let work = tempfile::tempdir().unwrap();
    let work = work.path();
    sample(work);
    rpms(work);
    fs::write(
        work.join("answer.xml"),
        "<?xml version=\"1.0\"?>\n<installation mode=\"fresh\">\n  <primary-disk>sda</primary-disk>\n</installation>\n",
    )
    .unwrap();
    build(
        work,
        "a.toml",
        "[source]\niso = \"source.iso\"\n[output]\niso = \"out.iso\"\n\
         [installer]\nanswerfile = \"answer.xml\"\n[packages]\nadd = [\"rpms/*.rpm\"]\n",
    );
    let tree = work.join("tree");
    extract(&work.join("out.iso"), &tree);
    // Entries that read the answer file have no checks-off argument (the installer refuses
    // both); the shell entry, interactive, has them.
    let isolinux = fs::read_to_string(tree.join("boot/isolinux/isolinux.cfg")).unwrap();
    for line in isolinux.lines().filter(|l| l.contains(" --- ")) {
        assert_ne!(
            line.contains("answerfile="),
            line.contains("no-gpgcheck no-repo-gpgcheck"),
            "{line}"
        );
        assert_eq!(
            line.contains("answerfile="),
            !line.contains("bash-shell"),
            "{line}"
        );
    }
    // install.img carries the edited answer file: each of its bzip2 segments (the base and the
    // appended overlay, at the offsets `inspect` reports) decompressed by bzip2 itself.
    let json = run(isoremix()
        .arg("inspect")
        .arg("--json")
        .arg(work.join("out.iso")));
    let info: serde_json::Value = serde_json::from_str(&json).unwrap();
    let image = fs::read(tree.join("install.img")).unwrap();
    let mut text = String::new();
    for seg in info["install_img"]["segments"].as_array().unwrap() {
        let (at, len) = (
            seg["offset"].as_u64().unwrap() as usize,
            seg["stored"].as_u64().unwrap() as usize,
        );
        let part = work.join(format!("segment-{at}.bz2"));
        fs::write(&part, &image[at..at + len]).unwrap();
        let out = Command::new("bzip2")
            .arg("-dc")
            .arg(&part)
            .output()
            .unwrap();
        assert!(out.status.success(), "bzip2 refused the segment at {at}");
        text.push_str(&String::from_utf8_lossy(&out.stdout));
    }
    assert!(
        text.contains("<installation mode=\"fresh\" gpgcheck=\"false\" repo-gpgcheck=\"false\">"),
        "the embedded answer file lacks the gpgcheck attributes"
    );
}

/// A source whose packages another key signed: they stay as they are, the new ones are signed
/// with the profile's key, and the key file the installer imports carries both keys, so dnf
/// with gpgcheck installs the mix.
#[test]
fn packages_signed_by_the_source_key_still_verify_after_a_signed_remaster() {
    for tool in ["dnf", "rpm", "gpg"] {
        require(tool);
    }
    let work = tempfile::tempdir().unwrap();
    let work = work.path();
    sample(work);
    rpms(work);
    let first = work.join("first");
    fs::create_dir_all(&first).unwrap();
    let key_a = test_key(&first);
    let key_b = test_key(work);
    let build_signed = |name: &str, profile: String| {
        let p = work.join(name);
        fs::write(&p, profile).unwrap();
        run_all(
            isoremix()
                .env("SOURCE_DATE_EPOCH", EPOCH.to_string())
                .env("PK_TEST_PASSPHRASE", "s3cret")
                .arg("build")
                .arg(&p),
        )
    };
    build_signed(
        "a.toml",
        format!(
            "[source]\niso = \"source.iso\"\n[output]\niso = \"a.iso\"\n[packages]\nadd = [\"rpms/sh-stub-1.0-1.noarch.rpm\"]\n\
             [signing]\nkey = \"{}\"\npassphrase_env = \"PK_TEST_PASSPHRASE\"\n",
            key_a.display()
        ),
    );
    let log = build_signed(
        "b.toml",
        format!(
            "[source]\niso = \"a.iso\"\n[output]\niso = \"b.iso\"\n[packages]\nadd = [\"rpms/site-tools-1.0-1.noarch.rpm\"]\n\
             [signing]\nkey = \"{}\"\npassphrase_env = \"PK_TEST_PASSPHRASE\"\n",
            key_b.display()
        ),
    );
    assert!(log.contains("also carries the source's key"), "{log}");
    // Only the added package and the new meta-package release were signed again.
    assert!(log.contains("packages: 1 package signed"), "{log}");
    let tree = work.join("tree");
    extract(&work.join("b.iso"), &tree);
    let keys = treeinfo(&tree).options("keys");
    let key_file = tree.join(&keys[0].1);
    let text = fs::read_to_string(&key_file).unwrap();
    // Ours, then the source's key file: key A and the sample's own key.
    assert_eq!(text.matches("BEGIN PGP PUBLIC KEY BLOCK").count(), 3);
    assert_eq!(keys[1].1, treeinfo_first_key(work, "a.iso"));

    let root = work.join("root");
    fs::create_dir_all(&root).unwrap();
    run(dnf(&root, &tree, Some(&key_file)).args(["install", "xcp-ng-deps"]));
    let got = installed(&root);
    assert!(
        got.contains("site-tools") && got.contains("sample-tools"),
        "{got:?}"
    );
}

/// `.treeinfo [keys] key1` of an image.
fn treeinfo_first_key(work: &Path, iso: &str) -> String {
    let dir = work.join(format!("{iso}.tree"));
    extract(&work.join(iso), &dir);
    treeinfo(&dir).options("keys")[0].1.clone()
}

/// The demo profile's `[[packages.build]]`: site-tools 1.0-1 is in Packages/ and in the
/// repodata with its spec's name, version, files and build time (the build's
/// SOURCE_DATE_EPOCH), createrepo_c agreeing on every record; the same package as the spec
/// built by the library, signed by the demo key at the build time.
#[test]
fn the_demo_profile_builds_its_package_into_the_repository() {
    require("createrepo_c");
    let work = tempfile::tempdir().unwrap();
    let work = work.path();
    let iso = work.join("demo.iso");
    run_all(
        isoremix()
            .env("SOURCE_DATE_EPOCH", EPOCH.to_string())
            .arg("build")
            .arg(manifest("profiles/demo.toml"))
            .arg("-o")
            .arg(&iso),
    );
    let tree = work.join("tree");
    extract(&iso, &tree);
    compare_with_createrepo_c(work, &tree, None);

    let records = repo::read_repo_dir(&tree).unwrap();
    let r = records
        .iter()
        .find(|r| r.name == "site-tools")
        .expect("site-tools in the repodata");
    let spec = common::demo::site_tools_spec(EPOCH as u32);
    assert_eq!(
        (
            r.epoch.as_str(),
            r.version.as_str(),
            r.release.as_str(),
            r.arch.as_str()
        ),
        ("0", "1.0", "1", "noarch")
    );
    assert_eq!(r.location_href, "Packages/site-tools-1.0-1.noarch.rpm");
    assert_eq!(r.time_build, EPOCH);
    assert_eq!(r.buildhost, isoremix::rpm::BUILD_HOST);
    assert_eq!(
        (r.summary.as_str(), r.license.as_str(), r.vendor.as_str()),
        (
            spec.summary.as_str(),
            spec.license.as_str(),
            "isoremix demo"
        )
    );
    let mut files: Vec<&str> = r.files.iter().map(|f| f.path.as_str()).collect();
    files.sort();
    assert_eq!(files, ["/etc/site-tools.conf", "/usr/bin/site-tool"]);

    // Byte for byte the spec's package, signed as the build signs (the demo key, the build
    // time): the profile's fields and files are the spec's, modes and times included.
    let key =
        isoremix::rpm::load_key_file(&manifest("profiles/demo/keys/demo-signing-key.asc"), None)
            .unwrap();
    let mut want = Vec::new();
    isoremix::rpm::build_signed_package(&spec, &key, EPOCH as u32, &mut want).unwrap();
    let got = fs::read(tree.join(&r.location_href)).unwrap();
    assert!(
        got == want,
        "the demo's site-tools differs from site_tools_spec() built and signed"
    );
}
