//! `isoremix build` with a patch and a removal in `[installer]`: the image is decoded once
//! (patched contents kept and data spooled while the tree is read), and the re-packed
//! install.img, read back with xorriso, bzip2 and GNU cpio, holds the patched file (as GNU patch
//! makes it) and no longer the removed one.

mod common;

use std::fs;
use std::process::Command;

use common::{isoremix, require, run};

const OLD: &str = "# isoremix sample\nANSWERFILE_PATH = '/tmp/answerfile'\nDEFAULT_TIMEOUT = 30\n";

#[test]
fn patch_and_removal_through_one_decode_read_back_by_the_referees() {
    for tool in ["xorriso", "bzip2", "cpio", "patch", "diff"] {
        require(tool);
    }
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    run(isoremix().arg("sample").arg(d.join("source.iso")));
    let target = "opt/xensource/installer/constants.py";
    let new = OLD.replace("DEFAULT_TIMEOUT = 30", "DEFAULT_TIMEOUT = 5");
    for (side, text) in [("a", OLD), ("b", new.as_str())] {
        fs::create_dir_all(d.join(side).join("opt/xensource/installer")).unwrap();
        fs::write(d.join(side).join(target), text).unwrap();
    }
    let diff = Command::new("diff")
        .args(["-u", &format!("a/{target}"), &format!("b/{target}")])
        .current_dir(d)
        .output()
        .unwrap();
    fs::write(d.join("site.patch"), &diff.stdout).unwrap();
    fs::write(
        d.join("profile.toml"),
        "[source]\niso = \"source.iso\"\n[output]\niso = \"out.iso\"\n\
         [installer]\npatches = [\"site.patch\"]\nremove = [\"/etc/motd\"]\n",
    )
    .unwrap();
    run(isoremix()
        .arg("build")
        .arg(d.join("profile.toml"))
        .env("SOURCE_DATE_EPOCH", "1700000000"));
    // No spool left behind next to the output.
    assert!(!d.join("install.img.cpio").exists());

    let img = d.join("install.img");
    run(Command::new("xorriso")
        .args(["-osirrox", "on", "-indev"])
        .arg(d.join("out.iso"))
        .args(["-extract", "/install.img"])
        .arg(&img));
    let out = d.join("root");
    fs::create_dir_all(&out).unwrap();
    let script = format!(
        "bzip2 -dc '{}' > ../all.cpio && (while cpio -idmu --quiet; do :; done) < ../all.cpio 2>/dev/null; true",
        img.display()
    );
    run(Command::new("sh").arg("-c").arg(&script).current_dir(&out));
    assert!(
        out.join("etc/hostname").is_file(),
        "the re-packed image lost files"
    );
    assert!(!out.join("etc/motd").exists(), "/etc/motd was not removed");
    // GNU patch on the original content gives the same file.
    let work = d.join("work");
    fs::create_dir_all(work.join("opt/xensource/installer")).unwrap();
    fs::write(work.join(target), OLD).unwrap();
    run(Command::new("patch")
        .args(["-p1", "-s", "-i"])
        .arg(d.join("site.patch"))
        .current_dir(&work));
    assert_eq!(
        fs::read(out.join(target)).unwrap(),
        fs::read(work.join(target)).unwrap()
    );
}
