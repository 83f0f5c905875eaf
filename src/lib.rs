//! isoremix: remaster XCP-ng installer ISOs without root.
//!
//! The library does all the work; the `isoremix` binary only parses the
//! command line and prints. Format modules (`iso`, and the layers beside
//! it) know nothing of profiles; `remaster` is the pipeline that reads a
//! [`profile::Profile`] and drives them.

pub mod clock;
pub mod iso;
pub mod profile;
pub mod progress;
