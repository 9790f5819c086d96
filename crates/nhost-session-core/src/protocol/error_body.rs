use serde::Deserialize;

/// An error answer of the auth service, in any of the shapes it sends.
///
/// - the usual `{"status": 401, "error": "invalid-refresh-token", "message": "…"}`;
/// - request validation failures: `{"error": "error in openapi3filter.RequestError: …"}`;
/// - newer servers' bearer failures: `{"error": "unauthorized", "reason": "…", "securityScheme": "BearerAuth"}`;
/// - concealed errors: `{"error": "invalid-request"}`;
/// - an empty body (rate limiting answers `429` with nothing), HTML from a proxy, or garbage:
///   every field is `None`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ErrorBody {
    /// The status the body states (it usually repeats the HTTP status).
    #[serde(default)]
    pub status: Option<u16>,
    /// The error code, such as `invalid-refresh-token`. An open set: compare with strings.
    #[serde(default)]
    pub error: Option<String>,
    /// A human-readable message.
    #[serde(default)]
    pub message: Option<String>,
    /// The reason given by bearer-authentication failures of newer servers.
    #[serde(default)]
    pub reason: Option<String>,
}

/// How long a code or message may be before it is cut, so that a hostile server cannot blow up
/// error values and logs.
const MAX_TEXT: usize = 512;

impl ErrorBody {
    /// Parses an error body leniently: anything that is not a JSON object of the known shapes
    /// gives an empty `ErrorBody`, never an error.
    pub fn parse(body: &[u8]) -> Self {
        let mut parsed: Self = serde_json::from_slice(body).unwrap_or_default();
        for text in [&mut parsed.error, &mut parsed.message, &mut parsed.reason]
            .into_iter()
            .flatten()
        {
            redact_secrets(text);
            truncate(text);
        }
        parsed
    }

    /// Whether this is a request-validation failure (`error in openapi3filter…`).
    pub fn is_validation_error(&self) -> bool {
        self.error
            .as_deref()
            .is_some_and(|e| e.starts_with("error in openapi3filter"))
    }

    /// The error code, when the body has one.
    pub fn code(&self) -> Option<&str> {
        self.error.as_deref()
    }
}

/// What replaces a possible secret in a server's text.
const REDACTED: &str = "[redacted]";

/// Takes out of a server's text what may be a token, since error texts end up in `Display`,
/// `Debug` and logs. The real server quotes none, but a validation error quotes the value it
/// refused (kin-openapi's `Value:` section, cut here), and a proxy or a hostile server may echo
/// anything: words shaped like a JWT (`eyJ…` in three dot-separated base64url parts) or like a
/// UUID (refresh tokens are UUIDs) are replaced with `[redacted]`. Done before [`truncate`],
/// so that no cut-off token escapes the patterns.
fn redact_secrets(text: &mut String) {
    if let Some(at) = text.find("Value:") {
        text.truncate(at);
        text.push_str("Value: ");
        text.push_str(REDACTED);
    }
    let bytes = text.as_bytes();
    let mut out = String::new();
    let (mut copied, mut at) = (0, 0);
    while at < bytes.len() {
        let at_word_start = at == 0 || bytes.get(at - 1).is_none_or(|b| !is_base64url(*b));
        let secret = bytes
            .get(at..)
            .filter(|_| at_word_start)
            .and_then(|rest| jwt_len(rest).or_else(|| uuid_len(rest)));
        match secret {
            // Both patterns start with an ASCII byte, a character boundary.
            Some(len) => {
                out.push_str(text.get(copied..at).unwrap_or_default());
                out.push_str(REDACTED);
                at += len;
                copied = at;
            }
            None => at += 1,
        }
    }
    if copied > 0 {
        out.push_str(text.get(copied..).unwrap_or_default());
        *text = out;
    }
}

fn is_base64url(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || byte == b'-' || byte == b'_'
}

/// The length of a JWT at the start of `text`: `eyJ` (a JSON object's `{"`), then three
/// base64url parts separated by dots, the last one possibly empty (`alg: none`).
fn jwt_len(text: &[u8]) -> Option<usize> {
    if !text.starts_with(b"eyJ") {
        return None;
    }
    let part = |from: usize| {
        text.get(from..).map_or(0, |rest| {
            rest.iter().take_while(|b| is_base64url(**b)).count()
        })
    };
    let header = part(0);
    if text.get(header) != Some(&b'.') {
        return None;
    }
    let payload = part(header + 1);
    if payload == 0 || text.get(header + 1 + payload) != Some(&b'.') {
        return None;
    }
    Some(header + payload + 2 + part(header + payload + 2))
}

/// The length of a UUID (8-4-4-4-12 hex digits) at the start of `text`.
fn uuid_len(text: &[u8]) -> Option<usize> {
    let candidate = text.get(..36)?;
    let shaped = candidate.iter().enumerate().all(|(i, b)| match i {
        8 | 13 | 18 | 23 => *b == b'-',
        _ => b.is_ascii_hexdigit(),
    });
    shaped.then_some(36)
}

fn truncate(text: &mut String) {
    if text.len() > MAX_TEXT {
        let mut end = MAX_TEXT;
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        text.truncate(end);
        text.push('…');
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_shape_the_server_sends() {
        let usual = ErrorBody::parse(
            br#"{"status":401,"error":"invalid-refresh-token","message":"Invalid or expired refresh token"}"#,
        );
        assert_eq!(usual.status, Some(401));
        assert_eq!(usual.code(), Some("invalid-refresh-token"));

        let validation = ErrorBody::parse(
            br#"{"error":"error in openapi3filter.RequestError: request body has an error: doesn't match schema"}"#,
        );
        assert!(validation.is_validation_error());
        assert_eq!(validation.status, None);

        let bearer = ErrorBody::parse(
            br#"{"error":"unauthorized","reason":"token is expired","securityScheme":"BearerAuth"}"#,
        );
        assert_eq!(bearer.code(), Some("unauthorized"));
        assert_eq!(bearer.reason.as_deref(), Some("token is expired"));

        let concealed = ErrorBody::parse(br#"{"error":"invalid-request"}"#);
        assert_eq!(concealed.code(), Some("invalid-request"));
    }

    #[test]
    fn garbage_gives_an_empty_body() {
        for body in [
            &b""[..],
            b"<html>502</html>",
            b"{\"error\":",
            b"[1,2]",
            b"\"OK\"",
            b"\xff\xfe",
        ] {
            assert_eq!(ErrorBody::parse(body), ErrorBody::default());
        }
        assert_eq!(
            ErrorBody::parse(br#"{"status":"x","error":"e"}"#),
            ErrorBody::default()
        );
    }

    #[test]
    fn texts_that_may_hold_tokens_are_redacted() {
        let jwt = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ1MSJ9.c2lnbmF0dXJl";
        let uuid = "2c35b6f3-c4b9-48e3-978a-d4d0f1d42e24";
        let body = format!(
            r#"{{"error":"error in openapi3filter.RequestError: doesn't match schema\n\nValue:\n  \"{uuid}x\"\n","message":"bad token {jwt}, refresh {uuid}.","reason":"{jwt}"}}"#
        );
        let parsed = ErrorBody::parse(body.as_bytes());
        let error = parsed.error.as_deref().unwrap();
        assert!(parsed.is_validation_error(), "{error}");
        assert!(error.ends_with("Value: [redacted]"), "{error}");
        assert_eq!(
            parsed.message.as_deref(),
            Some("bad token [redacted], refresh [redacted].")
        );
        assert_eq!(parsed.reason.as_deref(), Some("[redacted]"));
        let shown = format!("{parsed:?}");
        assert!(
            !shown.contains(uuid) && !shown.contains("c2lnbmF0dXJl"),
            "{shown}"
        );
        // Words that only contain such shapes, and ordinary texts, stay as they are.
        for kept in [
            "Invalid or expired refresh token",
            "xeyJa.eyJb.c",
            "eyJhbGciOiJSUzI1NiJ9 only a header",
            "a2c35b6f3-c4b9-48e3-978a-d4d0f1d42e24",
            "2c35b6f3-c4b9-48e3-978a-d4d0f1d42e2",
            "é unicode eyJ",
        ] {
            let mut text = kept.to_owned();
            redact_secrets(&mut text);
            assert_eq!(text, kept);
        }
    }

    #[test]
    fn long_texts_are_cut() {
        let long = format!(r#"{{"error":"{}"}}"#, "é".repeat(2000));
        let parsed = ErrorBody::parse(long.as_bytes());
        assert!(parsed.error.unwrap().len() <= MAX_TEXT + '…'.len_utf8());
    }
}
