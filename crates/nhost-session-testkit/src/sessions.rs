//! Refresh tokens, device sessions and personal access tokens, with the three rotation modes.
//!
//! A device session is what `refreshTokenId` names: it survives rotations. Each live refresh
//! token value points at one device session. Callers hold the store's mutex across a whole
//! refresh, so two refreshes with one token can never both succeed.

use std::collections::{HashMap, HashSet};

use uuid::Uuid;

use crate::clock::duration_ms;
use crate::config::Rotation;

/// One signed-in device.
#[derive(Clone, Debug)]
struct Device {
    user_id: Uuid,
    /// The refresh-token expiry, pushed forward by every refresh.
    expires_at_ms: i64,
}

/// One live refresh-token value.
#[derive(Clone, Copy, Debug)]
struct TokenEntry {
    device: Uuid,
    /// Set in grace mode once a refresh replaced this token: it dies at that time.
    dies_at_ms: Option<i64>,
}

/// A personal access token.
#[derive(Clone, Debug)]
pub(crate) struct Pat {
    pub(crate) user_id: Uuid,
    pub(crate) expires_at_ms: i64,
}

/// Why a refresh token was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Rejected {
    /// The token was replaced by a completed refresh (a reuse), rather than unknown or expired.
    pub(crate) replaced: bool,
}

/// The result of a successful refresh.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Refreshed {
    /// The refresh token to hand back (the same one in [`Rotation::None`]).
    pub(crate) token: Uuid,
    /// The device session id (`refreshTokenId`), stable across rotations.
    pub(crate) device: Uuid,
    /// Whether a new token value was minted.
    pub(crate) minted: bool,
}

/// All sessions of the server.
#[derive(Default)]
pub(crate) struct Sessions {
    devices: HashMap<Uuid, Device>,
    tokens: HashMap<Uuid, TokenEntry>,
    replaced: HashSet<Uuid>,
    pats: HashMap<Uuid, Pat>,
}

impl Sessions {
    /// Signs a device in: a new device session with a new refresh token.
    /// Returns `(refresh token, refreshTokenId)`.
    pub(crate) fn create(&mut self, user_id: Uuid, now_ms: i64, ttl_ms: i64) -> (Uuid, Uuid) {
        let device = Uuid::new_v4();
        let token = Uuid::new_v4();
        self.devices.insert(
            device,
            Device {
                user_id,
                expires_at_ms: now_ms.saturating_add(ttl_ms),
            },
        );
        self.tokens.insert(
            token,
            TokenEntry {
                device,
                dies_at_ms: None,
            },
        );
        (token, device)
    }

    /// The user a live refresh token belongs to, without using it up. Forgets expired entries.
    pub(crate) fn peek(&mut self, token: Uuid, now_ms: i64) -> Result<Uuid, Rejected> {
        let rejected = Rejected {
            replaced: self.replaced.contains(&token),
        };
        let Some(entry) = self.tokens.get(&token).copied() else {
            return Err(rejected);
        };
        let device = self.devices.get(&entry.device).cloned();
        match device {
            Some(device)
                if now_ms < device.expires_at_ms
                    && entry.dies_at_ms.is_none_or(|dies| now_ms < dies) =>
            {
                Ok(device.user_id)
            }
            Some(device) if now_ms >= device.expires_at_ms => {
                self.remove_device(entry.device);
                Err(rejected)
            }
            _ => {
                self.tokens.remove(&token);
                Err(rejected)
            }
        }
    }

    /// Uses a refresh token that [`Sessions::peek`] accepted under the same lock.
    pub(crate) fn rotate(
        &mut self,
        token: Uuid,
        now_ms: i64,
        ttl_ms: i64,
        rotation: Rotation,
    ) -> Option<Refreshed> {
        let entry = *self.tokens.get(&token)?;
        let device = self.devices.get_mut(&entry.device)?;
        device.expires_at_ms = now_ms.saturating_add(ttl_ms);
        let refreshed = |token, minted| Refreshed {
            token,
            device: entry.device,
            minted,
        };
        match rotation {
            Rotation::None => Some(refreshed(token, false)),
            Rotation::Strict => {
                self.tokens.remove(&token);
                self.replaced.insert(token);
                let new = self.mint(entry.device);
                Some(refreshed(new, true))
            }
            Rotation::Grace(window) => {
                let until = now_ms.saturating_add(duration_ms(window));
                if let Some(old) = self.tokens.get_mut(&token) {
                    old.dies_at_ms = Some(old.dies_at_ms.map_or(until, |d| d.min(until)));
                }
                self.replaced.insert(token);
                let new = self.mint(entry.device);
                Some(refreshed(new, true))
            }
        }
    }

    fn mint(&mut self, device: Uuid) -> Uuid {
        let token = Uuid::new_v4();
        self.tokens.insert(
            token,
            TokenEntry {
                device,
                dies_at_ms: None,
            },
        );
        token
    }

    fn remove_device(&mut self, device: Uuid) {
        self.devices.remove(&device);
        self.tokens.retain(|_, entry| entry.device != device);
    }

    /// Signs out the device session this token belongs to (all its tokens die). Unknown
    /// tokens are fine. Returns whether a session ended.
    pub(crate) fn sign_out(&mut self, token: Uuid) -> bool {
        match self.tokens.get(&token).copied() {
            Some(entry) => {
                self.remove_device(entry.device);
                true
            }
            None => false,
        }
    }

    /// Signs out every device session of a user. Personal access tokens stay valid.
    pub(crate) fn sign_out_user(&mut self, user_id: Uuid) -> usize {
        let devices: Vec<Uuid> = self
            .devices
            .iter()
            .filter(|(_, d)| d.user_id == user_id)
            .map(|(id, _)| *id)
            .collect();
        for device in &devices {
            self.remove_device(*device);
        }
        devices.len()
    }

    /// How many device sessions a user has that have not expired.
    pub(crate) fn active_for(&self, user_id: Uuid, now_ms: i64) -> usize {
        self.devices
            .values()
            .filter(|d| d.user_id == user_id && now_ms < d.expires_at_ms)
            .count()
    }

    /// Creates a personal access token; returns `(id, token)`. (Its metadata is accepted by
    /// the route and not kept: nothing reads it back.)
    pub(crate) fn create_pat(&mut self, user_id: Uuid, expires_at_ms: i64) -> (Uuid, Uuid) {
        let id = Uuid::new_v4();
        let token = Uuid::new_v4();
        self.pats.insert(
            token,
            Pat {
                user_id,
                expires_at_ms,
            },
        );
        (id, token)
    }

    /// The user of a personal access token that has not expired.
    pub(crate) fn pat_user(&self, token: Uuid, now_ms: i64) -> Option<Uuid> {
        self.pats
            .get(&token)
            .filter(|pat| now_ms < pat.expires_at_ms)
            .map(|pat| pat.user_id)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use std::time::Duration;

    const TTL: i64 = 30 * 24 * 3600 * 1000;

    #[test]
    fn strict_rotation_kills_the_old_token_and_keeps_the_id() {
        let mut s = Sessions::default();
        let user = Uuid::new_v4();
        let (t1, id) = s.create(user, 0, TTL);
        assert_eq!(s.peek(t1, 1).unwrap(), user);
        let r = s.rotate(t1, 1, TTL, Rotation::Strict).unwrap();
        assert_ne!(r.token, t1);
        assert_eq!(r.device, id);
        assert_eq!(s.peek(t1, 2), Err(Rejected { replaced: true }));
        assert_eq!(s.peek(r.token, 2).unwrap(), user);
    }

    #[test]
    fn no_rotation_returns_the_same_token() {
        let mut s = Sessions::default();
        let (t1, _) = s.create(Uuid::new_v4(), 0, TTL);
        let r = s.rotate(t1, 1, TTL, Rotation::None).unwrap();
        assert_eq!(r.token, t1);
        assert!(!r.minted);
        assert!(s.peek(t1, 2).is_ok());
    }

    #[test]
    fn grace_keeps_the_old_token_for_the_window() {
        let mut s = Sessions::default();
        let (t1, _) = s.create(Uuid::new_v4(), 0, TTL);
        let r = s
            .rotate(t1, 1000, TTL, Rotation::Grace(Duration::from_secs(10)))
            .unwrap();
        assert_ne!(r.token, t1);
        assert!(s.peek(t1, 10_999).is_ok());
        assert_eq!(s.peek(t1, 11_000), Err(Rejected { replaced: true }));
        assert!(s.peek(r.token, 11_000).is_ok());
    }

    #[test]
    fn expiry_slides_on_refresh() {
        let mut s = Sessions::default();
        let (t1, _) = s.create(Uuid::new_v4(), 0, 1000);
        let r = s.rotate(t1, 900, 1000, Rotation::Strict).unwrap();
        assert!(s.peek(r.token, 1800).is_ok());
        assert_eq!(s.peek(r.token, 1900), Err(Rejected { replaced: false }));
    }

    #[test]
    fn sign_out_all_keeps_other_users() {
        let mut s = Sessions::default();
        let (a, b) = (Uuid::new_v4(), Uuid::new_v4());
        let (ta1, _) = s.create(a, 0, TTL);
        let (ta2, _) = s.create(a, 0, TTL);
        let (tb, _) = s.create(b, 0, TTL);
        assert_eq!(s.sign_out_user(a), 2);
        assert!(s.peek(ta1, 1).is_err());
        assert!(s.peek(ta2, 1).is_err());
        assert!(s.peek(tb, 1).is_ok());
        assert!(s.sign_out(tb));
        assert!(!s.sign_out(tb));
    }
}
