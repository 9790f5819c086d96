# The features that the tests, clippy and docs cover: everything but the TLS pass-through
# features (rustls, native-tls, tls), which add no code of ours and would build aws-lc and
# OpenSSL bindings on every CI run. Sourced by the other scripts.
FEATURES="nhost-session-core/verify,nhost-session-reqwest/middleware,nhost-session-actix/verify"
