//! Child processes of tests and benchmarks: the address a server announces, the peak
//! memory a process has used, and the CPU time it has spent.

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

/// The CPU time a process has spent so far, user and system (Linux `/proc/PID/stat`,
/// counted in the kernel's USER_HZ ticks of 1/100 s); `None` when it cannot be read.
pub fn cpu_time(pid: u32) -> Option<Duration> {
    stat_cpu_time(pid, 11) // utime, stime: fields 14 and 15
}

/// The CPU time, user and system, of the children this process has waited for (`cutime`
/// and `cstime` of `/proc/self/stat`): what a child that has exited cost, when its own
/// `/proc/PID` is gone. `None` when it cannot be read.
pub fn waited_children_cpu_time() -> Option<Duration> {
    stat_cpu_time(std::process::id(), 13) // cutime, cstime: fields 16 and 17
}

/// The whole machine's CPU ticks so far, busy and in all, over every core (the first line
/// of Linux `/proc/stat`; idle and waiting on I/O are not busy, time taken by the
/// hypervisor is); `None` when it cannot be read.
pub fn machine_cpu_ticks() -> Option<(u64, u64)> {
    let stat = std::fs::read_to_string("/proc/stat").ok()?;
    machine_ticks(stat.lines().next()?)
}

/// Busy and total ticks of the `cpu` line of `/proc/stat`: user, nice, system, idle,
/// iowait, irq, softirq, steal (guest time is counted in user already).
fn machine_ticks(line: &str) -> Option<(u64, u64)> {
    let mut fields = line.split_whitespace();
    if fields.next()? != "cpu" {
        return None;
    }
    let ticks: Vec<u64> = fields
        .take(8)
        .map(str::parse)
        .collect::<Result<_, _>>()
        .ok()?;
    let &[user, nice, system, idle, iowait, irq, softirq, steal] = ticks.as_slice() else {
        return None;
    };
    let busy = user + nice + system + irq + softirq + steal;
    Some((busy, busy + idle + iowait))
}

/// The sum of two consecutive tick counts of `/proc/PID/stat`, the first `skip` fields
/// after field 2.
fn stat_cpu_time(pid: u32, skip: usize) -> Option<Duration> {
    const TICKS_PER_SECOND: u64 = 100;
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name, field 2, is in parentheses and may hold spaces: count after it.
    let after_name = stat.get(stat.rfind(')')? + 1..)?;
    let mut fields = after_name.split_whitespace().skip(skip);
    let user: u64 = fields.next()?.parse().ok()?;
    let system: u64 = fields.next()?.parse().ok()?;
    Some(Duration::from_millis(
        (user + system) * 1000 / TICKS_PER_SECOND,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_machine_is_busy_but_for_idle_and_io_wait() {
        let line = "cpu  100 2 30 500 40 5 6 7 8 9";
        assert_eq!(machine_ticks(line), Some((150, 690)));
        assert_eq!(
            machine_ticks("cpu0 1 2 3 4 5 6 7 8"),
            None,
            "one core's line"
        );
        assert_eq!(machine_ticks("cpu 1 2 3"), None, "too few fields");
        let (busy, total) = machine_cpu_ticks().expect("this machine's /proc/stat");
        assert!(busy <= total);
    }

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
    fn this_process_has_spent_cpu_time() {
        let start = cpu_time(std::process::id()).expect("CPU time of this process");
        // Spin until the count moves by three ticks (a minute is far more than enough).
        let spin = std::time::Instant::now();
        let mut x = 0u64;
        let spent = loop {
            x = std::hint::black_box(x.wrapping_add(1));
            let now = cpu_time(std::process::id()).expect("CPU time of this process");
            if now >= start + Duration::from_millis(30) || spin.elapsed() > Duration::from_secs(60)
            {
                break now - start;
            }
        };
        assert!(spent >= Duration::from_millis(30), "{spent:?}");
        assert_eq!(cpu_time(u32::MAX), None);
    }

    #[test]
    fn a_waited_child_adds_its_cpu_time() {
        let before = waited_children_cpu_time().expect("children's CPU time");
        // The child is this test binary running the test above, which spins for 30 ms of
        // CPU or more.
        let status = std::process::Command::new(std::env::current_exe().unwrap())
            .args([
                "--exact",
                "testkit::process::tests::this_process_has_spent_cpu_time",
            ])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .status()
            .expect("run the child");
        assert!(status.success());
        let after = waited_children_cpu_time().expect("children's CPU time");
        assert!(
            after >= before + Duration::from_millis(30),
            "{before:?} {after:?}"
        );
    }

    #[test]
    fn this_process_has_a_peak_rss() {
        let kib = peak_rss_kib(std::process::id()).expect("VmHWM of this process");
        assert!(kib > 0);
        assert_eq!(peak_rss_kib(u32::MAX), None);
    }
}
