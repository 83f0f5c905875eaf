//! `isoremix build --plan` says what the demo build changes and writes nothing; `build --json`
//! (plan or build) prints the report with its documented keys.

mod common;

use std::path::{Path, PathBuf};
use std::process::Output;

use common::*;

fn demo_profile() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("profiles/demo.toml")
}

/// Runs `isoremix build demo.toml -o OUT ARGS` with `$TMPDIR` set to `tmp`.
fn build(out: &Path, tmp: &Path, args: &[&str]) -> Output {
    isoremix()
        .env("TMPDIR", tmp)
        .arg("build")
        .arg(demo_profile())
        .arg("-o")
        .arg(out)
        .args(args)
        .output()
        .unwrap()
}

fn stdout_of(out: &Output) -> String {
    assert!(
        out.status.success(),
        "stderr:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn plan_writes_nothing_and_lists_the_demos_changes() {
    let dir = tempfile::tempdir().unwrap();
    let target_dir = dir.path().join("out");
    std::fs::create_dir(&target_dir).unwrap();
    let tmp = dir.path().join("tmp");
    std::fs::create_dir(&tmp).unwrap();
    let out = target_dir.join("demo.iso");

    let text = stdout_of(&build(&out, &tmp, &["--plan"]));
    assert!(!out.exists(), "the plan wrote the output");
    assert_eq!(
        names(&target_dir),
        Vec::<String>::new(),
        "beside the target"
    );
    assert_eq!(names(&tmp), Vec::<String>::new(), "left in $TMPDIR");

    for wanted in [
        "(nothing written)",
        "  added     /README.site",
        "  removed   /EULA",
        "  added     /EFI/BOOT/",
        "  replaced  /install.img",
        "  added     site-tools-1.0-1.noarch",
        "  removed   sample-docs-1.0-1.xcpng8.3.noarch",
        "  updated   xcp-ng-deps-8.3-1.xcpng8.3.noarch → xcp-ng-deps-8.3-1.xcpng8.3.remix1.noarch",
        "install.img: repack ([installer] mode = \"repack\")",
        "  written   /answerfile.xml",
        "  written   /etc/modprobe.d/99-site.conf",
        "  removed   /etc/motd",
    ] {
        assert!(text.contains(wanted), "missing {wanted:?} in:\n{text}");
    }
    // Each of the three configs: the install entry's line before and after, and the new entry.
    for config in [
        "boot/isolinux/isolinux.cfg",
        "EFI/xenserver/grub.cfg",
        "boot/efiboot.img:EFI/xenserver/grub.cfg",
    ] {
        let at = text
            .find(&format!("\n  {config}: install\n"))
            .unwrap_or_else(|| panic!("no install line of {config} in:\n{text}"));
        let block: Vec<&str> = text[at + 1..].lines().skip(1).take(3).collect();
        assert!(
            block[0].starts_with("    before: ") && block[0].contains("dom0_mem=max:8192M"),
            "{block:?}"
        );
        assert!(
            block[1].starts_with("    after:  ")
                && block[1].contains("dom0_mem=max:16384M")
                && block[1].contains("ucode=scan")
                && block[1].contains("answerfile=file:///answerfile.xml install"),
            "{block:?}"
        );
        assert!(
            block[2].contains("-com1=115200,8n1") && block[2].contains("+nomodeset"),
            "{block:?}"
        );
    }
    assert!(
        text.contains("  boot/isolinux/isolinux.cfg: install-site\n    before: (new entry)\n"),
        "{text}"
    );

    // The plan refuses what the build refuses, and says so when the output exists.
    std::fs::write(&out, b"old").unwrap();
    let again = build(&out, &tmp, &["--plan"]);
    let stderr = String::from_utf8_lossy(&again.stderr);
    assert!(again.status.success(), "{stderr}");
    assert!(
        stderr.contains("exists: the build replaces it only with --force"),
        "{stderr}"
    );
    assert_eq!(std::fs::read(&out).unwrap(), b"old");
}

/// The keys `build --json` documents, by object.
fn assert_build_keys(v: &serde_json::Value) {
    for key in ["output", "written", "size", "steps", "warnings", "changes"] {
        assert!(v.get(key).is_some(), "no {key} in {v}");
    }
    let c = &v["changes"];
    for key in ["files", "packages", "pulled_in", "boot", "install_img"] {
        assert!(c.get(key).is_some(), "no changes.{key} in {c}");
    }
    for key in ["added", "removed", "replaced"] {
        assert!(c["files"][key].is_array(), "changes.files.{key}");
    }
    for key in ["added", "updated", "removed"] {
        assert!(c["packages"][key].is_array(), "changes.packages.{key}");
    }
    for b in c["boot"].as_array().unwrap() {
        for key in ["config", "entry", "before", "after"] {
            assert!(b.get(key).is_some(), "no {key} in {b}");
        }
        for line in [&b["before"], &b["after"]] {
            if !line.is_null() {
                for key in ["config", "name", "xen", "kernel", "args"] {
                    assert!(line.get(key).is_some(), "no {key} in {line}");
                }
            }
        }
    }
    for key in ["strategy", "why", "written", "removed"] {
        assert!(c["install_img"].get(key).is_some(), "install_img.{key}");
    }
}

#[test]
fn build_json_parses_and_keeps_its_documented_keys() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("demo.iso");

    let plan: serde_json::Value =
        serde_json::from_str(&stdout_of(&build(&out, dir.path(), &["--plan", "--json"]))).unwrap();
    assert_build_keys(&plan);
    assert_eq!(plan["written"], false);
    assert!(!out.exists());

    let built: serde_json::Value =
        serde_json::from_str(&stdout_of(&build(&out, dir.path(), &["--json"]))).unwrap();
    assert_build_keys(&built);
    assert_eq!(built["written"], true);
    assert_eq!(
        built["size"].as_u64(),
        Some(std::fs::metadata(&out).unwrap().len())
    );
    // The plan is what the build did.
    assert_eq!(plan["changes"], built["changes"]);
    assert_eq!(plan["steps"], built["steps"]);

    let c = &built["changes"];
    assert!(
        c["files"]["added"]
            .as_array()
            .unwrap()
            .contains(&"/README.site".into())
    );
    assert!(
        c["packages"]["removed"]
            .as_array()
            .unwrap()
            .contains(&"sample-docs-1.0-1.xcpng8.3.noarch".into())
    );
    assert_eq!(c["install_img"]["strategy"], "repack");
    let efiboot_install = c["boot"]
        .as_array()
        .unwrap()
        .iter()
        .find(|b| {
            b["config"] == "boot/efiboot.img:EFI/xenserver/grub.cfg" && b["entry"] == "install"
        })
        .expect("the efiboot.img copy's install entry changes");
    let args: Vec<&str> = efiboot_install["after"]["args"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a.as_str().unwrap())
        .collect();
    assert!(
        args.contains(&"nomodeset") && !args.contains(&"console=hvc0"),
        "{args:?}"
    );
}
