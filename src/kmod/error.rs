//! Errors of the module-index layer.

use std::path::PathBuf;

/// Everything that can go wrong while reading module files, depmod.d
/// configuration, or while building the index files.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The file name is not one depmod treats as a module (`NAME.ko`,
    /// `NAME.ko.xz`, `NAME.ko.zst`, `NAME.ko.gz`).
    #[error("{path}: not a kernel module file name (expected NAME.ko, .ko.xz, .ko.zst or .ko.gz)")]
    NotModulePath {
        /// The offending path.
        path: String,
    },
    /// The (decompressed) module is not an ELF file.
    #[error("{path}: not an ELF file (bad magic {magic:02x?})")]
    NotElf {
        /// The module path.
        path: String,
        /// The first bytes found instead of `\x7fELF`.
        magic: Vec<u8>,
    },
    /// The ELF structure is malformed (truncated headers, sections out of
    /// bounds, a symbol table of odd size...).
    #[error("{path}: malformed ELF: {reason}")]
    BadElf {
        /// The module path.
        path: String,
        /// What is wrong.
        reason: String,
    },
    /// Decompressing a `.ko.xz` / `.ko.zst` / `.ko.gz` failed.
    #[error("{path}: cannot decompress {format} module: {source}")]
    Decompress {
        /// The module path.
        path: String,
        /// `xz`, `zstd` or `gzip`.
        format: &'static str,
        /// The decoder error.
        #[source]
        source: std::io::Error,
    },
    /// A decompressed module is larger than the limit.
    #[error("{path}: decompressed module exceeds {limit} bytes")]
    TooLarge {
        /// The module path.
        path: String,
        /// The limit in bytes.
        limit: u64,
    },
    /// The module has no `.modinfo` section.
    #[error("{path}: no .modinfo section")]
    NoModinfo {
        /// The module path.
        path: String,
    },
    /// An entry of `.modinfo` is not `key=value`, or a value depmod must index
    /// is unusable.
    #[error("{path}: bad .modinfo entry {entry:?}: {reason}")]
    BadModinfo {
        /// The module path.
        path: String,
        /// The entry (lossily decoded).
        entry: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// A symbol name in the module is not valid text.
    #[error("{path}: bad symbol name {name:?}: {reason}")]
    BadSymbol {
        /// The module path.
        path: String,
        /// The name (lossily decoded).
        name: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// A key for a binary index contains a byte outside 7-bit ASCII.
    #[error("index {index}: key {key:?} has a byte outside 7-bit ASCII")]
    NonAsciiKey {
        /// The index file name.
        index: &'static str,
        /// The key (lossily decoded).
        key: String,
    },
    /// A binary index grew beyond what its 28-bit node offsets can address.
    #[error("index {index}: larger than the format's 256 MiB node offset limit")]
    IndexTooLarge {
        /// The index file name.
        index: &'static str,
    },
    /// More modules than depmod supports (it counts them in 16 bits).
    #[error("{count} modules: depmod supports at most 65534")]
    TooManyModules {
        /// How many modules were given.
        count: usize,
    },
    /// The module dependencies form a cycle; depmod writes no index then.
    #[error("modules in dependency cycles: {}", modules.join(", "))]
    Cycle {
        /// Names of the modules left in cycles.
        modules: Vec<String>,
    },
    /// A depmod.d configuration file name is unusable.
    #[error("depmod.d file {name:?}: {reason}")]
    BadConfigName {
        /// The file name.
        name: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// Reading a module tree on disk failed.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
}
