//! The `nhost-auth-fake` program: its first stdout line, its flags, and that it serves.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};

struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn spawn(args: &[&str]) -> (Running, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_nhost-auth-fake"))
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let running = Running(child);
    let mut line = String::new();
    BufReader::new(stdout).read_line(&mut line).unwrap();
    (running, line)
}

fn http(base: &str, method: &str, path: &str, body: &str) -> String {
    let addr = base
        .trim_start_matches("http://")
        .split('/')
        .next()
        .unwrap()
        .to_owned();
    let mut stream = TcpStream::connect(addr).unwrap();
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    answer
}

#[test]
fn first_line_names_the_base_url_and_the_server_answers() {
    let (_running, line) = spawn(&["--seed-user", "ann@example.com:pw-ann", "--jwt", "hs256"]);
    let base = line
        .strip_suffix('\n')
        .and_then(|l| l.strip_prefix("listening on "))
        .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
        .to_owned();
    assert!(
        base.starts_with("http://127.0.0.1:") && base.ends_with("/v1"),
        "{base}"
    );

    let health = http(&base, "GET", "/v1/healthz", "");
    assert!(health.starts_with("HTTP/1.1 200"));
    let signin = http(
        &base,
        "POST",
        "/v1/signin/email-password",
        r#"{"email":"ann@example.com","password":"pw-ann"}"#,
    );
    assert!(signin.starts_with("HTTP/1.1 200"), "{signin}");
    let jwks = http(&base, "GET", "/v1/.well-known/jwks.json", "");
    assert!(jwks.ends_with(r#"{"keys":null}"#), "{jwks}");
}

#[test]
fn flags_reach_the_server() {
    let (_running, line) = spawn(&[
        "--port",
        "0",
        "--access-token-ttl",
        "60",
        "--rotation",
        "grace=5",
        "--conceal-errors",
        "--latency-ms",
        "1",
        "--no-anonymous",
    ]);
    let base = line.trim().trim_start_matches("listening on ").to_owned();
    let config = http(&base, "GET", "/__admin/config", "");
    let body = config.split("\r\n\r\n").nth(1).unwrap();
    let config: serde_json::Value = serde_json::from_str(body).unwrap();
    assert_eq!(config["accessTokenTtlSecs"], 60);
    assert_eq!(config["rotation"], "grace=5");
    assert_eq!(config["concealErrors"], true);
    assert_eq!(config["anonymousUsers"], false);
    assert_eq!(config["latencyMs"], 1);
    let anonymous = http(&base, "POST", "/v1/signin/anonymous", "");
    assert!(anonymous.starts_with("HTTP/1.1 409"));
}

#[test]
fn help_documents_the_flags_and_bad_flags_fail() {
    let output = Command::new(env!("CARGO_BIN_EXE_nhost-auth-fake"))
        .arg("--help")
        .output()
        .unwrap();
    assert!(output.status.success());
    let help = String::from_utf8(output.stdout).unwrap();
    for flag in [
        "--port",
        "--access-token-ttl",
        "--rotation",
        "--conceal-errors",
        "--jwt",
        "--seed-user",
        "--latency-ms",
        "--no-anonymous",
    ] {
        assert!(help.contains(flag), "{flag} missing from --help");
    }
    let output = Command::new(env!("CARGO_BIN_EXE_nhost-auth-fake"))
        .args(["--rotation", "sometimes"])
        .output()
        .unwrap();
    assert!(!output.status.success());
}

#[cfg(unix)]
#[test]
fn sigterm_stops_it_cleanly() {
    let (mut running, line) = spawn(&[]);
    assert!(line.starts_with("listening on "));
    let status = Command::new("kill")
        .args(["-TERM", &running.0.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let exit = running.0.wait().unwrap();
    assert!(exit.success(), "{exit:?}");
}
