//! Bad profiles: every one is refused with an error that names the profile file, the line and
//! column of the offending value, and what is wrong.

mod common;

use std::fs;
use std::path::{Path, PathBuf};

use common::position_of;
use isoremix::profile::{DriverDiskProfile, Error, Overrides, Profile, SourceIso};

/// A folder holding a profile and the input files it names.
struct Fixture {
    dir: tempfile::TempDir,
}

impl Fixture {
    fn new() -> Fixture {
        let f = Fixture {
            dir: tempfile::tempdir().expect("temporary folder"),
        };
        for (path, content) in [
            ("files/README.site", "readme\n"),
            ("files/99-site.conf", "options x y=1\n"),
            ("patches/0001.patch", "--- a/x\n+++ b/x\n"),
            ("answerfile.xml", "<installation/>\n"),
            ("rpms/a-1-1.x86_64.rpm", "not really an rpm"),
            ("rpms/b-1-1.x86_64.rpm", "not really an rpm"),
            ("rpms/notes.txt", "text"),
            ("drivers/igc.rpm", "x"),
            ("drivers/mpi3mr.ko", "x"),
            ("drivers/mpi3mr.ko.xz", "x"),
            ("keys/site.asc", "x"),
            ("source.iso", "x"),
        ] {
            f.write(path, content);
        }
        fs::create_dir_all(f.dir.path().join("adir")).expect("mkdir");
        f
    }

    fn write(&self, rel: &str, content: &str) -> PathBuf {
        let path = self.dir.path().join(rel);
        fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        fs::write(&path, content).expect("write");
        path
    }

    fn load(&self, text: &str) -> Result<Profile, Error> {
        let path = self.write("profile.toml", text);
        Profile::load(&path)
    }

    /// Loads `text` as a remaster profile, expects an error and returns its message.
    fn error(&self, text: &str) -> String {
        match self.load(text) {
            Ok(p) => panic!("profile was accepted:\n{text}\n{p:#?}"),
            Err(e) => e.to_string(),
        }
    }

    fn profile_path(&self) -> PathBuf {
        self.dir.path().join("profile.toml")
    }
}

const HEAD: &str = "[source]\niso = \"builtin:sample\"\n[output]\niso = \"out.iso\"\n";

/// Asserts that `message` starts with `PROFILE:line:col: ` for the position of `needle` and
/// contains every one of `words`. A `|` in `needle` marks the expected position inside it (and is
/// not part of the searched text); without one, the position is the start of `needle`.
fn assert_error_at(f: &Fixture, text: &str, needle: &str, words: &[&str]) {
    let message = f.error(text);
    let (anchor, col_shift) = match needle.split_once('|') {
        Some((before, after)) => (format!("{before}{after}"), before.chars().count()),
        None => (needle.to_owned(), 0),
    };
    let (line, col) = position_of(text, &anchor);
    let col = col + col_shift;
    let prefix = format!("{}:{line}:{col}: ", f.profile_path().display());
    assert!(
        message.starts_with(&prefix),
        "expected an error at {prefix:?}, got {message:?}"
    );
    for w in words {
        assert!(message.contains(w), "{message:?} does not mention {w:?}");
    }
}

#[test]
fn typo_in_a_key_is_reported_with_line_col_and_the_expected_keys() {
    let f = Fixture::new();
    let text =
        "[source]\niso = \"builtin:sample\"\n\n[output]\niso = \"out.iso\"\n  volumeid = \"X\"\n";
    let message = f.error(text);
    assert_eq!(
        message,
        format!(
            "{}:6:3: unknown key `volumeid`, expected `iso` or `volume_id`",
            f.profile_path().display()
        )
    );
}

#[test]
fn unknown_keys_are_refused_in_every_section() {
    let f = Fixture::new();
    for extra in [
        "colour = 1\n",
        "[iso]\nremoved = []\n",
        "[[iso.files]]\nsrc = \"files/README.site\"\ndest = \"/R\"\nmode = \"0644\"\n",
        "[installer]\npatch = []\n",
        "[[installer.files]]\nsrc = \"files/99-site.conf\"\ndest = \"/x\"\nowner = \"root\"\n",
        "[boot]\ntimeot = 3\n",
        "[boot]\nxen_args = { append = [\"a\"] }\n",
        "[[boot.entry]]\nlabel = \"a\"\ntitle = \"A\"\nfrom = \"install\"\nhotkey = \"a\"\n",
        "[packages]\nallow_downgrades = true\n",
        "[treeinfo]\nbuild = \"x\"\n",
        "[signing]\nkey = \"keys/site.asc\"\npassphrase = \"secret\"\n",
        "[[drivers]]\nrpm = \"drivers/igc.rpm\"\nsytem = true\n",
    ] {
        let text = format!("{HEAD}{extra}");
        let bad_key = extra
            .lines()
            .last()
            .and_then(|l| l.split([' ', '=']).next())
            .map(str::to_owned)
            .expect("key");
        let bad_key = if bad_key == "xen_args" {
            "append".to_owned()
        } else {
            bad_key
        };
        assert_error_at(
            &f,
            &text,
            &bad_key,
            &[&format!("unknown key `{bad_key}`"), "expected"],
        );
    }
}

#[test]
fn wrong_types_are_reported_at_the_value() {
    let f = Fixture::new();
    let text = format!("{HEAD}[boot]\ntimeout = \"3\"\n");
    assert_error_at(
        &f,
        &text,
        "\"3\"",
        &["invalid type", "string", "expected an integer"],
    );
    let text = "[source]\niso = 3\n[output]\niso = \"out.iso\"\n";
    assert_error_at(&f, text, "3", &["invalid type", "integer"]);
    let text = format!("{HEAD}[packages]\nadd = \"rpms/*.rpm\"\n");
    assert_error_at(&f, &text, "\"rpms", &["invalid type", "sequence"]);
    let text = format!("{HEAD}[boot]\nefi_fallback = \"yes\"\n");
    assert_error_at(&f, &text, "\"yes\"", &["invalid type", "boolean"]);
}

#[test]
fn syntax_errors_carry_a_position() {
    let f = Fixture::new();
    let text = format!("{HEAD}[boot]\ntimeout = = 3\n");
    let message = f.error(&text);
    assert!(
        message.starts_with(&format!("{}:6:", f.profile_path().display())),
        "{message}"
    );
}

#[test]
fn bad_enum_values_name_the_choices() {
    let f = Fixture::new();
    let text = format!("{HEAD}[installer]\nmode = \"fast\"\n");
    assert_error_at(
        &f,
        &text,
        "\"fast\"",
        &["`fast`", "auto", "overlay", "repack"],
    );
    let text = format!(
        "{HEAD}[[drivers]]\nko = [\"drivers/mpi3mr.ko\"]\nname = \"m\"\ndir = \"kernel\"\n"
    );
    assert_error_at(
        &f,
        &text,
        "\"kernel\"",
        &["`kernel`", "updates", "extra", "override"],
    );
}

#[test]
fn missing_input_files_name_the_path_and_the_line() {
    let f = Fixture::new();
    let cases = [
        "[[iso.files]]\nsrc = \"files/nope\"\ndest = \"/nope\"\n",
        "[installer]\npatches = [\"patches/0001.patch\", \"patches/0002.patch\"]\n",
        "[installer]\nanswerfile = \"answer.xml\"\n",
        "[signing]\nkey = \"keys/missing.asc\"\n",
        "[[drivers]]\nrpm = \"drivers/missing.rpm\"\n",
        "[[drivers]]\nko = [\"drivers/mpi3mr.ko\", \"drivers/gone.ko\"]\nname = \"m\"\n",
    ];
    let missing = [
        "files/nope",
        "patches/0002.patch",
        "answer.xml",
        "keys/missing.asc",
        "drivers/missing.rpm",
        "drivers/gone.ko",
    ];
    for (extra, rel) in cases.iter().zip(missing) {
        let text = format!("{HEAD}{extra}");
        let resolved = f.dir.path().join(rel);
        assert_error_at(
            &f,
            &text,
            &format!("\"{rel}\""),
            &[&resolved.display().to_string(), "does not exist"],
        );
    }
}

#[test]
fn a_missing_source_iso_is_an_error_but_a_folder_is_too() {
    let f = Fixture::new();
    let text = "[source]\niso = \"gone.iso\"\n[output]\niso = \"out.iso\"\n";
    assert_error_at(&f, text, "\"gone.iso\"", &["source ISO", "does not exist"]);
    let text = "[source]\niso = \"adir\"\n[output]\niso = \"out.iso\"\n";
    assert_error_at(&f, text, "\"adir\"", &["not a regular file"]);
}

#[test]
fn unknown_builtin_sources_are_refused() {
    let f = Fixture::new();
    let text = "[source]\niso = \"builtin:full\"\n[output]\niso = \"out.iso\"\n";
    assert_error_at(
        &f,
        text,
        "\"builtin:full\"",
        &["builtin:full", "builtin:sample"],
    );
    assert!("builtin:other".parse::<SourceIso>().is_err());
    assert_eq!("builtin:sample".parse::<SourceIso>(), Ok(SourceIso::Sample));
}

#[test]
fn bad_octal_modes_are_refused() {
    let f = Fixture::new();
    for mode in ["0648", "17777", "rw-r--r--", "", "0o644", "-1"] {
        let text = format!(
            "{HEAD}[[installer.files]]\nsrc = \"files/99-site.conf\"\ndest = \"/etc/x\"\nmode = \"{mode}\"\n"
        );
        assert_error_at(
            &f,
            &text,
            &format!("\"{mode}\""),
            &[&format!("mode `{mode}`"), "octal", "07777"],
        );
    }
    let text = format!(
        "{HEAD}[[installer.files]]\nsrc = \"files/99-site.conf\"\ndest = \"/etc/x\"\nmode = 420\n"
    );
    assert_error_at(&f, &text, "420", &["invalid type", "string"]);
}

#[test]
fn a_driver_with_both_rpm_and_ko_is_refused() {
    let f = Fixture::new();
    let text = format!(
        "{HEAD}[[drivers]]\nrpm = \"drivers/igc.rpm\"\nko = [\"drivers/mpi3mr.ko\"]\nname = \"m\"\n"
    );
    assert_error_at(
        &f,
        &text,
        "[\"drivers/mpi3mr.ko\"]",
        &["either `rpm` or `ko`", "not both"],
    );
}

#[test]
fn a_driver_with_neither_rpm_nor_ko_is_refused_at_its_table() {
    let f = Fixture::new();
    let text =
        format!("{HEAD}[[drivers]]\nrpm = \"drivers/igc.rpm\"\n\n[[drivers]]\nforce = true\n");
    let message = f.error(&text);
    assert!(
        message.starts_with(&format!("{}:8:1: ", f.profile_path().display())),
        "{message}"
    );
    assert!(
        message.contains("`rpm`") && message.contains("`ko`"),
        "{message}"
    );
}

#[test]
fn ko_needs_a_name_and_rpm_refuses_module_keys() {
    let f = Fixture::new();
    let text = format!("{HEAD}[[drivers]]\nko = [\"drivers/mpi3mr.ko\"]\n");
    assert_error_at(&f, &text, "[\"drivers", &["`name` is required with `ko`"]);
    let text = format!("{HEAD}[[drivers]]\nrpm = \"drivers/igc.rpm\"\ndir = \"extra\"\n");
    assert_error_at(&f, &text, "\"extra\"", &["`dir` only goes with `ko`"]);
    let text = format!("{HEAD}[[drivers]]\nko = []\nname = \"m\"\n");
    assert_error_at(&f, &text, "[]", &["`ko` is empty"]);
}

#[test]
fn driver_inputs_must_have_the_right_ending() {
    let f = Fixture::new();
    let text = format!("{HEAD}[[drivers]]\nrpm = \"files/README.site\"\n");
    assert_error_at(&f, &text, "\"files/README.site\"", &["`.rpm`"]);
    let text = format!("{HEAD}[[drivers]]\nko = [\"files/99-site.conf\"]\nname = \"m\"\n");
    assert_error_at(
        &f,
        &text,
        "\"files/99-site.conf\"",
        &["`.ko`", "`.ko.xz`", "`.ko.zst`"],
    );
}

#[test]
fn relative_destinations_are_refused() {
    let f = Fixture::new();
    let text =
        format!("{HEAD}[[iso.files]]\nsrc = \"files/README.site\"\ndest = \"README.site\"\n");
    assert_error_at(&f, &text, "\"README.site\"", &["`README.site`", "absolute"]);
    let text = format!(
        "{HEAD}[[installer.files]]\nsrc = \"files/99-site.conf\"\ndest = \"etc/modprobe.d/x.conf\"\n"
    );
    assert_error_at(&f, &text, "\"etc/", &["absolute"]);
    let text = format!("{HEAD}[iso]\nremove = [\"/EULA\", \"LICENSES\"]\n");
    assert_error_at(&f, &text, "\"LICENSES\"", &["absolute"]);
}

#[test]
fn dot_dot_and_unnormalized_destinations_are_refused() {
    let f = Fixture::new();
    for dest in [
        "/boot/../../etc/passwd",
        "/a//b",
        "/a/./b",
        "/a/",
        "/",
        "/..",
    ] {
        let text = format!("{HEAD}[[iso.files]]\nsrc = \"files/README.site\"\ndest = \"{dest}\"\n");
        assert_error_at(&f, &text, &format!("\"{dest}\""), &[&format!("`{dest}`")]);
    }
    let text = format!("{HEAD}[installer]\nremove = [\"/opt/../etc/shadow\"]\n");
    assert_error_at(&f, &text, "\"/opt/..", &["`..`"]);
}

#[test]
fn the_same_destination_twice_is_refused_with_both_positions() {
    let f = Fixture::new();
    let text = format!(
        "{HEAD}[[iso.files]]\nsrc = \"files/README.site\"\ndest = \"/R\"\n\
         [[iso.files]]\nsrc = \"files/99-site.conf\"\ndest = \"/R\"\n"
    );
    let message = f.error(&text);
    let file = f.profile_path().display().to_string();
    assert!(message.starts_with(&format!("{file}:10:8: ")), "{message}");
    assert!(message.contains(&format!("{file}:7:8")), "{message}");
}

#[test]
fn bad_volume_ids_are_refused() {
    let f = Fixture::new();
    let long = "X".repeat(33);
    for (id, word) in [
        (long.as_str(), "33"),
        ("", "empty"),
        ("Caf\u{e9} 8.3", "ASCII"),
        ("trailing ", "space"),
    ] {
        let text = format!(
            "[source]\niso = \"builtin:sample\"\n[output]\niso = \"o.iso\"\nvolume_id = \"{id}\"\n"
        );
        assert_error_at(&f, &text, &format!("\"{id}\""), &["volume id", word]);
    }
    let text = format!(
        "[source]\niso = \"builtin:sample\"\n[output]\niso = \"o.iso\"\nvolume_id = \"{}\"\n",
        "X".repeat(32)
    );
    assert!(f.load(&text).is_ok());
}

#[test]
fn bad_boot_arguments_are_refused() {
    let f = Fixture::new();
    for (arg, word) in [
        ("dom0_mem=1G console=vga", "whitespace"),
        ("", "empty"),
        ("---", "separator"),
        ("a\\tb", "whitespace"),
        ("=x", "empty key"),
    ] {
        let text = format!("{HEAD}[boot]\nxen_args = {{ set = [\"{arg}\"] }}\n");
        assert_error_at(&f, &text, &format!("\"{arg}\""), &["boot argument", word]);
        let text = format!(
            "{HEAD}[[boot.entry]]\nlabel = \"x\"\ntitle = \"X\"\nfrom = \"install\"\n\
             dom0_args = {{ add = [\"ok\", \"{arg}\"] }}\n"
        );
        assert_error_at(&f, &text, &format!(", |\"{arg}\""), &["boot argument"]);
    }
}

#[test]
fn timeouts_out_of_range_are_refused() {
    let f = Fixture::new();
    for t in ["-1", "3600", "99999999999"] {
        let text = format!("{HEAD}[boot]\ntimeout = {t}\n");
        assert_error_at(&f, &text, t, &["timeout", "out of range", "3599"]);
    }
    let text = format!("{HEAD}[boot]\ntimeout = 0\n");
    assert_eq!(
        f.load(&text)
            .expect("timeout 0")
            .boot
            .timeout
            .map(|t| t.value),
        Some(0)
    );
}

#[test]
fn bad_labels_and_duplicate_new_entries_are_refused() {
    let f = Fixture::new();
    let text = format!("{HEAD}[boot]\ndefault = \"install site\"\n");
    assert_error_at(&f, &text, "\"install site\"", &["label"]);
    let text = format!("{HEAD}[boot]\nentries = []\n");
    assert_error_at(&f, &text, "[]", &["empty"]);
    let text = format!("{HEAD}[boot]\nentries = [\"install\", \"install\"]\n");
    assert_error_at(&f, &text, ", |\"install\"", &["already listed"]);
    let entry = "[[boot.entry]]\nlabel = \"a\"\ntitle = \"A\"\nfrom = \"install\"\n";
    let text = format!("{HEAD}{entry}{entry}");
    let message = f.error(&text);
    assert!(
        message.starts_with(&format!("{}:10:9: ", f.profile_path().display())),
        "{message}"
    );
    let text =
        format!("{HEAD}[[boot.entry]]\nlabel = \"a\"\ntitle = \"A\\nB\"\nfrom = \"install\"\n");
    assert_error_at(&f, &text, "\"A\\nB\"", &["control character"]);
    let text =
        format!("{HEAD}[[boot.entry]]\nlabel = \"a\"\ntitle = \"Costs $5\"\nfrom = \"install\"\n");
    assert_error_at(&f, &text, "\"Costs", &["GRUB"]);
    let text = format!("{HEAD}[[boot.entry]]\nlabel = \"a\"\nfrom = \"install\"\n");
    assert_error_at(&f, &text, "[[boot.entry]]", &["missing key `title`"]);
}

#[test]
fn bad_package_names_are_refused() {
    let f = Fixture::new();
    for (key, value, needle) in [
        ("remove", "[\"ok\", \"-bad\"]", "\"-bad\""),
        ("install", "[\"sys stat\"]", "\"sys stat\""),
        ("install", "[\"pkg/../x\"]", "\"pkg/"),
        ("meta", "\"xcp-ng deps\"", "\"xcp-ng deps\""),
        ("group", "\"xenserver base\"", "\"xenserver base\""),
    ] {
        let text = format!("{HEAD}[packages]\n{key} = {value}\n");
        assert_error_at(&f, &text, needle, &["`"]);
        let message = f.error(&text);
        assert!(
            message.contains("not a valid RPM name") || message.contains("comps group id"),
            "{message}"
        );
    }
}

#[test]
fn globs_that_match_nothing_or_not_rpms_are_refused() {
    let f = Fixture::new();
    let text = format!("{HEAD}[packages]\nadd = [\"rpms/*.rpm\", \"extra/*.rpm\"]\n");
    assert_error_at(
        &f,
        &text,
        "\"extra/*.rpm\"",
        &["glob `extra/*.rpm`", "matches no file"],
    );
    let text = format!("{HEAD}[packages]\nadd = [\"rpms/*\"]\n");
    assert_error_at(&f, &text, "\"rpms/*\"", &["notes.txt", "`.rpm`"]);
    let text = format!("{HEAD}[packages]\nadd = [\"rpms/[*.rpm\"]\n");
    assert_error_at(&f, &text, "\"rpms/[", &["invalid"]);
    let text = format!("{HEAD}[packages]\nadd = [\"adir\"]\n");
    assert_error_at(&f, &text, "\"adir\"", &["matches no file"]);
}

#[test]
fn treeinfo_values_the_installer_cannot_read_are_refused() {
    let f = Fixture::new();
    let text = format!("{HEAD}[treeinfo]\nproduct_version = \"8.3-beta\"\n");
    assert_error_at(&f, &text, "\"8.3-beta\"", &["dotted numbers"]);
    let text = format!("{HEAD}[treeinfo]\nbuild_number = \"100%\"\n");
    assert_error_at(&f, &text, "\"100%\"", &["`%`"]);
    let text = format!("{HEAD}[treeinfo]\nproduct_name = \"XCP-ng\\nx = y\"\n");
    assert_error_at(&f, &text, "\"XCP-ng", &["control character"]);
}

#[test]
fn bad_signing_settings_are_refused() {
    let f = Fixture::new();
    let text = format!("{HEAD}[signing]\nkey = \"keys/site.asc\"\npassphrase_env = \"1PASS\"\n");
    assert_error_at(&f, &text, "\"1PASS\"", &["environment variable"]);
    let text = format!("{HEAD}[signing]\npassphrase_env = \"P\"\n");
    assert_error_at(&f, &text, "[signing]", &["missing key `key`"]);
}

#[test]
fn missing_required_sections_are_named() {
    let f = Fixture::new();
    let message = f.error("[output]\niso = \"o.iso\"\n");
    assert!(message.contains("missing section [source]"), "{message}");
    assert!(message.starts_with(&f.profile_path().display().to_string()));
    let message = f.error("[source]\niso = \"builtin:sample\"\n");
    assert!(message.contains("missing section [output]"), "{message}");
    let text = "[source]\n[output]\niso = \"o.iso\"\n";
    assert_error_at(&f, text, "[source]", &["missing key `iso`"]);
}

#[test]
fn the_output_must_not_overwrite_the_source() {
    let f = Fixture::new();
    let text = "[source]\niso = \"source.iso\"\n[output]\niso = \"source.iso\"\n";
    let message = f.error(text);
    assert!(
        message.starts_with(&format!("{}:4:7: ", f.profile_path().display())),
        "{message}"
    );
    assert!(message.contains("is the source ISO"), "{message}");
}

#[test]
fn overlay_mode_cannot_remove_files() {
    let f = Fixture::new();
    let text = format!("{HEAD}[installer]\nmode = \"overlay\"\nremove = [\"/etc/motd\"]\n");
    assert_error_at(&f, &text, "\"/etc/motd\"", &["overlay", "remove"]);
}

#[test]
fn sections_of_the_other_profile_kind_are_refused() {
    let f = Fixture::new();
    let dd = "[driver_disk]\nname = \"igc\"\nrpm = \"drivers/igc.rpm\"\n";
    let text = format!("{HEAD}{dd}");
    assert_error_at(&f, &text, "[driver_disk]", &["driver-disk"]);

    let text = format!("[output]\niso = \"dd.iso\"\n[boot]\ntimeout = 1\n{dd}");
    let path = f.write("dd.toml", &text);
    let message = DriverDiskProfile::load(&path)
        .expect_err("boot in a driver-disk profile")
        .to_string();
    assert!(
        message.starts_with(&format!("{}:3:1: section [boot]", path.display())),
        "{message}"
    );
    let path = f.write("dd.toml", "[output]\niso = \"dd.iso\"\n");
    let message = DriverDiskProfile::load(&path)
        .expect_err("no driver_disk")
        .to_string();
    assert!(
        message.contains("missing section [driver_disk]"),
        "{message}"
    );
}

#[test]
fn driver_disk_values_are_checked() {
    let f = Fixture::new();
    let head = "[output]\niso = \"dd.iso\"\n[driver_disk]\n";
    for (body, needle, word) in [
        (
            "name = \"igc driver\"\nrpm = \"drivers/igc.rpm\"\n",
            "\"igc driver\"",
            "not a valid",
        ),
        (
            "name = \"igc\"\nrpm = \"drivers/igc.rpm\"\nuuid = \"1234\"\n",
            "\"1234\"",
            "UUID",
        ),
        (
            "name = \"igc\"\nrpm = \"drivers/igc.rpm\"\nversion = \"1-2-3\"\n",
            "\"1-2-3\"",
            "version",
        ),
        (
            "name = \"igc\"\nrpm = \"drivers/igc.rpm\"\nkernel = \"4.19\"\n",
            "\"4.19\"",
            "only goes with `ko`",
        ),
        (
            "name = \"igc\"\nko = [\"drivers/mpi3mr.ko\"]\nkernel = \"../x\"\n",
            "\"../x\"",
            "kernel version",
        ),
        ("name = \"igc\"\n", "[driver_disk]", "needs `rpm`"),
        (
            "name = \"igc\"\nrpm = \"drivers/igc.rpm\"\nko = [\"drivers/mpi3mr.ko\"]\n",
            "[\"drivers",
            "not both",
        ),
    ] {
        let text = format!("{head}{body}");
        let path = f.write("dd.toml", &text);
        let message = DriverDiskProfile::load(&path)
            .expect_err("bad driver disk")
            .to_string();
        let (line, col) = position_of(&text, needle);
        assert!(
            message.starts_with(&format!("{}:{line}:{col}: ", path.display())),
            "{message} (expected {line}:{col})"
        );
        assert!(message.contains(word), "{message} lacks {word}");
    }
}

#[test]
fn an_unreadable_profile_names_the_file() {
    let f = Fixture::new();
    let path = f.dir.path().join("absent.toml");
    let message = Profile::load(&path).expect_err("absent").to_string();
    assert!(
        message.starts_with(&path.display().to_string()),
        "{message}"
    );
    assert!(matches!(Profile::load(&path), Err(Error::Read { .. })));
    let path = f.write("bin.toml", "");
    fs::write(&path, [0xff, 0xfe, 0x00]).expect("write");
    let err = Profile::load(&path).expect_err("binary");
    assert!(matches!(err, Error::NotAProfile { .. }), "{err:?}");
    assert!(err.to_string().contains("not UTF-8"), "{err}");
}

#[test]
fn a_large_file_given_as_the_profile_is_refused_without_reading_it_all() {
    let f = Fixture::new();
    let path = f.dir.path().join("big.iso");
    let file = fs::File::create(&path).expect("create");
    file.set_len(64 << 20).expect("sparse 64 MiB");
    let err = Profile::load(&path).expect_err("an ISO is not a profile");
    assert!(matches!(err, Error::NotAProfile { .. }), "{err:?}");
    assert!(
        err.to_string().starts_with(&path.display().to_string()),
        "{err}"
    );
}

#[test]
fn deeply_nested_values_are_refused_without_exhausting_the_stack() {
    let f = Fixture::new();
    for nested in [
        format!("x = {}{}\n", "[".repeat(100_000), "]".repeat(100_000)),
        format!("x = {}1{}\n", "{a=".repeat(100_000), "}".repeat(100_000)),
        format!("{} = 1\n", vec!["k"; 100_000].join(".")),
    ] {
        let message = f.error(&format!("{HEAD}{nested}"));
        assert!(
            message.starts_with(&f.profile_path().display().to_string()),
            "{message}"
        );
    }
}

#[test]
fn an_overridden_source_need_not_be_in_the_profile_nor_exist_there() {
    let f = Fixture::new();
    let overrides = Overrides {
        source_iso: Some(SourceIso::File(PathBuf::from("elsewhere.iso"))),
        output_iso: Some(PathBuf::from("cli-out.iso")),
    };
    let path = f.write("p.toml", "[source]\niso = \"gone.iso\"\n");
    let p = Profile::load_with(&path, &overrides).expect("overridden");
    assert_eq!(
        p.source.iso,
        SourceIso::File(PathBuf::from("elsewhere.iso"))
    );
    assert_eq!(p.output.iso, Path::new("cli-out.iso"));
    let path = f.write("p.toml", "[boot]\ntimeout = 2\n");
    assert!(Profile::load_with(&path, &overrides).is_ok());
}

#[test]
fn no_prefix_of_a_valid_profile_makes_the_loader_panic() {
    let f = Fixture::new();
    let text = "[source]\niso = \"builtin:sample\"\n[output]\niso = \"o.iso\"\nvolume_id = \"Demo X\"\n\
                [[iso.files]]\nsrc = \"files/README.site\"\ndest = \"/R\"\n\
                [installer]\nfiles = [{ src = \"files/99-site.conf\", dest = \"/e\", mode = \"0755\" }]\n\
                [boot]\nxen_args = { set = [\"a=1\"] }\ntimeout = 3\n\
                [[boot.entry]]\nlabel = \"l\"\ntitle = \"Instàll € ✓\"\nfrom = \"install\"\n\
                [[drivers]]\nko = [\"drivers/mpi3mr.ko.xz\"]\nname = \"m\"\n";
    let dir = f.dir.path();
    assert!(Profile::from_str(text, Path::new("p.toml"), dir).is_ok());
    for end in (0..=text.len()).filter(|&i| text.is_char_boundary(i)) {
        let prefix = &text[..end];
        if let Err(e) = Profile::from_str(prefix, Path::new("p.toml"), dir) {
            let message = e.to_string();
            assert!(message.starts_with("p.toml"), "{message}");
        }
    }
}

// ---- the same verdicts as independent tools ---------------------------------------------------

/// Runs a referee tool; a missing tool fails the test and names the Debian package to install.
fn referee(tool: &str, package: &str, args: &[&str], dir: &Path) -> std::process::Output {
    match std::process::Command::new(tool)
        .args(args)
        .current_dir(dir)
        .output()
    {
        Ok(out) => out,
        Err(e) => {
            panic!("referee `{tool}` cannot run ({e}); install the Debian package `{package}`")
        }
    }
}

/// rpm's own spec parser: does it accept `name` as a package name and `version`/`release`?
fn rpmspec_accepts(dir: &Path, name: &str, version: &str, release: &str) -> bool {
    let spec = dir.join("probe.spec");
    fs::write(
        &spec,
        format!(
            "Name: {name}\nVersion: {version}\nRelease: {release}\nSummary: s\nLicense: MIT\n\
             %description\nd\n"
        ),
    )
    .expect("write spec");
    let out = referee(
        "rpmspec",
        "rpm",
        &["-q", "--qf", "%{name}\\n", "probe.spec"],
        dir,
    );
    out.status.success() && String::from_utf8_lossy(&out.stdout).trim() == name
}

#[test]
fn package_names_are_judged_as_rpmspec_judges_them() {
    let f = Fixture::new();
    for name in [
        "xcp-ng-deps",
        "libstdc++",
        "_x",
        "7zip",
        "python3.6",
        "a_b.c+d-e",
        "-bad",
        ".bad",
        "+bad",
        "a/b",
        "a*b",
        "a:b",
        "a~b",
        "a@b",
        "a,b",
    ] {
        let text = format!("{HEAD}[packages]\ninstall = [\"{name}\"]\n");
        let ours = f.load(&text).is_ok();
        let theirs = rpmspec_accepts(f.dir.path(), name, "1", "1");
        assert_eq!(
            ours, theirs,
            "package name {name:?}: we say {ours}, rpmspec says {theirs}"
        );
    }
}

#[test]
fn driver_versions_are_judged_as_rpmspec_judges_them() {
    let f = Fixture::new();
    for version in [
        "8.9.1.0.0",
        "5.10.214-1",
        "1.0~rc1",
        "1.0^git1",
        "1_2+3",
        "1-2-3",
        "1:2",
        "1/2",
        "1 2",
        "1,2",
        "1-",
    ] {
        let text = format!(
            "{HEAD}[[drivers]]\nko = [\"drivers/mpi3mr.ko\"]\nname = \"m\"\nversion = \"{version}\"\n"
        );
        let ours = f.load(&text).is_ok();
        let (v, r) = version.split_once('-').unwrap_or((version, "1"));
        let theirs = !v.is_empty()
            && !r.is_empty()
            && !v.contains(' ')
            && !r.contains(' ')
            && rpmspec_accepts(f.dir.path(), "m", v, r);
        assert_eq!(
            ours, theirs,
            "version {version:?}: we say {ours}, rpmspec says {theirs}"
        );
    }
}

#[test]
fn volume_ids_are_judged_as_genisoimage_judges_them() {
    let f = Fixture::new();
    let tree = f.dir.path().join("tree");
    fs::create_dir_all(&tree).expect("mkdir");
    fs::write(tree.join("a"), b"a").expect("write");
    let printable: String = (' '..='~')
        .filter(|c| *c != '"' && *c != '\\')
        .take(32)
        .collect();
    for id in [
        "XCP-ng 8.3".to_owned(),
        "X".repeat(32),
        printable,
        "X".repeat(33),
        "Y".repeat(40),
    ] {
        let text = format!(
            "[source]\niso = \"builtin:sample\"\n[output]\niso = \"o.iso\"\nvolume_id = \"{id}\"\n"
        );
        let ours = f.load(&text).is_ok();
        let out = referee(
            "genisoimage",
            "genisoimage",
            &["-quiet", "-o", "v.iso", "-V", &id, "tree"],
            f.dir.path(),
        );
        let theirs = out.status.success();
        assert_eq!(
            ours, theirs,
            "volume id {id:?}: we say {ours}, genisoimage says {theirs}"
        );
        if theirs {
            let info = referee(
                "isoinfo",
                "genisoimage",
                &["-d", "-i", "v.iso"],
                f.dir.path(),
            );
            let info = String::from_utf8_lossy(&info.stdout);
            assert!(
                info.lines().any(|l| l == format!("Volume id: {id}")),
                "isoinfo does not read back {id:?}:\n{info}"
            );
        }
    }
}

#[test]
fn treeinfo_values_we_accept_survive_python_configparser_and_the_others_do_not() {
    let f = Fixture::new();
    let script = "import configparser, sys\n\
                  v = sys.argv[1]\n\
                  c = configparser.ConfigParser()\n\
                  try:\n\
                  \x20   c.read_string('[build]\\nnumber = ' + v + '\\n')\n\
                  \x20   ok = c.get('build', 'number') == v\n\
                  except Exception:\n\
                  \x20   ok = False\n\
                  print('ok' if ok else 'bad')\n";
    for value in [
        "site-2026.11",
        "cloud",
        "a b c",
        "100%",
        "50 %% off",
        " lead",
        "trail ",
    ] {
        let text = format!("{HEAD}[treeinfo]\nbuild_number = \"{value}\"\n");
        let ours = f.load(&text).is_ok();
        let out = referee("python3", "python3", &["-c", script, value], f.dir.path());
        assert!(out.status.success(), "python3 failed: {out:?}");
        let theirs = String::from_utf8_lossy(&out.stdout).trim() == "ok";
        assert_eq!(
            ours, theirs,
            "build number {value:?}: we say {ours}, ConfigParser says {theirs}"
        );
    }
}

/// A valid `[[packages.build]]` with its one file, before `extra` keys of the table.
fn package_build(extra: &str) -> String {
    format!(
        "{HEAD}[[packages.build]]\nname = \"site-tools\"\nversion = \"1.0\"\nsummary = \"Tools\"\n\
         license = \"MIT\"\n{extra}[[packages.build.files]]\nsrc = \"files/README.site\"\n\
         dest = \"/usr/share/site/README\"\n"
    )
}

#[test]
fn package_build_values_are_checked_where_they_are_written() {
    let f = Fixture::new();
    f.load(&package_build("")).expect("the valid table loads");
    for (extra, needle, words) in [
        (
            "release = \"1-2\"\n",
            "\"1-2\"",
            &["release `1-2`", "`._+~^`"][..],
        ),
        (
            "arch = \"i686\"\n",
            "\"i686\"",
            &["unknown variant `i686`", "`noarch`", "`x86_64`"],
        ),
        ("description = \"\"\n", "\"\"", &["description", "is empty"]),
        (
            "description = \"a\\u0007b\"\n",
            "\"a\\u0007b\"",
            &["description", "control character"],
        ),
        ("group = \"a\\nb\"\n", "\"a\\nb\"", &["group", "one line"]),
        ("vendor = \" \"\n", "\" \"", &["vendor", "is empty"]),
        (
            "requires = [\"bash\", \"glibc >= 2\"]\n",
            "\"glibc >= 2\"",
            &["required capability `glibc >= 2`", "no version"],
        ),
        ("epoch = 1\n", "epoch", &["unknown key `epoch`", "`vendor`"]),
    ] {
        assert_error_at(&f, &package_build(extra), needle, words);
    }
    // Required values, replaced one at a time.
    for (from, to, needle, words) in [
        (
            "name = \"site-tools\"",
            "name = \"-site\"",
            "\"-site\"",
            &["package name `-site`", "not a valid RPM name"][..],
        ),
        (
            "version = \"1.0\"",
            "version = \"1.0-1\"",
            "\"1.0-1\"",
            &["version `1.0-1`", "`._+~^`"],
        ),
        (
            "summary = \"Tools\"",
            "summary = \"\"",
            "\"\"",
            &["summary", "is empty"],
        ),
        (
            "license = \"MIT\"",
            "license = \"MIT\\tor GPL\"",
            "\"MIT",
            &["license", "one line"],
        ),
        (
            "src = \"files/README.site\"",
            "src = \"files/nope\"",
            "\"files/nope\"",
            &["file", "does not exist"],
        ),
        (
            "dest = \"/usr/share/site/README\"",
            "dest = \"usr/README\"",
            "\"usr/README\"",
            &["usr/README", "absolute"],
        ),
        (
            "dest = \"/usr/share/site/README\"",
            "dest = \"/usr/../README\"",
            "\"/usr/../README\"",
            &["normalized"],
        ),
        (
            "dest = \"/usr/share/site/README\"",
            "dest = \"/usr/share/site/README\"\nmode = \"0999\"",
            "\"0999\"",
            &["mode `0999`", "octal"],
        ),
        (
            "dest = \"/usr/share/site/README\"",
            "dest = \"/usr/share/site/README\"\nowner = \"root\"",
            "owner",
            &["unknown key `owner`", "`mode`"],
        ),
    ] {
        let text = package_build("").replace(from, to);
        assert_error_at(&f, &text, needle, words);
    }
    // A required key left out: the error names it, at its table.
    let text = package_build("").replace("license = \"MIT\"\n", "");
    assert_error_at(&f, &text, "[[packages.build]]", &["missing key `license`"]);
}

#[test]
fn a_package_built_twice_or_a_file_written_twice_is_refused() {
    let f = Fixture::new();
    let one = package_build("");
    let table = one.strip_prefix(HEAD).expect("head");
    let twice = format!("{one}{table}");
    // Where the second table's name is: line and column of its value.
    let at = twice.rfind("\"site-tools\"").expect("second name");
    let line = twice[..at].matches('\n').count() + 1;
    let col = at - twice[..at].rfind('\n').map_or(0, |i| i + 1) + 1;
    let (first_line, first_col) = position_of(&twice, "\"site-tools\"");
    let path = f.profile_path();
    assert_eq!(
        f.error(&twice),
        format!(
            "{p}:{line}:{col}: package `site-tools` is already built at {p}:{first_line}:{first_col}",
            p = path.display()
        )
    );
    let two_files = format!(
        "{one}[[packages.build.files]]\nsrc = \"files/99-site.conf\"\ndest = \"/usr/share/site/README\"\n"
    );
    let message = f.error(&two_files);
    assert!(
        message.contains("destination `/usr/share/site/README` is already used at"),
        "{message}"
    );
    let file_under_file = format!(
        "{one}[[packages.build.files]]\nsrc = \"files/99-site.conf\"\ndest = \"/usr/share/site/README/x\"\n"
    );
    assert_error_at(
        &f,
        &file_under_file,
        "\"/usr/share/site/README/x\"",
        &[
            "[[packages.build.files]] dest `/usr/share/site/README/x` conflicts with",
            "cannot hold other files",
        ],
    );
}
