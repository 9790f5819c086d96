//! Call counters, for tests that assert what a client did to the server.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// A snapshot of the server's counters since start or the last reset.
///
/// JSON (admin API): `{"calls":{"/v1/token":{"200":3,"401":1,"dropped":1}},"tokenCalls":5,
/// "refreshTokensIssued":4,"reuseRejections":1,"signOuts":0,"sessionsCreated":1,
/// "droppedConnections":1}`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Stats {
    /// Calls per request path (admin calls excluded), then per answered status; a connection
    /// closed without an answer counts under `"dropped"`.
    pub calls: BTreeMap<String, BTreeMap<String, u64>>,
    /// Every `POST /token` that reached the server, whatever its fate.
    pub token_calls: u64,
    /// Refresh-token values minted: by sign-ins and by rotating refreshes.
    pub refresh_tokens_issued: u64,
    /// Refreshes refused because a completed refresh had replaced the token (a client bug).
    pub reuse_rejections: u64,
    /// Successful `POST /signout` calls.
    pub sign_outs: u64,
    /// Device sessions started by any sign-in.
    pub sessions_created: u64,
    /// Connections the server closed without answering (fault injection).
    pub dropped_connections: u64,
}

impl Stats {
    /// All calls to `path` (the full path, e.g. `/v1/token`), whatever their status.
    pub fn calls_to(&self, path: &str) -> u64 {
        self.calls.get(path).map_or(0, |by| by.values().sum())
    }

    /// Calls to `path` answered with `status` (a number such as `"401"`, or `"dropped"`).
    pub fn calls_with(&self, path: &str, status: &str) -> u64 {
        self.calls
            .get(path)
            .and_then(|by| by.get(status))
            .copied()
            .unwrap_or(0)
    }

    pub(crate) fn record(&mut self, path: &str, status: &str) {
        *self
            .calls
            .entry(path.to_owned())
            .or_default()
            .entry(status.to_owned())
            .or_default() += 1;
    }
}
