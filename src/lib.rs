//! isoremix: remaster XCP-ng installer ISOs without root.

pub mod answerfile;
pub mod boot;
pub mod clock;
pub mod initrd;
pub mod iso;
pub mod kmod;
pub mod patch;
pub mod profile;
pub mod progress;
pub mod repo;
pub mod rpm;
pub mod treeinfo;
