//! install.img: the installer's root filesystem, a sequence of newc cpio archives, each either
//! uncompressed or inside its own compressed stream (bzip2, gzip, xz, zstd), separated by zero padding.
//!
//! The public face:
//! - [`rewrite()`]: the one call a build makes: image and [`Edits`] in, new image and the
//!   [`Reason`] for its strategy out (an appended archive, [`write_overlay`]; the source's
//!   bzip2 blocks kept around re-encoded ones, as [`Piece`]s of the source and new bytes; or
//!   one new archive, [`repack()`]);
//! - [`Reader`]: a streaming reader over the whole sequence, yielding [`Entry`]s and
//!   [`Segment`] boundaries; [`Tree`]: the merged view with the Linux kernel's shadowing rules;
//! - [`NewcWriter`] with [`NewcHeader`]: the newc archive builder; [`compress`] and
//!   [`Compression`]: the segment compressions;
//! - [`extract()`]: a safe unpack of the merged tree into a directory;
//! - [`index_cache`]: where every entry and bzip2 block of an image lies, cached between builds.
//!
//! Inside, one file per concept: the newc header, block-parallel bzip2 decoding, compression
//! detection, the tree, the edits, the overlay, splice and re-pack writers and the index.
//!
//! Reading decodes each bzip2 segment block-parallel ([`ParallelBzDecoder`], its threads
//! capped). A build needs at most one decompression of the image ([`rewrite()`]): the contents
//! the patches need are kept while the tree is read
//! ([`patch_targets`], then [`prepare_kept`]), a re-pack takes its data from a spool of the
//! decompressed data ([`repack_spooled`]), and a splice decodes only the blocks it changes
//! (none at all to read the tree when the image's index is cached).
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
//!     // A splice needs the image's block index, which `rewrite` makes; done by hand, re-pack.
//!     Strategy::Repack | Strategy::Splice => {
//!         let out = BufWriter::new(File::create("install.new.img")?);
//!         let image = File::open("install.img")?;
//!         initrd::repack(image, &tree, Some(&changes), &RepackOptions::default(), out)?;
//!     }
//! }
//! # Ok(())
//! # }
//! ```

mod bits;
pub(crate) mod bzip2_blocks;
pub(crate) mod compression;
pub(crate) mod edits;
mod error;
pub(crate) mod extract;
pub(crate) mod image_digest;
pub(crate) mod index;
pub mod index_cache;
pub(crate) mod newc;
pub(crate) mod overlay;
mod pieces;
pub(crate) mod reader;
pub(crate) mod repack;
pub(crate) mod rewrite;
mod selector_pad;
pub(crate) mod splice;
pub(crate) mod tree;
pub(crate) mod writer;

/// A bzip2 stream decoded block-parallel on several threads, as [`Reader`] does.
pub use bzip2_blocks::{MAX_BLOCK_THREADS, ParallelBzDecoder};
pub use compression::{Compression, compress};
pub use edits::{
    Changes, Content, Edits, PutEntry, PutKind, Strategy, patch_targets, plan, prepare,
    prepare_kept,
};
pub use error::{Error, Location, show};
pub use extract::{ExtractReport, extract};
/// One newc (`070701`) member header, as [`NewcWriter`] writes it.
pub use newc::Header as NewcHeader;
/// File-type bits of a newc header's `mode`.
pub use newc::{S_IFDIR, S_IFLNK, S_IFMT, S_IFREG};
pub use overlay::write_overlay;
pub use pieces::{Piece, write_pieces};
pub use reader::{Entry, Reader, Segment};
pub use repack::{MAX_REPACK_THREADS, RepackOptions, repack, repack_spooled};
pub use rewrite::{
    Output, PendingCheck, Reason, RewriteOptions, Rewritten, SourceRead, read_source, rewrite,
};
pub use tree::{DataSource, Inode, Kept, Kind, Node, Tree};
pub use writer::NewcWriter;

/// Result type of the initrd module.
pub type Result<T> = std::result::Result<T, Error>;
