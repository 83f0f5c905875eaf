//! Kernel module indexes: everything `depmod` (kmod 30) writes for a kernel,
//! byte for byte, computed from module metadata alone.
//!
//! Module files are parsed one at a time as they stream by
//! ([`ModuleInfo::parse`], which keeps only names, `.modinfo` and symbol
//! lists), collected in a [`Depmod`] with the depmod.d configuration and the
//! kernel's `modules.builtin`, `modules.builtin.modinfo` and `modules.order`,
//! and [`Depmod::write`] returns the content of each index file. The binary
//! tries (`*.bin`) are the files kmod's modprobe reads.
//!
//! - `elf.rs`: reading one module (ELF `.modinfo`, symbols, `__versions`)
//! - `decompress.rs`: `.ko.xz`, `.ko.zst`, `.ko.gz`
//! - `config.rs` (+ `regex.rs`): depmod.d
//! - `select.rs`: choosing one file per module name (override, search, exclude)
//! - `depmod.rs`: ordering, dependencies, the text files and indexes
//! - `builtin.rs`: `modules.builtin` and `modules.builtin.modinfo`
//! - `resolve.rs`: what modprobe would load for a name (for inspection)
//! - `index.rs`: the binary trie writer
//! - `hash_order.rs`: the order of depmod's hash tables, which some outputs follow
//! - `fnmatch.rs`: alias wildcard matching for [`Depmod::resolve`]

mod builtin;
mod config;
mod decompress;
mod depmod;
mod elf;
mod error;
mod fnmatch;
mod hash_order;
mod index;
mod regex;
mod resolve;
mod select;

use std::path::{Path, PathBuf};

pub use config::{Config, Search, is_config_name};
pub use decompress::MAX_MODULE_SIZE;
pub use depmod::{Depmod, INDEX_FILES};
pub use elf::{MODULE_EXTENSIONS, ModuleInfo, is_module_path, module_name};
pub use error::Error;
pub use index::IndexBuilder;
pub use resolve::{Resolved, Resolver};

/// depmod.d directories, in depmod's precedence order.
pub const CONFIG_DIRS: [&str; 4] = [
    "etc/depmod.d",
    "run/depmod.d",
    "usr/local/lib/depmod.d",
    "lib/depmod.d",
];

/// Runs depmod on a tree on disk: reads `ROOT/lib/modules/KVER` (and the
/// depmod.d directories and `external` directories under `ROOT`) and returns
/// every index file, as [`Depmod::write`]. Nothing is written to disk.
///
/// Unlike `depmod -b ROOT`, which takes its configuration and `external`
/// directories from the host, everything is read under `ROOT`; the result
/// equals `depmod -b ROOT -C ROOT/etc/depmod.d KVER` when those are the only
/// configuration files.
pub fn depmod_dir(root: &Path, kver: &str) -> Result<Vec<(String, Vec<u8>)>, Error> {
    let moddir = root.join("lib/modules").join(kver);
    let mut depmod = Depmod::new(kver);
    for dir in CONFIG_DIRS {
        let dir = root.join(dir);
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        let mut names: Vec<String> = entries
            .filter_map(|e| e.ok())
            .filter(|e| e.path().is_file())
            .filter_map(|e| e.file_name().into_string().ok())
            .collect();
        names.sort();
        for name in names {
            if !is_config_name(&name) {
                continue;
            }
            let path = dir.join(&name);
            let text = crate::input::read(&path).map_err(|source| Error::Io { path, source })?;
            depmod.add_config(&name, &String::from_utf8_lossy(&text))?;
        }
    }
    let read_text = |name: &str| -> Result<Option<Vec<u8>>, Error> {
        let path = moddir.join(name);
        match crate::input::read(&path) {
            Ok(data) => Ok(Some(data)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(source) => Err(Error::Io { path, source }),
        }
    };
    if let Some(data) = read_text("modules.builtin")? {
        depmod.set_builtin(&String::from_utf8_lossy(&data));
    }
    if let Some(data) = read_text("modules.builtin.modinfo")? {
        depmod.set_builtin_modinfo(&data);
    }
    if let Some(data) = read_text("modules.order")? {
        depmod.set_order(&String::from_utf8_lossy(&data));
    }

    let mut files: Vec<(String, PathBuf)> = Vec::new();
    walk(&moddir, "", &mut files)?;
    for ext in depmod.config().externals {
        let dir = root.join(ext.trim_start_matches('/'));
        let mut found = Vec::new();
        match walk(&dir, "", &mut found) {
            Ok(()) => {}
            Err(Error::Io { source, .. }) if source.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(e),
        }
        let base = format!("/{}", ext.trim_matches('/'));
        files.extend(
            found
                .into_iter()
                .map(|(rel, path)| (format!("{base}/{rel}"), path)),
        );
    }

    for info in parse_parallel(&files)? {
        depmod.add_module(info);
    }
    depmod.write()
}

/// Deepest directory nesting followed in a tree on disk.
const MAX_DEPTH: usize = 64;

/// Lists module files under `dir` as (path relative to the walk's start,
/// file), skipping what depmod skips.
fn walk(dir: &Path, rel: &str, out: &mut Vec<(String, PathBuf)>) -> Result<(), Error> {
    if rel.matches('/').count() >= MAX_DEPTH {
        return Err(Error::Io {
            path: dir.to_path_buf(),
            source: std::io::Error::other("directories nested too deep (a symlink loop?)"),
        });
    }
    let entries = std::fs::read_dir(dir).map_err(|source| Error::Io {
        path: dir.to_path_buf(),
        source,
    })?;
    let mut list: Vec<(String, PathBuf)> = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|source| Error::Io {
            path: dir.to_path_buf(),
            source,
        })?;
        let Ok(name) = entry.file_name().into_string() else {
            continue;
        };
        if name == "build" || name == "source" {
            continue;
        }
        list.push((name, entry.path()));
    }
    list.sort();
    for (name, path) in list {
        let child = if rel.is_empty() {
            name.clone()
        } else {
            format!("{rel}/{name}")
        };
        let Ok(meta) = std::fs::metadata(&path) else {
            continue;
        };
        if meta.is_dir() {
            walk(&path, &child, out)?;
        } else if meta.is_file() && is_module_path(&child) {
            out.push((child, path));
        }
    }
    Ok(())
}

/// Parses module files on the cores ([`crate::parallelism::file_readers`]).
fn parse_parallel(files: &[(String, PathBuf)]) -> Result<Vec<ModuleInfo>, Error> {
    let threads = crate::parallelism::file_readers();
    crate::parallelism::map_in_order(files, threads, |(rel, path)| {
        let data = crate::input::read(path).map_err(|source| Error::Io {
            path: path.clone(),
            source,
        })?;
        ModuleInfo::parse(rel, &data)
    })
    .into_iter()
    .zip(files)
    .map(|(result, (_, path))| {
        result.unwrap_or_else(|| {
            Err(Error::Io {
                path: path.clone(),
                source: std::io::Error::other("the module's parser failed"),
            })
        })
    })
    .collect()
}
