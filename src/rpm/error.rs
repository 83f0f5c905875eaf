//! Errors of the RPM layer.

use std::io;

/// What went wrong while building, reading, rewriting or signing an RPM.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Reading or writing a stream failed.
    #[error("I/O error while {context}: {source}")]
    Io {
        /// What was being read or written.
        context: &'static str,
        /// The underlying error.
        #[source]
        source: io::Error,
    },
    /// The input does not start with the RPM lead magic.
    #[error("not an RPM package: the lead magic is {found:02x?}, expected ed ab ee db")]
    NotAnRpm {
        /// The first bytes found.
        found: [u8; 4],
    },
    /// The input ended inside the named part of the package.
    #[error("truncated RPM: the input ends inside the {part}")]
    Truncated {
        /// Which part: lead, signature header, main header.
        part: &'static str,
    },
    /// A header structure is inconsistent.
    #[error("malformed {part}: {reason}")]
    MalformedHeader {
        /// Which header: signature or main.
        part: &'static str,
        /// What is wrong with it.
        reason: String,
    },
    /// A digest recorded in the package does not match its content: the package is corrupt or
    /// was tampered with.
    #[error(
        "{part} {digest} digest mismatch: the package records {expected}, the content hashes to {actual}"
    )]
    DigestMismatch {
        /// What the digest covers: "main header", "header and payload" or "payload".
        part: &'static str,
        /// Which digest: "SHA-256", "SHA-1", "MD5"...
        digest: &'static str,
        /// The recorded digest (hex).
        expected: String,
        /// The digest of the content (hex).
        actual: String,
    },
    /// A header lacks a tag the operation needs.
    #[error("the {part} has no tag {tag} ({what})")]
    MissingTag {
        /// Which header.
        part: &'static str,
        /// The tag number.
        tag: u32,
        /// The tag's meaning.
        what: &'static str,
    },
    /// A field holds a value rpm does not accept.
    #[error("invalid {field} {value:?}: {reason}")]
    InvalidField {
        /// The field: name, version, release, dependency name, file path...
        field: &'static str,
        /// The offending value.
        value: String,
        /// Why it is refused.
        reason: &'static str,
    },
    /// Two files (or a file and a directory) of a package have the same path.
    #[error("duplicate path {path:?} in package")]
    DuplicatePath {
        /// The path given twice.
        path: String,
    },
    /// The `rpm` crate refused to build the package.
    #[error("building package {name}: {source}")]
    Build {
        /// The package name.
        name: String,
        /// The crate's error.
        #[source]
        source: ::rpm::Error,
    },
    /// The signing key could not be loaded (bad armor, unsupported algorithm, wrong passphrase).
    #[error("loading the signing key: {reason}")]
    Key {
        /// What went wrong.
        reason: String,
    },
    /// Producing a signature failed.
    #[error("signing {what}: {reason}")]
    Sign {
        /// What was being signed.
        what: &'static str,
        /// What went wrong.
        reason: String,
    },
}

impl Error {
    /// Wraps an I/O error with what was being done.
    pub(crate) fn io(context: &'static str) -> impl FnOnce(io::Error) -> Error {
        move |source| Error::Io { context, source }
    }
}
