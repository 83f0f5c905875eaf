//! Boot-menu edits on the real XCP-ng 8.3 configs: one edit changes the same entry in every
//! config (isolinux.cfg, grub.cfg, the efiboot.img copy of grub.cfg) and nothing else; untouched
//! lines keep their bytes; parse + render without edits gives the input back.

mod common;

use common::bootcfg::{GRUB, ISOLINUX, config, efiboot_grub, iso_configs, strings};
use isoremix::boot::ArgEdits;
use isoremix::boot::{BootEdits, ConfigFile, ConfigKind, EntryEdits, NewEntry, apply};

fn configs() -> Vec<ConfigFile> {
    iso_configs(efiboot_grub().into_bytes())
}

/// `grub-script-check` (grub-common), GRUB's own parser, must accept an edited GRUB config.
fn grub_script_check(bytes: &[u8]) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("grub.cfg");
    std::fs::write(&path, bytes).unwrap();
    let prog = ["/usr/bin/grub-script-check", "/usr/sbin/grub-script-check"]
        .into_iter()
        .find(|p| std::path::Path::new(p).is_file())
        .expect("referee `grub-script-check` not found: install the Debian package `grub-common`");
    let out = std::process::Command::new(prog)
        .arg(&path)
        .output()
        .expect("cannot run grub-script-check");
    assert!(
        out.status.success(),
        "grub-script-check rejects:\n{}\n{}",
        String::from_utf8_lossy(bytes),
        String::from_utf8_lossy(&out.stderr)
    );
}

fn text(c: &ConfigFile) -> String {
    String::from_utf8(c.bytes.clone()).unwrap()
}

/// Each config's dom0 command lines after `edits`, with the config's name.
fn dom0_lines_after(edits: &BootEdits) -> Vec<(String, Vec<String>)> {
    let mut c = configs();
    apply(edits, &mut c).unwrap();
    c.iter()
        .map(|config| {
            (
                config.name.clone(),
                common::bootcfg::dom0_lines(&text(config)),
            )
        })
        .collect()
}

/// Lines that differ between before and after (same line count required), as (index, after).
fn changed_lines(before: &str, after: &str) -> Vec<(usize, String)> {
    let b: Vec<&str> = before.split('\n').collect();
    let a: Vec<&str> = after.split('\n').collect();
    assert_eq!(a.len(), b.len(), "line count changed:\n{after}");
    b.iter()
        .zip(&a)
        .enumerate()
        .filter(|(_, (x, y))| x != y)
        .map(|(i, (_, y))| (i, y.to_string()))
        .collect()
}

#[test]
fn no_edits_keep_every_byte() {
    let mut c = configs();
    let before = c.clone();
    let report = apply(&BootEdits::default(), &mut c).unwrap();
    assert_eq!(c, before);
    assert!(report.files.iter().all(|f| !f.changed));
}

#[test]
fn editing_one_entry_changes_it_in_every_config_and_nowhere_else() {
    let edits = BootEdits {
        entries: Some(strings(&["multipath"])),
        edits: EntryEdits {
            xen_args: ArgEdits {
                set: strings(&["dom0_mem=max:16384M"]),
                add: vec![],
                remove: strings(&["com1"]),
            },
            dom0_args: ArgEdits {
                set: strings(&["console=tty0"]),
                add: strings(&["nomodeset"]),
                remove: strings(&["console=hvc0"]),
            },
        },
        ..Default::default()
    };
    let mut c = configs();
    let before = configs();
    let report = apply(&edits, &mut c).unwrap();
    assert!(report.files.iter().all(|f| f.changed));

    let iso = changed_lines(&text(&before[0]), &text(&c[0]));
    assert_eq!(
        iso,
        vec![(
            19,
            "\tAPPEND /boot/xen.gz dom0_max_vcpus=1-16 dom0_mem=max:16384M console=com1,vga --- \
             /boot/vmlinuz console=tty0 device_mapper_multipath=enabled nomodeset --- /install.img"
                .to_string()
        )]
    );
    let xen =
        "    multiboot2 /boot/xen.gz dom0_max_vcpus=1-16 dom0_mem=max:16384M console=com1,vga";
    let dom0 = "    module2 /boot/vmlinuz console=tty0 device_mapper_multipath=enabled nomodeset";
    let grub = changed_lines(&text(&before[1]), &text(&c[1]));
    assert_eq!(grub, vec![(37, xen.to_string()), (38, dom0.to_string())]);
    // The efiboot copy has one more line before the entries: same lines, one further down,
    // and its `search` line untouched.
    grub_script_check(&c[1].bytes);
    grub_script_check(&c[2].bytes);
    let efi = changed_lines(&text(&before[2]), &text(&c[2]));
    assert_eq!(efi, vec![(38, xen.to_string()), (39, dom0.to_string())]);
    assert!(text(&c[2]).contains("set timeout=5\nsearch --file --set /install.img\n"));
}

#[test]
fn isolinux_label_maps_to_grub_title_by_position_and_arguments() {
    let mut edits = BootEdits {
        entries: Some(strings(&["install-alt"])),
        ..Default::default()
    };
    edits.add_dom0_args(&["no-gpgcheck", "no-repo-gpgcheck"]);
    let mut c = configs();
    let before = configs();
    let report = apply(&edits, &mut c).unwrap();
    assert_eq!(report.files[0].entries, strings(&["install-alt"]));
    assert_eq!(
        report.files[1].entries,
        strings(&["install with alternate/debug kernel (kernel-alt)"])
    );
    let grub = changed_lines(&text(&before[1]), &text(&c[1]));
    assert_eq!(
        grub,
        vec![(
            44,
            "    module2 /boot/alt/vmlinuz console=hvc0 console=tty0 kernel-alt no-gpgcheck no-repo-gpgcheck"
                .to_string()
        )]
    );
    let iso = changed_lines(&text(&before[0]), &text(&c[0]));
    assert_eq!(iso.len(), 1);
    assert!(
        iso[0]
            .1
            .contains("kernel-alt no-gpgcheck no-repo-gpgcheck --- /install.img")
    );
}

#[test]
fn the_grub_title_also_names_the_isolinux_entry() {
    let mut edits = BootEdits {
        entries: Some(strings(&[
            "install with alternate/debug kernel (kernel-alt)",
        ])),
        ..Default::default()
    };
    edits.add_xen_args(&["loglvl=all"]);
    let mut c = configs();
    let report = apply(&edits, &mut c).unwrap();
    assert_eq!(report.files[0].entries, strings(&["install-alt"]));
}

#[test]
fn default_edits_every_xen_entry_and_leaves_memtest() {
    let mut edits = BootEdits::default();
    edits.add_dom0_args(&["answerfile=file:///answerfile.xml", "install"]);
    let mut c = configs();
    let before = configs();
    apply(&edits, &mut c).unwrap();
    let iso = changed_lines(&text(&before[0]), &text(&c[0]));
    assert_eq!(iso.len(), 6);
    assert!(
        iso.iter()
            .all(|(_, l)| l.contains("answerfile=file:///answerfile.xml install --- /install.img"))
    );
    for (b, a) in before[1..].iter().zip(&c[1..]) {
        let g = changed_lines(&text(b), &text(a));
        assert_eq!(g.len(), 6);
        assert!(
            g.iter()
                .all(|(_, l)| l.trim_start().starts_with("module2 /boot/")
                    && l.ends_with(" answerfile=file:///answerfile.xml install"))
        );
    }
}

#[test]
fn default_and_timeout_in_both_styles() {
    let edits = BootEdits {
        default: Some("multipath".into()),
        timeout: Some(3),
        ..Default::default()
    };
    let mut c = configs();
    let before = configs();
    apply(&edits, &mut c).unwrap();
    assert_eq!(
        changed_lines(&text(&before[0]), &text(&c[0])),
        vec![(1, "DEFAULT multipath".into()), (3, "TIMEOUT 30".into())]
    );
    assert_eq!(
        changed_lines(&text(&before[1]), &text(&c[1])),
        vec![
            (0, "set default=\"3\"".into()),
            (16, "set timeout=3".into())
        ]
    );
}

#[test]
fn new_entry_is_added_to_every_menu() {
    let edits = BootEdits {
        default: Some("install-site".into()),
        new_entries: vec![NewEntry {
            label: "install-site".into(),
            title: Some("Install with site defaults".into()),
            from: "install".into(),
            edits: EntryEdits {
                dom0_args: ArgEdits {
                    add: strings(&["answerfile=file:///site.xml", "install"]),
                    ..Default::default()
                },
                ..Default::default()
            },
        }],
        ..Default::default()
    };
    let mut c = configs();
    let report = apply(&edits, &mut c).unwrap();
    assert_eq!(report.files[0].entries, strings(&["install-site"]));
    assert_eq!(
        report.files[1].entries,
        strings(&["Install with site defaults"])
    );
    let iso = text(&c[0]);
    assert!(iso.contains(
        "LABEL install-site\n\tKERNEL mboot.c32\n\tAPPEND /boot/xen.gz dom0_max_vcpus=1-16 \
         dom0_mem=max:8192M com1=115200,8n1 console=com1,vga --- /boot/vmlinuz console=hvc0 \
         console=tty0 answerfile=file:///site.xml install --- /install.img\nLABEL no-serial\n"
    ));
    assert!(iso.starts_with("SERIAL 0 115200\nDEFAULT install-site\n"));
    for g in [text(&c[1]), text(&c[2])] {
        // Index-style default: the new entry is the second one.
        assert!(g.starts_with("set default=\"1\"\n"));
        assert!(g.contains(
            "}\n\nmenuentry \"Install with site defaults\" {\n    multiboot2 /boot/xen.gz \
             dom0_max_vcpus=1-16 dom0_mem=max:8192M com1=115200,8n1 console=com1,vga\n    \
             module2 /boot/vmlinuz console=hvc0 console=tty0 answerfile=file:///site.xml install\n    \
             module2 /install.img\n}\n\nmenuentry \"no-serial\" {"
        ));
        // The original entry is unchanged.
        assert!(g.contains(
            "menuentry \"install\" {\n    multiboot2 /boot/xen.gz dom0_max_vcpus=1-16 \
             dom0_mem=max:8192M com1=115200,8n1 console=com1,vga\n    module2 /boot/vmlinuz \
             console=hvc0 console=tty0\n"
        ));
    }
    // Lines of the original configs are all still there, in order.
    for (b, a) in configs().iter().zip(&c) {
        let after = text(a);
        let mut rest = after.as_str();
        for line in text(b).lines().filter(|l| !l.contains("default")) {
            let at = rest.find(line).unwrap_or_else(|| panic!("{line:?} lost"));
            rest = &rest[at + line.len()..];
        }
    }
}

#[test]
fn an_index_default_after_an_inserted_entry_follows_its_entry() {
    let mut c = configs();
    let g = text(&c[1]).replacen("set default=\"0\"", "set default=\"3\"", 1);
    c[1].bytes = g.into_bytes();
    let edits = BootEdits {
        new_entries: vec![NewEntry {
            label: "copy".into(),
            title: None,
            from: "install".into(),
            edits: EntryEdits::default(),
        }],
        ..Default::default()
    };
    apply(&edits, &mut c).unwrap();
    assert!(text(&c[1]).starts_with("set default=\"4\"\n"));
    assert!(text(&c[1]).contains("menuentry \"copy\" {"));
}

#[test]
fn crlf_and_tabs_survive_an_edit() {
    let crlf = ISOLINUX.replace('\n', "\r\n");
    let mut c = vec![config(ConfigKind::Isolinux, &crlf)];
    let edits = BootEdits {
        entries: Some(strings(&["shell"])),
        edits: EntryEdits {
            dom0_args: ArgEdits {
                add: strings(&["x=1"]),
                ..Default::default()
            },
            ..Default::default()
        },
        ..Default::default()
    };
    apply(&edits, &mut c).unwrap();
    let after = text(&c[0]);
    assert_eq!(
        after,
        crlf.replace(
            "bash-shell --- /install.img\r\n",
            "bash-shell x=1 --- /install.img\r\n"
        )
    );
}

#[test]
fn title_style_grub_default_stays_a_title() {
    let g = GRUB.replacen("set default=\"0\"", "set default='install'", 1);
    let mut c = vec![config(ConfigKind::Grub, &g)];
    let edits = BootEdits {
        default: Some("no-serial".into()),
        ..Default::default()
    };
    apply(&edits, &mut c).unwrap();
    assert_eq!(
        changed_lines(&g, &text(&c[0])),
        vec![(0, "set default='no-serial'".into())]
    );
}

#[test]
fn missing_default_and_timeout_are_added_before_the_entries() {
    let iso = "LABEL a\n  KERNEL mboot.c32\n  APPEND /xen.gz x --- /vmlinuz y --- /initrd.img\n";
    let grub = "insmod gzio\n\nmenuentry \"a\" {\n  multiboot2 /xen.gz x\n  module2 /vmlinuz y\n  module2 /initrd.img\n}\n";
    let mut c = vec![
        config(ConfigKind::Isolinux, iso),
        config(ConfigKind::Grub, grub),
    ];
    let edits = BootEdits {
        default: Some("a".into()),
        timeout: Some(0),
        ..Default::default()
    };
    apply(&edits, &mut c).unwrap();
    // isolinux: TIMEOUT 0 would wait forever, so "boot at once" is one tenth of a second.
    assert_eq!(text(&c[0]), format!("DEFAULT a\nTIMEOUT 1\n{iso}"));
    assert_eq!(
        text(&c[1]),
        "insmod gzio\nset default=\"0\"\nset timeout=0\n\nmenuentry \"a\" {\n  multiboot2 /xen.gz x\n  module2 /vmlinuz y\n  module2 /initrd.img\n}\n"
    );
}

#[test]
fn menu_label_is_the_title_of_a_copied_isolinux_entry() {
    let iso = "UI menu.c32\nLABEL a\n  MENU LABEL First entry\n  MENU DEFAULT\n  KERNEL mboot.c32\n  APPEND /xen.gz x --- /vmlinuz y --- /initrd.img\nLABEL b\n  LINUX /memtest\n";
    let mut c = vec![config(ConfigKind::Isolinux, iso)];
    let edits = BootEdits {
        new_entries: vec![NewEntry {
            label: "a2".into(),
            title: Some("Second entry".into()),
            from: "a".into(),
            edits: EntryEdits {
                xen_args: ArgEdits {
                    set: strings(&["x=2"]),
                    ..Default::default()
                },
                ..Default::default()
            },
        }],
        ..Default::default()
    };
    apply(&edits, &mut c).unwrap();
    assert_eq!(
        text(&c[0]),
        "UI menu.c32\nLABEL a\n  MENU LABEL First entry\n  MENU DEFAULT\n  KERNEL mboot.c32\n  APPEND /xen.gz x --- /vmlinuz y --- /initrd.img\nLABEL a2\n  MENU LABEL Second entry\n  KERNEL mboot.c32\n  APPEND /xen.gz x=2 --- /vmlinuz y --- /initrd.img\nLABEL b\n  LINUX /memtest\n"
    );
}

#[test]
fn bare_grub_assignments_are_settings_too() {
    let g = GRUB.replacen("set default=\"0\"", "default=0", 1).replacen(
        "set timeout=5",
        "timeout=5",
        1,
    );
    let mut c = vec![config(ConfigKind::Grub, &g)];
    let edits = BootEdits {
        default: Some("safe".into()),
        timeout: Some(10),
        ..Default::default()
    };
    apply(&edits, &mut c).unwrap();
    assert_eq!(
        changed_lines(&g, &text(&c[0])),
        vec![(0, "default=2".into()), (16, "timeout=10".into())]
    );
}

#[test]
fn grub_arguments_with_parentheses_stay_unquoted() {
    let mut c = configs();
    c.truncate(2);
    let before = configs();
    let mut edits = BootEdits {
        entries: Some(strings(&["safe"])),
        ..Default::default()
    };
    edits.add_dom0_args(&["xen-pciback.hide=(01:00.0)(02:00.0)"]);
    apply(&edits, &mut c).unwrap();
    let g = changed_lines(&text(&before[1]), &text(&c[1]));
    assert_eq!(
        g,
        vec![(
            32,
            "    module2 /boot/vmlinuz console=hvc0 console=tty0 xen-pciback.hide=(01:00.0)(02:00.0)"
                .into()
        )]
    );
}

#[test]
fn grub_accepts_every_edited_grub_config() {
    let mut edits = BootEdits {
        entries: Some(strings(&["install", "multipath", "install-alt"])),
        edits: EntryEdits {
            xen_args: ArgEdits {
                set: strings(&["dom0_mem=max:16384M", "loglvl=all"]),
                add: vec![],
                remove: strings(&["com1"]),
            },
            dom0_args: ArgEdits {
                set: strings(&["console=tty0"]),
                add: strings(&["nomodeset", "xen-pciback.hide=(01:00.0)"]),
                remove: strings(&["console=hvc0"]),
            },
        },
        default: Some("install-site".into()),
        timeout: Some(3),
        new_entries: vec![NewEntry {
            label: "install-site".into(),
            title: Some("Install with \"site\" defaults: $HOME".into()),
            from: "install".into(),
            edits: EntryEdits {
                dom0_args: ArgEdits {
                    add: strings(&["answerfile=file:///answerfile.xml", "install"]),
                    ..Default::default()
                },
                ..Default::default()
            },
        }],
        ..Default::default()
    };
    edits.add_dom0_args(&["no-gpgcheck"]);
    let mut c = configs();
    apply(&edits, &mut c).unwrap();
    for g in &c[1..] {
        grub_script_check(&g.bytes);
        let t = text(g);
        assert!(
            t.contains("menuentry \"Install with \\\"site\\\" defaults: \\$HOME\" {"),
            "{t}"
        );
    }
    // A config read back gives the same entries (the edit is stable).
    let again = c.clone();
    apply(&BootEdits::default(), &mut c).unwrap();
    assert_eq!(c, again);
}

#[test]
fn grub_menuentry_options_before_the_title() {
    let g = GRUB.replacen(
        "menuentry \"safe\" {",
        "menuentry --class xen --unrestricted 'safe' --hotkey s {",
        1,
    );
    let mut c = vec![config(ConfigKind::Grub, &g)];
    let edits = BootEdits {
        new_entries: vec![NewEntry {
            label: "safe2".into(),
            title: Some("safe, again".into()),
            from: "safe".into(),
            edits: EntryEdits::default(),
        }],
        ..Default::default()
    };
    apply(&edits, &mut c).unwrap();
    assert!(
        text(&c[0]).contains("menuentry --class xen --unrestricted 'safe, again' --hotkey s {")
    );
    grub_script_check(&c[0].bytes);
}

#[test]
fn entries_that_boot_linux_directly_take_the_dom0_edits_when_named() {
    let iso = format!(
        "{ISOLINUX}\nLABEL direct\n\tKERNEL /boot/vmlinuz\n\tAPPEND initrd=/install.img console=tty0\n"
    );
    let grub = format!(
        "{GRUB}\nmenuentry \"direct\" {{\n    linux /boot/vmlinuz console=tty0\n    initrd /install.img\n}}\n"
    );
    let mut c = vec![
        config(ConfigKind::Isolinux, &iso),
        config(ConfigKind::Grub, &grub),
    ];
    // Not edited by default (only entries that boot Xen are).
    let mut all = BootEdits::default();
    all.add_dom0_args(&["x=1"]);
    let mut d = c.clone();
    apply(&all, &mut d).unwrap();
    assert!(text(&d[0]).ends_with("APPEND initrd=/install.img console=tty0\n"));
    assert!(text(&d[1]).contains("    linux /boot/vmlinuz console=tty0\n"));

    let mut edits = BootEdits {
        entries: Some(strings(&["direct", "memtest"])),
        edits: EntryEdits {
            dom0_args: ArgEdits {
                remove: strings(&["console=tty0"]),
                ..Default::default()
            },
            ..Default::default()
        },
        ..Default::default()
    };
    edits.add_dom0_args(&["answerfile=file:///a.xml", "install"]);
    // GRUB's memtest chain-loads: it has no arguments, so naming it is an error...
    assert!(apply(&edits, &mut c.clone()).is_err());
    // ...while naming only the Linux entry edits it in both menus.
    edits.entries = Some(strings(&["direct"]));
    apply(&edits, &mut c).unwrap();
    assert_eq!(
        changed_lines(&iso, &text(&c[0])),
        vec![(
            33,
            "\tAPPEND initrd=/install.img answerfile=file:///a.xml install".into()
        )]
    );
    assert_eq!(
        changed_lines(&grub, &text(&c[1])),
        vec![(
            59,
            "    linux /boot/vmlinuz answerfile=file:///a.xml install".into()
        )]
    );
    grub_script_check(&c[1].bytes);
}

#[test]
fn isolinux_linux_entry_without_append_gets_one() {
    let mut c = vec![config(ConfigKind::Isolinux, ISOLINUX)];
    let mut edits = BootEdits {
        entries: Some(strings(&["memtest"])),
        ..Default::default()
    };
    edits.add_dom0_args(&["onepass"]);
    apply(&edits, &mut c).unwrap();
    assert_eq!(text(&c[0]), format!("{ISOLINUX}\tAPPEND onepass\n"));
}

/// Unattended and interactive arguments are decided per entry on its final dom0 line: the
/// selected entries (and new entries copied from them) that name no answer file get the answer
/// file once, every other Xen entry the interactive arguments, and no line gets both.
#[test]
fn each_entry_is_unattended_or_interactive_never_both() {
    let answerfile = ["answerfile=file:///answerfile.xml", "install"];
    let edits = BootEdits {
        entries: Some(strings(&["install", "multipath"])),
        new_entries: vec![
            NewEntry {
                label: "install-site".into(),
                title: Some("Install with site defaults".into()),
                from: "install".into(),
                edits: EntryEdits {
                    dom0_args: ArgEdits {
                        add: strings(&answerfile),
                        ..Default::default()
                    },
                    ..Default::default()
                },
            },
            NewEntry {
                label: "install-vga".into(),
                title: None,
                from: "install".into(),
                edits: EntryEdits {
                    dom0_args: ArgEdits {
                        add: strings(&["nomodeset"]),
                        ..Default::default()
                    },
                    ..Default::default()
                },
            },
        ],
        unattended: strings(&answerfile),
        interactive: strings(&["no-gpgcheck", "no-repo-gpgcheck"]),
        ..Default::default()
    };
    for (name, lines) in dom0_lines_after(&edits) {
        assert_eq!(lines.len(), 8, "{name}: {lines:?}");
        let mut unattended = 0;
        for line in &lines {
            let words: Vec<&str> = line.split_whitespace().collect();
            let answers = words
                .iter()
                .filter(|w| w.starts_with("answerfile="))
                .count();
            let off = words.contains(&"no-gpgcheck") && words.contains(&"no-repo-gpgcheck");
            assert!(answers <= 1, "{name}: answer file twice: {line}");
            assert!(
                (answers == 1) != off,
                "{name}: neither or both of answer file and no-gpgcheck: {line}"
            );
            if answers == 1 {
                assert_eq!(
                    words.iter().filter(|w| **w == "install").count(),
                    1,
                    "{line}"
                );
                unattended += 1;
            }
        }
        // install, multipath and the two entries copied from install.
        assert_eq!(unattended, 4, "{name}: {lines:?}");
    }
}

/// By default the answer file goes to every entry that runs an install: not the shell entry,
/// which stays interactive.
#[test]
fn by_default_every_install_entry_but_the_shell_is_unattended() {
    let edits = BootEdits {
        unattended: strings(&["answerfile=file:///answerfile.xml", "install"]),
        interactive: strings(&["no-gpgcheck", "no-repo-gpgcheck"]),
        ..Default::default()
    };
    for (name, lines) in dom0_lines_after(&edits) {
        assert_eq!(lines.len(), 6, "{name}: {lines:?}");
        for line in &lines {
            if line.contains("bash-shell") {
                assert!(
                    line.ends_with("bash-shell no-gpgcheck no-repo-gpgcheck"),
                    "{line}"
                );
            } else {
                assert!(
                    line.ends_with(" answerfile=file:///answerfile.xml install"),
                    "{line}"
                );
            }
        }
    }
}
