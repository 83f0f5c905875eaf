//! Errors of profile loading: each one names the profile file, line and column and says what is
//! wrong.

use std::path::PathBuf;

use super::location::Origin;

/// Everything that can be wrong with a profile.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The profile file itself cannot be read.
    #[error("{}: cannot read profile: {source}", path.display())]
    Read {
        /// The profile file.
        path: PathBuf,
        /// Why it cannot be read.
        source: std::io::Error,
    },
    /// The profile file is too large or not text: probably not a profile at all.
    #[error("{}: {problem}; is it really a profile?", path.display())]
    NotAProfile {
        /// The profile file.
        path: PathBuf,
        /// What is wrong with it.
        problem: &'static str,
    },
    /// A TOML syntax error, a value of the wrong type, an unknown key or a missing required key.
    #[error("{at}: {message}")]
    Toml {
        /// Where the parser stopped.
        at: Origin,
        /// The parser's message, with serde's "field" called "key".
        message: String,
    },
    /// A required section is absent.
    #[error("{file}: missing section [{section}]")]
    MissingSection {
        /// The profile file.
        file: PathBuf,
        /// The section name, without brackets.
        section: &'static str,
    },
    /// A section that has no meaning in this kind of profile.
    #[error("{at}: section [{section}] is not allowed here: {reason}")]
    MisplacedSection {
        /// Where the section starts.
        at: Origin,
        /// The section name, without brackets.
        section: &'static str,
        /// Which kind of profile this is and where the section belongs.
        reason: &'static str,
    },
    /// An input file named by the profile does not exist or is not a regular file.
    #[error("{at}: {what} `{}` {problem}", path.display())]
    Input {
        /// Where the path was written.
        at: Origin,
        /// What the input is for (e.g. "patch", "driver RPM").
        what: &'static str,
        /// The path, resolved against the profile's folder.
        path: PathBuf,
        /// "does not exist", "is not a regular file", ...
        problem: String,
    },
    /// A file name that does not end as its kind requires.
    #[error("{at}: {what} `{}` must end with {expected}", path.display())]
    Extension {
        /// Where the path was written.
        at: Origin,
        /// What the input is for.
        what: &'static str,
        /// The path as resolved.
        path: PathBuf,
        /// The accepted endings.
        expected: &'static str,
    },
    /// A glob pattern that is malformed or matches no file.
    #[error("{at}: glob `{pattern}` {problem}")]
    Glob {
        /// Where the pattern was written.
        at: Origin,
        /// The pattern as written.
        pattern: String,
        /// "matches no file", "is invalid: ...".
        problem: String,
    },
    /// A path inside the ISO or the installer image that is not absolute and normalized.
    #[error("{at}: path `{path}` {problem}")]
    ImagePath {
        /// Where the path was written.
        at: Origin,
        /// The path as written.
        path: String,
        /// What is wrong with it.
        problem: String,
    },
    /// The same destination path given twice.
    #[error("{at}: destination `{path}` is already used at {first}")]
    DuplicateDest {
        /// The second use.
        at: Origin,
        /// The path.
        path: String,
        /// The first use.
        first: Origin,
    },
    /// Two edits of one path (a removal and a write, two removals, a file under a file).
    #[error("{at}: {what} conflicts with {first}: {why}")]
    EditConflict {
        /// Where the second edit was written.
        at: Origin,
        /// The second edit: its key and path (``[[iso.files]] dest `/EULA` ``).
        what: String,
        /// The first edit: key, path and where it was written.
        first: String,
        /// Why they cannot both be done.
        why: &'static str,
    },
    /// A file mode that is not an octal number up to 07777.
    #[error("{at}: mode `{mode}` is not an octal number between 0 and 07777")]
    Mode {
        /// Where the mode was written.
        at: Origin,
        /// The mode as written.
        mode: String,
    },
    /// A volume identifier that `genisoimage -V` or the ISO 9660 field cannot hold.
    #[error("{at}: volume id `{value}` {problem}")]
    VolumeId {
        /// Where the volume id was written.
        at: Origin,
        /// The value as written.
        value: String,
        /// What is wrong with it.
        problem: String,
    },
    /// A `builtin:` source other than the ones this program has.
    #[error("{at}: {source}")]
    Builtin {
        /// Where the source was written.
        at: Origin,
        /// The unknown name.
        source: UnknownBuiltin,
    },
    /// A kernel command-line argument that cannot be written into a boot menu.
    #[error("{at}: boot argument `{arg}`: {problem}")]
    BootArg {
        /// Where the argument was written.
        at: Origin,
        /// The argument as written.
        arg: String,
        /// What is wrong with it.
        problem: &'static str,
    },
    /// A name (package, boot entry, environment variable, ...) that breaks its syntax.
    #[error("{at}: {what} `{value}` {problem}")]
    Name {
        /// Where the name was written.
        at: Origin,
        /// What kind of name it is.
        what: &'static str,
        /// The value as written.
        value: String,
        /// What is wrong with it.
        problem: String,
    },
    /// A value out of its allowed range.
    #[error("{at}: {key} = {value} is out of range: {expected}")]
    Range {
        /// Where the value was written.
        at: Origin,
        /// The key.
        key: &'static str,
        /// The value as written.
        value: i64,
        /// The allowed range.
        expected: &'static str,
    },
    /// A driver with both or neither of `rpm` and `ko`, or keys that only go with the other one.
    #[error("{at}: {problem}")]
    DriverSource {
        /// Where the driver's table starts, or the offending key.
        at: Origin,
        /// What is wrong.
        problem: String,
    },
    /// Two values that contradict each other.
    #[error("{at}: {problem}")]
    Conflict {
        /// Where the second value was written.
        at: Origin,
        /// What contradicts what.
        problem: String,
    },
    /// A path that cannot be written into a TOML profile.
    #[error("path `{}` is not valid UTF-8 and cannot be written into a profile", path.display())]
    NotUtf8 {
        /// The path.
        path: PathBuf,
    },
    /// The TOML writer failed.
    #[error("cannot write the profile as TOML: {message}")]
    Write {
        /// The writer's message.
        message: String,
    },
}

/// A `builtin:NAME` source that does not exist.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown built-in source `{name}`; the only one is `builtin:sample`")]
pub struct UnknownBuiltin {
    /// The whole value as written, `builtin:` included.
    pub name: String,
}

/// The parser's message for a value of the wrong type at byte `at` of `text`,
/// with what the writer probably meant when the mistake is a common one: a
/// single table `[drivers]` where an array of tables `[[drivers]]` is
/// wanted, a single string where a list is wanted, or an octal integer
/// where a mode string is wanted.
pub(super) fn type_hint(text: &str, at: usize, message: &str) -> Option<String> {
    let (key, name) = key_at(text, at)?;
    if message.starts_with("invalid type: map, expected a sequence") {
        let written_as_header = text.get(at..).is_some_and(|t| t.starts_with('['));
        return Some(if written_as_header {
            format!("`{key}` is an array of tables: write [[{key}]] for each entry")
        } else {
            format!("`{key}` is an array of tables: write {name} = [{{ ... }}, ...]")
        });
    }
    if let Some(rest) = message.strip_prefix("invalid type: string ")
        && rest.ends_with(", expected a sequence")
    {
        let value = rest.trim_end_matches(", expected a sequence");
        return Some(format!("`{key}` is a list: write {name} = [{value}]"));
    }
    if name == "mode"
        && let Some(rest) = message.strip_prefix("invalid type: integer `")
        && let Some(n) = rest.split('`').next().and_then(|n| n.parse::<u32>().ok())
    {
        return Some(format!(
            "`{key}` is a string of octal digits like \"0644\", not a number: write mode = \"{n:04o}\""
        ));
    }
    None
}

/// The key whose value or table starts at byte `at` of `text`, as a dotted
/// path (`iso.files`), and its last part (`files`): the name of a table
/// header starting there, or the key before `=` on that line under the
/// nearest header above.
fn key_at(text: &str, at: usize) -> Option<(String, String)> {
    let line_start = text.get(..at)?.rfind('\n').map_or(0, |i| i + 1);
    let before = text.get(line_start..at)?.trim();
    let after = text.get(at..)?;
    let header = |line: &str| -> Option<String> {
        let inner = line.trim().strip_prefix('[')?;
        let end = inner.find(']')?;
        Some(inner[..end].trim_matches(['[', ' ']).to_owned())
    };
    if before.is_empty()
        && let Some(name) = header(after)
    {
        let last = name.rsplit('.').next().unwrap_or(&name).trim().to_owned();
        return Some((name, last));
    }
    let key = before
        .strip_suffix('=')?
        .trim()
        .trim_matches('"')
        .to_owned();
    if key.is_empty() {
        return None;
    }
    let section = text[..line_start]
        .lines()
        .rev()
        .find(|l| l.trim_start().starts_with('['))
        .and_then(header);
    let full = match section {
        Some(s) if !s.is_empty() => format!("{s}.{key}"),
        _ => key.clone(),
    };
    Some((full, key))
}
