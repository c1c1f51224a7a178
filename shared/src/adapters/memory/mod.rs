//! The embedded store: one mutex over plain maps. Each operation holds the lock for its whole
//! read-check-write, which gives it the same atomicity as DynamoDB's conditional writes and
//! transactions. Serves the dev server and fast tests.
//!
//! With an event log (`MemoryStore::publishing_to`, as the dev server wires it), every lock that
//! changed a user or a signin publishes that change's domain events when it is released: the
//! same `domain::events::events_of` the `events` function applies to the DynamoDB Stream, fed
//! with the users and signins before and after. A write that is refused changes nothing, so it
//! publishes nothing.

use std::collections::HashMap;
use std::ops::{Deref, DerefMut};
use std::sync::{Arc, Mutex, MutexGuard};

use time::OffsetDateTime;

use crate::adapters::events::log::EventLog;
use crate::domain::events::Change;

use crate::domain::model::CodeAttempt;
use crate::domain::model::*;
use crate::domain::ports::store::*;

mod attempts;
mod limits;
mod passkeys;
mod second_factor;
mod sessions;
mod users;

#[derive(Default)]
pub struct MemoryStore {
    state: Mutex<State>,
    events: Option<Arc<EventLog>>,
}

#[derive(Default)]
struct State {
    sessions: HashMap<String, SessionState>,
    users: HashMap<String, User>,
    /// Claim key -> user id.
    claims: HashMap<String, String>,
    /// Limit key -> (window end, count).
    counters: HashMap<String, (Timestamp, u32)>,
    /// User id -> its passkeys, oldest first (each also a `PASSKEY#` claim in `claims`).
    passkeys: HashMap<String, Vec<crate::domain::passkeys::StoredPasskey>>,
    /// Signin id -> its begun passkey registration.
    passkey_registrations: HashMap<String, crate::domain::passkeys::PendingRegistration>,
}

impl MemoryStore {
    pub fn new() -> Self {
        Self::default()
    }

    /// A store that publishes the events of every change it commits to `events`.
    pub fn publishing_to(events: Arc<EventLog>) -> Self {
        Self {
            state: Mutex::default(),
            events: Some(events),
        }
    }

    fn lock(&self) -> Locked<'_> {
        // Every operation checks before it writes, so a panic cannot leave a half-applied change.
        Locked {
            state: self.state.lock().unwrap_or_else(|e| e.into_inner()),
            events: self.events.as_deref(),
            before: None,
        }
    }
}

/// The state under the lock. The first mutable access takes a snapshot of the users and signins
/// (only with an event log); the release compares them with it and publishes what changed.
struct Locked<'a> {
    state: MutexGuard<'a, State>,
    events: Option<&'a EventLog>,
    before: Option<Snapshot>,
}

impl Deref for Locked<'_> {
    type Target = State;
    fn deref(&self) -> &State {
        &self.state
    }
}

impl DerefMut for Locked<'_> {
    fn deref_mut(&mut self) -> &mut State {
        if self.events.is_some() && self.before.is_none() {
            self.before = Some(Snapshot::of(&self.state));
        }
        &mut self.state
    }
}

impl Drop for Locked<'_> {
    fn drop(&mut self) {
        if let (Some(events), Some(before)) = (self.events, self.before.take()) {
            let changes = before.changes_to(&Snapshot::of(&self.state));
            if !changes.is_empty() {
                events.record(&changes, OffsetDateTime::now_utc());
            }
        }
    }
}

/// The users and signins at one moment, by id.
struct Snapshot {
    users: HashMap<String, User>,
    signins: HashMap<String, Signin>,
}

impl Snapshot {
    fn of(state: &State) -> Self {
        Self {
            users: state.users.clone(),
            signins: state
                .sessions
                .values()
                .flat_map(|s| s.signins.iter().map(|x| (x.id.clone(), x.clone())))
                .collect(),
        }
    }

    /// Every user, then every signin, that differs in `after`, each in id order.
    fn changes_to(mut self, after: &Snapshot) -> Vec<Change> {
        fn ids<T>(a: &HashMap<String, T>, b: &HashMap<String, T>) -> Vec<String> {
            let mut ids: Vec<String> = a.keys().chain(b.keys()).cloned().collect();
            ids.sort();
            ids.dedup();
            ids
        }
        let mut out = Vec::new();
        for id in ids(&self.users, &after.users) {
            let (before, now) = (self.users.remove(&id), after.users.get(&id));
            if before.as_ref() != now {
                out.push(Change::User {
                    before,
                    after: now.cloned(),
                });
            }
        }
        for id in ids(&self.signins, &after.signins) {
            let (before, now) = (self.signins.remove(&id), after.signins.get(&id));
            if before.as_ref() != now {
                out.push(Change::Signin {
                    before,
                    after: now.cloned(),
                });
            }
        }
        out
    }
}

impl State {
    /// Whether the window has room for one more event (counts nothing).
    fn has_room(&self, c: Charge<'_>) -> bool {
        match self.counters.get(c.key) {
            Some((window, count)) if *window == c.window_ends => *count < c.max,
            _ => c.max > 0,
        }
    }

    /// Counts one event against a fixed window; false (nothing counted) once it is full.
    fn charge(&mut self, c: Charge<'_>) -> bool {
        let entry = self
            .counters
            .entry(c.key.to_string())
            .or_insert((c.window_ends, 0));
        if entry.0 != c.window_ends {
            *entry = (c.window_ends, 0);
        }
        if entry.1 >= c.max {
            return false;
        }
        entry.1 += 1;
        true
    }

    fn attempt_mut(&mut self, key: AttemptKey<'_>) -> Option<&mut dyn CodeAttempt> {
        self.sessions
            .get_mut(key.session_id)?
            .attempt_mut(key.kind, key.attempt_id)
    }

    /// Whether the proof still holds: the attempt has this code, is open and not killed.
    fn proof_holds(&mut self, session_id: &str, kind: AttemptKind, proof: &CodeProof) -> bool {
        let gate_open = proof.gate.as_ref().is_none_or(|g| {
            self.has_room(Charge {
                key: &g.key,
                window_ends: g.window_ends,
                max: g.max,
            })
        });
        if !gate_open {
            return false;
        }
        let key = AttemptKey {
            session_id,
            attempt_id: &proof.attempt_id,
            kind,
        };
        self.attempt_mut(key).is_some_and(|a| {
            !a.completed()
                && a.codes().wrong_codes < proof.max_wrong_codes
                && a.codes()
                    .code
                    .as_ref()
                    .is_some_and(|c| c.hash == proof.code_hash)
        })
    }

    /// Whether the grant can apply: a session to create must not exist; one to rotate must, still
    /// holding the secret the caller proved.
    fn grant_fits(&self, grant: &Grant) -> bool {
        match &grant.session {
            GrantSession::Create(s) => !self.sessions.contains_key(&s.id),
            GrantSession::Rotate(r) => self
                .sessions
                .get(&r.session_id)
                .is_some_and(|s| s.session.secret_hash == r.proven_secret_hash),
        }
    }

    fn apply_grant(&mut self, grant: &Grant) {
        let state = match &grant.session {
            GrantSession::Create(s) => self
                .sessions
                .entry(s.id.clone())
                .or_insert_with(|| SessionState::new(s.clone())),
            GrantSession::Rotate(r) => self
                .sessions
                .get_mut(&r.session_id)
                .expect("checked by grant_fits"),
        };
        state.apply_grant(grant);
    }

    /// Whether the check holds of the attempt of `kind` it names.
    fn check_holds(&mut self, session_id: &str, kind: AttemptKind, check: &AttemptCheck) -> bool {
        match check {
            AttemptCheck::Code(proof) => self.proof_holds(session_id, kind, proof),
            AttemptCheck::AtStep {
                attempt_id, step, ..
            } => {
                let key = AttemptKey {
                    session_id,
                    attempt_id,
                    kind,
                };
                self.attempt_mut(key)
                    .is_some_and(|a| !a.completed() && a.current_step() == Some(*step))
            }
            AttemptCheck::Sso { attempt_id } => self
                .sessions
                .get(session_id)
                .and_then(|s| s.signin_attempt(attempt_id))
                .is_some_and(|a| !a.completed && a.remaining_steps.is_empty()),
            AttemptCheck::SecondFactor {
                attempt_id,
                max_wrong_codes,
                code_hash,
                gate,
                ..
            } => {
                let gate_open = gate.as_ref().is_none_or(|g| {
                    self.has_room(Charge {
                        key: &g.key,
                        window_ends: g.window_ends,
                        max: g.max,
                    })
                });
                if !gate_open {
                    return false;
                }
                let key = AttemptKey {
                    session_id,
                    attempt_id,
                    kind,
                };
                self.attempt_mut(key).is_some_and(|a| {
                    let code_holds = code_hash
                        .as_ref()
                        .is_none_or(|h| a.codes().code.as_ref().is_some_and(|c| &c.hash == h));
                    !a.completed()
                        && a.current_step() == Some(Step::VerifySecondFactor)
                        && a.codes().wrong_codes < *max_wrong_codes
                        && code_holds
                })
            }
        }
    }

    /// Whether the second factor a check spends (if any) is still there to spend.
    fn second_factor_spendable(&self, check: Option<&AttemptCheck>) -> bool {
        match check {
            Some(AttemptCheck::SecondFactor { user_id, spend, .. }) => self
                .users
                .get(user_id)
                .is_some_and(|u| !u.blocked && u.can_spend_second_factor(spend)),
            _ => true,
        }
    }

    /// Whether the user's second factors are still what the attempt met
    /// (`Completion::SecondFactorStale`): none on for a sign-in that met none, and no end of
    /// every signin since one waiting at `verify_second_factor` was opened.
    fn second_factor_current(&self, c: &SigninCompletion) -> bool {
        let Some(user) = self.users.get(&c.user_id) else {
            return true;
        };
        if c.requires_no_second_factor() && user.two_factor_enabled {
            return false;
        }
        if let Some(AttemptCheck::AtStep { user: Some(h), .. }) = &c.check
            && !user.holds(h)
        {
            return false;
        }
        c.signouts_version()
            .is_none_or(|v| user.second_factor.signouts_version == v)
    }

    /// Whether the user a reset's step names is still as the reset found it (`User::holds`), and
    /// a second-factor step's user not signed out everywhere since its attempt was opened.
    fn user_holds(&self, holds: Option<&UserHolds>, check: &AttemptCheck) -> bool {
        let holds = holds.is_none_or(|h| self.users.get(&h.user_id).is_some_and(|u| u.holds(h)));
        let signed_in = match check {
            AttemptCheck::SecondFactor {
                user_id,
                signouts_version,
                ..
            } => self
                .users
                .get(user_id)
                .is_some_and(|u| u.second_factor.signouts_version == *signouts_version),
            _ => true,
        };
        holds && signed_in
    }

    /// Spends the second factor a check names (`User::spend_second_factor`).
    fn spend_second_factor(&mut self, check: &AttemptCheck) {
        if let AttemptCheck::SecondFactor { user_id, spend, .. } = check
            && let Some(u) = self.users.get_mut(user_id)
        {
            u.spend_second_factor(spend);
        }
    }

    fn complete_attempt(
        &mut self,
        session_id: &str,
        kind: AttemptKind,
        attempt_id: &str,
        user: Option<&User>,
    ) {
        if let Some(state) = self.sessions.get_mut(session_id) {
            state.complete_attempt(kind, attempt_id, user);
        }
    }
}
