//! Bad `[[drivers]]` inputs: each build fails with a message naming the problem, and no
//! output ISO is left behind. The source is the built-in sample, whose install.img has kernel
//! `4.19.0+1` and no modules (or, for two kernels, the sample with its install.img replaced by
//! xorriso).

mod common;

use std::fs;
use std::path::{Path, PathBuf};

use common::debian_kernel::kernel;
use common::isoremix;
use isoremix::rpm::{FileSpec, PackageSpec, build_package};

const SAMPLE_KVER: &str = "4.19.0+1";

/// Builds with `drivers` (TOML `[[drivers]]` tables) over the sample; returns (success, output
/// text, whether the output ISO exists).
fn build(dir: &Path, drivers: &str) -> (bool, String, bool) {
    let profile = dir.join("profile.toml");
    fs::write(
        &profile,
        format!("[source]\niso = \"builtin:sample\"\n[output]\niso = \"out.iso\"\n\n{drivers}"),
    )
    .unwrap();
    let out = isoremix().arg("build").arg(&profile).output().unwrap();
    let mut text = String::from_utf8_lossy(&out.stdout).into_owned();
    text.push_str(&String::from_utf8_lossy(&out.stderr));
    (out.status.success(), text, dir.join("out.iso").exists())
}

fn assert_refused(dir: &Path, drivers: &str, expect: &[&str]) {
    let (ok, text, exists) = build(dir, drivers);
    assert!(!ok, "the build should fail:\n{text}");
    assert!(!exists, "a failed build left an output ISO");
    for e in expect {
        assert!(text.contains(e), "message lacks {e:?}:\n{text}");
    }
}

/// A package holding `files` (path, content), made by the project's deterministic builder.
fn package(dir: &Path, name: &str, files: &[(&str, Vec<u8>)]) -> PathBuf {
    let mut spec = PackageSpec::new(name, "1.0", "1", "x86_64", 1_700_000_000, "build.example");
    for (path, content) in files {
        spec.files
            .push(FileSpec::new(*path, 0o644, 1_700_000_000, content.clone()));
    }
    let path = dir.join(spec.file_name());
    let mut out = Vec::new();
    build_package(&spec, &mut out).unwrap();
    fs::write(&path, out).unwrap();
    path
}

#[test]
fn a_ko_that_is_not_elf_is_refused() {
    let work = tempfile::tempdir().unwrap();
    let ko = work.path().join("bad.ko");
    fs::write(&ko, b"#!/bin/sh\necho this is no kernel module\n").unwrap();
    assert_refused(
        work.path(),
        &format!(
            "[[drivers]]\nko = [\"{}\"]\nname = \"bad-module\"\n",
            ko.display()
        ),
        &["bad.ko", "not an ELF file"],
    );
}

#[test]
fn a_module_for_another_kernel_is_refused_unless_forced() {
    let k = kernel();
    let work = tempfile::tempdir().unwrap();
    let ko = k.module_file("mpi3mr.ko");
    let drivers = format!(
        "[[drivers]]\nko = [\"{}\"]\nname = \"mpi3mr-module\"\n",
        ko.display()
    );
    assert_refused(
        work.path(),
        &drivers,
        &[
            "mpi3mr.ko",
            &format!("built for kernel \"{}\"", k.kver),
            SAMPLE_KVER,
            "force",
        ],
    );
    // The same module forced in: the error above was the vermagic check.
    let (ok, text, exists) = build(work.path(), &format!("{drivers}force = true\n"));
    assert!(ok && exists, "a forced module is accepted:\n{text}");
}

#[test]
fn a_kernel_missing_from_install_img_is_refused() {
    let k = kernel();
    let work = tempfile::tempdir().unwrap();
    let ko = k.module_file("mpi3mr.ko");
    assert_refused(
        work.path(),
        &format!(
            "[[drivers]]\nko = [\"{}\"]\nname = \"mpi3mr-module\"\nkernel = \"9.9.9-nothere\"\n",
            ko.display()
        ),
        &["kernel 9.9.9-nothere is not in install.img", SAMPLE_KVER],
    );
}

#[test]
fn an_rpm_without_modules_is_refused() {
    let work = tempfile::tempdir().unwrap();
    let rpm = package(
        work.path(),
        "no-modules",
        &[(
            "/usr/share/doc/no-modules/README",
            b"nothing here\n".to_vec(),
        )],
    );
    assert_refused(
        work.path(),
        &format!("[[drivers]]\nrpm = \"{}\"\n", rpm.display()),
        &["no-modules-1.0-1.x86_64.rpm", "holds no kernel module"],
    );
}

#[test]
fn an_rpm_for_another_kernel_is_refused() {
    let k = kernel();
    let work = tempfile::tempdir().unwrap();
    let data = fs::read(k.module_file("mpi3mr.ko")).unwrap();
    let path = format!("/lib/modules/{}/updates/mpi3mr.ko", k.kver);
    let rpm = package(work.path(), "mpi3mr-other", &[(&path, data)]);
    assert_refused(
        work.path(),
        &format!("[[drivers]]\nrpm = \"{}\"\n", rpm.display()),
        &[&k.kver, SAMPLE_KVER],
    );
}

#[test]
fn a_file_that_is_no_rpm_and_a_truncated_rpm_are_refused() {
    let work = tempfile::tempdir().unwrap();
    let junk = work.path().join("junk.rpm");
    fs::write(&junk, vec![0x42; 4096]).unwrap();
    assert_refused(
        work.path(),
        &format!("[[drivers]]\nrpm = \"{}\"\n", junk.display()),
        &["junk.rpm"],
    );

    let k = kernel();
    let data = fs::read(k.module_file("mpi3mr.ko")).unwrap();
    let path = format!("/lib/modules/{SAMPLE_KVER}/updates/mpi3mr.ko");
    let rpm = package(work.path(), "cut", &[(&path, data)]);
    let bytes = fs::read(&rpm).unwrap();
    fs::write(&rpm, &bytes[..bytes.len() / 2]).unwrap();
    assert_refused(
        work.path(),
        &format!("[[drivers]]\nrpm = \"{}\"\n", rpm.display()),
        &["cut-1.0-1.x86_64.rpm", "payload"],
    );
}

#[test]
fn several_kernels_without_a_choice_are_refused() {
    common::require("xorriso");
    common::require("cpio");
    common::require("bzip2");
    let k = kernel();
    let work = tempfile::tempdir().unwrap();
    let sample = work.path().join("sample.iso");
    common::run(isoremix().arg("sample").arg(&sample));
    // An install.img (GNU cpio + bzip2) with two kernels' module folders.
    let root = work.path().join("root");
    for kver in ["4.19.0+1", "5.10.0+2"] {
        fs::create_dir_all(root.join("lib/modules").join(kver)).unwrap();
        fs::write(
            root.join("lib/modules").join(kver).join("modules.order"),
            b"",
        )
        .unwrap();
    }
    let img = work.path().join("install.img");
    common::run(
        std::process::Command::new("sh")
            .arg("-c")
            .arg(format!(
                "find . | LC_ALL=C sort | cpio -o -H newc --quiet | bzip2 -9 > '{}'",
                img.display()
            ))
            .current_dir(&root),
    );
    let source = work.path().join("two-kernels.iso");
    common::run(
        std::process::Command::new("xorriso")
            .arg("-indev")
            .arg(&sample)
            .arg("-outdev")
            .arg(&source)
            .args(["-boot_image", "any", "replay", "-map"])
            .arg(&img)
            .args(["/install.img", "-commit"]),
    );
    let profile = work.path().join("profile.toml");
    fs::write(
        &profile,
        format!(
            "[source]\niso = \"{}\"\n[output]\niso = \"out.iso\"\n\n[[drivers]]\nko = [\"{}\"]\nname = \"mpi3mr-module\"\n",
            source.display(),
            k.module_file("mpi3mr.ko").display()
        ),
    )
    .unwrap();
    let out = isoremix().arg("build").arg(&profile).output().unwrap();
    let text = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{text}");
    assert!(!work.path().join("out.iso").exists());
    assert!(
        text.contains("several kernels (4.19.0+1, 5.10.0+2)") && text.contains("kernel = "),
        "{text}"
    );
}
