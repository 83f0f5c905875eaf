//! install.img: the installer's root filesystem, a sequence of newc cpio archives, each either
//! uncompressed or inside its own compressed stream (bzip2, gzip, xz, zstd), separated by zero padding.
//!
//! The layout follows the format, one file per concept:
//! - [`newc`]: the 110-byte header and its padding rules;
//! - [`compression`]: detecting, decoding and encoding compressed segments;
//! - [`reader`]: a streaming reader over the whole sequence, yielding entries and segment boundaries;
//! - [`tree`]: the merged view with the Linux kernel's shadowing rules (metadata only);
//! - [`writer`]: the newc archive builder;
//! - [`edits`]: what a caller wants changed, resolved against a tree, and the overlay/repack choice;
//! - [`overlay`] and [`repack`]: the two ways of writing the result;
//! - [`extract`]: a safe unpack of the merged tree into a directory.

pub mod compression;
pub mod edits;
mod error;
pub mod extract;
pub mod newc;
pub mod overlay;
pub mod reader;
pub mod repack;
pub mod tree;
pub mod writer;

pub use compression::Compression;
pub use edits::{Changes, Content, Edits, PutEntry, PutKind, Strategy, plan, prepare};
pub use error::{Error, Location, show};
pub use extract::{ExtractReport, extract};
pub use overlay::write_overlay;
pub use reader::{Entry, Reader, Segment};
pub use repack::{RepackOptions, repack};
pub use tree::{DataSource, Inode, Kind, Node, Tree};
pub use writer::NewcWriter;

/// Result type of the initrd module.
pub type Result<T> = std::result::Result<T, Error>;
