//! The words of a GRUB line as GRUB's lexer splits plain text, and quoting a value back.

/// One word of a GRUB command line: where it is, and its value after quote removal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct GWord {
    pub(super) start: usize,
    pub(super) end: usize,
    pub(super) value: String,
}

/// Splits a GRUB line into words the way GRUB's lexer does for plain text: `'...'` literal,
/// `"..."` with backslash escapes, backslash escapes outside quotes, `#` at a word start begins a
/// comment.
pub(super) fn gwords(line: &str) -> Result<Vec<GWord>, String> {
    let mut out = Vec::new();
    let mut chars = line.char_indices().peekable();
    loop {
        while chars.next_if(|(_, c)| c.is_ascii_whitespace()).is_some() {}
        let Some(&(start, c0)) = chars.peek() else {
            break;
        };
        if c0 == '#' {
            break;
        }
        let mut value = String::new();
        let mut end = start;
        while let Some(&(i, c)) = chars.peek() {
            if c.is_ascii_whitespace() {
                break;
            }
            chars.next();
            end = i + c.len_utf8();
            match c {
                '\'' => loop {
                    match chars.next() {
                        Some((j, '\'')) => {
                            end = j + 1;
                            break;
                        }
                        Some((_, ch)) => value.push(ch),
                        None => return Err("unterminated single quote".into()),
                    }
                },
                '"' => loop {
                    match chars.next() {
                        Some((j, '"')) => {
                            end = j + 1;
                            break;
                        }
                        Some((_, '\\')) => match chars.next() {
                            Some((_, ch)) if "\\\"$\n".contains(ch) => value.push(ch),
                            Some((_, ch)) => {
                                value.push('\\');
                                value.push(ch);
                            }
                            None => return Err("unterminated double quote".into()),
                        },
                        Some((_, ch)) => value.push(ch),
                        None => return Err("unterminated double quote".into()),
                    }
                },
                '\\' => match chars.next() {
                    Some((j, ch)) => {
                        value.push(ch);
                        end = j + ch.len_utf8();
                    }
                    None => return Err("line continuation is not supported".into()),
                },
                _ => value.push(c),
            }
        }
        out.push(GWord { start, end, value });
    }
    Ok(out)
}

/// How `set default=` writes its value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Quote {
    None,
    Single,
    Double,
}

pub(super) fn quote_of(raw: &str) -> Quote {
    match raw
        .find('=')
        .and_then(|i| raw.get(i + 1..))
        .and_then(|v| v.chars().next())
    {
        Some('"') => Quote::Double,
        Some('\'') => Quote::Single,
        _ => Quote::None,
    }
}

/// Quotes `value` for GRUB in the given style (a bare value that needs quoting gets `"..."`).
pub(super) fn quoted(value: &str, style: Quote) -> String {
    let plain = !value.is_empty()
        && value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.,:/+=@%()[]!~^".contains(c));
    match style {
        Quote::None if plain => value.to_string(),
        Quote::Single if !value.contains('\'') => format!("'{value}'"),
        _ => {
            let mut s = String::from("\"");
            for c in value.chars() {
                if "\\\"$".contains(c) {
                    s.push('\\');
                }
                s.push(c);
            }
            s.push('"');
            s
        }
    }
}

/// The title of a `menuentry` line: its first argument that is not an option (`--class xen`,
/// `--id=x`, `--unrestricted`) nor the opening brace.
pub(super) fn title_word(ws: &[GWord]) -> Option<&GWord> {
    let mut it = ws.iter().skip(1);
    while let Some(w) = it.next() {
        match w.value.as_str() {
            "--class" | "--users" | "--hotkey" | "--id" => {
                it.next();
            }
            "{" => return None,
            v if v.starts_with("--") => {}
            _ => return Some(w),
        }
    }
    None
}

/// Splits `args` (the words after the command) into module path and arguments, skipping
/// `--option` words before the path. Returns (path, args, index of the path word).
pub(super) fn path_and_args(ws: &[GWord]) -> Option<(String, Vec<String>, usize)> {
    let at = ws.iter().skip(1).position(|w| !w.value.starts_with("--"))? + 1;
    let path = ws.get(at)?.value.clone();
    let args = ws.get(at + 1..)?.iter().map(|w| w.value.clone()).collect();
    Some((path, args, at))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_and_quotes() {
        let w = gwords(r#"menuentry "a \"b\" c" --class x {"#).unwrap();
        assert_eq!(w[1].value, "a \"b\" c");
        assert_eq!(w.len(), 5);
        assert!(gwords("set x='a").is_err());
        let w = gwords("  insmod gzio # comment").unwrap();
        assert_eq!(w.len(), 2);
    }

    #[test]
    fn quoting_keeps_style() {
        assert_eq!(quoted("0", Quote::Double), "\"0\"");
        assert_eq!(quoted("0", Quote::None), "0");
        assert_eq!(quoted("a b", Quote::None), "\"a b\"");
        assert_eq!(quoted("a b", Quote::Single), "'a b'");
    }
}
