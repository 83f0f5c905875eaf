//! Errors of the ISO layer.

use std::path::PathBuf;

/// What went wrong reading or writing an ISO image.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The image file could not be opened, read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The image is not an ISO 9660 image or is damaged.
    #[error("{path}: not a readable ISO 9660 image: {detail}")]
    NotIso {
        /// The file.
        path: PathBuf,
        /// What the reader said.
        detail: String,
    },
    /// The image has no El Torito boot catalog, or one isoremix cannot use.
    #[error("{path}: {detail}")]
    Boot {
        /// The file.
        path: PathBuf,
        /// What is missing or wrong.
        detail: String,
    },
    /// A path inside the image does not exist or is not what it must be.
    #[error("{path}: {entry}: {detail}")]
    Entry {
        /// The image file.
        path: PathBuf,
        /// The path inside the image.
        entry: String,
        /// What is wrong.
        detail: String,
    },
    /// The output file exists and was not to be replaced.
    #[error("{path}: already exists; pass --force to replace it")]
    Exists {
        /// The output file.
        path: PathBuf,
    },
    /// Writing the new image failed.
    #[error("writing {path}: {detail}")]
    Write {
        /// The output file.
        path: PathBuf,
        /// What the writer said.
        detail: String,
    },
}

/// Result of the ISO layer.
pub type Result<T, E = Error> = std::result::Result<T, E>;
