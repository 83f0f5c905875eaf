//! Values of the wrong type in a profile: the error keeps its line and
//! column and says what was meant when the mistake is a common one.

use std::path::Path;

use isoremix::profile::Profile;

const HEAD: &str = "[source]\niso = \"builtin:sample\"\n[output]\niso = \"o.iso\"\n";

fn error(body: &str) -> String {
    let text = format!("{HEAD}{body}");
    Profile::from_str(&text, Path::new("site.toml"), Path::new("/nonexistent"))
        .expect_err("the profile is refused")
        .to_string()
}

#[test]
fn a_single_drivers_table_asks_for_an_array_of_tables() {
    let err = error("[drivers]\nrpm = \"x.rpm\"\n");
    assert_eq!(
        err,
        "site.toml:5:1: `drivers` is an array of tables: write [[drivers]] for each entry \
         (invalid type: map, expected a sequence)"
    );
}

#[test]
fn a_single_iso_files_table_asks_for_an_array_of_tables() {
    let err = error("[iso.files]\nsrc = \"x\"\ndest = \"/x\"\n");
    assert_eq!(
        err,
        "site.toml:5:1: `iso.files` is an array of tables: write [[iso.files]] for each entry \
         (invalid type: map, expected a sequence)"
    );
}

#[test]
fn an_inline_table_where_a_list_of_tables_is_wanted() {
    let err = error("[installer]\nfiles = { src = \"x\", dest = \"/x\" }\n");
    assert_eq!(
        err,
        "site.toml:6:9: `installer.files` is an array of tables: write files = [{ ... }, ...] \
         (invalid type: map, expected a sequence)"
    );
}

#[test]
fn an_octal_mode_asks_for_a_string() {
    let err = error("[[installer.files]]\nsrc = \"x\"\ndest = \"/x\"\nmode = 0o644\n");
    assert_eq!(
        err,
        "site.toml:8:8: `installer.files.mode` is a string of octal digits like \"0644\", \
         not a number: write mode = \"0644\" (invalid type: integer `420`, expected a string)"
    );
    // A decimal number is shown as the octal string it stands for.
    let err = error("[[installer.files]]\nsrc = \"x\"\ndest = \"/x\"\nmode = 493\n");
    assert!(err.contains("write mode = \"0755\""), "{err}");
}

#[test]
fn a_string_where_a_list_is_wanted() {
    let err = error("[iso]\nremove = \"/EULA\"\n");
    assert_eq!(
        err,
        "site.toml:6:10: `iso.remove` is a list: write remove = [\"/EULA\"] \
         (invalid type: string \"/EULA\", expected a sequence)"
    );
}

#[test]
fn other_type_errors_keep_the_parser_message() {
    let err = error("[boot]\ntimeout = \"5\"\n");
    assert!(
        err.starts_with("site.toml:6:11: invalid type: string"),
        "{err}"
    );
}
