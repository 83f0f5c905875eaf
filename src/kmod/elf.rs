//! Reading one module file: its name, `.modinfo`, exported symbols and the
//! symbols it needs, the way libkmod reads them for depmod.

use object::elf::{FileHeader32, FileHeader64, SHN_UNDEF};
use object::read::elf::{FileHeader, SectionHeader, Sym};
use object::{Endianness, pod};

use super::Error;
use super::decompress::decompress;

/// File name endings depmod takes for modules.
pub const MODULE_EXTENSIONS: [&str; 4] = [".ko", ".ko.xz", ".ko.zst", ".ko.gz"];

const CRC_PREFIX: &[u8] = b"__crc_";
/// Size of one `__versions` record (`struct modversion_info`), both classes.
const MODVERSION_SIZE: usize = 64;
const EM_SPARC: u16 = 2;
const EM_SPARCV9: u16 = 43;
const STT_REGISTER: u8 = 13;

/// `.modinfo` entries as (key, value).
type Modinfo = Vec<(Box<str>, Box<[u8]>)>;

/// Metadata of one module file: everything depmod needs, nothing else (the
/// module's code is not kept).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModuleInfo {
    path: String,
    name: String,
    modinfo: Modinfo,
    exports: Vec<Box<str>>,
    imports: Vec<Box<str>>,
}

impl ModuleInfo {
    /// Parses one module file. `rel_path` is its path relative to
    /// `/lib/modules/<kver>` (e.g. `kernel/drivers/net/e1000.ko.xz`), or an
    /// absolute path for a module of an `external` directory. `data` is the
    /// file's content, compressed or not.
    /// `.` components and repeated slashes are dropped from the path; a
    /// `..` component is refused.
    pub fn parse(rel_path: &str, data: &[u8]) -> Result<Self, Error> {
        let not_module = || Error::NotModulePath {
            path: rel_path.to_string(),
        };
        let clean = clean_path(rel_path).ok_or_else(not_module)?;
        let name = module_name(&clean).ok_or_else(not_module)?;
        let rel_path = clean.as_str();
        let elf = decompress(rel_path, data)?;
        let parsed = match elf.get(..4) {
            Some(b"\x7fELF") => match elf.get(4) {
                Some(1) => parse_elf::<FileHeader32<Endianness>>(rel_path, &elf)?,
                Some(2) => parse_elf::<FileHeader64<Endianness>>(rel_path, &elf)?,
                _ => {
                    return Err(Error::BadElf {
                        path: rel_path.to_string(),
                        reason: "unknown ELF class".to_string(),
                    });
                }
            },
            _ => {
                return Err(Error::NotElf {
                    path: rel_path.to_string(),
                    magic: elf.iter().take(4).copied().collect(),
                });
            }
        };
        Ok(ModuleInfo {
            path: clean,
            name,
            modinfo: parsed.modinfo,
            exports: parsed.exports,
            imports: parsed.imports,
        })
    }

    /// The path given to [`ModuleInfo::parse`].
    pub fn path(&self) -> &str {
        &self.path
    }

    /// The module name: the file name up to its first `.`, with `-` as `_`.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Every `.modinfo` entry, in file order, as (key, value).
    pub fn modinfo(&self) -> impl Iterator<Item = (&str, &[u8])> {
        self.modinfo.iter().map(|(k, v)| (&**k, &**v))
    }

    /// The values of one `.modinfo` key, in file order.
    pub fn modinfo_values<'a>(&'a self, key: &'a str) -> impl Iterator<Item = &'a [u8]> + 'a {
        self.modinfo()
            .filter(move |(k, _)| *k == key)
            .map(|(_, v)| v)
    }

    /// The `vermagic` string (kernel release and build options the module was
    /// built for), if the module has one.
    pub fn vermagic(&self) -> Option<&str> {
        self.modinfo_values("vermagic")
            .next()
            .and_then(|v| std::str::from_utf8(v).ok())
    }

    /// Symbols the module exports, as depmod lists them (from the `__crc_`
    /// symbols, else from `__ksymtab_strings`).
    pub fn exports(&self) -> impl Iterator<Item = &str> {
        self.exports.iter().map(|s| &**s)
    }

    /// Symbols the module needs: its undefined symbols in symbol table order,
    /// then the `__versions` entries no undefined symbol named.
    pub fn imports(&self) -> impl Iterator<Item = &str> {
        self.imports.iter().map(|s| &**s)
    }
}

/// True if depmod would take a file of this name as a module.
pub fn is_module_path(path: &str) -> bool {
    module_name(path).is_some()
}

/// The module name of a path, or `None` if the path is not a module's.
pub fn module_name(path: &str) -> Option<String> {
    if path.is_empty() || path.contains('\0') || path.split('/').any(|c| c == "..") {
        return None;
    }
    let base = path.rsplit('/').next().unwrap_or(path);
    if !MODULE_EXTENSIONS
        .iter()
        .any(|ext| base.len() > ext.len() && base.ends_with(ext))
    {
        return None;
    }
    let stem = base.split('.').next().unwrap_or("");
    Some(stem.replace('-', "_"))
}

/// `path` without `.` components and repeated slashes (a leading `/` is
/// kept); `None` if it has a `..` component, a NUL, or nothing left.
fn clean_path(path: &str) -> Option<String> {
    if path.contains('\0') {
        return None;
    }
    let mut parts = Vec::new();
    for c in path.split('/') {
        match c {
            "" | "." => {}
            ".." => return None,
            c => parts.push(c),
        }
    }
    if parts.is_empty() || path.ends_with('/') {
        return None;
    }
    let joined = parts.join("/");
    Some(if path.starts_with('/') {
        format!("/{joined}")
    } else {
        joined
    })
}

struct Parsed {
    modinfo: Modinfo,
    exports: Vec<Box<str>>,
    imports: Vec<Box<str>>,
}

fn bad_elf(path: &str, err: impl std::fmt::Display) -> Error {
    Error::BadElf {
        path: path.to_string(),
        reason: err.to_string(),
    }
}

fn parse_elf<Elf: FileHeader<Endian = Endianness>>(
    path: &str,
    data: &[u8],
) -> Result<Parsed, Error> {
    let header = Elf::parse(data).map_err(|e| bad_elf(path, e))?;
    let endian = header.endian().map_err(|e| bad_elf(path, e))?;
    let sections = header
        .sections(endian, data)
        .map_err(|e| bad_elf(path, e))?;
    let section = |name: &[u8]| -> Result<Option<&[u8]>, Error> {
        match sections.section_by_name(endian, name) {
            None => Ok(None),
            Some((_, sh)) => sh.data(endian, data).map(Some).map_err(|e| {
                bad_elf(
                    path,
                    format!("section {}: {e}", String::from_utf8_lossy(name)),
                )
            }),
        }
    };

    let modinfo_data = section(b".modinfo")?.ok_or_else(|| Error::NoModinfo {
        path: path.to_string(),
    })?;
    let modinfo = parse_modinfo(path, modinfo_data)?;

    let strtab = section(b".strtab")?;
    let symtab = match section(b".symtab")? {
        Some(bytes) => {
            let (syms, rest) =
                pod::slice_from_bytes::<Elf::Sym>(bytes, bytes.len() / size_of::<Elf::Sym>())
                    .map_err(|()| bad_elf(path, ".symtab out of bounds"))?;
            if rest.is_empty() { Some(syms) } else { None }
        }
        None => None,
    };
    let ksymtab_strings = section(b"__ksymtab_strings")?;
    let versions = section(b"__versions")?;

    let exports = match (strtab, symtab) {
        (Some(strtab), Some(symtab)) => crc_exports(path, endian, strtab, symtab)?,
        _ => None,
    };
    let exports = match exports {
        Some(list) => list,
        None => ksymtab_exports(path, ksymtab_strings.unwrap_or(&[]))?,
    };

    let imports = match (strtab, symtab) {
        (Some(strtab), Some(symtab)) => {
            let machine = header.e_machine(endian);
            let sparc = machine == EM_SPARC || machine == EM_SPARCV9;
            let class64 = header.is_class_64();
            dependency_symbols(path, endian, strtab, symtab, versions, class64, sparc)?
        }
        _ => Vec::new(),
    };

    Ok(Parsed {
        modinfo,
        exports,
        imports,
    })
}

/// Splits a string section the way libkmod does: leading NULs skipped, then
/// every non-empty NUL-separated string.
fn split_strings(data: &[u8]) -> impl Iterator<Item = &[u8]> {
    data.split(|&b| b == 0).filter(|s| !s.is_empty())
}

fn parse_modinfo(path: &str, data: &[u8]) -> Result<Modinfo, Error> {
    let mut out = Vec::new();
    for entry in split_strings(data) {
        let bad = |reason| Error::BadModinfo {
            path: path.to_string(),
            entry: String::from_utf8_lossy(entry).into_owned(),
            reason,
        };
        let eq = entry
            .iter()
            .position(|&b| b == b'=')
            .ok_or_else(|| bad("no '=' between key and value"))?;
        let (key, value) = (&entry[..eq], &entry[eq + 1..]);
        if key.is_empty() {
            return Err(bad("empty key"));
        }
        let key = std::str::from_utf8(key).map_err(|_| bad("key is not UTF-8"))?;
        if key == "alias" || key == "softdep" {
            if !value.is_ascii() {
                return Err(bad("value has a byte outside 7-bit ASCII"));
            }
            if key == "alias" && super::index::normalize_alias(value).is_none() {
                return Err(bad("alias has an unmatched bracket"));
            }
        }
        out.push((key.into(), value.into()));
    }
    Ok(out)
}

fn symbol_name<'a>(path: &str, strtab: &'a [u8], offset: u32) -> Result<&'a [u8], Error> {
    let tail = strtab.get(offset as usize..).ok_or_else(|| Error::BadElf {
        path: path.to_string(),
        reason: format!(
            "symbol name offset {offset} beyond .strtab ({} bytes)",
            strtab.len()
        ),
    })?;
    Ok(tail.split(|&b| b == 0).next().unwrap_or(&[]))
}

fn to_text(path: &str, name: &[u8]) -> Result<Box<str>, Error> {
    let text = std::str::from_utf8(name).map_err(|_| Error::BadSymbol {
        path: path.to_string(),
        name: String::from_utf8_lossy(name).into_owned(),
        reason: "not UTF-8",
    })?;
    Ok(text.into())
}

/// Exports from `__crc_NAME` symbols; `None` when libkmod would fall back to
/// `__ksymtab_strings` (no such symbol, or a name offset out of range).
fn crc_exports<S: Sym<Endian = Endianness>>(
    path: &str,
    endian: Endianness,
    strtab: &[u8],
    symtab: &[S],
) -> Result<Option<Vec<Box<str>>>, Error> {
    let mut out = Vec::new();
    for sym in symtab.iter().skip(1) {
        let offset = sym.st_name(endian);
        if offset as usize >= strtab.len() {
            return Ok(None);
        }
        let name = symbol_name(path, strtab, offset)?;
        if let Some(exported) = name.strip_prefix(CRC_PREFIX) {
            out.push(to_text(path, exported)?);
        }
    }
    Ok(if out.is_empty() { None } else { Some(out) })
}

fn ksymtab_exports(path: &str, data: &[u8]) -> Result<Vec<Box<str>>, Error> {
    split_strings(data)
        .map(|name| to_text(path, name))
        .collect()
}

fn dependency_symbols<S: Sym<Endian = Endianness>>(
    path: &str,
    endian: Endianness,
    strtab: &[u8],
    symtab: &[S],
    versions: Option<&[u8]>,
    class64: bool,
    sparc: bool,
) -> Result<Vec<Box<str>>, Error> {
    let crc_len = if class64 { 8 } else { 4 };
    let versions: Vec<&[u8]> = match versions {
        Some(v) if v.len() % MODVERSION_SIZE == 0 => v
            .chunks_exact(MODVERSION_SIZE)
            .map(|rec| {
                let name = &rec[crc_len..];
                name.split(|&b| b == 0).next().unwrap_or(&[])
            })
            .collect(),
        _ => Vec::new(),
    };
    let mut visited = vec![false; versions.len()];
    let mut out = Vec::new();
    for sym in symtab.iter().skip(1) {
        if sym.st_shndx(endian) != SHN_UNDEF {
            continue;
        }
        if sparc && sym.st_type() == STT_REGISTER {
            continue;
        }
        let name = symbol_name(path, strtab, sym.st_name(endian))?;
        if name.is_empty() {
            continue;
        }
        if let Some(i) = versions.iter().position(|v| *v == name) {
            visited[i] = true;
        }
        out.push(to_text(path, name)?);
    }
    for (name, seen) in versions.iter().zip(&visited) {
        if !seen && !name.is_empty() {
            out.push(to_text(path, name)?);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_are_cleaned_and_named() {
        assert_eq!(
            clean_path("./kernel//drivers/./x.ko").as_deref(),
            Some("kernel/drivers/x.ko")
        );
        assert_eq!(
            clean_path("/opt//ext/x.ko").as_deref(),
            Some("/opt/ext/x.ko")
        );
        assert_eq!(clean_path("kernel/../x.ko"), None);
        assert_eq!(clean_path("kernel/x.ko/"), None);
        assert_eq!(clean_path("./"), None);
        assert_eq!(
            module_name("kernel/net/foo-bar.baz.ko.xz").as_deref(),
            Some("foo_bar")
        );
        assert_eq!(module_name("kernel/net/x.ko.bz2"), None);
        assert_eq!(module_name("kernel/net/.ko"), None);
    }
}
