//! The syntax rules of single values (paths inside images, volume ids, boot arguments, modes,
//! RPM names and versions, ...), as pure functions of the text.

/// The longest volume identifier the ISO 9660 primary volume descriptor holds.
const MAX_VOLUME_ID: usize = 32;

/// serde speaks of fields and Rust types; a profile has keys and TOML types.
pub(crate) fn key_wording(message: &str) -> String {
    let mut message = message.to_owned();
    for (from, to) in [
        ("unknown field `", "unknown key `"),
        ("missing field `", "missing key `"),
        ("duplicate field `", "duplicate key `"),
    ] {
        if let Some(rest) = message.strip_prefix(from) {
            message = format!("{to}{rest}");
        }
    }
    if let Some(head) = message.strip_suffix(", expected i64") {
        message = format!("{head}, expected an integer");
    }
    message
}

/// Why `path` is not an absolute, normalized path inside an image, if it is not. A path the
/// profile accepts is one install.img's edits accept too ([`crate::initrd::edits::normalize`]:
/// no NUL, no `..`, shorter than the kernel's `PATH_MAX`).
pub(crate) fn image_path_problem(path: &str) -> Option<String> {
    let problem = if path.is_empty() {
        "is empty"
    } else if !path.starts_with('/') {
        "must be absolute (start with `/`)"
    } else if path == "/" {
        "is the root folder, not a file"
    } else if path.chars().any(char::is_control) {
        "has a control character"
    } else if path.contains("//") {
        "is not normalized: it has an empty component (`//`)"
    } else if path.ends_with('/') {
        "is not normalized: it ends with `/`"
    } else if path.split('/').any(|c| c == "." || c == "..") {
        "is not normalized: it has a `.` or `..` component"
    } else {
        return match crate::initrd::edits::normalize(path.as_bytes()) {
            Ok(_) => None,
            Err(crate::initrd::Error::Edit { what, .. }) => {
                Some(format!("cannot be written: {what}"))
            }
            Err(e) => Some(format!("cannot be written: {e}")),
        };
    };
    Some(problem.to_string())
}

/// Why `v` cannot be a volume identifier, if it cannot.
pub(crate) fn volume_id_problem(v: &str) -> Option<String> {
    if v.is_empty() {
        return Some("is empty".into());
    }
    if let Some(c) = v.chars().find(|c| !(' '..='~').contains(c)) {
        return Some(format!(
            "has the character {c:?}; only printable ASCII fits the ISO 9660 field"
        ));
    }
    if v.len() > MAX_VOLUME_ID {
        return Some(format!(
            "is {} characters long; ISO 9660 (and `genisoimage -V`) allow at most {MAX_VOLUME_ID}",
            v.len()
        ));
    }
    if v.ends_with(' ') {
        return Some("ends with a space, which the space-padded field would lose".into());
    }
    None
}

/// Why `arg` cannot be one kernel or Xen command-line argument, if it cannot: the boot menus'
/// own rule ([`crate::boot::args::validate`]).
pub(crate) fn boot_arg_problem(arg: &str) -> Option<&'static str> {
    match crate::boot::args::validate(arg) {
        Ok(()) => None,
        Err(crate::boot::args::Error::InvalidArgument { why, .. }) => Some(why),
    }
}

/// Parses a file mode: 1 to 5 octal digits, at most `07777`.
pub(crate) fn parse_mode(s: &str) -> Option<u32> {
    if s.is_empty() || s.len() > 5 || !s.bytes().all(|b| (b'0'..=b'7').contains(&b)) {
        return None;
    }
    u32::from_str_radix(s, 8).ok().filter(|&m| m <= 0o7777)
}

/// An RPM package name as the RPM layer builds and reads it ([`crate::rpm::evr::check_name`]).
pub(crate) fn is_rpm_name(s: &str) -> bool {
    crate::rpm::evr::check_name("name", s).is_ok()
}

/// An RPM version or release alone (no `-`), as the RPM layer builds it
/// ([`crate::rpm::evr::check_version_chars`]).
pub(crate) fn is_version_part(s: &str) -> bool {
    crate::rpm::evr::check_version_chars("version", s).is_ok()
}

/// An RPM version, or `version-release`, each part as [`is_version_part`].
pub(crate) fn is_version(s: &str) -> bool {
    match s.split_once('-') {
        None => is_version_part(s),
        Some((v, r)) => is_version_part(v) && is_version_part(r),
    }
}

/// A capability a built package can require without a version: a name or an absolute path, as
/// the RPM layer writes it ([`crate::rpm::Dep::validate`]).
pub(crate) fn is_capability(s: &str) -> bool {
    crate::rpm::Dep::any(s).validate().is_ok()
}

/// Why `text` cannot be a text field of a package header, if it cannot: empty, or a control
/// character (newline and tab are allowed when `multiline`, as in a description).
pub(crate) fn text_problem(text: &str, multiline: bool) -> Option<&'static str> {
    if text.trim().is_empty() {
        Some("is empty")
    } else if text
        .chars()
        .any(|c| c.is_control() && !(multiline && (c == '\n' || c == '\t')))
    {
        Some(if multiline {
            "has a control character other than newline and tab"
        } else {
            "must be one line without control characters"
        })
    } else {
        None
    }
}

/// A kernel release usable as a folder name under `/lib/modules`.
pub(crate) fn is_kernel_version(s: &str) -> bool {
    !s.is_empty()
        && !s.starts_with('.')
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '+' | '-' | '~'))
}

/// Dotted decimal numbers, like `8.3.0`: a version `.treeinfo` can carry
/// ([`crate::treeinfo::is_dotted_version`]).
pub(crate) fn is_dotted_numbers(s: &str) -> bool {
    crate::treeinfo::is_dotted_version(s)
}

/// A portable environment variable name.
pub(crate) fn is_env_name(s: &str) -> bool {
    let mut chars = s.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// A UUID in 8-4-4-4-12 form, lower-cased.
pub(crate) fn normalize_uuid(s: &str) -> Option<String> {
    let groups: Vec<&str> = s.split('-').collect();
    let lens: Vec<usize> = groups.iter().map(|g| g.len()).collect();
    if lens != [8, 4, 4, 4, 12]
        || !groups
            .iter()
            .all(|g| g.bytes().all(|b| b.is_ascii_hexdigit()))
    {
        return None;
    }
    Some(s.to_ascii_lowercase())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modes_are_octal_up_to_07777() {
        assert_eq!(parse_mode("0644"), Some(0o644));
        assert_eq!(parse_mode("755"), Some(0o755));
        assert_eq!(parse_mode("07777"), Some(0o7777));
        assert_eq!(parse_mode("0"), Some(0));
        for bad in [
            "",
            "0648",
            "17777",
            "000000",
            "0o644",
            "-644",
            " 644",
            "rw-r--r--",
        ] {
            assert_eq!(parse_mode(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn image_paths_must_be_absolute_and_normalized() {
        assert_eq!(image_path_problem("/EULA"), None);
        assert_eq!(image_path_problem("/etc/modprobe.d/99-site.conf"), None);
        assert_eq!(image_path_problem("/a/..b/c.."), None);
        for bad in [
            "", "EULA", "/", "//EULA", "/a//b", "/a/", "/a/../b", "/./a", "/a/.", "/a\nb",
        ] {
            assert!(image_path_problem(bad).is_some(), "{bad:?}");
        }
    }

    #[test]
    fn rpm_names() {
        for good in [
            "xcp-ng-deps",
            "kernel-alt",
            "libstdc++",
            "_x",
            "python3.6",
            "7zip",
        ] {
            assert!(is_rpm_name(good), "{good}");
        }
        for bad in ["", "-x", ".x", "+x", "a b", "a/b", "é", "a*"] {
            assert!(!is_rpm_name(bad), "{bad}");
        }
    }

    #[test]
    fn versions_allow_one_release_separator() {
        assert!(is_version("8.9.1.0.0"));
        assert!(is_version("5.10.214-1"));
        assert!(is_version("1.0~rc1^git"));
        for bad in ["", "1-2-3", "-1", "1-", "1 2", "1/2"] {
            assert!(!is_version(bad), "{bad}");
        }
    }

    #[test]
    fn version_parts_have_no_release_separator() {
        assert!(is_version_part("1.0"));
        assert!(is_version_part("2.0~rc1^git3"));
        assert!(is_version_part("3.el7"));
        for bad in ["", "1-2", "1 2", "1/2", "1:2", "é"] {
            assert!(!is_version_part(bad), "{bad}");
        }
    }

    #[test]
    fn capabilities_are_unversioned_names_or_paths() {
        for good in ["bash", "libc.so.6()(64bit)", "/bin/sh", "perl(Foo::Bar)"] {
            assert!(is_capability(good), "{good}");
        }
        for bad in ["", "a b", "glibc>=2", "a,b", "/usr/../bin/sh", "/", "x\n"] {
            assert!(!is_capability(bad), "{bad:?}");
        }
    }

    #[test]
    fn header_text_is_one_line_unless_multiline() {
        assert_eq!(text_problem("Site tools", false), None);
        assert_eq!(text_problem("Line one.\n\tLine two.", true), None);
        assert_eq!(text_problem("", false), Some("is empty"));
        assert_eq!(text_problem(" \n", true), Some("is empty"));
        assert!(text_problem("a\nb", false).is_some());
        assert!(text_problem("a\u{7}b", true).is_some());
        assert!(text_problem("a\u{85}b", false).is_some());
    }

    #[test]
    fn volume_ids() {
        assert_eq!(volume_id_problem("XCP-ng 8.3 custom"), None);
        assert_eq!(volume_id_problem(&"A".repeat(32)), None);
        assert!(volume_id_problem(&"A".repeat(33)).is_some());
        assert!(volume_id_problem("").is_some());
        assert!(volume_id_problem("caf\u{e9}").is_some());
        assert!(volume_id_problem("tab\there").is_some());
        assert!(volume_id_problem("trailing ").is_some());
    }

    #[test]
    fn boot_args() {
        assert_eq!(boot_arg_problem("dom0_mem=max:16384M"), None);
        // GRUB reads `&` and `;` as operators: the boot menus cannot carry them unquoted.
        for bad in [
            "",
            "a b",
            "a\tb",
            "---",
            "x=\"y\"",
            "=1",
            "a\u{7}",
            "a;b",
            "answerfile=http://deploy.example/answer.xml?a=1&b=2",
        ] {
            assert!(boot_arg_problem(bad).is_some(), "{bad:?}");
        }
    }

    #[test]
    fn uuids_are_normalized_to_lower_case() {
        assert_eq!(
            normalize_uuid("0D2A6E4C-1B3F-4C5D-9E8F-A0B1C2D3E4F5").as_deref(),
            Some("0d2a6e4c-1b3f-4c5d-9e8f-a0b1c2d3e4f5")
        );
        assert_eq!(normalize_uuid("0d2a6e4c1b3f4c5d9e8fa0b1c2d3e4f5"), None);
        assert_eq!(normalize_uuid("0d2a6e4c-1b3f-4c5d-9e8f-a0b1c2d3e4fg"), None);
    }

    #[test]
    fn serde_field_wording_becomes_key() {
        assert_eq!(
            key_wording("unknown field `volumeid`, expected one of `iso`, `volume_id`"),
            "unknown key `volumeid`, expected one of `iso`, `volume_id`"
        );
        assert_eq!(key_wording("missing field `iso`"), "missing key `iso`");
        assert_eq!(key_wording("invalid type"), "invalid type");
        assert_eq!(
            key_wording("invalid type: string \"3\", expected i64"),
            "invalid type: string \"3\", expected an integer"
        );
    }
}
