//! Signed output judged by rpm 4.11.3, the rpm of XCP-ng 8.3's installer and dom0: every RPM a
//! signed build (added files, packages built by `[[packages.build]]`, wrapped drivers) or a
//! signed `driver-disk` writes passes `check-rpms.sh -T` (query, `rpm -K` with the key imported,
//! install), and its tamper controls (a header byte, a payload byte flipped)
//! fail `rpm -K`. Keys rpm 4.11 cannot use are refused when loaded; a damaged added RPM is
//! refused; `verify_package` judges as rpm 4.11's `rpm -K` does.
//!
//! rpm 4.11.3 is built by `../shared/tools/rpm411/build-rpm411.sh` into
//! `~/.cache/rpm411/prefix` (`RPM411_HOME` moves it); these tests fail when it is missing.

mod common;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use common::elf::build_elf;
use common::{isoremix, require, run, xorriso_extract};
use isoremix::rpm::{FileSpec, PackageSpec, build_package};
use isoremix::rpm::{SignatureVerdict, public_keys_from_armored, verify_package};
use isoremix::rpm::{SigningKey, sign_package};

const EPOCH: &str = "1700000000";
const PASSPHRASE: &str = "s3cret";
/// The sample source's kernel.
const SAMPLE_KVER: &str = "4.19.0+1";

fn manifest(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(rel)
}

/// The referee script, beside the checkout.
fn check_script() -> PathBuf {
    let script = manifest("../shared/tools/rpm411/check-rpms.sh");
    assert!(
        script.is_file(),
        "{} is missing: the rpm 4.11 referee lives in shared/ beside the checkout",
        script.display()
    );
    script
}

/// rpm 4.11.3's binary; a missing one fails the test, saying how to build it.
fn rpm411() -> PathBuf {
    let home = match std::env::var_os("RPM411_HOME") {
        Some(h) => PathBuf::from(h),
        None => {
            let cache = std::env::var_os("XDG_CACHE_HOME")
                .map(PathBuf::from)
                .unwrap_or_else(|| {
                    PathBuf::from(std::env::var_os("HOME").expect("HOME")).join(".cache")
                });
            cache.join("rpm411")
        }
    };
    let rpm = home.join("prefix/bin/rpm");
    assert!(
        rpm.is_file(),
        "rpm 4.11.3 is not built at {}: run ../shared/tools/rpm411/build-rpm411.sh \
         (about 2 minutes; RPM411_HOME chooses where it goes)",
        rpm.display()
    );
    rpm
}

/// Runs `check-rpms.sh -T` (rpm 4.11.3) on `inputs` with `keys`; returns whether every verdict
/// passed and the summary.
fn check_rpms(work: &Path, label: &str, keys: &[&Path], inputs: &[&Path]) -> (bool, String) {
    rpm411();
    let mut c = Command::new("bash");
    c.arg(check_script())
        .arg("-T")
        .arg("-w")
        .arg(work.join("rpm411-check"))
        .args(["-l", label]);
    for k in keys {
        c.arg("-k").arg(k);
    }
    c.args(inputs);
    let out = c.output().expect("run check-rpms.sh");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

/// Asserts a check-rpms.sh run passed and its payload tamper control failed `rpm -K`.
fn assert_passes_with_tamper_controls(ok: bool, summary: &str) {
    assert!(ok, "rpm 4.11.3 refuses some of the RPMs:\n{summary}");
    assert!(
        summary.contains("verdict failures: 0"),
        "no verdict line:\n{summary}"
    );
    for what in ["header", "payload"] {
        let line = summary
            .lines()
            .find(|l| l.starts_with(&format!("control, {what} byte flipped")))
            .unwrap_or_else(|| panic!("no {what} tamper control:\n{summary}"));
        assert!(
            line.contains("NOT OK") && line.contains("[rc=1]"),
            "rpm 4.11 -K accepts a package whose {what} was damaged:\n{line}"
        );
    }
}

fn gpg(home: &Path) -> Command {
    let mut c = Command::new("gpg");
    c.env("GNUPGHOME", home).args([
        "--batch",
        "--quiet",
        "--pinentry-mode",
        "loopback",
        "--passphrase",
        PASSPHRASE,
    ]);
    c
}

/// A fresh GnuPG home (in `dir`) with a key of `algo` (`usage` of its primary key) and, with
/// `subkey`, a separate signing subkey. Returns the armored secret key file, the public key
/// file and the primary fingerprint.
fn make_key(dir: &Path, algo: &str, usage: &str, subkey: bool) -> (PathBuf, PathBuf, String) {
    require("gpg");
    let home = dir.join(format!("gnupg-{algo}-{usage}-{subkey}"));
    fs::create_dir_all(&home).unwrap();
    run(Command::new("chmod").arg("700").arg(&home));
    let uid = format!("Rpm411 Test {algo} <{algo}@example.org>");
    run(gpg(&home).args(["--quick-gen-key", &uid, algo, usage, "never"]));
    let listing = run(gpg(&home).args(["--with-colons", "--list-keys", &uid]));
    let fpr = listing
        .lines()
        .find(|l| l.starts_with("fpr:"))
        .and_then(|l| l.split(':').nth(9))
        .expect("fingerprint")
        .to_lowercase();
    if subkey {
        run(gpg(&home).args(["--quick-add-key", &fpr, "rsa2048", "sign", "never"]));
    }
    let secret = dir.join(format!("{algo}-{usage}-{subkey}.asc"));
    fs::write(
        &secret,
        run(gpg(&home).args(["--armor", "--export-secret-keys"])),
    )
    .unwrap();
    let public = dir.join(format!("{algo}-{usage}-{subkey}.pub.asc"));
    fs::write(&public, run(gpg(&home).args(["--armor", "--export"]))).unwrap();
    (secret, public, fpr)
}

/// A small kernel module for the sample's kernel: an ELF object with a `.modinfo` section.
fn module(dir: &Path) -> PathBuf {
    let info = format!(
        "version=1.0\0license=GPL\0name=isoxtest\0vermagic={SAMPLE_KVER} SMP mod_unload modversions \0"
    )
    .into_bytes();
    let ko = build_elf(&[
        (".modinfo", 1, info, 0),
        (".symtab", 2, vec![0u8; 24], 3),
        (".strtab", 3, vec![0u8], 0),
    ]);
    let path = dir.join("isoxtest.ko");
    fs::write(&path, ko).unwrap();
    path
}

fn isoremix_run(args: &[&std::ffi::OsStr]) -> (bool, String) {
    let out = isoremix()
        .env("SOURCE_DATE_EPOCH", EPOCH)
        .env("RPM411_TEST_PASSPHRASE", PASSPHRASE)
        .args(args)
        .output()
        .unwrap();
    (
        out.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

fn signing_section(key: &Path) -> String {
    format!(
        "[signing]\nkey = \"{}\"\npassphrase_env = \"RPM411_TEST_PASSPHRASE\"\n",
        key.display()
    )
}

fn rpms_in(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "rpm"))
        .collect();
    v.sort();
    v
}

/// Writes `profile` to `w/<name>.toml`, runs `isoremix <command>` on it, which must succeed, and
/// extracts the image it writes, `w/<name>.iso`, to `w/<name>`; returns that folder and the
/// RPMs of its `Packages/`.
fn build_extracted(w: &Path, command: &str, name: &str, profile: &str) -> (PathBuf, Vec<PathBuf>) {
    let path = w.join(format!("{name}.toml"));
    fs::write(&path, profile).unwrap();
    let (ok, log) = isoremix_run(&[command.as_ref(), path.as_os_str()]);
    assert!(ok, "{log}");
    let tree = w.join(name);
    xorriso_extract(&w.join(format!("{name}.iso")), &tree);
    let packages = rpms_in(&tree.join("Packages"));
    (tree, packages)
}

fn verdict(pkg: &Path, keys: &[isoremix::rpm::PublicKey]) -> SignatureVerdict {
    verify_package(
        &mut std::io::BufReader::new(fs::File::open(pkg).unwrap()),
        keys,
    )
    .unwrap()
}

#[test]
fn every_rpm_of_a_signed_build_passes_rpm411() {
    let work = tempfile::tempdir().unwrap();
    let w = work.path();
    let (key, _, fpr) = make_key(w, "rsa3072", "sign", false);
    run(isoremix().arg("sample").arg(w.join("source.iso")));
    // One package added as a file, one built by the profile from plain files.
    common::package::write(
        w,
        &common::package::spec("site-extra", "2.0", "1", "noarch"),
    );
    fs::write(w.join("site-tool"), "#!/bin/sh\necho site\n").unwrap();
    let ko = module(w);
    let (tree, packages) = build_extracted(
        w,
        "build",
        "signed",
        &format!(
            "[source]\niso = \"source.iso\"\n[output]\niso = \"signed.iso\"\n\
             [packages]\nadd = [\"site-extra-2.0-1.noarch.rpm\"]\n\
             [[packages.build]]\nname = \"site-tools\"\nversion = \"1.0\"\n\
             summary = \"Site tools\"\nlicense = \"MIT\"\n\
             [[packages.build.files]]\nsrc = \"site-tool\"\ndest = \"/usr/bin/site-tool\"\n\
             mode = \"0755\"\n\
             [[drivers]]\nko = [\"{}\"]\nname = \"isoxtest-module\"\n{}",
            ko.display(),
            signing_section(&key)
        ),
    );
    let names: Vec<String> = packages
        .iter()
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    for wanted in [
        "site-tools-1.0-1",
        "site-extra-2.0-1",
        "isoxtest-module-1.0-",
        ".remix1.",
    ] {
        assert!(
            names.iter().any(|n| n.contains(wanted)),
            "no {wanted} in {names:?}"
        );
    }
    // What the build wrote is signed by our primary key, header and payload; the source's
    // packages keep the signature they came with, and the key file on the ISO (ours, then the
    // source's) verifies both: our verifier agrees.
    let keys = public_keys_from_armored(
        &fs::read(tree.join(format!("RPM-GPG-KEY-isoremix-{}", &fpr[24..]))).unwrap(),
    )
    .unwrap();
    let sample_key = isoremix::sample::signing_key().unwrap().key_id();
    for (p, name) in packages.iter().zip(&names) {
        let written = [
            "site-tools-1.0-1",
            "site-extra-2.0-1",
            "isoxtest-module-1.0-",
            ".remix1.",
        ]
        .iter()
        .any(|w| name.contains(w));
        let signer = if written {
            fpr[24..].to_string()
        } else {
            sample_key.clone()
        };
        assert_eq!(
            verdict(p, &keys),
            SignatureVerdict::Ok { key_id: signer },
            "{}",
            p.display()
        );
    }

    let (ok, summary) = check_rpms(w, "signed-build", &[], &[&w.join("signed.iso")]);
    assert_passes_with_tamper_controls(ok, &summary);
}

#[test]
fn signed_driver_disk_from_a_bare_module_passes_rpm411() {
    let work = tempfile::tempdir().unwrap();
    let w = work.path();
    let (key, public, _) = make_key(w, "rsa2048", "sign", false);
    let ko = module(w);
    let (disk, packages) = build_extracted(
        w,
        "driver-disk",
        "dd",
        &format!(
            "[driver_disk]\nname = \"isoxtest\"\nversion = \"1.0-1\"\nko = [\"{}\"]\n\
             [output]\niso = \"dd.iso\"\n{}",
            ko.display(),
            signing_section(&key)
        ),
    );
    assert_eq!(packages.len(), 2, "{packages:?}");
    let (ok, summary) = check_rpms(w, "driver-disk", &[&public], &[&disk.join("Packages")]);
    assert_passes_with_tamper_controls(ok, &summary);
}

/// An unsigned package built by isoremix.
fn unsigned_package() -> Vec<u8> {
    let mut spec = PackageSpec::new("rpm411-probe", "1.0", "1", "noarch", 1_700_000_000, "t");
    spec.summary = "probe".into();
    spec.files.push(FileSpec::new(
        "/usr/share/rpm411-probe/data",
        0o644,
        1_700_000_000,
        common::pseudo_random(50_000, 7),
    ));
    let mut out = Vec::new();
    build_package(&spec, &mut out).unwrap();
    out
}

fn load(secret: &Path) -> SigningKey {
    SigningKey::from_armored(&fs::read_to_string(secret).unwrap(), PASSPHRASE).unwrap()
}

fn signed(bytes: &[u8], key: &SigningKey) -> Vec<u8> {
    let mut out = Vec::new();
    sign_package(
        &mut std::io::Cursor::new(bytes),
        &mut out,
        key,
        1_700_000_000,
    )
    .unwrap();
    out
}

/// `rpm -K` of rpm 4.11.3 on `pkg` with `key` imported into a fresh database: exit status and
/// output.
fn rpm411_k(dir: &Path, pkg: &Path, key: &Path) -> (bool, String) {
    let db = tempfile::tempdir_in(dir).unwrap();
    let rpm = rpm411();
    let imported = Command::new(&rpm)
        .arg("--dbpath")
        .arg(db.path())
        .arg("--import")
        .arg(key)
        .output()
        .unwrap();
    assert!(
        imported.status.success(),
        "rpm 4.11 cannot import {}: {}",
        key.display(),
        String::from_utf8_lossy(&imported.stderr)
    );
    let out = Command::new(&rpm)
        .arg("--dbpath")
        .arg(db.path())
        .arg("-Kv")
        .arg(pkg)
        .output()
        .unwrap();
    (
        out.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

/// The main header of a package: its offset, the offset of its data store and its length.
fn main_header(pkg: &[u8]) -> (usize, usize, usize) {
    let sizes = |at: usize| {
        let n = u32::from_be_bytes(pkg[at + 8..at + 12].try_into().unwrap()) as usize;
        let d = u32::from_be_bytes(pkg[at + 12..at + 16].try_into().unwrap()) as usize;
        (16 + 16 * n, d)
    };
    let (i, d) = sizes(96);
    let main = 96 + i + d + (8 - (i + d) % 8) % 8;
    let (i, d) = sizes(main);
    (main, main + i, i + d)
}

/// Offset of the payload.
fn payload_offset(pkg: &[u8]) -> usize {
    let (main, _, len) = main_header(pkg);
    main + len
}

#[test]
fn key_with_a_signing_subkey_signs_with_its_primary_and_verifies_under_rpm411() {
    let work = tempfile::tempdir().unwrap();
    let w = work.path();
    let (secret, public, fpr) = make_key(w, "rsa3072", "sign", true);
    let key = load(&secret);
    let pkg = w.join("signed.rpm");
    fs::write(&pkg, signed(&unsigned_package(), &key)).unwrap();
    let (ok, k) = rpm411_k(w, &pkg, &public);
    assert!(ok, "rpm 4.11 -K:\n{k}");
    assert_all_ok(&k, &fpr[32..]);
}

#[test]
fn keys_rpm411_cannot_use_are_refused_when_loaded() {
    let work = tempfile::tempdir().unwrap();
    let w = work.path();
    let (eddsa, _, _) = make_key(w, "ed25519", "sign", false);
    let (cert_only, _, _) = make_key(w, "rsa2048", "cert", true);
    for (key, reason) in [
        (&eddsa, "EdDSA"),
        (&cert_only, "primary key is not allowed to sign"),
    ] {
        // The build stops before any work: not even the sample source is made.
        let profile = w.join("p.toml");
        fs::write(
            &profile,
            format!(
                "[source]\niso = \"builtin:sample\"\n[output]\niso = \"out.iso\"\n{}",
                signing_section(key)
            ),
        )
        .unwrap();
        let (ok, log) = isoremix_run(&["build".as_ref(), profile.as_os_str()]);
        assert!(!ok, "{log}");
        let name = key.file_name().unwrap().to_string_lossy();
        assert!(
            log.contains(name.as_ref()) && log.contains(reason) && log.contains("rpm 4.11"),
            "{log}"
        );
        assert!(!w.join("out.iso").exists());

        let dd = w.join("dd.toml");
        fs::write(
            &dd,
            format!(
                "[driver_disk]\nname = \"x\"\nversion = \"1.0-1\"\nko = [\"{}\"]\n\
                 [output]\niso = \"dd.iso\"\n{}",
                module(w).display(),
                signing_section(key)
            ),
        )
        .unwrap();
        let (ok, log) = isoremix_run(&["driver-disk".as_ref(), dd.as_os_str()]);
        assert!(
            !ok && log.contains(name.as_ref()) && log.contains(reason),
            "{log}"
        );
    }
}

#[test]
fn an_added_rpm_with_a_damaged_payload_is_refused() {
    let work = tempfile::tempdir().unwrap();
    let w = work.path();
    let mut bytes = unsigned_package();
    let at = payload_offset(&bytes) + 100;
    bytes[at] ^= 0x01;
    fs::write(w.join("broken-1.0-1.noarch.rpm"), &bytes).unwrap();
    let profile = w.join("p.toml");
    fs::write(
        &profile,
        "[source]\niso = \"builtin:sample\"\n[output]\niso = \"out.iso\"\n\
         [packages]\nadd = [\"broken-1.0-1.noarch.rpm\"]\n",
    )
    .unwrap();
    let (ok, log) = isoremix_run(&["build".as_ref(), profile.as_os_str()]);
    assert!(!ok, "{log}");
    assert!(
        log.contains("broken-1.0-1.noarch.rpm") && log.contains("payload SHA-256 digest mismatch"),
        "{log}"
    );
}

#[test]
fn verify_package_agrees_with_rpm411() {
    let work = tempfile::tempdir().unwrap();
    let w = work.path();
    let (secret, public, fpr) = make_key(w, "rsa2048", "sign", false);
    let (other_secret, _, other_fpr) = make_key(w, "dsa1024", "sign", false);
    let key = load(&secret);
    let keys = public_keys_from_armored(&fs::read(&public).unwrap()).unwrap();
    let unsigned = unsigned_package();
    let good = signed(&unsigned, &key);
    let wrong_key = signed(&unsigned, &load(&other_secret));
    // The middle of the main header's data store, as check-rpms.sh's control does.
    let header_at = {
        let (main, data, len) = main_header(&good);
        data + (main + len - data) / 2
    };
    let flip = |at: usize| {
        let mut b = good.clone();
        b[at] ^= 0x01;
        b
    };
    let cases: [(&str, Vec<u8>); 5] = [
        ("good", good.clone()),
        ("unsigned", unsigned.clone()),
        ("wrong key", wrong_key),
        ("header byte flipped", flip(header_at)),
        ("payload byte flipped", flip(payload_offset(&good) + 1000)),
    ];
    for (what, bytes) in cases {
        let pkg = w.join(format!("{}.rpm", what.replace(' ', "-")));
        fs::write(&pkg, &bytes).unwrap();
        let (ok, k) = rpm411_k(w, &pkg, &public);
        let v = verdict(&pkg, &keys);
        match what {
            "good" => {
                assert!(ok, "{what}: {k}");
                assert_eq!(
                    v,
                    SignatureVerdict::Ok {
                        key_id: fpr[24..].to_string()
                    }
                );
            }
            "unsigned" => {
                assert!(ok && !k.contains("Signature"), "{what}: {k}");
                assert_eq!(v, SignatureVerdict::Unsigned);
            }
            "wrong key" => {
                assert!(!ok && k.contains("NOKEY"), "{what}: {k}");
                assert_eq!(
                    v,
                    SignatureVerdict::NoKey {
                        key_id: other_fpr[24..].to_string()
                    }
                );
            }
            _ => {
                assert!(!ok && k.contains("BAD"), "{what}: {k}");
                assert!(matches!(v, SignatureVerdict::Bad { .. }), "{what}: {v:?}");
            }
        }
    }
}

/// The package the demo profile builds (`[[packages.build]]`), as rpm 4.11 reads it from the
/// demo image: its name, version, build time (the build's SOURCE_DATE_EPOCH), build host, files
/// with their modes and contents' digests, and its signature by the demo key the image carries.
#[test]
fn the_demo_profiles_built_package_reads_and_verifies_in_rpm411() {
    let work = tempfile::tempdir().unwrap();
    let w = work.path();
    let iso = w.join("demo.iso");
    run(isoremix()
        .env("SOURCE_DATE_EPOCH", EPOCH)
        .arg("build")
        .arg(manifest("profiles/demo.toml"))
        .arg("-o")
        .arg(&iso));
    let tree = w.join("tree");
    xorriso_extract(&iso, &tree);
    let pkg = tree.join("Packages/site-tools-1.0-1.noarch.rpm");
    assert!(
        pkg.is_file(),
        "no site-tools in {:?}",
        rpms_in(&tree.join("Packages"))
    );

    let query = run(Command::new(rpm411())
        .arg("-qp")
        .arg("--qf")
        .arg(
            "%{NAME} %{VERSION} %{RELEASE} %{ARCH} %{BUILDTIME} %{BUILDHOST}|%{SUMMARY}|%{LICENSE}|\
         %{GROUP}|%{VENDOR}\\n[%{FILEMODES:perms} %{FILEUSERNAME} %{FILEMTIMES} %{FILENAMES}\\n]",
        )
        .arg(&pkg));
    assert_eq!(
        query,
        format!(
            "site-tools 1.0 1 noarch {EPOCH} isoremix.invalid|Site tools for the isoremix demo|MIT|\
             System Environment/Base|isoremix demo\n\
             -rw-r--r-- root {EPOCH} /etc/site-tools.conf\n\
             -rwxr-xr-x root {EPOCH} /usr/bin/site-tool\n"
        )
    );
    // The files hold the demo's plain files.
    let listed = run(Command::new(rpm411())
        .arg("-qp")
        .arg("--qf")
        .arg("[%{FILEDIGESTS} %{FILENAMES}\\n]")
        .arg(&pkg));
    for (name, src) in [
        (
            "/etc/site-tools.conf",
            "profiles/demo/files/site-tools.conf",
        ),
        ("/usr/bin/site-tool", "profiles/demo/files/site-tool"),
    ] {
        let digest = hex::encode(<sha2::Sha256 as sha2::Digest>::digest(
            fs::read(manifest(src)).unwrap(),
        ));
        assert!(
            listed.contains(&format!("{digest} {name}")),
            "{name}: {listed}"
        );
    }
    let key = fs::read_dir(&tree)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| {
            p.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with("RPM-GPG-KEY-isoremix-"))
        })
        .expect("the demo key on the image");
    let (ok, k) = rpm411_k(w, &pkg, &key);
    assert!(ok, "rpm 4.11 -K:\n{k}");
    let name = key.file_name().unwrap().to_string_lossy().into_owned();
    assert_all_ok(&k, &name[name.len() - 8..]);
}

/// `rpm -K` output `k` (rpm 4.11) says the header and header+payload signatures by the key
/// whose short id is `short` and the MD5 digest are all OK.
fn assert_all_ok(k: &str, short: &str) {
    assert!(
        k.contains(&format!(
            "Header V4 RSA/SHA256 Signature, key ID {short}: OK"
        )) && k.contains(&format!("    V4 RSA/SHA256 Signature, key ID {short}: OK"))
            && k.contains("MD5 digest: OK"),
        "{k}"
    );
}
