//! `isoremix verify` against the referee that runs XCP-ng 8.3's real installer code: for several
//! images (the sample as it is, a remaster that installs, one with a damaged package file, one
//! whose boot configs disagree, one with an unmet requirement) every entry verify calls
//! uninstallable fails under the referee too, and every entry it says installs installs there.
//! Also: the build refuses an image with an unmet requirement, naming entry, package,
//! requirement and chain; hostile inputs (not an ISO, a driver disk).

mod common;

use std::collections::BTreeMap;
use std::fs;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use common::package::write as write_rpm;
use common::{isoremix, referee, run};
use isoremix::rpm::{Dep, FileSpec, PackageSpec};

const EPOCH: u64 = 1_700_000_000;
const TIME: u32 = 1_727_740_800;

/// `isoremix verify --json`: (exit 0, report).
fn verify(iso: &Path) -> (bool, serde_json::Value) {
    let out = isoremix()
        .arg("verify")
        .arg("--json")
        .arg(iso)
        .output()
        .unwrap();
    let report = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "verify printed no JSON ({e}): {}",
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (out.status.success(), report)
}

/// The referee's verdict per entry label: installs when every run of it installs (the runs it
/// skips, the shell entry, are left out).
fn referee_verdicts(report: &referee::Report) -> BTreeMap<String, bool> {
    let mut out: BTreeMap<String, bool> = BTreeMap::new();
    let boot = report.json["boot"].as_array().unwrap();
    for (run, entry) in boot.iter().zip(&report.entries) {
        let ok = match entry.outcome {
            referee::Outcome::Skipped(_) => continue,
            referee::Outcome::Installed { .. } => true,
            referee::Outcome::Failed(_) => false,
        };
        let label = run["label"].as_str().unwrap().to_string();
        *out.entry(label).or_insert(true) &= ok;
    }
    out
}

/// verify's verdict per judged entry.
fn our_verdicts(report: &serde_json::Value) -> BTreeMap<String, bool> {
    report["entries"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["verdict"] != "not-judged")
        .map(|e| {
            (
                e["label"].as_str().unwrap().to_string(),
                e["verdict"] == "installs",
            )
        })
        .collect()
}

/// Verify and the referee agree on every entry and on the exit status; returns verify's report.
fn agree(iso: &Path, work: &Path) -> serde_json::Value {
    let (ours_ok, ours) = verify(iso);
    let dir = work.join(iso.file_stem().unwrap());
    fs::create_dir_all(&dir).unwrap();
    let theirs = referee::judge(iso, &dir);
    let theirs_ok = theirs.passed;
    let (a, b) = (our_verdicts(&ours), referee_verdicts(&theirs));
    assert!(!a.is_empty(), "verify judged no entry: {ours:#}");
    assert_eq!(
        a,
        b,
        "{}: verify (left) and the installer referee (right) disagree\nverify: {ours:#}\n{}",
        iso.display(),
        theirs.log
    );
    // The referee's status also counts a run of the repository with the checks on whatever the
    // entries say, so only one direction holds for the exit statuses.
    if !ours_ok {
        assert!(
            !theirs_ok,
            "verify fails {} but the referee passes it",
            iso.display()
        );
    }
    ours
}

fn spec(name: &str, arch: &str) -> PackageSpec {
    common::package::spec(name, "1.0", "1", arch)
}

/// An unsigned package with no requirements, added by the builds here.
fn extra_rpms(dir: &Path) -> Vec<PathBuf> {
    vec![write_rpm(dir, &spec("site-extra", "noarch"))]
}

/// Builds from the sample with `[packages] add = rpms` (+ `extra` lines in `[packages]`);
/// returns the command's output and whether it succeeded.
fn build(work: &Path, name: &str, rpms: &[PathBuf], extra: &str) -> (bool, String, PathBuf) {
    let out = work.join(format!("{name}.iso"));
    let list: Vec<String> = rpms
        .iter()
        .map(|p| format!("{:?}", p.display().to_string()))
        .collect();
    let profile = work.join(format!("{name}.toml"));
    fs::write(
        &profile,
        format!(
            "[source]\niso = \"builtin:sample\"\n[output]\niso = {:?}\n[packages]\nadd = [{}]\n{extra}",
            out.display().to_string(),
            list.join(", ")
        ),
    )
    .unwrap();
    let o = isoremix()
        .env("SOURCE_DATE_EPOCH", EPOCH.to_string())
        .arg("build")
        .arg(&profile)
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    (o.status.success(), text, out)
}

/// Overwrites, in the image file, `from` with `to` (same length) in the data of `entry`.
fn patch_in_place(iso: &Path, entry: &str, from: &[u8], to: &[u8]) {
    assert_eq!(from.len(), to.len());
    let source = isoremix::iso::SourceIso::open(iso).unwrap();
    let data = source.read_file(entry).unwrap();
    let at = data
        .windows(from.len())
        .position(|w| w == from)
        .unwrap_or_else(|| panic!("{entry} has no {:?}", String::from_utf8_lossy(from)));
    let extents = source.extents(entry).unwrap();
    drop(source);
    let mut offset = at as u64;
    for e in extents {
        if offset < e.len() {
            let file = fs::OpenOptions::new().write(true).open(iso).unwrap();
            file.write_all_at(to, e.offset() + offset).unwrap();
            return;
        }
        offset -= e.len();
    }
    panic!("offset past the end of {entry}");
}

/// Changes one base64 character in the middle of an armored signature in the image file.
fn tamper_signature(iso: &Path, entry: &str) {
    let source = isoremix::iso::SourceIso::open(iso).unwrap();
    let text = source.read_file(entry).unwrap();
    let extent = source.extents(entry).unwrap()[0];
    drop(source);
    let body = text.len() / 2;
    let at = (body..text.len())
        .find(|&i| text[i].is_ascii_alphanumeric())
        .unwrap();
    let new = if text[at] == b'A' { b'B' } else { b'A' };
    let file = fs::OpenOptions::new().write(true).open(iso).unwrap();
    file.write_all_at(&[new], extent.offset() + at as u64)
        .unwrap();
}

/// Flips the bits of the last byte of `entry` in the image file.
fn damage_last_byte(iso: &Path, entry: &str) {
    let source = isoremix::iso::SourceIso::open(iso).unwrap();
    let last = source.extents(entry).unwrap().pop().unwrap();
    drop(source);
    let file = fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(iso)
        .unwrap();
    let at = last.offset() + last.len() - 1;
    let mut b = [0u8; 1];
    file.read_exact_at(&mut b, at).unwrap();
    file.write_all_at(&[!b[0]], at).unwrap();
}

#[test]
fn verdicts_match_the_real_installer() {
    let work = tempfile::tempdir().unwrap();
    let work = work.path();

    // The sample as it is: signed, checks on, every entry installs.
    let sample = work.join("sample.iso");
    run(isoremix().arg("sample").arg(&sample));
    let report = agree(&sample, work);
    assert_eq!(report["installs"], true, "{report:#}");
    let variant = &report["entries"][0]["variants"][0];
    assert_eq!(variant["checks"]["gpgcheck"], true);

    // Its repository signature tampered with: repo_gpgcheck fails every entry.
    let tampered = work.join("tampered.iso");
    fs::copy(&sample, &tampered).unwrap();
    tamper_signature(&tampered, "/repodata/repomd.xml.asc");
    let report = agree(&tampered, work);
    assert_eq!(report["installs"], false);

    // Packages added without a signing key: the build turns the checks off, every entry
    // installs.
    let rpms_dir = work.join("rpms");
    fs::create_dir_all(&rpms_dir).unwrap();
    let rpms = extra_rpms(&rpms_dir);
    let (ok, log, good) = build(work, "good", &rpms, "");
    assert!(ok, "{log}");
    let report = agree(&good, work);
    assert_eq!(report["installs"], true, "{report:#}");

    // A damaged package file: the media check and yum both fail it, in every entry.
    let damaged = work.join("damaged.iso");
    fs::copy(&good, &damaged).unwrap();
    damage_last_byte(&damaged, "/Packages/site-extra-1.0-1.noarch.rpm");
    let report = agree(&damaged, work);
    assert_eq!(report["installs"], false);
    let messages = report["findings"].to_string();
    assert!(
        messages.contains("site-extra-1.0-1.noarch.rpm"),
        "{messages}"
    );

    // The UEFI menu's install entry made unattended with an answer file that is not there: the
    // configs disagree and that way of booting fails.
    let disagree = work.join("disagree.iso");
    fs::copy(&good, &disagree).unwrap();
    patch_in_place(
        &disagree,
        "/EFI/xenserver/grub.cfg",
        b"console=hvc0 console=tty0",
        b"answerfile=file:///nope.x",
    );
    let report = agree(&disagree, work);
    let install = &report["entries"][0];
    assert_eq!(install["label"], "install");
    assert_eq!(install["verdict"], "does-not-install");
    assert_eq!(
        install["variants"].as_array().unwrap().len(),
        2,
        "{install:#}"
    );
    let text = String::from_utf8(
        isoremix()
            .arg("verify")
            .arg(&disagree)
            .output()
            .unwrap()
            .stdout,
    )
    .unwrap();
    assert!(
        text.contains("install [EFI/xenserver/grub.cfg]: does not install"),
        "{text}"
    );
    assert!(text.contains("boots differently per config"), "{text}");
}

#[test]
fn build_refuses_an_unmet_requirement_naming_entry_package_and_chain() {
    let work = tempfile::tempdir().unwrap();
    let work = work.path();
    let rpms_dir = work.join("rpms");
    fs::create_dir_all(&rpms_dir).unwrap();
    let mut rpms = extra_rpms(&rpms_dir);
    let mut site = spec("site-monitoring", "x86_64");
    site.requires
        .push(Dep::any("libdoesnotexist.so.7()(64bit)"));
    rpms.push(write_rpm(&rpms_dir, &site));
    let (ok, log, out) = build(work, "unmet", &rpms, "");
    assert!(!ok, "the build wrote an image that cannot install: {log}");
    assert!(!out.exists(), "the refused build left {}", out.display());
    for needle in [
        "entry \"install\"",
        "xcp-ng-deps",
        "site-monitoring-1.0-1",
        "libdoesnotexist.so.7()(64bit)",
        "nothing on the ISO",
    ] {
        assert!(log.contains(needle), "no {needle:?} in: {log}");
    }

    // Tolerated by the profile, the image is written; verify and the installer both refuse it.
    let (ok, log, out) = build(
        work,
        "tolerated",
        &rpms,
        "allow_unresolved = [\"site-monitoring\"]\n",
    );
    assert!(ok, "{log}");
    let report = agree(&out, work);
    assert_eq!(report["installs"], false);
    let install = &report["entries"][0]["variants"][0];
    assert!(
        install["reasons"][0]
            .as_str()
            .unwrap()
            .contains("site-monitoring-1.0-1 requires libdoesnotexist.so.7()(64bit)"),
        "{install:#}"
    );
}

/// verify remembers install.img's check in the user's cache folder: the second run of the same
/// image reads it from there (the memo is there, the report the same), and an image changed in
/// the middle of install.img (same length, same first and last bytes) is judged as it is.
#[test]
fn verify_remembers_install_img_per_content() {
    let work = tempfile::tempdir().unwrap();
    let work = work.path();
    // The sample with 400 KiB that do not compress added to install.img, so that the middle of
    // install.img is past the first and last 64 KiB the memo is found by.
    fs::write(work.join("blob"), common::pseudo_random(400 << 10, 7)).unwrap();
    fs::write(
        work.join("big.toml"),
        "[source]\niso = \"builtin:sample\"\n[output]\niso = \"big.iso\"\n\
         [[installer.files]]\nsrc = \"blob\"\ndest = \"/opt/blob\"\n",
    )
    .unwrap();
    run(isoremix().current_dir(work).args(["build", "big.toml"]));
    let iso = work.join("big.iso");
    let cache = work.join("cache");
    let verify_json = |iso: &Path| {
        let out = isoremix()
            .env("XDG_CACHE_HOME", &cache)
            .args(["verify", "--json"])
            .arg(iso)
            .output()
            .unwrap();
        String::from_utf8(out.stdout).unwrap()
    };
    let first = verify_json(&iso);
    let memos: Vec<_> = fs::read_dir(cache.join("isoremix"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.starts_with("verify-install-img-"))
        .collect();
    assert_eq!(memos.len(), 1, "{memos:?}");
    assert_eq!(verify_json(&iso), first);

    // Damage a byte in the middle of install.img's data: its first and last bytes, its length
    // (the memo's key) stay; the digest does not, so the image is decoded and found damaged.
    let (start, len) = common::xorriso_layout(&iso)["/install.img"];
    assert!(len > 300 << 10, "install.img is {len} bytes");
    let mid = start + len / 2;
    let f = fs::OpenOptions::new()
        .write(true)
        .read(true)
        .open(&iso)
        .unwrap();
    let mut byte = [0u8];
    f.read_exact_at(&mut byte, mid).unwrap();
    f.write_all_at(&[byte[0] ^ 0xff], mid).unwrap();
    drop(f);
    let damaged = verify_json(&iso);
    assert_ne!(damaged, first);
    assert!(
        damaged.contains("install.img cannot be unpacked"),
        "{damaged}"
    );
    assert!(damaged.contains(r#""installs": false"#), "{damaged}");
}

#[test]
fn hostile_inputs_are_refused_or_judged() {
    let work = tempfile::tempdir().unwrap();
    let work = work.path();
    let junk = work.join("junk.iso");
    fs::write(&junk, vec![0x55u8; 100_000]).unwrap();
    let out = isoremix().arg("verify").arg(&junk).output().unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("ISO 9660"), "{err}");

    // A driver disk is judged as the installer loads it: `yum install @drivers`.
    let mut driver = spec("intel-igc", "x86_64");
    driver.files = vec![FileSpec::new(
        "/lib/modules/4.19.0+1/updates/igc.ko",
        0o644,
        TIME,
        b"\x7fELF\x02\x01\x01\0fake igc module\n".to_vec(),
    )];
    let rpm = write_rpm(work, &driver);
    let profile = work.join("dd.toml");
    fs::write(
        &profile,
        format!(
            "[driver_disk]\nname = \"intel-igc\"\nversion = \"1.0-1\"\nrpm = {:?}\n[output]\niso = \"dd.iso\"\n",
            rpm.display().to_string()
        ),
    )
    .unwrap();
    let disk = work.join("dd.iso");
    run(isoremix()
        .env("SOURCE_DATE_EPOCH", EPOCH.to_string())
        .arg("driver-disk")
        .arg(&profile)
        .arg("-o")
        .arg(&disk));
    let (_, report) = verify(&disk);
    assert_eq!(report["kind"], "driver-disk", "{report:#}");
    let variant = &report["entries"][0]["variants"][0];
    assert_eq!(variant["targets"][0], "@drivers", "{report:#}");
    let packages = variant["packages"].to_string();
    assert!(
        packages.contains("\"intel-igc-1.0-1.x86_64\""),
        "{report:#}"
    );
    assert_eq!(report["entries"][0]["verdict"], "installs", "{report:#}");
}
