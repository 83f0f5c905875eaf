//! Packages built, rewritten and signed by `isoremix::rpm` checked with Debian's rpm 4.18
//! (`rpm -qp`, `rpm -K`, `rpmkeys`, `rpm2cpio`), GNU cpio and gpg; rpmvercmp checked against
//! rpm's own `rpm.vercmp`.

use std::cmp::Ordering;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use isoremix::rpm::Compression;
use isoremix::rpm::{
    Dep, DepCmp, DirSpec, FileSpec, PackageSpec, ScriptSpec, build_package, build_signed_package,
};
use isoremix::rpm::{Evr, rpmvercmp};
use isoremix::rpm::{NewRelease, RewriteSpec, rewrite_package};
use isoremix::rpm::{SigningKey, sign_package};

const BUILD_TIME: u32 = 1_700_000_000;
const PASSPHRASE: &str = "test passphrase";

/// Runs a referee tool; a missing tool fails the test with a clear message.
fn run(cmd: &mut Command) -> Output {
    let prog = cmd.get_program().to_string_lossy().into_owned();
    cmd.output().unwrap_or_else(|e| {
        panic!(
            "referee `{prog}` cannot be run ({e}); install Debian's rpm, cpio and gnupg packages"
        )
    })
}

fn run_ok(cmd: &mut Command) -> String {
    let desc = format!("{cmd:?}");
    let out = run(cmd.stdin(Stdio::null()));
    assert!(
        out.status.success(),
        "{desc} failed: {}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// `rpm` with a private, empty database so nothing of the host is read or written.
fn rpm(dbdir: &Path) -> Command {
    let mut c = Command::new("rpm");
    c.arg("--dbpath").arg(dbdir);
    c
}

fn sample_spec() -> PackageSpec {
    let mut spec = PackageSpec::new(
        "example-driver",
        "1.2.3",
        "1.xcpng8.3",
        "x86_64",
        BUILD_TIME,
        "build.example.org",
    );
    spec.epoch = Some(2);
    spec.summary = "Example kernel module".into();
    spec.description = "An example driver package.\nSecond line.".into();
    spec.license = "GPLv2".into();
    spec.group = "System Environment/Kernel".into();
    spec.url = Some("https://example.org/driver".into());
    spec.vendor = Some("Example Vendor".into());
    spec.packager = Some("Example Packager <pkg@example.org>".into());
    spec.requires = vec![
        Dep::versioned("kernel", DepCmp::Ge, "4.19.19"),
        Dep::any("kmod"),
    ];
    spec.provides = vec![Dep::versioned("example-driver-module", DepCmp::Eq, "1.2.3")];
    spec.conflicts = vec![Dep::versioned("old-driver", DepCmp::Lt, "1.0")];
    spec.obsoletes = vec![Dep::versioned("legacy-driver", DepCmp::Le, "0.9-1")];
    spec.dirs = vec![DirSpec::new(
        "/lib/modules/4.19.0+1/updates",
        0o755,
        BUILD_TIME - 100,
    )];
    spec.files = vec![
        FileSpec::new(
            "/lib/modules/4.19.0+1/updates/example.ko",
            0o644,
            BUILD_TIME - 50,
            b"\x7fELF not really a module".to_vec(),
        ),
        FileSpec::new(
            "/etc/modprobe.d/example.conf",
            0o644,
            BUILD_TIME + 5000,
            b"options example debug=0\n".to_vec(),
        ),
    ];
    spec.post = Some(ScriptSpec::sh("depmod -a 4.19.0+1"));
    spec.postun = Some(ScriptSpec::sh("depmod -a 4.19.0+1"));
    spec
}

fn build(spec: &PackageSpec) -> Vec<u8> {
    let mut out = Vec::new();
    build_package(spec, &mut out).expect("build");
    out
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, bytes).unwrap();
    p
}

/// `rpm -K` output for a package, checked to succeed.
fn check_k(db: &Path, pkg: &Path) -> String {
    run_ok(rpm(db).arg("-Kv").arg(pkg))
}

#[test]
fn built_package_is_read_by_rpm() {
    let tmp = tempfile::tempdir().unwrap();
    let db = tmp.path().join("db");
    std::fs::create_dir(&db).unwrap();
    for compression in [Compression::Xz(6), Compression::Gzip(9)] {
        let mut spec = sample_spec();
        spec.compression = compression;
        let pkg = write(tmp.path(), &spec.file_name(), &build(&spec));

        let info = run_ok(rpm(&db).arg("-qpi").arg(&pkg));
        for want in [
            "Name        : example-driver",
            "Epoch       : 2",
            "Version     : 1.2.3",
            "Release     : 1.xcpng8.3",
            "Architecture: x86_64",
            "Group       : System Environment/Kernel",
            "License     : GPLv2",
            "Build Host  : build.example.org",
            "URL         : https://example.org/driver",
            "Vendor      : Example Vendor",
            "Packager    : Example Packager <pkg@example.org>",
            "Summary     : Example kernel module",
            "Second line.",
        ] {
            assert!(info.contains(want), "missing {want:?} in:\n{info}");
        }
        let stamp = run_ok(
            rpm(&db)
                .args(["-qp", "--qf", "%{BUILDTIME} %{SOURCERPM} %{ARCH}"])
                .arg(&pkg),
        );
        assert_eq!(
            stamp,
            format!("{BUILD_TIME} example-driver-1.2.3-1.xcpng8.3.src.rpm x86_64")
        );

        let list = run_ok(rpm(&db).args(["-qp", "--qf", "[%{FILENAMES} %{FILEMODES:perms} %{FILEUSERNAME} %{FILEGROUPNAME} %{FILEMTIMES}\\n]"]).arg(&pkg));
        assert_eq!(
            list,
            format!(
                "/etc/modprobe.d/example.conf -rw-r--r-- root root {}\n\
                 /lib/modules/4.19.0+1/updates drwxr-xr-x root root {}\n\
                 /lib/modules/4.19.0+1/updates/example.ko -rw-r--r-- root root {}\n",
                BUILD_TIME,
                BUILD_TIME - 100,
                BUILD_TIME - 50
            )
        );

        let requires = run_ok(rpm(&db).args(["-qp", "--requires"]).arg(&pkg));
        for want in ["kernel >= 4.19.19", "kmod", "/bin/sh"] {
            assert!(
                requires.lines().any(|l| l == want),
                "missing {want:?} in:\n{requires}"
            );
        }
        let provides = run_ok(rpm(&db).args(["-qp", "--provides"]).arg(&pkg));
        for want in [
            "example-driver-module = 1.2.3",
            "example-driver = 2:1.2.3-1.xcpng8.3",
        ] {
            assert!(
                provides.lines().any(|l| l.starts_with(want)),
                "missing {want:?} in:\n{provides}"
            );
        }
        let conflicts = run_ok(rpm(&db).args(["-qp", "--conflicts"]).arg(&pkg));
        assert_eq!(conflicts.trim(), "old-driver < 1.0");
        let obsoletes = run_ok(rpm(&db).args(["-qp", "--obsoletes"]).arg(&pkg));
        assert_eq!(obsoletes.trim(), "legacy-driver <= 0.9-1");

        let scripts = run_ok(rpm(&db).args(["-qp", "--scripts"]).arg(&pkg));
        assert!(
            scripts.contains("postinstall scriptlet (using /bin/sh):\ndepmod -a 4.19.0+1"),
            "{scripts}"
        );
        assert!(
            scripts.contains("postuninstall scriptlet (using /bin/sh):\ndepmod -a 4.19.0+1"),
            "{scripts}"
        );

        let k = check_k(&db, &pkg);
        assert!(k.contains("Header SHA256 digest: OK"), "{k}");
        assert!(k.contains("Payload SHA256 digest: OK"), "{k}");

        let compressor = run_ok(
            rpm(&db)
                .args(["-qp", "--qf", "%{PAYLOADCOMPRESSOR}"])
                .arg(&pkg),
        );
        assert_eq!(
            compressor,
            match compression {
                Compression::Xz(_) => "xz",
                Compression::Gzip(_) => "gzip",
            }
        );

        let archive_size = run_ok(
            rpm(&db)
                .args(["-qp", "--qf", "%{LONGARCHIVESIZE}"])
                .arg(&pkg),
        );
        assert_eq!(archive_size, payload_archive(&pkg).len().to_string());

        let listing = cpio_list(&pkg);
        assert_eq!(
            listing,
            vec![
                "./etc/modprobe.d/example.conf",
                "./lib/modules/4.19.0+1/updates",
                "./lib/modules/4.19.0+1/updates/example.ko",
            ]
        );
    }
}

/// `rpm2cpio PKG | cpio -t`, sorted.
fn cpio_list(pkg: &Path) -> Vec<String> {
    let archive = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(archive.path(), payload_archive(pkg)).unwrap();
    let out = run(Command::new("cpio")
        .args(["-t", "--quiet"])
        .stdin(std::fs::File::open(archive.path()).unwrap()));
    assert!(
        out.status.success(),
        "cpio -t failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut names: Vec<String> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_string)
        .collect();
    names.sort();
    names
}

#[test]
fn builds_are_reproducible() {
    let spec = sample_spec();
    let a = build(&spec);
    let b = build(&spec);
    assert_eq!(a, b, "two builds of the same spec differ");
    // Files owned by several non-root users and groups: the user()/group() recommends
    // generated for them must come out in a stable order.
    let mut owners = spec.clone();
    for (i, who) in ["alice", "bob", "carol", "dave", "erin", "frank"]
        .iter()
        .enumerate()
    {
        let mut f = FileSpec::new(format!("/srv/{who}"), 0o600, BUILD_TIME, vec![i as u8]);
        f.user = who.to_string();
        f.group = format!("g{who}");
        owners.files.push(f);
    }
    let first = build(&owners);
    for _ in 0..4 {
        assert_eq!(first, build(&owners), "builds with several owners differ");
    }
    let mut other = spec.clone();
    other.build_time += 1;
    assert_ne!(a, build(&other), "the build time is not recorded");
}

/// A throwaway GnuPG home with one generated key.
struct TestKey {
    _home: tempfile::TempDir,
    home: PathBuf,
    secret_armored: String,
    passphrase: String,
}

fn gpg(home: &Path) -> Command {
    let mut c = Command::new("gpg");
    c.env("GNUPGHOME", home)
        .args(["--batch", "--quiet", "--pinentry-mode", "loopback"]);
    c
}

/// The armored secret keys of the GnuPG home `home`, protected by `passphrase`.
fn export_secret_keys(home: &Path, passphrase: &str) -> String {
    run_ok(gpg(home).args([
        "--passphrase",
        passphrase,
        "--armor",
        "--export-secret-keys",
    ]))
}

fn generate_key(algo: &str, passphrase: &str) -> TestKey {
    let home = tempfile::tempdir().unwrap();
    let path = home.path().to_path_buf();
    run_ok(gpg(&path).args([
        "--passphrase",
        passphrase,
        "--quick-gen-key",
        &format!("Isoremix Test {algo} <test-{algo}@example.org>"),
        algo,
        "sign",
        "never",
    ]));
    let secret_armored = export_secret_keys(&path, passphrase);
    assert!(secret_armored.contains("BEGIN PGP PRIVATE KEY BLOCK"));
    TestKey {
        _home: home,
        home: path,
        secret_armored,
        passphrase: passphrase.to_string(),
    }
}

/// A key generated by gpg with `algo` and [`PASSPHRASE`], loaded as our signing key.
fn signing_key(algo: &str) -> SigningKey {
    let made = generate_key(algo, PASSPHRASE);
    SigningKey::from_armored(&made.secret_armored, &made.passphrase).expect("load key")
}

fn sign(bytes: &[u8], key: &SigningKey, time: u32) -> Vec<u8> {
    let mut out = Vec::new();
    sign_package(&mut std::io::Cursor::new(bytes), &mut out, key, time).expect("sign");
    out
}

/// Imports `key`'s exported public key into a fresh rpm database and returns it.
fn rpmdb_with_key(dir: &Path, key: &SigningKey) -> PathBuf {
    let db = dir.join("keydb");
    std::fs::create_dir_all(&db).unwrap();
    let asc = write(
        dir,
        "RPM-GPG-KEY-test",
        key.public_key_armored().unwrap().as_bytes(),
    );
    run_ok(
        Command::new("rpmkeys")
            .arg("--dbpath")
            .arg(&db)
            .arg("--import")
            .arg(&asc),
    );
    db
}

#[test]
fn signed_packages_verify_with_rpmkeys() {
    for (algo, label) in [("rsa3072", "RSA/SHA256"), ("dsa1024", "DSA/SHA1")] {
        let tmp = tempfile::tempdir().unwrap();
        let key = signing_key(algo);
        let unsigned = build(&sample_spec());
        let signed = sign(&unsigned, &key, BUILD_TIME + 10);
        let mut built_signed = Vec::new();
        build_signed_package(&sample_spec(), &key, BUILD_TIME + 10, &mut built_signed).unwrap();
        assert_eq!(signed, built_signed);
        assert_eq!(
            signed,
            sign(&unsigned, &key, BUILD_TIME + 10),
            "{algo}: signing is not deterministic"
        );
        let pkg = write(tmp.path(), "signed.rpm", &signed);

        let empty_db = tmp.path().join("empty");
        std::fs::create_dir(&empty_db).unwrap();
        let out = run(rpm(&empty_db).arg("-Kv").arg(&pkg));
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            text.contains("NOKEY"),
            "{algo}: expected NOKEY without the key:\n{text}"
        );

        let db = rpmdb_with_key(tmp.path(), &key);
        let k = check_k(&db, &pkg);
        assert!(
            k.contains(&format!("Header V4 {label} Signature")),
            "{algo}:\n{k}"
        );
        assert!(!k.contains("NOKEY") && !k.contains("BAD"), "{algo}:\n{k}");
        assert!(k.contains("Header SHA256 digest: OK"), "{algo}:\n{k}");
        assert!(k.contains("Payload SHA256 digest: OK"), "{algo}:\n{k}");
        let q = run_ok(
            rpm(&db)
                .args([
                    "-qp",
                    "--qf",
                    "%{NAME} %{SIGPGP:pgpsig}%{RSAHEADER:pgpsig}%{DSAHEADER:pgpsig}",
                ])
                .arg(&pkg),
        );
        assert!(q.starts_with("example-driver "), "{q}");

        // Header-only and header+payload signatures, as rpmsign makes them.
        assert!(
            k.contains(&format!("\n    V4 {label} Signature")),
            "{algo}:\n{k}"
        );
        assert!(k.contains("MD5 digest: OK"), "{algo}:\n{k}");

        // Signing an already signed package replaces the signatures.
        let resigned = sign(&signed, &key, BUILD_TIME + 20);
        let pkg2 = write(tmp.path(), "resigned.rpm", &resigned);
        let k2 = check_k(&db, &pkg2);
        assert_eq!(k2.matches("Signature, key ID").count(), 2, "{k2}");
    }
}

#[test]
fn wrong_passphrase_is_refused() {
    let made = generate_key("rsa2048", PASSPHRASE);
    let err = SigningKey::from_armored(&made.secret_armored, "not the passphrase").unwrap_err();
    assert!(err.to_string().contains("passphrase"), "{err}");
}

/// A fresh GnuPG home that knows only `key`'s exported public key (written to `dir/key.asc`).
fn gpg_keyring_with(key: &SigningKey, dir: &Path) -> tempfile::TempDir {
    let verifier = tempfile::tempdir().unwrap();
    let pubkey = write(dir, "key.asc", key.public_key_armored().unwrap().as_bytes());
    run_ok(gpg(verifier.path()).arg("--import").arg(&pubkey));
    verifier
}

#[test]
fn detached_signature_verifies_with_gpg() {
    for algo in ["rsa2048", "dsa1024"] {
        let key = signing_key(algo);
        let data = b"<?xml version=\"1.0\"?>\n<repomd/>\n".to_vec();
        let sig = key.detached_signature(&data[..], BUILD_TIME).unwrap();
        assert_eq!(sig, key.detached_signature(&data[..], BUILD_TIME).unwrap());
        assert!(sig.starts_with("-----BEGIN PGP SIGNATURE-----"), "{sig}");

        let tmp = tempfile::tempdir().unwrap();
        let verifier = gpg_keyring_with(&key, tmp.path());
        let data_path = write(tmp.path(), "repomd.xml", &data);
        let sig_path = write(tmp.path(), "repomd.xml.asc", sig.as_bytes());
        let out = run(gpg(verifier.path())
            .arg("--status-fd=1")
            .arg("--verify")
            .arg(&sig_path)
            .arg(&data_path));
        let status = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success() && status.contains("[GNUPG:] GOODSIG"),
            "{algo}: {status}\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(
            status.contains(&key.fingerprint().to_uppercase()),
            "{status}"
        );

        // Tampered data fails.
        let bad_path = write(tmp.path(), "repomd-bad.xml", b"<repomd>changed</repomd>");
        let out = run(gpg(verifier.path())
            .arg("--verify")
            .arg(&sig_path)
            .arg(&bad_path));
        assert!(
            !out.status.success(),
            "{algo}: gpg accepted a signature of other data"
        );
    }
}

/// A meta-package made by rpmbuild, optionally signed by rpmsign with `signer`'s key.
fn rpmbuild_meta_package(dir: &Path, signer: Option<&TestKey>) -> PathBuf {
    let spec = dir.join("xcp-ng-deps.spec");
    std::fs::write(
        &spec,
        "Name: xcp-ng-deps\nVersion: 8.3\nRelease: 5\nEpoch: 1\nSummary: Meta package\n\
         License: GPLv2\nBuildArch: noarch\nRequires: xapi-core >= 1.0\nRequires: kernel\n\
         %description\nPulls in the packages of a host.\n%files\n",
    )
    .unwrap();
    let top = dir.join("rpmbuild");
    run_ok(
        Command::new("rpmbuild")
            .arg("--define")
            .arg(format!("_topdir {}", top.display()))
            .args(["--define", "_binary_payload w9.gzdio", "--nodeps", "-bb"])
            .arg(&spec),
    );
    let pkg = top.join("RPMS/noarch/xcp-ng-deps-8.3-5.noarch.rpm");
    assert!(pkg.exists(), "rpmbuild made no package");
    if let Some(k) = signer {
        run_ok(
            Command::new("rpmsign")
                .arg("--define")
                .arg(format!("_gpg_path {}", k.home.display()))
                .args([
                    "--define",
                    "_gpg_name Isoremix Test",
                    "--define",
                    "__gpg /usr/bin/gpg",
                ])
                .arg("--addsign")
                .arg(&pkg),
        );
    }
    pkg
}

/// The rpmbuild meta-package rewritten to release 5.remix1 with `add_requires`, signed by `key`.
fn rewritten_meta_package(dir: &Path, add_requires: Vec<Dep>, key: &SigningKey) -> Vec<u8> {
    let input = rpmbuild_meta_package(dir, None);
    let original = std::fs::read(&input).unwrap();
    let mut rewritten = Vec::new();
    let rewrite = RewriteSpec {
        release: NewRelease::Set("5.remix1".into()),
        add_requires,
        sign: Some((key, BUILD_TIME)),
    };
    rewrite_package(&mut &original[..], &mut rewritten, &rewrite).unwrap();
    rewritten
}

/// The decompressed payload archive of a package, as rpm2cpio extracts it.
fn payload_archive(pkg: &Path) -> Vec<u8> {
    let out = run(Command::new("rpm2cpio").arg(pkg));
    assert!(
        out.status.success(),
        "rpm2cpio failed on {}: {}",
        pkg.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

#[test]
fn rewritten_meta_package_is_accepted_by_rpm() {
    let tmp = tempfile::tempdir().unwrap();
    let rpmsign_key = generate_key("rsa2048", "");
    let ours = generate_key("rsa3072", PASSPHRASE);
    let key = SigningKey::from_armored(&ours.secret_armored, &ours.passphrase).unwrap();
    for signed_input in [false, true] {
        let input = rpmbuild_meta_package(tmp.path(), signed_input.then_some(&rpmsign_key));
        let original = std::fs::read(&input).unwrap();
        let db = rpmdb_with_key(tmp.path(), &key);
        let rpmsign_pub = write(
            tmp.path(),
            "rpmsign.asc",
            run_ok(gpg(&rpmsign_key.home).args(["--armor", "--export"])).as_bytes(),
        );
        run_ok(
            Command::new("rpmkeys")
                .arg("--dbpath")
                .arg(&db)
                .arg("--import")
                .arg(&rpmsign_pub),
        );
        if signed_input {
            let k = check_k(&db, &input);
            assert!(
                k.contains("Header V4 RSA/SHA512 Signature"),
                "rpmsign did not sign:\n{k}"
            );
        }
        for sign_output in [false, true] {
            let spec = RewriteSpec {
                release: NewRelease::Suffix(".remix1".into()),
                add_requires: vec![
                    Dep::any("example-driver"),
                    Dep::versioned("extra-tools", DepCmp::Ge, "2.0-1"),
                    Dep::any("kernel"),
                ],
                sign: sign_output.then_some((&key, BUILD_TIME)),
            };
            let mut out = Vec::new();
            let report = rewrite_package(&mut &original[..], &mut out, &spec).expect("rewrite");
            assert_eq!(report.old_release, "5");
            assert_eq!(report.new_release, "5.remix1");
            assert_eq!(report.added.len(), 2, "kernel was already required");
            let mut again = Vec::new();
            rewrite_package(&mut &original[..], &mut again, &spec).unwrap();
            assert_eq!(out, again, "two rewrites differ");

            let pkg = write(tmp.path(), "xcp-ng-deps-8.3-5.remix1.noarch.rpm", &out);
            let nevr = run_ok(
                rpm(&db)
                    .args(["-qp", "--qf", "%{NAME} %{EPOCH}:%{VERSION}-%{RELEASE}"])
                    .arg(&pkg),
            );
            assert_eq!(nevr, "xcp-ng-deps 1:8.3-5.remix1");
            let requires = run_ok(rpm(&db).args(["-qp", "--requires"]).arg(&pkg));
            for want in [
                "xapi-core >= 1.0",
                "kernel",
                "example-driver",
                "extra-tools >= 2.0-1",
            ] {
                assert!(
                    requires.lines().any(|l| l == want),
                    "missing {want:?} in:\n{requires}"
                );
            }
            assert_eq!(
                requires.lines().filter(|l| *l == "kernel").count(),
                1,
                "{requires}"
            );
            let provides = run_ok(rpm(&db).args(["-qp", "--provides"]).arg(&pkg));
            assert!(
                provides
                    .lines()
                    .any(|l| l == "xcp-ng-deps = 1:8.3-5.remix1"),
                "{provides}"
            );
            assert!(
                !provides.contains("8.3-5\n"),
                "old self-provide left: {provides}"
            );

            let k = check_k(&db, &pkg);
            assert!(k.contains("Header SHA256 digest: OK"), "{k}");
            assert!(k.contains("Header SHA1 digest: OK"), "{k}");
            assert!(k.contains("Payload SHA256 digest: OK"), "{k}");
            assert!(!k.contains("BAD"), "{k}");
            if sign_output {
                let ours = format!("key ID {}: OK", &key.fingerprint()[32..]);
                assert!(
                    k.contains("Header V4 RSA/SHA256 Signature") && k.contains(&ours),
                    "{k}"
                );
                assert_eq!(k.matches("Signature, key ID").count(), 2, "{k}");
            } else {
                assert!(!k.contains("Signature"), "old signature kept:\n{k}");
            }
            assert_eq!(
                payload_archive(&pkg),
                payload_archive(&input),
                "payload changed"
            );
        }
    }
}

#[test]
fn rewrite_of_our_own_build_keeps_files() {
    let tmp = tempfile::tempdir().unwrap();
    let db = tmp.path().join("db");
    std::fs::create_dir(&db).unwrap();
    let original = build(&sample_spec());
    let spec = RewriteSpec {
        release: NewRelease::Set("1.xcpng8.3.1".into()),
        add_requires: vec![Dep::versioned("other", DepCmp::Eq, "3:1.0-2")],
        sign: None,
    };
    let mut out = Vec::new();
    rewrite_package(&mut &original[..], &mut out, &spec).unwrap();
    let pkg = write(tmp.path(), "re.rpm", &out);
    let k = check_k(&db, &pkg);
    assert!(
        k.contains("Payload SHA256 digest: OK") && !k.contains("BAD"),
        "{k}"
    );
    let requires = run_ok(rpm(&db).args(["-qp", "--requires"]).arg(&pkg));
    assert!(
        requires.lines().any(|l| l == "other = 3:1.0-2"),
        "{requires}"
    );
    assert_eq!(cpio_list(&pkg).len(), 3);
    let scripts = run_ok(rpm(&db).args(["-qp", "--scripts"]).arg(&pkg));
    assert!(scripts.contains("depmod -a 4.19.0+1"), "{scripts}");
}

#[test]
fn rpmvercmp_matches_rpm() {
    let cases = [
        ("1.0", "1.0"),
        ("1.0", "2.0"),
        ("2.0", "1.0"),
        ("2.0.1", "2.0.1"),
        ("2.0", "2.0.1"),
        ("2.0.1a", "2.0.1"),
        ("5.5p1", "5.5p2"),
        ("5.5p10", "5.5p1"),
        ("10xyz", "10.1xyz"),
        ("xyz10", "xyz10.1"),
        ("xyz.4", "8"),
        ("5.5p1", "5.6p1"),
        ("6.0.rc1", "6.0"),
        ("10b2", "10a1"),
        ("1.0aa", "1.0a"),
        ("10.0001", "10.1"),
        ("10.0001", "10.0039"),
        ("4.999.9", "5.0"),
        ("20101121", "20101122"),
        ("2_0", "2_0"),
        ("2.0", "2_0"),
        ("a", "a"),
        ("a+", "a_"),
        ("+", "_"),
        ("1.0~rc1", "1.0"),
        ("1.0~rc1", "1.0~rc2"),
        ("1.0~rc1~git123", "1.0~rc1"),
        ("1.0^", "1.0"),
        ("1.0^git1", "1.0"),
        ("1.0^git1", "1.01"),
        ("1.0^20160101", "1.0.1"),
        ("1.0^20160101^git1", "1.0^20160101"),
        ("1.0~rc1^git1", "1.0~rc1"),
        ("1.0^git1~pre", "1.0^git1"),
        ("1.0", "1.0a"),
        ("8.3", "8.3.0"),
        ("5.remix1", "5"),
        ("1.xcpng8.3", "1.xcpng8.3.1"),
        ("4.19.19-1", "4.19.19-8.0.10"),
        ("abc", "ABC"),
        ("0", "00"),
        ("1:1.0", "2.0"),
        ("0:1.0", "1.0"),
        ("1.0-2", "1.0-10"),
    ];
    let mut lua = String::from("%{lua: for _, p in ipairs({");
    for (a, b) in &cases {
        lua.push_str(&format!("{{\"{a}\",\"{b}\"}},"));
    }
    lua.push_str("}) do print(rpm.vercmp(p[1], p[2]) .. \",\") end}");
    let out = run_ok(Command::new("rpm").arg("--eval").arg(&lua));
    let theirs: Vec<i32> = out
        .split(',')
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .map(|v| v.parse().expect("rpm printed a number"))
        .collect();
    assert_eq!(theirs.len(), cases.len(), "rpm printed:\n{out}");
    for ((a, b), want) in cases.iter().zip(theirs) {
        // rpm.vercmp parses its arguments as [epoch:]version[-release].
        let evr = |s: &str| Evr::parse(s).unwrap_or_else(|e| panic!("{e}"));
        if !a.contains([':', '-']) && !b.contains([':', '-']) {
            assert_eq!(rpmvercmp(a, b), evr(a).cmp(&evr(b)));
        }
        let ours = match evr(a).cmp(&evr(b)) {
            Ordering::Less => -1,
            Ordering::Equal => 0,
            Ordering::Greater => 1,
        };
        assert_eq!(ours, want, "rpmvercmp({a:?}, {b:?})");
    }
}

#[test]
fn padding_packages_are_valid_incompressible_and_reproducible() {
    use isoremix::rpm::{PaddingSpec, build_padding_package};
    let tmp = tempfile::tempdir().unwrap();
    let db = tmp.path().join("db");
    std::fs::create_dir(&db).unwrap();
    let padding = PaddingSpec {
        name: "padding-001".into(),
        version: "1.0".into(),
        release: "1".into(),
        size: 3 << 20,
        seed: 1,
    };
    let make = |p: &PaddingSpec| {
        let mut out = Vec::new();
        build_padding_package(p, BUILD_TIME, "build.example.org", &mut out).unwrap();
        out
    };
    let bytes = make(&padding);
    assert_eq!(bytes, make(&padding), "two padding builds differ");
    let other = make(&PaddingSpec {
        seed: 2,
        ..padding.clone()
    });
    assert_ne!(bytes, other, "the seed does not change the content");
    assert!(
        bytes.len() as u64 > padding.size,
        "filler compressed to {} bytes",
        bytes.len()
    );
    let pkg = write(tmp.path(), "padding-001-1.0-1.noarch.rpm", &bytes);
    let k = check_k(&db, &pkg);
    assert!(k.contains("Payload SHA256 digest: OK"), "{k}");
    let list = run_ok(
        rpm(&db)
            .args(["-qp", "--qf", "[%{FILENAMES} %{FILESIZES}\\n]"])
            .arg(&pkg),
    );
    assert_eq!(
        list,
        format!(
            "/usr/share/padding-001 0\n/usr/share/padding-001/filler.bin {}\n",
            padding.size
        )
    );
    let archive = payload_archive(&pkg);
    let archive_size = run_ok(
        rpm(&db)
            .args(["-qp", "--qf", "%{LONGARCHIVESIZE}"])
            .arg(&pkg),
    );
    assert_eq!(archive_size, archive.len().to_string());
    assert_eq!(
        cpio_list(&pkg),
        [
            "./usr/share/padding-001",
            "./usr/share/padding-001/filler.bin"
        ]
    );

    // Installed, the file has the digest the header records (rpm -V) and the filler's bytes.
    let root = tmp.path().join("root");
    std::fs::create_dir(&root).unwrap();
    let rpm_root = || {
        let mut c = Command::new("rpm");
        c.arg("--root").arg(&root).args(["--dbpath", "/db"]);
        c
    };
    run_ok(rpm_root().args(["-i", "--nodeps", "--noscripts"]).arg(&pkg));
    run_ok(rpm_root().args(["-V", "--nomtime", "padding-001"]));
    let installed = std::fs::read(root.join("usr/share/padding-001/filler.bin")).unwrap();
    assert_eq!(
        installed,
        isoremix::rpm::Filler::new(1).take_vec(padding.size as usize)
    );
}

/// Runs createrepo_c on the folder `repo` and returns the primary.xml it wrote.
fn createrepo_c_primary(repo: &Path) -> String {
    run_ok(Command::new("createrepo_c").arg("--quiet").arg(repo));
    let primary = std::fs::read_dir(repo.join("repodata"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.to_string_lossy().ends_with("-primary.xml.gz"))
        .expect("createrepo_c wrote no primary.xml.gz");
    let mut xml = String::new();
    std::io::Read::read_to_string(
        &mut flate2::read::GzDecoder::new(std::fs::File::open(primary).unwrap()),
        &mut xml,
    )
    .unwrap();
    xml
}

#[test]
fn createrepo_c_indexes_built_signed_and_rewritten_packages() {
    let tmp = tempfile::tempdir().unwrap();
    let repo = tmp.path().join("repo");
    std::fs::create_dir(&repo).unwrap();
    let key = signing_key("rsa2048");
    let spec = sample_spec();
    write(
        &repo,
        &spec.file_name(),
        &sign(&build(&spec), &key, BUILD_TIME),
    );

    let rewritten = rewritten_meta_package(
        tmp.path(),
        vec![Dep::versioned("example-driver", DepCmp::Ge, "2:1.2.3")],
        &key,
    );
    write(&repo, "xcp-ng-deps-8.3-5.remix1.noarch.rpm", &rewritten);

    let xml = createrepo_c_primary(&repo);
    for want in [
        "<metadata xmlns=\"http://linux.duke.edu/metadata/common\" xmlns:rpm=\"http://linux.duke.edu/metadata/rpm\" packages=\"2\">",
        "<name>example-driver</name>",
        "<arch>x86_64</arch>",
        "<version epoch=\"2\" ver=\"1.2.3\" rel=\"1.xcpng8.3\"/>",
        "<rpm:sourcerpm>example-driver-1.2.3-1.xcpng8.3.src.rpm</rpm:sourcerpm>",
        "<rpm:buildhost>build.example.org</rpm:buildhost>",
        "<rpm:entry name=\"kernel\" flags=\"GE\" epoch=\"0\" ver=\"4.19.19\"/>",
        "<file>/etc/modprobe.d/example.conf</file>",
        "<name>xcp-ng-deps</name>",
        "<version epoch=\"1\" ver=\"8.3\" rel=\"5.remix1\"/>",
        "<rpm:entry name=\"example-driver\" flags=\"GE\" epoch=\"2\" ver=\"1.2.3\"/>",
        "<rpm:entry name=\"xcp-ng-deps\" flags=\"EQ\" epoch=\"1\" ver=\"8.3\" rel=\"5.remix1\"/>",
    ] {
        assert!(
            xml.contains(want),
            "missing {want:?} in primary.xml:\n{xml}"
        );
    }
    assert!(
        !xml.contains("archive=\"0\""),
        "archive size missing:\n{xml}"
    );
}

#[test]
fn kernel_module_package_has_modules_and_depmod_scripts() {
    use isoremix::rpm::{KernelModules, kernel_module_spec};
    let tmp = tempfile::tempdir().unwrap();
    let db = tmp.path().join("db");
    std::fs::create_dir(&db).unwrap();
    let km = KernelModules {
        name: "example-module".into(),
        version: "5.1".into(),
        release: "1".into(),
        kernel_version: "4.19.0+1".into(),
        modules: vec![("example.ko".into(), b"\x7fELF...".to_vec())],
    };
    let mut spec = kernel_module_spec(&km, BUILD_TIME, "build.example.org").unwrap();
    spec.requires
        .push(Dep::versioned("kernel-uname-r", DepCmp::Eq, "4.19.0+1"));
    let pkg = write(tmp.path(), &spec.file_name(), &build(&spec));
    let files = run_ok(rpm(&db).args(["-qpl"]).arg(&pkg));
    assert_eq!(files, "/lib/modules/4.19.0+1/updates/example.ko\n");
    let scripts = run_ok(rpm(&db).args(["-qp", "--scripts"]).arg(&pkg));
    assert!(
        scripts.contains("postinstall scriptlet (using /bin/sh):\ndepmod -a 4.19.0+1"),
        "{scripts}"
    );
    let requires = run_ok(rpm(&db).args(["-qp", "--requires"]).arg(&pkg));
    assert!(
        requires.lines().any(|l| l == "kernel-uname-r = 4.19.0+1"),
        "{requires}"
    );

    let bad = KernelModules {
        modules: vec![("../evil.ko".into(), Vec::new())],
        ..km
    };
    assert!(kernel_module_spec(&bad, BUILD_TIME, "h").is_err());
}

#[test]
fn rpm_installs_built_signed_and_rewritten_packages() {
    use std::os::unix::fs::PermissionsExt as _;
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("root");
    std::fs::create_dir(&root).unwrap();
    let key = signing_key("rsa2048");
    let spec = sample_spec();
    let driver = write(
        tmp.path(),
        &spec.file_name(),
        &sign(&build(&spec), &key, BUILD_TIME),
    );
    let rewritten = rewritten_meta_package(tmp.path(), vec![Dep::any("example-driver")], &key);
    let meta = write(
        tmp.path(),
        "xcp-ng-deps-8.3-5.remix1.noarch.rpm",
        &rewritten,
    );

    // The database lives inside the root; the key is imported first so that rpm checks the
    // signatures while installing.
    let key_file = write(
        tmp.path(),
        "key.asc",
        key.public_key_armored().unwrap().as_bytes(),
    );
    let rpm_root = || {
        let mut c = Command::new("rpm");
        c.arg("--root").arg(&root).args(["--dbpath", "/db"]);
        c
    };
    run_ok(rpm_root().arg("--import").arg(&key_file));
    run_ok(
        rpm_root()
            .args(["-i", "--nodeps", "--noscripts", "--notriggers"])
            .arg(&driver)
            .arg(&meta),
    );
    let installed = run_ok(rpm_root().args([
        "-qa",
        "--qf",
        "%{NEVRA} %{SIGPGP:pgpsig}|%{RSAHEADER:pgpsig}\\n",
    ]));
    let mut lines: Vec<&str> = installed
        .lines()
        .filter(|l| !l.starts_with("gpg-pubkey"))
        .collect();
    lines.sort();
    assert_eq!(lines.len(), 2, "{installed}");
    assert!(
        lines[0].starts_with("example-driver-2:1.2.3-1.xcpng8.3.x86_64 RSA/SHA256")
            && lines[0].contains("|RSA/SHA256"),
        "{installed}"
    );
    assert!(
        lines[1].starts_with("xcp-ng-deps-1:8.3-5.remix1.noarch RSA/SHA256")
            && lines[1].contains("|RSA/SHA256"),
        "{installed}"
    );
    for f in &spec.files {
        let on_disk = root.join(f.path.trim_start_matches('/'));
        assert_eq!(std::fs::read(&on_disk).unwrap(), f.content, "{}", f.path);
        let mode = std::fs::metadata(&on_disk).unwrap().permissions().mode();
        assert_eq!(mode & 0o7777, u32::from(f.mode), "{}", f.path);
    }
    // rpm -V finds the installed files as the header describes them (mtime aside, which a
    // non-root install may not be able to set for every file).
    let verify = run(rpm_root().args([
        "-V",
        "--nodeps",
        "--nomtime",
        "--nouser",
        "--nogroup",
        "example-driver",
    ]));
    assert!(
        verify.status.success(),
        "rpm -V: {}{}",
        String::from_utf8_lossy(&verify.stdout),
        String::from_utf8_lossy(&verify.stderr)
    );
}

#[test]
fn header_range_matches_createrepo_c() {
    let tmp = tempfile::tempdir().unwrap();
    let bytes = build(&sample_spec());
    let header = isoremix::rpm::read_package(&bytes[..]).unwrap().header;
    let (from, to) = (header.header_start, header.header_end);
    let repo = tmp.path().join("repo");
    std::fs::create_dir(&repo).unwrap();
    write(&repo, "p.rpm", &bytes);
    let xml = createrepo_c_primary(&repo);
    let want = format!("<rpm:header-range start=\"{from}\" end=\"{to}\"/>");
    assert!(xml.contains(&want), "missing {want} in:\n{xml}");
}

/// A GnuPG home with an RSA primary key of `usage` and a separate RSA signing subkey, as many
/// real repository keys are made; returns it with the primary fingerprint.
fn key_with_signing_subkey(usage: &str) -> (tempfile::TempDir, String) {
    let home = tempfile::tempdir().unwrap();
    let uid = "Isoremix Subkey Test <subkey@example.org>";
    run_ok(gpg(home.path()).args([
        "--passphrase",
        PASSPHRASE,
        "--quick-gen-key",
        uid,
        "rsa3072",
        usage,
        "never",
    ]));
    let listing = run_ok(gpg(home.path()).args(["--with-colons", "--list-keys", uid]));
    let fpr = listing
        .lines()
        .find(|l| l.starts_with("fpr:"))
        .and_then(|l| l.split(':').nth(9))
        .expect("primary fingerprint")
        .to_string();
    run_ok(gpg(home.path()).args([
        "--passphrase",
        PASSPHRASE,
        "--quick-add-key",
        &fpr,
        "rsa3072",
        "sign",
        "never",
    ]));
    (home, fpr)
}

#[test]
fn certification_only_primary_key_is_refused() {
    // rpm 4.11 checks signatures against primary keys only: a key whose primary key may not
    // sign cannot make a signature it accepts.
    let (home, _) = key_with_signing_subkey("cert");
    let secret = export_secret_keys(home.path(), PASSPHRASE);
    let err = SigningKey::from_armored(&secret, PASSPHRASE).unwrap_err();
    assert!(
        err.to_string()
            .contains("primary key is not allowed to sign"),
        "{err}"
    );
}

#[test]
fn primary_key_signs_although_a_signing_subkey_exists() {
    let (home, fpr) = key_with_signing_subkey("sign");
    let secret = export_secret_keys(home.path(), PASSPHRASE);
    let key = SigningKey::from_armored(&secret, PASSPHRASE).unwrap();
    assert_eq!(key.fingerprint(), fpr.to_lowercase());

    let tmp = tempfile::tempdir().unwrap();
    let pkg = write(
        tmp.path(),
        "signed.rpm",
        &sign(&build(&sample_spec()), &key, BUILD_TIME),
    );
    let db = rpmdb_with_key(tmp.path(), &key);
    let k = check_k(&db, &pkg);
    assert!(
        k.contains("Header V4 RSA/SHA256 Signature") && !k.contains("NOKEY"),
        "{k}"
    );
    let primary_id = format!("key ID {}: OK", &fpr.to_lowercase()[32..]);
    assert_eq!(
        k.matches(&primary_id).count(),
        2,
        "not signed by the primary key:\n{k}"
    );

    let data = b"repomd".to_vec();
    let sig = write(
        tmp.path(),
        "d.asc",
        key.detached_signature(&data[..], BUILD_TIME)
            .unwrap()
            .as_bytes(),
    );
    let data_path = write(tmp.path(), "d", &data);
    let verifier = gpg_keyring_with(&key, tmp.path());
    let status = run_ok(
        gpg(verifier.path())
            .arg("--status-fd=1")
            .arg("--verify")
            .arg(&sig)
            .arg(&data_path),
    );
    assert!(status.contains("[GNUPG:] GOODSIG"), "{status}");
}
