//! Handing a code (or a signup link) to the notifier. A failed send keeps the attempt and lifts
//! its resend cooldown, so the client can resend at once; the answer is `502 DELIVERY_FAILED`.

use super::Deps;
use super::caller::Caller;
use super::error::AuthError;
use super::messages;
use super::model::Channel;
use super::ports::Message;
use super::ports::store::AttemptKey;

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
            }
            Err(AuthError::DeliveryFailed(e.to_string()))
        }
    }
}
