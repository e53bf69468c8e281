//! `leadcheck batch` in a real network: servers killed and restarted or drained under a
//! run, runs stopped and resumed, a server that wants a token and a client certificate.
//! Every run's output is compared byte for byte with an uninterrupted run's.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use leadcheck::testkit::DnsServer;

use crate::support::Server;

const HEADER: &str = "First Name,Email,Phone,Country,Notes,LeadCreationDateTime";

/// An export of `rows` rows, each on a domain of its own (so each costs the server a
/// lookup): every 50th row short a field, every 50th a quoted note over two lines, every
/// 50th the previous row's person again (a duplicate for `--dedup`).
fn export(rows: usize) -> String {
    let mut text = format!("{HEADER}\n");
    for i in 0..rows {
        let phone = format!("+1 202 555 {:04}", i % 10_000);
        let line = match i % 50 {
            7 => format!("Short,short{i}@co{i}.test\n"),
            13 => format!(
                "Ann,ann{i}@co{i}.test,{phone},US,\"two\nlines, \"\"quoted\"\"\",2026-11-20\n"
            ),
            21 => format!("Ann,lead{}@co{}.test,{phone},US,again,\n", i - 1, i - 1),
            _ => format!("Ann,lead{i}@co{i}.test,{phone},US,plain,2026-11-20T10:00:00+02:00\n"),
        };
        text.push_str(&line);
    }
    text
}

/// `leadcheck serve` on `listen` with this DNS server, lookups allowed their time (a
/// DNS delay must not turn into timeouts, which would change verdicts between runs).
fn serve_args(dns: SocketAddr, listen: &str, extra: &[&str]) -> Vec<String> {
    let mut args: Vec<String> = ["serve", "--listen", listen, "--dns-server"]
        .map(String::from)
        .to_vec();
    args.push(dns.to_string());
    args.extend(["--dns-timeout-ms", "5000", "--dns-attempts", "1"].map(String::from));
    args.extend(extra.iter().map(|s| s.to_string()));
    args
}

/// A loopback port free now.
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// `leadcheck batch` over these servers, input and output, quiet, with `extra` flags.
fn batch(servers: &[String], input: &Path, output: &Path, extra: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_leadcheck"));
    command.arg("batch");
    for server in servers {
        command.args(["--server", server]);
    }
    command
        .arg("--input")
        .arg(input)
        .arg("--output")
        .arg(output)
        .arg("--quiet")
        .args(extra)
        .env_remove("LEADCHECK_AUTH_TOKEN")
        .stdin(Stdio::null());
    command
}

/// Runs a batch to its end and returns its output file's bytes; fails the test if the
/// run fails.
fn run_to_end(mut command: Command, output: &Path) -> (Vec<u8>, String) {
    let run = command.output().unwrap();
    let stderr = String::from_utf8_lossy(&run.stderr).into_owned();
    assert!(run.status.success(), "batch failed: {stderr}");
    (std::fs::read(output).unwrap(), stderr)
}

/// Waits until `path` holds more than `bytes` bytes, or the child has exited.
fn wait_for_output(child: &mut Child, path: &Path, bytes: u64) {
    let deadline = Instant::now() + Duration::from_secs(120);
    while std::fs::metadata(path).map_or(0, |m| m.len()) <= bytes {
        if child.try_wait().unwrap().is_some() {
            return;
        }
        assert!(Instant::now() < deadline, "no output from the batch run");
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// Waits for the child (reading its output meanwhile), killing it and failing the test
/// if it runs past a generous bound.
fn wait_bounded(child: Child) -> Output {
    let pid = child.id();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || tx.send(child.wait_with_output().unwrap()));
    rx.recv_timeout(Duration::from_secs(180))
        .unwrap_or_else(|_| {
            let _ = Command::new("kill")
                .args(["-KILL", &pid.to_string()])
                .status();
            panic!("leadcheck batch still running");
        })
}

/// Mail routes for every domain of [`export`]: its emails are valid, with dedup keys.
fn zones(dns: &DnsServer, rows: usize) {
    for i in 0..rows {
        dns.mx(&format!("co{i}.test"), &[(10, "mx.co.test")]);
    }
}

/// The rows of a CSV output, its header not counted.
fn csv_rows(output: &[u8]) -> usize {
    csv::ReaderBuilder::new()
        .flexible(true)
        .from_reader(output)
        .records()
        .count()
}

fn header_len() -> u64 {
    HEADER.len() as u64 + 1
}

/// A run stopped anywhere, even inside a row or inside a quoted field's line break, and
/// resumed with the same input and output, leaves the same bytes as a run never stopped;
/// the rows already out are not assessed again.
#[tokio::test]
async fn a_resumed_run_is_byte_identical_to_an_uninterrupted_one() {
    let dns = DnsServer::start().await.unwrap();
    zones(&dns, 300);
    let server = Server::start_args(&serve_args(dns.addr(), "127.0.0.1:0", &[]));
    let servers = [server.url()];
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("leads.csv");
    std::fs::write(&input, export(300)).unwrap();
    let full_path = dir.path().join("full.csv");
    let (full, _) = run_to_end(
        batch(&servers, &input, &full_path, &["--dedup", "--chunk", "40"]),
        &full_path,
    );
    let text = String::from_utf8(full.clone()).unwrap();
    assert_eq!(text.matches("\"two\nlines").count(), 6, "{text}");
    let rows = csv_rows(&full);
    assert_eq!(rows, 300 - 6, "every 50th row is a duplicate, dropped");
    let header = HEADER.len() + 1;
    let in_quotes = text.find("\"two\n").unwrap() + 5;
    let cuts = [
        0,
        header - 3,
        header,
        header + 7,
        in_quotes,
        full.len() / 2,
        full.len() - 1,
        full.len(),
    ];
    let out = dir.path().join("resumed.csv");
    for cut in cuts {
        std::fs::write(&out, &full[..cut]).unwrap();
        let (resumed, stderr) = run_to_end(
            batch(
                &servers,
                &input,
                &out,
                &["--dedup", "--resume", "--chunk", "40"],
            ),
            &out,
        );
        assert!(resumed == full, "cut at byte {cut}: {stderr}");
        if cut == full.len() - 1 {
            // Only the torn last row is assessed again.
            assert!(stderr.contains("assessed 1 |"), "{stderr}");
            let kept = format!("resumed after {} rows", rows - 1);
            assert!(stderr.contains(&kept), "{stderr}");
        }
        if cut == full.len() {
            assert!(stderr.contains("assessed 0 |"), "{stderr}");
        }
    }

    // Another input under the same output: refused, the output left alone.
    let other = dir.path().join("other.csv");
    std::fs::write(&other, export(300).replace("lead5@", "someone.else@")).unwrap();
    std::fs::write(&out, &full[..full.len() / 2]).unwrap();
    let run = batch(&servers, &other, &out, &["--resume"])
        .output()
        .unwrap();
    assert!(!run.status.success());
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(stderr.contains("cannot resume"), "{stderr}");
    assert!(stderr.contains("not the same input"), "{stderr}");

    // JSON Lines: each answer's request id names its input line.
    let jsonl = dir.path().join("leads.jsonl");
    let lines: String = (0..120)
        .map(|i| match i % 40 {
            5 => "not json\n".to_string(),
            _ => format!("{{\"email\":\"lead{i}@co{i}.test\",\"phone\":\"+1 202 555 {i:04}\"}}\n"),
        })
        .collect();
    std::fs::write(&jsonl, lines).unwrap();
    let full_path = dir.path().join("full.jsonl");
    let jsonl_flags = ["--format", "jsonl", "--chunk", "16"];
    let (full, _) = run_to_end(
        batch(&servers, &jsonl, &full_path, &jsonl_flags),
        &full_path,
    );
    let out = dir.path().join("resumed.jsonl");
    for cut in [1, full.len() / 3, full.len() - 2] {
        std::fs::write(&out, &full[..cut]).unwrap();
        let flags = [&jsonl_flags[..], &["--resume"]].concat();
        let (resumed, stderr) = run_to_end(batch(&servers, &jsonl, &out, &flags), &out);
        assert!(resumed == full, "cut at byte {cut}: {stderr}");
    }
}

/// A disturbed run's scene: a DNS server that answers after 5 ms, with mail routes for
/// an export of 2,000 rows in `dir`, and the output of an undisturbed run over it with
/// the same flags, made on a server of its own (so the servers under test start cold).
struct Scene {
    dns: DnsServer,
    dir: tempfile::TempDir,
    input: PathBuf,
    full: Vec<u8>,
}

impl Scene {
    async fn new(flags: &[&str]) -> Scene {
        let dns = DnsServer::start().await.unwrap();
        dns.set_delay(Duration::from_millis(5));
        zones(&dns, 2000);
        let reference = Server::start_args(&serve_args(dns.addr(), "127.0.0.1:0", &[]));
        let dir = tempfile::tempdir().unwrap();
        let input = dir.path().join("leads.csv");
        std::fs::write(&input, export(2000)).unwrap();
        let full_path = dir.path().join("full.csv");
        let command = batch(&[reference.url()], &input, &full_path, flags);
        let (full, _) = tokio::task::block_in_place(|| run_to_end(command, &full_path));
        Scene {
            dns,
            dir,
            input,
            full,
        }
    }

    /// A server on `listen` with the scene's DNS server.
    fn server(&self, listen: &str) -> Server {
        Server::start_args(&serve_args(self.dns.addr(), listen, &[]))
    }

    /// Starts `leadcheck batch` over `servers` with `flags` into `out`; returns once it
    /// has written a row (or ended).
    fn start(&self, servers: &[String], out: &Path, flags: &[&str]) -> Child {
        let mut child = batch(servers, &self.input, out, flags)
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        tokio::task::block_in_place(|| wait_for_output(&mut child, out, header_len()));
        child
    }
}

/// Ctrl-C ends a run with complete rows written (a prefix of the uninterrupted output),
/// and `--resume` finishes it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ctrl_c_leaves_whole_rows_and_resume_finishes_the_job() {
    let scene = Scene::new(&[]).await;
    let server = scene.server("127.0.0.1:0");
    let out = scene.dir.path().join("out.csv");
    let child = scene.start(&[server.url()], &out, &["--streams", "1", "--chunk", "10"]);
    let status = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let run = tokio::task::block_in_place(|| wait_bounded(child));
    let stderr = String::from_utf8_lossy(&run.stderr);
    let partial = std::fs::read(&out).unwrap();
    if !run.status.success() {
        assert!(stderr.contains("interrupted after"), "{stderr}");
        assert!(stderr.contains("--resume"), "{stderr}");
    }
    assert!(partial.ends_with(b"\n") && scene.full.starts_with(&partial));
    assert!(
        partial.len() < scene.full.len(),
        "the run ended before Ctrl-C"
    );

    let command = batch(&[server.url()], &scene.input, &out, &["--resume"]);
    let (resumed, stderr) = tokio::task::block_in_place(|| run_to_end(command, &out));
    assert!(resumed == scene.full, "{stderr}");
}

/// A server killed (SIGKILL) under a run and started again on its port: the run waits
/// for it, sends the unanswered rows again, and ends with the output of a run never
/// disturbed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_killed_and_restarted_mid_run_loses_no_row() {
    let flags = ["--dedup", "--chunk", "10", "--streams", "2"];
    let scene = Scene::new(&flags).await;
    let listen = format!("127.0.0.1:{}", free_port());
    let server = scene.server(&listen);
    let out = scene.dir.path().join("out.csv");
    let retry = ["--retry-backoff-ms", "50"];
    let child = scene.start(&[server.url()], &out, &[&flags[..], &retry].concat());
    drop(server); // SIGKILL, and waited for
    let restarted = scene.server(&listen);
    let run = tokio::task::block_in_place(|| wait_bounded(child));
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(run.status.success(), "{stderr}");
    assert!(stderr.contains("sent again"), "no stream failed: {stderr}");
    assert!(std::fs::read(&out).unwrap() == scene.full, "{stderr}");
    drop(restarted);
}

/// One of two servers drains (SIGTERM) under a run: its streams end or are handed back,
/// the other server takes the rest, and the run succeeds with the undisturbed output.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_draining_mid_run_hands_over_to_the_other() {
    let flags = ["--chunk", "10", "--streams", "4"];
    let scene = Scene::new(&flags).await;
    let draining = scene.server("127.0.0.1:0");
    let staying = scene.server("127.0.0.1:0");
    let out = scene.dir.path().join("out.csv");
    let servers = [draining.url(), staying.url()];
    let retry = ["--retry-backoff-ms", "50"];
    let child = scene.start(&servers, &out, &[&flags[..], &retry].concat());
    draining.signal("TERM");
    let run = tokio::task::block_in_place(|| wait_bounded(child));
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(run.status.success(), "{stderr}");
    assert!(std::fs::read(&out).unwrap() == scene.full, "{stderr}");
    let logs = draining.logs();
    assert!(logs.contains("shutting down"), "{logs}");
}

/// A server that wants a bearer token and a client certificate serves a batch client
/// that has both (token from a file or the environment); without the token the run
/// fails at once, naming the status and the row, not retried, the token never shown.
#[tokio::test]
async fn a_batch_client_with_a_token_and_a_certificate_is_served_over_mutual_tls() {
    let dns = DnsServer::start().await.unwrap();
    let pki = crate::security::pki();
    let dir = tempfile::tempdir().unwrap();
    let (cert, key, ca) = pki.server_files(dir.path());
    let write = |name: &str, text: &str| {
        let path = dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        path.display().to_string()
    };
    let tokens = write("tokens", "s3cret-batch-token\n");
    let client_cert = write("client.pem", &pki.client_cert);
    let client_key = write("client.key", &pki.client_key);
    let server = Server::start(
        dns.addr(),
        &[
            "--tls-cert",
            &cert,
            "--tls-key",
            &key,
            "--tls-client-ca",
            &ca,
            "--auth-tokens-file",
            &tokens,
        ],
    );
    let urls = [format!("https://127.0.0.1:{}", server.addr.port())];
    let input = dir.path().join("leads.csv");
    std::fs::write(&input, export(30)).unwrap();
    let out = dir.path().join("out.csv");
    let tls = [
        "--tls-ca",
        &ca,
        "--tls-cert",
        &client_cert,
        "--tls-key",
        &client_key,
        "--tls-domain",
        "localhost",
    ];

    let with_file = [&tls[..], &["--auth-token-file", &tokens]].concat();
    let (written, _) = run_to_end(batch(&urls, &input, &out, &with_file), &out);
    assert_eq!(csv_rows(&written), 30);

    let mut with_env = batch(&urls, &input, &out, &tls);
    with_env.env("LEADCHECK_AUTH_TOKEN", "s3cret-batch-token");
    run_to_end(with_env, &out);

    for token in [None, Some("wrong-token-4711")] {
        let mut command = batch(&urls, &input, &out, &tls);
        if let Some(token) = token {
            command.env("LEADCHECK_AUTH_TOKEN", token);
        }
        let run = command.output().unwrap();
        assert!(!run.status.success());
        let stderr = String::from_utf8_lossy(&run.stderr);
        assert!(stderr.contains("Unauthenticated"), "{stderr}");
        assert!(stderr.contains("from line 2"), "{stderr}");
        assert!(stderr.contains("--auth-token"), "{stderr}");
        assert!(!stderr.contains("sent again"), "retried: {stderr}");
        assert!(!stderr.contains("wrong-token-4711"), "{stderr}");
    }

    // Without a client certificate the server does not serve the run.
    let no_cert = [
        "--tls-ca",
        &ca,
        "--tls-domain",
        "localhost",
        "--auth-token-file",
        &tokens,
        "--retry-budget",
        "1",
        "--retry-backoff-ms",
        "10",
    ];
    let run = batch(&urls, &input, &out, &no_cert).output().unwrap();
    assert!(!run.status.success());
    // An https server without a CA to check it by is refused before any connection.
    let run = batch(&urls, &input, &out, &[]).output().unwrap();
    assert!(!run.status.success());
    assert!(String::from_utf8_lossy(&run.stderr).contains("--tls-ca"));
}

/// A row that is not a lead is written with a reason that names its line and its field;
/// neither the reason nor the log repeats the value (a phone number here).
#[tokio::test]
async fn a_bad_row_is_named_by_line_and_field_never_by_value() {
    let dns = DnsServer::start().await.unwrap();
    let server = Server::start_args(&serve_args(dns.addr(), "127.0.0.1:0", &[]));
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("leads.jsonl");
    std::fs::write(
        &input,
        "{\"email\":\"ann@co.test\"}\n{\"email\":\"bob@co.test\",\"phone\":2025550199}\n",
    )
    .unwrap();
    let out = dir.path().join("out.jsonl");
    let (written, stderr) = run_to_end(
        batch(&[server.url()], &input, &out, &["--format", "jsonl"]),
        &out,
    );
    let text = String::from_utf8(written).unwrap();
    let second: serde_json::Value = serde_json::from_str(text.lines().nth(1).unwrap()).unwrap();
    assert_eq!(second["requestId"], "2");
    assert_eq!(second["reasons"][0]["code"], "row.malformed");
    let message = second["reasons"][0]["message"].as_str().unwrap();
    assert!(message.contains("line 2"), "{message}");
    assert!(message.contains("field phone"), "{message}");
    assert!(!text.contains("2025550199"), "{text}");
    assert!(stderr.contains("line=2"), "{stderr}");
    assert!(!stderr.contains("2025550199"), "{stderr}");

    // CSV: a creation time that does not read is noted without its value.
    let input = dir.path().join("leads.csv");
    std::fs::write(
        &input,
        format!("{HEADER}\nAnn,ann@co.test,,US,,call 2025550143 at noon\n"),
    )
    .unwrap();
    let out = dir.path().join("out.csv");
    let (written, _) = run_to_end(batch(&[server.url()], &input, &out, &[]), &out);
    let mut reader = csv::Reader::from_reader(written.as_slice());
    let record = reader.records().next().unwrap().unwrap();
    let reasons = &record[record.len() - 2];
    assert!(reasons.contains("row.bad_created_at"), "{reasons}");
    assert!(!reasons.contains("2025550143"), "{reasons}");
}
