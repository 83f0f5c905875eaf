//! ISO 9660 images: reading a source without mounting it, editing its tree,
//! and writing a reproducible hybrid image (El Torito BIOS + UEFI entries,
//! isohybrid MBR/GPT). A thin adapter over `hadris-iso`.

mod device;
mod edit;
mod error;
mod fresh;
pub(crate) mod hybrid;
mod kernel_copy;
mod output;
mod prewrite;
mod source;
mod writer;

pub use device::SECTOR;
pub use edit::{NewContent, Span, node_attrs};
pub use error::{Error, Result};
pub use fresh::write_fresh;
pub use kernel_copy::{DataCopy, STREAM_COPY_VAR};
pub use output::{Existing, NO_TMPFILE_VAR};
pub use prewrite::Prewrite;
pub use source::{
    BootEntryInfo, BootPlatform, DetachedReader, ExtentReader, SYSTEM_AREA, SourceIso, data_bytes,
    files, walk,
};
pub use writer::{WriteOptions, WriteReport, apply_hybrid, write, write_if, write_with};
