//! Debian's kernel package for tests: `linux-image-6.1.0-N-amd64`, downloaded with
//! `apt-get download` into `target/test-cache/` (or `$ISOREMIX_TEST_CACHE`) and unpacked with
//! `dpkg-deb -x` once; a failed download fails the test.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

/// The download cache: `$ISOREMIX_TEST_CACHE`, else `target/test-cache`.
pub fn cache_dir() -> PathBuf {
    let dir = match std::env::var_os("ISOREMIX_TEST_CACHE") {
        Some(d) => PathBuf::from(d),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("target/test-cache"),
    };
    std::fs::create_dir_all(&dir).expect("create test cache dir");
    dir
}

/// Runs a referee tool; a missing tool is a failure with a clear message.
pub fn run_tool(tool: &str, args: &[&str], cwd: Option<&Path>) -> std::process::Output {
    let mut cmd = Command::new(tool);
    cmd.args(args);
    if let Some(dir) = cwd {
        cmd.current_dir(dir);
    }
    let out = cmd.output().unwrap_or_else(|e| {
        panic!("referee `{tool}` cannot run ({e}); install it (Debian packages: kmod, apt, dpkg)")
    });
    assert!(
        out.status.success(),
        "`{tool} {}` failed: {}\n{}",
        args.join(" "),
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

pub struct Kernel {
    /// The unpacked package (its `lib/modules/<kver>`).
    pub tree: PathBuf,
    /// The kernel release.
    pub kver: String,
}

/// Debian's newest `linux-image-6.1.0-N-amd64`, downloaded and unpacked once.
pub fn kernel() -> &'static Kernel {
    static KERNEL: OnceLock<Kernel> = OnceLock::new();
    KERNEL.get_or_init(|| {
        let cache = cache_dir();
        let out = run_tool(
            "apt-cache",
            &[
                "search",
                "--names-only",
                r"^linux-image-6\.1\.0-[0-9]+-amd64$",
            ],
            None,
        );
        let pkg = String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter_map(|l| l.split_whitespace().next())
            .filter_map(|name| {
                let n: u32 = name
                    .strip_prefix("linux-image-6.1.0-")?
                    .strip_suffix("-amd64")?
                    .parse()
                    .ok()?;
                Some((n, name.to_string()))
            })
            .max()
            .map(|(_, name)| name)
            .expect("apt-cache lists no linux-image-6.1.0-N-amd64 (run apt-get update)");
        let find_deb = || {
            std::fs::read_dir(&cache)
                .ok()?
                .filter_map(|e| e.ok())
                .map(|e| e.path())
                .find(|p| {
                    p.file_name()
                        .and_then(|n| n.to_str())
                        .is_some_and(|n| n.starts_with(&format!("{pkg}_")) && n.ends_with(".deb"))
                })
        };
        let deb = match find_deb() {
            Some(deb) => deb,
            None => {
                run_tool("apt-get", &["download", &pkg], Some(&cache));
                find_deb().unwrap_or_else(|| {
                    panic!("apt-get download {pkg} left no .deb in {}", cache.display())
                })
            }
        };
        let stem = deb
            .file_stem()
            .and_then(|s| s.to_str())
            .expect("deb name")
            .to_string();
        let tree = cache.join(format!("unpacked-{stem}"));
        if !tree.join(".complete").exists() {
            let tmp = cache.join(format!("unpacking-{stem}-{}", std::process::id()));
            let _ = std::fs::remove_dir_all(&tmp);
            run_tool(
                "dpkg-deb",
                &[
                    "-x",
                    deb.to_str().expect("utf-8 path"),
                    tmp.to_str().expect("utf-8 path"),
                ],
                None,
            );
            std::fs::write(tmp.join(".complete"), b"").expect("marker");
            let _ = std::fs::remove_dir_all(&tree);
            if std::fs::rename(&tmp, &tree).is_err() {
                // Another process finished first.
                let _ = std::fs::remove_dir_all(&tmp);
            }
        }
        let kver = std::fs::read_dir(tree.join("lib/modules"))
            .expect("package has lib/modules")
            .filter_map(|e| e.ok())
            .filter_map(|e| e.file_name().into_string().ok())
            .next()
            .expect("package has a kernel version directory");
        Kernel { tree, kver }
    })
}

impl Kernel {
    /// The kernel's module folder in the unpacked package.
    pub fn moddir(&self) -> PathBuf {
        self.tree.join("lib/modules").join(&self.kver)
    }

    /// Path of a module of the kernel package, by module file name.
    pub fn module_file(&self, file: &str) -> PathBuf {
        let order =
            std::fs::read_to_string(self.moddir().join("modules.order")).expect("modules.order");
        let rel = order
            .lines()
            .find(|l| l.rsplit('/').next() == Some(file))
            .unwrap_or_else(|| panic!("{file} not in modules.order"));
        self.moddir().join(rel)
    }
}
