//! The DynamoDB adapter: one table, `pk`/`sk` strings, TTL on `expires_at` (epoch seconds).
//!
//! | item | pk | sk |
//! |---|---|---|
//! | session | `SESSION#<id>` | `SESSION` |
//! | signin | `SESSION#<id>` | `SIGNIN#<id>` |
//! | sign-up attempt | `SESSION#<id>` | `SIGNUP_ATTEMPT#<id>` |
//! | sign-in attempt | `SESSION#<id>` | `SIGNIN_ATTEMPT#<id>` |
//! | user | `USER#<id>` | `USER` |
//! | uniqueness claim | `EMAIL#<addr>`, `PHONE#<e164>`, `USERNAME#<name>` | `CLAIM` |
//! | limit counter | `LIMIT#<key>#<window end>` | `LIMIT` |
//!
//! A session is one item collection, so one Query loads the whole envelope.

mod call_log;
mod expr;

use std::collections::HashMap;
use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::{DisplayErrorContext, SdkError};
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{
    AttributeValue, Delete, DeleteRequest, KeysAndAttributes, Put, ReturnValue, TransactWriteItem,
    Update, WriteRequest,
};
use serde::Serialize;
use serde::de::DeserializeOwned;

pub use call_log::{Call, CallLog, sequential_round_trips};
use expr::Expr;

use super::*;
use crate::domain::model::{SigninAttempt, Step};

type Item = HashMap<String, AttributeValue>;

pub struct DynamoStore {
    client: Client,
    table: String,
}

const SESSION_SK: &str = "SESSION";
const SIGNIN_PREFIX: &str = "SIGNIN#";
const SIGNUP_ATTEMPT_PREFIX: &str = "SIGNUP_ATTEMPT#";
const SIGNIN_ATTEMPT_PREFIX: &str = "SIGNIN_ATTEMPT#";
const USER_SK: &str = "USER";
const CLAIM_SK: &str = "CLAIM";
const LIMIT_SK: &str = "LIMIT";

fn session_pk(id: &str) -> String {
    format!("SESSION#{id}")
}

fn user_pk(id: &str) -> String {
    format!("USER#{id}")
}

fn attempt_sk(key: AttemptKey<'_>) -> String {
    match key.kind {
        AttemptKind::Signup => format!("{SIGNUP_ATTEMPT_PREFIX}{}", key.attempt_id),
        AttemptKind::Signin => format!("{SIGNIN_ATTEMPT_PREFIX}{}", key.attempt_id),
    }
}

fn s(v: impl Into<String>) -> AttributeValue {
    AttributeValue::S(v.into())
}

fn n(v: impl ToString) -> AttributeValue {
    AttributeValue::N(v.to_string())
}

fn key(pk: String, sk: impl Into<String>) -> Item {
    HashMap::from([("pk".to_string(), s(pk)), ("sk".to_string(), s(sk))])
}

fn unavailable<E: std::error::Error + 'static, R: std::fmt::Debug>(
    e: SdkError<E, R>,
) -> StoreError {
    StoreError::Unavailable(DisplayErrorContext(e).to_string())
}

/// A domain value as an item under `pk`/`sk`.
fn to_item<T: Serialize>(value: &T, pk: String, sk: impl Into<String>) -> Result<Item, StoreError> {
    let mut item: Item =
        serde_dynamo::aws_sdk_dynamodb_1::to_item(value).map_err(|e| StoreError::Corrupt {
            key: pk.clone(),
            reason: e.to_string(),
        })?;
    item.extend(key(pk, sk));
    Ok(item)
}

fn from_item<T: DeserializeOwned>(item: Item) -> Result<T, StoreError> {
    let name = item
        .get("pk")
        .and_then(|v| v.as_s().ok())
        .cloned()
        .unwrap_or_default();
    serde_dynamo::aws_sdk_dynamodb_1::from_item(item).map_err(|e| StoreError::Corrupt {
        key: name,
        reason: e.to_string(),
    })
}

fn to_value<T: Serialize>(value: &T) -> Result<AttributeValue, StoreError> {
    serde_dynamo::aws_sdk_dynamodb_1::to_attribute_value(value).map_err(|e| StoreError::Corrupt {
        key: String::new(),
        reason: e.to_string(),
    })
}

/// The reason codes of a cancelled transaction, one per item (`"None"` where it was fine).
enum TransactOutcome {
    Done,
    Cancelled(Reasons),
}

/// A cancelled transaction's reason codes, one per item in order.
struct Reasons(Vec<String>);

impl Reasons {
    /// Whether item `index`'s condition failed.
    fn failed(&self, index: usize) -> bool {
        self.0
            .get(index)
            .is_some_and(|r| r == "ConditionalCheckFailed")
    }
}

impl DynamoStore {
    /// A store on `table`; `endpoint`, when given, overrides `sdk`'s (`AWS_ENDPOINT_URL_DYNAMODB`).
    pub fn new(
        sdk: &aws_config::SdkConfig,
        endpoint: Option<&str>,
        table: String,
        call_log: Option<CallLog>,
    ) -> Self {
        let mut conf = aws_sdk_dynamodb::config::Builder::from(sdk);
        if let Some(url) = endpoint {
            conf = conf.endpoint_url(url);
        }
        if let Some(log) = call_log {
            conf = conf.interceptor(call_log::CallLogInterceptor(log));
        }
        Self {
            client: Client::from_conf(conf.build()),
            table,
        }
    }

    pub fn client(&self) -> &Client {
        &self.client
    }

    pub fn table(&self) -> &str {
        &self.table
    }

    /// Runs a transaction; conflicts with other transactions are retried a few times, since
    /// DynamoDB cancels rather than queues concurrent transactions on one item.
    async fn transact(&self, items: Vec<TransactWriteItem>) -> Result<TransactOutcome, StoreError> {
        let mut delay = Duration::from_millis(20);
        for _ in 0..4 {
            let result = self
                .client
                .transact_write_items()
                .set_transact_items(Some(items.clone()))
                .send()
                .await;
            let reasons = match result {
                Ok(_) => return Ok(TransactOutcome::Done),
                Err(SdkError::ServiceError(e)) => match e.err() {
                    TransactWriteItemsError::TransactionCanceledException(c) => c
                        .cancellation_reasons()
                        .iter()
                        .map(|r| r.code().unwrap_or("None").to_string())
                        .collect::<Vec<_>>(),
                    _ => return Err(unavailable(SdkError::ServiceError(e))),
                },
                Err(e) => return Err(unavailable(e)),
            };
            if !reasons.iter().any(|r| r == "TransactionConflict") {
                // Only a failed condition is an answer; throttling, validation or size errors are not.
                if reasons
                    .iter()
                    .all(|r| r == "None" || r == "ConditionalCheckFailed")
                {
                    return Ok(TransactOutcome::Cancelled(Reasons(reasons)));
                }
                return Err(StoreError::Unavailable(format!(
                    "transaction cancelled: {reasons:?}"
                )));
            }
            tokio::time::sleep(delay).await;
            delay *= 2;
        }
        Err(StoreError::Unavailable(
            "transaction kept conflicting".into(),
        ))
    }

    fn put(&self, item: Item, condition: Option<&str>) -> TransactWriteItem {
        let put = Put::builder()
            .table_name(&self.table)
            .set_item(Some(item))
            .set_condition_expression(condition.map(str::to_string))
            .build()
            .expect("table and item are set");
        TransactWriteItem::builder().put(put).build()
    }

    fn update(&self, key: Item, e: Expr) -> TransactWriteItem {
        let (update, condition, names, values) = e.into_parts();
        let update = Update::builder()
            .table_name(&self.table)
            .set_key(Some(key))
            .update_expression(update)
            .set_condition_expression(condition)
            .set_expression_attribute_names(Some(names))
            .set_expression_attribute_values((!values.is_empty()).then_some(values))
            .build()
            .expect("table, key and expression are set");
        TransactWriteItem::builder().update(update).build()
    }

    fn delete(&self, key: Item) -> TransactWriteItem {
        let delete = Delete::builder()
            .table_name(&self.table)
            .set_key(Some(key))
            .build()
            .expect("table and key are set");
        TransactWriteItem::builder().delete(delete).build()
    }

    /// A single conditional UpdateItem; `Ok(None)` when the condition failed.
    async fn update_item(
        &self,
        key: Item,
        e: Expr,
        return_new: bool,
    ) -> Result<Option<Item>, StoreError> {
        let (update, condition, names, values) = e.into_parts();
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key))
            .update_expression(update)
            .set_condition_expression(condition)
            .set_expression_attribute_names(Some(names))
            .set_expression_attribute_values((!values.is_empty()).then_some(values))
            .return_values(if return_new {
                ReturnValue::UpdatedNew
            } else {
                ReturnValue::None
            })
            .send()
            .await;
        match result {
            Ok(out) => Ok(Some(out.attributes.unwrap_or_default())),
            Err(SdkError::ServiceError(e)) if e.err().is_conditional_check_failed_exception() => {
                Ok(None)
            }
            Err(e) => Err(unavailable(e)),
        }
    }
}

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
        active_signin_id: Option<&str>,
        now: Timestamp,
        expires_at: Timestamp,
    ) -> Result<(), StoreError> {
        let session = Expr::new("SET #last = :now, #exp = :exp")
            .condition("attribute_exists(pk)")
            .name("#last", "last_active_at")
            .name("#exp", "expires_at")
            .value(":now", n(now.unix_timestamp()))
            .value(":exp", n(expires_at.unix_timestamp()));
        let touch_session =
            self.update_item(key(session_pk(session_id), SESSION_SK), session, false);
        match active_signin_id {
            None => {
                touch_session.await?;
            }
            Some(signin_id) => {
                let signin = Expr::new("SET #last = :now")
                    .condition("attribute_exists(pk)")
                    .name("#last", "last_active_at")
                    .value(":now", n(now.unix_timestamp()));
                let sk = format!("{SIGNIN_PREFIX}{signin_id}");
                let touch_signin = self.update_item(key(session_pk(session_id), sk), signin, false);
                let (a, b) = tokio::join!(touch_session, touch_signin);
                a?;
                b?;
            }
        }
        Ok(())
    }

    async fn switch_signin(
        &self,
        session_id: &str,
        signin_id: &str,
        now: Timestamp,
    ) -> Result<Written, StoreError> {
        let pk = session_pk(session_id);
        let items = vec![
            self.update(
                key(pk.clone(), format!("{SIGNIN_PREFIX}{signin_id}")),
                Expr::new("SET #last = :now")
                    .condition("attribute_exists(pk)")
                    .name("#last", "last_active_at")
                    .value(":now", n(now.unix_timestamp())),
            ),
            self.update(
                key(pk, SESSION_SK),
                Expr::new("SET #active = :active, #last = :now")
                    .condition("attribute_exists(pk)")
                    .name("#active", "active_signin_id")
                    .name("#last", "last_active_at")
                    .value(":active", s(signin_id))
                    .value(":now", n(now.unix_timestamp())),
            ),
        ];
        Ok(match self.transact(items).await? {
            TransactOutcome::Done => Written::Done,
            TransactOutcome::Cancelled(_) => Written::Conflict,
        })
    }

    async fn remove_signin(
        &self,
        session_id: &str,
        signin_id: &str,
        next_active: Option<&str>,
    ) -> Result<Written, StoreError> {
        let pk = session_pk(session_id);
        let session = match next_active {
            Some(next) => Expr::new("SET #active = :active").value(":active", s(next)),
            None => Expr::new("REMOVE #active"),
        }
        .condition("attribute_exists(pk)")
        .name("#active", "active_signin_id");
        let delete = Delete::builder()
            .table_name(&self.table)
            .set_key(Some(key(pk.clone(), format!("{SIGNIN_PREFIX}{signin_id}"))))
            .condition_expression("attribute_exists(pk)")
            .build()
            .expect("table and key are set");
        let items = vec![
            TransactWriteItem::builder().delete(delete).build(),
            self.update(key(pk, SESSION_SK), session),
        ];
        Ok(match self.transact(items).await? {
            TransactOutcome::Done => Written::Done,
            TransactOutcome::Cancelled(_) => Written::Conflict,
        })
    }

    async fn delete_session(&self, session_id: &str) -> Result<(), StoreError> {
        // The session item goes in the first round: once it is gone no cookie resolves, whatever
        // the clean-up of its signins and attempts manages (TTL removes any stragglers).
        let delete_session = self
            .client
            .delete_item()
            .table_name(&self.table)
            .set_key(Some(key(session_pk(session_id), SESSION_SK)))
            .send();
        let (deleted, keys) = tokio::join!(
            delete_session,
            self.query_collection(session_id, Some("pk, sk"))
        );
        deleted.map_err(unavailable)?;
        let keys: Vec<Item> = keys?
            .into_iter()
            .filter(|k| {
                k.get("sk").and_then(|v| v.as_s().ok()).map(String::as_str) != Some(SESSION_SK)
            })
            .collect();
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
}

#[async_trait]
impl UserStore for DynamoStore {
    async fn taken_claims(&self, claims: &[Claim]) -> Result<Vec<Claim>, StoreError> {
        if claims.is_empty() {
            return Ok(Vec::new());
        }
        let mut pending: Vec<Item> = claims.iter().map(|c| key(c.key(), CLAIM_SK)).collect();
        let mut found: Vec<String> = Vec::new();
        for _ in 0..5 {
            let keys = KeysAndAttributes::builder()
                .set_keys(Some(pending.clone()))
                .projection_expression("pk")
                .consistent_read(true)
                .build()
                .expect("keys are set");
            let out = self
                .client
                .batch_get_item()
                .request_items(&self.table, keys)
                .send()
                .await
                .map_err(unavailable)?;
            for item in out
                .responses
                .unwrap_or_default()
                .remove(&self.table)
                .unwrap_or_default()
            {
                if let Some(pk) = item.get("pk").and_then(|v| v.as_s().ok()) {
                    found.push(pk.clone());
                }
            }
            pending = out
                .unprocessed_keys
                .and_then(|mut u| u.remove(&self.table))
                .map(|k| k.keys)
                .unwrap_or_default();
            if pending.is_empty() {
                return Ok(claims
                    .iter()
                    .filter(|c| found.contains(&c.key()))
                    .cloned()
                    .collect());
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        Err(StoreError::Unavailable(
            "claims read kept being throttled".into(),
        ))
    }

    async fn get_user(&self, user_id: &str) -> Result<Option<User>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key(user_pk(user_id), USER_SK)))
            .consistent_read(true)
            .send()
            .await
            .map_err(unavailable)?;
        out.item.map(from_item).transpose()
    }

    async fn claim_owner(&self, claim: &Claim) -> Result<Option<String>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key(claim.key(), CLAIM_SK)))
            .projection_expression("user_id")
            .consistent_read(true)
            .send()
            .await
            .map_err(unavailable)?;
        Ok(out
            .item
            .and_then(|item| item.get("user_id").and_then(|v| v.as_s().ok()).cloned()))
    }

    async fn import_user(&self, user: &User, claims: &[Claim]) -> Result<Completion, StoreError> {
        let mut items: Vec<TransactWriteItem> =
            claims.iter().map(|c| self.claim_put(c, &user.id)).collect();
        items.push(self.put(
            to_item(user, user_pk(&user.id), USER_SK)?,
            Some("attribute_not_exists(pk)"),
        ));
        match self.transact(items).await? {
            TransactOutcome::Done => Ok(Completion::Done),
            TransactOutcome::Cancelled(reasons) => {
                let taken: Vec<Claim> = claims
                    .iter()
                    .enumerate()
                    .filter(|(i, _)| reasons.failed(*i))
                    .map(|(_, c)| c.clone())
                    .collect();
                Ok(if taken.is_empty() {
                    Completion::AttemptChanged
                } else {
                    Completion::Taken(taken)
                })
            }
        }
    }

    async fn replace_password_hash(
        &self,
        user_id: &str,
        expected: &str,
        new_hash: &str,
    ) -> Result<Written, StoreError> {
        let e = Expr::new("SET #hash = :new")
            .condition("#hash = :expected")
            .name("#hash", "password_hash")
            .value(":new", s(new_hash))
            .value(":expected", s(expected));
        Ok(
            match self
                .update_item(key(user_pk(user_id), USER_SK), e, false)
                .await?
            {
                Some(_) => Written::Done,
                None => Written::Conflict,
            },
        )
    }

    async fn record_failed_login(&self, user_id: &str) -> Result<(), StoreError> {
        let e = Expr::new("ADD #attempts :one")
            .condition("attribute_exists(pk)")
            .name("#attempts", "login_attempts")
            .value(":one", n(1));
        self.update_item(key(user_pk(user_id), USER_SK), e, false)
            .await
            .map(|_| ())
    }

    async fn update_profile(
        &self,
        user_id: &str,
        changes: &ProfileChanges,
    ) -> Result<Option<User>, StoreError> {
        let e = profile_expr(changes, None)?.condition("attribute_exists(pk)");
        let (update, condition, names, values) = e.into_parts();
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(user_pk(user_id), USER_SK)))
            .update_expression(update)
            .set_condition_expression(condition)
            .set_expression_attribute_names(Some(names))
            .set_expression_attribute_values(Some(values))
            .return_values(ReturnValue::AllNew)
            .send()
            .await;
        match result {
            Ok(out) => out.attributes.map(from_item).transpose(),
            Err(SdkError::ServiceError(e)) if e.err().is_conditional_check_failed_exception() => {
                Ok(None)
            }
            Err(e) => Err(unavailable(e)),
        }
    }

    async fn change_username(
        &self,
        user_id: &str,
        from: Option<&str>,
        to: &str,
        changes: &ProfileChanges,
    ) -> Result<UsernameChange, StoreError> {
        let new_claim = Claim::Username(to.to_string());
        let old_claim = from.map(|f| Claim::Username(f.to_string()).key());
        let mut items = vec![self.claim_put(&new_claim, user_id)];
        let new_claim = new_claim.key();

        let user_condition = match from {
            Some(_) => "attribute_exists(pk) AND #username = :from",
            None => {
                "attribute_exists(pk) AND (attribute_not_exists(#username) OR attribute_type(#username, :null))"
            }
        };
        let mut user = profile_expr(changes, Some(to))?.condition(user_condition);
        user = match from {
            Some(f) => user.value(":from", s(f)),
            None => user.value(":null", s("NULL")),
        };
        items.push(self.update(key(user_pk(user_id), USER_SK), user));

        if let Some(old) = old_claim.filter(|old| *old != new_claim) {
            let delete = Delete::builder()
                .table_name(&self.table)
                .set_key(Some(key(old, CLAIM_SK)))
                .condition_expression("#owner = :me")
                .expression_attribute_names("#owner", "user_id")
                .expression_attribute_values(":me", s(user_id))
                .build()
                .expect("table and key are set");
            items.push(TransactWriteItem::builder().delete(delete).build());
        }

        Ok(match self.transact(items).await? {
            TransactOutcome::Done => UsernameChange::Done,
            TransactOutcome::Cancelled(reasons) => {
                if reasons.failed(0) {
                    UsernameChange::Taken
                } else {
                    UsernameChange::Stale
                }
            }
        })
    }
}

/// `SET` for every profile change (and the username when given), with `updated_at`.
fn profile_expr(changes: &ProfileChanges, username: Option<&str>) -> Result<Expr, StoreError> {
    let mut sets = vec!["#updated = :updated".to_string()];
    let mut e = Expr::new("")
        .name("#updated", "updated_at")
        .value(":updated", n(changes.updated_at.unix_timestamp()));
    let mut set = |field: &str, value: AttributeValue| {
        sets.push(format!("#{field} = :{field}"));
        e = std::mem::replace(&mut e, Expr::new(""))
            .name(&format!("#{field}"), field)
            .value(&format!(":{field}"), value);
    };
    if let Some(v) = &changes.first_name {
        set("first_name", to_value(v)?);
    }
    if let Some(v) = &changes.last_name {
        set("last_name", to_value(v)?);
    }
    if let Some(v) = &changes.image_url {
        set("image_url", to_value(v)?);
    }
    if let Some(v) = &changes.metadata {
        set("metadata", to_value(v)?);
    }
    if let Some(v) = &changes.profile {
        set("profile", to_value(v)?);
    }
    if let Some(u) = username {
        set("username", s(u));
    }
    Ok(e.replace_update(&format!("SET {}", sets.join(", "))))
}

#[async_trait]
impl AttemptStore for DynamoStore {
    async fn open_attempt(
        &self,
        session: &SessionWrite,
        attempt: NewAttempt<'_>,
        charge: Option<Charge<'_>>,
    ) -> Result<Opened, StoreError> {
        let attempt_item = match attempt {
            NewAttempt::Signup(a) => to_item(
                a,
                session_pk(&a.session_id),
                format!("{SIGNUP_ATTEMPT_PREFIX}{}", a.id),
            )?,
            NewAttempt::Signin(a) => to_item(
                a,
                session_pk(&a.session_id),
                format!("{SIGNIN_ATTEMPT_PREFIX}{}", a.id),
            )?,
        };
        let session_write = match session {
            SessionWrite::Create(s) => self.put(
                to_item(s, session_pk(&s.id), SESSION_SK)?,
                Some("attribute_not_exists(pk)"),
            ),
            SessionWrite::Touch {
                session_id,
                last_active_at,
                expires_at,
            } => self.update(
                key(session_pk(session_id), SESSION_SK),
                Expr::new("SET #last = :now, #exp = :exp")
                    .condition("attribute_exists(pk)")
                    .name("#last", "last_active_at")
                    .name("#exp", "expires_at")
                    .value(":now", n(last_active_at.unix_timestamp()))
                    .value(":exp", n(expires_at.unix_timestamp())),
            ),
        };
        let items = vec![
            session_write,
            self.put(attempt_item, Some("attribute_not_exists(pk)")),
        ];
        self.transact_charged(items, charge).await
    }

    async fn record_send(
        &self,
        key_: AttemptKey<'_>,
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
        let k = key(session_pk(key_.session_id), attempt_sk(key_));
        Ok(match self.update_item(k, e, false).await? {
            Some(_) => Written::Done,
            None => Written::Conflict,
        })
    }

    async fn record_send_failed(
        &self,
        key_: AttemptKey<'_>,
        code_hash: &str,
    ) -> Result<(), StoreError> {
        let e = Expr::new("REMOVE #code.#sent")
            .condition("#code.#hash = :hash")
            .name("#code", "code")
            .name("#sent", "sent_at")
            .name("#hash", "hash")
            .value(":hash", s(code_hash));
        let k = key(session_pk(key_.session_id), attempt_sk(key_));
        // A failed condition means a newer code replaced this one: nothing to undo.
        self.update_item(k, e, false).await.map(|_| ())
    }

    async fn record_wrong_code(
        &self,
        key_: AttemptKey<'_>,
        max: u32,
    ) -> Result<WrongCode, StoreError> {
        let e = Expr::new("SET #wrong = #wrong + :one")
            .condition("attribute_exists(pk) AND #wrong < :max AND #completed = :false")
            .name("#wrong", "wrong_codes")
            .name("#completed", "completed")
            .value(":one", n(1))
            .value(":max", n(max))
            .value(":false", AttributeValue::Bool(false));
        let k = key(session_pk(key_.session_id), attempt_sk(key_));
        match self.update_item(k, e, true).await? {
            None => Ok(WrongCode::Refused),
            Some(new) => {
                let count = new
                    .get("wrong_codes")
                    .and_then(|v| v.as_n().ok())
                    .and_then(|v| v.parse().ok())
                    .ok_or_else(|| StoreError::Corrupt {
                        key: key_.attempt_id.to_string(),
                        reason: "wrong_codes is not a number".into(),
                    })?;
                Ok(WrongCode::Counted(count))
            }
        }
    }

    async fn complete_signup(&self, c: &SignupCompletion) -> Result<Completion, StoreError> {
        let session_id = c.attempt_session_id.as_str();
        // An OAuth callback creating its user directly completes the `sso` sign-in attempt.
        let kind = c.check.signup_kind();
        // A signup code used in another browser completes an attempt in the starter's session,
        // which must not learn who completed it.
        let same_session = c.attempt_session_id == c.grant.session_id();
        let user = (kind == AttemptKind::Signup && same_session).then_some(&c.user);
        let mut items = vec![self.completion_update(session_id, kind, &c.check, user)];
        // A new user's id owns nothing yet, so each claim is taken only if nobody holds it.
        for claim in &c.claims {
            items.push(self.claim_put(claim, &c.user.id));
        }
        items.push(self.put(
            to_item(&c.user, user_pk(&c.user.id), USER_SK)?,
            Some("attribute_not_exists(pk)"),
        ));
        items.extend(self.grant_items(&c.grant)?);
        let session_index = items.len() - 1;

        match self.transact(items).await? {
            TransactOutcome::Done => Ok(Completion::Done),
            TransactOutcome::Cancelled(reasons) => {
                let failed = |i: usize| reasons.failed(i);
                if failed(0) {
                    return Ok(Completion::AttemptChanged);
                }
                if failed(session_index) {
                    return Ok(Completion::SessionChanged);
                }
                let taken: Vec<Claim> = c
                    .claims
                    .iter()
                    .enumerate()
                    .filter(|(i, _)| failed(i + 1))
                    .map(|(_, claim)| claim.clone())
                    .collect();
                if taken.is_empty() {
                    Ok(Completion::AttemptChanged)
                } else {
                    Ok(Completion::Taken(taken))
                }
            }
        }
    }

    async fn advance_signup(&self, a: &SignupAdvance) -> Result<Written, StoreError> {
        let k = key(
            session_pk(&a.session_id),
            format!("{SIGNUP_ATTEMPT_PREFIX}{}", a.proof.attempt_id),
        );
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

    async fn revise_signup(
        &self,
        revised: &SignupAttempt,
        charge: Option<Charge<'_>>,
    ) -> Result<Opened, StoreError> {
        let item = to_item(
            revised,
            session_pk(&revised.session_id),
            format!("{SIGNUP_ATTEMPT_PREFIX}{}", revised.id),
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
        let items = vec![TransactWriteItem::builder().put(put).build()];
        self.transact_charged(items, charge).await
    }

    async fn continue_as_signup(
        &self,
        sso_attempt_id: &str,
        signup: &SignupAttempt,
        charge: Option<Charge<'_>>,
    ) -> Result<Opened, StoreError> {
        let check = AttemptCheck::Sso {
            attempt_id: sso_attempt_id.to_string(),
        };
        let items = vec![
            self.completion_update(&signup.session_id, AttemptKind::Signin, &check, None),
            self.put(
                to_item(
                    signup,
                    session_pk(&signup.session_id),
                    format!("{SIGNUP_ATTEMPT_PREFIX}{}", signup.id),
                )?,
                Some("attribute_not_exists(pk)"),
            ),
        ];
        self.transact_charged(items, charge).await
    }

    async fn complete_signin(&self, c: &SigninCompletion) -> Result<Completion, StoreError> {
        let session_id = c.grant.session_id();
        let mut items = Vec::new();
        if let Some(check) = &c.check {
            items.push(self.completion_update(session_id, AttemptKind::Signin, check, None));
        }
        let user_index = items.len();
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
        if c.verified.is_some() {
            user = user.value(":true", AttributeValue::Bool(true));
        }
        items.push(self.update(key(user_pk(&c.user_id), USER_SK), user));
        let claim_index = items.len();
        let claims: Vec<&Claim> = c
            .verified
            .iter()
            .map(|(_, claim)| claim)
            .chain(c.link.iter())
            .collect();
        for claim in &claims {
            items.push(self.claim_put(claim, &c.user_id));
        }
        items.extend(self.grant_items(&c.grant)?);
        let session_index = items.len() - 1;

        match self.transact(items).await? {
            TransactOutcome::Done => Ok(Completion::Done),
            TransactOutcome::Cancelled(reasons) => {
                let failed = |i: usize| reasons.failed(i);
                let taken: Vec<Claim> = claims
                    .iter()
                    .enumerate()
                    .filter(|(i, _)| failed(claim_index + i))
                    .map(|(_, claim)| (*claim).clone())
                    .collect();
                Ok(if failed(user_index) {
                    Completion::UserBlocked
                } else if c.check.is_some() && failed(0) {
                    Completion::AttemptChanged
                } else if !taken.is_empty() {
                    Completion::Taken(taken)
                } else if failed(session_index) {
                    Completion::SessionChanged
                } else {
                    Completion::AttemptChanged
                })
            }
        }
    }
}

impl DynamoStore {
    /// Runs `items` with the charge (if any) appended as the last item: `Limited` when the charge
    /// was refused, `Conflict` when another condition failed.
    async fn transact_charged(
        &self,
        mut items: Vec<TransactWriteItem>,
        charge: Option<Charge<'_>>,
    ) -> Result<Opened, StoreError> {
        let charge_index = items.len();
        if let Some(c) = charge {
            let (pk, e) = charge_expr(c.key, c.window_ends, c.max);
            items.push(self.update(key(pk, LIMIT_SK), e));
        }
        Ok(match self.transact(items).await? {
            TransactOutcome::Done => Opened::Done,
            TransactOutcome::Cancelled(reasons) => match charge {
                Some(c) if reasons.failed(charge_index) => Opened::Limited {
                    window_ends: c.window_ends,
                },
                _ => Opened::Conflict,
            },
        })
    }

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

    /// A claim for `user_id`: new, or already theirs.
    fn claim_put(&self, claim: &Claim, user_id: &str) -> TransactWriteItem {
        let mut item = key(claim.key(), CLAIM_SK);
        item.insert("user_id".into(), s(user_id));
        let put = Put::builder()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(pk) OR #owner = :me")
            .expression_attribute_names("#owner", "user_id")
            .expression_attribute_values(":me", s(user_id))
            .build()
            .expect("table and item are set");
        TransactWriteItem::builder().put(put).build()
    }

    /// Completes an attempt, provided the check still holds: it still holds the proven code, is
    /// open and not killed; or it waits at the given step. For a sign-up it also records the user
    /// and which contacts are now verified.
    fn completion_update(
        &self,
        session_id: &str,
        kind: AttemptKind,
        check: &AttemptCheck,
        signup_user: Option<&User>,
    ) -> TransactWriteItem {
        let sk = attempt_sk(AttemptKey {
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
        self.update(key(session_pk(session_id), sk), e.append(" REMOVE #code"))
    }

    /// The new signin, the signins it replaces, and the session's creation or rotation.
    fn grant_items(&self, grant: &Grant) -> Result<Vec<TransactWriteItem>, StoreError> {
        let pk = session_pk(grant.session_id());
        let mut items = vec![self.put(
            to_item(
                &grant.signin,
                pk.clone(),
                format!("{SIGNIN_PREFIX}{}", grant.signin.id),
            )?,
            Some("attribute_not_exists(pk)"),
        )];
        for removed in &grant.removed_signin_ids {
            items.push(self.delete(key(pk.clone(), format!("{SIGNIN_PREFIX}{removed}"))));
        }
        items.push(match &grant.session {
            GrantSession::Create(session) => self.put(
                to_item(session, pk.clone(), SESSION_SK)?,
                Some("attribute_not_exists(pk)"),
            ),
            GrantSession::Rotate(rotation) => {
                self.update(key(pk, SESSION_SK), rotation_expr(rotation))
            }
        });
        Ok(items)
    }
}

/// The counter item of a fixed window and the update that counts one event, refused when full.
fn charge_expr(limit_key: &str, window_ends: Timestamp, max: u32) -> (String, Expr) {
    let pk = format!("LIMIT#{limit_key}#{}", window_ends.unix_timestamp());
    let e = Expr::new("SET #exp = :exp ADD #count :one")
        .condition("attribute_not_exists(#count) OR #count < :max")
        .name("#exp", "expires_at")
        .name("#count", "count")
        .value(":exp", n(window_ends.unix_timestamp()))
        .value(":one", n(1))
        .value(":max", n(max));
    (pk, e)
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
        AttemptCheck::Sso { .. } => e.condition("#completed = :false"),
    }
}

fn rotation_expr(r: &SessionRotation) -> Expr {
    Expr::new("SET #secret = :secret, #active = :active, #last = :now, #exp = :exp")
        .condition("attribute_exists(pk) AND #secret = :proven")
        .value(":proven", s(&r.proven_secret_hash))
        .name("#secret", "secret_hash")
        .name("#active", "active_signin_id")
        .name("#last", "last_active_at")
        .name("#exp", "expires_at")
        .value(":secret", s(&r.secret_hash))
        .value(":active", s(&r.active_signin_id))
        .value(":now", n(r.last_active_at.unix_timestamp()))
        .value(":exp", n(r.expires_at.unix_timestamp()))
}

#[async_trait]
impl LimitStore for DynamoStore {
    async fn hit(
        &self,
        limit_key: &str,
        window_ends: Timestamp,
        max: u32,
    ) -> Result<Hit, StoreError> {
        let pk = format!("LIMIT#{limit_key}#{}", window_ends.unix_timestamp());
        let e = Expr::new("SET #exp = :exp ADD #count :one")
            .condition("attribute_not_exists(#count) OR #count < :max")
            .name("#exp", "expires_at")
            .name("#count", "count")
            .value(":exp", n(window_ends.unix_timestamp()))
            .value(":one", n(1))
            .value(":max", n(max));
        Ok(match self.update_item(key(pk, LIMIT_SK), e, false).await? {
            Some(_) => Hit::Allowed,
            None => Hit::Limited { window_ends },
        })
    }

    async fn release(&self, limit_key: &str, window_ends: Timestamp) -> Result<(), StoreError> {
        let pk = format!("LIMIT#{limit_key}#{}", window_ends.unix_timestamp());
        let e = Expr::new("ADD #count :minus_one")
            .condition("#count > :zero")
            .name("#count", "count")
            .value(":minus_one", n(-1))
            .value(":zero", n(0));
        self.update_item(key(pk, LIMIT_SK), e, false)
            .await
            .map(|_| ())
    }
}

/// Creates the table as `template.yaml` declares it (keys, on-demand billing, TTL on
/// `expires_at`) unless it exists. For the dev server and tests against emulators; in AWS the
/// table belongs to the SAM stack.
pub async fn ensure_table(client: &Client, table: &str) -> Result<(), StoreError> {
    use aws_sdk_dynamodb::types::{
        AttributeDefinition, BillingMode, KeySchemaElement, KeyType, ScalarAttributeType,
        TimeToLiveSpecification,
    };
    let attribute = |name: &str| {
        AttributeDefinition::builder()
            .attribute_name(name)
            .attribute_type(ScalarAttributeType::S)
            .build()
            .expect("name and type are set")
    };
    let key_element = |name: &str, kind: KeyType| {
        KeySchemaElement::builder()
            .attribute_name(name)
            .key_type(kind)
            .build()
            .expect("name and type are set")
    };
    let created = client
        .create_table()
        .table_name(table)
        .billing_mode(BillingMode::PayPerRequest)
        .attribute_definitions(attribute("pk"))
        .attribute_definitions(attribute("sk"))
        .key_schema(key_element("pk", KeyType::Hash))
        .key_schema(key_element("sk", KeyType::Range))
        .send()
        .await;
    match created {
        Ok(_) => {}
        Err(SdkError::ServiceError(e)) if e.err().is_resource_in_use_exception() => return Ok(()),
        Err(e) => return Err(unavailable(e)),
    }
    client
        .update_time_to_live()
        .table_name(table)
        .time_to_live_specification(
            TimeToLiveSpecification::builder()
                .attribute_name("expires_at")
                .enabled(true)
                .build()
                .expect("name and flag are set"),
        )
        .send()
        .await
        .map_err(unavailable)?;
    Ok(())
}
