//! `AttemptStore`: sign-up and sign-in attempts, and the transactions that complete them (the
//! attempt, the user and its claims, and the grant, all or nothing).

use async_trait::async_trait;
use aws_sdk_dynamodb::types::{AttributeValue, Put, TransactWriteItem};

use crate::domain::model::{
    AttemptKind, AttemptRef, Claim, Session, Signin, SignupAttempt, Step, Timestamp, User,
};
use crate::domain::ports::store::{
    Admission, AttemptCheck, AttemptKey, AttemptStore, Charge, CodeProof, CodeSend, Completion,
    ContactMove, NewAttempt, Opened, SessionWrite, SigninAdvance, SigninCompletion, SignupAdvance,
    SignupCompletion, StoreError, Written, WrongCode,
};

use super::DynamoStore;
use super::codec::{n, s, to_item, to_value};
use super::expr::Expr;
use super::keys::{
    attempt_key, session_key, signin_attempt_key, signin_key, signup_attempt_key, user_key,
    user_signin_key,
};
use super::second_factor;
use super::signin_completion::Finished;
use super::transaction::{Outcome, Slot, Transaction};
use super::user_index::TRIES;

#[async_trait]
impl AttemptStore for DynamoStore {
    async fn open_attempt(
        &self,
        session: &SessionWrite,
        attempt: NewAttempt<'_>,
        charge: Option<Charge<'_>>,
    ) -> Result<Opened, StoreError> {
        let attempt_item = match attempt {
            NewAttempt::Signup(a) => to_item(a, signup_attempt_key(&a.session_id, &a.id))?,
            NewAttempt::Signin(a) => to_item(a, signin_attempt_key(&a.session_id, &a.id))?,
        };
        let admission = session.admission();
        let (session_id, session_write) = match session {
            SessionWrite::Create(s) => {
                let created = Session {
                    attempts: admission.after(&attempt.listed()),
                    ..s.clone()
                };
                (&s.id, self.put_new(to_item(&created, session_key(&s.id))?))
            }
            SessionWrite::Touch {
                session_id,
                last_active_at,
                expires_at,
                ..
            } => {
                let e = Expr::new("SET #last = :now, #exp = :exp, #attempts = :after")
                    .name("#last", "last_active_at")
                    .name("#exp", "expires_at")
                    .value(":now", n(last_active_at.unix_timestamp()))
                    .value(":exp", n(expires_at.unix_timestamp()));
                let e = listing(e, &admission, &attempt.listed())?;
                (session_id, self.update(session_key(session_id), e))
            }
        };
        let mut tx = Transaction::new();
        tx.push(session_write);
        self.push_drops(&mut tx, session_id, &admission.dropped);
        tx.push(self.put_new(attempt_item));
        self.run_charged(tx, charge).await
    }

    async fn record_send(
        &self,
        key: AttemptKey<'_>,
        send: &CodeSend,
    ) -> Result<Written, StoreError> {
        let e = Expr::new("SET #code = :code, #sends = #sends + :one")
            .condition("attribute_exists(pk) AND #sends = :expected AND #completed = :false")
            .name("#code", "code")
            .name("#sends", "sends")
            .name("#completed", "completed")
            .value(":code", to_value(&send.code)?)
            .value(":one", n(1))
            .value(":expected", n(send.expected_sends))
            .value(":false", AttributeValue::Bool(false));
        Ok(match self.update_item(attempt_key(key), e, false).await? {
            Some(_) => Written::Done,
            None => Written::Conflict,
        })
    }

    async fn record_send_failed(
        &self,
        key: AttemptKey<'_>,
        code_hash: &str,
    ) -> Result<(), StoreError> {
        let e = Expr::new("SET #code.#failed = :true REMOVE #code.#sent")
            .condition("#code.#hash = :hash")
            .name("#code", "code")
            .name("#sent", "sent_at")
            .name("#failed", "delivery_failed")
            .name("#hash", "hash")
            .value(":true", AttributeValue::Bool(true))
            .value(":hash", s(code_hash));
        // A failed condition means a newer code replaced this one: nothing to undo.
        self.update_item(attempt_key(key), e, false)
            .await
            .map(|_| ())
    }

    async fn kill_attempt(&self, key: AttemptKey<'_>, max: u32) -> Result<(), StoreError> {
        // `CodeState::kill`.
        let e = Expr::new("SET #wrong = :max")
            .condition("attribute_exists(pk) AND #wrong < :max AND #completed = :false")
            .name("#wrong", "wrong_codes")
            .name("#completed", "completed")
            .value(":max", n(max))
            .value(":false", AttributeValue::Bool(false));
        // Completed or dead already: nothing to do.
        self.update_item(attempt_key(key), e, false).await?;
        Ok(())
    }

    async fn record_wrong_code(
        &self,
        key: AttemptKey<'_>,
        max: u32,
    ) -> Result<WrongCode, StoreError> {
        let e = Expr::new("SET #wrong = #wrong + :one")
            .condition("attribute_exists(pk) AND #wrong < :max AND #completed = :false")
            .name("#wrong", "wrong_codes")
            .name("#completed", "completed")
            .value(":one", n(1))
            .value(":max", n(max))
            .value(":false", AttributeValue::Bool(false));
        match self.update_item(attempt_key(key), e, true).await? {
            None => Ok(WrongCode::Refused),
            Some(new) => {
                let count = new
                    .get("wrong_codes")
                    .and_then(|v| v.as_n().ok())
                    .and_then(|v| v.parse().ok())
                    .ok_or_else(|| StoreError::Corrupt {
                        key: key.attempt_id.to_string(),
                        reason: "wrong_codes is not a number".into(),
                    })?;
                Ok(WrongCode::Counted(count))
            }
        }
    }

    async fn finish_signup(&self, c: &SignupCompletion) -> Result<Completion, StoreError> {
        let session_id = c.attempt_session_id.as_str();
        // An OAuth callback creating its user directly completes the `sso` sign-in attempt.
        let kind = c.check.signup_kind();
        // What the attempt's own session may learn: the rule lives with the transitions.
        let user = c.user_for_attempt();
        let mut tx = Transaction::new();
        let attempt = tx.push(self.completion_update(session_id, kind, &c.check, user));
        // A new user's id owns nothing yet, so each claim is taken only if nobody holds it.
        let claims: Vec<(Claim, Slot)> = c
            .claims
            .iter()
            .map(|claim| (claim.clone(), self.push_claim(&mut tx, claim, &c.user.id)))
            .collect();
        tx.push(self.put_new(super::keys::user_item(&c.user)?));
        let session = self.push_grant(&mut tx, &c.grant)?;

        Ok(match self.run(tx).await? {
            Outcome::Done => Completion::Done,
            Outcome::Cancelled(reasons) => {
                let taken = reasons.failures(&claims);
                if reasons.failed(attempt) {
                    Completion::AttemptChanged
                } else if reasons.failed(session) {
                    Completion::SessionChanged
                } else if !taken.is_empty() {
                    Completion::Taken(taken)
                } else {
                    Completion::AttemptChanged
                }
            }
        })
    }

    async fn advance_signup(&self, a: &SignupAdvance) -> Result<Written, StoreError> {
        let k = signup_attempt_key(&a.session_id, &a.proof.attempt_id);
        let e = Expr::new("SET #steps = :steps, #ev = :ev, #pv = :pv REMOVE #code")
            .name("#steps", "remaining_steps")
            .name("#ev", "email_verified")
            .name("#pv", "phone_verified")
            .name("#code", "code")
            .name("#completed", "completed")
            .value(":steps", to_value(&a.remaining_steps)?)
            .value(":ev", AttributeValue::Bool(a.email_verified))
            .value(":pv", AttributeValue::Bool(a.phone_verified))
            .value(":false", AttributeValue::Bool(false));
        let e = attempt_check(e, &AttemptCheck::Code(a.proof.clone()));
        Ok(match self.update_item(k, e, false).await? {
            Some(_) => Written::Done,
            None => Written::Conflict,
        })
    }

    async fn advance_signin(&self, a: &SigninAdvance) -> Result<Written, StoreError> {
        let k = signin_attempt_key(&a.session_id, a.check.attempt_id());
        // `SigninAttempt::advance`, field for field.
        let e = Expr::new("SET #steps = :steps")
            .name("#steps", "remaining_steps")
            .name("#code", "code")
            .name("#completed", "completed")
            .value(":steps", to_value(&a.remaining_steps)?)
            .value(":false", AttributeValue::Bool(false));
        let mut e = attempt_check(e, &a.check);
        if let Some((user_id, challenge)) = &a.second_factor {
            // `SigninAttempt::await_second_factor`, field for field.
            e = e
                .append(", #sfuser = :sfuser, #sf = :sf")
                .name("#sfuser", "user_id")
                .name("#sf", "second_factor")
                .value(":sfuser", s(user_id))
                .value(":sf", to_value(challenge)?);
        }
        let e = e.append(" REMOVE #code");
        let mut tx = Transaction::new();
        // A reset's step: only while its user is as the reset found it (`User::holds`), checked
        // on the user item in the same transaction.
        if let Some(h) = &a.user {
            let user = second_factor::holds(
                Expr::new("SET #sfupdated = #sfupdated")
                    .name("#sfupdated", "updated_at")
                    .condition("attribute_exists(pk)"),
                h,
            );
            tx.push(self.update(user_key(&h.user_id), user));
        }
        match &a.check {
            // A reset's right code waits while the account's failure budget is full: the same
            // write, made a transaction with the counter's check.
            AttemptCheck::Code(CodeProof {
                gate: Some(gate), ..
            }) => {
                tx.push(self.update(k, e));
                tx.push(self.gate_check(gate));
            }
            // A reset's second factor: spent on the user in the same transaction.
            AttemptCheck::SecondFactor {
                user_id,
                spend,
                gate,
                signouts_version,
                ..
            } => {
                let (user, adds) = second_factor::spend(
                    Expr::new("SET #sfupdated = #sfupdated").name("#sfupdated", "updated_at"),
                    spend,
                );
                let user = user
                    .condition(&format!(
                        "attribute_exists(pk) AND #blocked = :false AND {adds}"
                    ))
                    .name("#blocked", "blocked")
                    .value(":false", AttributeValue::Bool(false));
                // Not signed out everywhere since the attempt was opened.
                let user = second_factor::signouts_unchanged(user, *signouts_version);
                tx.push(self.update(k, e));
                tx.push(self.update(user_key(user_id), user));
                if let Some(gate) = gate {
                    tx.push(self.gate_check(gate));
                }
            }
            _ if a.user.is_some() => {
                tx.push(self.update(k, e));
            }
            _ => {
                return Ok(match self.update_item(k, e, false).await? {
                    Some(_) => Written::Done,
                    None => Written::Conflict,
                });
            }
        }
        Ok(match self.run(tx).await? {
            Outcome::Done => Written::Done,
            Outcome::Cancelled(_) => Written::Conflict,
        })
    }

    async fn revise_signup(
        &self,
        revised: &SignupAttempt,
        charge: Option<Charge<'_>>,
    ) -> Result<Opened, StoreError> {
        let item = to_item(
            revised,
            signup_attempt_key(&revised.session_id, &revised.id),
        )?;
        let put = Put::builder()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression("#completed = :false AND #steps[0] = :step")
            .expression_attribute_names("#completed", "completed")
            .expression_attribute_names("#steps", "remaining_steps")
            .expression_attribute_values(":false", AttributeValue::Bool(false))
            .expression_attribute_values(":step", to_value(&Step::CompleteProfile)?)
            .build()
            .expect("table and item are set");
        let mut tx = Transaction::new();
        tx.push(TransactWriteItem::builder().put(put).build());
        self.run_charged(tx, charge).await
    }

    async fn continue_as_signup(
        &self,
        sso_attempt_id: &str,
        signup: &SignupAttempt,
        admission: &Admission,
        charge: Option<Charge<'_>>,
    ) -> Result<Opened, StoreError> {
        let check = AttemptCheck::Sso {
            attempt_id: sso_attempt_id.to_string(),
        };
        let listed = NewAttempt::Signup(signup).listed();
        let list = listing(Expr::new("SET #attempts = :after"), admission, &listed)?;
        let mut tx = Transaction::new();
        tx.push(self.update(session_key(&signup.session_id), list));
        self.push_drops(&mut tx, &signup.session_id, &admission.dropped);
        tx.push(self.completion_update(&signup.session_id, AttemptKind::Signin, &check, None));
        tx.push(self.put_new(to_item(
            signup,
            signup_attempt_key(&signup.session_id, &signup.id),
        )?));
        self.run_charged(tx, charge).await
    }

    async fn move_contact(&self, c: &ContactMove) -> Result<Completion, StoreError> {
        self.moved_contact(c).await
    }

    async fn finish_reverification(
        &self,
        session_id: &str,
        check: &AttemptCheck,
        signin: &Signin,
        at: Timestamp,
    ) -> Result<Completion, StoreError> {
        self.reverified(session_id, check, signin, at).await
    }

    async fn finish_signin(&self, c: &SigninCompletion) -> Result<Completion, StoreError> {
        let mut ends = c.end_signins.clone();
        for _ in 0..TRIES {
            match self.try_finish_signin(c, ends.as_ref()).await? {
                Finished::Answer(completion) => return Ok(completion),
                Finished::Again(fresh) => ends = Some(fresh),
            }
        }
        Err(StoreError::Unavailable(
            "the user's signins kept changing while resetting the password".into(),
        ))
    }
}

impl DynamoStore {
    /// `AttemptStore::finish_reverification`: the attempt's completion and the signin's (and
    /// its index entry's) `verified_at`, in one transaction.
    async fn reverified(
        &self,
        session_id: &str,
        check: &AttemptCheck,
        signin: &Signin,
        at: Timestamp,
    ) -> Result<Completion, StoreError> {
        let mut tx = Transaction::new();
        let attempt = tx.push(self.completion_update(session_id, AttemptKind::Signin, check, None));
        let stamp = || {
            Expr::new("SET #verified = :at")
                .condition("attribute_exists(pk)")
                .name("#verified", "verified_at")
                .value(":at", n(at.unix_timestamp()))
        };
        tx.push(self.update(signin_key(&signin.session_id, &signin.id), stamp()));
        tx.push(self.update(user_signin_key(&signin.user_id, &signin.id), stamp()));
        Ok(match self.run(tx).await? {
            Outcome::Done => Completion::Done,
            Outcome::Cancelled(reasons) if reasons.failed(attempt) => Completion::AttemptChanged,
            Outcome::Cancelled(_) => Completion::SessionChanged,
        })
    }

    /// Deletes the attempts an admission drops. Unconditionally: TTL may have removed an expired
    /// one already, and the session's list, checked in the same transaction, is what counts.
    fn push_drops(&self, tx: &mut Transaction, session_id: &str, dropped: &[AttemptRef]) {
        for a in dropped {
            tx.push(self.delete(attempt_key(AttemptKey {
                session_id,
                attempt_id: &a.id,
                kind: a.kind,
            })));
        }
    }

    /// Runs `tx` with the charge (if any) as its last item: `Limited` when the charge was
    /// refused (whatever else failed), `Conflict` when only another condition failed.
    async fn run_charged(
        &self,
        mut tx: Transaction,
        charge: Option<Charge<'_>>,
    ) -> Result<Opened, StoreError> {
        let charge = charge.map(|c| (c.window_ends, tx.push(self.charge_update(&c))));
        Ok(match self.run(tx).await? {
            Outcome::Done => Opened::Done,
            Outcome::Cancelled(reasons) => match charge {
                Some((window_ends, slot)) if reasons.failed(slot) => {
                    Opened::Limited { window_ends }
                }
                _ => Opened::Conflict,
            },
        })
    }

    /// Completes an attempt, provided the check still holds: it still holds the proven code, is
    /// open and not killed; or it waits at the given step. For a sign-up it also records the user
    /// and which contacts are now verified.
    pub(super) fn completion_update(
        &self,
        session_id: &str,
        kind: AttemptKind,
        check: &AttemptCheck,
        signup_user: Option<&User>,
    ) -> TransactWriteItem {
        let k = attempt_key(AttemptKey {
            session_id,
            attempt_id: check.attempt_id(),
            kind,
        });
        let e = Expr::new("SET #completed = :true, #steps = :none")
            .name("#completed", "completed")
            .name("#steps", "remaining_steps")
            .name("#code", "code")
            .value(":true", AttributeValue::Bool(true))
            .value(":false", AttributeValue::Bool(false))
            .value(":none", AttributeValue::L(Vec::new()));
        let mut e = attempt_check(e, check);
        // `SignupAttempt::complete` / `SigninAttempt::complete`, field for field; the store
        // conformance suite checks the stored attempt against them.
        if let Some(user) = signup_user {
            // The attempt keeps the fields the user ended up with (profile completion adds some).
            let text = |v: &Option<String>| {
                v.as_ref()
                    .map_or(AttributeValue::Null(true), |v| s(v.clone()))
            };
            e = e
                .append(", #user = :user, #ev = :ev, #pv = :pv, #missing = :none")
                .append(", #email = :email, #phone = :phone, #username = :username, #first = :first, #last = :last")
                .name("#user", "user_id")
                .name("#ev", "email_verified")
                .name("#pv", "phone_verified")
                .name("#missing", "missing_fields")
                .name("#email", "email")
                .name("#phone", "phone_number")
                .name("#username", "username")
                .name("#first", "first_name")
                .name("#last", "last_name")
                .value(":user", s(&user.id))
                .value(":ev", AttributeValue::Bool(user.email_verified))
                .value(":pv", AttributeValue::Bool(user.phone_verified))
                .value(":email", text(&user.email))
                .value(":phone", text(&user.phone_number))
                .value(":username", text(&user.username))
                .value(":first", text(&user.first_name))
                .value(":last", text(&user.last_name));
        }
        self.update(k, e.append(" REMOVE #code"))
    }
}

/// Sets the session's list (`#attempts = :after` must be in the update) to what it is once `new`
/// joined, provided the session exists and still lists what the admission read.
fn listing(e: Expr, admission: &Admission, new: &AttemptRef) -> Result<Expr, StoreError> {
    let condition = if admission.expected.is_empty() {
        // A session written before sessions listed their attempts has no list: it lists nothing.
        "attribute_exists(pk) AND (attribute_not_exists(#attempts) OR #attempts = :expected)"
    } else {
        "attribute_exists(pk) AND #attempts = :expected"
    };
    Ok(e.condition(condition)
        .name("#attempts", "attempts")
        .value(":expected", to_value(&admission.expected)?)
        .value(":after", to_value(&admission.after(new))?))
}

/// Adds the condition an `AttemptCheck` stands for (`#completed`, `#code`, `#steps` and `:false`
/// must already be named).
fn attempt_check(e: Expr, check: &AttemptCheck) -> Expr {
    match check {
        AttemptCheck::Code(proof) => e
            .condition("#code.#hash = :hash AND #wrong < :max AND #completed = :false")
            .name("#hash", "hash")
            .name("#wrong", "wrong_codes")
            .value(":hash", s(&proof.code_hash))
            .value(":max", n(proof.max_wrong_codes)),
        AttemptCheck::AtStep { step, .. } => e
            .condition("#completed = :false AND #steps[0] = :step")
            .value(":step", to_value(step).expect("a step serializes")),
        // Not yet moved to `verify_second_factor` (no step listed).
        AttemptCheck::Sso { .. } => e
            .name("#steps", "remaining_steps")
            .value(":no_steps", n(0))
            .condition(
                "#completed = :false AND (attribute_not_exists(#steps) OR size(#steps) = :no_steps)",
            ),
        AttemptCheck::SecondFactor {
            max_wrong_codes,
            code_hash,
            ..
        } => {
            let e = e
                .name("#wrong", "wrong_codes")
                .value(":max", n(*max_wrong_codes))
                .value(
                    ":sfstep_now",
                    to_value(&Step::VerifySecondFactor).expect("a step serializes"),
                );
            match code_hash {
                Some(hash) => e
                    .condition(
                        "#completed = :false AND #steps[0] = :sfstep_now AND #wrong < :max \
                         AND #code.#hash = :hash",
                    )
                    .name("#hash", "hash")
                    .value(":hash", s(hash)),
                None => {
                    e.condition("#completed = :false AND #steps[0] = :sfstep_now AND #wrong < :max")
                }
            }
        }
    }
}
