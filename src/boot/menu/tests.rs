use super::*;

const ISOLINUX: &str = include_str!("../../../fixtures/xcp-ng-8.3/boot/isolinux/isolinux.cfg");

fn isolinux(text: &str) -> ConfigFile {
    ConfigFile {
        name: "boot/isolinux/isolinux.cfg".into(),
        kind: ConfigKind::Isolinux,
        bytes: text.into(),
    }
}

/// The reason `check_edited` gives for `text` as the rendering of `menu`, which must be a
/// [`Error::Rendered`] naming the config.
fn rendered_refusal(menu: &Menu, text: &str) -> String {
    match check_edited(menu, &isolinux(ISOLINUX), text.as_bytes()) {
        Err(Error::Rendered { file, why }) => {
            assert_eq!(file, "boot/isolinux/isolinux.cfg");
            why
        }
        other => panic!("not refused as rendered: {other:?}"),
    }
}

#[test]
fn check_edited_refuses_a_rendering_that_reads_back_otherwise() {
    let mut menu = parse(&isolinux(ISOLINUX)).unwrap();
    menu.cfg
        .set_args(0, &[], &["console=hvc0".into(), "marker=1".into()])
        .unwrap();
    let good = menu.cfg.render();
    check_edited(&menu, &isolinux(ISOLINUX), good.as_bytes()).unwrap();

    // The edit of entry 1 missing from the text (as a renderer dropping it would).
    let why = rendered_refusal(&menu, ISOLINUX);
    assert!(why.starts_with("entry 1 reads back as"), "{why}");

    // Entry 2's dom0 arguments changed by the rendering.
    let changed = good.replacen(
        "console=vga --- /boot/vmlinuz console=tty0",
        "console=vga --- /boot/vmlinuz console=tty1",
        1,
    );
    assert_ne!(changed, good);
    let why = rendered_refusal(&menu, &changed);
    assert!(why.starts_with("entry 2 reads back as"), "{why}");

    // The last entry lost: every entry that is there reads back, but not all of them.
    let cut = &good[..good.rfind("LABEL").unwrap()];
    let why = rendered_refusal(&menu, cut);
    let n = menu.cfg.entries().len();
    assert_eq!(why, format!("{n} entries edited, {} read back", n - 1));
}
