//! Short-lived, single-use secrets: MFA tickets, magic-link tickets, one-time codes, OAuth
//! states and PKCE authorization codes.

use std::collections::HashMap;
use std::hash::Hash;

use uuid::Uuid;

/// MFA tickets (`mfaTotp:<uuid>`) live 5 minutes.
pub(crate) const MFA_TICKET_MS: i64 = 5 * 60 * 1000;
/// Magic links and e-mail verification links live 1 hour.
pub(crate) const LINK_TICKET_MS: i64 = 60 * 60 * 1000;
/// One-time codes sent by e-mail or SMS live 5 minutes.
pub(crate) const OTP_MS: i64 = 5 * 60 * 1000;
/// OAuth states and authorization codes live 10 minutes.
pub(crate) const OAUTH_MS: i64 = 10 * 60 * 1000;

/// A map whose entries expire and are taken at most once.
#[derive(Debug)]
pub(crate) struct Expiring<K, V> {
    entries: HashMap<K, (V, i64)>,
}

impl<K, V> Default for Expiring<K, V> {
    fn default() -> Self {
        Self {
            entries: HashMap::new(),
        }
    }
}

impl<K: Eq + Hash, V> Expiring<K, V> {
    /// Stores `value` under `key` until `now_ms + ttl_ms` (replacing an older entry).
    pub(crate) fn put(&mut self, key: K, value: V, now_ms: i64, ttl_ms: i64) {
        self.entries
            .insert(key, (value, now_ms.saturating_add(ttl_ms)));
    }

    /// The value if present and not expired, without using it up.
    pub(crate) fn get(&self, key: &K, now_ms: i64) -> Option<&V> {
        self.entries
            .get(key)
            .filter(|(_, until)| now_ms < *until)
            .map(|(value, _)| value)
    }

    /// The value if present and not expired, to change in place.
    pub(crate) fn get_mut(&mut self, key: &K, now_ms: i64) -> Option<&mut V> {
        self.entries
            .get_mut(key)
            .filter(|(_, until)| now_ms < *until)
            .map(|(value, _)| value)
    }

    /// Takes the value out if present and not expired; an expired entry is dropped.
    pub(crate) fn take(&mut self, key: &K, now_ms: i64) -> Option<V> {
        let (value, until) = self.entries.remove(key)?;
        (now_ms < until).then_some(value)
    }
}

/// What a magic link or verification link does once followed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum LinkKind {
    /// `passwordlessEmail:` tickets, `type=signinPasswordless`.
    SignInPasswordless,
    /// `verifyEmail:` tickets, `type=emailVerify`.
    EmailVerify,
}

impl LinkKind {
    pub(crate) fn type_param(self) -> &'static str {
        match self {
            Self::SignInPasswordless => "signinPasswordless",
            Self::EmailVerify => "emailVerify",
        }
    }
}

/// A pending link.
#[derive(Clone, Debug)]
pub(crate) struct LinkTicket {
    pub(crate) user_id: Uuid,
    pub(crate) kind: LinkKind,
}

/// A pending OAuth sign-in at the fake provider.
#[derive(Clone, Debug)]
pub(crate) struct OAuthState {
    pub(crate) provider: String,
    pub(crate) redirect_to: String,
    pub(crate) code_challenge: Option<String>,
    pub(crate) login_hint: Option<String>,
    pub(crate) provider_error: Option<String>,
    pub(crate) options: crate::users::SignUpOptions,
}

/// A PKCE authorization code waiting for `POST /token/exchange`.
#[derive(Clone, Debug)]
pub(crate) struct AuthCode {
    pub(crate) user_id: Uuid,
    pub(crate) code_challenge: String,
}

/// All pending tickets of the server.
#[derive(Default)]
pub(crate) struct Tickets {
    pub(crate) mfa: Expiring<String, Uuid>,
    pub(crate) links: Expiring<String, LinkTicket>,
    /// E-mail OTPs by lower-cased e-mail: `(code, user)`.
    pub(crate) email_otps: Expiring<String, (String, Uuid)>,
    /// SMS OTPs by phone number: `(code, user)`.
    pub(crate) sms_otps: Expiring<String, (String, Uuid)>,
    /// Provider authorization codes handed to the callback.
    pub(crate) oauth_states: Expiring<String, OAuthState>,
    pub(crate) auth_codes: Expiring<String, AuthCode>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_expire_and_are_single_use() {
        let mut map: Expiring<String, u8> = Expiring::default();
        map.put("a".to_owned(), 1, 0, 100);
        assert_eq!(map.get(&"a".to_owned(), 99), Some(&1));
        assert_eq!(map.take(&"a".to_owned(), 50), Some(1));
        assert_eq!(map.take(&"a".to_owned(), 50), None);
        map.put("b".to_owned(), 2, 0, 100);
        assert_eq!(map.take(&"b".to_owned(), 100), None);
    }
}
