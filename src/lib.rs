//! isoremix: remaster XCP-ng installer ISOs without root.
pub mod rpm;
