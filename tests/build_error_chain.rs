//! A build that fails says where in the profile the failing edit is on its first line, and the
//! format layer's own error on `caused by:` lines below it (the chain the step errors keep).

mod common;

use common::error_chain::{assert_chain, at, refused};

#[test]
fn removing_a_missing_iso_file_names_the_profile_line_and_the_iso_layers_reason() {
    let dir = tempfile::tempdir().unwrap();
    let lines = refused(dir.path(), "[iso]\nremove = [\"/NO-SUCH-FILE\"]\n");
    let at = at(dir.path(), 6, 11);
    assert_chain(
        &lines,
        &format!("error: {at}: cannot remove /NO-SUCH-FILE"),
        &["/NO-SUCH-FILE", "no such file"],
    );
}

#[test]
fn an_unknown_boot_entry_names_the_profile_line_and_the_menus_entries() {
    let dir = tempfile::tempdir().unwrap();
    let lines = refused(dir.path(), "[boot]\ndefault = \"instal\"\n");
    let at = at(dir.path(), 6, 11);
    assert_chain(
        &lines,
        &format!("error: {at}: cannot edit the boot menus"),
        &["no boot menu has an entry \"instal\"", "install, no-serial"],
    );
}

#[test]
fn a_key_that_is_not_a_key_names_the_profile_line_and_why() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("garbage.asc"), "not a key\n").unwrap();
    let lines = refused(dir.path(), "[signing]\nkey = \"garbage.asc\"\n");
    let at = at(dir.path(), 6, 7);
    assert_chain(
        &lines,
        &format!("error: {at}: cannot sign with this key"),
        &["garbage.asc"],
    );
}
