fn main() {
    let a: Vec<String> = std::env::args().collect();
    let mut s = isoremix::iso::SourceIso::open(std::path::Path::new(&a[1])).unwrap();
    let t = std::time::Instant::now();
    let r = isoremix::iso::write(
        &mut s,
        std::path::Path::new(&a[2]),
        &isoremix::iso::WriteOptions {
            volume_id: None,
            time: hadris_fs::DateTime::from_unix_seconds(0).unwrap(),
            seed: vec![],
        },
        &|_| {},
    )
    .unwrap();
    eprintln!("{:?} {:?}", t.elapsed(), r.size);
}
