//! A closed-loop HTTP/1.1 load generator: N keep-alive connections, each sending its next
//! `GET` as soon as the previous answer is read, for a fixed time or until a pool of cookies
//! is used up. Latencies go to an HDR histogram (microseconds, 3 significant digits).

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use hdrhistogram::Histogram;
use http::header::{COOKIE, HOST, SET_COOKIE};
use http::{HeaderValue, Request, StatusCode};
use http_body_util::{BodyExt as _, Empty};
use hyper::client::conn::http1::SendRequest;
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

/// The highest latency the histograms record (60 s, in µs); longer ones are clamped.
const MAX_LATENCY_US: u64 = 60_000_000;

/// A new, empty latency histogram (µs).
pub fn histogram() -> Histogram<u64> {
    // Bounds and precision are constants that `new_with_bounds` accepts.
    Histogram::new_with_bounds(1, MAX_LATENCY_US, 3).unwrap_or_else(|_| unreachable!())
}

/// Cookies that requests take one at a time, each used once (the "every request brings a new
/// session" scenario).
#[derive(Debug)]
pub struct CookiePool {
    cookies: Vec<String>,
    next: AtomicUsize,
}

impl CookiePool {
    /// A pool of `Cookie` header values.
    pub fn new(cookies: Vec<String>) -> Self {
        Self {
            cookies,
            next: AtomicUsize::new(0),
        }
    }

    /// The next unused cookie, `None` once all were taken.
    pub fn take(&self) -> Option<&str> {
        let i = self.next.fetch_add(1, Ordering::Relaxed);
        self.cookies.get(i).map(String::as_str)
    }

    /// How many cookies the pool held.
    pub fn len(&self) -> usize {
        self.cookies.len()
    }

    /// Whether the pool holds no cookie at all.
    pub fn is_empty(&self) -> bool {
        self.cookies.is_empty()
    }
}

/// What each request carries in its `Cookie` header.
#[derive(Clone, Debug)]
pub enum Cookies {
    /// No `Cookie` header.
    None,
    /// The same cookie on every request (a known session).
    Fixed(String),
    /// A different cookie on every request; the run ends when the pool is empty.
    Pool(Arc<CookiePool>),
}

/// When a run ends.
#[derive(Clone, Copy, Debug)]
pub enum Limit {
    /// After this long (requests in flight then are completed and counted).
    Duration(Duration),
    /// When the [`Cookies::Pool`] is empty.
    PoolEmpty,
}

/// The outcome of a run.
#[derive(Clone, Debug)]
pub struct LoadResult {
    /// Requests answered with a 2xx status.
    pub ok: u64,
    /// Requests answered with another status, or that failed at the connection level.
    pub errors: u64,
    /// From the first request to the last answer.
    pub elapsed: Duration,
    /// Latencies of every answered request (µs).
    pub latency_us: Histogram<u64>,
    /// Answers that carried a `Set-Cookie` header.
    pub set_cookie_answers: u64,
}

impl LoadResult {
    /// Successful requests per second.
    pub fn rps(&self) -> f64 {
        let secs = self.elapsed.as_secs_f64();
        if secs > 0.0 {
            self.ok as f64 / secs
        } else {
            0.0
        }
    }

    /// A latency percentile (0–100) in milliseconds.
    pub fn percentile_ms(&self, q: f64) -> f64 {
        self.latency_us.value_at_quantile(q / 100.0) as f64 / 1000.0
    }
}

/// Opens a keep-alive HTTP/1.1 connection (TCP_NODELAY), driven by a task of its own.
pub async fn connect(addr: SocketAddr) -> io::Result<SendRequest<Empty<Bytes>>> {
    let stream = TcpStream::connect(addr).await?;
    stream.set_nodelay(true)?;
    let (sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .map_err(io::Error::other)?;
    tokio::spawn(async move {
        let _ = connection.await;
    });
    Ok(sender)
}

/// One answer, read to the end.
#[derive(Clone, Debug)]
pub struct Answer {
    /// Its status.
    pub status: StatusCode,
    /// Its `Set-Cookie` header values.
    pub set_cookies: Vec<String>,
    /// Its body.
    pub body: Bytes,
}

/// Sends `GET path` with an optional `Cookie` header and reads the whole answer.
pub async fn get(
    sender: &mut SendRequest<Empty<Bytes>>,
    path: &str,
    cookie: Option<&str>,
) -> io::Result<Answer> {
    sender.ready().await.map_err(io::Error::other)?;
    let mut request = Request::get(path)
        .header(HOST, HeaderValue::from_static("127.0.0.1"))
        .body(Empty::<Bytes>::new())
        .map_err(io::Error::other)?;
    if let Some(cookie) = cookie {
        let value = HeaderValue::from_str(cookie).map_err(io::Error::other)?;
        request.headers_mut().insert(COOKIE, value);
    }
    let response = sender
        .send_request(request)
        .await
        .map_err(io::Error::other)?;
    let status = response.status();
    let set_cookies = response
        .headers()
        .get_all(SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok().map(str::to_owned))
        .collect();
    let body = response
        .into_body()
        .collect()
        .await
        .map_err(io::Error::other)?
        .to_bytes();
    Ok(Answer {
        status,
        set_cookies,
        body,
    })
}

/// Runs `connections` closed-loop connections against `addr` until `limit`.
///
/// # Errors
/// When a connection cannot be opened at the start.
pub async fn run(
    addr: SocketAddr,
    path: &str,
    cookies: Cookies,
    connections: usize,
    limit: Limit,
) -> io::Result<LoadResult> {
    let mut senders = Vec::with_capacity(connections);
    for _ in 0..connections {
        senders.push(connect(addr).await?);
    }
    let start = Instant::now();
    let deadline = match limit {
        Limit::Duration(d) => Some(start + d),
        Limit::PoolEmpty => None,
    };
    let mut tasks = tokio::task::JoinSet::new();
    for sender in senders {
        let cookies = cookies.clone();
        let path = path.to_owned();
        tasks.spawn(connection_loop(addr, sender, path, cookies, deadline));
    }
    let mut total = LoadResult {
        ok: 0,
        errors: 0,
        elapsed: Duration::ZERO,
        latency_us: histogram(),
        set_cookie_answers: 0,
    };
    while let Some(joined) = tasks.join_next().await {
        let part = joined.map_err(io::Error::other)?;
        total.ok += part.ok;
        total.errors += part.errors;
        total.set_cookie_answers += part.set_cookie_answers;
        total
            .latency_us
            .add(&part.latency_us)
            .map_err(io::Error::other)?;
    }
    total.elapsed = start.elapsed();
    Ok(total)
}

async fn connection_loop(
    addr: SocketAddr,
    mut sender: SendRequest<Empty<Bytes>>,
    path: String,
    cookies: Cookies,
    deadline: Option<Instant>,
) -> LoadResult {
    let mut result = LoadResult {
        ok: 0,
        errors: 0,
        elapsed: Duration::ZERO,
        latency_us: histogram(),
        set_cookie_answers: 0,
    };
    loop {
        if deadline.is_some_and(|d| Instant::now() >= d) {
            break;
        }
        let cookie = match &cookies {
            Cookies::None => None,
            Cookies::Fixed(cookie) => Some(cookie.as_str()),
            Cookies::Pool(pool) => match pool.take() {
                Some(cookie) => Some(cookie),
                None => break,
            },
        };
        let sent = Instant::now();
        match get(&mut sender, &path, cookie).await {
            Ok(answer) => {
                let us = u64::try_from(sent.elapsed().as_micros()).unwrap_or(u64::MAX);
                result
                    .latency_us
                    .saturating_record(us.clamp(1, MAX_LATENCY_US));
                if answer.status.is_success() {
                    result.ok += 1;
                } else {
                    result.errors += 1;
                }
                if !answer.set_cookies.is_empty() {
                    result.set_cookie_answers += 1;
                }
            }
            Err(_) => {
                result.errors += 1;
                // The connection is gone: open another one (and give up when that fails too).
                match connect(addr).await {
                    Ok(fresh) => sender = fresh,
                    Err(_) => break,
                }
            }
        }
    }
    result
}
