//! Errors of applying boot edits, each naming the config and the entry or argument.

use crate::boot::{args, grub, grub_script, isolinux};

/// Errors of applying boot edits.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// An isolinux config could not be parsed or edited.
    #[error("{file}: {source}")]
    Isolinux {
        /// The config.
        file: String,
        /// The cause.
        source: isolinux::Error,
    },
    /// A GRUB config could not be parsed or edited.
    #[error("{file}: {source}")]
    Grub {
        /// The config.
        file: String,
        /// The cause.
        source: grub::Error,
    },
    /// A bad argument in the edits.
    #[error(transparent)]
    Args(#[from] args::Error),
    /// An entry name found in no config.
    #[error("no boot menu has an entry {name:?}; the menus have: {}", known.join(", "))]
    UnknownEntry {
        /// The name.
        name: String,
        /// The names the menus have (isolinux labels, GRUB titles), each once, in file order.
        known: Vec<String>,
    },
    /// An entry that exists in one config has no counterpart in another.
    #[error(
        "{file}: no entry matches {name:?} (no such name, and no Xen entry at the same position with the same arguments)"
    )]
    NoCounterpart {
        /// The name.
        name: String,
        /// The config without it.
        file: String,
    },
    /// Xen argument edits asked for an entry that does not boot Xen.
    #[error("{file}: entry {name:?} does not boot Xen; it has no Xen arguments to edit")]
    NotXen {
        /// The name.
        name: String,
        /// The config.
        file: String,
    },
    /// Argument edits asked for an entry that boots neither Xen nor a Linux kernel.
    #[error(
        "{file}: entry {name:?} boots neither Xen nor a Linux kernel; it has no arguments to edit"
    )]
    NoKernel {
        /// The name.
        name: String,
        /// The config.
        file: String,
    },
    /// A `remove` that matched no argument of any edited entry.
    #[error("{file}: no edited entry has the {line} argument {arg:?} to remove")]
    NothingToRemove {
        /// The argument.
        arg: String,
        /// `Xen` or `dom0`.
        line: &'static str,
        /// The config.
        file: String,
    },
    /// A GRUB config the build edits (`stage` "source") or its edited text (`stage` "edited")
    /// is not a script GRUB's parser accepts.
    #[error("{file}: {stage} GRUB script: {source}")]
    Script {
        /// The config.
        file: String,
        /// `source` or `edited`.
        stage: &'static str,
        /// The cause.
        source: grub_script::Error,
    },
    /// The edited text of a config does not read back as the entries edited.
    #[error("{file}: the edited config does not read back as edited: {why}")]
    Rendered {
        /// The config.
        file: String,
        /// What differs.
        why: String,
    },
    /// A new entry's label is used twice or already exists.
    #[error("new entry {label:?}: {why}")]
    BadNewEntry {
        /// The label.
        label: String,
        /// What is wrong.
        why: String,
    },
}
