//! Filling a buffer from a reader that may hand out less than asked at a time.

use std::io::{self, Read};

/// Reads until `buf` is full or the input ends; returns how many bytes were read.
pub(crate) fn read_fully(input: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut got = 0;
    while got < buf.len() {
        match input.read(&mut buf[got..]) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(got)
}
