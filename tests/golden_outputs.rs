//! The exact bytes of what isoremix writes, pinned by sha256, for one profile of each kind of
//! change: the sample source, an ISO-only edit, an install.img overlay, a patch, a removal, a
//! driver from a bare `.ko`, packages added from a pool, an unsigned unattended build, the demo
//! and a driver disk.
//!
//! Every input is made in process from fixed bytes, and the time is fixed, so these sums only
//! move when the output changes. A refactor must leave them alone; a change that means to alter
//! the bytes (a new install.img strategy, a format fix) updates the sum it moves, in the same
//! commit, and says why.

mod common;

use std::path::Path;

use common::elf::build_elf;
use common::package;
use common::refusal::sha256;
use common::{isoremix, run};

/// The time every output here is stamped with.
const EPOCH: &str = "1700000000";

/// Runs isoremix in `dir` with a fixed time and returns its stdout.
fn isoremix_in(dir: &Path, args: &[&str]) -> String {
    run(isoremix()
        .current_dir(dir)
        .env("SOURCE_DATE_EPOCH", EPOCH)
        .args(args))
}

/// Builds `profile` (its body after `[source]`/`[output]`) from the built-in sample in `dir`
/// and returns the output's sha256 in hex.
fn build(dir: &Path, name: &str, body: &str) -> String {
    let path = dir.join(format!("{name}.toml"));
    std::fs::write(
        &path,
        format!("[source]\niso = \"builtin:sample\"\n[output]\niso = \"{name}.iso\"\n{body}"),
    )
    .unwrap();
    isoremix_in(dir, &["-q", "build", path.to_str().unwrap()]);
    hex(&dir.join(format!("{name}.iso")))
}

fn hex(path: &Path) -> String {
    sha256(path).iter().map(|b| format!("{b:02x}")).collect()
}

/// A kernel module for the sample's kernel: `.modinfo` only (name, licence, an alias, the
/// vermagic of the sample's installer kernel).
fn module() -> Vec<u8> {
    let mut info = Vec::new();
    for e in [
        "license=GPL".as_bytes(),
        b"version=1.2.3",
        b"alias=pci:v00008086d0000125Csv*sd*bc*sc*i*",
        b"vermagic=4.19.0+1 SMP mod_unload modversions ",
    ] {
        info.extend_from_slice(e);
        info.push(0);
    }
    build_elf(&[(".modinfo", 1, info, 0)])
}

/// Writes the inputs the profiles name into `dir`.
fn inputs(dir: &Path) {
    std::fs::write(dir.join("README.site"), "site readme\n").unwrap();
    std::fs::write(dir.join("site.conf"), "options site=1\n").unwrap();
    std::fs::write(
        dir.join("banner.patch"),
        "--- a/opt/xensource/installer/constants.py\n\
         +++ b/opt/xensource/installer/constants.py\n\
         @@ -1,3 +1,3 @@\n \
         # isoremix sample\n \
         ANSWERFILE_PATH = '/tmp/answerfile'\n\
         -DEFAULT_TIMEOUT = 30\n\
         +DEFAULT_TIMEOUT = 10\n",
    )
    .unwrap();
    std::fs::write(dir.join("golden.ko"), module()).unwrap();
    let mut tools = package::spec("site-tools", "1.0", "1", "noarch");
    tools.requires.push(isoremix::rpm::Dep::any("site-lib"));
    package::write(&dir.join("rpms"), &tools);
    package::write(
        &dir.join("pool"),
        &package::spec("site-lib", "2.0", "1", "noarch"),
    );
    std::fs::write(
        dir.join("answerfile.xml"),
        "<?xml version=\"1.0\"?>\n<installation>\n  <primary-disk>sda</primary-disk>\n  \
         <keymap>us</keymap>\n  <root-password type=\"hash\">!!</root-password>\n  \
         <source type=\"local\"/>\n  <admin-interface name=\"eth0\" proto=\"dhcp\"/>\n  \
         <timezone>UTC</timezone>\n</installation>\n",
    )
    .unwrap();
}

/// Each kind of build, with the sha256 of its output.
const GOLDEN: &[(&str, &str)] = &[
    (
        "iso-only",
        "[iso]\nremove = [\"/EULA\"]\n[[iso.files]]\nsrc = \"README.site\"\ndest = \"/README.site\"\n",
    ),
    (
        "overlay",
        "[[installer.files]]\nsrc = \"site.conf\"\ndest = \"/etc/modprobe.d/site.conf\"\n",
    ),
    ("patch", "[installer]\npatches = [\"banner.patch\"]\n"),
    ("removal", "[installer]\nremove = [\"/etc/motd\"]\n"),
    (
        "repack",
        "[installer]\nmode = \"repack\"\n[[installer.files]]\nsrc = \"site.conf\"\n\
         dest = \"/etc/modprobe.d/site.conf\"\n",
    ),
    (
        "ko-driver",
        "[[drivers]]\nko = [\"golden.ko\"]\nname = \"golden-module\"\n",
    ),
    (
        "packages",
        "[packages]\nadd = [\"rpms/*.rpm\"]\nfrom = [\"pool\"]\n",
    ),
    (
        "unattended",
        "[installer]\nanswerfile = \"answerfile.xml\"\n[boot]\ndom0_args = { add = [\"nomodeset\"] }\n\
         xen_args = { set = [\"dom0_mem=max:8192M\"] }\ntimeout = 5\n",
    ),
];

#[test]
fn every_kind_of_build_writes_the_bytes_it_wrote_before() {
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path();
    inputs(dir);
    let mut got = Vec::new();
    isoremix_in(dir, &["-q", "sample", "sample.iso"]);
    got.push(("sample".to_string(), hex(&dir.join("sample.iso"))));
    for (name, body) in GOLDEN {
        got.push((name.to_string(), build(dir, name, body)));
    }
    let demo = dir.join("demo.iso");
    let profile = Path::new(env!("CARGO_MANIFEST_DIR")).join("profiles/demo.toml");
    isoremix_in(
        dir,
        &[
            "-q",
            "build",
            profile.to_str().unwrap(),
            "--output",
            demo.to_str().unwrap(),
        ],
    );
    got.push(("demo".to_string(), hex(&demo)));
    std::fs::write(
        dir.join("dd.toml"),
        "[driver_disk]\nname = \"golden-module\"\nversion = \"1.2.3-1\"\n\
         description = \"A golden test driver\"\nko = [\"golden.ko\"]\n[output]\niso = \"dd.iso\"\n",
    )
    .unwrap();
    isoremix_in(dir, &["-q", "driver-disk", "dd.toml"]);
    got.push(("driver-disk".to_string(), hex(&dir.join("dd.iso"))));

    let want = expected();
    let report: String = got.iter().map(|(n, h)| format!("{n} {h}\n")).collect();
    assert_eq!(
        got.iter()
            .map(|(n, h)| (n.as_str(), h.as_str()))
            .collect::<Vec<_>>(),
        want,
        "outputs moved; now:\n{report}"
    );
}

/// The pinned sums, in the order the test builds them.
fn expected() -> Vec<(&'static str, &'static str)> {
    vec![
        (
            "sample",
            "f371b743d748d84655013d961ac87e22b4be00c44dd638d9e9a8277693c4b705",
        ),
        (
            "iso-only",
            "cb03ac4f7b55b47a79db3e9c03293da9824ccc99fa3c45f0beef5d3e4dd0dbba",
        ),
        (
            "overlay",
            "c7b1a503a9d96f0d5a370ed12ec9afba9ce903410294e6e3f0b57aa1d9cad6b5",
        ),
        // The patch and the removal are spliced into install.img's bzip2 blocks (the patch was
        // an appended overlay, the removal a re-pack, before).
        (
            "patch",
            "9592ac5f24d1be179c058d7194d026fca4c3b78a3476b9c70e74565a22743ca3",
        ),
        (
            "removal",
            "c374a8efde3a95d16938d435305d15941056b2dd97812bd6ba4030873f51732f",
        ),
        (
            "repack",
            "2a14200500a7cfaa707ee61d2916b2b83f9b7a2ce0399482a5b6f35eaad1682e",
        ),
        (
            "ko-driver",
            "3b1a47bd6e049605c20911394a488a9c62361e7083264fc6321878486ec94aa5",
        ),
        (
            "packages",
            "24c1693cf7db94d83a62bfefd097612108facde91e355107ba19ace8d95731f9",
        ),
        (
            "unattended",
            "a9a40ca9e14f4957045bd40e3130062cfba925a4cd735db2d1fb30fdddfab551",
        ),
        // The demo's site-tools is built by [[packages.build]] at the build's time (this
        // test's SOURCE_DATE_EPOCH) with build host isoremix.invalid; the committed RPM it
        // replaced was stamped 2024-10-01 and demo.isoremix.invalid. (The demo's text, comments
        // included, seeds the image's ids too.)
        (
            "demo",
            "cbf490aa8577c6b8cfacf88a29ec2ce51d6c30de11903a8efab658acccd51934",
        ),
        (
            "driver-disk",
            "765173e8df52dd785fdfd1e9ae56ec84ab8a4f84fbcde7beb9afa84f6f963861",
        ),
    ]
}
