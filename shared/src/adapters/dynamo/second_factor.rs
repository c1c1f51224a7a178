//! `SecondFactorStore`: enrollment changes, one conditional UpdateItem on the user item each.

use std::collections::HashMap;

use async_trait::async_trait;
use aws_sdk_dynamodb::types::AttributeValue;

use crate::domain::factors::{SecondFactorUse, SecondFactorWrite};
use crate::domain::model::{Channel, Signin, Timestamp, User};
use crate::domain::ports::store::{
    AttemptCheck, SecondFactorStore, SigninCompletion, StoreError, UserHolds, Written,
};

use super::DynamoStore;
use super::codec::{n, s};
use super::expr::Expr;
use super::keys::{SIGNOUTS_VERSION, signin_key, user_key, user_signin_key};
use super::transaction::{Outcome, Transaction};

/// The attribute names of `domain::factors::SecondFactors` on the user item.
const TOTP_SECRET: &str = "totp_secret";
const TOTP_LAST_STEP: &str = "totp_last_step";
const BACKUP_CODE_HASHES: &str = "backup_code_hashes";
const PHONE_SECOND_FACTOR: &str = "phone_second_factor";

#[async_trait]
impl SecondFactorStore for DynamoStore {
    async fn write_second_factor(&self, w: &SecondFactorWrite) -> Result<Written, StoreError> {
        let mut sets = vec!["#ver = :next", "#tfe = :tfe", "#updated = :at"];
        let mut removes = Vec::new();
        let mut e = Expr::new("")
            .name("#ver", "second_factor_version")
            .name("#tfe", "two_factor_enabled")
            .name("#updated", "updated_at")
            .value(":ver", n(w.expected_version))
            .value(":next", n(w.expected_version + 1))
            .value(":tfe", AttributeValue::Bool(w.two_factor_enabled))
            .value(":at", n(w.at.unix_timestamp()));
        let strings = [
            (&w.totp_secret, "#ts", ":ts", TOTP_SECRET),
            (&w.totp_pending_secret, "#tp", ":tp", "totp_pending_secret"),
        ];
        for (field, name, value, attribute) in strings {
            match field {
                Some(Some(v)) => {
                    sets.push(if name == "#ts" {
                        "#ts = :ts"
                    } else {
                        "#tp = :tp"
                    });
                    e = e.name(name, attribute).value(value, s(v));
                }
                Some(None) => {
                    removes.push(name);
                    e = e.name(name, attribute);
                }
                None => {}
            }
        }
        match w.totp_last_step {
            Some(Some(step)) => {
                sets.push("#step = :step");
                e = e.name("#step", TOTP_LAST_STEP).value(":step", n(step));
            }
            Some(None) => {
                removes.push("#step");
                e = e.name("#step", TOTP_LAST_STEP);
            }
            None => {}
        }
        if let Some(hashes) = &w.backup_code_hashes {
            let map: HashMap<String, AttributeValue> = hashes
                .iter()
                .map(|h| (h.clone(), AttributeValue::Bool(true)))
                .collect();
            sets.push("#backup = :backup");
            e = e
                .name("#backup", BACKUP_CODE_HASHES)
                .value(":backup", AttributeValue::M(map));
        }
        if let Some(on) = w.phone_second_factor {
            sets.push("#phone = :phone");
            e = e
                .name("#phone", PHONE_SECOND_FACTOR)
                .value(":phone", AttributeValue::Bool(on));
        }
        let mut update = format!("SET {}", sets.join(", "));
        if !removes.is_empty() {
            update.push_str(&format!(" REMOVE {}", removes.join(", ")));
        }
        // A user stored before this field existed has no version: it counts as 0.
        let condition = if w.expected_version == 0 {
            "attribute_exists(pk) AND (attribute_not_exists(#ver) OR #ver = :ver)"
        } else {
            "#ver = :ver"
        };
        let e = e.replace_update(&update).condition(condition);
        Ok(
            match self.update_item(user_key(&w.user_id), e, false).await? {
                Some(_) => Written::Done,
                None => Written::Conflict,
            },
        )
    }

    async fn reverify_with_second_factor(
        &self,
        signin: &Signin,
        spend: &SecondFactorUse,
        at: Timestamp,
    ) -> Result<Written, StoreError> {
        let (user, adds) = self::spend(
            Expr::new("SET #sfupdated = #sfupdated").name("#sfupdated", "updated_at"),
            spend,
        );
        let user = user
            .condition(&format!(
                "attribute_exists(pk) AND #blocked = :false AND {adds}"
            ))
            .name("#blocked", "blocked")
            .value(":false", AttributeValue::Bool(false));
        let verified = || {
            Expr::new("SET #verified = :at")
                .condition("attribute_exists(pk)")
                .name("#verified", "verified_at")
                .value(":at", n(at.unix_timestamp()))
        };
        let mut tx = Transaction::new();
        tx.push(self.update(user_key(&signin.user_id), user));
        tx.push(self.update(signin_key(&signin.session_id, &signin.id), verified()));
        tx.push(self.update(user_signin_key(&signin.user_id, &signin.id), verified()));
        Ok(match self.run(tx).await? {
            Outcome::Done => Written::Done,
            Outcome::Cancelled(_) => Written::Conflict,
        })
    }
}

/// A sign-in's second factor spent on the user item (`User::spend_second_factor`), appended to
/// an update whose last clause is its SET: the expression, and the condition it adds
/// (`User::can_spend_second_factor`).
pub(super) fn spend(e: Expr, spend: &SecondFactorUse) -> (Expr, &'static str) {
    match spend {
        SecondFactorUse::Totp {
            sealed_secret,
            step,
        } => (
            e.append(", #sfstep = :sfstep")
                .name("#sfstep", TOTP_LAST_STEP)
                .name("#sfsecret", TOTP_SECRET)
                .value(":sfstep", n(*step))
                .value(":sfsecret", s(sealed_secret)),
            "#sfsecret = :sfsecret AND (attribute_not_exists(#sfstep) OR #sfstep < :sfstep)",
        ),
        SecondFactorUse::BackupCode { hash } => (
            e.append(" REMOVE #sfcodes.#sfcode")
                .name("#sfcodes", BACKUP_CODE_HASHES)
                .name("#sfcode", hash),
            "attribute_exists(#sfcodes.#sfcode)",
        ),
        SecondFactorUse::Phone { phone } => (
            e.name("#sfphone", PHONE_SECOND_FACTOR)
                .name("#sfnumber", "phone_number")
                .name("#sfpv", "phone_verified")
                .value(":sftrue", AttributeValue::Bool(true))
                .value(":sfnumber", s(phone)),
            "#sfphone = :sftrue AND #sfnumber = :sfnumber AND #sfpv = :sftrue",
        ),
    }
}

/// Requires the user's `signouts_version` still `version` (no end of all its signins since a
/// sign-in's attempt was opened; absent counts as 0).
pub(super) fn signouts_unchanged(e: Expr, version: u64) -> Expr {
    let e = e
        .name("#sfsignouts", SIGNOUTS_VERSION)
        .value(":sfsignouts", n(version));
    if version == 0 {
        e.and_condition("(attribute_not_exists(#sfsignouts) OR #sfsignouts = :sfsignouts)")
    } else {
        e.and_condition("#sfsignouts = :sfsignouts")
    }
}

/// Requires a user with no second factor on (`two_factor_enabled` false or absent).
pub(super) fn no_second_factor(e: Expr) -> Expr {
    e.name("#tfe", "two_factor_enabled")
        .value(":sffalse", AttributeValue::Bool(false))
        .and_condition("(attribute_not_exists(#tfe) OR #tfe = :sffalse)")
}

/// `User::holds`, as a condition on the user item: a reset's step applies only while the user is
/// as the reset found it.
pub(super) fn holds(e: Expr, h: &UserHolds) -> Expr {
    let e = signouts_unchanged(e, h.signouts_version);
    let e = match &h.contact {
        Some((channel, value)) => contact_unchanged(e, *channel, value),
        None => e,
    };
    if h.no_second_factor {
        no_second_factor(e)
    } else {
        e
    }
}

/// Requires `value` still the user's email or phone number (`User::has_contact`).
pub(super) fn contact_unchanged(e: Expr, channel: Channel, value: &str) -> Expr {
    let attribute = match channel {
        Channel::Email => "email",
        Channel::Sms => "phone_number",
    };
    e.name("#sfcontact", attribute)
        .value(":sfcontact", s(value))
        .and_condition("#sfcontact = :sfcontact")
}

/// Whether `user` (read after a cancelled grant) still has the second factors the sign-in met:
/// else the cancellation was `Completion::SecondFactorStale`.
pub(super) fn still_current(c: &SigninCompletion, user: &User) -> bool {
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
