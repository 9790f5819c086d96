//! A browser's cookie jar, reduced to what the tests need: `Set-Cookie` values in, a
//! `Cookie` header out.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use cookie::Cookie;
use http::header::COOKIE;
use http::{HeaderMap, HeaderValue};
use nhost_session_cookie::SetCookie;
use time::Duration;

/// One stored cookie: keyed by name, path and domain, as browsers key them.
#[derive(Clone, Debug)]
pub struct Stored {
    pub name: String,
    pub value: String,
    pub path: String,
    pub domain: Option<String>,
    pub secure: bool,
    pub http_only: bool,
}

#[derive(Clone, Debug, Default)]
pub struct Browser {
    pub cookies: Vec<Stored>,
}

impl Browser {
    /// Applies `Set-Cookie` header values, as a browser does: a cookie replaces the one with
    /// the same name, path and domain; `Max-Age=0` removes it.
    pub fn apply(&mut self, set_cookies: &[SetCookie]) {
        for set_cookie in set_cookies {
            self.apply_header(set_cookie.header_value().to_str().unwrap());
        }
    }

    pub fn apply_header(&mut self, header: &str) {
        let parsed = Cookie::parse(header.to_owned()).unwrap();
        let path = parsed.path().unwrap_or("/").to_owned();
        let domain = parsed.domain().map(str::to_owned);
        self.cookies
            .retain(|c| !(c.name == parsed.name() && c.path == path && c.domain == domain));
        let removed = parsed.max_age().is_some_and(|age| age <= Duration::ZERO);
        if !removed {
            self.cookies.push(Stored {
                name: parsed.name().to_owned(),
                value: parsed.value().to_owned(),
                path,
                domain,
                secure: parsed.secure().unwrap_or(false),
                http_only: parsed.http_only().unwrap_or(false),
            });
        }
    }

    /// The `Cookie` header the browser sends, with an unrelated cookie in front.
    pub fn header(&self) -> HeaderMap {
        let mut text = String::from("theme=dark");
        for cookie in &self.cookies {
            text.push_str("; ");
            text.push_str(&cookie.name);
            text.push('=');
            text.push_str(&cookie.value);
        }
        let mut headers = HeaderMap::new();
        headers.insert(COOKIE, HeaderValue::from_str(&text).unwrap());
        headers
    }

    pub fn names(&self) -> Vec<String> {
        let mut names: Vec<String> = self.cookies.iter().map(|c| c.name.clone()).collect();
        names.sort();
        names
    }
}
