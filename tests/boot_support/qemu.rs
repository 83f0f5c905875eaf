//! One boot of an ISO in qemu (TCG, no KVM needed), with the serial console as the only I/O.
//!
//! The serial port is qemu's stdio (and a log file): the harness reads what the guest prints, and
//! when the boot menu appears it types the keys that choose the entry, as a person at a serial
//! console would. Every run has a time limit after which qemu is killed.

use std::fmt;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::serial_log::{Ending, SerialLog};
use super::source_iso::{DIRECT_ENTRY, GRUB_ECHO_EFIBOOT, GRUB_ECHO_ISO, XEN_ENTRY};
use super::tools::{self, copy, mkdir, run};

/// The default time limit of one boot; `ISOREMIX_BOOT_TIMEOUT` (seconds) overrides it.
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(180);
/// Guest memory: enough for Xen plus a dom0 running from the initrd.
const MEMORY_MIB: &str = "1024";

/// How the ISO reaches the firmware.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// SeaBIOS, the ISO as a CD: El Torito BIOS entry, isolinux.
    BiosCd,
    /// SeaBIOS, the ISO as a hard disk: the isohybrid MBR, then isolinux.
    BiosDisk,
    /// OVMF, the ISO as a CD: El Torito EFI entry (efiboot.img), GRUB reads the ISO's grub.cfg.
    UefiCd,
    /// OVMF, the ISO as a hard disk (OVMF still takes the El Torito EFI entry).
    UefiDisk,
    /// OVMF booting the ISO's El Torito EFI image as its own FAT disk, the ISO attached as a CD:
    /// as firmware that exposes the El Torito image as the boot device, GRUB then reads the copy of
    /// grub.cfg inside efiboot.img.
    UefiEsp,
}

impl Mode {
    /// Every mode, in the order the matrix boots them.
    pub const ALL: [Mode; 5] = [
        Mode::BiosCd,
        Mode::BiosDisk,
        Mode::UefiCd,
        Mode::UefiDisk,
        Mode::UefiEsp,
    ];

    /// Whether the firmware is OVMF (so the boot loader is GRUB).
    pub fn is_uefi(self) -> bool {
        !matches!(self, Mode::BiosCd | Mode::BiosDisk)
    }

    /// The echo of the GRUB config this mode must run (see [`SerialLog::grub_config_echo`]).
    pub fn expected_grub_echo(self) -> Option<&'static str> {
        match self {
            Mode::BiosCd | Mode::BiosDisk => None,
            Mode::UefiCd | Mode::UefiDisk => Some(GRUB_ECHO_ISO),
            Mode::UefiEsp => Some(GRUB_ECHO_EFIBOOT),
        }
    }

    fn slug(self) -> &'static str {
        match self {
            Mode::BiosCd => "bios-cd",
            Mode::BiosDisk => "bios-disk",
            Mode::UefiCd => "uefi-cd",
            Mode::UefiDisk => "uefi-disk",
            Mode::UefiEsp => "uefi-esp",
        }
    }
}

impl fmt::Display for Mode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.slug())
    }
}

/// Which menu entry to boot.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Entry {
    /// Xen with the kernel as dom0 (`mboot.c32` / `multiboot2`).
    Xen,
    /// The kernel alone (`KERNEL /boot/vmlinuz` / `linux`).
    Direct,
}

impl Entry {
    /// Both entries.
    pub const ALL: [Entry; 2] = [Entry::Xen, Entry::Direct];

    /// The entry's isolinux label and GRUB menuentry title.
    pub fn name(self) -> &'static str {
        match self {
            Entry::Xen => XEN_ENTRY,
            Entry::Direct => DIRECT_ENTRY,
        }
    }

    /// Keys that choose the entry in GRUB's menu: `v` moves down (like the down arrow), Enter boots.
    fn grub_keys(self) -> &'static [u8] {
        match self {
            Entry::Xen => b"\r",
            Entry::Direct => b"v\r",
        }
    }
}

impl fmt::Display for Entry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(match self {
            Entry::Xen => "xen",
            Entry::Direct => "direct",
        })
    }
}

/// What the harness waits for before typing, per boot loader.
const ISOLINUX_PROMPT: &str = "boot:";
const GRUB_MENU: &str = "Press enter to boot the selected OS";

/// The time limit of one boot.
pub fn timeout() -> Duration {
    std::env::var("ISOREMIX_BOOT_TIMEOUT")
        .ok()
        .and_then(|s| s.parse::<u64>().ok())
        .map(Duration::from_secs)
        .unwrap_or(DEFAULT_TIMEOUT)
}

/// Boots `iso` in `mode` through `entry` and returns the serial console output.
///
/// Scratch files (serial log, OVMF variables, the extracted EFI image) go to a folder next to the
/// ISO named after it, the mode and the entry. Panics only when qemu cannot be started; a guest
/// that fails to boot shows in the returned log.
pub fn boot(iso: &Path, mode: Mode, entry: Entry) -> SerialLog {
    let stem = iso
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let dir = iso
        .parent()
        .unwrap_or(Path::new("."))
        .join(format!("{stem}-boots"))
        .join(format!("{mode}-{entry}"));
    if dir.exists() {
        std::fs::remove_dir_all(&dir).ok();
    }
    mkdir(&dir);
    let log_path = dir.join("serial.log");

    let mut command = Command::new("qemu-system-x86_64");
    command
        .args(["-accel", "tcg", "-m", MEMORY_MIB, "-smp", "1"])
        .args(["-nodefaults", "-display", "none", "-no-reboot"])
        .arg("-chardev")
        .arg(format!(
            "stdio,id=serial0,signal=off,logfile={}",
            log_path.display()
        ))
        .args(["-serial", "chardev:serial0"]);
    if mode.is_uefi() {
        let vars = dir.join("OVMF_VARS.fd");
        copy(Path::new(tools::OVMF_VARS), &vars);
        command
            .args(["-machine", "q35"])
            .arg("-drive")
            .arg(format!(
                "if=pflash,format=raw,unit=0,readonly=on,file={}",
                tools::OVMF_CODE
            ))
            .arg("-drive")
            .arg(format!(
                "if=pflash,format=raw,unit=1,file={}",
                vars.display()
            ));
    }
    let iso_arg = iso.display();
    match mode {
        Mode::BiosCd | Mode::UefiCd => {
            command
                .arg("-drive")
                .arg(format!("file={iso_arg},format=raw,media=cdrom,readonly=on"));
        }
        Mode::BiosDisk | Mode::UefiDisk => {
            command
                .arg("-drive")
                .arg(format!("file={iso_arg},format=raw,snapshot=on"));
        }
        Mode::UefiEsp => {
            let esp = extract_efi_boot_image(iso, &dir);
            command
                .arg("-drive")
                .arg(format!(
                    "file={},format=raw,if=none,id=esp,snapshot=on",
                    esp.display()
                ))
                .args(["-device", "virtio-blk-pci,drive=esp,bootindex=0"])
                .arg("-drive")
                .arg(format!(
                    "file={iso_arg},format=raw,if=none,id=cd,media=cdrom,readonly=on"
                ))
                .args(["-device", "ide-cd,drive=cd,bus=ide.1,bootindex=1"]);
        }
    }
    let line = tools::describe(&command);
    tools::write(&dir.join("qemu-command"), format!("{line}\n"));

    let started = Instant::now();
    let mut child = command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start `{line}`: {e}"));
    let output = Arc::new(Mutex::new(Vec::new()));
    let reader = spawn_reader(&mut child, Arc::clone(&output));
    let (ending, menu_answered) = drive(&mut child, &output, mode, entry, started);
    let elapsed = started.elapsed();
    reader.join().ok();
    let mut stderr = String::new();
    if let Some(mut pipe) = child.stderr.take() {
        pipe.read_to_string(&mut stderr).ok();
    }
    let mut raw = std::mem::take(&mut *output.lock().unwrap_or_else(|p| p.into_inner()));
    if !stderr.trim().is_empty() {
        raw.extend_from_slice(format!("\n[qemu stderr]\n{stderr}").as_bytes());
    }
    SerialLog {
        raw,
        path: log_path,
        elapsed,
        ending,
        menu_answered,
    }
}

/// Copies qemu's stdout (the serial port) into `output` until qemu closes it.
fn spawn_reader(child: &mut Child, output: Arc<Mutex<Vec<u8>>>) -> std::thread::JoinHandle<()> {
    let mut stdout = child.stdout.take().expect("stdout was piped");
    std::thread::spawn(move || {
        let mut buffer = [0u8; 4096];
        loop {
            match stdout.read(&mut buffer) {
                Ok(0) | Err(_) => break,
                Ok(n) => output
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .extend_from_slice(&buffer[..n]),
            }
        }
    })
}

/// Waits for the menu, types the entry's keys, then waits for qemu to exit or the time limit.
fn drive(
    child: &mut Child,
    output: &Mutex<Vec<u8>>,
    mode: Mode,
    entry: Entry,
    started: Instant,
) -> (Ending, bool) {
    let limit = timeout();
    let mut stdin = child.stdin.take();
    let mut answered = false;
    loop {
        match child.try_wait() {
            Ok(Some(status)) => return (Ending::Exited(status.code()), answered),
            Ok(None) => {}
            Err(e) => panic!("cannot wait for qemu: {e}"),
        }
        if started.elapsed() > limit {
            child.kill().ok();
            child.wait().ok();
            return (Ending::TimedOut, answered);
        }
        if !answered {
            let seen = String::from_utf8_lossy(&output.lock().unwrap_or_else(|p| p.into_inner()))
                .into_owned();
            let keys: Option<Vec<u8>> = if mode.is_uefi() {
                seen.contains(GRUB_MENU).then(|| entry.grub_keys().to_vec())
            } else {
                seen.contains(ISOLINUX_PROMPT)
                    .then(|| format!("{}\r", entry.name()).into_bytes())
            };
            if let (Some(keys), Some(pipe)) = (keys, stdin.as_mut()) {
                // Let the loader finish drawing and start polling the keyboard, then type slowly:
                // a UART has a small receive buffer and loaders poll it.
                std::thread::sleep(Duration::from_millis(500));
                for key in keys {
                    pipe.write_all(&[key]).ok();
                    pipe.flush().ok();
                    std::thread::sleep(Duration::from_millis(200));
                }
                answered = true;
            }
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// The El Torito EFI boot image of `iso` as the firmware sees it (xorriso extracts it from the
/// boot catalog, not from the file tree), written into `dir`.
fn extract_efi_boot_image(iso: &Path, dir: &Path) -> PathBuf {
    let out = dir.join("eltorito");
    mkdir(&out);
    run(Command::new("xorriso")
        .args(["-osirrox", "on", "-indev"])
        .arg(iso)
        .arg("-extract_boot_images")
        .arg(format!("{}/", out.display())));
    let found = std::fs::read_dir(&out)
        .unwrap_or_else(|e| panic!("cannot list {}: {e}", out.display()))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .find(|p| {
            p.file_name()
                .is_some_and(|n| n.to_string_lossy().ends_with("_uefi.img"))
        });
    found.unwrap_or_else(|| panic!("{} has no El Torito EFI boot image", iso.display()))
}
