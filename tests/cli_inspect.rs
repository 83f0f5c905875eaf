//! `isoremix inspect` shows what a build changed: the boot lines of every config (the copy
//! inside efiboot.img included), the embedded answer file, each entry's verdict, in text and
//! JSON; `--ls`, `--initrd-ls` and `extract --path` name a path that is not there; images
//! without El Torito and driver disks read without empty or confusing lines.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::*;

/// The demo profile built from the built-in sample into `dir`.
fn demo(dir: &Path) -> PathBuf {
    let out = dir.join("demo.iso");
    let profile = Path::new(env!("CARGO_MANIFEST_DIR")).join("profiles/demo.toml");
    run(isoremix().arg("build").arg(profile).arg("-o").arg(&out));
    out
}

const CONFIGS: [&str; 3] = [
    "boot/isolinux/isolinux.cfg",
    "EFI/xenserver/grub.cfg",
    "boot/efiboot.img:EFI/xenserver/grub.cfg",
];

#[test]
fn inspect_shows_the_demos_arguments_in_all_three_configs() {
    let dir = tempfile::tempdir().unwrap();
    let iso = demo(dir.path());

    let json: serde_json::Value =
        serde_json::from_str(&run(isoremix().args(["inspect", "--json"]).arg(&iso))).unwrap();
    let configs = json["boot_menus"]["configs"].as_array().unwrap();
    let names: Vec<&str> = configs
        .iter()
        .map(|c| c["config"].as_str().unwrap())
        .collect();
    assert_eq!(names, CONFIGS);
    for c in configs {
        let install = c["entries"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["name"] == "install")
            .unwrap_or_else(|| panic!("no install entry in {c}"));
        for key in ["config", "name", "xen", "kernel", "args"] {
            assert!(install.get(key).is_some(), "no {key} in {install}");
        }
        let xen = install["xen"].as_str().unwrap();
        assert!(
            xen.contains("dom0_mem=max:16384M")
                && xen.contains("ucode=scan")
                && !xen.contains("com1="),
            "{}: {xen}",
            c["config"]
        );
        let args: Vec<&str> = install["args"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a.as_str().unwrap())
            .collect();
        assert_eq!(
            args,
            [
                "console=tty0",
                "nomodeset",
                "answerfile=file:///answerfile.xml",
                "install"
            ],
            "{}",
            c["config"]
        );
    }
    let answer = &json["answer_files"][0];
    for key in [
        "location",
        "embedded",
        "used_by",
        "root",
        "mode",
        "source",
        "attributes",
        "settings",
        "problem",
    ] {
        assert!(answer.get(key).is_some(), "no {key} in {answer}");
    }
    assert_eq!(answer["location"], "install.img:/answerfile.xml");
    assert_eq!(answer["embedded"], true);
    assert_eq!(answer["mode"], "fresh");
    assert_eq!(answer["source"], "type=local");
    // The demo is signed: its answer file keeps the installer's signature checks on.
    assert!(answer["attributes"].get("gpgcheck").is_none(), "{answer}");
    assert!(answer["problem"].is_null(), "{answer}");
    let verdicts = &json["verdicts"];
    assert_eq!(verdicts["installs"], true, "{verdicts}");
    assert_eq!(verdicts["entries"][0]["label"], "install");
    assert_eq!(verdicts["entries"][0]["verdict"], "installs");

    let text = run(isoremix().arg("inspect").arg(&iso));
    let isolinux = text
        .find("  boot/isolinux/isolinux.cfg: 8 entries")
        .expect(&text);
    let grub = text
        .find("  EFI/xenserver/grub.cfg: 8 entries")
        .expect(&text);
    assert!(
        text.contains(
            "  boot/efiboot.img:EFI/xenserver/grub.cfg: the same 8 entries as EFI/xenserver/grub.cfg"
        ),
        "{text}"
    );
    for at in [isolinux, grub] {
        let block: Vec<&str> = text[at..].lines().skip(1).take(3).collect();
        assert_eq!(block[0], "    install", "{text}");
        assert_eq!(
            block[1],
            "      xen:    /boot/xen.gz dom0_max_vcpus=1-16 dom0_mem=max:16384M console=com1,vga ucode=scan"
        );
        assert_eq!(
            block[2],
            "      dom0:   /boot/vmlinuz console=tty0 nomodeset answerfile=file:///answerfile.xml install"
        );
    }
    for wanted in [
        "answer file: install.img:/answerfile.xml\n",
        "  root:            <installation> mode=fresh srtype=ext\n",
        "  source:          type=local\n",
        "  root-password:   (set) type=plaintext\n",
        "  install: installs\n",
        "  shell: not judged",
    ] {
        assert!(text.contains(wanted), "missing {wanted:?} in:\n{text}");
    }
    assert!(
        !text.contains("change-me"),
        "the password is shown:\n{text}"
    );
}

/// Runs `isoremix ARGS`, expecting failure; returns stderr.
fn fails(args: &[&std::ffi::OsStr]) -> String {
    let out = isoremix().args(args).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(1), "{args:?}: {stderr}");
    assert!(
        out.stdout.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    stderr
}

#[test]
fn paths_that_are_not_there_are_errors_and_ls_lists_a_folder() {
    let dir = tempfile::tempdir().unwrap();
    let iso = demo(dir.path());
    let i = iso.as_os_str();
    let e = fails(&[
        "inspect".as_ref(),
        i,
        "--initrd-ls".as_ref(),
        "/nope".as_ref(),
    ]);
    assert!(e.contains("/install.img has no /nope"), "{e}");
    let e = fails(&["inspect".as_ref(), i, "--ls".as_ref(), "/nope".as_ref()]);
    assert!(e.contains("the ISO has no /nope"), "{e}");

    let ls = run(isoremix()
        .arg("inspect")
        .arg(&iso)
        .args(["--ls", "/boot/isolinux"]));
    let lines: Vec<&str> = ls.lines().collect();
    assert!(
        lines[0].starts_with("dr-xr-xr-x 0/0") && lines[0].ends_with(" /boot/isolinux"),
        "{ls}"
    );
    assert!(
        lines.iter().any(|l| l.starts_with("-r--r--r-- 0/0") && l.ends_with(" /boot/isolinux/isolinux.cfg")),
        "{ls}"
    );
    let file = run(isoremix()
        .arg("inspect")
        .arg(&iso)
        .args(["--ls", "/install.img"]));
    assert!(file.contains("  extent 1: "), "{file}");
    let initrd = run(isoremix()
        .arg("inspect")
        .arg(&iso)
        .args(["--initrd-ls", "/answerfile.xml"]));
    assert!(initrd.trim_end().ends_with(" /answerfile.xml"), "{initrd}");
}

#[test]
fn extract_path_writes_exactly_one_file_as_xorriso_does_and_stays_inside_dir() {
    require("xorriso");
    let dir = tempfile::tempdir().unwrap();
    let iso = demo(dir.path());
    for path in ["/boot/isolinux/isolinux.cfg", "/boot/efiboot.img"] {
        let out = dir.path().join(format!("x{}", path.len()));
        run(isoremix()
            .arg("extract")
            .arg(&iso)
            .arg(&out)
            .args(["--path", path]));
        let mut files = Vec::new();
        let mut stack = vec![out.clone()];
        while let Some(d) = stack.pop() {
            for e in std::fs::read_dir(&d).unwrap() {
                let e = e.unwrap();
                if e.file_type().unwrap().is_dir() {
                    stack.push(e.path());
                } else {
                    files.push(e.path());
                }
            }
        }
        assert_eq!(files, [out.join(path.trim_start_matches('/'))], "{path}");
        let referee = dir.path().join("referee");
        let _ = std::fs::remove_file(&referee);
        run(Command::new("xorriso")
            .args(["-osirrox", "on", "-indev"])
            .arg(&iso)
            .args(["-extract", path])
            .arg(&referee));
        assert!(
            std::fs::read(&files[0]).unwrap() == std::fs::read(&referee).unwrap(),
            "{path} differs from xorriso's"
        );
    }
    let sub = dir.path().join("escape");
    for bad in ["../etc/passwd", "/boot/../../x", "/boot/./isolinux"] {
        let e = fails(&[
            "extract".as_ref(),
            iso.as_os_str(),
            sub.as_os_str(),
            "--path".as_ref(),
            bad.as_ref(),
        ]);
        assert!(e.contains(bad) && e.contains("refusing to extract"), "{e}");
        assert!(!sub.exists(), "{bad}: something was written");
    }
    let e = fails(&[
        "extract".as_ref(),
        iso.as_os_str(),
        sub.as_os_str(),
        "--path".as_ref(),
        "/nope".as_ref(),
    ]);
    assert!(e.contains("/nope: not in the image"), "{e}");
    assert!(!sub.exists());
}

/// Asserts `text` has no empty line, no line ending in `:` with nothing under it, and none of
/// the confusing lines of installer images.
fn assert_sensible(text: &str) {
    let lines: Vec<&str> = text.lines().collect();
    for (i, line) in lines.iter().enumerate() {
        assert!(!line.trim().is_empty(), "empty line {i} in:\n{text}");
        if line.ends_with(':') {
            let next = lines.get(i + 1).copied().unwrap_or("");
            assert!(
                next.starts_with("  "),
                "heading {line:?} with nothing under it:\n{text}"
            );
        }
    }
    for confusing in [
        "neither xcp-ng-deps",
        "catalog (not in the tree)",
        "boot menus:  none",
    ] {
        assert!(!text.contains(confusing), "{confusing:?} in:\n{text}");
    }
}

#[test]
fn images_without_el_torito_and_driver_disks_read_sensibly() {
    require("xorriso");
    let dir = tempfile::tempdir().unwrap();
    let tree = dir.path().join("plain");
    std::fs::create_dir_all(tree.join("docs")).unwrap();
    std::fs::write(tree.join("docs/a.txt"), "a\n").unwrap();
    let plain = dir.path().join("plain.iso");
    run(Command::new("xorriso")
        .args(["-as", "mkisofs", "-quiet", "-r", "-o"])
        .arg(&plain)
        .arg(&tree));
    let text = run(isoremix().arg("inspect").arg(&plain));
    assert_sensible(&text);
    assert!(text.contains("El Torito:   none"), "{text}");
    assert!(text.contains("boots:       nothing"), "{text}");
    let json: serde_json::Value =
        serde_json::from_str(&run(isoremix().args(["inspect", "--json"]).arg(&plain))).unwrap();
    assert_eq!(json["boot_menus"]["configs"], serde_json::json!([]));
    assert_eq!(json["answer_files"], serde_json::json!([]));

    let mut spec = common::package::spec("intel-igc", "5.10.214", "1", "x86_64");
    spec.files.push(isoremix::rpm::FileSpec::new(
        "/lib/modules/4.19.0+1/updates/igc.ko",
        0o644,
        common::package::TIME,
        b"\x7fELF\x02\x01\x01\0fake igc module\n".to_vec(),
    ));
    let rpm = common::package::write(&dir.path().join("rpms"), &spec);
    let profile = dir.path().join("dd.toml");
    std::fs::write(
        &profile,
        format!(
            "[driver_disk]\nname = \"intel-igc\"\nrpm = \"{}\"\n[output]\niso = \"dd.iso\"\n",
            rpm.display()
        ),
    )
    .unwrap();
    run(isoremix().arg("driver-disk").arg(&profile));
    let text = run(isoremix().arg("inspect").arg(dir.path().join("dd.iso")));
    assert_sensible(&text);
    assert!(text.contains("driver disk: intel-igc"), "{text}");
}
