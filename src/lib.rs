//! isoremix: remaster XCP-ng installer ISOs without root.

pub mod boot;
pub mod clock;
pub mod iso;
pub mod kmod;
pub mod profile;
pub mod progress;
pub mod repo;
pub mod rpm;
pub mod treeinfo;
