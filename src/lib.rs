//! isoremix: remaster XCP-ng installer ISOs without root.
pub mod answerfile;
pub mod initrd;
pub mod patch;
