//! Shell wildcard matching (`fnmatch(3)` with no flags), as modprobe uses it
//! to match a device alias against the patterns of `modules.alias.bin`.
//!
//! The `glob` crate (0.3.4, a dependency for profile globs) does not match as `fnmatch` does:
//! its `Pattern` reads `[^b]` as the set of `^` and `b` (glibc: any byte but `b`), takes `\` as
//! an ordinary character (glibc: an escape, so `a\*b` matches `a*b`), and refuses an
//! unterminated `[` (glibc: an ordinary character).

/// True if `name` matches `pattern` (`*`, `?`, `[...]` with ranges and `!`
/// or `^` negation, `\` escapes).
pub fn fnmatch(pattern: &[u8], name: &[u8]) -> bool {
    // Iterative matcher with single-star backtracking (linear in practice).
    let (mut p, mut n) = (0usize, 0usize);
    let mut star: Option<(usize, usize)> = None;
    loop {
        if p < pattern.len() {
            match pattern[p] {
                b'*' => {
                    star = Some((p, n));
                    p += 1;
                    continue;
                }
                b'?' if n < name.len() => {
                    p += 1;
                    n += 1;
                    continue;
                }
                b'[' if n < name.len() => {
                    if let Some((matched, next)) = bracket(pattern, p, name[n]) {
                        if matched {
                            p = next;
                            n += 1;
                            continue;
                        }
                    } else if name[n] == b'[' {
                        // An unterminated bracket is an ordinary character.
                        p += 1;
                        n += 1;
                        continue;
                    }
                }
                b'\\' if n < name.len() => {
                    let lit = pattern.get(p + 1).copied().unwrap_or(b'\\');
                    if lit == name[n] {
                        p += 2.min(pattern.len() - p);
                        n += 1;
                        continue;
                    }
                }
                c if n < name.len() && c == name[n] && c != b'?' && c != b'[' && c != b'\\' => {
                    p += 1;
                    n += 1;
                    continue;
                }
                _ => {}
            }
        } else if n == name.len() {
            return true;
        }
        match star {
            Some((sp, sn)) if sn < name.len() => {
                star = Some((sp, sn + 1));
                p = sp + 1;
                n = sn + 1;
            }
            _ => return false,
        }
    }
}

/// Matches `c` against the bracket expression at `pattern[start]`; returns
/// (matched, index after the expression), or `None` if it is unterminated.
fn bracket(pattern: &[u8], start: usize, c: u8) -> Option<(bool, usize)> {
    let mut i = start + 1;
    let negate = matches!(pattern.get(i), Some(b'!') | Some(b'^'));
    if negate {
        i += 1;
    }
    let mut matched = false;
    let mut first = true;
    loop {
        let mut lo = *pattern.get(i)?;
        if lo == b']' && !first {
            return Some((matched != negate, i + 1));
        }
        first = false;
        if lo == b'\\' {
            i += 1;
            lo = *pattern.get(i)?;
        }
        i += 1;
        if pattern.get(i) == Some(&b'-') && pattern.get(i + 1).is_some_and(|&h| h != b']') {
            let mut hi = *pattern.get(i + 1)?;
            i += 2;
            if hi == b'\\' {
                hi = *pattern.get(i)?;
                i += 1;
            }
            if lo <= c && c <= hi {
                matched = true;
            }
        } else if lo == c {
            matched = true;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::fnmatch;

    #[test]
    fn wildcards() {
        assert!(fnmatch(
            b"pci:v00008086d*sv*",
            b"pci:v00008086d000010D3sv00001234"
        ));
        assert!(!fnmatch(
            b"pci:v00008086d*sv*",
            b"pci:v00001234d000010D3sv00001234"
        ));
        assert!(fnmatch(
            b"usb:v*p*d*dc*dsc*dp*ic09isc*ip*in*",
            b"usb:v1D6Bp0002d0601dc09dsc00dp01ic09isc00ip00in00"
        ));
        assert!(fnmatch(b"a[0-9]c", b"a5c"));
        assert!(!fnmatch(b"a[!0-9]c", b"a5c"));
        assert!(fnmatch(b"a?c", b"abc"));
        assert!(fnmatch(b"*", b""));
        assert!(!fnmatch(b"?", b""));
        // Where the glob crate differs from fnmatch(3).
        assert!(fnmatch(b"a[^b]c", b"axc"));
        assert!(fnmatch(b"a\\*b", b"a*b"));
        assert!(!fnmatch(b"a\\*b", b"a\\xb"));
        assert!(fnmatch(b"a[b", b"a[b"));
    }
}
