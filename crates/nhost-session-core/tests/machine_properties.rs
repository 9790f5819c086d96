//! Property tests of the session machine (design.md invariants 1-5).
//!
//! proptest-state-machine generates sequences of up to 50 events: sign-ins, restores, time
//! passing, callers wanting tokens (forced or not), the server's answers to refreshes
//! (rotating, not rotating, transient failures, rotations whose answer is lost, rejections),
//! saves that work or fail, store re-reads, another process refreshing through the same store,
//! and sign-outs. A `World` plays the auth server and the store around the machine: it keeps
//! the truth about which tokens are alive, what was replaced, what is saved and what the
//! machine has asked for, and checks every invariant on every step.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::{HashMap, HashSet};

use nhost_session_core::machine::{
    AttemptId, Effect, Event, RefreshFailure, SessionMachine, TokenAnswer,
};
use nhost_session_core::{
    AccessToken, ErrorBody, RawBody, RefreshPolicy, RefreshToken, ServerError, Session,
    StoredTokens,
};
use proptest::prelude::*;
use proptest::test_runner::Config;
use proptest_state_machine::{ReferenceStateMachine, StateMachineTest, prop_state_machine};
use time::{Duration, OffsetDateTime};

#[derive(Clone, Debug)]
enum RefreshAnswer {
    Success {
        rotate: bool,
        lifetime: u64,
    },
    Transient,
    /// The server rotated, then the connection dropped: the client sees a transient failure.
    LostAfterCommit,
    /// The server revoked the session (or the token expired).
    Rejected,
}

#[derive(Clone, Debug)]
enum Step {
    SignIn { lifetime: u64, saved: bool },
    Restore { with_access: bool },
    Advance(i64),
    WantToken { force: bool },
    AnswerRefresh(RefreshAnswer),
    AnswerPersist { ok: bool },
    AnswerReload,
    OtherProcessRefreshes,
    SignOut,
}

/// Generates a policy and a jitter seed per case, then the steps; the world decides what a
/// step means in the current situation (an answer with nothing to answer is a no-op).
struct Steps;

/// The generated configuration of one case.
#[derive(Clone, Debug)]
struct Setup {
    policy: RefreshPolicy,
    seed: u64,
}

impl ReferenceStateMachine for Steps {
    type State = Setup;
    type Transition = Step;

    fn init_state() -> BoxedStrategy<Self::State> {
        (0i64..120, 0i64..30, 1i64..90, 60i64..900, any::<u64>())
            .prop_map(|(margin, jitter, initial, max, seed)| Setup {
                policy: RefreshPolicy {
                    margin: Duration::seconds(margin),
                    margin_jitter: Duration::seconds(jitter),
                    backoff_initial: Duration::seconds(initial),
                    backoff_max: Duration::seconds(max),
                },
                seed,
            })
            .boxed()
    }

    fn transitions(_: &Self::State) -> BoxedStrategy<Self::Transition> {
        let answer = prop_oneof![
            3 => (any::<bool>(), 20u64..1800).prop_map(|(rotate, lifetime)| RefreshAnswer::Success { rotate: rotate || lifetime % 3 != 0, lifetime }),
            2 => Just(RefreshAnswer::Transient),
            1 => Just(RefreshAnswer::LostAfterCommit),
            1 => Just(RefreshAnswer::Rejected),
        ];
        prop_oneof![
            2 => (20u64..1800, prop::bool::weighted(0.8)).prop_map(|(lifetime, saved)| Step::SignIn { lifetime, saved }),
            1 => any::<bool>().prop_map(|with_access| Step::Restore { with_access }),
            4 => prop_oneof![0i64..5, 5i64..120, 120i64..1200].prop_map(Step::Advance),
            6 => prop::bool::weighted(0.15).prop_map(|force| Step::WantToken { force }),
            4 => answer.prop_map(Step::AnswerRefresh),
            3 => prop::bool::weighted(0.8).prop_map(|ok| Step::AnswerPersist { ok }),
            2 => Just(Step::AnswerReload),
            1 => Just(Step::OtherProcessRefreshes),
            1 => Just(Step::SignOut),
        ]
        .boxed()
    }

    fn apply(state: Self::State, _: &Self::Transition) -> Self::State {
        state
    }
}

struct Outstanding {
    attempt: AttemptId,
    token: RefreshToken,
    lineage: String,
}

/// The machine with the auth server and the store around it.
struct World {
    machine: SessionMachine,
    now: OffsetDateTime,
    counter: u64,
    /// Refresh tokens the server accepts.
    live: HashSet<RefreshToken>,
    /// Tokens the machine was told were replaced (a success answer with another token) or
    /// rejected, or that it signed out: sending one again is a bug.
    known_dead: HashSet<RefreshToken>,
    /// The device session each refresh token belongs to.
    lineage_of: HashMap<RefreshToken, String>,
    /// Local expiry of every access token handed to the machine.
    expiry: HashMap<AccessToken, OffsetDateTime>,
    /// Access tokens whose save finished (or that came saved): only those may be handed out.
    saved_or_tried: HashSet<AccessToken>,
    store: Option<StoredTokens>,
    refreshes: Vec<Outstanding>,
    persists: Vec<(AttemptId, StoredTokens)>,
    reloads: Vec<(AttemptId, RefreshToken)>,
    expect_signed_in: bool,
}

impl World {
    fn new(setup: &Setup) -> Self {
        Self {
            machine: SessionMachine::new(setup.policy.clone(), setup.seed),
            now: OffsetDateTime::UNIX_EPOCH + Duration::days(20_000),
            counter: 0,
            live: HashSet::new(),
            known_dead: HashSet::new(),
            lineage_of: HashMap::new(),
            expiry: HashMap::new(),
            saved_or_tried: HashSet::new(),
            store: None,
            refreshes: Vec::new(),
            persists: Vec::new(),
            reloads: Vec::new(),
            expect_signed_in: false,
        }
    }

    fn fresh(&mut self, prefix: &str) -> String {
        self.counter += 1;
        format!("{prefix}-{}", self.counter)
    }

    /// A new session from the server; `lineage` is kept across refreshes.
    fn issue(
        &mut self,
        lineage: String,
        refresh_token: Option<RefreshToken>,
        lifetime: u64,
    ) -> Session {
        let refresh_token = refresh_token.unwrap_or_else(|| RefreshToken::new(self.fresh("rt")));
        let access_token = AccessToken::new(self.fresh("jwt"));
        self.live.insert(refresh_token.clone());
        self.lineage_of
            .insert(refresh_token.clone(), lineage.clone());
        self.expiry.insert(
            access_token.clone(),
            self.now + Duration::seconds(lifetime as i64),
        );
        Session {
            access_token,
            access_token_expires_in: lifetime,
            refresh_token,
            refresh_token_id: lineage,
            user: None,
        }
    }

    fn feed(&mut self, event: Event) -> Option<TokenAnswer> {
        let transition = self.machine.handle(event, self.now);
        self.carry_out(transition.effects);
        transition.answer
    }

    fn carry_out(&mut self, effects: Vec<Effect>) {
        for effect in effects {
            match effect {
                Effect::SendRefresh {
                    attempt,
                    refresh_token,
                } => {
                    let lineage = self.lineage_of[&refresh_token].clone();
                    // Invariant 1: at most one refresh in flight per session.
                    assert!(
                        !self.refreshes.iter().any(|r| r.lineage == lineage),
                        "a second refresh of one session while one is in flight"
                    );
                    // Invariant 2: never send a replaced (or rejected, or revoked) token.
                    assert!(
                        !self.known_dead.contains(&refresh_token),
                        "sent a refresh token the machine knew was dead"
                    );
                    self.refreshes.push(Outstanding {
                        attempt,
                        token: refresh_token,
                        lineage,
                    });
                }
                Effect::Persist { attempt, tokens } => self.persists.push((attempt, tokens)),
                Effect::ReloadStore { attempt } => {
                    let rejected = self
                        .machine
                        .credentials()
                        .map(|c| c.refresh_token.clone())
                        .expect("a reload happens during a refresh of a session");
                    self.reloads.push((attempt, rejected));
                }
                Effect::ClearStore => self.store = None,
                Effect::Publish(_) => {}
            }
        }
    }

    fn step(&mut self, step: Step) {
        match step {
            Step::SignIn { lifetime, saved } => {
                let lineage = self.fresh("device");
                let session = self.issue(lineage, None, lifetime);
                if saved {
                    self.store = Some(StoredTokens::from_session(&session, self.now));
                }
                self.saved_or_tried.insert(session.access_token.clone());
                self.feed(Event::SignedIn { session, saved });
                self.expect_signed_in = true;
            }
            Step::Restore { with_access } => {
                let lineage = self.fresh("device");
                let session = self.issue(lineage, None, 900);
                let mut stored = StoredTokens::from_session(&session, self.now);
                if !with_access {
                    stored = stored.without_session_data();
                    stored.access_token_expires_at = None;
                }
                self.saved_or_tried.insert(session.access_token.clone());
                let was_signed_in = self.machine.credentials().is_some();
                if !was_signed_in {
                    self.store = Some(stored.clone());
                }
                self.feed(Event::Restored(stored));
                self.expect_signed_in = true;
            }
            Step::Advance(seconds) => self.now += Duration::seconds(seconds),
            Step::WantToken { force } => {
                if let Some(TokenAnswer::Ready(token)) = self.feed(Event::TokenWanted { force }) {
                    // Invariant 3: never an expired JWT.
                    assert!(
                        self.now < self.expiry[&token],
                        "handed out an expired access token"
                    );
                    // Invariant 4: persisted before handed out.
                    assert!(
                        self.saved_or_tried.contains(&token),
                        "handed out an access token before its session was saved"
                    );
                }
            }
            Step::AnswerRefresh(answer) => {
                if self.refreshes.is_empty() {
                    return;
                }
                let Outstanding {
                    attempt,
                    token,
                    lineage,
                } = self.refreshes.remove(0);
                let alive = self.live.contains(&token);
                let answer = match answer {
                    RefreshAnswer::Transient => RefreshAnswer::Transient,
                    _ if !alive => RefreshAnswer::Rejected,
                    other => other,
                };
                match answer {
                    RefreshAnswer::Success { rotate, lifetime } => {
                        let next = if rotate { None } else { Some(token.clone()) };
                        if rotate {
                            self.live.remove(&token);
                            self.known_dead.insert(token.clone());
                        }
                        let session = self.issue(lineage, next, lifetime);
                        self.feed(Event::RefreshSucceeded { attempt, session });
                    }
                    RefreshAnswer::LostAfterCommit => {
                        self.live.remove(&token);
                        let _lost = self.issue(lineage, None, 900);
                        self.feed(Event::RefreshFailed {
                            attempt,
                            failure: RefreshFailure::Transient,
                        });
                    }
                    RefreshAnswer::Transient => {
                        self.feed(Event::RefreshFailed {
                            attempt,
                            failure: RefreshFailure::Transient,
                        });
                    }
                    RefreshAnswer::Rejected => {
                        self.live.remove(&token);
                        self.known_dead.insert(token);
                        let error = ServerError {
                            status: 401,
                            body: ErrorBody::parse(
                                br#"{"status":401,"error":"invalid-refresh-token"}"#,
                            ),
                            raw: RawBody::default(),
                        };
                        self.feed(Event::RefreshFailed {
                            attempt,
                            failure: RefreshFailure::Rejected(error),
                        });
                    }
                }
            }
            Step::AnswerPersist { ok } => {
                if self.persists.is_empty() {
                    return;
                }
                let (attempt, tokens) = self.persists.remove(0);
                if ok {
                    self.store = Some(tokens.clone());
                }
                if let Some(access) = &tokens.access_token {
                    self.saved_or_tried.insert(access.clone());
                }
                self.feed(Event::Persisted { attempt, ok });
            }
            Step::AnswerReload => {
                if self.reloads.is_empty() {
                    return;
                }
                let (attempt, rejected) = self.reloads.remove(0);
                let stored = self.store.clone();
                let usable = stored.as_ref().is_some_and(|s| {
                    s.refresh_token != rejected && !self.known_dead.contains(&s.refresh_token)
                });
                let current = self.machine.state().clone();
                self.feed(Event::StoreReloaded { attempt, stored });
                // Only a reload that answers the machine's current refresh decides anything.
                if matches!(current, nhost_session_core::machine::State::Refreshing { attempt: a, .. } if a == attempt)
                {
                    self.expect_signed_in = usable;
                }
            }
            Step::OtherProcessRefreshes => {
                let Some(stored) = self.store.clone() else {
                    return;
                };
                if !self.live.contains(&stored.refresh_token) {
                    return;
                }
                self.live.remove(&stored.refresh_token);
                let lineage = self.lineage_of[&stored.refresh_token].clone();
                let session = self.issue(lineage, None, 900);
                self.saved_or_tried.insert(session.access_token.clone());
                self.store = Some(StoredTokens::from_session(&session, self.now));
            }
            Step::SignOut => {
                if let Some(c) = self.machine.credentials() {
                    let token = c.refresh_token.clone();
                    self.live.remove(&token);
                    self.known_dead.insert(token);
                }
                self.feed(Event::SignedOut);
                self.expect_signed_in = false;
            }
        }
    }
}

struct MachineTest;

impl StateMachineTest for MachineTest {
    type SystemUnderTest = World;
    type Reference = Steps;

    fn init_test(setup: &Setup) -> World {
        World::new(setup)
    }

    fn apply(mut world: World, _: &Setup, step: Step) -> World {
        world.step(step);
        world
    }

    fn check_invariants(world: &World, _: &Setup) {
        // Invariant 5: only a rejection (with nothing newer in the store) or a sign-out ends a
        // session; transient failures never do.
        assert_eq!(
            world.machine.credentials().is_some(),
            world.expect_signed_in,
            "the machine's session does not match what the events allow: {:?}",
            world.machine.state()
        );
    }
}

fn cases() -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(512)
}

prop_state_machine! {
    #![proptest_config(Config { cases: cases(), max_shrink_iters: 4096, ..Config::default() })]

    #[test]
    fn session_machine_keeps_its_invariants(sequential 1..50 => MachineTest);
}
