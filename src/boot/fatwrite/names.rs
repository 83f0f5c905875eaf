//! File names: which long names FAT can store, the exact 8.3 form of a name, and generated
//! `BASIS~N.EXT` aliases.

use std::collections::BTreeSet;

use super::Error;

/// Checks a long name: 1..=255 UTF-16 units, no control characters, none of `"*/:<>?\|`,
/// not `.`/`..`, not ending in a dot or space.
pub fn check_name(name: &str) -> Result<(), Error> {
    let bad = |why| {
        Err(Error::BadName {
            name: name.to_string(),
            why,
        })
    };
    if name.is_empty() || name == "." || name == ".." {
        return bad("empty, `.` or `..`");
    }
    if name.encode_utf16().count() > 255 {
        return bad("longer than 255 characters");
    }
    if name
        .chars()
        .any(|c| c.is_control() || "\"*/:<>?\\|".contains(c))
    {
        return bad("contains a control character or one of \"*/:<>?\\|");
    }
    if name.ends_with('.') || name.ends_with(' ') {
        return bad("ends with a dot or space");
    }
    Ok(())
}

/// The 8.3 name `name` has as is (upper-case letters, digits and `!#$%&'()-@^_`{}~`), if any.
pub(super) fn exact_short(name: &str) -> Option<[u8; 11]> {
    let ok =
        |c: u8| c.is_ascii_uppercase() || c.is_ascii_digit() || b"!#$%&'()-@^_`{}~".contains(&c);
    let (base, ext) = match name.rsplit_once('.') {
        Some((b, e)) => (b, e),
        None => (name, ""),
    };
    if base.is_empty() || base.len() > 8 || ext.len() > 3 {
        return None;
    }
    if !base.bytes().chain(ext.bytes()).all(ok) {
        return None;
    }
    let mut out = [b' '; 11];
    out[..base.len()].copy_from_slice(base.as_bytes());
    out[8..8 + ext.len()].copy_from_slice(ext.as_bytes());
    Some(out)
}

/// A generated 8.3 alias `BASIS~N.EXT` for a long name, unique among `taken`.
pub(super) fn alias(name: &str, taken: &BTreeSet<[u8; 11]>) -> Option<[u8; 11]> {
    let clean = |s: &str| -> Vec<u8> {
        s.chars()
            .filter(|c| *c != ' ' && *c != '.')
            .map(|c| {
                let u = c.to_ascii_uppercase();
                if u.is_ascii_uppercase() || u.is_ascii_digit() || "!#$%&'()-@^_`{}~".contains(u) {
                    u as u8
                } else {
                    b'_'
                }
            })
            .collect()
    };
    let (base, ext) = match name.trim_start_matches('.').rsplit_once('.') {
        Some((b, e)) => (clean(b), clean(e)),
        None => (clean(name), Vec::new()),
    };
    let ext = &ext[..ext.len().min(3)];
    for n in 1u32..1_000_000 {
        let tail = format!("~{n}");
        let keep = 8usize.saturating_sub(tail.len()).min(base.len());
        let mut out = [b' '; 11];
        let mut i = 0;
        for &b in base.iter().take(keep) {
            out[i] = b;
            i += 1;
        }
        if keep == 0 {
            out[0] = b'_';
            i = 1;
        }
        for b in tail.bytes() {
            if i < 8 {
                out[i] = b;
                i += 1;
            }
        }
        out[8..8 + ext.len()].copy_from_slice(ext);
        if !taken.contains(&out) {
            return Some(out);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_names() {
        assert_eq!(&exact_short("BOOTX64.EFI").unwrap(), b"BOOTX64 EFI");
        assert!(exact_short("grub.cfg").is_none());
        let taken = BTreeSet::new();
        assert_eq!(&alias("xenserver", &taken).unwrap(), b"XENSER~1   ");
        let mut taken = BTreeSet::new();
        taken.insert(*b"XENSER~1   ");
        assert_eq!(&alias("xenserver2", &taken).unwrap(), b"XENSER~2   ");
        assert_eq!(
            &alias("grub.cfg", &BTreeSet::new()).unwrap(),
            b"GRUB~1  CFG"
        );
    }
}
