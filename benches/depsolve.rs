//! The dependency solver on 1,000 generated RPMs.
//!
//!   cargo bench --bench depsolve
//!
//! The packages are built with the crate's builder and read back as the packages step reads
//! them, so the records carry what real ones carry (self-provides, rpmlib requirements, file
//! lists). The graph is shaped like a dom0 repository: shared libraries providing sonames and
//! requiring older libraries, programs requiring a handful of sonames, `/bin/sh` and other
//! programs by path, versioned requires between library families, a meta-package requiring a
//! third of the packages, and a pool holding newer releases of a tenth of them plus the
//! libraries the media lacks.
//!
//! Figures, each the best of 5 runs: indexing the universe (`Universe::new`), and solving the
//! meta-package with `Prefer::OnMedia` and with `Prefer::Newest`. Target: index + solve
//! <= 0.3 s.
//!
//! Settings (environment): `ISOREMIX_BENCH_SOLVE_RPMS`: number of packages (default 1000).

use std::error::Error;
use std::time::{Duration, Instant};

use isoremix::depsolve::{self, Candidate, Origin, Prefer, Request, Universe};
use isoremix::rpm::Compression;
use isoremix::rpm::read_package;
use isoremix::rpm::{Dep, DepCmp, FileSpec, PackageSpec, build_package};

type Res<T> = Result<T, Box<dyn Error>>;

const TIME: u32 = 1_700_000_000;
const RUNS: usize = 5;

/// A small deterministic generator (64-bit LCG), so every run builds the same graph.
struct Lcg(u64);

impl Lcg {
    fn below(&mut self, n: usize) -> usize {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        ((self.0 >> 33) % n as u64) as usize
    }
}

fn spec(name: &str, version: &str, release: &str, arch: &str) -> PackageSpec {
    let mut s = PackageSpec::new(name, version, release, arch, TIME, "bench.invalid");
    s.summary = format!("{name} (generated)");
    s.description = s.summary.clone();
    s.compression = Compression::Gzip(1);
    s
}

fn soname(lib: usize) -> String {
    format!("libgen{lib}.so.1()(64bit)")
}

/// The specs of the media and the pool.
fn generate(count: usize) -> (Vec<PackageSpec>, Vec<PackageSpec>) {
    let mut rng = Lcg(42);
    let libs = count * 3 / 10;
    let programs = count - libs - 2;
    let mut media = Vec::new();
    let mut pool = Vec::new();
    let mut sh = spec("bash", "4.2.46", "34.el7", "x86_64");
    for path in ["/bin/sh", "/bin/bash"] {
        sh.files
            .push(FileSpec::new(path, 0o755, TIME, b"#!\n".to_vec()));
    }
    media.push(sh);
    for l in 0..libs {
        let mut s = spec(
            &format!("libgen{l}"),
            &format!("1.{}", l % 7),
            "1",
            "x86_64",
        );
        s.provides.push(Dep::any(soname(l)));
        s.files.push(FileSpec::new(
            format!("/usr/lib64/libgen{l}.so.1"),
            0o755,
            TIME,
            Vec::new(),
        ));
        // Libraries need older libraries, some at a minimum version.
        for _ in 0..rng.below(4) {
            if l == 0 {
                break;
            }
            let dep = rng.below(l);
            if rng.below(3) == 0 {
                s.requires.push(Dep::versioned(
                    format!("libgen{dep}"),
                    DepCmp::Ge,
                    format!("1.{}", dep % 7),
                ));
            } else {
                s.requires.push(Dep::any(soname(dep)));
            }
        }
        // One library in ten is only in the pool; one in ten has a newer release there.
        match l % 10 {
            3 if l > 0 => pool.push(s),
            7 => {
                let mut newer = s.clone();
                newer.release = "2".into();
                media.push(s);
                pool.push(newer);
            }
            _ => media.push(s),
        }
    }
    let mut meta = spec("xcp-ng-deps", "8.3", "1", "noarch");
    for p in 0..programs {
        let mut s = spec(&format!("tool{p}"), "2.0", "1", "x86_64");
        let bin = format!("/usr/bin/tool{p}");
        s.files
            .push(FileSpec::new(bin.clone(), 0o755, TIME, b"#!\n".to_vec()));
        for _ in 0..1 + rng.below(6) {
            s.requires.push(Dep::any(soname(rng.below(libs))));
        }
        if rng.below(4) == 0 {
            s.requires.push(Dep::any("/bin/sh"));
        }
        if p > 0 && rng.below(5) == 0 {
            s.requires
                .push(Dep::any(format!("/usr/bin/tool{}", rng.below(p))));
        }
        if p % 3 == 0 {
            meta.requires
                .push(Dep::versioned(format!("tool{p}"), DepCmp::Ge, "2.0"));
        }
        if p % 10 == 5 {
            let mut newer = s.clone();
            newer.version = "2.1".into();
            pool.push(newer);
        }
        media.push(s);
    }
    media.push(meta);
    (media, pool)
}

fn candidates(specs: &[PackageSpec], origin: Origin) -> Res<Vec<Candidate>> {
    specs
        .iter()
        .map(|s| {
            let mut bytes = Vec::new();
            build_package(s, &mut bytes)?;
            let file = read_package(bytes.as_slice())?;
            Ok(Candidate::from_package(
                &file,
                &format!("Packages/{}", s.file_name()),
                origin,
            ))
        })
        .collect()
}

fn best<T>(mut f: impl FnMut() -> Res<T>) -> Res<(Duration, T)> {
    let mut out = None;
    let mut fastest = Duration::MAX;
    for _ in 0..RUNS {
        let start = Instant::now();
        let value = f()?;
        fastest = fastest.min(start.elapsed());
        out = Some(value);
    }
    Ok((fastest, out.ok_or("no run")?))
}

fn main() -> Res<()> {
    let count: usize = match std::env::var("ISOREMIX_BENCH_SOLVE_RPMS") {
        Ok(v) => v.trim().parse()?,
        Err(_) => 1000,
    };
    let (media, pool) = generate(count);
    let start = Instant::now();
    let mut all = candidates(&media, Origin::Iso)?;
    all.extend(candidates(&pool, Origin::Pool)?);
    println!(
        "built and read {} RPMs ({} media, {} pool) in {:.1}s",
        all.len(),
        media.len(),
        pool.len(),
        start.elapsed().as_secs_f64()
    );
    let (index_time, universe) = best(|| Ok(Universe::new(all.clone())))?;
    println!("index (Universe::new): {:.3}s", index_time.as_secs_f64());
    let targets = vec!["xcp-ng-deps".to_string()];
    for prefer in [Prefer::OnMedia, Prefer::Newest] {
        let request = Request {
            targets: &targets,
            allow_unresolved: &[],
            prefer,
        };
        let (solve_time, solution) = best(|| Ok(depsolve::solve(&universe, &request)?))?;
        let from_pool = solution
            .install
            .iter()
            .filter(|&&i| universe.candidates()[i].origin == Origin::Pool)
            .count();
        let total = index_time + solve_time;
        println!(
            "solve {prefer:?}: {:.3}s ({} packages, {from_pool} from the pool); index + solve {:.3}s (target <= 0.3s){}",
            solve_time.as_secs_f64(),
            solution.install.len(),
            total.as_secs_f64(),
            if total.as_secs_f64() <= 0.3 {
                ""
            } else {
                "  ABOVE TARGET"
            }
        );
    }
    Ok(())
}
