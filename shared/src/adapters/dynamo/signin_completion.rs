//! A sign-in's completing transaction (`AttemptStore::finish_signin`, one try of it): the
//! attempt, the account's budget gate, the user (blocked, verified hash, second factor, the
//! signins a reset ends), the claims it proves and the grant.

use aws_sdk_dynamodb::types::AttributeValue;

use crate::domain::model::{AttemptKind, Channel, Claim};
use crate::domain::ports::store::{
    AttemptCheck, CodeProof, Completion, SigninCompletion, SigninsRead, StoreError,
};

use super::DynamoStore;
use super::codec::{n, s};
use super::credentials::{Ends, version_clause};
use super::expr::Expr;
use super::keys::{SIGNINS_VERSION, SIGNOUTS_VERSION, user_key};
use super::second_factor;
use super::transaction::{Outcome, Slot, Transaction};

/// One try of a sign-in's transaction: its answer, or a fresh read of the user's signins to end
/// (a grant landed since the read, or there were more than one transaction holds).
pub(super) enum Finished {
    Answer(Completion),
    Again(SigninsRead),
}

impl DynamoStore {
    pub(super) async fn try_finish_signin(
        &self,
        c: &SigninCompletion,
        ends: Option<&SigninsRead>,
    ) -> Result<Finished, StoreError> {
        let session_id = c.grant.session_id();
        let mut tx = Transaction::new();
        let attempt = c.check.as_ref().map(|check| {
            tx.push(self.completion_update(session_id, AttemptKind::Signin, check, None))
        });
        // A right code still waits while the account's failure budget is full.
        let gate = match &c.check {
            Some(
                AttemptCheck::Code(CodeProof { gate: Some(g), .. })
                | AttemptCheck::SecondFactor { gate: Some(g), .. },
            ) => Some(tx.push(self.gate_check(g))),
            _ => None,
        };
        let mut user = Expr::new("SET #attempts = :zero")
            .condition("attribute_exists(pk) AND #blocked = :false")
            .name("#attempts", "login_attempts")
            .name("#blocked", "blocked")
            .value(":zero", n(0))
            .value(":false", AttributeValue::Bool(false));
        match &c.verified {
            Some((Channel::Email, _)) => {
                user = user.append(", #ev = :true").name("#ev", "email_verified")
            }
            Some((Channel::Sms, _)) => {
                user = user.append(", #pv = :true").name("#pv", "phone_verified")
            }
            None => {}
        }
        if let Some((channel, Claim::Email(v) | Claim::Phone(v))) = &c.verified {
            // Only while the contact the code proved is still the user's.
            user = second_factor::contact_unchanged(user, *channel, v)
                .value(":true", AttributeValue::Bool(true));
        }
        if let Some(hash) = &c.password_hash {
            user = user
                .append(", #pw = :pw, #updated = :updated")
                .name("#pw", "password_hash")
                .name("#updated", "updated_at")
                .value(":pw", s(hash))
                .value(":updated", n(c.grant.signin.created_at.unix_timestamp()));
        }
        // A password sign-in: only while the hash it verified is still the user's.
        if let Some(verified) = &c.verified_hash {
            user = user
                .and_condition("#pw = :verified")
                .name("#pw", "password_hash")
                .value(":verified", s(verified));
        }
        // A reset: the signins it ends are all there are (no grant since they were read).
        if let Some(read) = ends {
            user = version_clause(user, read.version.as_deref());
        }
        if let Some(AttemptCheck::SecondFactor {
            spend,
            signouts_version,
            ..
        }) = &c.check
        {
            let (spent, adds) = second_factor::spend(user, spend);
            user = second_factor::signouts_unchanged(spent.and_condition(adds), *signouts_version);
        }
        // A reset's last step: only while the user is as the reset found it (`User::holds`).
        if let Some(AttemptCheck::AtStep {
            user: Some(holds), ..
        }) = &c.check
        {
            user = second_factor::holds(user, holds);
        }
        // A sign-in that met no second factor: only while the user still has none on.
        if c.requires_no_second_factor() {
            user = second_factor::no_second_factor(user);
        }
        // Every grant counts on the user, so ending all its signins cannot miss this one; a
        // reset's end of them all counts as a sign-out too.
        let user = if ends.is_some() {
            user.append(" ADD #signins :one, #signouts :one")
                .name("#signouts", SIGNOUTS_VERSION)
        } else {
            user.append(" ADD #signins :one")
        };
        let user = user.name("#signins", SIGNINS_VERSION).value(":one", n(1));
        let user = tx.push(self.update(user_key(&c.user_id), user));
        let claims: Vec<(Claim, Slot)> = c
            .verified
            .iter()
            .map(|(_, claim)| claim)
            .chain(c.link.iter())
            .map(|claim| (claim.clone(), self.push_claim(&mut tx, claim, &c.user_id)))
            .collect();
        let session = self.push_grant(&mut tx, &c.grant)?;
        if let Some(read) = ends
            && let Ends::TooMany =
                self.push_read_ends(&mut tx, read, None, &c.grant.removed_signins)
        {
            self.end_all_from(&c.user_id, Some(read.clone()), None)
                .await?;
            return Ok(Finished::Again(self.user_now(&c.user_id).await?.1));
        }

        let outcome = match self.run(tx).await? {
            Outcome::Done => Completion::Done,
            Outcome::Cancelled(reasons) => {
                let taken = reasons.failures(&claims);
                if reasons.failed(user) {
                    // Blocked or gone, re-keyed, or a grant landed since the read: which one.
                    let (now, fresh) = self.user_now(&c.user_id).await?;
                    match now.filter(|u| !u.blocked) {
                        None => Completion::UserBlocked,
                        Some(u)
                            if c.verified_hash.is_some() && u.password_hash != c.verified_hash =>
                        {
                            Completion::CredentialsChanged
                        }
                        Some(u) if c.verified.as_ref().is_some_and(|p| !u.still_has(p)) => {
                            Completion::CredentialsChanged
                        }
                        Some(u) if !second_factor::still_current(c, &u) => {
                            Completion::SecondFactorStale
                        }
                        Some(_) if ends.is_some_and(|r| r.version != fresh.version) => {
                            return Ok(Finished::Again(fresh));
                        }
                        Some(_) => Completion::UserBlocked,
                    }
                } else if attempt.is_some_and(|a| reasons.failed(a))
                    || gate.is_some_and(|g| reasons.failed(g))
                {
                    Completion::AttemptChanged
                } else if !taken.is_empty() {
                    Completion::Taken(taken)
                } else if reasons.failed(session) {
                    Completion::SessionChanged
                } else {
                    Completion::AttemptChanged
                }
            }
        };
        Ok(Finished::Answer(outcome))
    }
}
