//! `PasskeyStore`. A passkey is two items, written and removed together: its claim
//! (`PASSKEY#<id>` / `CLAIM`, the owner's id: one user per credential) and its entry in the
//! owner's index (`USER#<id>` / `CLAIM#PASSKEY#<id>`, the passkey itself), so deleting the user
//! releases both like any claim. Adding or removing one counts on the user's `claims_version`.
//! A begun registration is `PASSKEY_REGISTRATION#<signin id>` / `REGISTRATION`, removed by TTL
//! (`expires_at`) if never finished.

use async_trait::async_trait;
use aws_sdk_dynamodb::types::{AttributeValue, Delete, Put, TransactWriteItem};

use crate::domain::model::{AttemptKind, Step};
use crate::domain::passkeys::{PendingRegistration, StoredPasskey};
use crate::domain::ports::passkeys::{PasskeyAdd, PasskeyAdded, PasskeySignin, PasskeyStore};
use crate::domain::ports::store::{AttemptCheck, Completion, StoreError, Written};

use super::DynamoStore;
use super::codec::{Item, from_item, n, s, to_item, unavailable};
use super::expr::Expr;
use super::keys::{
    CLAIMS_VERSION, SIGNINS_VERSION, USER_CLAIM_PREFIX, claim_key_of, user_claim_key, user_key,
};
use super::transaction::{Outcome, Transaction};

fn claim(passkey_id: &str) -> String {
    format!("PASSKEY#{passkey_id}")
}

fn entry_key(user_id: &str, passkey_id: &str) -> Item {
    user_claim_key(user_id, &claim(passkey_id))
}

fn registration_key(signin_id: &str) -> Item {
    Item::from([
        (
            "pk".to_string(),
            s(format!("PASSKEY_REGISTRATION#{signin_id}")),
        ),
        ("sk".to_string(), s("REGISTRATION")),
    ])
}

impl DynamoStore {
    /// Adds one to the user's claims version, provided the user exists.
    fn claims_moved(&self, user_id: &str) -> TransactWriteItem {
        let e = Expr::new("ADD #claims :one")
            .condition("attribute_exists(pk)")
            .name("#claims", CLAIMS_VERSION)
            .value(":one", n(1));
        self.update(user_key(user_id), e)
    }
}

#[async_trait]
impl PasskeyStore for DynamoStore {
    async fn put_passkey_registration(&self, r: &PendingRegistration) -> Result<(), StoreError> {
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(to_item(r, registration_key(&r.signin_id))?))
            .send()
            .await
            .map_err(unavailable)?;
        Ok(())
    }

    async fn passkey_registration(
        &self,
        signin_id: &str,
    ) -> Result<Option<PendingRegistration>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(registration_key(signin_id)))
            .consistent_read(true)
            .send()
            .await
            .map_err(unavailable)?;
        out.item.map(from_item).transpose()
    }

    async fn add_passkey(&self, add: &PasskeyAdd) -> Result<PasskeyAdded, StoreError> {
        let p = &add.passkey;
        let r = &add.registration;
        let mut tx = Transaction::new();
        // Single use: only the registration as read, which this write removes.
        let consume = Delete::builder()
            .table_name(&self.table)
            .set_key(Some(registration_key(&r.signin_id)))
            .condition_expression("#state = :state AND #user = :user")
            .expression_attribute_names("#state", "state")
            .expression_attribute_names("#user", "user_id")
            .expression_attribute_values(":state", s(&r.state))
            .expression_attribute_values(":user", s(&r.user_id))
            .build()
            .expect("table and key are set");
        let registration = tx.push(TransactWriteItem::builder().delete(consume).build());
        let mut owner = claim_key_of(&claim(&p.id));
        owner.insert("user_id".into(), s(&p.user_id));
        let claimed = tx.push(self.put_new(owner));
        let mut entry = to_item(p, entry_key(&p.user_id, &p.id))?;
        entry.insert("claim".into(), s(claim(&p.id)));
        let put = Put::builder()
            .table_name(&self.table)
            .set_item(Some(entry))
            .build()
            .expect("table and item are set");
        tx.push(TransactWriteItem::builder().put(put).build());
        let user = tx.push(self.claims_moved(&p.user_id));
        Ok(match self.run(tx).await? {
            Outcome::Done => PasskeyAdded::Done,
            Outcome::Cancelled(reasons) if reasons.failed(registration) => {
                PasskeyAdded::RegistrationGone
            }
            Outcome::Cancelled(reasons) if reasons.failed(claimed) => PasskeyAdded::Taken,
            Outcome::Cancelled(reasons) if reasons.failed(user) => PasskeyAdded::UserGone,
            Outcome::Cancelled(_) => PasskeyAdded::RegistrationGone,
        })
    }

    async fn passkeys_of_user(&self, user_id: &str) -> Result<Vec<StoredPasskey>, StoreError> {
        let prefix = format!("{USER_CLAIM_PREFIX}{}", claim(""));
        let items = self.query_user(user_id, Some(&prefix)).await?;
        let mut all: Vec<StoredPasskey> =
            items.into_iter().map(from_item).collect::<Result<_, _>>()?;
        all.sort_by(|a, b| (a.created_at, &a.id).cmp(&(b.created_at, &b.id)));
        Ok(all)
    }

    async fn passkey(
        &self,
        user_id: &str,
        passkey_id: &str,
    ) -> Result<Option<StoredPasskey>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(entry_key(user_id, passkey_id)))
            .consistent_read(true)
            .send()
            .await
            .map_err(unavailable)?;
        out.item.map(from_item).transpose()
    }

    async fn rename_passkey(
        &self,
        user_id: &str,
        passkey_id: &str,
        name: &str,
    ) -> Result<Written, StoreError> {
        let e = Expr::new("SET #name = :name")
            .condition("attribute_exists(pk)")
            .name("#name", "name")
            .value(":name", s(name));
        let mut tx = Transaction::new();
        tx.push(self.update(entry_key(user_id, passkey_id), e));
        Ok(match self.run(tx).await? {
            Outcome::Done => Written::Done,
            Outcome::Cancelled(_) => Written::Conflict,
        })
    }

    async fn delete_passkey(&self, user_id: &str, passkey_id: &str) -> Result<Written, StoreError> {
        let mut tx = Transaction::new();
        let entry = Delete::builder()
            .table_name(&self.table)
            .set_key(Some(entry_key(user_id, passkey_id)))
            .condition_expression("attribute_exists(pk)")
            .build()
            .expect("table and key are set");
        tx.push(TransactWriteItem::builder().delete(entry).build());
        let release = Delete::builder()
            .table_name(&self.table)
            .set_key(Some(claim_key_of(&claim(passkey_id))))
            .condition_expression("attribute_not_exists(pk) OR #owner = :me")
            .expression_attribute_names("#owner", "user_id")
            .expression_attribute_values(":me", s(user_id))
            .build()
            .expect("table and key are set");
        tx.push(TransactWriteItem::builder().delete(release).build());
        tx.push(self.claims_moved(user_id));
        Ok(match self.run(tx).await? {
            Outcome::Done => Written::Done,
            Outcome::Cancelled(_) => Written::Conflict,
        })
    }

    async fn finish_passkey_signin(&self, c: &PasskeySignin) -> Result<Completion, StoreError> {
        let session_id = c.grant.session_id();
        let mut tx = Transaction::new();
        let check = AttemptCheck::AtStep {
            attempt_id: c.attempt_id.clone(),
            step: Step::VerifyPasskey,
            user: None,
        };
        let attempt =
            tx.push(self.completion_update(session_id, AttemptKind::Signin, &check, None));
        // Every grant counts on the user, so ending all its signins cannot miss this one.
        let user = Expr::new("SET #attempts = :zero ADD #signins :one")
            .condition("attribute_exists(pk) AND #blocked = :false")
            .name("#attempts", "login_attempts")
            .name("#blocked", "blocked")
            .name("#signins", SIGNINS_VERSION)
            .value(":zero", n(0))
            .value(":one", n(1))
            .value(":false", AttributeValue::Bool(false));
        let user = tx.push(self.update(user_key(&c.user_id), user));
        // `StoredPasskey::used`: still there, and no other sign-in moved its counter since.
        let mut passkey = Expr::new("SET #cred = :cred, #used = :used")
            .condition("attribute_exists(pk) AND #cred = :expected")
            .name("#cred", "credential")
            .name("#used", "last_used_at")
            .value(":cred", s(&c.after.credential))
            .value(":expected", s(&c.expected_credential));
        passkey = match c.after.last_used_at {
            Some(at) => passkey.value(":used", n(at.unix_timestamp())),
            None => passkey.value(":used", AttributeValue::Null(true)),
        };
        let passkey = tx.push(self.update(entry_key(&c.user_id, &c.after.id), passkey));
        let session = self.push_grant(&mut tx, &c.grant)?;
        Ok(match self.run(tx).await? {
            Outcome::Done => Completion::Done,
            // The same precedence as the embedded store: user, attempt, passkey, session.
            Outcome::Cancelled(r) if r.failed(user) => Completion::UserBlocked,
            Outcome::Cancelled(r) if r.failed(attempt) => Completion::AttemptChanged,
            Outcome::Cancelled(r) if r.failed(passkey) => Completion::CredentialsChanged,
            Outcome::Cancelled(r) if r.failed(session) => Completion::SessionChanged,
            Outcome::Cancelled(_) => Completion::AttemptChanged,
        })
    }
}
