//! Each rule on a profile value is the format's own: a value the boot menus, the RPM layer,
//! `.treeinfo` or install.img would refuse later is refused when the profile is loaded, with
//! the line and column of the value, instead of failing halfway through a build.

use std::path::Path;

use isoremix::profile::Profile;

const HEAD: &str = "[source]\niso = \"builtin:sample\"\n[output]\niso = \"o.iso\"\n";

/// `site.toml:LINE:COLUMN` of the first `needle` in `text` (1-based, columns in characters).
fn at(text: &str, needle: &str) -> String {
    let offset = text.find(needle).expect("the needle is in the profile");
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let col = before.rsplit('\n').next().unwrap_or("").chars().count() + 1;
    format!("site.toml:{line}:{col}")
}

/// Loads `HEAD` + `body` (inputs relative to `dir`) and returns the refusal's message, which
/// must start with the position of `value` (the first occurrence of `"value"` in the text).
fn refused_at(dir: &Path, body: &str, value: &str) -> String {
    let text = format!("{HEAD}{body}");
    let err = Profile::from_str(&text, Path::new("site.toml"), dir)
        .expect_err("the profile is refused at load")
        .to_string();
    let place = at(&text, &format!("\"{value}"));
    assert!(
        err.starts_with(&format!("{place}: ")),
        "{err:?} does not start with {place}"
    );
    err
}

#[test]
fn boot_arguments_the_menus_cannot_carry() {
    let dir = tempfile::tempdir().unwrap();
    for (key, arg) in [
        ("dom0_args = { add", "a;b"),
        ("dom0_args = { set", "x={y}"),
        ("xen_args = { add", "u=http://h/?a=1&b=2"),
        ("xen_args = { set", "$x"),
    ] {
        let body = format!("[boot]\n{key} = [\"{arg}\"] }}\n");
        let err = refused_at(dir.path(), &body, arg);
        assert!(
            err.contains(arg) && err.contains("quote or interpret"),
            "{err}"
        );
    }
}

#[test]
fn rpm_names_as_the_rpm_layer_reads_them() {
    let dir = tempfile::tempdir().unwrap();
    for name in ["-x", ".x", "a b", "a/b", "caf\u{e9}", "a*"] {
        let err = refused_at(
            dir.path(),
            &format!("[packages]\nmeta = \"{name}\"\n"),
            name,
        );
        assert!(err.contains("meta-package name"), "{err}");
        refused_at(
            dir.path(),
            &format!("[packages]\ninstall = [\"{name}\"]\n"),
            name,
        );
    }
    // What the RPM layer accepts, the profile accepts.
    for name in ["xcp-ng-deps", "libstdc++", "_x", "7zip", "python3.6"] {
        let text = format!("{HEAD}[packages]\nmeta = \"{name}\"\n");
        Profile::from_str(&text, Path::new("site.toml"), dir.path())
            .unwrap_or_else(|e| panic!("{name}: {e}"));
    }
}

#[test]
fn driver_versions_as_the_rpm_layer_builds_them() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("m.ko"), b"not read at load").unwrap();
    for version in ["1-2-3", "-1", "1-", "1 2", "1/2", "1:2"] {
        let body = format!(
            "[[drivers]]\nko = [\"m.ko\"]\nname = \"site-driver\"\nversion = \"{version}\"\n"
        );
        let err = refused_at(dir.path(), &body, version);
        assert!(err.contains("version"), "{err}");
    }
}

#[test]
fn treeinfo_versions_as_treeinfo_writes_them() {
    let dir = tempfile::tempdir().unwrap();
    for version in ["8.3-beta", "8..3", ".8", "8.3.", "v8"] {
        let body = format!("[treeinfo]\nproduct_version = \"{version}\"\n");
        let err = refused_at(dir.path(), &body, version);
        assert!(err.contains("product version"), "{err}");
    }
}

#[test]
fn installer_paths_install_img_cannot_hold() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("x.txt"), "x\n").unwrap();
    // install.img's names are at most 4095 bytes (the kernel's PATH_MAX): a longer one used to
    // pass the profile and fail inside the build, without the profile line.
    let long = format!("/{}x", "a/".repeat(2100));
    let body = format!("[[installer.files]]\nsrc = \"x.txt\"\ndest = \"{long}\"\n");
    let err = refused_at(dir.path(), &body, &long);
    assert!(err.contains("longer than 4095 bytes"), "{err}");
    let body = format!("[installer]\nremove = [\"{long}\"]\n");
    refused_at(dir.path(), &body, &long);
    // A name of 4095 bytes (without the leading `/`) is one install.img can hold.
    let fits = format!("/{}", "a".repeat(4095));
    let text = format!("{HEAD}[[installer.files]]\nsrc = \"x.txt\"\ndest = \"{fits}\"\n");
    Profile::from_str(&text, Path::new("site.toml"), dir.path()).unwrap();
}
