//! Progress of a run: rows and bytes read so far, shown as a bar on a terminal or a
//! plain line every 10 s otherwise, with a rate and, when the input's size is known, an ETA.

use std::io::{self, IsTerminal};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Position in the input, updated by the reader as it goes.
pub(super) struct Progress {
    pub(super) rows: AtomicU64,
    pub(super) bytes: AtomicU64,
    pub(super) total_bytes: Option<u64>,
}

/// Prints progress: a bar on a terminal, a plain line every 10 s otherwise.
pub(super) fn spawn_progress(progress: Arc<Progress>) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let tty = io::stderr().is_terminal();
        let every = if tty {
            Duration::from_millis(500)
        } else {
            Duration::from_secs(10)
        };
        let start = Instant::now();
        loop {
            tokio::time::sleep(every).await;
            let rows = progress.rows.load(Ordering::Relaxed);
            let secs = start.elapsed().as_secs_f64().max(0.001);
            let rate = rows as f64 / secs;
            let eta = progress.total_bytes.and_then(|total| {
                let done = progress.bytes.load(Ordering::Relaxed);
                (done > 0 && total >= done).then(|| secs * (total - done) as f64 / done as f64)
            });
            let eta = eta.map_or(String::new(), |s| format!(", ETA {s:.0}s"));
            if tty {
                let pct = progress.total_bytes.map_or(String::new(), |total| {
                    let done = progress.bytes.load(Ordering::Relaxed);
                    format!(" {:>3}%", (done * 100).checked_div(total).unwrap_or(0))
                });
                eprint!("\r{rows} rows{pct}, {rate:.0} rows/s{eta}   ");
            } else {
                eprintln!("progress: {rows} rows, {rate:.0} rows/s{eta}");
            }
        }
    })
}
