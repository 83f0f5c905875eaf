//! Writing one newc archive: headers, names and data with their padding, then the trailer.
//!
//! The writer writes exactly the fields it is given; inode numbers and link counts are the
//! caller's (the overlay and repack writers number inodes in output order, so the bytes depend on
//! nothing but the content). A hard-link group is written GNU cpio's way: every name carries the
//! same `ino` and `nlink`, only the last one carries the data, the others have size 0. The kernel
//! and GNU cpio both restore the group from that.
//!
//! `hadris-cpio`'s `Writer` (3.0.0-rc.2) is not used: besides its upper-case header digits (see
//! [`newc`]), it numbers inodes itself and ends an archive right after the trailer,
//! where GNU cpio and [`NewcWriter::finish`] pad it to a multiple of 512 bytes.

use std::io::{self, Read, Write};

use super::newc::{self, Header, TRAILER};

/// Writes entries of one newc archive to `W`.
pub struct NewcWriter<W: Write> {
    out: W,
    written: u64,
}

const ZEROS: [u8; 4] = [0; 4];

impl<W: Write> NewcWriter<W> {
    /// A writer starting a new archive on `out` (which should be at a 4-byte-aligned position
    /// of its stream).
    pub fn new(out: W) -> Self {
        NewcWriter { out, written: 0 }
    }

    /// Bytes written so far.
    pub fn written(&self) -> u64 {
        self.written
    }

    fn put(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.out.write_all(bytes)?;
        self.written += bytes.len() as u64;
        Ok(())
    }

    fn put_header(&mut self, header: &Header, name: &[u8], filesize: u64) -> io::Result<()> {
        if name.contains(&0) || name.is_empty() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!(
                    "cpio name {:?} is empty or holds a NUL byte",
                    super::show(name)
                ),
            ));
        }
        let namesize = u32::try_from(name.len() + 1)
            .ok()
            .filter(|&n| n <= newc::PATH_MAX)
            .ok_or_else(|| {
                io::Error::new(
                    io::ErrorKind::InvalidInput,
                    format!(
                        "cpio name {} is longer than {} bytes",
                        super::show(name),
                        newc::PATH_MAX - 1
                    ),
                )
            })?;
        let filesize = u32::try_from(filesize).map_err(|_| {
            io::Error::new(
                io::ErrorKind::InvalidInput,
                format!(
                    "{}: newc cannot store files of 4 GiB or more",
                    super::show(name)
                ),
            )
        })?;
        let mut h = *header;
        h.namesize = namesize;
        h.filesize = filesize;
        h.with_checksum = false;
        h.check = 0;
        self.put(&h.encode())?;
        self.put(name)?;
        self.put(&[0])?;
        let pad = newc::name_padding(namesize) as usize;
        self.put(&ZEROS[..pad])
    }

    /// Appends an entry whose data are the `len` bytes read from `data` (an error if `data`
    /// yields fewer or more bytes).
    pub fn append(
        &mut self,
        header: &Header,
        name: &[u8],
        len: u64,
        data: &mut dyn Read,
    ) -> io::Result<()> {
        self.put_header(header, name, len)?;
        let copied = io::copy(&mut data.take(len), &mut self.out)?;
        self.written += copied;
        if copied != len {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                format!(
                    "{}: {len} bytes announced, {copied} read",
                    super::show(name)
                ),
            ));
        }
        let mut probe = [0u8; 1];
        if data.read(&mut probe)? != 0 {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!(
                    "{}: more than the {len} bytes announced (file changed while read?)",
                    super::show(name)
                ),
            ));
        }
        let pad = newc::pad4(len) as usize;
        self.put(&ZEROS[..pad])
    }

    /// Appends an entry whose data are `data`.
    pub fn append_bytes(&mut self, header: &Header, name: &[u8], data: &[u8]) -> io::Result<()> {
        self.append(header, name, data.len() as u64, &mut &data[..])
    }

    /// Writes the `TRAILER!!!` entry, then zeros up to a multiple of 512 bytes as GNU cpio does
    /// (the kernel skips them; GNU cpio, which reads 512-byte blocks and stops at the trailer,
    /// can then be run again on the same input to read a following archive), and gives back the
    /// output.
    pub fn finish(mut self) -> io::Result<W> {
        let trailer = Header {
            nlink: 1,
            ..Header::default()
        };
        self.put_header(&trailer, TRAILER, 0)?;
        let pad = ((512 - self.written % 512) % 512) as usize;
        self.put(&[0u8; 512][..pad])?;
        Ok(self.out)
    }
}
