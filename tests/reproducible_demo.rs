//! The README's first command: the demo profile builds from the built-in
//! sample on a fresh clone, the same bytes every time whatever the thread count (the default,
//! one, seven), and xorriso reads it. A package
//! `[[packages.build]]` makes is the same bytes wherever and whenever its files are.

mod common;

use common::*;

#[test]
fn demo_profile_builds_reproducibly_from_the_builtin_sample() {
    let dir = tempfile::tempdir().unwrap();
    let profile = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("profiles/demo.toml");
    let mut images = Vec::new();
    // The default thread count, then one thread, then seven.
    for (n, threads) in [None, Some("1"), Some("7")].into_iter().enumerate() {
        let out = dir.path().join(format!("demo{n}.iso"));
        let mut build = isoremix();
        if let Some(threads) = threads {
            build.env("ISOREMIX_THREADS", threads);
        }
        run(build.arg("build").arg(&profile).arg("-o").arg(&out));
        images.push(std::fs::read(&out).unwrap());
    }
    assert!(images[0] == images[1], "the demo differs on one thread");
    assert!(images[0] == images[2], "the demo differs on seven threads");
    let out = dir.path().join("demo0.iso");
    let rep = xorriso_report(&out);
    assert!(
        rep.contains("El Torito img path :   2  /boot/efiboot.img"),
        "{rep}"
    );
    let x = dir.path().join("x");
    xorriso_extract(&out, &x);
    assert!(x.join("README.site").is_file());
    assert!(!x.join("EULA").exists());
    assert!(x.join("EFI/BOOT/BOOTX64.EFI").is_file());
    let packages: Vec<String> = std::fs::read_dir(x.join("Packages"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(
        packages.iter().any(|p| p.starts_with("site-tools-1.0-1")),
        "{packages:?}"
    );
    assert!(
        !packages.iter().any(|p| p.starts_with("sample-docs")),
        "{packages:?}"
    );
}

/// The package `[[packages.build]]` makes depends only on the profile, its files' bytes and the
/// build time: not on the folder the profile is in, nor on its files' times or permissions.
#[test]
fn a_built_package_depends_only_on_its_profile_files_and_the_build_time() {
    let dir = tempfile::tempdir().unwrap();
    let text = "[source]\niso = \"builtin:sample\"\n[output]\niso = \"out.iso\"\n\
                [[packages.build]]\nname = \"site-tools\"\nversion = \"1.0\"\n\
                summary = \"Tools\"\nlicense = \"MIT\"\n\
                [[packages.build.files]]\nsrc = \"tool\"\ndest = \"/usr/bin/tool\"\nmode = \"0755\"\n";
    let mut packages = Vec::new();
    for (n, (stamp, mode)) in [("200001010000", "644"), ("202501010000", "600")]
        .into_iter()
        .enumerate()
    {
        let at = dir.path().join(format!("copy{n}"));
        std::fs::create_dir_all(&at).unwrap();
        std::fs::write(at.join("p.toml"), text).unwrap();
        std::fs::write(at.join("tool"), "#!/bin/sh\necho tool\n").unwrap();
        run(std::process::Command::new("touch")
            .args(["-t", stamp])
            .arg(at.join("tool")));
        run(std::process::Command::new("chmod")
            .arg(mode)
            .arg(at.join("tool")));
        run(isoremix()
            .env("SOURCE_DATE_EPOCH", "1700000000")
            .arg("-q")
            .arg("build")
            .arg(at.join("p.toml")));
        let x = at.join("x");
        xorriso_extract(&at.join("out.iso"), &x);
        packages.push(std::fs::read(x.join("Packages/site-tools-1.0-1.noarch.rpm")).unwrap());
    }
    assert!(
        packages[0] == packages[1],
        "two builds of one [[packages.build]] differ"
    );
    let h = isoremix::rpm::read_package(std::io::Cursor::new(&packages[0]))
        .unwrap()
        .header;
    assert_eq!(h.build_time, 1_700_000_000);
}
