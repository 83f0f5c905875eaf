//! install.img: the installer's root filesystem, a sequence of newc cpio archives, each either
//! uncompressed or inside its own compressed stream (bzip2, gzip, xz, zstd), separated by zero padding.
//!
//! The layout follows the format, one file per concept:
//! - [`newc`]: the 110-byte header and its padding rules;
//! - [`bzip2_blocks`]: block-parallel decoding of one bzip2 stream;
//! - [`compression`]: detecting, decoding and encoding compressed segments;
//! - [`reader`]: a streaming reader over the whole sequence, yielding entries and segment boundaries;
//! - [`tree`]: the merged view with the Linux kernel's shadowing rules (metadata only);
//! - [`writer`]: the newc archive builder;
//! - [`edits`]: what a caller wants changed, resolved against a tree, and the overlay/repack choice;
//! - [`overlay`], [`splice`] and [`mod@repack`]: the three ways of writing the result (an
//!   appended archive; the source's bzip2 blocks kept around re-encoded ones; one new archive);
//! - [`index`] and [`index_cache`]: where every entry and bzip2 block of an image lies, built
//!   while the image is read and cached between builds;
//! - [`mod@rewrite`]: the one call a build makes: image and edits in, new image and the reason
//!   for its strategy out;
//! - [`mod@extract`]: a safe unpack of the merged tree into a directory.
//!
//! Reading decodes each bzip2 segment on all cores ([`bzip2_blocks`]). A build needs at most
//! one decompression of the image ([`rewrite`]): the contents the patches need are kept while
//! the tree is read ([`patch_targets`], then [`prepare_kept`]), a re-pack takes its data from a
//! spool of the decompressed data ([`repack_spooled`]), and a splice decodes only the blocks it
//! changes (none at all to read the tree when the image's index is cached).
//!
//! A use of the parts, reading the image twice (once for the tree, once for the data):
//!
//! ```no_run
//! use std::fs::File;
//! use std::io::BufWriter;
//! use isoremix::initrd::{self, Edits, RepackOptions, Strategy, Tree};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let tree = Tree::read(File::open("install.img")?)?;
//! for segment in tree.segments() {
//!     println!("{segment}");
//! }
//! let edits = Edits { mtime: 1_700_000_000, ..Edits::default() };
//! let changes = initrd::prepare(&edits, &tree, File::open("install.img")?)?;
//! match initrd::plan(&changes, None)? {
//!     Strategy::Overlay => {
//!         // Copy install.img unchanged, then append:
//!         let mut out = BufWriter::new(File::create("overlay.bin")?);
//!         let compression = tree.last_compression().unwrap_or(initrd::Compression::Bzip2);
//!         initrd::write_overlay(tree.image_len(), compression, &changes, &mut out)?;
//!     }
//!     Strategy::Repack => {
//!         let out = BufWriter::new(File::create("install.new.img")?);
//!         let image = File::open("install.img")?;
//!         initrd::repack(image, &tree, Some(&changes), &RepackOptions::default(), out)?;
//!     }
//! }
//! # Ok(())
//! # }
//! ```

mod bits;
pub mod bzip2_blocks;
pub mod compression;
pub mod edits;
mod error;
pub mod extract;
pub mod index;
pub mod index_cache;
pub mod newc;
pub mod overlay;
pub mod reader;
pub mod repack;
pub mod rewrite;
pub mod splice;
pub mod tree;
pub mod writer;

pub use compression::Compression;
pub use edits::{
    Changes, Content, Edits, PutEntry, PutKind, Strategy, patch_targets, plan, prepare,
    prepare_kept,
};
pub use error::{Error, Location, show};
pub use extract::{ExtractReport, extract};
pub use overlay::write_overlay;
pub use reader::{Entry, Reader, Segment};
pub use repack::{RepackOptions, repack, repack_spooled};
pub use rewrite::{Output, Reason, RewriteOptions, Rewritten, SourceRead, read_source, rewrite};
pub use tree::{DataSource, Inode, Kept, Kind, Node, Tree};
pub use writer::NewcWriter;

/// Result type of the initrd module.
pub type Result<T> = std::result::Result<T, Error>;
