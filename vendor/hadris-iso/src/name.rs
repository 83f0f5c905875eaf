//! Names as the reader presents them.

pub(crate) fn version(raw: &[u8], ucs2: bool) -> Option<u16> {
    let width = if ucs2 { 2 } else { 1 };
    if raw.len() % width != 0 {
        return None;
    }
    let mut end = raw.len();
    let mut value = 0u32;
    let mut scale = 1u32;
    while end >= width {
        end -= width;
        let unit = if ucs2 {
            u16::from_be_bytes([raw[end], raw[end + 1]])
        } else {
            u16::from(raw[end])
        };
        if unit == u16::from(b';') {
            return (scale > 1 && (1..=32767).contains(&value)).then_some(value as u16);
        }
        if !(u16::from(b'0')..=u16::from(b'9')).contains(&unit) {
            return None;
        }
        value = value.checked_add(u32::from(unit - u16::from(b'0')).checked_mul(scale)?)?;
        scale = scale.checked_mul(10)?;
    }
    None
}

/// The identifier without a `;N` version suffix, and without the `.` that
/// ends a name with an empty extension once the version is gone.
pub(crate) fn strip_version(raw: &[u8]) -> &[u8] {
    let Some(pos) = raw.iter().rposition(|&byte| byte == b';') else {
        return raw;
    };
    if pos + 1 == raw.len() || !raw[pos + 1..].iter().all(u8::is_ascii_digit) {
        return raw;
    }
    let base = &raw[..pos];
    match base.split_last() {
        Some((b'.', rest)) if !rest.is_empty() => rest,
        _ => base,
    }
}

/// Writes `bytes` to `out` as a valid name: `/` and NUL become `_`, and a
/// name that would be empty, `.` or `..` gets underscores.
pub(crate) fn sanitize(bytes: &[u8], out: &mut [u8]) -> Option<usize> {
    let out = out.get_mut(..bytes.len().max(1))?;
    if bytes.is_empty() {
        out[0] = b'_';
        return Some(1);
    }
    for (dst, &byte) in out.iter_mut().zip(bytes) {
        *dst = if byte == b'/' || byte == 0 {
            b'_'
        } else {
            byte
        };
    }
    if matches!(&*out, b"." | b"..") {
        out.fill(b'_');
    }
    Some(bytes.len())
}

/// Decodes a big-endian UCS-2 identifier into UTF-8, without its `;N`
/// version. Unpaired surrogates become U+FFFD.
pub(crate) fn decode_ucs2(raw: &[u8], out: &mut [u8]) -> Option<usize> {
    let mut units = raw.len() / 2;
    let unit = |index: usize| u16::from_be_bytes([raw[2 * index], raw[2 * index + 1]]);
    let mut digits = units;
    while digits > 0 && (u16::from(b'0')..=u16::from(b'9')).contains(&unit(digits - 1)) {
        digits -= 1;
    }
    if digits > 0 && digits < units && unit(digits - 1) == u16::from(b';') {
        units = digits - 1;
        if units > 1 && unit(units - 1) == u16::from(b'.') {
            units -= 1;
        }
    }
    let mut len = 0;
    for ch in char::decode_utf16((0..units).map(unit)) {
        let ch = ch.unwrap_or(char::REPLACEMENT_CHARACTER);
        let ch = if ch == '/' || ch == '\0' { '_' } else { ch };
        let dst = out.get_mut(len..len + ch.len_utf8())?;
        ch.encode_utf8(dst);
        len += ch.len_utf8();
    }
    if len == 0 || matches!(&out[..len], b"." | b"..") {
        let fill = len.max(1);
        out.get_mut(..fill)?.fill(b'_');
        return Some(fill);
    }
    Some(len)
}

/// Decodes big-endian UCS-2 into UTF-8 in `out`, returning its length.
/// Unpaired surrogates become U+FFFD. `None` when `out` is too small.
pub(crate) fn label_ucs2(raw: &[u8], out: &mut [u8]) -> Option<usize> {
    let units = raw
        .chunks_exact(2)
        .map(|pair| u16::from_be_bytes([pair[0], pair[1]]));
    let mut len = 0;
    for ch in char::decode_utf16(units) {
        let ch = ch.unwrap_or(char::REPLACEMENT_CHARACTER);
        ch.encode_utf8(out.get_mut(len..len + ch.len_utf8())?);
        len += ch.len_utf8();
    }
    Some(len)
}

/// Decodes Latin-1 into UTF-8 in `out`, returning its length. `None` when
/// `out` is too small.
pub(crate) fn label_latin1(bytes: &[u8], out: &mut [u8]) -> Option<usize> {
    let mut len = 0;
    for &byte in bytes {
        let ch = char::from(byte);
        ch.encode_utf8(out.get_mut(len..len + ch.len_utf8())?);
        len += ch.len_utf8();
    }
    Some(len)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_numbers_are_bounded_in_both_encodings() {
        for (name, expected) in [
            ("A;1", Some(1)),
            ("A;32767", Some(32767)),
            ("A;2", Some(2)),
            ("A;0", None),
            ("A;32768", None),
            ("A;999999999999", None),
            ("A;", None),
            ("A;B", None),
        ] {
            assert_eq!(version(name.as_bytes(), false), expected);
            let wide: Vec<_> = name.encode_utf16().flat_map(u16::to_be_bytes).collect();
            assert_eq!(version(&wide, true), expected);
        }
        assert_eq!(version(&[0, b'A', 0], true), None);
    }

    #[test]
    fn versions_and_empty_extensions_are_stripped() {
        assert_eq!(strip_version(b"README.TXT;1"), b"README.TXT");
        assert_eq!(strip_version(b"FILE.;1"), b"FILE");
        assert_eq!(strip_version(b"NOVER"), b"NOVER");
        assert_eq!(strip_version(b"A;B"), b"A;B");
        assert_eq!(strip_version(b".;1"), b".");
    }

    #[test]
    fn names_are_made_valid() {
        let mut out = [0u8; 8];
        assert_eq!(sanitize(b"a/b", &mut out), Some(3));
        assert_eq!(&out[..3], b"a_b");
        assert_eq!(sanitize(b"..", &mut out), Some(2));
        assert_eq!(&out[..2], b"__");
        assert_eq!(sanitize(b"toolongname", &mut out), None);
    }

    #[test]
    fn ucs2_decodes_without_version() {
        let raw: Vec<u8> = "caf\u{e9}.txt;1"
            .encode_utf16()
            .flat_map(u16::to_be_bytes)
            .collect();
        let mut out = [0u8; 16];
        let len = decode_ucs2(&raw, &mut out).unwrap();
        assert_eq!(&out[..len], "caf\u{e9}.txt".as_bytes());
        let lone = [0xD8, 0x00, 0x00, b'a'];
        let len = decode_ucs2(&lone, &mut out).unwrap();
        assert_eq!(&out[..len], "\u{fffd}a".as_bytes());
    }

    #[test]
    fn labels_decode_without_name_rules() {
        let mut out = [0u8; 16];
        let raw: Vec<u8> = "A/B;1".encode_utf16().flat_map(u16::to_be_bytes).collect();
        let len = label_ucs2(&raw, &mut out).unwrap();
        assert_eq!(&out[..len], b"A/B;1");
        assert_eq!(label_ucs2(&[], &mut out), Some(0));
        let len = label_ucs2(&[0xD8, 0x00, 0x00, 0x41], &mut out).unwrap();
        assert_eq!(core::str::from_utf8(&out[..len]).unwrap(), "\u{FFFD}A");
        let len = label_latin1(b"CAF\xC9", &mut out).unwrap();
        assert_eq!(core::str::from_utf8(&out[..len]).unwrap(), "CAF\u{C9}");
        assert_eq!(label_latin1(&[0xFF; 9], &mut out), None);
        assert_eq!(label_ucs2(&[0x00, 0x41, 0x00], &mut out), Some(1));
    }
}
