//! The README's first command: the demo profile builds from the built-in
//! sample on a fresh clone, the same bytes twice, and xorriso reads it.

mod common;

use common::*;

#[test]
fn demo_profile_builds_reproducibly_from_the_builtin_sample() {
    let dir = tempfile::tempdir().unwrap();
    let profile = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("profiles/demo.toml");
    let mut images = Vec::new();
    for n in 0..2 {
        let out = dir.path().join(format!("demo{n}.iso"));
        run(isoremix().arg("build").arg(&profile).arg("-o").arg(&out));
        images.push(std::fs::read(&out).unwrap());
    }
    assert!(images[0] == images[1], "two builds of the demo differ");
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
