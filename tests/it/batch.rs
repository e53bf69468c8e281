//! `leadcheck batch` end to end: a CSV export through a running server.

use std::io::Write;
use std::process::Command;

use leadcheck::testkit::DnsServer;

use crate::support::Server;

const HEADER: &str = "First Name,LastName,EMAIL,phone_number,Country,Company,Title,LeadSource,LeadCreationDateTime,CRM Id";

/// Row i of the export; every 100th row repeats row i-1's person (gmail dots and case),
/// every 97th is short a field, every 89th has a field that is not UTF-8.
fn row(i: usize) -> Vec<u8> {
    if i % 97 == 50 {
        return format!("Broken,Row{i},broken{i}@contoso.test\n").into_bytes();
    }
    if i % 89 == 40 {
        let mut line = b"Bad\x00,".to_vec();
        line.extend_from_slice(b"Bytes\xff\xfe,");
        line.extend_from_slice(
            format!("bad{i}@contoso.test,,US,Contoso,CTO,AzurePortal-Create | a.b,,id{i}\n")
                .as_bytes(),
        );
        return line;
    }
    let email = if i % 100 == 99 {
        format!("Lead.{}@GMail.com", i - 1)
    } else if i.is_multiple_of(2) {
        format!("lead{i}@gmail.com")
    } else {
        format!("person{i}@contoso.test")
    };
    let phone = format!("+1 202 55{:01} {:04}", i % 10, (i * 7) % 10_000);
    format!(
        "Ann,Lee {i},{email},{phone},United States,Contoso,VP Sales,AppSource (SPZA)-StartTestDrive | contoso.addon,2026-11-20 10:00:00,id{i}\n"
    )
    .into_bytes()
}

#[tokio::test]
async fn a_csv_export_is_assessed_row_by_row() {
    let dns = DnsServer::start().await.unwrap();
    dns.mx("contoso.test", &[(10, "mx.contoso.test")]);
    dns.mx("gmail.com", &[(5, "gmail-smtp-in.l.google.com")]);
    let server = Server::start(dns.addr(), &[]);

    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("leads.csv");
    let output = dir.path().join("results.csv");
    let mut file = std::fs::File::create(&input).unwrap();
    writeln!(file, "{HEADER}").unwrap();
    let rows = 1200;
    for i in 0..rows {
        file.write_all(&row(i)).unwrap();
    }
    drop(file);

    let run = Command::new(env!("CARGO_BIN_EXE_leadcheck"))
        .args(["batch", "--server", &server.url(), "--input"])
        .arg(&input)
        .arg("--output")
        .arg(&output)
        .args(["--dedup", "--chunk", "100", "--quiet"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(run.status.success(), "batch failed: {stderr}");

    let malformed: Vec<usize> = (0..rows).filter(|i| i % 97 == 50 || i % 89 == 40).collect();
    let duplicates: Vec<usize> = (0..rows)
        .filter(|i| i % 100 == 99 && !malformed.contains(i) && !malformed.contains(&(i - 1)))
        .collect();
    assert!(
        stderr.contains(&format!("rejected {}", malformed.len())),
        "{stderr}"
    );
    assert!(
        stderr.contains(&format!("duplicates dropped {}", duplicates.len())),
        "{stderr}"
    );

    let mut reader = csv::ReaderBuilder::new()
        .flexible(true)
        .from_path(&output)
        .unwrap();
    let headers = reader.headers().unwrap().clone();
    assert_eq!(headers.len(), 10 + 6);
    assert_eq!(&headers[9], "CRM Id");
    assert_eq!(&headers[10], "EmailValidity");
    assert_eq!(&headers[15], "DedupKey");
    let records: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    let expected: Vec<usize> = (0..rows).filter(|i| !duplicates.contains(i)).collect();
    assert_eq!(records.len(), expected.len());
    for (record, &i) in records.iter().zip(&expected) {
        let reasons = &record[record.len() - 2];
        if malformed.contains(&i) {
            assert!(
                reasons.starts_with("row.malformed: line"),
                "row {i}: {record:?}"
            );
            assert_eq!(&record[record.len() - 6], "", "row {i}");
            continue;
        }
        assert_eq!(
            &record[9],
            format!("id{i}"),
            "unknown columns are kept, in order"
        );
        assert_eq!(&record[10], "Valid", "row {i}: {record:?}");
        let key = &record[15];
        if i.is_multiple_of(2) || i % 100 == 99 {
            let n = if i % 100 == 99 { i - 1 } else { i };
            assert_eq!(key, format!("email:lead{n}@gmail.com"), "row {i}");
        } else {
            assert_eq!(key, format!("email:person{i}@contoso.test"), "row {i}");
        }
        let score: u32 = record[13].parse().unwrap();
        assert!(score <= 100);
    }
}

#[test]
fn an_unreachable_server_fails_fast_with_a_clear_message() {
    // A port nothing listens on: bind, note it, close.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("leads.csv");
    std::fs::write(&input, format!("{HEADER}\n")).unwrap();
    let run = Command::new(env!("CARGO_BIN_EXE_leadcheck"))
        .args(["batch", "--server", &format!("http://127.0.0.1:{port}")])
        .arg("--input")
        .arg(&input)
        .args(["--output", "-", "--connect-timeout-ms", "2000"])
        .output()
        .unwrap();
    assert!(!run.status.success());
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(stderr.contains("cannot reach server"), "{stderr}");
}

#[tokio::test]
async fn json_lines_in_and_out() {
    let dns = DnsServer::start().await.unwrap();
    dns.mx("contoso.test", &[(10, "mx.contoso.test")]);
    let server = Server::start(dns.addr(), &[]);
    let input = "{\"firstName\":\"Ann\",\"email\":\"ann@contoso.test\",\"createdAt\":\"2026-11-20T10:00:00Z\"}\nnot json\n{\"email\":\"bob@contoso.test\"}\n";
    let mut child = Command::new(env!("CARGO_BIN_EXE_leadcheck"))
        .args([
            "batch",
            "--server",
            &server.url(),
            "--input",
            "-",
            "--output",
            "-",
        ])
        .args(["--format", "jsonl", "--quiet"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lines: Vec<serde_json::Value> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 3);
    assert_eq!(lines[0]["requestId"], "1");
    assert_eq!(lines[0]["email"]["validity"], "EMAIL_VALIDITY_VALID");
    assert_eq!(lines[1]["reasons"][0]["code"], "row.malformed");
    assert_eq!(lines[2]["dedupKey"], "email:bob@contoso.test");
}

#[tokio::test]
async fn an_input_that_cannot_be_read_fails_the_run_naming_it() {
    let dns = DnsServer::start().await.unwrap();
    let server = Server::start(dns.addr(), &[]);
    // A directory opens but fails every read: the run once wrote an error row per
    // failed read, for ever.
    let dir = tempfile::tempdir().unwrap();
    let output = dir.path().join("out.jsonl");
    let mut child = Command::new(env!("CARGO_BIN_EXE_leadcheck"))
        .args(["batch", "--server", &server.url(), "--input"])
        .arg(dir.path())
        .arg("--output")
        .arg(&output)
        .args(["--format", "jsonl", "--quiet"])
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while child.try_wait().unwrap().is_none() {
        if std::time::Instant::now() > deadline {
            child.kill().unwrap();
            panic!("leadcheck batch still running on an unreadable input");
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let run = child.wait_with_output().unwrap();
    assert!(!run.status.success());
    let stderr = String::from_utf8_lossy(&run.stderr);
    let named = format!("cannot read {}", dir.path().display());
    assert!(stderr.contains(&named), "{stderr}");
}

/// Runs `leadcheck batch` on `rows` generated rows fed through stdin, reads its output,
/// and returns (output lines, peak resident memory in KiB, from /proc's VmHWM).
fn batch_peak_memory(server: &Server, rows: usize) -> (usize, u64) {
    use std::io::{BufRead, BufReader};
    use std::process::Stdio;

    let mut child = Command::new(env!("CARGO_BIN_EXE_leadcheck"))
        .args(["batch", "--server", &server.url()])
        .args(["--input", "-", "--output", "-", "--quiet"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let writer = std::thread::spawn(move || {
        let mut out = std::io::BufWriter::new(&mut stdin);
        writeln!(out, "{HEADER}").unwrap();
        for i in 0..rows {
            writeln!(
                out,
                "Ann,Lee,lead{i}@gmail.com,+1 202 555 {:04},US,Contoso,VP Sales,AzurePortal-Create | a.b,,id{i}",
                i % 10_000
            )
            .unwrap();
        }
    });
    let stdout = child.stdout.take().unwrap();
    let reader = std::thread::spawn(move || BufReader::new(stdout).lines().count());
    let mut peak_kib = 0;
    while child.try_wait().unwrap().is_none() {
        if let Some(kib) = leadcheck::testkit::process::peak_rss_kib(child.id()) {
            peak_kib = peak_kib.max(kib);
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    writer.join().unwrap();
    (reader.join().unwrap(), peak_kib)
}

/// The client streams: its memory holds the chunks in flight, not the export. Ten times
/// the rows must not cost anywhere near ten times the memory (holding 180,000 more rows
/// and their results would take well over 50 MiB). The allowance is the in-flight window
/// (`--in-flight`, 8192 rows with their answers): on a loaded machine only the longer
/// run may fill it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn batch_memory_stays_flat_as_the_export_grows() {
    let dns = DnsServer::start().await.unwrap();
    dns.mx("gmail.com", &[(5, "gmail-smtp-in.l.google.com")]);
    let server = Server::start(dns.addr(), &[]);
    let (small, server_ref) = (20_000, &server);
    let ((small_lines, small_kib), (large_lines, large_kib)) = tokio::task::block_in_place(|| {
        (
            batch_peak_memory(server_ref, small),
            batch_peak_memory(server_ref, small * 10),
        )
    });
    assert_eq!(small_lines, small + 1, "every row and the header came back");
    assert_eq!(large_lines, small * 10 + 1);
    assert!(small_kib > 0 && large_kib > 0, "VmHWM was read");
    assert!(
        large_kib < small_kib + 32 * 1024,
        "peak memory grew from {small_kib} KiB to {large_kib} KiB for 10x the rows"
    );
}

/// Runs `leadcheck batch` over `input` into `output` with `extra` flags; returns stderr.
fn run_batch(
    server: &Server,
    input: &std::path::Path,
    output: &std::path::Path,
    extra: &[&str],
) -> String {
    let run = Command::new(env!("CARGO_BIN_EXE_leadcheck"))
        .args(["batch", "--server", &server.url(), "--quiet", "--input"])
        .arg(input)
        .arg("--output")
        .arg(output)
        .args(["--as-of", "2026-12-01T00:00:00Z"])
        .args(extra)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&run.stderr).into_owned();
    assert!(run.status.success(), "batch failed: {stderr}");
    stderr
}

/// A Partner Center export as the localized portal writes it: its columns named in the
/// portal's language, each read as its field (scored as the English export is, and not as
/// an export whose company, call to action and lead type columns are unknown); the
/// filters then keep the rows a CRM wants, and a filtered run resumes to the same bytes.
#[tokio::test]
async fn localized_exports_load_and_filters_keep_what_a_crm_wants() {
    let dns = DnsServer::start().await.unwrap();
    dns.mx("contoso.test", &[(10, "mx.contoso.test")]);
    let server = Server::start(dns.addr(), &[]);
    let dir = tempfile::tempdir().unwrap();
    let headers = [
        "First name,Job title,Email,Phone,Country or region,Customer name,Call to action,Lead type,Created",
        "Nombre,Cargo,Correo electrónico,Teléfono,País o región,Nombre del cliente,Llamada a la acción,Tipo de cliente potencial,Created",
        "Nome,Cargo,Endereço de email,Telefone,País ou região,Nome do cliente,Chamada para ação,Tipo de lead,Created",
        "Имя,Должность,Электронная почта,Телефон,Страна или регион,Имя клиента,Призыв к действию,Тип потенциального клиента,Created",
        // The control: company, call to action and lead type in columns nobody knows.
        "First name,Job title,Email,Phone,Country or region,Column A,Column B,Column C,Created",
    ];
    // A month old on the as-of day: available as a Free-trial offer lead, expired as a
    // profile lead; the third row has no contact that works.
    let rows = [
        (
            "ana@contoso.test",
            "+44 20 7183 8750",
            "Free trial",
            "Offer",
        ),
        (
            "rui@contoso.test",
            "+44 20 7183 8751",
            "Contact me",
            "Profile",
        ),
        ("x@nowhere.test", "12", "Free trial", "Offer"),
    ];
    let localized = |language: usize, value: &'static str| match (language, value) {
        (1 | 2, "Offer") => "Oferta",
        (1 | 2, "Profile") => "Perfil",
        (3, "Offer") => "Предложение",
        (3, "Profile") => "Профиль",
        _ => value,
    };
    let mut english_scores = Vec::new();
    for (language, header) in headers.iter().enumerate() {
        let input = dir.path().join(format!("export{language}.csv"));
        let mut file = std::fs::File::create(&input).unwrap();
        writeln!(file, "{header}").unwrap();
        for (email, phone, action, kind) in rows {
            writeln!(
                file,
                "Ann,CEO,{email},{phone},GB,Contoso,{action},{},2026-11-01T00:00:00Z",
                localized(language, kind)
            )
            .unwrap();
        }
        drop(file);

        let all = dir.path().join(format!("all{language}.csv"));
        run_batch(&server, &input, &all, &[]);
        let records: Vec<csv::StringRecord> = csv::Reader::from_path(&all)
            .unwrap()
            .records()
            .map(Result::unwrap)
            .collect();
        assert_eq!(records.len(), 3, "{header}");
        assert_eq!(&records[2][9], "Invalid", "{header}");
        assert_eq!(&records[2][10], "Invalid", "{header}");
        let scores: Vec<String> = records.iter().map(|r| r[12].to_string()).collect();
        if language == 0 {
            let score = |i: usize| scores[i].parse::<u32>().unwrap();
            assert!(
                score(0) > score(1),
                "an available offer lead outscores an expired profile lead: {scores:?}"
            );
            english_scores = scores;
        } else if language < 4 {
            assert_eq!(scores, english_scores, "{header}");
        } else {
            assert_ne!(scores, english_scores, "the control reads the same fields");
            continue;
        }

        // Only rows with a valid contact, of high quality.
        let kept = dir.path().join(format!("kept{language}.csv"));
        let flags = ["--only-valid", "--min-quality", "high"];
        let stderr = run_batch(&server, &input, &kept, &flags);
        let records: Vec<csv::StringRecord> = csv::Reader::from_path(&kept)
            .unwrap()
            .records()
            .map(Result::unwrap)
            .collect();
        assert!(!records.is_empty(), "{header}: {stderr}");
        for r in &records {
            assert!(&r[9] == "Valid" || &r[10] == "Valid", "{r:?}");
            assert_eq!(&r[11], "High", "{r:?}");
        }
        assert!(records.iter().all(|r| &r[2] != "x@nowhere.test"));
        let left_out = 3 - records.len();
        assert!(
            stderr.contains(&format!("filtered out {left_out}")),
            "{stderr}"
        );

        // A filtered run stopped after its first row written resumes to the same bytes.
        let full = std::fs::read(&kept).unwrap();
        let first_row_end = full
            .iter()
            .enumerate()
            .filter(|(_, &b)| b == b'\n')
            .nth(1)
            .map(|(i, _)| i + 1)
            .unwrap();
        let resumed = dir.path().join(format!("resumed{language}.csv"));
        std::fs::write(&resumed, &full[..first_row_end]).unwrap();
        let mut flags = flags.to_vec();
        flags.push("--resume");
        run_batch(&server, &input, &resumed, &flags);
        assert!(std::fs::read(&resumed).unwrap() == full, "{header}");
    }
}
