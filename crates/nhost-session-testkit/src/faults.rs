//! Injected faults: what the next N calls of an endpoint suffer instead of (or on top of)
//! normal handling.

use std::time::Duration;

use serde::{Deserialize, Serialize};

/// What a fault does to a matching call.
///
/// In JSON (admin API) the variant is the `action` field of the fault object:
/// `"respond"` (with `status`, optional `body` and `contentType`), `"proceed"`, `"drop"`,
/// `"reset"`, `"commitThenDrop"`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "action", rename_all = "camelCase")]
pub enum FaultAction {
    /// Handle the call normally (useful with a delay).
    Proceed,
    /// Answer this status and body without touching any state. An empty body is sent with no
    /// content type (the real rate limiter's 429).
    #[serde(rename_all = "camelCase")]
    Respond {
        /// HTTP status.
        status: u16,
        /// Body, sent byte for byte (may be HTML, truncated JSON, empty...).
        #[serde(default)]
        body: String,
        /// `Content-Type`; defaults to `application/json` when the body is not empty.
        #[serde(default)]
        content_type: Option<String>,
    },
    /// Read the request, then close the TCP connection without sending a byte (FIN).
    Drop,
    /// Read the request, then abort the TCP connection (RST, via `SO_LINGER` 0).
    Reset,
    /// Perform the real operation (for `POST /token`: rotate the refresh token), then close
    /// the connection without answering. The client never learns the new token.
    CommitThenDrop,
}

/// A fault armed for the next `times` calls of one path.
///
/// JSON (admin API `POST /__admin/faults`):
/// `{"path":"/token","method":"POST","times":1,"delayMs":0,"action":"respond","status":503,
/// "body":"<html>...</html>","contentType":"text/html"}`.
/// `path` is relative to the API prefix (`/token`) or absolute (`/v1/token`); `method`,
/// `times` (default 1) and `delayMs` (default 0) are optional.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[must_use]
pub struct Fault {
    /// The request path it applies to.
    pub path: String,
    /// Only calls with this method (any method when `None`).
    #[serde(default)]
    pub method: Option<String>,
    /// How many calls it applies to.
    #[serde(default = "one")]
    pub times: u32,
    /// Wait this long before acting (milliseconds).
    #[serde(default)]
    pub delay_ms: u64,
    /// What it does.
    #[serde(flatten)]
    pub action: FaultAction,
}

fn one() -> u32 {
    1
}

impl Fault {
    /// A fault on `path` (relative to the API prefix, like `/token`, or absolute) that, until
    /// told otherwise, lets the next call proceed normally.
    pub fn on(path: impl Into<String>) -> Self {
        Self {
            path: path.into(),
            method: None,
            times: 1,
            delay_ms: 0,
            action: FaultAction::Proceed,
        }
    }

    /// Only calls with this HTTP method.
    pub fn method(mut self, method: impl Into<String>) -> Self {
        self.method = Some(method.into().to_ascii_uppercase());
        self
    }

    /// Applies to the next `n` matching calls (default 1).
    pub fn times(mut self, n: u32) -> Self {
        self.times = n;
        self
    }

    /// Waits this long before acting (before handling, answering or dropping).
    pub fn delay(mut self, delay: Duration) -> Self {
        self.delay_ms = u64::try_from(delay.as_millis()).unwrap_or(u64::MAX);
        self
    }

    /// Answers `status` with a JSON body.
    pub fn respond(mut self, status: u16, body: impl Into<String>) -> Self {
        self.action = FaultAction::Respond {
            status,
            body: body.into(),
            content_type: None,
        };
        self
    }

    /// Sets the content type of a [`Fault::respond`] answer (e.g. `text/html`).
    pub fn content_type(mut self, content_type: impl Into<String>) -> Self {
        if let FaultAction::Respond {
            content_type: ct, ..
        } = &mut self.action
        {
            *ct = Some(content_type.into());
        }
        self
    }

    /// Answers `429 Too Many Requests` with an empty body, like the real rate limiter.
    pub fn rate_limited(self) -> Self {
        self.respond(429, "")
    }

    /// Answers `status` with a body in the server's error shape (e.g. 500
    /// `internal-server-error`, or a proxy-style 502/503/504).
    pub fn status(self, status: u16) -> Self {
        let (code, message) = match status {
            500 => ("internal-server-error", "Internal server error"),
            502 => ("bad-gateway", "Bad gateway"),
            503 => ("service-unavailable", "Service unavailable"),
            504 => ("gateway-timeout", "Gateway timeout"),
            _ => ("error", "Injected fault"),
        };
        let body = serde_json::json!({"status": status, "error": code, "message": message});
        self.respond(status, body.to_string())
    }

    /// Closes the connection without a byte of answer (after reading the request).
    pub fn drop_connection(mut self) -> Self {
        self.action = FaultAction::Drop;
        self
    }

    /// Resets the connection (RST) without a byte of answer.
    pub fn reset_connection(mut self) -> Self {
        self.action = FaultAction::Reset;
        self
    }

    /// Performs the real operation, then closes the connection without answering.
    pub fn commit_then_drop(mut self) -> Self {
        self.action = FaultAction::CommitThenDrop;
        self
    }

    fn matches(&self, method: &str, path: &str, prefix: &str) -> bool {
        let path_ok = path == self.path
            || (self.path.starts_with('/')
                && path.strip_prefix(prefix) == Some(self.path.as_str()));
        let method_ok = self
            .method
            .as_deref()
            .is_none_or(|m| m.eq_ignore_ascii_case(method));
        path_ok && method_ok
    }
}

/// The armed faults, first armed first served.
#[derive(Default)]
pub(crate) struct FaultQueue {
    armed: Vec<Fault>,
}

impl FaultQueue {
    pub(crate) fn arm(&mut self, fault: Fault) {
        if fault.times > 0 {
            self.armed.push(fault);
        }
    }

    /// Takes one use of the first fault matching this call.
    pub(crate) fn take(&mut self, method: &str, path: &str, prefix: &str) -> Option<Fault> {
        let index = self
            .armed
            .iter()
            .position(|f| f.matches(method, path, prefix))?;
        let fault = self.armed.get_mut(index)?;
        fault.times = fault.times.saturating_sub(1);
        let taken = fault.clone();
        if fault.times == 0 {
            drop(self.armed.remove(index));
        }
        Some(taken)
    }

    pub(crate) fn list(&self) -> Vec<Fault> {
        self.armed.clone()
    }

    pub(crate) fn clear(&mut self) {
        self.armed.clear();
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn faults_match_relative_or_absolute_paths_and_count_down() {
        let mut q = FaultQueue::default();
        q.arm(Fault::on("/token").method("post").times(2).rate_limited());
        assert!(q.take("GET", "/v1/token", "/v1").is_none());
        assert!(q.take("POST", "/v1/token", "/v1").is_some());
        assert!(q.take("POST", "/v1/token", "/v1").is_some());
        assert!(q.take("POST", "/v1/token", "/v1").is_none());
        q.arm(Fault::on("/v1/user").drop_connection());
        assert_eq!(
            q.take("GET", "/v1/user", "/v1").unwrap().action,
            FaultAction::Drop
        );
    }

    #[test]
    fn admin_json_round_trips() {
        let json = r#"{"path":"/token","action":"respond","status":503,"body":"<h1>down</h1>","contentType":"text/html"}"#;
        let fault: Fault = serde_json::from_str(json).unwrap();
        assert_eq!(
            fault,
            Fault::on("/token")
                .respond(503, "<h1>down</h1>")
                .content_type("text/html")
        );
        let fault: Fault =
            serde_json::from_str(r#"{"path":"/token","action":"commitThenDrop","times":2}"#)
                .unwrap();
        assert_eq!(fault.action, FaultAction::CommitThenDrop);
        assert_eq!(fault.times, 2);
        let fault: Fault =
            serde_json::from_str(r#"{"path":"/token","action":"proceed","delayMs":250}"#).unwrap();
        assert_eq!(fault.delay_ms, 250);
    }
}
