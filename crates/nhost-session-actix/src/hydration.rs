//! Handing the session to the page's JavaScript: JSON inside
//! `<script type="application/json">`, escaped so that no value can end the element.
//!
//! Browser code reads it with
//! `JSON.parse(document.getElementById("nhost-session").textContent)`. The refresh token is
//! never in it: it stays in the (HttpOnly) cookie.

use serde::Serialize;
use time::OffsetDateTime;

use crate::session::AuthSession;

/// The `id` of the script element [`hydration_script`] writes.
pub const HYDRATION_ELEMENT_ID: &str = "nhost-session";

/// What the page gets of a session: the access token, its expiry and the user; never the
/// refresh token.
///
/// JSON: `{"accessToken":"…","accessTokenExpiresAt":"2025-01-01T00:00:00Z",
/// "accessTokenExpiresIn":840,"user":{…}}` (`accessTokenExpiresIn` is the number of seconds
/// left when the page was rendered).
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct HydrationData<'a> {
    /// The JWT.
    pub access_token: &'a nhost_session_core::AccessToken,
    /// When it expires (RFC 3339).
    #[serde(with = "time::serde::rfc3339")]
    pub access_token_expires_at: OffsetDateTime,
    /// Seconds left at rendering time.
    pub access_token_expires_in: i64,
    /// The user.
    pub user: Option<&'a nhost_session_core::User>,
}

impl<'a> HydrationData<'a> {
    /// The data of `session`, with the time left counted from `now`.
    pub fn new(session: &'a AuthSession, now: OffsetDateTime) -> Self {
        Self {
            access_token: session.access_token(),
            access_token_expires_at: session.expires_at(),
            access_token_expires_in: (session.expires_at() - now).whole_seconds().max(0),
            user: session.user(),
        }
    }
}

/// Serialises `value` to JSON that is safe inside a `<script>` element: `<`, `>`, `&`,
/// U+2028 and U+2029 are written as `\u003c`, `\u003e`, `\u0026`, `\u2028`, `\u2029`, so
/// `</script>` or `<!--` can never appear, whatever the strings hold. The result is still
/// valid JSON with the same value.
///
/// ```
/// use nhost_session_actix::to_script_json;
///
/// let json = to_script_json(&serde_json::json!({"name": "</script><script>alert(1)"})).unwrap();
/// assert_eq!(json, r#"{"name":"\u003c/script\u003e\u003cscript\u003ealert(1)"}"#);
/// ```
///
/// # Errors
/// When `value` cannot be serialised (a map with non-string keys, a failing `Serialize`).
pub fn to_script_json<T: Serialize + ?Sized>(value: &T) -> Result<String, serde_json::Error> {
    let json = serde_json::to_string(value)?;
    Ok(escape_json_for_script(&json))
}

/// Escapes JSON text for a `<script>` element (see [`to_script_json`]). Outside strings,
/// JSON never holds these characters, so escaping them everywhere keeps the JSON valid.
pub fn escape_json_for_script(json: &str) -> String {
    let mut out = String::with_capacity(json.len() + 16);
    for c in json.chars() {
        match c {
            '<' => out.push_str("\\u003c"),
            '>' => out.push_str("\\u003e"),
            '&' => out.push_str("\\u0026"),
            '\u{2028}' => out.push_str("\\u2028"),
            '\u{2029}' => out.push_str("\\u2029"),
            c => out.push(c),
        }
    }
    out
}

/// The element that hands the session to the page:
/// `<script type="application/json" id="nhost-session">{…}</script>`, with `null` for no
/// session.
///
/// ```
/// let html = nhost_session_actix::hydration_script(None);
/// assert_eq!(html, r#"<script type="application/json" id="nhost-session">null</script>"#);
/// ```
pub fn hydration_script(session: Option<&AuthSession>) -> String {
    let now = OffsetDateTime::now_utc();
    let json = match session {
        Some(session) => to_script_json(&HydrationData::new(session, now)),
        None => Ok("null".to_owned()),
    };
    let json = json.unwrap_or_else(|error| {
        tracing::warn!(%error, "nhost-session: cannot serialise the session for the page");
        "null".to_owned()
    });
    format!(r#"<script type="application/json" id="{HYDRATION_ELEMENT_ID}">{json}</script>"#)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nothing_can_close_the_script_element() {
        let nasty = "</script><!--<script>&\u{2028}\u{2029}</SCRIPT>";
        let json = to_script_json(&serde_json::json!({ "v": nasty, nasty: 1 })).unwrap();
        assert!(!json.contains('<') && !json.contains('>') && !json.contains('&'));
        assert!(!json.contains('\u{2028}') && !json.contains('\u{2029}'));
        let back: serde_json::Value = serde_json::from_str(&json).unwrap();
        assert_eq!(back["v"], nasty);
        assert_eq!(back[nasty], 1);
    }
}
