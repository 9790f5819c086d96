//! The `cli` example's logic against the embedded test server, so that it keeps working.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use nhost_session_examples::cli::{self, SignIn};
use nhost_session_examples::{Backend, DEMO_EMAIL};

#[tokio::test]
async fn cli_signs_in_calls_graphql_rotates_and_signs_out() {
    let backend = Backend::embedded().unwrap();
    let mut out = Vec::new();
    let report = cli::run(&backend, None, &mut out).await.unwrap();
    let text = String::from_utf8(out).unwrap();

    assert_eq!(report.user.email.as_deref(), Some(DEMO_EMAIL));
    let graphql = report.graphql.clone().unwrap();
    assert_eq!(graphql["data"]["me"]["email"], DEMO_EMAIL, "{graphql}");
    assert!(
        report.rotated && report.old_token_dead && report.signed_out,
        "{report:?}"
    );

    let server = backend.server().unwrap();
    let stats = server.stats();
    assert_eq!(stats.sessions_created, 1);
    assert_eq!(
        stats.calls_with("/v1/token", "200"),
        1,
        "the forced refresh"
    );
    assert_eq!(
        stats.calls_with("/v1/token", "401"),
        1,
        "the replayed old token"
    );
    assert_eq!(stats.sign_outs, 1);
    assert_eq!(server.active_sessions(&report.user.id), 0);

    for step in [
        "1. Signing in",
        "2. Calling GraphQL",
        "3. Forcing a refresh",
        "4. Signing out",
        "Done.",
    ] {
        assert!(text.contains(step), "missing `{step}` in:\n{text}");
    }
    assert!(text.contains("the refresh token rotated"), "{text}");
    // Nothing secret is printed: no JWT, no refresh token, no password.
    assert!(!text.contains("eyJ"), "{text}");
    assert!(
        !text.contains(nhost_session_examples::DEMO_PASSWORD),
        "{text}"
    );
}

#[tokio::test]
async fn cli_signs_in_anonymously() {
    let backend = Backend::embedded().unwrap();
    let mut out = Vec::new();
    let report = cli::run(&backend, Some(SignIn::Anonymous), &mut out)
        .await
        .unwrap();
    assert!(report.user.is_anonymous);
    assert_eq!(report.graphql.unwrap()["data"]["me"]["isAnonymous"], true);
    assert!(report.rotated && report.signed_out);
}

#[tokio::test]
async fn cli_reports_a_wrong_password() {
    let backend = Backend::embedded().unwrap();
    let sign_in = SignIn::EmailPassword {
        email: DEMO_EMAIL.into(),
        password: "wrong".into(),
    };
    let error = cli::run(&backend, Some(sign_in), &mut Vec::new())
        .await
        .unwrap_err();
    assert!(
        error.to_string().contains("invalid-email-password"),
        "{error}"
    );
}

#[test]
fn arguments_and_environment() {
    let no_env = |_: &str| None;
    let args = |list: &[&str]| list.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
    assert_eq!(cli::parse_args(args(&[]), no_env), Ok(None));
    assert_eq!(
        cli::parse_args(args(&["--anonymous"]), no_env),
        Ok(Some(SignIn::Anonymous))
    );
    assert_eq!(
        cli::parse_args(args(&["--email", "a@b.c", "--password", "pw"]), no_env),
        Ok(Some(SignIn::EmailPassword {
            email: "a@b.c".into(),
            password: "pw".into()
        }))
    );
    let env = |name: &str| match name {
        "NHOST_EMAIL" => Some("e@x.y".to_owned()),
        "NHOST_PASSWORD" => Some("secret".to_owned()),
        _ => None,
    };
    assert_eq!(
        cli::parse_args(args(&[]), env),
        Ok(Some(SignIn::EmailPassword {
            email: "e@x.y".into(),
            password: "secret".into()
        }))
    );
    assert!(cli::parse_args(args(&["--email", "a@b.c"]), no_env).is_err());
    assert!(cli::parse_args(args(&["--bogus"]), no_env).is_err());
    assert_eq!(
        cli::parse_args(args(&["--help"]), no_env),
        Err(cli::USAGE.to_owned())
    );
    // The password never shows in Debug output.
    let debug = format!(
        "{:?}",
        SignIn::EmailPassword {
            email: "a@b.c".into(),
            password: "hunter2".into()
        }
    );
    assert!(!debug.contains("hunter2"), "{debug}");
}
