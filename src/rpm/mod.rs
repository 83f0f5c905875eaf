//! RPM packages: building them deterministically, rewriting a meta-package as a new release,
//! signing, and rpm's version ordering.
//!
//! - [`build`] makes a package from plain data ([`build::PackageSpec`]).
//! - [`rewrite`] reads an existing package as a stream and writes a new release of it with more
//!   `Requires`, keeping the payload byte for byte.
//! - [`sign`] signs a package as `rpmsign` 4.11 does (header and header+payload signatures by
//!   the primary key), makes detached armored signatures and exports the public key.
//! - [`verify`] checks digests and judges signatures as rpm 4.11 does.
//! - [`evr`] compares versions the way rpm does.
//! - [`payload`] chooses the payload compression, writes cpio members and makes deterministic
//!   filler content; [`padding`] streams large filler packages for size benchmarks.
//! - [`index`] is the on-disk header structure (index entries and data store), [`lead`] the
//!   96-byte lead and [`container`] the sequence lead / signature header / main header / payload,
//!   shared by the rewriting and signing code.
//!
//! Entry points for the pipeline: [`build::build_package`], [`padding::build_padding_package`],
//! [`build::kernel_module_spec`], [`rewrite::rewrite_package`], [`sign::SigningKey`] with
//! [`sign::sign_package`], [`sign::SigningKey::detached_signature`] and
//! [`sign::SigningKey::public_key_armored`], and [`Evr`] / [`Nevra`] for version ordering.

pub mod build;
pub mod container;
pub mod error;
pub mod evr;
pub mod header;
pub mod index;
pub mod lead;
pub mod padding;
pub mod payload;
pub mod rewrite;
pub mod sign;
pub mod verify;

pub use error::Error;
pub use evr::{Evr, Nevra};
pub use verify::{
    PublicKey, SignatureVerdict, check_digests, public_keys_from_armored, verify_detached,
    verify_package,
};
