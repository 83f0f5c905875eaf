//! The sample's install.img: a small installer root filesystem, as the real
//! one is a newc cpio archive compressed with bzip2.

use crate::initrd::compression::{Compression, Encoder};
use crate::initrd::newc::{Header, S_IFDIR, S_IFLNK, S_IFREG};
use crate::initrd::writer::NewcWriter;

use super::{Error, build_err};

/// The kernel version the sample's installer root claims.
pub const KERNEL_VERSION: &str = "4.19.0+1";

/// The `/init` of the sample: says what it is and stops.
const INIT: &str = "#!/bin/sh\n\
# isoremix sample installer root: a placeholder for XCP-ng's installer.\n\
echo 'isoremix sample install.img: not a real installer'\n\
exec /bin/sh\n";

enum Kind {
    Dir,
    File(&'static [u8], u32),
    Link(&'static str),
}

fn entries() -> Vec<(String, Kind)> {
    let k = KERNEL_VERSION;
    let mut v: Vec<(String, Kind)> = vec![
        ("bin".into(), Kind::Dir),
        ("bin/sh".into(), Kind::Link("busybox")),
        (
            "bin/busybox".into(),
            Kind::File(b"isoremix sample placeholder: not a real busybox\n", 0o755),
        ),
        ("dev".into(), Kind::Dir),
        ("etc".into(), Kind::Dir),
        (
            "etc/hostname".into(),
            Kind::File(b"xcp-ng-installer\n", 0o644),
        ),
        (
            "etc/motd".into(),
            Kind::File(b"XCP-ng installer (isoremix sample)\n", 0o644),
        ),
        ("etc/modprobe.d".into(), Kind::Dir),
        ("etc/depmod.d".into(), Kind::Dir),
        (
            "etc/depmod.d/dist.conf".into(),
            Kind::File(b"search updates extra built-in weak-updates\n", 0o644),
        ),
        ("init".into(), Kind::File(INIT.as_bytes(), 0o755)),
        ("lib".into(), Kind::Dir),
        ("lib/modules".into(), Kind::Dir),
        ("opt".into(), Kind::Dir),
        ("opt/xensource".into(), Kind::Dir),
        ("opt/xensource/installer".into(), Kind::Dir),
        (
            "opt/xensource/installer/version.py".into(),
            Kind::File(
                b"# isoremix sample\nPRODUCT_BRAND = 'XCP-ng'\nPRODUCT_VERSION = '8.3.0'\n",
                0o644,
            ),
        ),
        (
            "opt/xensource/installer/constants.py".into(),
            Kind::File(
                b"# isoremix sample\nANSWERFILE_PATH = '/tmp/answerfile'\nDEFAULT_TIMEOUT = 30\n",
                0o644,
            ),
        ),
        ("proc".into(), Kind::Dir),
        ("sys".into(), Kind::Dir),
        ("tmp".into(), Kind::Dir),
        ("usr".into(), Kind::Dir),
    ];
    v.push((format!("lib/modules/{k}"), Kind::Dir));
    v.push((format!("lib/modules/{k}/kernel"), Kind::Dir));
    v.push((format!("lib/modules/{k}/updates"), Kind::Dir));
    v.push((
        format!("lib/modules/{k}/modules.order"),
        Kind::File(b"", 0o644),
    ));
    v.push((
        format!("lib/modules/{k}/modules.builtin"),
        Kind::File(b"", 0o644),
    ));
    v
}

/// The bzip2-compressed newc archive.
pub fn install_img(time: i64) -> Result<Vec<u8>, Error> {
    let encoder = Encoder::new(Compression::Bzip2, Vec::new()).map_err(build_err)?;
    let mut w = NewcWriter::new(encoder);
    let mtime = u32::try_from(time).unwrap_or(0);
    for (ino, (name, kind)) in entries().into_iter().enumerate() {
        let mut h = Header {
            ino: ino as u32 + 1,
            nlink: 1,
            mtime,
            ..Header::default()
        };
        match kind {
            Kind::Dir => {
                h.mode = S_IFDIR | 0o755;
                h.nlink = 2;
                w.append_bytes(&h, name.as_bytes(), &[])
            }
            Kind::File(data, mode) => {
                h.mode = S_IFREG | mode;
                w.append_bytes(&h, name.as_bytes(), data)
            }
            Kind::Link(target) => {
                h.mode = S_IFLNK | 0o777;
                w.append_bytes(&h, name.as_bytes(), target.as_bytes())
            }
        }
        .map_err(build_err)?;
    }
    let encoder = w.finish().map_err(build_err)?;
    encoder.finish().map_err(build_err)
}
