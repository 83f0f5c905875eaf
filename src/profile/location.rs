//! Positions in a profile file: byte spans from the TOML parser turned into `file:line:col`.

use std::fmt;
use std::ops::Range;
use std::path::{Path, PathBuf};

/// Where a value was written: the profile file and a 1-based line and column.
///
/// The column counts characters (Unicode scalar values), not bytes, from the start of the line.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Origin {
    /// The profile file, as it was named when the profile was loaded.
    pub file: PathBuf,
    /// 1-based line number.
    pub line: usize,
    /// 1-based column number, in characters.
    pub col: usize,
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.file == Path::new(super::quick::QUICK_PROFILE_NAME) {
            // Quick mode: the flags became a profile the user has not seen; say where the value
            // is in the one `--print-profile` shows.
            return write!(
                f,
                "command line (line {}, column {} of the profile --print-profile shows)",
                self.line, self.col
            );
        }
        write!(f, "{}:{}:{}", self.file.display(), self.line, self.col)
    }
}

/// A value together with the profile position it came from, so that later stages can point the user
/// at the line that asked for something they cannot do.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Located<T> {
    /// The validated value.
    pub value: T,
    /// Where the value was written in the profile.
    pub origin: Origin,
}

impl<T> Located<T> {
    /// Wraps `value` with its origin.
    pub fn new(value: T, origin: Origin) -> Self {
        Located { value, origin }
    }

    /// Transforms the value and keeps the origin.
    pub fn map<U>(self, f: impl FnOnce(T) -> U) -> Located<U> {
        Located {
            value: f(self.value),
            origin: self.origin,
        }
    }
}

/// Prints where the value was written, `file:line:col`, for messages such as
/// `format!("{located}: package {} not found", located.value)`.
impl<T> fmt::Display for Located<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.origin.fmt(f)
    }
}

impl<T> std::ops::Deref for Located<T> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.value
    }
}

/// Maps byte offsets of one text to line and column numbers.
#[derive(Debug, Clone)]
pub(crate) struct LineIndex<'a> {
    text: &'a str,
    file: &'a Path,
    /// Byte offset of the first character of each line.
    line_starts: Vec<usize>,
}

impl<'a> LineIndex<'a> {
    /// Indexes the line starts of `text`; `file` is the name used in every [`Origin`] made from it.
    pub(crate) fn new(text: &'a str, file: &'a Path) -> Self {
        let mut line_starts = vec![0];
        line_starts.extend(
            text.bytes()
                .enumerate()
                .filter(|&(_, b)| b == b'\n')
                .map(|(i, _)| i + 1),
        );
        LineIndex {
            text,
            file,
            line_starts,
        }
    }

    /// The profile file this index names.
    pub(crate) fn file(&self) -> &Path {
        self.file
    }

    /// The position of byte `offset`. Offsets past the end map to the end of the text; an offset
    /// inside a multi-byte character maps to that character.
    pub(crate) fn origin_at(&self, offset: usize) -> Origin {
        let mut offset = offset.min(self.text.len());
        while !self.text.is_char_boundary(offset) {
            offset -= 1;
        }
        // `line_starts[0] == 0 <= offset`, so the partition point is at least 1.
        let line = self.line_starts.partition_point(|&start| start <= offset);
        let start = self
            .line_starts
            .get(line.saturating_sub(1))
            .copied()
            .unwrap_or(0);
        let col = self
            .text
            .get(start..offset)
            .map_or(0, |prefix| prefix.chars().count())
            + 1;
        Origin {
            file: self.file.to_path_buf(),
            line: line.max(1),
            col,
        }
    }

    /// The position of the start of `span`.
    pub(crate) fn origin(&self, span: Range<usize>) -> Origin {
        self.origin_at(span.start)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str, offset: usize) -> (usize, usize) {
        let o = LineIndex::new(text, Path::new("p.toml")).origin_at(offset);
        (o.line, o.col)
    }

    #[test]
    fn first_character_is_line_one_column_one() {
        assert_eq!(at("abc", 0), (1, 1));
        assert_eq!(at("", 0), (1, 1));
    }

    #[test]
    fn columns_restart_after_each_newline() {
        let text = "a = 1\nbb = 2\r\n\ncc";
        assert_eq!(at(text, 4), (1, 5));
        assert_eq!(at(text, 5), (1, 6));
        assert_eq!(at(text, 6), (2, 1));
        assert_eq!(at(text, 11), (2, 6));
        assert_eq!(at(text, 14), (3, 1));
        assert_eq!(at(text, 15), (4, 1));
        assert_eq!(at(text, 16), (4, 2));
    }

    #[test]
    fn columns_count_characters_not_bytes() {
        let text = "k = \"é€\" x";
        // 'x' is at byte 12 but is the 10th character.
        assert_eq!(at(text, 12), (1, 10));
        // An offset inside '€' points at '€'.
        assert_eq!(at(text, 8), (1, 7));
    }

    #[test]
    fn offsets_past_the_end_are_clamped() {
        assert_eq!(at("ab\ncd", 999), (2, 3));
    }

    #[test]
    fn origin_displays_as_file_line_col() {
        let o = Origin {
            file: PathBuf::from("dir/p.toml"),
            line: 12,
            col: 5,
        };
        assert_eq!(o.to_string(), "dir/p.toml:12:5");
        assert_eq!(Located::new(7u32, o).to_string(), "dir/p.toml:12:5");
    }
}
