//! The `custom_store` example's logic and the file store itself.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use nhost_session_core::{RefreshToken, StoredTokens, TokenStore};
use nhost_session_examples::{Backend, DEMO_EMAIL, FileTokenStore, custom_store};

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir()
        .join("nhost-session-examples-tests")
        .join(format!("{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

#[tokio::test]
async fn a_restarted_program_resumes_the_session_from_the_file() {
    let backend = Backend::embedded().unwrap();
    let dir = temp_dir("resume");
    let path = dir.join("session.json");
    let mut out = Vec::new();
    let report = custom_store::run(&backend, &path, &mut out).await.unwrap();
    let text = String::from_utf8(out).unwrap();

    assert_eq!(report.first_user_id, report.resumed_user_id);
    let server = backend.server().unwrap();
    assert_eq!(
        server.user(&report.first_user_id).unwrap().email.as_deref(),
        Some(DEMO_EMAIL)
    );
    #[cfg(unix)]
    assert_eq!(report.file_mode, Some(0o600));
    assert!(!report.file_had_jwt);
    assert!(report.rotated);
    assert!(report.corrupt_reads_as_none);
    assert_eq!(report.warnings.len(), 1, "{:?}", report.warnings);
    assert!(report.warnings[0].contains("corrupt"));
    assert!(report.file_removed);
    // One sign-in only: the second run resumed with the stored refresh token.
    let stats = server.stats();
    assert_eq!(stats.sessions_created, 1);
    assert_eq!(stats.calls_with("/v1/token", "200"), 1);
    assert_eq!(stats.sign_outs, 1);
    assert!(!text.contains("eyJ"), "{text}");
    // No temporary files are left behind.
    let left: Vec<_> = std::fs::read_dir(&dir).unwrap().collect();
    assert!(left.is_empty(), "{left:?}");
    let _ = std::fs::remove_dir_all(&dir);
}

fn tokens(refresh: &str) -> StoredTokens {
    serde_json::from_value(serde_json::json!({
        "refreshToken": refresh,
        "refreshTokenId": "0c4b2f0e-6a2e-4a4a-8f4e-3b1d1e2f3a4b",
        "accessTokenExpiresAt": "2030-01-01T00:00:00Z",
        "accessToken": "eyJhbGciOi.secret.jwt",
    }))
    .unwrap()
}

#[tokio::test]
async fn saves_atomically_without_the_jwt_and_reads_corrupt_files_as_no_session() {
    let dir = temp_dir("store");
    let path = dir.join("nested").join("session.json");
    let warnings = Arc::new(Mutex::new(Vec::new()));
    let seen = Arc::clone(&warnings);
    let store =
        FileTokenStore::new(&path).on_warning(move |m| seen.lock().unwrap().push(m.to_owned()));

    assert_eq!(store.load().await.unwrap(), None, "no file, no session");
    store
        .save(&tokens("8b4e2c9a-1f0e-4c55-9a36-0f2b5e2d7c11"))
        .await
        .unwrap();
    store
        .save(&tokens("9c5f3d0b-2a1f-4d66-8b47-1a3c6f3e8d22"))
        .await
        .unwrap();
    let loaded = store.load().await.unwrap().unwrap();
    assert_eq!(
        loaded.refresh_token,
        RefreshToken::new("9c5f3d0b-2a1f-4d66-8b47-1a3c6f3e8d22")
    );
    assert_eq!(loaded.access_token, None, "the JWT is never written");
    assert!(!std::fs::read_to_string(&path).unwrap().contains("eyJ"));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        let dir_mode = std::fs::metadata(path.parent().unwrap())
            .unwrap()
            .permissions()
            .mode()
            & 0o777;
        assert_eq!(dir_mode, 0o700);
    }
    assert_eq!(
        std::fs::read_dir(path.parent().unwrap()).unwrap().count(),
        1,
        "no temp files left"
    );

    for garbage in [
        &b""[..],
        b"{",
        b"not json",
        b"{\"refreshToken\":\"\"}",
        &[0xff, 0xfe],
    ] {
        std::fs::write(&path, garbage).unwrap();
        assert_eq!(store.load().await.unwrap(), None);
    }
    assert_eq!(warnings.lock().unwrap().len(), 5);

    store.clear().await.unwrap();
    assert!(!path.exists());
    store.clear().await.unwrap();
    let _ = std::fs::remove_dir_all(&dir);
}
