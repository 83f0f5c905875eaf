//! `inspect` shows install.img's segments and merged tree; `extract
//! --initrd` unpacks it safely and refuses entries that escape the folder.

mod common;

use std::process::Command;

use common::*;

#[test]
fn an_overlay_shows_as_a_second_segment_and_in_the_merged_listing() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("f.conf"), "x=1\n").unwrap();
    std::fs::write(
        dir.path().join("p.toml"),
        "[source]\niso = \"builtin:sample\"\n[output]\niso = \"out.iso\"\n\
         [[installer.files]]\nsrc = \"f.conf\"\ndest = \"/etc/f.conf\"\n",
    )
    .unwrap();
    run(isoremix().arg("build").arg(dir.path().join("p.toml")));
    let out = dir.path().join("out.iso");
    let json = run(isoremix().arg("inspect").arg("--json").arg(&out));
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    let segs = v["install_img"]["segments"].as_array().unwrap();
    assert_eq!(segs.len(), 2, "{json}");
    assert_eq!(segs[0]["compression"], "bzip2");
    assert_eq!(segs[1]["compression"], "bzip2");
    assert_eq!(segs[1]["offset"].as_u64().unwrap() % 4, 0);
    let ls = run(isoremix()
        .arg("inspect")
        .arg(&out)
        .arg("--initrd-ls")
        .arg("/etc"));
    assert!(
        ls.lines()
            .any(|l| l.starts_with("-rw-r--r-- 0/0          4 ") && l.ends_with(" /etc/f.conf")),
        "{ls}"
    );
    assert!(ls.contains("/etc/hostname"), "{ls}");
    // GNU cpio agrees with the extracted tree.
    let x = dir.path().join("x");
    run(isoremix().arg("extract").arg(&out).arg(&x).arg("--initrd"));
    assert_eq!(
        std::fs::read_to_string(x.join("etc/f.conf")).unwrap(),
        "x=1\n"
    );
    assert!(x.join("opt/xensource/installer/version.py").is_file());
}

#[test]
fn extract_refuses_an_entry_that_climbs_out_and_names_it() {
    require("cpio");
    require("bzip2");
    let dir = tempfile::tempdir().unwrap();
    let tree = dir.path().join("tree");
    xcpng_tree(&tree);
    // A newc archive made by GNU cpio whose entry name climbs out with `..`.
    let stage = dir.path().join("stage/a");
    std::fs::create_dir_all(&stage).unwrap();
    std::fs::write(dir.path().join("stage/evil"), "boom\n").unwrap();
    run(Command::new("sh")
        .arg("-c")
        .arg("echo ../evil | cpio -o -H newc 2>/dev/null | bzip2 -9 > \"$0\"")
        .arg(tree.join("install.img"))
        .current_dir(&stage));
    let src = dir.path().join("src.iso");
    genisoimage_xcpng(&tree, &src, true);
    let target = dir.path().join("t/inner");
    std::fs::create_dir_all(&target).unwrap();
    let out = isoremix()
        .arg("extract")
        .arg(&src)
        .arg(&target)
        .arg("--initrd")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("../evil"), "{err}");
    assert!(
        !dir.path().join("t/evil").exists(),
        "wrote outside the folder"
    );
}
