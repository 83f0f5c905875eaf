//! Copying a session's stored file data to the output without reading it
//! into the writer's buffer.

/// A copier of stored file data from a session's device to the output
/// device, for [`Session::export_copying`](crate::sync::Session::export_copying):
/// for example `copy_file_range(2)` between two host files, which the kernel
/// may turn into shared extents on filesystems that can clone.
///
/// The writer offers it each run of whole sectors of an unchanged file that
/// lies in one stored extent and that the writer does not patch (boot images
/// with a boot information table are always read). The bytes it declines,
/// and a file's last partial sector, are read and written by the writer as
/// usual, so the image is the same with or without a copier.
pub trait StoredCopy {
    /// The device error a failed copy carries.
    type Error: core::error::Error + Send + Sync + 'static;

    /// Copies up to `len` bytes, a multiple of 2048, from byte `from` of the
    /// session's device to byte `to` of the output device, and returns how
    /// many it copied: a multiple of 2048 no larger than `len`. `Ok(0)`
    /// declines, and the writer then streams those bytes itself.
    ///
    /// An error fails the write (a copier that can fall back declines
    /// instead). A count that is not whole sectors, or larger than `len`,
    /// fails it as corrupt.
    fn copy_stored(
        &mut self,
        from: u64,
        to: u64,
        len: u64,
    ) -> Result<u64, hadris_fs::Error<Self::Error>>;
}

/// No copier: the writer streams every byte. The copier type of
/// [`Session::export`](crate::sync::Session::export).
#[derive(Debug)]
pub enum NoCopy {}

impl StoredCopy for NoCopy {
    type Error = core::convert::Infallible;

    fn copy_stored(
        &mut self,
        _: u64,
        _: u64,
        _: u64,
    ) -> Result<u64, hadris_fs::Error<Self::Error>> {
        match *self {}
    }
}
