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
    fn long_texts_are_cut() {
        let long = format!(r#"{{"error":"{}"}}"#, "é".repeat(2000));
        let parsed = ErrorBody::parse(long.as_bytes());
        assert!(parsed.error.unwrap().len() <= MAX_TEXT + '…'.len_utf8());
    }
}
