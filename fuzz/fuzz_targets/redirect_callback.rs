//! The redirect that ends a provider sign-in or a magic link, and the URLs around it.
//!
//! The input is read as a query string, as a whole URL, and as the query of an app's callback
//! URL. Checks:
//! - `RedirectOutcome::from_query`/`from_url` never panic; a token or code it returns is the
//!   value of the one non-empty parameter of that name, and its `Debug` shows neither;
//! - `strip_redirect_params` leaves no `refreshToken`, `code`, `type`, `error` or
//!   `errorDescription` parameter (so the stripped URL carries nothing to act on), keeps every
//!   other parameter in order, changes nothing but the query, and is idempotent;
//! - `AuthUrl::parse` accepts only http(s) bases without query, fragment or credentials, ends
//!   them with `/`, and parses its own output to the same value; endpoints stay under the base;
//! - `provider_sign_in_url` with arbitrary provider and `redirectTo` stays under the base and
//!   carries `redirectTo` unchanged.

#![no_main]

use libfuzzer_sys::fuzz_target;
use nhost_session_core::{
    AuthApi, AuthUrl, FnTransport, ProviderSignInOptions, REDIRECT_PARAMS, RedirectOutcome,
    RefreshToken, SecretString, TransportError, strip_redirect_params,
};
use nhost_session_fuzz::assert_debug_hides;
use url::Url;

fn check_outcome(query: &str, outcome: &RedirectOutcome) {
    let values = |name: &str| -> Vec<String> {
        url::form_urlencoded::parse(query.as_bytes())
            .filter(|(n, v)| n == name && !v.trim().is_empty())
            .map(|(_, v)| v.into_owned())
            .collect()
    };
    match outcome {
        RedirectOutcome::RefreshToken { token, kind } => {
            assert_eq!(values("refreshToken"), [token.expose_secret()]);
            assert!(values("code").is_empty() && values("error").is_empty());
            let redacted = RedirectOutcome::RefreshToken {
                token: RefreshToken::new("placeholder"),
                kind: kind.clone(),
            };
            assert_debug_hides(outcome, &redacted, "RedirectOutcome");
        }
        RedirectOutcome::Code(code) => {
            assert_eq!(values("code"), [code.expose_secret()]);
            assert!(values("refreshToken").is_empty() && values("error").is_empty());
            let redacted = RedirectOutcome::Code(SecretString::new("placeholder"));
            assert_debug_hides(outcome, &redacted, "RedirectOutcome");
        }
        RedirectOutcome::Error(error) => {
            assert!(!error.code.is_empty());
            let _ = format!("{error} {error:?}");
        }
        RedirectOutcome::Nothing => {
            for name in ["refreshToken", "code", "error"] {
                assert!(values(name).is_empty(), "`{name}` was overlooked");
            }
        }
    }
}

fn check_url(url: &Url) {
    let outcome = RedirectOutcome::from_url(url);
    check_outcome(url.query().unwrap_or(""), &outcome);

    let stripped = strip_redirect_params(url);
    for (name, _) in stripped.query_pairs() {
        assert!(
            !REDIRECT_PARAMS.contains(&name.as_ref()),
            "`{name}` survived stripping: {stripped}"
        );
    }
    assert_eq!(
        RedirectOutcome::from_url(&stripped),
        RedirectOutcome::Nothing
    );
    let kept: Vec<_> = url
        .query_pairs()
        .filter(|(name, _)| !REDIRECT_PARAMS.contains(&name.as_ref()))
        .collect();
    assert_eq!(
        stripped.query_pairs().collect::<Vec<_>>(),
        kept,
        "other parameters changed"
    );
    assert_eq!(stripped.query().is_none(), kept.is_empty());
    assert_eq!(
        (
            stripped.scheme(),
            stripped.host_str(),
            stripped.port(),
            stripped.path()
        ),
        (url.scheme(), url.host_str(), url.port(), url.path())
    );
    assert_eq!(stripped.fragment(), url.fragment());
    assert_eq!(
        strip_redirect_params(&stripped),
        stripped,
        "stripping twice changed the URL"
    );
    // Stripping keeps a URL whose text parses back to itself (when the original's did).
    if Url::parse(url.as_str()).as_ref() == Ok(url) {
        assert_eq!(Url::parse(stripped.as_str()).as_ref(), Ok(&stripped));
    }
}

fn check_auth_url(text: &str) {
    let Ok(base) = AuthUrl::parse(text) else {
        return;
    };
    let url = base.as_url();
    assert!(matches!(url.scheme(), "http" | "https"));
    assert!(url.query().is_none() && url.fragment().is_none());
    assert!(url.username().is_empty() && url.password().is_none());
    assert!(base.as_str().ends_with('/'), "{base:?}");
    assert_eq!(
        AuthUrl::parse(base.as_str()).as_ref(),
        Ok(&base),
        "not idempotent"
    );
    for path in ["token", "/signin/email-password", ".well-known/jwks.json"] {
        let endpoint = base.endpoint(path);
        assert!(
            endpoint.as_str().starts_with(base.as_str()),
            "{endpoint} is not under {base}"
        );
    }
}

fn check_provider_url(text: &str) {
    let (provider, redirect_to) = text
        .split_once('\n')
        .unwrap_or((text, "https://app.example/cb"));
    let base = AuthUrl::parse("https://local.auth.local.nhost.run/v1").expect("a URL");
    let api = AuthApi::new(
        base.clone(),
        FnTransport::new(|_request: http::Request<Vec<u8>>| async {
            Err::<http::Response<Vec<u8>>, _>(TransportError::new(
                nhost_session_core::TransportErrorKind::Other,
                "not used",
            ))
        }),
    );
    let options = ProviderSignInOptions {
        redirect_to: Some(redirect_to.to_owned()),
        ..ProviderSignInOptions::default()
    };
    let url = api.provider_sign_in_url(provider, &options);
    assert!(
        url.as_str()
            .starts_with("https://local.auth.local.nhost.run/v1/signin/provider"),
        "{url}"
    );
    let redirects: Vec<_> = url
        .query_pairs()
        .filter(|(name, _)| name == "redirectTo")
        .map(|(_, value)| value.into_owned())
        .collect();
    assert_eq!(redirects, [redirect_to]);
}

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    check_outcome(&text, &RedirectOutcome::from_query(&text));
    if let Ok(url) = Url::parse(&text) {
        check_url(&url);
    }
    if let Ok(url) = Url::parse(&format!("https://app.example/auth/callback?{text}")) {
        check_url(&url);
    }
    check_auth_url(&text);
    check_provider_url(&text);
});
