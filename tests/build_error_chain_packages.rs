//! A `[packages]` edit that fails says on its first line which profile value brought the package
//! in (an `add` entry, a `from` pool folder) and what is wrong with it, and the RPM layer's own
//! error on a `caused by:` line below it.

mod common;

use common::error_chain::{assert_chain, at, refused};

#[test]
fn an_added_file_that_is_not_an_rpm_names_the_add_line_and_the_rpm_layers_reason() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("notes.rpm");
    std::fs::write(&file, "just some text, not a package\n").unwrap();
    let lines = refused(dir.path(), "[packages]\nadd = [\"notes.rpm\"]\n");
    assert_chain(
        &lines,
        &format!(
            "error: {}: {}: not a readable RPM",
            at(dir.path(), 6, 8),
            file.display()
        ),
        &["not an RPM package", "lead magic"],
    );
}

#[test]
fn a_damaged_package_names_the_add_line_and_the_digest_that_does_not_match() {
    let dir = tempfile::tempdir().unwrap();
    let spec = common::package::spec("site-tools", "1.0", "1", "noarch");
    let file = common::package::write(dir.path(), &spec);
    let mut bytes = std::fs::read(&file).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 0xff;
    std::fs::write(&file, bytes).unwrap();
    let name = file.file_name().unwrap().to_str().unwrap();
    let lines = refused(dir.path(), &format!("[packages]\nadd = [\"{name}\"]\n"));
    assert_chain(
        &lines,
        &format!(
            "error: {}: {}: damaged or tampered package",
            at(dir.path(), 6, 8),
            file.display()
        ),
        &["digest"],
    );
}

#[test]
fn a_pool_file_that_is_not_an_rpm_names_the_pool_line_and_the_rpm_layers_reason() {
    let dir = tempfile::tempdir().unwrap();
    let pool = dir.path().join("pool");
    std::fs::create_dir(&pool).unwrap();
    std::fs::write(pool.join("x.rpm"), "not a package\n").unwrap();
    let lines = refused(dir.path(), "[packages]\nfrom = [\"pool\"]\n");
    assert_chain(
        &lines,
        &format!(
            "error: {}: {}: not a readable RPM",
            at(dir.path(), 6, 9),
            pool.join("x.rpm").display()
        ),
        &["not an RPM package"],
    );
}

#[test]
fn removing_an_absent_package_names_the_remove_line() {
    let dir = tempfile::tempdir().unwrap();
    let lines = refused(dir.path(), "[packages]\nremove = [\"no-such-package\"]\n");
    assert_eq!(
        lines.first().map(String::as_str),
        Some(
            format!(
                "error: {}: cannot remove no-such-package: the source has no such package",
                at(dir.path(), 6, 11)
            )
            .as_str()
        ),
        "{lines:#?}"
    );
}
