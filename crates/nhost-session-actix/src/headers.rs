//! Moving cookies between actix's headers and `nhost-session-cookie`'s (`http` 1) ones.

use std::collections::BTreeSet;

use actix_web::http::header::{self as actix_header, HeaderMap as ActixHeaderMap};
use nhost_session_cookie::{CACHE_CONTROL_NO_STORE, SetCookie};

/// The raw values of the request's `Cookie` headers, as `nhost-session-cookie` reads them.
pub(crate) fn cookie_values(headers: &ActixHeaderMap) -> impl Iterator<Item = &[u8]> {
    headers
        .get_all(actix_header::COOKIE)
        .map(actix_header::HeaderValue::as_bytes)
}

/// A `Set-Cookie` value as an actix header value (marked sensitive).
pub(crate) fn actix_value(cookie: &SetCookie) -> Option<actix_header::HeaderValue> {
    let mut value = actix_header::HeaderValue::from_bytes(cookie.header_value().as_bytes()).ok()?;
    value.set_sensitive(true);
    Some(value)
}

/// Appends `Set-Cookie` headers and, when there is any, `Cache-Control: private, no-store`.
pub(crate) fn append_set_cookies(
    headers: &mut ActixHeaderMap,
    cookies: impl IntoIterator<Item = actix_header::HeaderValue>,
) {
    let mut any = false;
    for value in cookies {
        headers.append(actix_header::SET_COOKIE, value);
        any = true;
    }
    if any {
        headers.insert(
            actix_header::CACHE_CONTROL,
            actix_header::HeaderValue::from_static(CACHE_CONTROL_NO_STORE),
        );
    }
}

/// Rewrites the request's `Cookie` headers as the browser will send them after this
/// response: the session cookies named in `drop` go, the ones `set` sets come in. Other
/// cookies stay as they were.
pub(crate) fn rewrite_request_cookies<'a>(
    headers: &mut ActixHeaderMap,
    drop: impl IntoIterator<Item = &'a str>,
    set: &[SetCookie],
) {
    let mut dropped: BTreeSet<&str> = drop.into_iter().collect();
    for cookie in set {
        dropped.insert(cookie.name());
    }
    let mut pairs: Vec<String> = Vec::new();
    for value in headers.get_all(actix_header::COOKIE) {
        let text = String::from_utf8_lossy(value.as_bytes());
        for pair in text.split(';') {
            let pair = pair.trim();
            if pair.is_empty() {
                continue;
            }
            let name = pair.split('=').next().unwrap_or_default().trim();
            if !dropped.contains(name) {
                pairs.push(pair.to_owned());
            }
        }
    }
    for cookie in set.iter().filter(|c| !c.is_removal()) {
        let text = String::from_utf8_lossy(cookie.header_value().as_bytes());
        if let Some(pair) = text.split(';').next() {
            pairs.push(pair.trim().to_owned());
        }
    }
    headers.remove(actix_header::COOKIE);
    if pairs.is_empty() {
        return;
    }
    if let Ok(mut value) = actix_header::HeaderValue::from_str(&pairs.join("; ")) {
        value.set_sensitive(true);
        headers.insert(actix_header::COOKIE, value);
    }
}
