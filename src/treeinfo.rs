//! `.treeinfo`: the INI file that names the product, build and repository key of an installer
//! tree. Edits keep every other line (unknown sections, comments, order) as it was.
//!
//! The installer reads the file with Python's `ConfigParser` (basic interpolation), so values
//! written here never contain `%` or line breaks, and versions are dotted numbers.

/// Errors parsing or editing `.treeinfo`.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum Error {
    /// A line is neither a section, an option, a comment, a continuation nor blank.
    #[error(".treeinfo line {line}: cannot parse {text:?}")]
    Syntax {
        /// 1-based line number.
        line: usize,
        /// The line.
        text: String,
    },
    /// A section or an option appears twice (ConfigParser refuses that).
    #[error(".treeinfo line {line}: duplicate {what}")]
    Duplicate {
        /// 1-based line number of the second occurrence.
        line: usize,
        /// `[section]` or `[section] option`.
        what: String,
    },
    /// An option appears before any section header.
    #[error(".treeinfo line {line}: option outside any section")]
    NoSection {
        /// 1-based line number.
        line: usize,
    },
    /// A value to write would break ConfigParser (contains `%`, a line break or a control
    /// character) or is empty where a value is needed.
    #[error(".treeinfo [{section}] {key}: value {value:?} is not valid for ConfigParser")]
    BadValue {
        /// Section.
        section: String,
        /// Option.
        key: String,
        /// The refused value.
        value: String,
    },
    /// A version is not dotted numbers.
    #[error(".treeinfo [{section}] {key}: version {value:?} is not dotted numbers")]
    BadVersion {
        /// Section.
        section: String,
        /// Option.
        key: String,
        /// The refused value.
        value: String,
    },
}

/// One classified line.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Kind {
    Blank,
    Comment,
    Section(String),
    /// Option: key (as written, trimmed) and the byte offset where its value starts.
    Option {
        key: String,
        value_at: usize,
    },
    Continuation,
}

/// A parsed `.treeinfo`, kept as its lines.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TreeInfo {
    lines: Vec<String>,
    ends_with_newline: bool,
}

fn classify(line: &str) -> Option<Kind> {
    let trimmed = line.trim();
    if trimmed.is_empty() {
        return Some(Kind::Blank);
    }
    if trimmed.starts_with('#') || trimmed.starts_with(';') {
        return Some(Kind::Comment);
    }
    if line.starts_with([' ', '\t']) {
        return Some(Kind::Continuation);
    }
    if let Some(rest) = line.strip_prefix('[') {
        let end = rest.find(']')?;
        return Some(Kind::Section(rest.get(..end)?.to_string()));
    }
    let delim = line.find(['=', ':'])?;
    let key = line.get(..delim)?.trim().to_string();
    if key.is_empty() {
        return None;
    }
    let after = line.get(delim + 1..)?;
    let spaces = after.len() - after.trim_start().len();
    Some(Kind::Option {
        key,
        value_at: delim + 1 + spaces,
    })
}

/// Whether `value` can be written for ConfigParser with basic interpolation.
fn valid_value(value: &str) -> bool {
    !value.contains('%') && !value.chars().any(char::is_control)
}

/// Whether `value` is dotted numbers (`8.3.0`).
pub fn is_dotted_version(value: &str) -> bool {
    !value.is_empty()
        && value
            .split('.')
            .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
}

impl TreeInfo {
    /// Parses `.treeinfo` text.
    pub fn parse(text: &str) -> Result<TreeInfo, Error> {
        // Lines keep a `\r` before their `\n` (ConfigParser reads them as line ends, and every
        // value is read trimmed), so a file renders back byte for byte.
        let mut lines: Vec<String> = text.split('\n').map(str::to_string).collect();
        if text.is_empty() || text.ends_with('\n') {
            lines.pop();
        }
        let mut in_section = false;
        let mut sections = std::collections::BTreeSet::new();
        let mut options = std::collections::BTreeSet::new();
        let mut current = String::new();
        for (i, line) in lines.iter().enumerate() {
            match classify(line) {
                None => {
                    return Err(Error::Syntax {
                        line: i + 1,
                        text: line.clone(),
                    });
                }
                Some(Kind::Section(name)) => {
                    in_section = true;
                    if !sections.insert(name.clone()) {
                        return Err(Error::Duplicate {
                            line: i + 1,
                            what: format!("[{name}]"),
                        });
                    }
                    current = name;
                }
                Some(Kind::Option { key, .. }) if in_section => {
                    if !options.insert((current.clone(), key.to_ascii_lowercase())) {
                        return Err(Error::Duplicate {
                            line: i + 1,
                            what: format!("[{current}] {key}"),
                        });
                    }
                }
                Some(Kind::Option { .. } | Kind::Continuation) if !in_section => {
                    return Err(Error::NoSection { line: i + 1 });
                }
                Some(_) => {}
            }
        }
        Ok(TreeInfo {
            lines,
            ends_with_newline: text.is_empty() || text.ends_with('\n'),
        })
    }

    /// Line index range (header excluded) of each occurrence of `section`.
    fn section_range(&self, section: &str) -> Option<(usize, usize)> {
        let start = self
            .lines
            .iter()
            .position(|l| classify(l) == Some(Kind::Section(section.to_string())))?;
        let end = self
            .lines
            .iter()
            .enumerate()
            .skip(start + 1)
            .find(|(_, l)| matches!(classify(l), Some(Kind::Section(_))))
            .map_or(self.lines.len(), |(i, _)| i);
        Some((start + 1, end))
    }

    /// Line index of option `key` (case-insensitive, as ConfigParser) in `section`.
    fn option_line(&self, section: &str, key: &str) -> Option<usize> {
        let (start, end) = self.section_range(section)?;
        (start..end).find(|&i| {
            matches!(classify(&self.lines[i]), Some(Kind::Option { key: k, .. }) if k.eq_ignore_ascii_case(key))
        })
    }

    /// The value of `key` in `section` (first line only), if present.
    pub fn get(&self, section: &str, key: &str) -> Option<&str> {
        let i = self.option_line(section, key)?;
        let line = &self.lines[i];
        match classify(line) {
            Some(Kind::Option { value_at, .. }) => line.get(value_at..).map(str::trim_end),
            _ => None,
        }
    }

    /// The options of `section` in file order: (key, value).
    pub fn options(&self, section: &str) -> Vec<(String, String)> {
        let Some((start, end)) = self.section_range(section) else {
            return Vec::new();
        };
        self.lines[start..end]
            .iter()
            .filter_map(|l| match classify(l) {
                Some(Kind::Option { key, value_at }) => Some((
                    key,
                    l.get(value_at..).unwrap_or_default().trim_end().to_string(),
                )),
                _ => None,
            })
            .collect()
    }

    /// Sets `key` in `section`: replaces the value in place (dropping continuation lines),
    /// or adds the option at the end of the section, or adds the section at the end.
    pub fn set(&mut self, section: &str, key: &str, value: &str) -> Result<(), Error> {
        if !valid_value(value) || !valid_value(key) || key.contains(['=', ':', '[']) {
            return Err(Error::BadValue {
                section: section.to_string(),
                key: key.to_string(),
                value: value.to_string(),
            });
        }
        if let Some(i) = self.option_line(section, key) {
            let line = &self.lines[i];
            let value_at = match classify(line) {
                Some(Kind::Option { value_at, .. }) => value_at,
                _ => line.len(),
            };
            let cr = if line.ends_with('\r') { "\r" } else { "" };
            let was_empty = line.trim_end_matches('\r').len() <= value_at;
            let mut head = line.get(..value_at).unwrap_or(line).trim_end().to_string();
            if !value.is_empty() {
                if was_empty {
                    head.push(' ');
                } else {
                    head = line.get(..value_at).unwrap_or(line).to_string();
                }
            }
            self.lines[i] = format!("{head}{value}{cr}");
            while self
                .lines
                .get(i + 1)
                .is_some_and(|l| classify(l) == Some(Kind::Continuation))
            {
                self.lines.remove(i + 1);
            }
            return Ok(());
        }
        let new_line = if value.is_empty() {
            format!("{key} =")
        } else {
            format!("{key} = {value}")
        };
        match self.section_range(section) {
            Some((start, end)) => {
                // after the last non-blank line of the section
                let at = (start..end)
                    .rev()
                    .find(|&i| classify(&self.lines[i]) != Some(Kind::Blank))
                    .map_or(start, |i| i + 1);
                self.lines.insert(at, new_line);
            }
            None => {
                if self.lines.last().is_some_and(|l| !l.trim().is_empty()) {
                    self.lines.push(String::new());
                }
                self.lines.push(format!("[{section}]"));
                self.lines.push(new_line);
            }
        }
        Ok(())
    }

    /// Sets a version option, checking it is dotted numbers.
    pub fn set_version(&mut self, section: &str, key: &str, value: &str) -> Result<(), Error> {
        if !is_dotted_version(value) {
            return Err(Error::BadVersion {
                section: section.to_string(),
                key: key.to_string(),
                value: value.to_string(),
            });
        }
        self.set(section, key, value)
    }

    /// Makes `key_file` the first key of `[keys]` (`key1`), the former keys following as
    /// `key2`, `key3`... (a former entry naming the same file is dropped).
    pub fn set_first_key(&mut self, key_file: &str) -> Result<(), Error> {
        if key_file.is_empty() || !valid_value(key_file) {
            return Err(Error::BadValue {
                section: "keys".into(),
                key: "key1".into(),
                value: key_file.to_string(),
            });
        }
        let mut files = vec![key_file.to_string()];
        files.extend(
            self.options("keys")
                .into_iter()
                .map(|(_, v)| v)
                .filter(|v| v != key_file && !v.is_empty()),
        );
        let new_lines: Vec<String> = files
            .iter()
            .enumerate()
            .map(|(i, f)| format!("key{} = {f}", i + 1))
            .collect();
        match self.section_range("keys") {
            Some((start, end)) => {
                let options: Vec<usize> = (start..end)
                    .filter(|&i| {
                        matches!(
                            classify(&self.lines[i]),
                            Some(Kind::Option { .. } | Kind::Continuation)
                        )
                    })
                    .collect();
                let at = options.first().copied().unwrap_or(start);
                for &i in options.iter().rev() {
                    self.lines.remove(i);
                }
                for (n, line) in new_lines.into_iter().enumerate() {
                    self.lines.insert(at + n, line);
                }
            }
            None => {
                if self.lines.last().is_some_and(|l| !l.trim().is_empty()) {
                    self.lines.push(String::new());
                }
                self.lines.push("[keys]".into());
                self.lines.extend(new_lines);
            }
        }
        Ok(())
    }

    /// The file text.
    pub fn to_text(&self) -> String {
        let mut s = self.lines.join("\n");
        if self.ends_with_newline && !self.lines.is_empty() {
            s.push('\n');
        }
        s
    }

    /// Checks every value for ConfigParser: no `%` other than `%%`.
    pub fn check_values(&self) -> Result<(), Error> {
        let mut section = String::new();
        for line in &self.lines {
            match classify(line) {
                Some(Kind::Section(s)) => section = s,
                Some(Kind::Option { key, value_at }) => {
                    let value = line.get(value_at..).unwrap_or_default();
                    if value.replace("%%", "").contains('%') {
                        return Err(Error::BadValue {
                            section: section.clone(),
                            key,
                            value: value.to_string(),
                        });
                    }
                }
                _ => {}
            }
        }
        Ok(())
    }
}

/// The values a remastered tree changes in `.treeinfo`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TreeinfoEdit {
    /// `[build] number`.
    pub build_number: Option<String>,
    /// Product (brand) name: `[branding] name`, `[system-v1] product_name`,
    /// `[general] family`, and `[general] name` (`<name>-<version>`), where present.
    pub product_name: Option<String>,
    /// Product version (dotted numbers): `[branding] version`,
    /// `[system-v1] product_version`, `[general] version`, and `[general] name`.
    pub product_version: Option<String>,
    /// Key file made first in `[keys]`.
    pub first_key: Option<String>,
    /// `[general] timestamp` (from SOURCE_DATE_EPOCH), updated where the source has one (a
    /// section the source lacks is not added for it).
    pub timestamp: u64,
}

/// Rewrites a source `.treeinfo` with `edit`, keeping every other line.
pub fn rewrite(source: &str, edit: &TreeinfoEdit) -> Result<String, Error> {
    let mut t = TreeInfo::parse(source)?;
    if let Some(n) = &edit.build_number {
        if n.is_empty() {
            return Err(Error::BadValue {
                section: "build".into(),
                key: "number".into(),
                value: n.clone(),
            });
        }
        t.set("build", "number", n)?;
    }
    if let Some(v) = &edit.product_version {
        if !is_dotted_version(v) {
            return Err(Error::BadVersion {
                section: "branding".into(),
                key: "version".into(),
                value: v.clone(),
            });
        }
        for (section, key) in [
            ("branding", "version"),
            ("system-v1", "product_version"),
            ("general", "version"),
        ] {
            if t.get(section, key).is_some() || section == "branding" {
                t.set_version(section, key, v)?;
            }
        }
    }
    if let Some(n) = &edit.product_name {
        if n.is_empty() {
            return Err(Error::BadValue {
                section: "branding".into(),
                key: "name".into(),
                value: n.clone(),
            });
        }
        for (section, key) in [
            ("branding", "name"),
            ("system-v1", "product_name"),
            ("general", "family"),
        ] {
            if t.get(section, key).is_some() || section == "branding" {
                t.set(section, key, n)?;
            }
        }
    }
    if (edit.product_name.is_some() || edit.product_version.is_some())
        && t.get("general", "name").is_some()
    {
        let name = t.get("branding", "name").unwrap_or_default().to_string();
        let version = t.get("branding", "version").unwrap_or_default().to_string();
        t.set("general", "name", &format!("{name}-{version}"))?;
    }
    if let Some(k) = &edit.first_key {
        t.set_first_key(k)?;
    }
    if t.get("general", "timestamp").is_some() {
        t.set("general", "timestamp", &edit.timestamp.to_string())?;
    }
    t.check_values()?;
    Ok(t.to_text())
}

#[cfg(test)]
mod tests {
    use super::*;

    const SRC: &str = "[platform]\nname = XCP\nversion = 3.4.0\n\n[branding]\nname = XCP-ng\nversion = 8.3.0\n\n[build]\nnumber = cloud\n[keys]\nkey1 = RPM-GPG-KEY-xcpng\n\n[general]\nname = XCP-ng-8.3.0\nfamily = XCP-ng\ntimestamp = 1\nvariant =\nversion = 8.3.0\n\n[custom]\n; a comment\nfoo: bar\n";

    #[test]
    fn rewrite_changes_only_given_values() {
        let out = rewrite(
            SRC,
            &TreeinfoEdit {
                build_number: Some("remix-1".into()),
                product_version: Some("8.3.1".into()),
                first_key: Some("RPM-GPG-KEY-local".into()),
                timestamp: 1700000000,
                ..TreeinfoEdit::default()
            },
        )
        .unwrap();
        let t = TreeInfo::parse(&out).unwrap();
        assert_eq!(t.get("build", "number"), Some("remix-1"));
        assert_eq!(t.get("branding", "version"), Some("8.3.1"));
        assert_eq!(t.get("general", "name"), Some("XCP-ng-8.3.1"));
        assert_eq!(t.get("general", "timestamp"), Some("1700000000"));
        assert_eq!(
            t.options("keys"),
            vec![
                ("key1".into(), "RPM-GPG-KEY-local".into()),
                ("key2".into(), "RPM-GPG-KEY-xcpng".into())
            ]
        );
        assert!(out.ends_with("[custom]\n; a comment\nfoo: bar\n"));
        assert!(out.contains("[platform]\nname = XCP\nversion = 3.4.0\n"));
    }

    #[test]
    fn no_general_section_is_added_for_the_timestamp() {
        let src = "[build]\nnumber = cloud\n[keys]\nkey1 = RPM-GPG-KEY-xcpng\n";
        let edit = TreeinfoEdit {
            build_number: Some("remix-1".into()),
            timestamp: 1700000000,
            ..TreeinfoEdit::default()
        };
        assert_eq!(
            rewrite(src, &edit).unwrap(),
            "[build]\nnumber = remix-1\n[keys]\nkey1 = RPM-GPG-KEY-xcpng\n"
        );
    }

    #[test]
    fn percent_and_bad_versions_are_refused() {
        let pct = TreeinfoEdit {
            build_number: Some("50%".into()),
            ..TreeinfoEdit::default()
        };
        assert!(matches!(rewrite(SRC, &pct), Err(Error::BadValue { .. })));
        let ver = TreeinfoEdit {
            product_version: Some("8.3-beta".into()),
            ..TreeinfoEdit::default()
        };
        assert!(matches!(rewrite(SRC, &ver), Err(Error::BadVersion { .. })));
        assert!(matches!(
            TreeInfo::parse("key = value\n"),
            Err(Error::NoSection { line: 1 })
        ));
        assert!(matches!(
            TreeInfo::parse("[a]\nx = 1\n[a]\n"),
            Err(Error::Duplicate { line: 3, .. })
        ));
        assert!(matches!(
            TreeInfo::parse("[a]\nx = 1\nX = 2\n"),
            Err(Error::Duplicate { line: 3, .. })
        ));
    }
}
