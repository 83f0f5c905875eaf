//! depmod.d's kernel-version patterns: the `override` and `external` lines name the kernels
//! they apply to with a POSIX extended regular expression, which depmod matches with glibc's
//! `regexec`, unanchored, in the C locale (one byte is one character). A pattern that does not
//! compile matches nothing, as in depmod.
//!
//! Matching is `regex-lite`'s. Its syntax is not POSIX's, so a pattern is first rewritten into
//! it: outside brackets, `\c` is the literal `c`, a `)` that closes no group is literal, `{,n}`
//! is `{0,n}`, and every other character but the operators `. ^ $ ( ) | * + ? { }` is literal; inside a bracket expression `]` first is a member, `\`
//! is an ordinary member, `[:class:]` names one of POSIX's twelve classes, `[.c.]` and `[=c=]`
//! are the byte `c`, and every other member is literal (so `regex-lite`'s nested classes, `&&`, `--` and `(?flags)` cannot be
//! reached). The text and the pattern are read as Latin-1, one byte to one character, so `.`
//! and bracket ranges see bytes as in the C locale. `(?s)` lets `.` match a newline too.
//!
//! `regex-lite` runs in time linear in the text and refuses patterns past its size limit, so a
//! hostile pattern costs little. Patterns longer than 1024 bytes match nothing: depmod has
//! no such bound, but no depmod.d line comes near it.

use regex_lite::Regex;

/// Longest pattern compiled; longer ones match nothing.
const PATTERN_MAX: usize = 1024;

/// The character classes POSIX names (`regex-lite` knows `ascii` and `word` too; glibc does not).
const CLASSES: [&str; 12] = [
    "alnum", "alpha", "blank", "cntrl", "digit", "graph", "lower", "print", "punct", "space",
    "upper", "xdigit",
];

/// True if `pattern` (POSIX ERE) matches somewhere in `text`.
pub fn is_match(pattern: &str, text: &str) -> bool {
    if pattern.len() > PATTERN_MAX {
        return false;
    }
    let Some(rewritten) = rewrite(pattern.as_bytes()) else {
        return false;
    };
    match Regex::new(&rewritten) {
        Ok(re) => re.is_match(&latin1(text.as_bytes())),
        Err(_) => false,
    }
}

/// Each byte as the character of the same number.
fn latin1(bytes: &[u8]) -> String {
    bytes.iter().map(|&b| char::from(b)).collect()
}

/// `c` as a literal of `regex-lite` syntax, in or out of a class (its meta characters escaped;
/// others, such as the `,` of a `{m,n}`, as they are).
fn literal(c: u8, out: &mut String) {
    if br"\.+*?()|[]{}^$#&-~".contains(&c) {
        out.push('\\');
    }
    out.push(char::from(c));
}

/// The POSIX ERE `p` in `regex-lite` syntax, or `None` where POSIX refuses it and `regex-lite`
/// would read it differently.
fn rewrite(p: &[u8]) -> Option<String> {
    let mut out = String::from("(?s)");
    let mut open_groups = 0usize;
    let mut i = 0;
    while let Some(&c) = p.get(i) {
        i += 1;
        match c {
            b'\\' => {
                literal(*p.get(i)?, &mut out);
                i += 1;
            }
            b'[' => i = bracket(p, i, &mut out)?,
            // A group cannot start with a quantifier (`(?` would be a flag group here).
            b'(' if matches!(p.get(i), Some(b'?' | b'*' | b'+' | b'{')) => return None,
            b'(' => {
                open_groups += 1;
                out.push('(');
            }
            // A `)` that closes no group is an ordinary character.
            b')' if open_groups == 0 => literal(c, &mut out),
            b')' => {
                open_groups -= 1;
                out.push(')');
            }
            // `{,n}` is `{0,n}`.
            b'{' if p.get(i) == Some(&b',') => out.push_str("{0"),
            b'.' | b'^' | b'$' | b'|' | b'*' | b'+' | b'?' | b'{' | b'}' => {
                out.push(char::from(c));
            }
            _ => literal(c, &mut out),
        }
    }
    Some(out)
}

/// Rewrites the bracket expression whose body starts at `p[i]` (just after its `[`); returns
/// the index after its closing `]`.
fn bracket(p: &[u8], mut i: usize, out: &mut String) -> Option<usize> {
    out.push('[');
    if p.get(i) == Some(&b'^') {
        out.push('^');
        i += 1;
    }
    let mut first = true;
    loop {
        let c = *p.get(i)?;
        if c == b']' && !first {
            out.push(']');
            return Some(i + 1);
        }
        first = false;
        if c == b'[' && p.get(i + 1) == Some(&b':') {
            let rest = &p[i + 2..];
            let end = rest.windows(2).position(|w| w == b":]")?;
            let name = std::str::from_utf8(&rest[..end]).ok()?;
            if !CLASSES.contains(&name) {
                return None;
            }
            out.push_str(&format!("[:{name}:]"));
            i += 2 + end + 2;
            continue;
        }
        // A collating symbol `[.c.]` or an equivalence class `[=c=]` of one byte is that byte
        // (the C locale has no others).
        let c = match (c, p.get(i + 1)) {
            (b'[', Some(&kind @ (b'.' | b'='))) => {
                let (member, close) = (*p.get(i + 2)?, p.get(i + 3..i + 5)?);
                if close != [kind, b']'] {
                    return None;
                }
                i += 4;
                member
            }
            _ => c,
        };
        i += 1;
        literal(c, out);
        if p.get(i) == Some(&b'-') && p.get(i + 1).is_some_and(|&n| n != b']') {
            out.push('-');
            literal(p[i + 1], out);
            i += 2;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::is_match;

    #[test]
    fn posix_ere_basics() {
        assert!(is_match("6.1.0-56-amd64", "6.1.0-56-amd64"));
        assert!(is_match("^6\\.1\\..*", "6.1.0-56-amd64"));
        assert!(is_match("amd64$", "6.1.0-56-amd64"));
        assert!(!is_match("^5\\.", "6.1.0-56-amd64"));
        assert!(is_match("^6\\.[0-9]+\\.0-(55|56)-amd64$", "6.1.0-56-amd64"));
        assert!(!is_match(
            "^6\\.[0-9]+\\.0-(54|55)-amd64$",
            "6.1.0-56-amd64"
        ));
        assert!(is_match("[[:digit:]]{2}-amd", "6.1.0-56-amd64"));
        assert!(!is_match("(", "x"));
        assert!(!is_match("a{3,1}", "aaa"));
        assert!(is_match("", "anything"));
        assert!(is_match(
            "^6\\.1\\.0-[0-9]+-(amd64|cloud-amd64|rt-amd64)$",
            "6.1.0-56-cloud-amd64"
        ));
        assert!(is_match(".*-.*-.*-amd64", "6.1.0-56-cloud-amd64"));
    }

    #[test]
    fn posix_brackets_and_escapes_not_the_crates_syntax() {
        // `]` first is a member; `\` inside brackets is a member, not an escape.
        assert!(is_match("^[]a]$", "]"));
        assert!(is_match("^[\\]$", "\\"));
        assert!(is_match("^[a\\]+$", "a\\a"));
        // What would be nested classes, set operations or escapes in the crate are literals.
        assert!(is_match("^[[a]$", "["));
        assert!(is_match("^[a&&b]$", "&"));
        assert!(is_match("^[a-c-]$", "-"));
        assert!(!is_match("\\d", "5"));
        assert!(is_match("\\d", "d"));
        // Flag groups and classes POSIX does not have are refused, so they match nothing.
        assert!(!is_match("(?i)ABC", "abc"));
        assert!(!is_match("[[:word:]]", "a"));
        assert!(!is_match("[z-a]", "a"));
        // Repeated quantifiers, `{,n}`, a `)` closing no group, collating symbols and
        // equivalence classes are POSIX.
        assert!(is_match("^a**$", "aaa"));
        assert!(is_match("^a{,2}b$", "aab"));
        assert!(is_match("^x)$", "x)"));
        assert!(!is_match("(x))(", "x)"));
        assert!(is_match("^[[.a.]b]+$", "ab"));
        assert!(is_match("^[[=-=]]$", "-"));
        assert!(!is_match("[[.ab.]]", "a"));
    }

    #[test]
    fn bytes_as_in_the_c_locale() {
        // "é" is two bytes: two characters for `.`.
        assert!(is_match("^.{2}$", "é"));
        assert!(!is_match("^.$", "é"));
        assert!(is_match("^[^a-z]+$", "é"));
    }

    /// glibc's answer, as depmod gets it: `regcomp(REG_EXTENDED | REG_NOSUB)` then `regexec`, in
    /// the C locale (a test process never calls `setlocale`); a pattern that does not compile
    /// matches nothing.
    fn glibc_matches(pattern: &str, text: &str) -> bool {
        let (Ok(p), Ok(t)) = (
            std::ffi::CString::new(pattern),
            std::ffi::CString::new(text),
        ) else {
            return false;
        };
        let mut re = std::mem::MaybeUninit::<libc::regex_t>::uninit();
        // SAFETY: `re` is only read after regcomp succeeded and freed once; both strings are
        // NUL-terminated and outlive the calls.
        unsafe {
            if libc::regcomp(
                re.as_mut_ptr(),
                p.as_ptr(),
                libc::REG_EXTENDED | libc::REG_NOSUB,
            ) != 0
            {
                return false;
            }
            let found = libc::regexec(re.as_ptr(), t.as_ptr(), 0, std::ptr::null_mut(), 0) == 0;
            libc::regfree(re.as_mut_ptr());
            found
        }
    }

    #[test]
    fn agrees_with_glibc_regexec() {
        let kver = "6.1.0-56-amd64";
        let cases: &[(&str, &str)] = &[
            ("^6\\.1\\.0-[0-9]+-amd64$", kver),
            ("^6\\.[0-9]+\\.0-(55|56)-amd64$", kver),
            ("5.10.*", kver),
            ("[[:digit:]]{2}-amd", kver),
            ("[[:alpha:]]+$", kver),
            ("^[^[:space:]]+$", kver),
            ("[]a]", "]"),
            ("^[\\]$", "\\"),
            ("^[[a]$", "["),
            ("^[a&&b]$", "&"),
            ("^[a-c-]$", "-"),
            ("^[[.a.]b]+$", "ab"),
            ("^[[=-=]]$", "-"),
            ("[[.ab.]]", "a"),
            ("\\d", "5"),
            ("\\d", "d"),
            ("(?i)ABC", "abc"),
            ("[[:word:]]", "a"),
            ("[z-a]", "a"),
            ("^a**$", "aaa"),
            ("^a{,2}b$", "aab"),
            ("a{1,}", "a"),
            ("a{3,1}", "aaa"),
            ("^x)$", "x)"),
            ("(x))(", "x)"),
            ("}", "}"),
            ("a{x", "a{x"),
            ("a|*b", "b"),
            ("()", "x"),
            ("a||b", "c"),
            ("(", "x"),
            ("", "x"),
            ("^.{2}$", "é"),
            ("^.$", "é"),
            ("^[^a-z]+$", "é"),
            ("x{300}", &"x".repeat(300)),
        ];
        for (pattern, text) in cases {
            assert_eq!(
                is_match(pattern, text),
                glibc_matches(pattern, text),
                "{pattern:?} on {text:?}"
            );
        }
    }

    #[test]
    fn hostile_pattern_terminates() {
        assert!(!is_match("((a*)*)*b", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"));
        assert!(!is_match(&"(".repeat(100_000), "x"));
        assert!(!is_match(&"^".repeat(2000), ""));
        assert!(!is_match("((((^{200}){200}){200}){200})x", "x"));
        let deep = std::thread::Builder::new()
            .stack_size(1024 * 1024)
            .spawn(|| is_match("((((^{200}){200}){200}){200})", "6.1.0"))
            .unwrap()
            .join();
        assert!(deep.is_ok());
    }
}
