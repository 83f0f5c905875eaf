//! Unified diffs (as `git diff` and `diff -u` write them) and applying them with exact context:
//! fuzz 0, but a hunk may apply at an offset from the line its header names, the nearest
//! matching position winning, as GNU patch does.
//!
//! Paths are taken with `-p1` (the first component, `a/` or `b/`, is dropped); `/dev/null`
//! marks a created or deleted file. One patch may hold several files.
//!
//! The `diffy` crate (0.4.2) is not used for the hunks: with its `Patch::from_bytes` and
//! `apply_bytes` on one file's part of a patch, it disagrees with GNU patch (2.7, `--fuzz=0`),
//! whose results this module gives:
//! - a hunk whose old lines are found both one line before and one line after where its header
//!   says lands before with `diffy` (it searches backward first), after with GNU patch;
//! - `diffy` starts each search at the hunk's new-side line, GNU patch at its old-side line
//!   moved by the offset the previous hunk was found at, so with repeated context a later hunk
//!   lands elsewhere;
//! - its parser ends a hunk at the first line that is not ` `, `-`, `+` or `\`, not after the
//!   counts the `@@` header gives, so `git format-patch` output, whose last hunk is followed by
//!   the `-- ` signature, fails with "unexpected line in hunk body" where GNU patch applies it;
//! - a failure says only `error applying hunk #n`, not the lines that were not found.

/// Errors of patch parsing and application; each names the patch and, when known, the file,
/// the hunk and the line of the patch.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The patch text is not a well-formed unified diff.
    #[error("patch {patch}, line {line}: {what}")]
    Parse {
        /// Name of the patch.
        patch: String,
        /// Line of the patch (1-based).
        line: usize,
        /// What is wrong.
        what: String,
    },
    /// A hunk's context or removed lines are not found in the file.
    #[error(
        "patch {patch}: file {file}: hunk #{hunk} (patch line {line}, @@ -{old_start},{old_len} @@) does not apply: {what}"
    )]
    HunkFailed {
        /// Name of the patch.
        patch: String,
        /// Path of the file.
        file: String,
        /// Number of the hunk in this file (1-based).
        hunk: usize,
        /// Line of the hunk header in the patch.
        line: usize,
        /// Start line the hunk header names.
        old_start: usize,
        /// Number of old lines.
        old_len: usize,
        /// Details.
        what: String,
    },
    /// The file the patch is about does not fit (missing, or present when it should be created).
    #[error("patch {patch}: file {file}: {what}")]
    File {
        /// Name of the patch.
        patch: String,
        /// Path of the file.
        file: String,
        /// What is wrong.
        what: String,
    },
}

/// One line of a hunk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Line {
    /// A context line (present before and after), with its line ending.
    Context(Vec<u8>),
    /// A removed line, with its line ending.
    Delete(Vec<u8>),
    /// An added line, with its line ending.
    Insert(Vec<u8>),
}

/// One `@@` hunk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hunk {
    /// First old line (1-based; for an empty old side, the line after which to insert).
    pub old_start: usize,
    /// Number of old lines.
    pub old_len: usize,
    /// First new line.
    pub new_start: usize,
    /// Number of new lines.
    pub new_len: usize,
    /// Line of the `@@` header in the patch (1-based).
    pub patch_line: usize,
    /// The lines.
    pub lines: Vec<Line>,
}

/// The changes to one file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FilePatch {
    /// Old path after `-p1`, `None` for a created file.
    pub old_path: Option<Vec<u8>>,
    /// New path after `-p1`, `None` for a deleted file.
    pub new_path: Option<Vec<u8>>,
    /// Mode given by `new file mode` / `new mode` (git), if any.
    pub new_mode: Option<u32>,
    /// The hunks, in order.
    pub hunks: Vec<Hunk>,
}

impl FilePatch {
    /// The path the changes are about (the new one, or the old one for a deletion).
    pub fn path(&self) -> &[u8] {
        self.new_path
            .as_deref()
            .or(self.old_path.as_deref())
            .unwrap_or(&[])
    }

    /// True when the patch creates the file.
    pub fn creates(&self) -> bool {
        self.old_path.is_none()
    }

    /// True when the patch deletes the file.
    pub fn deletes(&self) -> bool {
        self.new_path.is_none()
    }
}

/// A parsed patch file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Patch {
    /// Name used in messages (usually the patch file's path).
    pub name: String,
    /// The files, in order.
    pub files: Vec<FilePatch>,
}

fn split_lines(text: &[u8]) -> Vec<&[u8]> {
    let mut out = Vec::new();
    let mut start = 0;
    for (i, &b) in text.iter().enumerate() {
        if b == b'\n' {
            out.push(&text[start..=i]);
            start = i + 1;
        }
    }
    if start < text.len() {
        out.push(&text[start..]);
    }
    out
}

fn strip_eol(line: &[u8]) -> &[u8] {
    let line = line.strip_suffix(b"\n").unwrap_or(line);
    line.strip_suffix(b"\r").unwrap_or(line)
}

/// Parses the path of a `---`/`+++` line: drops a tab-separated timestamp, unquotes git's
/// C-style quoting, applies `-p1`. `None` for `/dev/null`.
fn parse_path(raw: &[u8], patch: &str, line: usize) -> Result<Option<Vec<u8>>, Error> {
    let perr = |what: &str| Error::Parse {
        patch: patch.to_string(),
        line,
        what: what.to_string(),
    };
    let raw = raw.split(|&b| b == b'\t').next().unwrap_or(raw);
    let path = if raw.first() == Some(&b'"') {
        let mut out = Vec::new();
        let mut it = raw.iter().skip(1);
        loop {
            match it.next() {
                None => return Err(perr("unterminated quoted path")),
                Some(b'"') => break,
                Some(b'\\') => match it.next() {
                    Some(b'n') => out.push(b'\n'),
                    Some(b't') => out.push(b'\t'),
                    Some(&d @ b'0'..=b'7') => {
                        let mut v = u32::from(d - b'0');
                        for _ in 0..2 {
                            match it.next() {
                                Some(&d @ b'0'..=b'7') => v = v * 8 + u32::from(d - b'0'),
                                _ => return Err(perr("bad octal escape in quoted path")),
                            }
                        }
                        out.push(
                            u8::try_from(v).map_err(|_| perr("bad octal escape in quoted path"))?,
                        );
                    }
                    Some(&c) => out.push(c),
                    None => return Err(perr("unterminated quoted path")),
                },
                Some(&c) => out.push(c),
            }
        }
        out
    } else {
        let trimmed = raw.strip_suffix(b" ").unwrap_or(raw);
        trimmed.to_vec()
    };
    if path == b"/dev/null" {
        return Ok(None);
    }
    match path.iter().position(|&b| b == b'/') {
        Some(i) if i + 1 < path.len() => Ok(Some(path[i + 1..].to_vec())),
        _ => Err(perr("path has no leading component to strip (-p1)")),
    }
}

fn parse_range(text: &[u8]) -> Option<(usize, usize)> {
    let text = std::str::from_utf8(text).ok()?;
    match text.split_once(',') {
        Some((a, b)) => Some((a.parse().ok()?, b.parse().ok()?)),
        None => Some((text.parse().ok()?, 1)),
    }
}

fn parse_hunk_header(line: &[u8]) -> Option<(usize, usize, usize, usize)> {
    let rest = line.strip_prefix(b"@@ -")?;
    let end = rest.windows(3).position(|w| w == b" @@")?;
    let ranges = &rest[..end];
    let space = ranges.iter().position(|&b| b == b' ')?;
    let old = parse_range(&ranges[..space])?;
    let new = parse_range(ranges[space + 1..].strip_prefix(b"+")?)?;
    Some((old.0, old.1, new.0, new.1))
}

impl Patch {
    /// Parses a unified diff. `name` is used in every message.
    pub fn parse(name: &str, text: &[u8]) -> Result<Patch, Error> {
        let lines = split_lines(text);
        let perr = |line: usize, what: String| Error::Parse {
            patch: name.to_string(),
            line,
            what,
        };
        let mut files: Vec<FilePatch> = Vec::new();
        let mut pending_mode: Option<u32> = None;
        let mut i = 0;
        while i < lines.len() {
            let line = strip_eol(lines[i]);
            if line.starts_with(b"diff --git ") {
                if pending_mode.is_some() {
                    return Err(perr(
                        i + 1,
                        "a mode change without content change is not supported".to_string(),
                    ));
                }
            } else if line.starts_with(b"GIT binary patch") || line.starts_with(b"Binary files ") {
                return Err(perr(i + 1, "binary patches are not supported".to_string()));
            } else if line.starts_with(b"rename from ") || line.starts_with(b"copy from ") {
                return Err(perr(
                    i + 1,
                    "renames and copies are not supported; use a deletion and a creation"
                        .to_string(),
                ));
            } else if let Some(m) = line
                .strip_prefix(b"new file mode ")
                .or_else(|| line.strip_prefix(b"new mode "))
            {
                let m = std::str::from_utf8(m)
                    .ok()
                    .and_then(|s| u32::from_str_radix(s.trim(), 8).ok())
                    .ok_or_else(|| perr(i + 1, "bad mode".to_string()))?;
                pending_mode = Some(m);
            } else if line.starts_with(b"--- ")
                && lines.get(i + 1).is_some_and(|l| l.starts_with(b"+++ "))
            {
                let old_path = parse_path(&line[4..], name, i + 1)?;
                let new_line = strip_eol(lines.get(i + 1).copied().unwrap_or_default());
                let new_path = parse_path(&new_line[4..], name, i + 2)?;
                if old_path.is_none() && new_path.is_none() {
                    return Err(perr(i + 1, "both paths are /dev/null".to_string()));
                }
                files.push(FilePatch {
                    old_path,
                    new_path,
                    new_mode: pending_mode.take(),
                    hunks: Vec::new(),
                });
                i += 2;
                continue;
            } else if line.starts_with(b"@@ ") {
                let file = files.last_mut().ok_or_else(|| {
                    perr(i + 1, "hunk before any ---/+++ file header".to_string())
                })?;
                let (old_start, old_len, new_start, new_len) = parse_hunk_header(line)
                    .ok_or_else(|| perr(i + 1, "malformed @@ hunk header".to_string()))?;
                let header_line = i + 1;
                let mut hunk = Hunk {
                    old_start,
                    old_len,
                    new_start,
                    new_len,
                    patch_line: header_line,
                    lines: Vec::new(),
                };
                let (mut old_seen, mut new_seen) = (0, 0);
                i += 1;
                while (old_seen < old_len || new_seen < new_len) && i < lines.len() {
                    let l = lines[i];
                    let body = l.get(1..).unwrap_or_default().to_vec();
                    match l.first() {
                        Some(b' ') => {
                            hunk.lines.push(Line::Context(body));
                            old_seen += 1;
                            new_seen += 1;
                        }
                        // An empty line stands for an empty context line (some tools strip the space).
                        Some(b'\n') | Some(b'\r') => {
                            hunk.lines.push(Line::Context(l.to_vec()));
                            old_seen += 1;
                            new_seen += 1;
                        }
                        Some(b'-') => {
                            hunk.lines.push(Line::Delete(body));
                            old_seen += 1;
                        }
                        Some(b'+') => {
                            hunk.lines.push(Line::Insert(body));
                            new_seen += 1;
                        }
                        Some(b'\\') => {}
                        _ => {
                            return Err(perr(
                                i + 1,
                                format!(
                                    "hunk starting at line {header_line} ends early (unexpected line)"
                                ),
                            ));
                        }
                    }
                    i += 1;
                    // "\ No newline at end of file" applies to the line just read.
                    if lines.get(i).is_some_and(|l| l.starts_with(b"\\")) {
                        if let Some(last) = hunk.lines.last_mut() {
                            let (Line::Context(t) | Line::Delete(t) | Line::Insert(t)) = last;
                            if t.last() == Some(&b'\n') {
                                t.pop();
                            }
                        }
                        i += 1;
                    }
                }
                if old_seen != old_len || new_seen != new_len {
                    return Err(perr(
                        header_line,
                        format!(
                            "hunk truncated: {old_seen}/{old_len} old and {new_seen}/{new_len} new lines present"
                        ),
                    ));
                }
                file.hunks.push(hunk);
                continue;
            }
            i += 1;
        }
        if pending_mode.is_some() {
            return Err(perr(
                lines.len(),
                "a mode change without content change is not supported".to_string(),
            ));
        }
        if files.is_empty() {
            return Err(perr(
                1,
                "no file header (--- / +++) found: not a unified diff".to_string(),
            ));
        }
        Ok(Patch {
            name: name.to_string(),
            files,
        })
    }
}

/// Applies the hunks of `file` to `content` (`None` when the file does not exist). Returns the
/// new content, `None` when the patch deletes the file.
pub fn apply(
    patch: &str,
    file: &FilePatch,
    content: Option<&[u8]>,
) -> Result<Option<Vec<u8>>, Error> {
    let fname = String::from_utf8_lossy(file.path()).into_owned();
    let ferr = |what: &str| Error::File {
        patch: patch.to_string(),
        file: fname.clone(),
        what: what.to_string(),
    };
    let content = match (content, file.creates()) {
        (Some(_), true) => return Err(ferr("the patch creates this file but it already exists")),
        (None, false) => return Err(ferr("the file to patch does not exist")),
        (Some(c), false) => c,
        (None, true) => &[][..],
    };
    let old_lines = split_lines(content);
    let mut out: Vec<u8> = Vec::with_capacity(content.len());
    let mut next = 0usize; // first old line not yet copied
    let mut delta: isize = 0; // offset found for the previous hunk
    for (n, hunk) in file.hunks.iter().enumerate() {
        let old: Vec<&[u8]> = hunk
            .lines
            .iter()
            .filter_map(|l| match l {
                Line::Context(t) | Line::Delete(t) => Some(t.as_slice()),
                Line::Insert(_) => None,
            })
            .collect();
        let nominal = if hunk.old_len == 0 {
            hunk.old_start
        } else {
            hunk.old_start.saturating_sub(1)
        };
        let expected = (nominal as isize + delta).max(0) as usize;
        let matches_at = |pos: usize| -> bool {
            pos >= next
                && pos + old.len() <= old_lines.len()
                && old.iter().zip(&old_lines[pos..]).all(|(a, b)| a == b)
        };
        let max_dist = old_lines.len() + 1;
        let found = (0..=max_dist).find_map(|d| {
            if matches_at(expected + d) {
                Some(expected + d)
            } else if d > 0 && d <= expected && matches_at(expected - d) {
                Some(expected - d)
            } else {
                None
            }
        });
        let Some(pos) = found else {
            let first_ctx = old
                .first()
                .map(|l| String::from_utf8_lossy(strip_eol(l)).into_owned());
            return Err(Error::HunkFailed {
                patch: patch.to_string(),
                file: fname.clone(),
                hunk: n + 1,
                line: hunk.patch_line,
                old_start: hunk.old_start,
                old_len: hunk.old_len,
                what: match first_ctx {
                    Some(l) => format!(
                        "its {} old lines (starting {:?}) are not in the file",
                        old.len(),
                        l
                    ),
                    None => "insertion point is past the end of the file".to_string(),
                },
            });
        };
        delta = pos as isize - nominal as isize;
        for l in old_lines.get(next..pos).unwrap_or_default() {
            out.extend_from_slice(l);
        }
        for l in &hunk.lines {
            match l {
                Line::Context(t) | Line::Insert(t) => out.extend_from_slice(t),
                Line::Delete(_) => {}
            }
        }
        next = pos + old.len();
    }
    for l in old_lines.get(next..).unwrap_or_default() {
        out.extend_from_slice(l);
    }
    if file.deletes() {
        if !out.is_empty() {
            return Err(ferr("the patch deletes the file but content would remain"));
        }
        return Ok(None);
    }
    Ok(Some(out))
}

#[cfg(test)]
mod tests {
    use super::*;

    const DIFF: &[u8] = b"diff --git a/etc/x.conf b/etc/x.conf
index 1..2 100644
--- a/etc/x.conf
+++ b/etc/x.conf
@@ -2,3 +2,3 @@ header
 b
-c
+C
 d
diff --git a/new.sh b/new.sh
new file mode 100755
--- /dev/null
+++ b/new.sh
@@ -0,0 +1,2 @@
+#!/bin/sh
+echo hi
\\ No newline at end of file
";

    #[test]
    fn parse_and_apply_with_offset() {
        let p = Patch::parse("t.patch", DIFF).unwrap();
        assert_eq!(p.files.len(), 2);
        assert_eq!(p.files[0].path(), b"etc/x.conf");
        assert!(p.files[1].creates());
        assert_eq!(p.files[1].new_mode, Some(0o100755));
        // Two lines inserted at the top: the hunk applies at offset +2.
        let got = apply("t.patch", &p.files[0], Some(b"0\n1\na\nb\nc\nd\ne\n")).unwrap();
        assert_eq!(got.unwrap(), b"0\n1\na\nb\nC\nd\ne\n");
        let created = apply("t.patch", &p.files[1], None).unwrap().unwrap();
        assert_eq!(created, b"#!/bin/sh\necho hi");
    }

    #[test]
    fn failing_hunk_names_everything() {
        let p = Patch::parse("t.patch", DIFF).unwrap();
        let err = apply("t.patch", &p.files[0], Some(b"a\nb\nX\nd\n")).unwrap_err();
        let msg = err.to_string();
        assert!(
            msg.contains("t.patch") && msg.contains("etc/x.conf") && msg.contains("hunk #1"),
            "{msg}"
        );
        assert!(msg.contains("patch line 5"), "{msg}");
    }

    #[test]
    fn unsupported_git_features_are_errors() {
        let err = Patch::parse(
            "b.patch",
            b"diff --git a/x b/x\nGIT binary patch\nliteral 1\n",
        )
        .unwrap_err();
        assert!(err.to_string().contains("binary"), "{err}");
        let err = Patch::parse(
            "m.patch",
            b"diff --git a/x b/x\nold mode 100644\nnew mode 100755\n",
        )
        .unwrap_err();
        assert!(err.to_string().contains("mode change"), "{err}");
    }

    #[test]
    fn deletion_and_removed_line_that_looks_like_a_header() {
        let p = Patch::parse(
            "d.patch",
            b"--- a/x\n+++ b/x\n@@ -1,2 +1,1 @@\n--- not a header\n keep\n--- a/gone\n+++ /dev/null\n@@ -1 +0,0 @@\n-bye\n",
        )
        .unwrap();
        assert_eq!(p.files.len(), 2);
        let got = apply("d.patch", &p.files[0], Some(b"-- not a header\nkeep\n")).unwrap();
        assert_eq!(got.unwrap(), b"keep\n");
        assert!(p.files[1].deletes());
        assert_eq!(apply("d.patch", &p.files[1], Some(b"bye\n")).unwrap(), None);
        let err = apply("d.patch", &p.files[1], Some(b"other\n")).unwrap_err();
        assert!(err.to_string().contains("hunk #1"), "{err}");
    }

    #[test]
    fn not_a_diff() {
        let err = Patch::parse("junk.patch", b"hello\n").unwrap_err();
        assert!(err.to_string().contains("junk.patch"));
    }
}
