//! The Node anchor: `node bench/node-anchor/server.mjs`, Nhost's documented SSR middleware flow
//! with `@nhost/nhost-js` 4 (see that file), spawned as a child process.

use std::io::{self, BufRead as _, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

/// The anchor's folder, from this package's manifest directory.
pub fn anchor_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("node-anchor")
}

/// Why the anchor cannot run, if it cannot (no `node`, or `npm ci` not run).
pub fn unavailable_reason() -> Option<String> {
    let dir = anchor_dir();
    if !dir
        .join("node_modules/@nhost/nhost-js/package.json")
        .is_file()
    {
        return Some(format!(
            "{}/node_modules is missing: run `npm ci --prefix {}`",
            dir.display(),
            dir.display()
        ));
    }
    match Command::new("node").arg("--version").output() {
        Ok(out) if out.status.success() => None,
        _ => Some("`node` is not on PATH".to_owned()),
    }
}

/// The version of `@nhost/nhost-js` installed for the anchor.
pub fn nhost_js_version() -> Option<String> {
    let text =
        std::fs::read_to_string(anchor_dir().join("node_modules/@nhost/nhost-js/package.json"))
            .ok()?;
    let json: serde_json::Value = serde_json::from_str(&text).ok()?;
    json.get("version")?.as_str().map(str::to_owned)
}

/// The version of `node`.
pub fn node_version() -> Option<String> {
    let out = Command::new("node").arg("--version").output().ok()?;
    Some(String::from_utf8_lossy(&out.stdout).trim().to_owned())
}

/// A running anchor server; killed on drop.
#[derive(Debug)]
pub struct NodeAnchor {
    child: Child,
    addr: SocketAddr,
}

impl NodeAnchor {
    /// Starts the anchor against the auth service at `auth_url` (ending in `/v1`), writing
    /// its stderr (nhost-js's warnings) to `log`.
    ///
    /// # Errors
    /// When node cannot start or does not announce its port within 30 s.
    pub fn start(auth_url: &str, log: &Path) -> io::Result<Self> {
        let log = std::fs::File::create(log)?;
        let mut child = Command::new("node")
            .arg(anchor_dir().join("server.mjs"))
            .env("NHOST_AUTH_URL", auth_url)
            .env("PORT", "0")
            .env("NODE_ENV", "production")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::from(log))
            .spawn()?;
        let stdout = child
            .stdout
            .take()
            .ok_or_else(|| io::Error::other("no stdout"))?;
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut lines = BufReader::new(stdout).lines();
            if let Some(Ok(line)) = lines.next() {
                let _ = tx.send(line);
            }
            // Keep reading so that the child never blocks on a full pipe.
            for _ in lines {}
        });
        let line = match rx.recv_timeout(Duration::from_secs(30)) {
            Ok(line) => line,
            Err(_) => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(io::Error::other("the node anchor did not start"));
            }
        };
        // "listening 127.0.0.1:PORT"
        let addr = line
            .strip_prefix("listening ")
            .and_then(|a| a.trim().parse().ok())
            .ok_or_else(|| io::Error::other(format!("unexpected anchor output: {line}")))?;
        Ok(Self { child, addr })
    }

    /// Where it listens.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Its process id (for CPU accounting).
    pub fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for NodeAnchor {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
