//! Configuration through the real binary: sections in the file, layers that override each
//! other both ways, old names still read, and errors that name the key and the layer.

use std::process::Command;

use leadcheck::testkit::DnsServer;

use crate::email::config_file;
use crate::support::Server;

/// Runs `leadcheck check` with these arguments and environment; returns its success and
/// stderr.
fn check(args: &[&str], env: &[(&str, &str)]) -> (bool, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_leadcheck"))
        .arg("check")
        .args(args)
        .env_remove("LEADCHECK_LOG")
        .env_remove("RUST_LOG")
        .envs(env.iter().copied())
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// `leadcheck serve` with this config file, these flags and this environment.
fn serve(dns: &DnsServer, file: &str, flags: &[&str], env: &[(&str, &str)]) -> Server {
    let mut args = vec!["serve", "--config", file, "--listen", "127.0.0.1:0"];
    let dns = dns.addr().to_string();
    args.extend(["--dns-server", &dns]);
    args.extend(flags);
    let args: Vec<String> = args.into_iter().map(str::to_string).collect();
    Server::start_env(&args, env)
}

/// The server's logs once its "ready" line is in them (stderr is read by a thread).
async fn ready_logs(server: &Server) -> String {
    for _ in 0..200 {
        let logs = server.logs();
        if logs.contains("leadcheck ready") {
            return logs;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    server.logs()
}

#[tokio::test]
async fn a_sectioned_file_is_read_and_the_environment_turns_its_boolean_off() {
    let dns = DnsServer::start().await.unwrap();
    let file = config_file("[smtp]\nprobe = true\n\n[limits]\nstream_idle = \"90s\"\n");
    let server = serve(&dns, &file, &[], &[("LEADCHECK_SMTP_PROBE", "false")]);
    let logs = ready_logs(&server).await;
    assert!(logs.contains("smtp_probe=false"), "{logs}");
    assert!(!logs.contains("deprecated"), "{logs}");
    drop(server);
    // The flag turns it back on over the environment.
    let server = serve(
        &dns,
        &file,
        &["--smtp-probe=true"],
        &[("LEADCHECK_SMTP_PROBE", "false")],
    );
    let logs = ready_logs(&server).await;
    assert!(logs.contains("smtp_probe=true"), "{logs}");
}

#[tokio::test]
async fn old_flat_names_start_the_server_with_a_warning() {
    let dns = DnsServer::start().await.unwrap();
    let file = config_file("dns_failure_ttl_secs = 1\nsmtp_probe = false\n");
    let server = serve(
        &dns,
        &file,
        &["--dns-timeout-ms", "1500"],
        &[("LEADCHECK_SHUTDOWN_GRACE_SECS", "3")],
    );
    let logs = ready_logs(&server).await;
    for old in [
        "dns_failure_ttl_secs",
        "smtp_probe",
        "--dns-timeout-ms",
        "LEADCHECK_SHUTDOWN_GRACE_SECS",
    ] {
        assert!(
            logs.lines()
                .any(|l| l.contains(old) && l.contains("deprecated")),
            "no warning for {old}: {logs}"
        );
    }
}

#[test]
fn errors_name_the_key_and_the_layer_and_never_panic() {
    let (ok, stderr) = check(&[], &[("LEADCHECK_DNS_TIMEOUT", "soon")]);
    assert!(!ok);
    assert!(stderr.contains("dns.timeout"), "{stderr}");
    assert!(
        stderr.contains("environment variable LEADCHECK_DNS_TIMEOUT"),
        "{stderr}"
    );
    assert!(!stderr.contains("panicked"), "{stderr}");

    let (ok, stderr) = check(&["--max-connections=-1"], &[]);
    assert!(!ok);
    assert!(
        stderr.contains("limits.max_connections from flag --max-connections"),
        "{stderr}"
    );

    let file = config_file("[dns]\ntimeout = \"1s\"\nretries = 3\n");
    let (ok, stderr) = check(&["--config", &file], &[]);
    assert!(!ok);
    assert!(stderr.contains(&file), "{stderr}");
    assert!(stderr.contains("retries"), "{stderr}");

    // A secret is never echoed, even when the value is refused for its old unit.
    let (ok, stderr) = check(
        &["--redis-key-secret", "s3cret-value", "--smtp-port=x"],
        &[],
    );
    assert!(!ok);
    assert!(!stderr.contains("s3cret-value"), "{stderr}");
}
