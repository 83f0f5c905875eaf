//! isoremix: remaster XCP-ng installer ISOs without root.

pub mod repo;
pub mod rpm;
pub mod treeinfo;
