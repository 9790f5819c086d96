//! The server's shared state and the operations every route needs (issuing sessions,
//! errors with concealment, the outbox, reset).

use std::ops::Deref;
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};

use serde_json::{Value, json};
use uuid::Uuid;

use crate::clock::{FakeClock, duration_ms};
use crate::config::{Config, JwtAlgorithm, SeedUser};
use crate::errors::{ApiError, ErrorCode};
use crate::faults::FaultQueue;
use crate::jwt;
use crate::keys::{HS256_SECRET, KeyRing};
use crate::lock::lock;
use crate::outbox::{MessageKind, OutboxMessage};
use crate::sessions::Sessions;
use crate::stats::Stats;
use crate::tickets::Tickets;
use crate::users::{FakeUser, UserRecord, Users};

/// The in-memory database.
#[derive(Default)]
pub(crate) struct Db {
    pub(crate) users: Users,
    pub(crate) sessions: Sessions,
    pub(crate) tickets: Tickets,
}

impl Db {
    /// A database holding only the seeded users.
    fn seeded(config: &Config, now_ms: i64) -> Self {
        let mut db = Self::default();
        for seed in &config.seed_users {
            // A duplicate seed e-mail keeps the first user.
            let _ = db.users.insert(UserRecord::from_seed(seed, config, now_ms));
        }
        db
    }
}

/// Everything the routes share.
pub(crate) struct Inner {
    pub(crate) config: Config,
    pub(crate) clock: FakeClock,
    pub(crate) keys: KeyRing,
    pub(crate) db: Mutex<Db>,
    pub(crate) faults: Mutex<FaultQueue>,
    pub(crate) stats: Mutex<Stats>,
    pub(crate) outbox: Mutex<Vec<OutboxMessage>>,
    /// `http://127.0.0.1:PORT`, known once bound.
    pub(crate) origin: OnceLock<String>,
}

/// A cheap handle on the shared state.
#[derive(Clone)]
pub(crate) struct App(Arc<Inner>);

impl Deref for App {
    type Target = Inner;

    fn deref(&self) -> &Inner {
        &self.0
    }
}

impl App {
    pub(crate) fn new(config: Config) -> jsonwebtoken::errors::Result<Self> {
        let clock = FakeClock::new();
        let keys = KeyRing::new(config.algorithm)?;
        let db = Db::seeded(&config, clock.now_ms());
        Ok(Self(Arc::new(Inner {
            config,
            clock,
            keys,
            db: Mutex::new(db),
            faults: Mutex::default(),
            stats: Mutex::default(),
            outbox: Mutex::default(),
            origin: OnceLock::new(),
        })))
    }

    pub(crate) fn db(&self) -> MutexGuard<'_, Db> {
        lock(&self.db)
    }

    pub(crate) fn stats(&self) -> MutexGuard<'_, Stats> {
        lock(&self.stats)
    }

    pub(crate) fn now_ms(&self) -> i64 {
        self.clock.now_ms()
    }

    /// An API error, concealed when the server is set to.
    pub(crate) fn err(&self, code: ErrorCode) -> ApiError {
        ApiError::new(code, self.config.conceal_errors)
    }

    /// The absolute URL of an API path (`/verify` -> `http://127.0.0.1:PORT/v1/verify`).
    pub(crate) fn api_url(&self, path: &str) -> String {
        format!(
            "{}{}{}",
            self.origin.get().map_or("", String::as_str),
            self.config.api_prefix,
            path
        )
    }

    /// The path (no origin) of an API route (`/token` -> `/v1/token`).
    pub(crate) fn api_url_path(&self, path: &str) -> String {
        format!("{}{}", self.config.api_prefix, path)
    }

    /// The absolute URL of a path outside the prefix.
    pub(crate) fn root_url(&self, path: &str) -> String {
        format!("{}{}", self.origin.get().map_or("", String::as_str), path)
    }

    /// Starts a device session for a user and answers the `Session` JSON.
    pub(crate) fn sign_in(&self, user_id: Uuid) -> Result<Value, ApiError> {
        let now = self.now_ms();
        let (user, token, device) = {
            let mut db = self.db();
            let user = db
                .users
                .get(user_id)
                .cloned()
                .ok_or_else(|| self.err(ErrorCode::InternalServerError))?;
            if user.disabled {
                return Err(self.err(ErrorCode::DisabledUser));
            }
            let (token, device) =
                db.sessions
                    .create(user_id, now, duration_ms(self.config.refresh_token_ttl));
            (user, token, device)
        };
        {
            let mut stats = self.stats();
            stats.sessions_created += 1;
            stats.refresh_tokens_issued += 1;
        }
        self.session_json(&user, token, device)
    }

    /// The `Session` JSON for a refresh token of a device session.
    pub(crate) fn session_json(
        &self,
        user: &UserRecord,
        token: Uuid,
        device: Uuid,
    ) -> Result<Value, ApiError> {
        let ttl = i64::try_from(self.config.access_token_ttl.as_secs()).unwrap_or(i64::MAX);
        let access = jwt::issue(&self.keys, user, self.clock.now_secs(), ttl)
            .map_err(|_| self.err(ErrorCode::InternalServerError))?;
        Ok(json!({
            "accessToken": access,
            "accessTokenExpiresIn": ttl,
            "refreshToken": token.to_string(),
            "refreshTokenId": device.to_string(),
            "user": user.to_json(false),
        }))
    }

    /// "Sends" a message: puts it in the outbox.
    pub(crate) fn send(
        &self,
        kind: MessageKind,
        to: &str,
        code: Option<String>,
        link: Option<String>,
    ) {
        lock(&self.outbox).push(OutboxMessage {
            kind,
            to: to.to_owned(),
            code,
            link,
            sent_at: self.clock.now_secs(),
        });
    }

    /// A `HASURA_GRAPHQL_JWT_SECRET` value: the HS256 secret, or the RS256 JWKS URL.
    pub(crate) fn hasura_jwt_secret(&self) -> String {
        match self.config.algorithm {
            JwtAlgorithm::Hs256 => json!({ "type": "HS256", "key": HS256_SECRET }).to_string(),
            JwtAlgorithm::Rs256 => json!({
                "type": "RS256",
                "jwk_url": self.api_url("/.well-known/jwks.json"),
            })
            .to_string(),
        }
    }

    /// A `HASURA_GRAPHQL_JWT_SECRET` value with the key inline (the current RS256 public key).
    pub(crate) fn hasura_jwt_secret_with_key(&self) -> String {
        match self.keys.current_public_pem() {
            None => self.hasura_jwt_secret(),
            Some(pem) => json!({ "type": "RS256", "key": pem }).to_string(),
        }
    }

    /// Adds a user described like a seeded one.
    pub(crate) fn create_user(&self, seed: &SeedUser) -> Result<FakeUser, ErrorCode> {
        let record = UserRecord::from_seed(seed, &self.config, self.now_ms());
        let public = record.to_public();
        self.db().users.insert(record)?;
        Ok(public)
    }

    /// Back to the seeded state: users, sessions, tickets, stats, faults, outbox, clock and
    /// signing key.
    pub(crate) fn reset(&self) {
        self.clock.reset();
        self.keys.reset();
        *self.db() = Db::seeded(&self.config, self.clock.now_ms());
        lock(&self.faults).clear();
        *self.stats() = Stats::default();
        lock(&self.outbox).clear();
    }
}
