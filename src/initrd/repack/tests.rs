use std::io;
use std::sync::mpsc::{self, RecvTimeoutError};
use std::time::Duration;

use super::{Compression, Sink};

/// Stands for the compression threads: returns every segment as it is at once, except the
/// first, which it holds back until no new segment has come for a while (or none can come any
/// more). Returns how many segments had come by then.
fn hold_the_first_back(
    jobs: mpsc::Receiver<(u64, Vec<u8>)>,
    results: mpsc::Sender<(u64, io::Result<Vec<u8>>)>,
) -> u64 {
    let (mut held, mut received, mut before_release) = (None, 0, 0);
    loop {
        let wait = if held.is_some() {
            Duration::from_millis(300)
        } else {
            Duration::from_secs(60)
        };
        match jobs.recv_timeout(wait) {
            Ok((0, data)) => {
                received += 1;
                held = Some(data);
            }
            Ok((index, data)) => {
                received += 1;
                let _ = results.send((index, Ok(data)));
            }
            Err(timeout_or_closed) => {
                if let Some(first) = held.take() {
                    before_release = received;
                    let _ = results.send((0, Ok(first)));
                }
                if timeout_or_closed == RecvTimeoutError::Disconnected {
                    return before_release;
                }
            }
        }
    }
}

#[test]
fn one_slow_segment_holds_back_at_most_four_per_thread_and_the_output_stays_in_order() {
    for threads in [1usize, 2, 3] {
        let (job_tx, job_rx) = mpsc::sync_channel(threads);
        let (res_tx, res_rx) = mpsc::channel();
        let worker = std::thread::spawn(move || hold_the_first_back(job_rx, res_tx));
        let mut out = Vec::new();
        let mut sink = Sink::new(&mut out, Compression::None, threads, job_tx, res_rx);
        let segments: Vec<Vec<u8>> = (0..5 * threads as u8 + 7).map(|i| vec![i; 3]).collect();
        for s in &segments {
            sink.submit(s.clone()).unwrap();
        }
        sink.jobs = None;
        sink.settle(0).unwrap();
        let summary = sink.summary;
        let before_release = worker.join().unwrap();
        assert!(
            (1..=4 * threads as u64).contains(&before_release),
            "{before_release} segments sent while the first was held, {threads} threads"
        );
        assert_eq!(out, segments.concat());
        assert_eq!(summary.segments, segments.len() as u64);
        assert_eq!(summary.bytes, out.len() as u64);
    }
}
