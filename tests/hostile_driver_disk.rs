//! Bad inputs to `isoremix driver-disk` give clear errors (naming the file and the problem),
//! never a panic, and leave no image behind; `isoremix inspect` survives a broken `update.xml`.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use common::{isoremix, require, run};
use isoremix::rpm::{FileSpec, PackageSpec, build_package};

/// A package with the given files (path, content), built by isoremix's RPM builder.
fn package(dir: &Path, name: &str, files: &[(&str, &[u8])]) -> PathBuf {
    let mut spec = PackageSpec::new(name, "1.0", "1", "x86_64", 1_700_000_000, "test.invalid");
    spec.summary = "test package".into();
    for (path, content) in files {
        spec.files
            .push(FileSpec::new(*path, 0o644, 1_700_000_000, content.to_vec()));
    }
    let mut bytes = Vec::new();
    build_package(&spec, &mut bytes).unwrap();
    let path = dir.join(spec.file_name());
    std::fs::write(&path, bytes).unwrap();
    path
}

fn module_package(dir: &Path, name: &str) -> PathBuf {
    package(
        dir,
        name,
        &[(
            "/lib/modules/4.19.0+1/updates/igc.ko",
            b"\x7fELF\x02\x01\x01\0fake module",
        )],
    )
}

/// Runs `isoremix driver-disk` on a profile with `driver_disk` as the `[driver_disk]` body;
/// returns the output and the image path.
fn driver_disk(dir: &Path, driver_disk: &str, extra: &str) -> (Output, PathBuf) {
    let profile = dir.join("dd.toml");
    std::fs::write(
        &profile,
        format!("[driver_disk]\n{driver_disk}\n[output]\niso = \"out.iso\"\n{extra}"),
    )
    .unwrap();
    let out = isoremix()
        .env("SOURCE_DATE_EPOCH", "1700000000")
        .arg("driver-disk")
        .arg(&profile)
        .output()
        .unwrap();
    (out, dir.join("out.iso"))
}

/// Asserts a clean failure: exit status 1, every `wanted` text in stderr, no panic, no image
/// and no temporary file left in `dir`.
fn assert_refused(dir: &Path, (out, iso): (Output, PathBuf), wanted: &[&str]) {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "stderr:\n{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    for w in wanted {
        assert!(stderr.contains(w), "expected {w:?} in:\n{stderr}");
    }
    assert!(!iso.exists(), "an image was written despite the error");
    let leftovers: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".partial"))
        .collect();
    assert!(leftovers.is_empty(), "left behind: {leftovers:?}");
}

#[test]
fn missing_rpm_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let result = driver_disk(
        dir.path(),
        "name = \"intel-igc\"\nrpm = \"drivers/intel-igc-1.0-1.x86_64.rpm\"",
        "",
    );
    assert_refused(
        dir.path(),
        result,
        &["intel-igc-1.0-1.x86_64.rpm", "dd.toml:"],
    );
}

#[test]
fn rpm_without_kernel_modules_is_not_a_driver() {
    let dir = tempfile::tempdir().unwrap();
    let rpm = package(
        dir.path(),
        "not-a-driver",
        &[
            ("/usr/share/doc/not-a-driver/README", b"just docs\n"),
            // Near misses: not under a kernel's module tree, or not a module.
            ("/usr/share/not-a-driver/igc.ko", b"\x7fELF"),
            ("/lib/modules/4.19.0+1/modules.dep", b"\n"),
        ],
    );
    let result = driver_disk(
        dir.path(),
        &format!("name = \"intel-igc\"\nrpm = \"{}\"", rpm.display()),
        "",
    );
    assert_refused(
        dir.path(),
        result,
        &["not-a-driver-1.0-1.x86_64", "installs no kernel module"],
    );
}

#[test]
fn names_rpm_forbids_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let rpm = module_package(dir.path(), "intel-igc");
    for bad in ["intel igc", "intel/igc", ".igc", "igc;rm", "igé", ""] {
        let result = driver_disk(
            dir.path(),
            &format!("name = \"{bad}\"\nrpm = \"{}\"", rpm.display()),
            "",
        );
        assert_refused(dir.path(), result, &["dd.toml:2:", "name"]);
    }
}

#[test]
fn files_that_are_not_rpms_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let good = std::fs::read(module_package(dir.path(), "intel-igc")).unwrap();
    let cases: [(&str, Vec<u8>, &str); 4] = [
        ("empty.rpm", Vec::new(), "truncated"),
        (
            "text.rpm",
            b"this is not a package\n".repeat(10),
            "not an RPM",
        ),
        ("cut.rpm", good[..200].to_vec(), "truncated"),
        (
            "huge-header.rpm",
            {
                let mut b = good.clone();
                // Signature header: claim 0xffffffff index entries.
                b[104..108].copy_from_slice(&[0xff; 4]);
                b
            },
            "impossible size",
        ),
    ];
    for (file, bytes, wanted) in cases {
        let path = dir.path().join(file);
        std::fs::write(&path, bytes).unwrap();
        let result = driver_disk(
            dir.path(),
            &format!("name = \"intel-igc\"\nrpm = \"{}\"", path.display()),
            "",
        );
        assert_refused(dir.path(), result, &[file, wanted]);
    }
}

#[test]
fn driver_named_like_the_control_package_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let rpm = module_package(dir.path(), "update-igc");
    let result = driver_disk(
        dir.path(),
        &format!("name = \"igc\"\nrpm = \"{}\"", rpm.display()),
        "",
    );
    assert_refused(dir.path(), result, &["update-igc", "cannot use"]);
}

#[test]
fn unusable_signing_key_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let rpm = module_package(dir.path(), "intel-igc");
    let key = dir.path().join("key.asc");
    std::fs::write(&key, "-----BEGIN PGP PRIVATE KEY BLOCK-----\n\ngarbage\n").unwrap();
    let result = driver_disk(
        dir.path(),
        &format!("name = \"intel-igc\"\nrpm = \"{}\"", rpm.display()),
        &format!("[signing]\nkey = \"{}\"\n", key.display()),
    );
    assert_refused(dir.path(), result, &["signing key", "key.asc"]);

    let result = driver_disk(
        dir.path(),
        &format!("name = \"intel-igc\"\nrpm = \"{}\"", rpm.display()),
        &format!(
            "[signing]\nkey = \"{}\"\npassphrase_env = \"ISOREMIX_TEST_UNSET_PASSPHRASE\"\n",
            key.display()
        ),
    );
    assert_refused(dir.path(), result, &["ISOREMIX_TEST_UNSET_PASSPHRASE"]);
}

#[test]
fn inspect_reports_a_broken_update_xml_without_failing() {
    require("genisoimage");
    let dir = tempfile::tempdir().unwrap();
    let tree = dir.path().join("tree");
    std::fs::create_dir_all(tree.join("repodata")).unwrap();
    std::fs::write(tree.join("repodata/repomd.xml"), "<repomd/>\n").unwrap();
    for (i, update_xml) in [
        "<update uuid=\"x\" name-label=\"y\"".to_string(),
        "<comps/>".to_string(),
        format!("<update uuid=\"{}\"/>", "u".repeat(70_000)),
    ]
    .iter()
    .enumerate()
    {
        std::fs::write(tree.join("update.xml"), update_xml).unwrap();
        let iso = dir.path().join(format!("broken-{i}.iso"));
        run(Command::new("genisoimage")
            .args(["-quiet", "-R", "-J", "-o"])
            .arg(&iso)
            .arg(&tree));
        let text = run(isoremix().arg("inspect").arg(&iso));
        assert!(text.contains("driver disk: unreadable:"), "{text}");
        let json = run(isoremix().args(["inspect", "--json"]).arg(&iso));
        let v: serde_json::Value = serde_json::from_str(&json).unwrap();
        assert!(v["driver_disk"]["problem"].is_string(), "{json}");
    }
}

#[test]
fn bare_modules_that_are_not_modules_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let ko = dir.path().join("igc.ko");
    std::fs::write(&ko, b"not an ELF file, whatever its name says\n").unwrap();
    // Without `kernel`, the vermagic is read first; with it, the wrapper checks the module.
    for kernel in ["", "kernel = \"4.19.0+1\"\n"] {
        let result = driver_disk(
            dir.path(),
            &format!(
                "name = \"intel-igc\"\nko = [\"{}\"]\n{kernel}",
                ko.display()
            ),
            "",
        );
        assert_refused(dir.path(), result, &["igc.ko", "intel-igc"]);
    }
}
