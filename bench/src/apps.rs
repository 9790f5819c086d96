//! The actix servers under test: one page, `GET /page`, answering `{"user":"<id>"}`.
//!
//! - [`start_plain`]: no session layer (the page shows a constant user id, with the same
//!   code);
//! - [`start_with_sessions`]: the [`SessionMiddleware`], the page reads the [`SessionState`]
//!   (200 with the user's id, 401 without a session, 503 when the session is unavailable).
//!
//! Each runs on a thread of its own with an actix system and `workers` worker threads.

use std::io;
use std::net::SocketAddr;
use std::thread::JoinHandle;

use actix_web::dev::ServerHandle;
use actix_web::{App, HttpResponse, HttpServer, web};
use nhost_session_actix::{SessionMiddleware, SessionState};

/// The page every server serves.
pub const PAGE: &str = "/page";

/// The user id the page without a session layer shows: a user id as long as the fake auth
/// server's.
const PLAIN_USER_ID: &str = "00000000-0000-4000-8000-000000000000";

/// The page's body for a user id: the same code on both pages, so that the pages differ
/// only by where the id comes from (a constant, or the session).
fn user_body(id: &str) -> String {
    format!(r#"{{"user":"{id}"}}"#)
}

/// A running actix server.
#[derive(Debug)]
pub struct RunningApp {
    addr: SocketAddr,
    handle: ServerHandle,
    thread: Option<JoinHandle<io::Result<()>>>,
}

impl RunningApp {
    /// Where it listens (127.0.0.1).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Stops it gracefully and joins its thread.
    pub fn stop(mut self) {
        self.stop_inner();
    }

    fn stop_inner(&mut self) {
        if let Some(thread) = self.thread.take() {
            // `stop` returns a future that resolves when the server has stopped; the server's
            // own thread drives it, so it is enough to ask and join.
            drop(self.handle.stop(true));
            let _ = thread.join();
        }
    }
}

impl Drop for RunningApp {
    fn drop(&mut self) {
        self.stop_inner();
    }
}

/// The page of the server without a session layer.
pub async fn plain_page() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/json")
        .body(user_body(std::hint::black_box(PLAIN_USER_ID)))
}

/// The page of the servers with the middleware.
pub async fn session_page(state: SessionState) -> HttpResponse {
    match &state {
        SessionState::Active(session) => match session.user_id() {
            Some(id) => HttpResponse::Ok()
                .content_type("application/json")
                .body(user_body(id)),
            None => HttpResponse::Ok()
                .content_type("application/json")
                .body(r#"{"user":""}"#),
        },
        SessionState::Anonymous => HttpResponse::Unauthorized()
            .content_type("application/json")
            .body(r#"{"user":null}"#),
        SessionState::Unavailable(_) => HttpResponse::ServiceUnavailable()
            .content_type("application/json")
            .body(r#"{"user":null}"#),
    }
}

/// Starts the server without a session layer.
///
/// # Errors
/// When it cannot bind or start.
pub fn start_plain(workers: usize) -> io::Result<RunningApp> {
    start(workers, None)
}

/// Starts a server with `middleware` (build it once; all workers share its coordinator).
///
/// # Errors
/// When it cannot bind or start.
pub fn start_with_sessions(
    workers: usize,
    middleware: SessionMiddleware,
) -> io::Result<RunningApp> {
    start(workers, Some(middleware))
}

fn start(workers: usize, middleware: Option<SessionMiddleware>) -> io::Result<RunningApp> {
    let (tx, rx) = std::sync::mpsc::channel::<io::Result<(SocketAddr, ServerHandle)>>();
    let thread = std::thread::Builder::new()
        .name("bench-app".to_owned())
        .spawn(move || {
            actix_web::rt::System::new().block_on(async move {
                let bound = match middleware {
                    None => HttpServer::new(|| App::new().route(PAGE, web::get().to(plain_page)))
                        .workers(workers)
                        .disable_signals()
                        .bind(("127.0.0.1", 0))
                        .map(|s| (s.addrs(), s.run())),
                    Some(middleware) => HttpServer::new(move || {
                        App::new()
                            .wrap(middleware.clone())
                            .route(PAGE, web::get().to(session_page))
                    })
                    .workers(workers)
                    .disable_signals()
                    .bind(("127.0.0.1", 0))
                    .map(|s| (s.addrs(), s.run())),
                };
                match bound {
                    Ok((addrs, server)) => {
                        let Some(addr) = addrs.first().copied() else {
                            let _ = tx.send(Err(io::Error::other("no address bound")));
                            return Ok(());
                        };
                        let _ = tx.send(Ok((addr, server.handle())));
                        server.await
                    }
                    Err(e) => {
                        let message = e.to_string();
                        let _ = tx.send(Err(e));
                        Err(io::Error::other(message))
                    }
                }
            })
        })?;
    match rx.recv() {
        Ok(Ok((addr, handle))) => Ok(RunningApp {
            addr,
            handle,
            thread: Some(thread),
        }),
        Ok(Err(e)) => {
            let _ = thread.join();
            Err(e)
        }
        Err(_) => {
            let _ = thread.join();
            Err(io::Error::other(
                "the server thread ended before it started",
            ))
        }
    }
}
