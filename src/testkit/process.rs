//! Child processes of tests and benchmarks: the address a server announces, and the peak
//! memory a process has used.

use std::io::{BufRead, BufReader, Read};
use std::net::SocketAddr;
use std::sync::mpsc;
use std::time::Duration;

/// Reads a child's stdout on a thread until a line `PREFIX ADDR` (such as
/// `leadcheck listening on 127.0.0.1:4000`), and returns ADDR; `None` if no such line
/// came within `wait`. The thread keeps draining stdout afterwards, so the child never
/// blocks on a full pipe.
pub fn announced_addr(
    stdout: impl Read + Send + 'static,
    prefix: &'static str,
    wait: Duration,
) -> Option<SocketAddr> {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if let Some(addr) = line.strip_prefix(prefix) {
                if let Ok(addr) = addr.trim().parse::<SocketAddr>() {
                    let _ = tx.send(addr);
                }
            }
        }
    });
    rx.recv_timeout(wait).ok()
}

/// The peak resident memory of a process so far, in KiB (Linux `VmHWM`); `None` when it
/// cannot be read (the process is gone, or not Linux).
pub fn peak_rss_kib(pid: u32) -> Option<u64> {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()?
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_announced_address_is_read_past_other_lines() {
        let out =
            "starting\nleadcheck listening on nowhere\nleadcheck listening on 127.0.0.1:4321\n";
        let addr = announced_addr(
            std::io::Cursor::new(out.as_bytes().to_vec()),
            "leadcheck listening on ",
            Duration::from_secs(5),
        );
        assert_eq!(addr, Some("127.0.0.1:4321".parse().unwrap()));
        let none = announced_addr(
            std::io::Cursor::new(b"nothing here\n".to_vec()),
            "leadcheck listening on ",
            Duration::from_millis(200),
        );
        assert_eq!(none, None);
    }

    #[test]
    fn this_process_has_a_peak_rss() {
        let kib = peak_rss_kib(std::process::id()).expect("VmHWM of this process");
        assert!(kib > 0);
        assert_eq!(peak_rss_kib(u32::MAX), None);
    }
}
