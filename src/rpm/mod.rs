//! RPM packages: building them deterministically, rewriting a meta-package as a new release,
//! signing, and rpm's version ordering.
//!
//! - [`build`] makes a package from plain data ([`build::PackageSpec`]).
//! - [`rewrite`] reads an existing package as a stream and writes a new release of it with more
//!   `Requires`, keeping the payload byte for byte.
//! - [`sign`] adds OpenPGP header signatures to a package, makes detached armored signatures and
//!   exports the public key.
//! - [`evr`] compares versions the way rpm does.
//! - [`payload`] chooses the payload compression and makes deterministic filler content.
//! - [`index`] is the on-disk header structure (index entries and data store) shared by the
//!   rewriting and signing code.

pub mod build;
pub mod container;
pub mod error;
pub mod header;
pub mod evr;
pub mod index;
pub mod lead;
pub mod payload;
pub mod rewrite;
pub mod sign;

pub use error::Error;
pub use evr::{Evr, Nevra};
