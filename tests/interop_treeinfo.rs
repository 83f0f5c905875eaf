//! `.treeinfo` rewritten by isoremix is read by Python's ConfigParser (basic interpolation, as
//! the installer reads it) with the expected values, and every other line survives.

mod common;

use std::process::Command;

use common::require;
use isoremix::treeinfo::{self, TreeinfoEdit};

/// The shape of an XCP-ng 8.3 `.treeinfo`, plus an unknown section and an escaped percent.
const SOURCE: &str = "\
[platform]
name = XCP
version = 3.4.0

[branding]
name = XCP-ng
version = 8.3.0

[system-v1]
platform_name = XCP
platform_version = 3.4.0
product_name = XCP-ng
product_version = 8.3.0

[build]
number = cloud
[keys]
key1 = RPM-GPG-KEY-xcpng

[general]
name = XCP-ng-8.3.0
family = XCP-ng
timestamp = 1718000000
variant =
version = 8.3.0
packagedir =
arch = x86_64

[images-x86_64]
kernel = boot/pxelinux/mboot.c32
initrd = boot/vmlinuz
boot.iso = boot/xen.gz

[vendor-extra]
; kept as is
note: 100%% tested
";

/// Dumps every section and option through ConfigParser (interpolating every value) as
/// `section|key|value` lines.
const DUMP: &str = r#"
import configparser, sys
cp = configparser.ConfigParser()
cp.read_string(sys.stdin.read())
for s in cp.sections():
    for k, v in cp.items(s):
        print("%s|%s|%s" % (s, k, v))
"#;

fn configparser_dump(text: &str) -> Vec<String> {
    require("python3");
    let mut child = Command::new("python3")
        .arg("-c")
        .arg(DUMP)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("python3 runs");
    use std::io::Write;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "ConfigParser rejects the file: {}\n{text}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect()
}

#[test]
fn rewritten_treeinfo_reads_back_in_configparser() {
    let edit = TreeinfoEdit {
        build_number: Some("remix-42".into()),
        product_name: Some("Remixed XCP-ng".into()),
        product_version: Some("8.3.1".into()),
        first_key: Some("RPM-GPG-KEY-remix".into()),
        timestamp: 1_700_000_123,
    };
    let out = treeinfo::rewrite(SOURCE, &edit).unwrap();
    let dump = configparser_dump(&out);
    for expected in [
        "build|number|remix-42",
        "branding|name|Remixed XCP-ng",
        "branding|version|8.3.1",
        "system-v1|product_name|Remixed XCP-ng",
        "system-v1|product_version|8.3.1",
        "system-v1|platform_version|3.4.0",
        "general|name|Remixed XCP-ng-8.3.1",
        "general|version|8.3.1",
        "general|timestamp|1700000123",
        "keys|key1|RPM-GPG-KEY-remix",
        "keys|key2|RPM-GPG-KEY-xcpng",
        "images-x86_64|boot.iso|boot/xen.gz",
        "vendor-extra|note|100% tested",
    ] {
        assert!(
            dump.iter().any(|l| l == expected),
            "missing {expected:?} in {dump:#?}"
        );
    }
    // The first key the installer takes (ConfigParser keeps file order).
    let first_key = dump.iter().find(|l| l.starts_with("keys|")).unwrap();
    assert_eq!(first_key, "keys|key1|RPM-GPG-KEY-remix");
    // Unknown lines and sections kept byte for byte.
    assert!(out.contains("\n[vendor-extra]\n; kept as is\nnote: 100%% tested\n"));
    assert!(out.contains("[images-x86_64]\nkernel = boot/pxelinux/mboot.c32\n"));
    // Only timestamp changes when nothing else is given.
    let minimal = treeinfo::rewrite(
        SOURCE,
        &TreeinfoEdit {
            timestamp: 5,
            ..TreeinfoEdit::default()
        },
    )
    .unwrap();
    assert_eq!(
        minimal,
        SOURCE.replace("timestamp = 1718000000", "timestamp = 5")
    );
    configparser_dump(&minimal);
}

#[test]
fn values_that_break_configparser_are_refused() {
    // A percent sign in a value makes ConfigParser raise on read: the referee agrees.
    require("python3");
    let broken = SOURCE.replace("number = cloud", "number = 50%");
    let status = Command::new("python3")
        .arg("-c")
        .arg("import configparser,sys; cp=configparser.ConfigParser(); cp.read_string(sys.argv[1]); cp.items('build')")
        .arg(&broken)
        .output()
        .unwrap();
    assert!(!status.status.success(), "python accepted a bare %");
    let edit = TreeinfoEdit {
        build_number: Some("50%".into()),
        ..TreeinfoEdit::default()
    };
    assert!(treeinfo::rewrite(SOURCE, &edit).is_err());
    let edit = TreeinfoEdit {
        product_version: Some("8.3 beta".into()),
        ..TreeinfoEdit::default()
    };
    assert!(treeinfo::rewrite(SOURCE, &edit).is_err());
    let edit = TreeinfoEdit {
        product_name: Some("two\nlines".into()),
        ..TreeinfoEdit::default()
    };
    assert!(treeinfo::rewrite(SOURCE, &edit).is_err());
    // A source that already breaks ConfigParser is reported, not passed on.
    assert!(treeinfo::rewrite(&broken, &TreeinfoEdit::default()).is_err());
    // So is one with a duplicate section or option, which ConfigParser refuses too.
    for dup in [
        format!("{SOURCE}[build]\nnumber = again\n"),
        SOURCE.replace("number = cloud", "number = cloud\nNumber = twice"),
    ] {
        let py = Command::new("python3")
            .arg("-c")
            .arg("import configparser,sys; configparser.ConfigParser().read_string(sys.argv[1])")
            .arg(&dup)
            .output()
            .unwrap();
        assert!(!py.status.success(), "python accepted a duplicate");
        assert!(matches!(
            treeinfo::rewrite(&dup, &TreeinfoEdit::default()),
            Err(treeinfo::Error::Duplicate { .. })
        ));
    }
}
