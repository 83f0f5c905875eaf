use super::*;
use crate::iso::NewContent;

/// The built-in sample, opened for editing.
fn sample() -> (tempfile::TempDir, SourceIso) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sample.iso");
    crate::sample::write(&path, &crate::sample::Options::default()).unwrap();
    let source = SourceIso::open(&path).unwrap();
    (dir, source)
}

fn put(source: &mut SourceIso, path: &str, bytes: &[u8]) {
    let time = hadris_fs::DateTime::from_unix_seconds(0).unwrap();
    source
        .put_file(path, NewContent::Bytes(bytes.to_vec()), time)
        .unwrap();
}

/// Replaces `from` by `to` in the image's file at `path`.
fn edit(source: &mut SourceIso, path: &str, from: &str, to: &str) {
    let text = String::from_utf8(source.read_file(path).unwrap()).unwrap();
    assert!(text.contains(from), "{path} has no {from:?}");
    put(source, path, text.replacen(from, to, 1).as_bytes());
}

fn errors(report: &Report, check: &str) -> Vec<String> {
    report
        .findings
        .iter()
        .filter(|f| f.check == check && f.severity == Severity::Error)
        .map(|f| f.message.clone())
        .collect()
}

#[test]
fn the_sample_installs_in_every_entry() {
    let (_dir, source) = sample();
    let report = verify(&source, &Options::full());
    assert!(report.installs, "{}", report.to_text());
    let install = &report.entries[0].variants[0];
    assert_eq!(install.targets, ["xcp-ng-deps"]);
    assert!(install.packages.iter().any(|p| p.starts_with("bash-")));
    let alt = report
        .entries
        .iter()
        .find(|e| e.label == "install-alt")
        .unwrap();
    assert_eq!(alt.variants[0].targets, ["xcp-ng-deps", "kernel-alt"]);
    check_build(&source, &[]).unwrap();
}

#[test]
fn treeinfo_check() {
    let (_dir, mut source) = sample();
    edit(
        &mut source,
        "/.treeinfo",
        "version = 8.3.0",
        "version = 8.3.x",
    );
    edit(&mut source, "/.treeinfo", "number = cloud", "number = 100%");
    edit(
        &mut source,
        "/.treeinfo",
        "key1 = RPM-GPG-KEY-xcpng",
        "key1 = NOPE",
    );
    let report = verify(&source, &Options::full());
    let found = errors(&report, "treeinfo").join("\n");
    for needle in [
        "not dotted numbers",
        "ConfigParser",
        "NOPE, which is not on the image",
    ] {
        assert!(found.contains(needle), "no {needle:?} in {found}");
    }
    assert!(!report.installs);
}

#[test]
fn repodata_and_package_checks() {
    let (_dir, mut source) = sample();
    put(
        &mut source,
        "/Packages/sample-docs-1.0-1.xcpng8.3.noarch.rpm",
        b"not it",
    );
    let report = verify(&source, &Options::full());
    let found = errors(&report, "packages").join("\n");
    assert!(
        found.contains("sample-docs-1.0-1.xcpng8.3.noarch.rpm: 6 bytes"),
        "{found}"
    );
    // The build's cheap pass sees the size too.
    let err = check_build(&source, &[]).unwrap_err().to_string();
    assert!(err.contains("sample-docs"), "{err}");

    put(&mut source, "/repodata/repomd.xml", b"<repomd><data");
    let report = verify(&source, &Options::full());
    assert!(
        !errors(&report, "repodata").is_empty(),
        "{}",
        report.to_text()
    );
    assert!(
        report
            .entries
            .iter()
            .all(|e| e.verdict != Verdict::Installs)
    );
}

#[test]
fn install_img_and_answer_file_checks() {
    let (_dir, mut source) = sample();
    for cfg in [crate::boot::ISOLINUX_CFG, crate::boot::GRUB_CFG] {
        edit(
            &mut source,
            cfg,
            "console=hvc0 console=tty0",
            "console=hvc0 console=tty0 answerfile=file:///missing.xml install",
        );
    }
    let report = verify(&source, &Options::full());
    let install = &report.entries[0];
    assert_eq!(install.verdict, Verdict::DoesNotInstall);
    assert!(
        install
            .variants
            .iter()
            .flat_map(|v| &v.reasons)
            .any(|r| r.contains("/missing.xml")),
        "{}",
        report.to_text()
    );
    put(&mut source, "/install.img", b"BZh91AY&SY garbage");
    let report = verify(&source, &Options::full());
    let found = errors(&report, "install-img").join("\n");
    assert!(found.contains("cannot be unpacked"), "{found}");
}

#[test]
fn signature_checks() {
    let (_dir, mut source) = sample();
    source.remove("/repodata/repomd.xml.asc").unwrap();
    let report = verify(&source, &Options::full());
    let (_, reasons) = report.failures()[0];
    assert!(
        reasons[0].starts_with("No signature on repository metadata"),
        "{reasons:?}"
    );
    // Not a build check: the build leaves signatures to the signing step.
    check_build(&source, &[]).unwrap();
}

#[test]
fn boot_configs_must_agree_in_a_build() {
    let (_dir, mut source) = sample();
    edit(
        &mut source,
        crate::boot::GRUB_CFG,
        "console=hvc0 console=tty0",
        "console=tty0",
    );
    let report = verify(&source, &Options::full());
    assert!(
        report.installs,
        "each way still installs: {}",
        report.to_text()
    );
    assert!(report.to_text().contains("boots differently per config"));
    let err = check_build(&source, &[]).unwrap_err().to_string();
    assert!(
        err.contains("entry \"install\" boots differently per config"),
        "{err}"
    );
}

/// The report as JSON, to compare two reports whole.
fn json(report: &Report) -> String {
    serde_json::to_string(report).unwrap()
}

#[test]
fn install_img_results_are_remembered_per_image_and_confirmed_by_its_digest() {
    let (_dir, source) = sample();
    let memo = tempfile::tempdir().unwrap();
    let with_memo = Options {
        install_img_memo: Some(memo.path().to_path_buf()),
        ..Options::full()
    };
    let plain = json(&verify(&source, &Options::full()));
    // The first run decodes and remembers; the next takes the result from the memo: the same
    // report either way.
    assert_eq!(json(&verify(&source, &with_memo)), plain);
    let names: Vec<String> = std::fs::read_dir(memo.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    let [name] = names.as_slice() else {
        panic!("one memo file expected: {names:?}")
    };
    let hex = name.strip_prefix("verify-install-img-").unwrap();
    let key: [u8; 32] = (0..32)
        .map(|i| u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).unwrap())
        .collect::<Vec<_>>()
        .try_into()
        .unwrap();
    let (remembered, digest) = install_img_memo::load(memo.path(), &key).unwrap();
    let now = crate::initrd::image_digest::image_digest_of(
        source.open_file(crate::xcpng::INSTALL_IMG).unwrap(),
    );
    assert_eq!(digest, now.unwrap());
    assert_eq!(json(&verify(&source, &with_memo)), plain);

    // A result the memo holds for this image is used as it is...
    let planted = |digest: &[u8; 32]| {
        let mut found = InstallImg {
            readable: remembered.readable,
            files: remembered.files.clone(),
            findings: remembered.findings.clone(),
        };
        found.findings.push(Finding {
            check: "install-img",
            severity: Severity::Error,
            message: "planted in the memo".into(),
        });
        install_img_memo::store(memo.path(), &key, digest, &found);
    };
    planted(&digest);
    let report = verify(&source, &with_memo);
    assert!(json(&report).contains("planted in the memo"));
    assert!(!report.installs);
    // ...but one made from other bytes (the same length, first and last bytes: the same key)
    // is not: the image is decoded again, judged as it is, and remembered again.
    planted(&[0; 32]);
    assert_eq!(json(&verify(&source, &with_memo)), plain);
    let (again, again_digest) = install_img_memo::load(memo.path(), &key).unwrap();
    assert_eq!(again_digest, digest);
    assert_eq!(again.findings, remembered.findings);
}
