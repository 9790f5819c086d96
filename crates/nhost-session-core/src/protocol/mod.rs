//! The auth service's JSON objects, parsed the way the real server writes them.
//!
//! Parsing is lenient where the server is (unknown fields are ignored, `metadata` may be
//! `null`, anonymous users have no e-mail) and strict where it matters: a session without an
//! access token or a refresh token is an error, never a half session.

mod claims;
mod error_body;
mod requests;
mod session;
mod sign_in;
mod user;

pub use claims::{ClaimValue, ClaimsError, HASURA_CLAIMS_NAMESPACE, HasuraClaims};
pub use error_body::ErrorBody;
pub use requests::{ProviderSignInOptions, SignInAnonymousOptions, SignUpOptions};
pub use session::Session;
pub use sign_in::{MfaTicket, SignInResponse};
pub use user::User;
