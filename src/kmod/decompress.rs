//! Decompression of `.ko.xz`, `.ko.zst` and `.ko.gz` modules.
//!
//! As libkmod does, the format is chosen by the magic bytes of the data, not
//! by the file name; data with no known magic is taken as it is.

use std::borrow::Cow;
use std::io::Read;

use super::Error;

/// Largest decompressed module accepted (a guard against decompression bombs;
/// the largest modules of a distribution kernel are a few tens of MiB).
pub const MAX_MODULE_SIZE: u64 = 512 * 1024 * 1024;

const MAGIC_ZSTD: &[u8] = &[0x28, 0xB5, 0x2F, 0xFD];
const MAGIC_XZ: &[u8] = &[0xFD, b'7', b'z', b'X', b'Z', 0];
const MAGIC_GZIP: &[u8] = &[0x1F, 0x8B];

/// Returns the module's ELF bytes: `data` itself, or its decompressed content.
pub fn decompress<'a>(path: &str, data: &'a [u8]) -> Result<Cow<'a, [u8]>, Error> {
    decompress_limited(path, data, MAX_MODULE_SIZE)
}

/// [`decompress`] with an explicit output limit in bytes.
fn decompress_limited<'a>(path: &str, data: &'a [u8], limit: u64) -> Result<Cow<'a, [u8]>, Error> {
    if data.starts_with(MAGIC_ZSTD) {
        let decoder =
            zstd::stream::read::Decoder::new(data).map_err(|source| Error::Decompress {
                path: path.to_string(),
                format: "zstd",
                source,
            })?;
        read_bounded(path, "zstd", decoder, limit).map(Cow::Owned)
    } else if data.starts_with(MAGIC_XZ) {
        read_bounded(path, "xz", liblzma::read::XzDecoder::new(data), limit).map(Cow::Owned)
    } else if data.starts_with(MAGIC_GZIP) {
        read_bounded(path, "gzip", flate2::read::GzDecoder::new(data), limit).map(Cow::Owned)
    } else {
        Ok(Cow::Borrowed(data))
    }
}

fn read_bounded(
    path: &str,
    format: &'static str,
    reader: impl Read,
    limit: u64,
) -> Result<Vec<u8>, Error> {
    let mut out = Vec::new();
    reader
        .take(limit + 1)
        .read_to_end(&mut out)
        .map_err(|source| Error::Decompress {
            path: path.to_string(),
            format,
            source,
        })?;
    if out.len() as u64 > limit {
        return Err(Error::TooLarge {
            path: path.to_string(),
            limit,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::*;

    #[test]
    fn bombs_stop_at_the_limit() {
        let zeros = vec![0u8; 1 << 20];
        let zst = zstd::encode_all(&zeros[..], 3).unwrap();
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(&zeros).unwrap();
        let gz = gz.finish().unwrap();
        for data in [zst, gz] {
            let err = decompress_limited("kernel/bomb.ko", &data, 4096).unwrap_err();
            assert!(
                matches!(err, Error::TooLarge { limit: 4096, .. }),
                "{err:?}"
            );
            assert_eq!(
                decompress_limited("kernel/bomb.ko", &data, 1 << 20)
                    .unwrap()
                    .len(),
                1 << 20
            );
        }
    }

    #[test]
    fn unknown_magic_is_taken_as_is() {
        assert!(matches!(
            decompress("kernel/x.ko", b"\x7fELF"),
            Ok(Cow::Borrowed(_))
        ));
    }
}
