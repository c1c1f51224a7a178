//! `SessionStore`: a session is one item collection, so one Query loads the whole envelope.

use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_dynamodb::types::{Delete, DeleteRequest, TransactWriteItem, WriteRequest};

use crate::domain::model::{
    Session, SessionState, Signin, SigninAttempt, SignupAttempt, Timestamp,
};
use crate::domain::ports::store::{SessionStore, SigninsRead, StoreError, Written};

use super::DynamoStore;
use super::codec::{Item, from_item, n, s, unavailable};
use super::expr::Expr;
use super::keys::{
    SESSION_SK, SIGNIN_ATTEMPT_PREFIX, SIGNIN_PREFIX, SIGNUP_ATTEMPT_PREFIX, session_key,
    session_pk, signin_key, user_signin_key,
};
use super::transaction::{Outcome, Transaction};

#[async_trait]
impl SessionStore for DynamoStore {
    async fn load_session(&self, session_id: &str) -> Result<Option<SessionState>, StoreError> {
        let items = self.query_collection(session_id, None).await?;

        let mut session = None;
        let (mut signins, mut signups, mut signin_attempts) = (Vec::new(), Vec::new(), Vec::new());
        for item in items {
            let sk = item
                .get("sk")
                .and_then(|v| v.as_s().ok())
                .cloned()
                .unwrap_or_default();
            if sk == SESSION_SK {
                session = Some(from_item::<Session>(item)?);
            } else if sk.starts_with(SIGNIN_PREFIX) {
                signins.push(from_item::<Signin>(item)?);
            } else if sk.starts_with(SIGNUP_ATTEMPT_PREFIX) {
                signups.push(from_item::<SignupAttempt>(item)?);
            } else if sk.starts_with(SIGNIN_ATTEMPT_PREFIX) {
                signin_attempts.push(from_item::<SigninAttempt>(item)?);
            }
        }
        Ok(session.map(|session| SessionState {
            session,
            signins,
            signup_attempts: signups,
            signin_attempts,
        }))
    }

    async fn touch_session(
        &self,
        session_id: &str,
        active_signin: Option<&Signin>,
        now: Timestamp,
        expires_at: Timestamp,
    ) -> Result<(), StoreError> {
        let session = Expr::new("SET #last = :now, #exp = :exp")
            .condition("attribute_exists(pk)")
            .name("#last", "last_active_at")
            .name("#exp", "expires_at")
            .value(":now", n(now.unix_timestamp()))
            .value(":exp", n(expires_at.unix_timestamp()));
        let touch_session = self.update_item(session_key(session_id), session, false);
        match active_signin {
            None => {
                touch_session.await?;
            }
            Some(signin) => {
                let (a, b, c) = tokio::join!(
                    touch_session,
                    self.update_item(signin_key(session_id, &signin.id), touch_expr(now), false),
                    self.update_item(
                        user_signin_key(&signin.user_id, &signin.id),
                        touch_expr(now),
                        false
                    ),
                );
                a?;
                b?;
                c?;
            }
        }
        Ok(())
    }

    async fn switch_signin(&self, signin: &Signin, now: Timestamp) -> Result<Written, StoreError> {
        let session_id = &signin.session_id;
        let mut tx = Transaction::new();
        tx.push(self.update(signin_key(session_id, &signin.id), touch_expr(now)));
        tx.push(
            self.update(
                session_key(session_id),
                Expr::new("SET #active = :active, #last = :now")
                    .condition("attribute_exists(pk)")
                    .name("#active", "active_signin_id")
                    .name("#last", "last_active_at")
                    .value(":active", s(&signin.id))
                    .value(":now", n(now.unix_timestamp())),
            ),
        );
        // The index entry's `last_active_at` is shown in `GET /me/sessions`; it is not recreated
        // if gone, so it is written beside the transaction.
        let (switched, indexed) = tokio::join!(
            self.run(tx),
            self.update_item(
                user_signin_key(&signin.user_id, &signin.id),
                touch_expr(now),
                false
            )
        );
        indexed?;
        // Either item gone means the same to the caller.
        Ok(match switched? {
            Outcome::Done => Written::Done,
            Outcome::Cancelled(_) => Written::Conflict,
        })
    }

    async fn remove_signin(
        &self,
        signin: &Signin,
        next_active: Option<&str>,
    ) -> Result<Written, StoreError> {
        let session_id = &signin.session_id;
        let session = match next_active {
            Some(next) => Expr::new("SET #active = :active").value(":active", s(next)),
            None => Expr::new("REMOVE #active"),
        }
        .condition("attribute_exists(pk)")
        .name("#active", "active_signin_id");
        let delete = Delete::builder()
            .table_name(&self.table)
            .set_key(Some(signin_key(session_id, &signin.id)))
            .condition_expression("attribute_exists(pk)")
            .build()
            .expect("table and key are set");
        let mut tx = Transaction::new();
        tx.push(TransactWriteItem::builder().delete(delete).build());
        tx.push(self.update(session_key(session_id), session));
        tx.push(self.delete(user_signin_key(&signin.user_id, &signin.id)));
        Ok(match self.run(tx).await? {
            Outcome::Done => Written::Done,
            Outcome::Cancelled(_) => Written::Conflict,
        })
    }

    async fn delete_session(&self, session_id: &str) -> Result<(), StoreError> {
        // The session item goes in the first round: once it is gone no cookie resolves, whatever
        // the clean-up of its signins and attempts manages (TTL removes any stragglers).
        let delete_session = self
            .client
            .delete_item()
            .table_name(&self.table)
            .set_key(Some(session_key(session_id)))
            .send();
        let (deleted, collection) = tokio::join!(
            delete_session,
            self.query_collection(session_id, Some("pk, sk, user_id"))
        );
        deleted.map_err(unavailable)?;
        let mut keys: Vec<Item> = Vec::new();
        for item in collection? {
            let text = |name: &str| item.get(name).and_then(|v| v.as_s().ok()).cloned();
            let sk = text("sk").unwrap_or_default();
            if sk == SESSION_SK {
                continue;
            }
            // A signin's entry in its user's index goes with it.
            if let (Some(signin_id), Some(user_id)) =
                (sk.strip_prefix(SIGNIN_PREFIX), text("user_id"))
            {
                keys.push(user_signin_key(&user_id, signin_id));
            }
            keys.push(Item::from([
                ("pk".to_string(), s(text("pk").unwrap_or_default())),
                ("sk".to_string(), s(sk)),
            ]));
        }
        for chunk in keys.chunks(25) {
            let mut pending: Vec<WriteRequest> = chunk
                .iter()
                .map(|k| {
                    let delete = DeleteRequest::builder()
                        .set_key(Some(k.clone()))
                        .build()
                        .expect("key is set");
                    WriteRequest::builder().delete_request(delete).build()
                })
                .collect();
            for attempt in 0.. {
                let out = self
                    .client
                    .batch_write_item()
                    .request_items(&self.table, pending)
                    .send()
                    .await
                    .map_err(unavailable)?;
                pending = out
                    .unprocessed_items
                    .and_then(|mut u| u.remove(&self.table))
                    .unwrap_or_default();
                if pending.is_empty() {
                    break;
                }
                if attempt == 5 {
                    return Err(StoreError::Unavailable(
                        "session delete kept being throttled".into(),
                    ));
                }
                tokio::time::sleep(Duration::from_millis(25 << attempt)).await;
            }
        }
        Ok(())
    }

    async fn signins_of_user(&self, user_id: &str) -> Result<Vec<Signin>, StoreError> {
        self.indexed_signins(user_id).await
    }

    async fn revoke_signin(&self, signin: &Signin) -> Result<Written, StoreError> {
        self.revoke(signin).await
    }

    async fn end_signins_of_user(
        &self,
        user_id: &str,
        except: Option<&str>,
    ) -> Result<Vec<Signin>, StoreError> {
        self.end_all(user_id, except).await
    }

    async fn read_signins_of_user(&self, user_id: &str) -> Result<SigninsRead, StoreError> {
        self.read_signins(user_id).await
    }

    async fn end_read_signins(
        &self,
        user_id: &str,
        read: SigninsRead,
        except: Option<&str>,
    ) -> Result<Vec<Signin>, StoreError> {
        self.end_all_from(user_id, Some(read), except).await
    }

    async fn mark_verified(&self, signin: &Signin, at: Timestamp) -> Result<Written, StoreError> {
        self.verified(signin, at).await
    }
}

/// Marks a signin (or its index entry) used now, provided it still exists.
fn touch_expr(now: Timestamp) -> Expr {
    Expr::new("SET #last = :now")
        .condition("attribute_exists(pk)")
        .name("#last", "last_active_at")
        .value(":now", n(now.unix_timestamp()))
}

impl DynamoStore {
    /// Every item of a session's collection (only `projection`'s attributes when given), across
    /// pages, strongly consistent.
    async fn query_collection(
        &self,
        session_id: &str,
        projection: Option<&str>,
    ) -> Result<Vec<Item>, StoreError> {
        let mut items: Vec<Item> = Vec::new();
        let mut start: Option<Item> = None;
        loop {
            let out = self
                .client
                .query()
                .table_name(&self.table)
                .key_condition_expression("pk = :pk")
                .expression_attribute_values(":pk", s(session_pk(session_id)))
                .set_projection_expression(projection.map(str::to_string))
                .consistent_read(true)
                .set_exclusive_start_key(start.take())
                .send()
                .await
                .map_err(unavailable)?;
            items.extend(out.items.unwrap_or_default());
            match out.last_evaluated_key {
                Some(k) if !k.is_empty() => start = Some(k),
                _ => return Ok(items),
            }
        }
    }
}
