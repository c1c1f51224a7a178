//! Handing a code (or a signup link) to the notifier. A failed send keeps the attempt and lifts
//! its resend cooldown, so the client can resend at once; the answer is `502 DELIVERY_FAILED`.
//!
//! Sign-in codes (`signin_code`) must not tell a known identifier from an unknown one, so with a
//! code queue (`Deps::queue`, AWS) every sign-in code request enqueues exactly one item, a real
//! message or a decoy, and answers without waiting for SES or SNS; the `send-codes` function
//! delivers it (`deliver`) and records a failure on the attempt, where the session shows it.
//! Without a queue (the dev server), the message goes to the notifier in the request, as before.

use super::Deps;
use super::caller::Caller;
use super::error::AuthError;
use super::messages;
use super::model::Channel;
use super::ports::store::AttemptKey;
use super::ports::{DeliveryError, Message, Outgoing, SentCode};

/// Hands a code to the notifier. On failure the attempt survives and its cooldown is lifted,
/// so the client can resend at once; the answer is `502 DELIVERY_FAILED`.
pub(crate) async fn code(
    deps: &Deps,
    caller: &mut Caller,
    key: AttemptKey<'_>,
    channel: Channel,
    to: &str,
    code: &str,
    code_hash: &str,
) -> Result<(), AuthError> {
    let text = messages::verification_code(channel, to, code);
    message(deps, caller, key, text, code_hash).await
}

/// A sign-in attempt's code, to `to` (`None`: an unknown identifier, or nowhere to send). With a
/// code queue, one item is enqueued either way (a decoy for `None`) and the answer does not wait
/// for delivery; without one, a code is sent now and `None` sends nothing.
pub(crate) async fn signin_code(
    deps: &Deps,
    caller: &mut Caller,
    key: AttemptKey<'_>,
    channel: Channel,
    to: Option<&str>,
    code: &str,
    code_hash: &str,
) -> Result<(), AuthError> {
    let Some(queue) = &deps.queue else {
        return match to {
            Some(to) => self::code(deps, caller, key, channel, to, code, code_hash).await,
            None => Ok(()),
        };
    };
    let item = Outgoing {
        message: to.map(|to| messages::verification_code(channel, to, code)),
        attempt: Some(SentCode {
            session_id: key.session_id.to_string(),
            attempt_id: key.attempt_id.to_string(),
            kind: key.kind,
            code_hash: code_hash.to_string(),
        }),
    };
    queue.enqueue(&item).await.map_err(|e| {
        tracing::warn!(attempt_id = key.attempt_id, error = %e, "code not enqueued");
        AuthError::DeliveryFailed("the code could not be queued for delivery".into())
    })
}

/// A message no answer may wait for (a notice to an account that may not exist): through the
/// queue when there is one, a decoy when there is nobody to tell; else straight to the notifier.
/// Best effort: a failure is logged, never answered.
pub(crate) async fn uniformly(deps: &Deps, message: Option<Message>, user_id: &str) {
    let result = match &deps.queue {
        Some(queue) => queue
            .enqueue(&Outgoing {
                message,
                attempt: None,
            })
            .await
            .map_err(|e| e.to_string()),
        None => match message {
            Some(m) => deps.notifier.send(&m).await.map_err(|e| e.to_string()),
            None => Ok(()),
        },
    };
    if let Err(e) = result {
        tracing::warn!(user_id, error = %e, "notice not delivered");
    }
}

/// The `send-codes` function's work for one item: a decoy is dropped; a message is handed to the
/// notifier, and a failure is recorded on its attempt (the session then shows it, and a resend is
/// not held back by the cooldown) and returned, so the queue retries it and, after the last
/// try, moves it to the dead-letter queue.
pub async fn deliver(deps: &Deps, item: &Outgoing) -> Result<(), DeliveryError> {
    let Some(message) = &item.message else {
        return Ok(());
    };
    let Err(e) = deps.notifier.send(message).await else {
        return Ok(());
    };
    if let Some(sent) = &item.attempt {
        let key = AttemptKey {
            session_id: &sent.session_id,
            attempt_id: &sent.attempt_id,
            kind: sent.kind,
        };
        tracing::warn!(attempt_id = %sent.attempt_id, error = %e, "queued code delivery failed");
        if let Err(store) = deps.store.record_send_failed(key, &sent.code_hash).await {
            tracing::error!(attempt_id = %sent.attempt_id, error = %store, "recording the failed delivery failed");
        }
    }
    Err(e)
}

/// Like `code`, for a message already written (a signup link).
pub(crate) async fn message(
    deps: &Deps,
    caller: &mut Caller,
    key: AttemptKey<'_>,
    message: Message,
    code_hash: &str,
) -> Result<(), AuthError> {
    match deps.notifier.send(&message).await {
        Ok(()) => Ok(()),
        Err(e) => {
            tracing::warn!(attempt_id = key.attempt_id, error = %e, "code delivery failed");
            deps.store.record_send_failed(key, code_hash).await?;
            let mirror = caller
                .session
                .as_mut()
                .and_then(|s| s.attempt_mut(key.kind, key.attempt_id))
                .and_then(|a| a.codes_mut().code.as_mut());
            if let Some(code) = mirror {
                code.sent_at = None;
                code.delivery_failed = true;
            }
            Err(AuthError::DeliveryFailed(e.to_string()))
        }
    }
}
