//! The results of a harness run: a printed table, JSON, Markdown and an SVG plot.

use std::fmt::Write as _;

use serde::Serialize;

use crate::memory::MemoryOutcome;
use crate::scenarios::{EconomyOutcome, StormOutcome};

/// The machine and the conditions of a run.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Machine {
    /// CPU model (`/proc/cpuinfo`).
    pub cpu: String,
    /// Logical CPUs.
    pub cpus: usize,
    /// Kernel (`uname -sr`).
    pub kernel: String,
    /// `rustc --version`.
    pub rustc: String,
    /// `node --version`.
    pub node: String,
    /// The installed `@nhost/nhost-js` version.
    pub nhost_js: String,
    /// `/proc/loadavg` before the run.
    pub load_before: String,
    /// `/proc/loadavg` after the run.
    pub load_after: String,
}

/// The settings of a run.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Settings {
    /// `--quick`.
    pub quick: bool,
    /// Measured seconds per timed run.
    pub duration_s: f64,
    /// Warm-up seconds before each timed run (not measured).
    pub warmup_s: f64,
    /// Keep-alive connections of the load generator.
    pub connections: usize,
    /// actix worker threads per server.
    pub workers: usize,
    /// Load generator threads.
    pub loadgen_threads: usize,
    /// Sessions (requests) of each "new session every request" run.
    pub cold_sessions: usize,
    /// Rounds of warm runs (the median is reported).
    pub repeat: usize,
    /// The short access-token lifetime of the second fake server (storms, cold runs), in s.
    pub short_ttl_s: u64,
}

/// One load run.
#[derive(Clone, Debug, Serialize)]
pub struct LoadRow {
    /// Which server: `actix, no session layer`, `actix + middleware`, `node + nhost-js 4`.
    pub setup: String,
    /// `warm` (a known session) or `refresh` (every request brings a new session).
    pub scenario: String,
    /// Requests answered 200.
    pub ok: u64,
    /// Other answers and connection failures.
    pub errors: u64,
    /// Seconds measured.
    pub elapsed_s: f64,
    /// Requests per second (the median run's, for warm runs repeated with `--repeat`).
    pub rps: f64,
    /// The lowest requests per second of the repeated runs.
    pub rps_min: f64,
    /// The highest requests per second of the repeated runs.
    pub rps_max: f64,
    /// Requests per second of every run, lowest first.
    pub rps_runs: Vec<f64>,
    /// Median latency (ms).
    pub p50_ms: f64,
    /// 99th percentile latency (ms).
    pub p99_ms: f64,
    /// Highest latency (ms).
    pub max_ms: f64,
    /// `POST /token` calls during the run.
    pub token_calls: u64,
    /// CPU time of the app server per request (µs): the actix threads, or the node process.
    pub app_cpu_us_per_request: f64,
    /// CPU time of the fake auth server per request (µs).
    pub auth_cpu_us_per_request: f64,
    /// CPU time of the load generator per request (µs).
    pub loadgen_cpu_us_per_request: f64,
}

/// A storm, for one side.
#[derive(Clone, Debug, Serialize)]
pub struct StormRow {
    /// `actix + middleware` or `node + nhost-js 4`.
    pub setup: String,
    /// `JWT inside the margin` or `JWT expired`.
    pub jwt: String,
    /// What happened.
    pub outcome: StormOutcome,
}

/// An economy run, for one side.
#[derive(Clone, Debug, Serialize)]
pub struct EconomyRow {
    /// `actix + middleware` or `node + nhost-js 4`.
    pub setup: String,
    /// What happened.
    pub outcome: EconomyOutcome,
}

/// Everything a run measured.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Results {
    /// The command line.
    pub command: String,
    /// The machine.
    pub machine: Machine,
    /// The settings.
    pub settings: Settings,
    /// Throughput and latency.
    pub load: Vec<LoadRow>,
    /// Warm throughput with the middleware over without a session layer, round by round
    /// (runs next to each other in time), per middleware setup.
    pub paired_ratios: Vec<(String, Vec<f64>)>,
    /// Refresh storms.
    pub storms: Vec<StormRow>,
    /// Auth-server economy.
    pub economy: Vec<EconomyRow>,
    /// Memory per cached session.
    pub memory: Option<MemoryOutcome>,
    /// What was left out and why.
    pub skipped: Vec<String>,
}

impl Results {
    fn row(&self, setup: &str, scenario: &str) -> Option<&LoadRow> {
        self.load
            .iter()
            .find(|r| r.setup == setup && r.scenario == scenario)
    }

    /// Throughput of a warm middleware run (`setup`) over the run without a session layer
    /// that got the same requests ([`baseline_of`](crate::baseline_of)).
    pub fn warm_ratio(&self, setup: &str) -> Option<f64> {
        let with = self.row(setup, "warm")?;
        let without = self.row(crate::baseline_of(setup), "warm")?;
        (without.rps > 0.0).then(|| with.rps / without.rps)
    }

    /// CPU per request of a warm middleware run (`setup`) over the run without a session layer
    /// that got the same requests.
    pub fn warm_cpu_added_us(&self, setup: &str) -> Option<f64> {
        let with = self.row(setup, "warm")?;
        let without = self.row(crate::baseline_of(setup), "warm")?;
        Some(with.app_cpu_us_per_request - without.app_cpu_us_per_request)
    }

    /// The table, as printed.
    pub fn table(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "\nThroughput and latency ({} connections, {} actix worker(s), warm: median of {} \
             rounds of {:.0} s runs; refresh: every request brings a new session, {} requests)",
            self.settings.connections,
            self.settings.workers,
            self.settings.repeat,
            self.settings.duration_s,
            self.settings.cold_sessions
        );
        let _ = writeln!(
            out,
            "{:<38} {:<8} {:>9} {:>6} {:>10} {:>15} {:>8} {:>8} {:>8} {:>6} {:>9} {:>9}",
            "setup",
            "scenario",
            "ok",
            "errors",
            "req/s",
            "runs min-max",
            "p50 ms",
            "p99 ms",
            "max ms",
            "token",
            "app µs/r",
            "auth µs/r"
        );
        for r in &self.load {
            let _ = writeln!(
                out,
                "{:<38} {:<8} {:>9} {:>6} {:>10.0} {:>15} {:>8.3} {:>8.3} {:>8.2} {:>6} {:>9.1} {:>9.1}",
                r.setup,
                r.scenario,
                r.ok,
                r.errors,
                r.rps,
                format!("{:.0}-{:.0}", r.rps_min, r.rps_max),
                r.p50_ms,
                r.p99_ms,
                r.max_ms,
                r.token_calls,
                r.app_cpu_us_per_request,
                r.auth_cpu_us_per_request
            );
        }
        for setup in [crate::SETUP_ACTIX_SESSION, crate::SETUP_ACTIX_SESSION_OWN] {
            if let (Some(ratio), Some(added)) =
                (self.warm_ratio(setup), self.warm_cpu_added_us(setup))
            {
                let _ = writeln!(
                    out,
                    "warm throughput, {setup} / {}: {ratio:.3} (target >= 0.9); \
                     app CPU added: {added:.1} µs per request",
                    crate::baseline_of(setup)
                );
            }
        }
        for (setup, ratios) in &self.paired_ratios {
            let list: Vec<String> = ratios.iter().map(|r| format!("{r:.3}")).collect();
            let _ = writeln!(
                out,
                "  round by round, {setup} / {}: {}",
                crate::baseline_of(setup),
                list.join(", ")
            );
        }
        if let (Some(rust), Some(node)) = (
            self.row(crate::SETUP_ACTIX_SESSION, "warm"),
            self.row(crate::SETUP_NODE, "warm"),
        ) && node.rps > 0.0
        {
            let _ = writeln!(
                out,
                "warm throughput, actix + middleware / node + nhost-js 4: {:.2}",
                rust.rps / node.rps
            );
        }
        if !self.storms.is_empty() {
            let _ = writeln!(
                out,
                "\nRefresh storms (N parallel requests, one cookie)\n{:<30} {:<24} {:>6} {:>11} {:>9} {:>7} {:>13} {:>9}",
                "setup", "JWT", "N", "POST /token", "rejected", "failed", "session lost", "ms"
            );
            for s in &self.storms {
                let o = &s.outcome;
                let _ = writeln!(
                    out,
                    "{:<30} {:<24} {:>6} {:>11} {:>9} {:>7} {:>13} {:>9.1}",
                    s.setup,
                    s.jwt,
                    o.n,
                    o.token_calls,
                    o.token_rejections,
                    o.failed,
                    if o.session_lost { "yes" } else { "no" },
                    o.elapsed_ms
                );
            }
        }
        if !self.economy.is_empty() {
            let _ = writeln!(
                out,
                "\nAuth-server economy (one browser, pages in a row within one JWT lifetime)\n{:<30} {:>6} {:>11} {:>7} {:>10}",
                "setup", "pages", "POST /token", "failed", "span s"
            );
            for e in &self.economy {
                let o = &e.outcome;
                let _ = writeln!(
                    out,
                    "{:<30} {:>6} {:>11} {:>7} {:>10.1}",
                    e.setup, o.pages, o.token_calls, o.failed, o.span_s
                );
            }
        }
        if let Some(m) = &self.memory {
            let _ = writeln!(
                out,
                "\nMemory per cached session ({} sessions, {} cached): {:.0} bytes allocated \
                 ({:.0} RSS); one session's own data {} bytes (JWT {} bytes); target <= 2048",
                m.sessions,
                m.cached,
                m.bytes_per_session,
                m.rss_bytes_per_session,
                m.session_data_bytes,
                m.jwt_bytes
            );
        }
        for s in &self.skipped {
            let _ = writeln!(out, "skipped: {s}");
        }
        out
    }

    /// The results as Markdown tables.
    pub fn markdown(&self) -> String {
        let mut out = String::new();
        let m = &self.machine;
        let _ = writeln!(out, "Command: `{}`\n", self.command);
        let _ = writeln!(
            out,
            "Machine: {} ({} CPUs), {}, {}, node {}, @nhost/nhost-js {}. Load average before: {}; after: {}.\n",
            m.cpu, m.cpus, m.kernel, m.rustc, m.node, m.nhost_js, m.load_before, m.load_after
        );
        let _ = writeln!(
            out,
            "| setup | scenario | ok | errors | req/s | req/s, all runs | p50 ms | p99 ms | max ms | POST /token | app CPU µs/req | auth CPU µs/req |\n| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
        );
        for r in &self.load {
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} | {:.0} | {} | {:.3} | {:.3} | {:.2} | {} | {:.1} | {:.1} |",
                r.setup,
                r.scenario,
                r.ok,
                r.errors,
                r.rps,
                r.rps_runs
                    .iter()
                    .map(|v| format!("{v:.0}"))
                    .collect::<Vec<_>>()
                    .join(", "),
                r.p50_ms,
                r.p99_ms,
                r.max_ms,
                r.token_calls,
                r.app_cpu_us_per_request,
                r.auth_cpu_us_per_request
            );
        }
        for setup in [crate::SETUP_ACTIX_SESSION, crate::SETUP_ACTIX_SESSION_OWN] {
            if let (Some(ratio), Some(added)) =
                (self.warm_ratio(setup), self.warm_cpu_added_us(setup))
            {
                let _ = writeln!(
                    out,
                    "\nWarm throughput, {setup} / {}: **{ratio:.3}**; app CPU added: {added:.1} µs per request.",
                    crate::baseline_of(setup)
                );
            }
        }
        if !self.storms.is_empty() {
            let _ = writeln!(
                out,
                "\n| setup | JWT | N | POST /token | rejected | failed requests | session lost | ms |\n| --- | --- | ---: | ---: | ---: | ---: | --- | ---: |"
            );
            for s in &self.storms {
                let o = &s.outcome;
                let _ = writeln!(
                    out,
                    "| {} | {} | {} | {} | {} | {} | {} | {:.1} |",
                    s.setup,
                    s.jwt,
                    o.n,
                    o.token_calls,
                    o.token_rejections,
                    o.failed,
                    if o.session_lost { "yes" } else { "no" },
                    o.elapsed_ms
                );
            }
        }
        if !self.economy.is_empty() {
            let _ = writeln!(
                out,
                "\n| setup | pages | POST /token | failed | span (s) |\n| --- | ---: | ---: | ---: | ---: |"
            );
            for e in &self.economy {
                let o = &e.outcome;
                let _ = writeln!(
                    out,
                    "| {} | {} | {} | {} | {:.1} |",
                    e.setup, o.pages, o.token_calls, o.failed, o.span_s
                );
            }
        }
        if let Some(mem) = &self.memory {
            let _ = writeln!(
                out,
                "\nMemory: {} sessions ({} cached): {:.0} bytes allocated per session, {:.0} bytes of RSS per session; one session's own data {} bytes (JWT {} bytes).",
                mem.sessions,
                mem.cached,
                mem.bytes_per_session,
                mem.rss_bytes_per_session,
                mem.session_data_bytes,
                mem.jwt_bytes
            );
        }
        for s in &self.skipped {
            let _ = writeln!(out, "\nSkipped: {s}");
        }
        out
    }

    /// An SVG plot: requests per second (left) and p50/p99 latency (right), on log scales,
    /// for every load run.
    pub fn svg(&self) -> String {
        svg(&self.load, &self.command)
    }
}

fn esc(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

const COLORS: [&str; 5] = ["#4e79a7", "#f28e2b", "#e15759", "#59a14f", "#9ecae9"];

fn color_of(setup: &str) -> &'static str {
    match setup {
        crate::SETUP_ACTIX_PLAIN => COLORS[0],
        crate::SETUP_ACTIX_SESSION => COLORS[1],
        crate::SETUP_ACTIX_SESSION_OWN => COLORS[2],
        crate::SETUP_ACTIX_PLAIN_OWN => COLORS[4],
        _ => COLORS[3],
    }
}

fn svg(rows: &[LoadRow], command: &str) -> String {
    let (width, height) = (960.0, 460.0);
    let (top, bottom) = (60.0, 330.0);
    let mut s = String::new();
    let _ = writeln!(
        s,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 {width} {height}" font-family="sans-serif" font-size="12">"#
    );
    let _ = writeln!(
        s,
        r##"<rect width="100%" height="100%" fill="white"/><text x="{}" y="22" text-anchor="middle" font-size="15">nhost-session benchmarks: throughput and latency</text><text x="{}" y="40" text-anchor="middle" fill="#555">{}</text>"##,
        width / 2.0,
        width / 2.0,
        esc(command)
    );
    // Left panel: requests per second, one bar per run, on a log scale (the refresh runs are
    // two orders of magnitude below the warm ones).
    let (lx0, lx1) = (70.0, 440.0);
    let rps_lo = rows
        .iter()
        .map(|r| r.rps)
        .filter(|v| *v > 0.0)
        .fold(1e9, f64::min)
        .log10()
        .floor()
        .max(0.0);
    let rps_hi = rows
        .iter()
        .map(|r| r.rps)
        .fold(10.0, f64::max)
        .log10()
        .ceil()
        .max(rps_lo + 1.0);
    let rps_y = |v: f64| {
        let t = (v.max(1.0).log10() - rps_lo) / (rps_hi - rps_lo);
        bottom - (bottom - top) * t.clamp(0.0, 1.0)
    };
    let _ = writeln!(
        s,
        r#"<text x="{}" y="{}" text-anchor="middle">requests per second (log scale)</text>"#,
        (lx0 + lx1) / 2.0,
        top - 4.0
    );
    let mut e = rps_lo;
    while e <= rps_hi {
        let v = 10f64.powf(e);
        let y = rps_y(v);
        let _ = writeln!(
            s,
            r##"<line x1="{lx0}" x2="{lx1}" y1="{y:.1}" y2="{y:.1}" stroke="#ddd"/><text x="{}" y="{:.1}" text-anchor="end">{v:.0}</text>"##,
            lx0 - 4.0,
            y + 4.0
        );
        e += 1.0;
    }
    let n = rows.len().max(1) as f64;
    let slot = (lx1 - lx0) / n;
    for (i, r) in rows.iter().enumerate() {
        let x = lx0 + slot * i as f64 + slot * 0.15;
        let w = slot * 0.7;
        let h = bottom - rps_y(r.rps);
        let _ = writeln!(
            s,
            r#"<rect x="{x:.1}" y="{:.1}" width="{w:.1}" height="{h:.1}" fill="{}"/><text x="{:.1}" y="{:.1}" text-anchor="middle" font-size="10">{:.0}</text>"#,
            bottom - h,
            color_of(&r.setup),
            x + w / 2.0,
            bottom - h - 3.0,
            r.rps
        );
        let _ = writeln!(
            s,
            r#"<text x="{:.1}" y="{:.1}" text-anchor="middle" font-size="10">{}</text>"#,
            x + w / 2.0,
            bottom + 14.0,
            esc(&r.scenario)
        );
    }
    // Right panel: p50 and p99 on a log scale.
    let (rx0, rx1) = (540.0, 920.0);
    let all: Vec<f64> = rows
        .iter()
        .flat_map(|r| [r.p50_ms, r.p99_ms])
        .filter(|v| *v > 0.0)
        .collect();
    let lo = all
        .iter()
        .copied()
        .fold(f64::INFINITY, f64::min)
        .max(0.001)
        .log10()
        .floor();
    let hi = all
        .iter()
        .copied()
        .fold(0.0, f64::max)
        .max(0.01)
        .log10()
        .ceil()
        .max(lo + 1.0);
    let y_of = |v: f64| bottom - (bottom - top) * ((v.max(1e-6).log10() - lo) / (hi - lo));
    let _ = writeln!(
        s,
        r#"<text x="{}" y="{}" text-anchor="middle">latency, ms (log scale): p50 solid, p99 light</text>"#,
        (rx0 + rx1) / 2.0,
        top - 4.0
    );
    let mut e = lo;
    while e <= hi {
        let v = 10f64.powf(e);
        let y = y_of(v);
        let _ = writeln!(
            s,
            r##"<line x1="{rx0}" x2="{rx1}" y1="{y:.1}" y2="{y:.1}" stroke="#ddd"/><text x="{}" y="{:.1}" text-anchor="end">{}</text>"##,
            rx0 - 4.0,
            y + 4.0,
            if v < 1.0 {
                format!("{v}")
            } else {
                format!("{v:.0}")
            }
        );
        e += 1.0;
    }
    let slot = (rx1 - rx0) / n;
    for (i, r) in rows.iter().enumerate() {
        let x = rx0 + slot * i as f64 + slot * 0.12;
        let w = slot * 0.36;
        for (j, (v, opacity)) in [(r.p50_ms, 1.0), (r.p99_ms, 0.45)].into_iter().enumerate() {
            let y = y_of(v).min(bottom);
            let bx = x + w * j as f64;
            let _ = writeln!(
                s,
                r#"<rect x="{bx:.1}" y="{y:.1}" width="{w:.1}" height="{:.1}" fill="{}" fill-opacity="{opacity}"/><text x="{:.1}" y="{:.1}" text-anchor="middle" font-size="9">{}</text>"#,
                bottom - y,
                color_of(&r.setup),
                bx + w / 2.0,
                y - 3.0,
                if v < 10.0 {
                    format!("{v:.2}")
                } else {
                    format!("{v:.0}")
                }
            );
        }
        let _ = writeln!(
            s,
            r#"<text x="{:.1}" y="{:.1}" text-anchor="middle" font-size="10">{}</text>"#,
            x + w,
            bottom + 14.0,
            esc(&r.scenario)
        );
    }
    // Legend: two per row.
    for (i, setup) in [
        crate::SETUP_ACTIX_PLAIN,
        crate::SETUP_ACTIX_SESSION,
        crate::SETUP_ACTIX_PLAIN_OWN,
        crate::SETUP_ACTIX_SESSION_OWN,
        crate::SETUP_NODE,
    ]
    .into_iter()
    .enumerate()
    {
        let lx = 70.0 + 440.0 * (i % 2) as f64;
        let ly = bottom + 32.0 + 20.0 * (i / 2) as f64;
        let _ = writeln!(
            s,
            r#"<rect x="{lx}" y="{ly}" width="12" height="12" fill="{}"/><text x="{}" y="{}">{}</text>"#,
            color_of(setup),
            lx + 18.0,
            ly + 10.0,
            esc(setup)
        );
    }
    let _ = writeln!(
        s,
        r##"<text x="70" y="{}" fill="#555" font-size="11">warm: a known session on every request; refresh: every request brings a new session that must be refreshed (POST /token each)</text>"##,
        bottom + 110.0
    );
    s.push_str("</svg>\n");
    s
}
