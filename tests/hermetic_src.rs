//! The tool is hermetic: nothing under src/ starts another program, and
//! nothing mounts, loops or escalates. (Referee tools run only in tests.)

use std::path::Path;

fn sources(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            sources(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

#[test]
fn src_never_starts_external_programs() {
    let mut files = Vec::new();
    sources(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("src"),
        &mut files,
    );
    assert!(files.len() > 5);
    for f in files {
        let text = std::fs::read_to_string(&f).unwrap();
        // Code under #[cfg(test)] may use referees; cut it off.
        let code = text.split("#[cfg(test)]").next().unwrap_or("");
        for banned in [
            "std::process::Command",
            "process::Command",
            "Command::new(",
            "libc::mount",
            "fakeroot",
            "sudo ",
        ] {
            assert!(!code.contains(banned), "{} uses {banned}", f.display());
        }
    }
}
