//! Reading the redirect that ends a provider sign-in or a magic link.

use url::Url;

use crate::error::RedirectError;
use crate::secret::{RefreshToken, SecretString};

/// The query parameters the auth service puts on a sign-in redirect.
pub const REDIRECT_PARAMS: [&str; 5] =
    ["refreshToken", "code", "type", "error", "errorDescription"];

/// What a sign-in redirect (`redirectTo?…`) carries.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RedirectOutcome {
    /// `?refreshToken=<uuid>` (and for magic links `&type=…`): an ordinary rotating token, to be
    /// exchanged at `POST /token` at once.
    RefreshToken {
        /// The token.
        token: RefreshToken,
        /// The `type` parameter, such as `signinPasswordless`.
        kind: Option<String>,
    },
    /// `?code=…` (newer servers with PKCE): exchange with the verifier.
    Code(SecretString),
    /// `?error=…&errorDescription=…`.
    Error(RedirectError),
    /// None of these.
    Nothing,
}

impl RedirectOutcome {
    /// Reads a redirect URL. An error wins over credentials; empty values count as absent;
    /// a repeated parameter makes the redirect ambiguous, which is refused as an error.
    pub fn from_url(url: &Url) -> Self {
        Self::from_query(url.query().unwrap_or(""))
    }

    /// Reads the query string of a redirect (without the leading `?`).
    pub fn from_query(query: &str) -> Self {
        let mut refresh_token = None;
        let mut code = None;
        let mut kind = None;
        let mut error = None;
        let mut description = None;
        for (name, value) in url::form_urlencoded::parse(query.as_bytes()) {
            let slot = match name.as_ref() {
                "refreshToken" => &mut refresh_token,
                "code" => &mut code,
                "type" => &mut kind,
                "error" => &mut error,
                "errorDescription" => &mut description,
                _ => continue,
            };
            if value.trim().is_empty() {
                continue;
            }
            if slot.is_some() {
                return Self::Error(RedirectError {
                    code: "ambiguous-redirect".into(),
                    description: Some(format!("the parameter `{name}` appears more than once")),
                });
            }
            *slot = Some(value.into_owned());
        }
        if let Some(code) = error {
            return Self::Error(RedirectError { code, description });
        }
        match (refresh_token, code) {
            (Some(_), Some(_)) => Self::Error(RedirectError {
                code: "ambiguous-redirect".into(),
                description: Some("the redirect carries both a refresh token and a code".into()),
            }),
            (Some(token), None) => Self::RefreshToken {
                token: RefreshToken::new(token),
                kind,
            },
            (None, Some(code)) => Self::Code(SecretString::new(code)),
            (None, None) => Self::Nothing,
        }
    }
}

/// The URL without the sign-in parameters, so that no token stays in the address bar, the
/// history or a `Referer` header.
pub fn strip_redirect_params(url: &Url) -> Url {
    let mut clean = url.clone();
    let kept: Vec<(String, String)> = url
        .query_pairs()
        .filter(|(name, _)| !REDIRECT_PARAMS.contains(&name.as_ref()))
        .map(|(n, v)| (n.into_owned(), v.into_owned()))
        .collect();
    if kept.is_empty() {
        clean.set_query(None);
    } else {
        clean.query_pairs_mut().clear().extend_pairs(kept);
    }
    clean
}

#[cfg(test)]
mod tests {
    use super::*;

    fn outcome(query: &str) -> RedirectOutcome {
        RedirectOutcome::from_query(query)
    }

    #[test]
    fn reads_every_kind_of_redirect() {
        match outcome("refreshToken=abc&type=signinPasswordless") {
            RedirectOutcome::RefreshToken { token, kind } => {
                assert_eq!(token.expose_secret(), "abc");
                assert_eq!(kind.as_deref(), Some("signinPasswordless"));
            }
            other => panic!("{other:?}"),
        }
        assert!(
            matches!(outcome("code=xyz"), RedirectOutcome::Code(c) if c.expose_secret() == "xyz")
        );
        assert_eq!(
            outcome("error=invalid-state&errorDescription=State%20mismatch&refreshToken=x"),
            RedirectOutcome::Error(RedirectError {
                code: "invalid-state".into(),
                description: Some("State mismatch".into())
            })
        );
        assert_eq!(outcome(""), RedirectOutcome::Nothing);
        assert_eq!(outcome("refreshToken="), RedirectOutcome::Nothing);
        assert!(matches!(
            outcome("refreshToken=a&refreshToken=b"),
            RedirectOutcome::Error(_)
        ));
        assert!(matches!(
            outcome("refreshToken=a&code=b"),
            RedirectOutcome::Error(_)
        ));
    }

    #[test]
    fn stripping_removes_only_sign_in_params() {
        let url =
            Url::parse("https://app.example/cb?refreshToken=abc&type=x&next=%2Fprofile").unwrap();
        assert_eq!(
            strip_redirect_params(&url).as_str(),
            "https://app.example/cb?next=%2Fprofile"
        );
        let url = Url::parse("https://app.example/cb?code=abc").unwrap();
        assert_eq!(
            strip_redirect_params(&url).as_str(),
            "https://app.example/cb"
        );
    }
}
