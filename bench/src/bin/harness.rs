//! The benchmark harness: one command, a table at the end.
//!
//! ```text
//! npm ci --prefix bench/node-anchor
//! cargo run --release -p nhost-session-bench --bin harness [-- --quick] [options]
//! ```
//!
//! It starts two fake auth servers in process (access tokens of 900 s, and of a few seconds
//! for the runs that need a JWT inside the refresh margin), the actix servers (no session
//! layer; the middleware), the Node anchor (`node bench/node-anchor/server.mjs`, once per
//! auth server), then measures:
//!
//! 1. throughput and latency, warm (a known session) and refresh (a new session on every
//!    request), with CPU time per request by role;
//! 2. refresh storms (N parallel requests, one cookie) for both sides;
//! 3. the economy run (one browser, many pages within one JWT lifetime);
//! 4. bytes per cached session (in a child process, `--memory-child N`).
//!
//! Options: `--quick`, `--duration S`, `--warmup S`, `--connections N`, `--workers N`,
//! `--loadgen-threads N`, `--cold-sessions N`, `--storms 10,100,1000`, `--repeat N`, `--pages N`,
//! `--memory-sessions N`, `--short-ttl S`, `--no-node`, `--out DIR`.

#![allow(unsafe_code, reason = "the counting global allocator below")]

use std::alloc::{GlobalAlloc, Layout, System};
use std::error::Error;
use std::io;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::time::{Duration, Instant};

use nhost_session_actix::SessionMiddleware;
use nhost_session_bench::cpu::{self, Role};
use nhost_session_bench::loadgen::{self, CookiePool, Cookies, Limit, LoadResult};
use nhost_session_bench::report::{EconomyRow, LoadRow, Machine, Results, Settings, StormRow};
use nhost_session_bench::scenarios::{self, Jar};
use nhost_session_bench::{
    SETUP_ACTIX_PLAIN, SETUP_ACTIX_PLAIN_OWN, SETUP_ACTIX_SESSION, SETUP_ACTIX_SESSION_OWN,
    SETUP_NODE, apps, memory, node,
};
use nhost_session_cookie::CookieConfig;
use nhost_session_core::{AuthUrl, ManualClock};
use nhost_session_testkit::{FakeAuthServer, SeedUser};

/// Counts live heap bytes when enabled (only in the `--memory-child` process); otherwise it
/// is the system allocator plus one relaxed load per call.
struct CountingAllocator;

static COUNTING: AtomicBool = AtomicBool::new(false);
static LIVE_BYTES: AtomicI64 = AtomicI64::new(0);
static LIVE_ALLOCATIONS: AtomicI64 = AtomicI64::new(0);

fn add_live(bytes: usize, sign: i64) {
    if COUNTING.load(Ordering::Relaxed) {
        LIVE_BYTES.fetch_add(
            sign * i64::try_from(bytes).unwrap_or(i64::MAX),
            Ordering::Relaxed,
        );
        LIVE_ALLOCATIONS.fetch_add(sign, Ordering::Relaxed);
    }
}

// SAFETY: every call is forwarded unchanged to `System`, which upholds `GlobalAlloc`'s
// contract; the counters have no effect on the memory handed out.
unsafe impl GlobalAlloc for CountingAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded with the caller's guarantees.
        let ptr = unsafe { System.alloc(layout) };
        if !ptr.is_null() {
            add_live(layout.size(), 1);
        }
        ptr
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded with the caller's guarantees.
        let ptr = unsafe { System.alloc_zeroed(layout) };
        if !ptr.is_null() {
            add_live(layout.size(), 1);
        }
        ptr
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: forwarded with the caller's guarantees.
        unsafe { System.dealloc(ptr, layout) };
        add_live(layout.size(), -1);
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: forwarded with the caller's guarantees.
        let new = unsafe { System.realloc(ptr, layout, new_size) };
        if !new.is_null() {
            add_live(layout.size(), -1);
            add_live(new_size, 1);
        }
        new
    }
}

#[global_allocator]
static ALLOCATOR: CountingAllocator = CountingAllocator;

type BoxError = Box<dyn Error + Send + Sync>;

#[derive(Clone, Debug)]
struct Options {
    quick: bool,
    duration: Duration,
    warmup: Duration,
    connections: usize,
    workers: usize,
    loadgen_threads: usize,
    cold_sessions: usize,
    storms: Vec<usize>,
    repeat: usize,
    pages: usize,
    memory_sessions: usize,
    short_ttl: u64,
    node: bool,
    out: PathBuf,
}

impl Options {
    fn parse(args: &[String]) -> Result<Self, BoxError> {
        let quick = args.iter().any(|a| a == "--quick");
        let mut o = if quick {
            Self {
                quick,
                duration: Duration::from_millis(1000),
                warmup: Duration::from_millis(200),
                connections: 8,
                workers: 1,
                loadgen_threads: 1,
                cold_sessions: 100,
                storms: vec![10, 100],
                repeat: 1,
                pages: 100,
                memory_sessions: 2_000,
                short_ttl: 3,
                node: true,
                out: PathBuf::from("target/bench-results/quick"),
            }
        } else {
            Self {
                quick,
                duration: Duration::from_secs(10),
                warmup: Duration::from_secs(2),
                connections: 32,
                workers: 1,
                loadgen_threads: 1,
                cold_sessions: 2_000,
                storms: vec![10, 100, 1000],
                repeat: 3,
                pages: 1000,
                memory_sessions: 100_000,
                short_ttl: 10,
                node: true,
                out: PathBuf::from("target/bench-results"),
            }
        };
        let mut it = args.iter();
        while let Some(arg) = it.next() {
            let mut value = || {
                it.next()
                    .cloned()
                    .ok_or_else(|| format!("{arg} needs a value"))
            };
            match arg.as_str() {
                "--quick" => {}
                "--no-node" => o.node = false,
                "--duration" => o.duration = Duration::from_secs_f64(value()?.parse()?),
                "--warmup" => o.warmup = Duration::from_secs_f64(value()?.parse()?),
                "--connections" => o.connections = value()?.parse()?,
                "--workers" => o.workers = value()?.parse()?,
                "--loadgen-threads" => o.loadgen_threads = value()?.parse()?,
                "--cold-sessions" => o.cold_sessions = value()?.parse()?,
                "--storms" => {
                    o.storms = value()?
                        .split(',')
                        .filter(|s| !s.is_empty())
                        .map(str::parse)
                        .collect::<Result<_, _>>()?;
                }
                "--pages" => o.pages = value()?.parse()?,
                "--repeat" => o.repeat = value()?.parse()?,
                "--memory-sessions" => o.memory_sessions = value()?.parse()?,
                "--short-ttl" => o.short_ttl = value()?.parse()?,
                "--out" => o.out = PathBuf::from(value()?),
                "-h" | "--help" => {
                    println!("{}", HELP.trim());
                    std::process::exit(0);
                }
                other => return Err(format!("unknown option {other} (see --help)").into()),
            }
        }
        Ok(o)
    }
}

const HELP: &str = "
harness: benchmarks of nhost-session beside an actix page without a session layer and
Nhost's documented SSR flow with @nhost/nhost-js 4 (run `npm ci --prefix bench/node-anchor` first)

  --quick               tiny durations and sizes (CI smoke run)
  --duration S          measured seconds per warm run (10)
  --warmup S            unmeasured warm-up before each warm run (2)
  --connections N       keep-alive connections of the load generator (32)
  --workers N           actix workers per server (1)
  --loadgen-threads N   load generator threads (1)
  --cold-sessions N     requests of each refresh run, one new session each (2000)
  --storms LIST         parallel requests per storm (10,100,1000)
  --repeat N            rounds of warm runs, setups taking turns; the median is reported (3)
  --pages N             pages of the economy run (1000)
  --memory-sessions N   sessions cached for the memory figure (100000)
  --short-ttl S         access-token lifetime of the second auth server (10)
  --no-node             leave the Node anchor out
  --out DIR             where results.json, results.md and plot.svg go (target/bench-results)
";

fn main() -> Result<(), BoxError> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if let Some(pos) = args.iter().position(|a| a == "--memory-child") {
        COUNTING.store(true, Ordering::SeqCst);
        let n: usize = args.get(pos + 1).ok_or("--memory-child N")?.parse()?;
        return memory_child(n);
    }
    let options = Options::parse(&args)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(options.loadgen_threads.max(1))
        .thread_name("loadgen")
        .enable_all()
        .build()?;
    let command = format!(
        "cargo run --release -p nhost-session-bench --bin harness{}{}",
        if args.is_empty() { "" } else { " -- " },
        args.join(" ")
    );
    let results = runtime.block_on(run(options.clone(), command))?;
    print!("{}", results.table());
    std::fs::create_dir_all(&options.out)?;
    std::fs::write(
        options.out.join("results.json"),
        serde_json::to_string_pretty(&results)?,
    )?;
    std::fs::write(options.out.join("results.md"), results.markdown())?;
    std::fs::write(options.out.join("plot.svg"), results.svg())?;
    println!(
        "\nwritten: {}/results.json, results.md, plot.svg",
        options.out.display()
    );
    Ok(())
}

/// The child process of the memory measurement: prints one JSON line.
fn memory_child(n: usize) -> Result<(), BoxError> {
    let auth = FakeAuthServer::builder()
        .seed_user(SeedUser::new(scenarios::EMAIL, scenarios::PASSWORD).display_name("Bench User"))
        .start()?;
    let sample = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?
        .block_on(async {
            let api = scenarios::api(&auth)?;
            scenarios::sign_in(&api).await
        })?;
    drop(auth);
    let outcome = memory::measure(n, &sample, &|| memory::Live {
        bytes: LIVE_BYTES.load(Ordering::SeqCst),
        allocations: LIVE_ALLOCATIONS.load(Ordering::SeqCst),
    });
    println!("{}", serde_json::to_string(&outcome)?);
    Ok(())
}

fn text_of(path: &str) -> String {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .trim()
        .to_owned()
}

fn command_output(program: &str, args: &[&str]) -> String {
    std::process::Command::new(program)
        .args(args)
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .unwrap_or_default()
}

fn machine() -> Machine {
    let cpu = text_of("/proc/cpuinfo")
        .lines()
        .find_map(|l| {
            l.strip_prefix("model name")
                .map(|r| r.trim_start_matches([' ', '\t', ':']).to_owned())
        })
        .unwrap_or_default();
    Machine {
        cpu,
        cpus: std::thread::available_parallelism().map_or(0, usize::from),
        kernel: command_output("uname", &["-sr"]),
        rustc: command_output("rustc", &["--version"]),
        node: node::node_version().unwrap_or_default(),
        nhost_js: node::nhost_js_version().unwrap_or_default(),
        load_before: text_of("/proc/loadavg"),
        load_after: String::new(),
    }
}

fn start_auth(ttl: Duration) -> io::Result<FakeAuthServer> {
    FakeAuthServer::builder()
        .access_token_ttl(ttl)
        .seed_user(SeedUser::new(scenarios::EMAIL, scenarios::PASSWORD).display_name("Bench User"))
        .worker_threads(2)
        .start()
}

fn middleware(
    auth: &FakeAuthServer,
    cookie: CookieConfig,
    clock: Option<Arc<ManualClock>>,
) -> Result<SessionMiddleware, BoxError> {
    let mut builder = SessionMiddleware::builder(AuthUrl::parse(&auth.base_url())?).cookie(cookie);
    if let Some(clock) = clock {
        builder = builder.clock(clock);
    }
    Ok(builder.build()?)
}

/// Where the load runs and the CPU of the server under test.
struct Target<'a> {
    setup: &'static str,
    addr: std::net::SocketAddr,
    node_pid: Option<u32>,
    auth: &'a FakeAuthServer,
}

async fn measured(
    target: &Target<'_>,
    scenario: &str,
    cookies: Cookies,
    limit: Limit,
    connections: usize,
    ticks_per_s: u64,
) -> Result<LoadRow, BoxError> {
    let cpu_before = cpu::own_ticks();
    let node_before = target.node_pid.map(cpu::process_ticks);
    let token_before = target.auth.stats().token_calls;
    let result: LoadResult =
        loadgen::run(target.addr, apps::PAGE, cookies, connections, limit).await?;
    let token_calls = target.auth.stats().token_calls - token_before;
    let cpu_after = cpu::own_ticks();
    let app_ticks = match (target.node_pid, node_before) {
        (Some(pid), Some(before)) => cpu::process_ticks(pid).saturating_sub(before),
        _ => cpu::delta(&cpu_before, &cpu_after, Role::App),
    };
    let per_request = |ticks: u64| {
        let requests = (result.ok + result.errors).max(1) as f64;
        ticks as f64 * 1e6 / ticks_per_s as f64 / requests
    };
    let row = LoadRow {
        setup: target.setup.to_owned(),
        scenario: scenario.to_owned(),
        ok: result.ok,
        errors: result.errors,
        elapsed_s: result.elapsed.as_secs_f64(),
        rps: result.rps(),
        p50_ms: result.percentile_ms(50.0),
        p99_ms: result.percentile_ms(99.0),
        max_ms: result.latency_us.max() as f64 / 1000.0,
        token_calls,
        app_cpu_us_per_request: per_request(app_ticks),
        auth_cpu_us_per_request: per_request(cpu::delta(&cpu_before, &cpu_after, Role::AuthServer)),
        rps_min: result.rps(),
        rps_max: result.rps(),
        rps_runs: vec![result.rps()],
        loadgen_cpu_us_per_request: per_request(cpu::delta(
            &cpu_before,
            &cpu_after,
            Role::LoadGenerator,
        )),
    };
    eprintln!(
        "  {:<38} {:<8} {:>9.0} req/s  p50 {:.3} ms  p99 {:.3} ms  errors {}  POST /token {}",
        row.setup, row.scenario, row.rps, row.p50_ms, row.p99_ms, row.errors, row.token_calls
    );
    Ok(row)
}

/// A warm run: a warm-up, then the measured run, with one known session's cookie.
async fn warm(
    target: &Target<'_>,
    cookie: Option<&str>,
    o: &Options,
    ticks_per_s: u64,
) -> Result<LoadRow, BoxError> {
    let cookies = cookie.map_or(Cookies::None, |c| Cookies::Fixed(c.to_owned()));
    if !o.warmup.is_zero() {
        loadgen::run(
            target.addr,
            apps::PAGE,
            cookies.clone(),
            o.connections,
            Limit::Duration(o.warmup),
        )
        .await?;
    }
    measured(
        target,
        "warm",
        cookies,
        Limit::Duration(o.duration),
        o.connections,
        ticks_per_s,
    )
    .await
}

/// The run with the median throughput, with the range of all runs.
fn median_row(mut runs: Vec<LoadRow>) -> Option<LoadRow> {
    if runs.is_empty() {
        return None;
    }
    runs.sort_by(|a, b| a.rps.total_cmp(&b.rps));
    let min = runs.first().map_or(0.0, |r| r.rps);
    let max = runs.last().map_or(0.0, |r| r.rps);
    let all: Vec<f64> = runs.iter().map(|r| r.rps).collect();
    let mut row = runs.swap_remove(runs.len() / 2);
    row.rps_min = min;
    row.rps_max = max;
    row.rps_runs = all;
    Some(row)
}

/// A refresh run: every request brings a new session (minted beforehand).
async fn refresh_run(
    target: &Target<'_>,
    o: &Options,
    ticks_per_s: u64,
) -> Result<LoadRow, BoxError> {
    let api = Arc::new(scenarios::api(target.auth)?);
    let sessions = scenarios::mint_sessions(&api, o.cold_sessions, 8).await?;
    let cookies = sessions
        .iter()
        .map(scenarios::js4_cookie)
        .collect::<Result<Vec<_>, _>>()?;
    let pool = Arc::new(CookiePool::new(cookies));
    measured(
        target,
        "refresh",
        Cookies::Pool(pool),
        Limit::PoolEmpty,
        o.connections,
        ticks_per_s,
    )
    .await
}

async fn run(o: Options, command: String) -> Result<Results, BoxError> {
    let ticks_per_s = cpu::ticks_per_second();
    let mut results = Results {
        command,
        machine: machine(),
        settings: Settings {
            quick: o.quick,
            duration_s: o.duration.as_secs_f64(),
            warmup_s: o.warmup.as_secs_f64(),
            connections: o.connections,
            workers: o.workers,
            loadgen_threads: o.loadgen_threads,
            cold_sessions: o.cold_sessions,
            repeat: o.repeat,
            short_ttl_s: o.short_ttl,
        },
        ..Results::default()
    };
    eprintln!("machine: {:?}", results.machine);

    // Two auth servers: JWTs of 900 s (warm runs, economy), and of a few seconds, always
    // inside nhost-js's 60 s refresh margin (refresh runs, storms).
    let auth = start_auth(Duration::from_secs(900))?;
    let short = start_auth(Duration::from_secs(o.short_ttl))?;
    let api = scenarios::api(&auth)?;
    let short_api = scenarios::api(&short)?;

    let plain = apps::start_plain(o.workers)?;
    let with_sessions = apps::start_with_sessions(
        o.workers,
        middleware(&auth, CookieConfig::nhost_js4(), None)?,
    )?;
    let own_sessions =
        apps::start_with_sessions(o.workers, middleware(&auth, CookieConfig::own(), None)?)?;
    let short_sessions = apps::start_with_sessions(
        o.workers,
        middleware(&short, CookieConfig::nhost_js4(), None)?,
    )?;
    let economy_clock = Arc::new(ManualClock::default());
    let economy_app = apps::start_with_sessions(
        o.workers,
        middleware(
            &auth,
            CookieConfig::nhost_js4(),
            Some(Arc::clone(&economy_clock)),
        )?,
    )?;

    let node_reason = if o.node {
        node::unavailable_reason()
    } else {
        Some("--no-node".to_owned())
    };
    if let Some(reason) = &node_reason {
        if std::env::var("CI").is_ok_and(|v| v == "true") && o.node {
            return Err(format!("the Node anchor cannot run: {reason}").into());
        }
        results.skipped.push(format!("Node anchor: {reason}"));
    }
    std::fs::create_dir_all(&o.out)?;
    let (node_main, node_short) = if node_reason.is_none() {
        (
            Some(node::NodeAnchor::start(
                &auth.base_url(),
                &o.out.join("node-anchor.log"),
            )?),
            Some(node::NodeAnchor::start(
                &short.base_url(),
                &o.out.join("node-anchor-short.log"),
            )?),
        )
    } else {
        (None, None)
    };

    // A known session: signed in, then adopted by the middleware once (one refresh). The
    // rotated cookie it sends back is what both sides get: nhost-js sees a fresh JWT in it.
    let session = scenarios::sign_in(&api).await?;
    let first_cookie = scenarios::js4_cookie(&session)?;
    let mut jar = Jar::new(&first_cookie);
    let mut sender = loadgen::connect(with_sessions.addr()).await?;
    let answer = loadgen::get(&mut sender, apps::PAGE, jar.header()).await?;
    if answer.status != http::StatusCode::OK {
        return Err(format!("priming the known session failed: {}", answer.status).into());
    }
    jar.apply(&answer);
    drop(sender);
    let known_cookie = jar.header().ok_or("no cookie after priming")?.to_owned();
    // The same with the project's own format (the middleware's default), on its own server.
    let own_name = CookieConfig::own().name().to_owned();
    let mut own_jar = Jar::with_name(
        &own_name,
        &scenarios::own_cookie(&scenarios::sign_in(&api).await?)?,
    );
    let mut sender = loadgen::connect(own_sessions.addr()).await?;
    let answer = loadgen::get(&mut sender, apps::PAGE, own_jar.header()).await?;
    if answer.status != http::StatusCode::OK {
        return Err(format!(
            "priming the known session (own cookie) failed: {}",
            answer.status
        )
        .into());
    }
    own_jar.apply(&answer);
    drop(sender);
    let known_own_cookie = own_jar
        .header()
        .ok_or("no own cookie after priming")?
        .to_owned();

    eprintln!("1. throughput and latency");
    let t_plain = Target {
        setup: SETUP_ACTIX_PLAIN,
        addr: plain.addr(),
        node_pid: None,
        auth: &auth,
    };
    let t_session = Target {
        setup: SETUP_ACTIX_SESSION,
        addr: with_sessions.addr(),
        node_pid: None,
        auth: &auth,
    };
    let t_own = Target {
        setup: SETUP_ACTIX_SESSION_OWN,
        addr: own_sessions.addr(),
        node_pid: None,
        auth: &auth,
    };
    let t_node = node_main.as_ref().map(|anchor| Target {
        setup: SETUP_NODE,
        addr: anchor.addr(),
        node_pid: Some(anchor.pid()),
        auth: &auth,
    });
    // The warm runs take turns, `--repeat` rounds; each setup's median run is reported, with
    // the range of all its runs (the machine is shared: drift hits every setup alike).
    // The server without a session layer gets the same requests as the one it is compared
    // with, cookie included: a browser sends its cookies whatever the server does with them.
    let t_plain_own = Target {
        setup: SETUP_ACTIX_PLAIN_OWN,
        ..t_plain
    };
    let mut rounds: Vec<Vec<LoadRow>> = vec![Vec::new(); 5];
    for round in 0..o.repeat.max(1) {
        eprintln!("  round {}", round + 1);
        rounds[0].push(warm(&t_plain, Some(&known_cookie), &o, ticks_per_s).await?);
        rounds[1].push(warm(&t_session, Some(&known_cookie), &o, ticks_per_s).await?);
        rounds[2].push(warm(&t_plain_own, Some(&known_own_cookie), &o, ticks_per_s).await?);
        rounds[3].push(warm(&t_own, Some(&known_own_cookie), &o, ticks_per_s).await?);
        if let Some(t_node) = &t_node {
            rounds[4].push(warm(t_node, Some(&known_cookie), &o, ticks_per_s).await?);
        }
    }
    for (i, baseline, setup) in [(1, 0, SETUP_ACTIX_SESSION), (3, 2, SETUP_ACTIX_SESSION_OWN)] {
        let ratios: Vec<f64> = rounds[i]
            .iter()
            .zip(&rounds[baseline])
            .map(|(with, without)| with.rps / without.rps.max(1e-9))
            .collect();
        results.paired_ratios.push((setup.to_owned(), ratios));
    }
    for runs in rounds {
        if let Some(row) = median_row(runs) {
            results.load.push(row);
        }
    }
    let t_short = Target {
        setup: SETUP_ACTIX_SESSION,
        addr: short_sessions.addr(),
        node_pid: None,
        auth: &short,
    };
    results
        .load
        .push(refresh_run(&t_short, &o, ticks_per_s).await?);
    if let Some(anchor) = &node_short {
        let t_node = Target {
            setup: SETUP_NODE,
            addr: anchor.addr(),
            node_pid: Some(anchor.pid()),
            auth: &short,
        };
        results
            .load
            .push(refresh_run(&t_node, &o, ticks_per_s).await?);
    }

    eprintln!("2. refresh storms");
    let mut sides: Vec<(&str, std::net::SocketAddr)> =
        vec![(SETUP_ACTIX_SESSION, short_sessions.addr())];
    if let Some(anchor) = &node_short {
        sides.push((SETUP_NODE, anchor.addr()));
    }
    for &n in &o.storms {
        for &(setup, addr) in &sides {
            // A new session each time: its JWT (a few seconds long) is inside the margin.
            let cookie = scenarios::js4_cookie(&scenarios::sign_in(&short_api).await?)?;
            let outcome = scenarios::storm(addr, &cookie, n, &short, &short_api).await?;
            eprintln!(
                "  {setup:<30} in margin N={n:<5} POST /token {} failed {} lost {}",
                outcome.token_calls, outcome.failed, outcome.session_lost
            );
            results.storms.push(StormRow {
                setup: setup.to_owned(),
                jwt: "inside the margin".to_owned(),
                outcome,
            });
        }
    }
    // The same with JWTs that have expired (minted, then left to expire).
    let mut expired = Vec::new();
    for &n in &o.storms {
        for &(setup, addr) in &sides {
            let cookie = scenarios::js4_cookie(&scenarios::sign_in(&short_api).await?)?;
            expired.push((n, setup, addr, cookie));
        }
    }
    tokio::time::sleep(Duration::from_secs(o.short_ttl) + Duration::from_millis(1500)).await;
    for (n, setup, addr, cookie) in expired {
        let outcome = scenarios::storm(addr, &cookie, n, &short, &short_api).await?;
        eprintln!(
            "  {setup:<30} expired   N={n:<5} POST /token {} failed {} lost {}",
            outcome.token_calls, outcome.failed, outcome.session_lost
        );
        results.storms.push(StormRow {
            setup: setup.to_owned(),
            jwt: "expired".to_owned(),
            outcome,
        });
    }

    eprintln!("3. auth-server economy");
    // The middleware's clock is a manual one: the pages are spread over the JWT's lifetime
    // (900 s) up to its 60 s refresh margin, without waiting.
    let step = Duration::from_secs_f64(840.0 / o.pages.max(1) as f64 * 0.999);
    let cookie = scenarios::js4_cookie(&scenarios::sign_in(&api).await?)?;
    let outcome = scenarios::economy(
        economy_app.addr(),
        &cookie,
        o.pages,
        Some((&economy_clock, step)),
        &auth,
    )
    .await?;
    eprintln!(
        "  {SETUP_ACTIX_SESSION:<30} POST /token {} failed {}",
        outcome.token_calls, outcome.failed
    );
    results.economy.push(EconomyRow {
        setup: SETUP_ACTIX_SESSION.to_owned(),
        outcome,
    });
    if let Some(anchor) = &node_main {
        let cookie = scenarios::js4_cookie(&scenarios::sign_in(&api).await?)?;
        let outcome = scenarios::economy(anchor.addr(), &cookie, o.pages, None, &auth).await?;
        eprintln!(
            "  {SETUP_NODE:<30} POST /token {} failed {}",
            outcome.token_calls, outcome.failed
        );
        results.economy.push(EconomyRow {
            setup: SETUP_NODE.to_owned(),
            outcome,
        });
    }

    drop((node_main, node_short));
    plain.stop();
    with_sessions.stop();
    own_sessions.stop();
    short_sessions.stop();
    economy_app.stop();
    drop((auth, short));

    eprintln!("4. memory per cached session");
    let exe = std::env::current_exe()?;
    let started = Instant::now();
    let out = std::process::Command::new(exe)
        .args(["--memory-child", &o.memory_sessions.to_string()])
        .output()?;
    if out.status.success() {
        let line = String::from_utf8_lossy(&out.stdout);
        let outcome: memory::MemoryOutcome = serde_json::from_str(line.trim())?;
        eprintln!(
            "  {:.0} bytes per session ({:.1} s)",
            outcome.bytes_per_session,
            started.elapsed().as_secs_f64()
        );
        results.memory = Some(outcome);
    } else {
        return Err(format!(
            "the memory child failed: {}",
            String::from_utf8_lossy(&out.stderr)
        )
        .into());
    }

    results.machine.load_after = text_of("/proc/loadavg");
    Ok(results)
}
