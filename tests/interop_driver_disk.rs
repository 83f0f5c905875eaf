//! Driver disks made by `isoremix driver-disk`, checked with the referees the installer's steps
//! correspond to: xorriso reads the image, Python's minidom reads `update.xml` (as the
//! installer does), dnf installs the `drivers` group from the extracted disk into an empty root
//! (as the installer does with yum), and with a signing key dnf's `repo_gpgcheck`/`gpgcheck`,
//! `rpm -K` and `gpg --verify` accept the signatures. Two runs give the same bytes.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::{isoremix, require, run, xorriso_extract};

/// The time the test disks are stamped with.
const EPOCH: &str = "1700000000";

/// A driver RPM made by rpmbuild: one (fake ELF) kernel module in `updates/`, no dependencies.
fn rpmbuild_driver(dir: &Path) -> PathBuf {
    require("rpmbuild");
    let src = dir.join("src");
    std::fs::create_dir_all(&src).unwrap();
    let mut module = b"\x7fELF\x02\x01\x01\0".to_vec();
    module.extend_from_slice(b"fake igc module for a driver disk test\n");
    std::fs::write(src.join("igc.ko"), module).unwrap();
    let spec = dir.join("intel-igc.spec");
    std::fs::write(
        &spec,
        format!(
            "Name: intel-igc\nVersion: 5.10.214\nRelease: 1.xcpng8.3\nSummary: Intel igc driver\n\
             License: GPLv2\nAutoReqProv: no\n%description\nIntel 2.5G Ethernet driver.\n\
             %install\nmkdir -p %{{buildroot}}/lib/modules/4.19.0+1/updates\n\
             install -m 644 {}/igc.ko %{{buildroot}}/lib/modules/4.19.0+1/updates/igc.ko\n\
             %files\n/lib/modules/4.19.0+1/updates/igc.ko\n",
            src.display()
        ),
    )
    .unwrap();
    let top = dir.join("rpmbuild");
    run(Command::new("rpmbuild")
        .arg("--define")
        .arg(format!("_topdir {}", top.display()))
        .args([
            "--define",
            "_binary_payload w9.gzdio",
            "--define",
            "debug_package %{nil}",
            "--define",
            "__os_install_post %{nil}",
            "--nodeps",
            "-bb",
        ])
        .arg(&spec));
    let rpm = top.join("RPMS/x86_64/intel-igc-5.10.214-1.xcpng8.3.x86_64.rpm");
    assert!(rpm.exists(), "rpmbuild made no package");
    rpm
}

/// Writes a driver-disk profile and returns its path.
fn profile(dir: &Path, rpm: &Path, extra: &str) -> PathBuf {
    profile_with(dir, rpm, "", extra)
}

/// Writes a driver-disk profile with more `[driver_disk]` keys and more sections.
fn profile_with(dir: &Path, rpm: &Path, keys: &str, extra: &str) -> PathBuf {
    let path = dir.join("dd.toml");
    std::fs::write(
        &path,
        format!(
            "[driver_disk]\nname = \"intel-igc\"\nversion = \"5.10.214-1\"\n\
             description = \"Intel igc driver for XCP-ng 8.3\"\nrpm = \"{}\"\n{keys}\
             [output]\niso = \"out.iso\"\n{extra}",
            rpm.display()
        ),
    )
    .unwrap();
    path
}

fn build_disk(profile: &Path, out: &Path) -> String {
    run(isoremix()
        .env("SOURCE_DATE_EPOCH", EPOCH)
        .arg("driver-disk")
        .arg(profile)
        .arg("-o")
        .arg(out))
}

/// `update.xml`'s attributes and description as Python's minidom reads them, `key=value` lines.
fn minidom_update_xml(path: &Path) -> String {
    require("python3");
    run(Command::new("python3")
        .arg("-c")
        .arg(
            "import sys, xml.dom.minidom\n\
             d = xml.dom.minidom.parse(sys.argv[1]).documentElement\n\
             assert d.tagName == 'update'\n\
             for k in sorted(d.attributes.keys()): print('%s=%s' % (k, d.getAttribute(k)))\n\
             n = d.getElementsByTagName('name-description')[0]\n\
             print('description=' + ''.join(c.data for c in n.childNodes))\n",
        )
        .arg(path))
}

/// dnf over the extracted disk as the only repository, installing into `root`.
fn dnf(root: &Path, disk: &Path) -> Command {
    require("dnf");
    let mut cmd = Command::new("dnf");
    cmd.arg(format!("--repofrompath=dd,{}", disk.display()))
        .args([
            "--repo=dd",
            "--releasever=1",
            "--setopt=reposdir=/nonexistent",
            "--setopt=install_weak_deps=0",
            "--nodocs",
            "-y",
            "-q",
        ])
        .arg(format!("--installroot={}", root.display()));
    cmd
}

fn installed(root: &Path) -> Vec<String> {
    let out = run(Command::new("rpm")
        .arg(format!("--root={}", root.display()))
        .args(["-qa", "--qf", "%{name}-%{version}-%{release}\n"]));
    let mut names: Vec<String> = out
        .lines()
        .filter(|l| !l.starts_with("gpg-pubkey"))
        .map(str::to_string)
        .collect();
    names.sort();
    names
}

#[test]
fn unsigned_disk_is_read_by_xorriso_and_dnf_installs_the_drivers_group() {
    let work = tempfile::tempdir().unwrap();
    let rpm = rpmbuild_driver(work.path());
    let profile = profile(work.path(), &rpm, "");
    let iso = work.path().join("dd.iso");
    let said = build_disk(&profile, &iso);
    assert!(said.contains("driver disk intel-igc 5.10.214-1"), "{said}");

    let disk = work.path().join("disk");
    xorriso_extract(&iso, &disk);
    let mut top: Vec<String> = std::fs::read_dir(&disk)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    top.sort();
    assert_eq!(top, ["Packages", "repodata", "update.xml"]);
    let mut packages: Vec<String> = std::fs::read_dir(disk.join("Packages"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    packages.sort();
    assert_eq!(
        packages,
        [
            "intel-igc-5.10.214-1.xcpng8.3.x86_64.rpm",
            "update-intel-igc-5.10.214-1.noarch.rpm"
        ]
    );
    // The driver RPM is carried byte for byte when unsigned.
    assert_eq!(
        std::fs::read(disk.join("Packages/intel-igc-5.10.214-1.xcpng8.3.x86_64.rpm")).unwrap(),
        std::fs::read(&rpm).unwrap()
    );

    let info = minidom_update_xml(&disk.join("update.xml"));
    let lines: Vec<&str> = info.lines().collect();
    assert!(lines.contains(&"name-label=intel-igc"), "{info}");
    assert!(lines.contains(&"version=5.10.214-1"), "{info}");
    assert!(lines.contains(&"control=update-intel-igc"), "{info}");
    assert!(
        lines.contains(&"after-apply-guidance=restartHost"),
        "{info}"
    );
    assert!(lines.contains(&"enforce-homogeneity=false"), "{info}");
    assert!(lines.contains(&"key="), "{info}");
    assert!(
        lines.contains(&"description=Intel igc driver for XCP-ng 8.3"),
        "{info}"
    );
    let uuid = lines
        .iter()
        .find_map(|l| l.strip_prefix("uuid="))
        .expect("uuid");
    assert_eq!(uuid.len(), 36, "{uuid}");
    let size: u64 = lines
        .iter()
        .find_map(|l| l.strip_prefix("installation-size="))
        .expect("installation-size")
        .parse()
        .unwrap();
    assert!(size > 0);

    // Both groups exist and name the control package as mandatory.
    let groups = run(dnf(&work.path().join("q"), &disk).args([
        "--setopt=gpgcheck=0",
        "group",
        "info",
        "update",
        "drivers",
    ]));
    assert!(groups.matches("update-intel-igc").count() >= 2, "{groups}");

    let root = work.path().join("root");
    std::fs::create_dir_all(&root).unwrap();
    run(dnf(&root, &disk).args(["--setopt=gpgcheck=0", "group", "install", "drivers"]));
    assert_eq!(
        installed(&root),
        [
            "intel-igc-5.10.214-1.xcpng8.3",
            "update-intel-igc-5.10.214-1"
        ]
    );
    assert!(root.join("lib/modules/4.19.0+1/updates/igc.ko").is_file());
}

#[test]
fn signed_disk_passes_repo_gpgcheck_rpm_k_and_gpg_verify() {
    let work = tempfile::tempdir().unwrap();
    let rpm = rpmbuild_driver(work.path());
    let common::gpg::TestKey {
        home,
        secret_file: key_file,
        public,
    } = common::gpg::test_key(
        work.path(),
        "Driver Disk Test <dd-test@example.org>",
        "rsa3072",
        "",
    );
    let pub_file = work.path().join("RPM-GPG-KEY-test");
    std::fs::write(&pub_file, &public).unwrap();
    let profile = profile(
        work.path(),
        &rpm,
        &format!("[signing]\nkey = \"{}\"\n", key_file.display()),
    );
    let iso = work.path().join("dd.iso");
    let said = build_disk(&profile, &iso);
    assert!(said.contains("signed"), "{said}");
    // Signatures are deterministic too: a second run gives the same bytes.
    let again = work.path().join("again.iso");
    build_disk(&profile, &again);
    assert_eq!(std::fs::read(&iso).unwrap(), std::fs::read(&again).unwrap());
    let disk = work.path().join("disk");
    xorriso_extract(&iso, &disk);

    // Detached signatures verify with gpg.
    for (sig, data) in [
        ("update.xml.asc", "update.xml"),
        ("repodata/repomd.xml.asc", "repodata/repomd.xml"),
    ] {
        run(Command::new("gpg")
            .env("GNUPGHOME", &home)
            .args(["--batch", "--verify"])
            .arg(disk.join(sig))
            .arg(disk.join(data)));
    }
    let info = minidom_update_xml(&disk.join("update.xml"));
    let key = info
        .lines()
        .find_map(|l| l.strip_prefix("key="))
        .expect("key");
    assert_eq!(key.len(), 16, "{info}");
    let listing = run(Command::new("gpg").env("GNUPGHOME", &home).args([
        "--batch",
        "--with-colons",
        "--list-keys",
    ]));
    assert!(
        listing
            .lines()
            .any(|l| l.starts_with("pub:") && l.contains(key)),
        "key id {key} is not the signing key's:\n{listing}"
    );

    // rpm -K accepts both packages' header signatures.
    require("rpmkeys");
    let db = work.path().join("keydb");
    std::fs::create_dir_all(&db).unwrap();
    run(Command::new("rpmkeys")
        .arg("--dbpath")
        .arg(&db)
        .arg("--import")
        .arg(&pub_file));
    for entry in std::fs::read_dir(disk.join("Packages")).unwrap() {
        let pkg = entry.unwrap().path();
        let out = run(Command::new("rpm")
            .arg("--dbpath")
            .arg(&db)
            .arg("-K")
            .arg(&pkg));
        assert!(
            out.contains("signatures OK") || out.contains("pgp") && out.contains("OK"),
            "{out}"
        );
        assert!(!out.contains("NOT OK"), "{out}");
        let sig = run(Command::new("rpm")
            .arg("--dbpath")
            .arg(&db)
            .args(["-qp", "--qf", "%{SIGPGP:pgpsig}%{RSAHEADER:pgpsig}\n"])
            .arg(&pkg));
        assert!(
            sig.contains("RSA"),
            "{} is not signed: {sig}",
            pkg.display()
        );
    }

    // dnf with repo_gpgcheck and gpgcheck installs the drivers group.
    let root = work.path().join("root");
    std::fs::create_dir_all(&root).unwrap();
    run(dnf(&root, &disk).args([
        "--setopt=dd.gpgcheck=1",
        "--setopt=dd.repo_gpgcheck=1",
        &format!("--setopt=dd.gpgkey=file://{}", pub_file.display()),
        "group",
        "install",
        "drivers",
    ]));
    assert_eq!(
        installed(&root),
        [
            "intel-igc-5.10.214-1.xcpng8.3",
            "update-intel-igc-5.10.214-1"
        ]
    );

    // A tampered repomd.xml is refused by dnf's repo_gpgcheck.
    let repomd = disk.join("repodata/repomd.xml");
    let mut text = std::fs::read_to_string(&repomd).unwrap();
    text.push('\n');
    std::fs::write(&repomd, text).unwrap();
    let root2 = work.path().join("root2");
    std::fs::create_dir_all(&root2).unwrap();
    let out = dnf(&root2, &disk)
        .args([
            "--setopt=dd.gpgcheck=1",
            "--setopt=dd.repo_gpgcheck=1",
            &format!("--setopt=dd.gpgkey=file://{}", pub_file.display()),
            "group",
            "install",
            "drivers",
        ])
        .output()
        .unwrap();
    assert!(
        !out.status.success(),
        "dnf accepted a repomd.xml that does not match its signature"
    );
    let stderr = String::from_utf8_lossy(&out.stderr).to_lowercase();
    assert!(
        stderr.contains("gpg") || stderr.contains("signature"),
        "dnf failed for another reason than the signature: {stderr}"
    );
}

#[test]
fn two_runs_give_identical_bytes_and_inspect_recognises_the_disk() {
    let work = tempfile::tempdir().unwrap();
    let rpm = rpmbuild_driver(work.path());
    let profile = profile(work.path(), &rpm, "");
    let a = work.path().join("a.iso");
    let b = work.path().join("b.iso");
    build_disk(&profile, &a);
    build_disk(&profile, &b);
    assert_eq!(std::fs::read(&a).unwrap(), std::fs::read(&b).unwrap());

    let text = run(isoremix().arg("inspect").arg(&a));
    assert!(text.contains("driver disk:"), "{text}");
    assert!(text.contains("intel-igc 5.10.214-1"), "{text}");
    assert!(text.contains("update-intel-igc"), "{text}");
    let json = run(isoremix().args(["inspect", "--json"]).arg(&a));
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(v["driver_disk"]["name_label"], "intel-igc");
    assert_eq!(v["driver_disk"]["control"], "update-intel-igc");
    assert_eq!(v["driver_disk"]["signed"], false);
    let default_uuid = v["driver_disk"]["uuid"].as_str().unwrap().to_string();

    // A uuid given in the profile is used as written (lower-cased); the default differs.
    let given = "0B5E3C2A-1111-4222-8333-444455556666";
    let with_uuid = profile_with(work.path(), &rpm, &format!("uuid = \"{given}\"\n"), "");
    let c = work.path().join("c.iso");
    build_disk(&with_uuid, &c);
    let json = run(isoremix().args(["inspect", "--json"]).arg(&c));
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(v["driver_disk"]["uuid"], given.to_lowercase());
    assert_ne!(default_uuid, given.to_lowercase());
}

/// A repository (made by createrepo_c) with one package providing `/bin/sh`, which the
/// scriptlets of a wrapped driver require; nothing of it is run (`tsflags=noscripts`).
fn shell_repo(dir: &Path) -> PathBuf {
    use isoremix::rpm::{FileSpec, PackageSpec, build_package};
    require("createrepo_c");
    let repo = dir.join("shell-repo");
    std::fs::create_dir_all(&repo).unwrap();
    let mut spec = PackageSpec::new("fake-sh", "1", "1", "x86_64", 1_700_000_000, "t.invalid");
    spec.files.push(FileSpec::new(
        "/bin/sh",
        0o755,
        1_700_000_000,
        b"#!/nonexistent\n".to_vec(),
    ));
    let mut bytes = Vec::new();
    build_package(&spec, &mut bytes).unwrap();
    std::fs::write(repo.join(spec.file_name()), bytes).unwrap();
    run(Command::new("createrepo_c").arg("-q").arg(&repo));
    repo
}

#[test]
fn bare_module_is_wrapped_into_a_driver_rpm_that_dnf_installs() {
    let k = common::debian_kernel::kernel();
    let ko = k.module_file("igc.ko");
    let work = tempfile::tempdir().unwrap();
    let path = work.path().join("dd.toml");
    std::fs::write(
        &path,
        format!(
            "[driver_disk]\nname = \"intel-igc\"\nversion = \"5.10.214-1\"\nko = [\"{}\"]\n\
             [output]\niso = \"out.iso\"\n",
            ko.display()
        ),
    )
    .unwrap();
    let iso = work.path().join("dd.iso");
    build_disk(&path, &iso);
    let disk = work.path().join("disk");
    xorriso_extract(&iso, &disk);
    let driver = disk.join("Packages/intel-igc-5.10.214-1.x86_64.rpm");
    assert!(driver.is_file(), "no wrapped driver RPM on the disk");
    let files = run(Command::new("rpm").args(["-qpl"]).arg(&driver));
    let module = format!("/lib/modules/{}/updates/igc.ko", k.kver);
    assert!(files.lines().any(|l| l == module), "{files}");
    let scripts = run(Command::new("rpm").args(["-qp", "--scripts"]).arg(&driver));
    assert!(
        scripts.contains(&format!("depmod -a {}", k.kver)),
        "{scripts}"
    );

    let shells = shell_repo(work.path());
    let root = work.path().join("root");
    std::fs::create_dir_all(&root).unwrap();
    run(dnf(&root, &disk).args([
        &format!("--repofrompath=sh,{}", shells.display()),
        "--repo=sh",
        "--setopt=gpgcheck=0",
        "--setopt=tsflags=noscripts",
        "group",
        "install",
        "drivers",
    ]));
    let names = installed(&root);
    assert!(
        names.contains(&"intel-igc-5.10.214-1".to_string())
            && names.contains(&"update-intel-igc-5.10.214-1".to_string()),
        "{names:?}"
    );
    let installed_module = root.join(module.trim_start_matches('/'));
    assert_eq!(
        std::fs::read(&installed_module).unwrap(),
        std::fs::read(&ko).unwrap()
    );
    // modinfo reads the installed module's vermagic for the kernel it was taken from.
    require("modinfo");
    let vermagic = run(Command::new("modinfo")
        .args(["-F", "vermagic"])
        .arg(&installed_module));
    assert!(vermagic.starts_with(&k.kver), "{vermagic}");
}
