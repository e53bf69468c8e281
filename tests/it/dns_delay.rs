//! A resolver that answers slowly: `leadcheck batch` with its defaults keeps enough leads
//! in flight to hide the wait, and the server's bound on leads in flight holds over every
//! stream.

use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use leadcheck::testkit::DnsServer;

use crate::support::Server;

/// A CSV export of `count` leads, each at a company domain of its own with an MX record
/// (whose exchanger has an address): a cold run asks DNS twice a lead, one after the other.
fn export(dns: &DnsServer, dir: &Path, count: usize) -> PathBuf {
    let path = dir.join("leads.csv");
    let mut file = BufWriter::new(std::fs::File::create(&path).unwrap());
    writeln!(file, "email,phone,country").unwrap();
    for i in 0..count {
        let domain = format!("company{i}.test");
        dns.mx(&domain, &[(10, &format!("mx.{domain}"))]);
        writeln!(file, "ana.{i}@{domain},+1 202 555 {:04},US", i % 10_000).unwrap();
    }
    file.flush().unwrap();
    path
}

/// Runs `leadcheck batch` on `input` with `extra` flags; returns the email verdict of every
/// output row, and the run's summary (its stderr).
fn batch(server: &Server, input: &Path, extra: &[&str]) -> (Vec<String>, String) {
    let output = input.with_file_name("assessed.csv");
    let run = Command::new(env!("CARGO_BIN_EXE_leadcheck"))
        .args(["batch", "--server", &server.url(), "--quiet", "--input"])
        .arg(input)
        .arg("--output")
        .arg(&output)
        .args(extra)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(run.status.success(), "batch failed: {stderr}");
    let mut reader = csv::Reader::from_path(&output).unwrap();
    let column = reader
        .headers()
        .unwrap()
        .iter()
        .position(|h| h == "EmailValidity")
        .expect("an EmailValidity column");
    let verdicts = reader
        .records()
        .map(|record| record.unwrap()[column].to_string())
        .collect();
    (verdicts, stderr.into_owned())
}

/// The flags of a server whose DNS waits are long enough for a slow resolver under load.
const PATIENT: [&str; 4] = ["--dns-timeout-ms", "10000", "--dns-attempts", "2"];

/// A resolver answering after `delay`, an export of `leads` leads at domains of their own,
/// and a patient server with `flags` besides; the export lives as long as this does.
struct SlowResolver {
    dns: DnsServer,
    input: PathBuf,
    server: Server,
    _dir: tempfile::TempDir,
}

async fn slow_resolver(leads: usize, delay: Duration, flags: &[&str]) -> SlowResolver {
    let dns = DnsServer::start().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let input = export(&dns, dir.path(), leads);
    dns.set_delay(delay);
    let mut all = PATIENT.to_vec();
    all.extend(flags);
    let server = Server::start(dns.addr(), &all);
    SlowResolver {
        dns,
        input,
        server,
        _dir: dir,
    }
}

#[tokio::test]
async fn a_default_batch_keeps_many_leads_in_flight_against_a_slow_resolver() {
    let leads = 3000;
    // A long delay, so that a busy machine still starts many leads within one.
    let slow = slow_resolver(leads, Duration::from_millis(400), &[]).await;

    let (verdicts, _) = batch(&slow.server, &slow.input, &[]);
    assert_eq!(verdicts.len(), leads);
    assert!(
        verdicts.iter().all(|v| v == "Valid"),
        "every domain has a mail route: {:?}",
        verdicts.iter().find(|v| *v != "Valid")
    );
    // Each lead waits on one query at a time, so the queries the resolver held at once
    // are the leads the batch had in flight. The former defaults (2 streams of 64 leads)
    // never held more than 128.
    let peak = slow.dns.peak_in_flight();
    assert!(
        peak >= 512,
        "the resolver held at most {peak} queries at once"
    );
    // Every query answered once, after its delay: at least an MX query and one for its
    // exchanger a lead.
    let answered = slow.dns.answered() as usize;
    assert_eq!(answered, slow.dns.total_queries());
    assert!(answered >= 2 * leads, "{answered} answers");
}

#[tokio::test]
async fn the_servers_bound_on_leads_in_flight_holds_over_every_stream() {
    let leads = 800;
    let flags = ["--stream-in-flight", "16", "--max-leads-in-flight", "40"];
    let slow = slow_resolver(leads, Duration::from_millis(50), &flags).await;

    // The server tells a stream its window.
    let request = leadcheck::pb::AssessLeadRequest {
        request_id: "one".into(),
        ..Default::default()
    };
    let response = slow
        .server
        .client()
        .await
        .assess_leads(tokio_stream::iter(vec![request]))
        .await
        .expect("AssessLeads");
    let window = response
        .metadata()
        .get("leadcheck-stream-in-flight")
        .and_then(|v| v.to_str().ok());
    assert_eq!(window, Some("16"));
    drop(response);

    // Chunks of 100 leads over a window of 16: the client starts streams until its
    // 8192 leads in flight are reached (at most 32), far past the server's 40.
    let (verdicts, _) = batch(&slow.server, &slow.input, &["--chunk", "100"]);
    assert_eq!(verdicts.len(), leads);
    assert!(verdicts.iter().all(|v| v == "Valid"));
    let peak = slow.dns.peak_in_flight();
    assert!(peak <= 40, "the resolver held {peak} queries at once");
    // More than one stream's window at once: the client ran several streams.
    assert!(
        peak > 16,
        "the resolver held at most {peak} queries at once"
    );
}

/// A server at its limit of open streams refuses the rest as busy (RESOURCE_EXHAUSTED):
/// the client halves its leads in flight at each refusal, and a refused chunk waits for a
/// place under the smaller window before it is sent again. Against a server that takes
/// one stream at a time, a run of two dozen chunks then sends 30 to 45 chunks again; each
/// refused chunk coming back on its own backoff, again and again while the one stream
/// ran, sent about 180.
#[tokio::test]
async fn a_busy_server_gets_fewer_streams_not_the_same_ones_again() {
    let leads = 1200;
    // Each stream lasts a while: two lookups one after the other.
    let slow = slow_resolver(
        leads,
        Duration::from_millis(50),
        &["--max-lead-streams", "1"],
    )
    .await;

    let (verdicts, summary) = batch(
        &slow.server,
        &slow.input,
        &["--chunk", "50", "--retry-backoff-ms", "10"],
    );
    assert_eq!(verdicts.len(), leads);
    assert!(verdicts.iter().all(|v| v == "Valid"));
    let resent: u64 = summary
        .lines()
        .find_map(|line| line.strip_prefix("chunks sent again: "))
        .unwrap_or_else(|| panic!("no chunk was refused: {summary}"))
        .trim()
        .parse()
        .unwrap();
    // The first chunks all start before the first refusal comes back: 23 refused.
    assert!(resent >= 23, "{resent} chunks sent again");
    assert!(
        resent <= 24 * 3,
        "{resent} chunks sent again for 24 chunks: {summary}"
    );
}
