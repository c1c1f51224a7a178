//! `POST /auth/prepare-verification` and `POST /auth/attempt-verification`: (re)send a code and
//! check one. Every limit is enforced by a conditional write, so parallel requests get no more
//! sends or guesses than sequential ones.

use super::caller::{Caller, IssuedCookie};
use super::codes::{self, CODE_TTL};
use super::error::AuthError;
use super::limits::{
    Limit, RESEND_COOLDOWN, SENDS_PER_ATTEMPT, SIGNINS_PER_SESSION, WRONG_CODES_PER_ATTEMPT,
    seconds_until,
};
use super::messages;
use super::model::{Channel, Claim, PendingCode, Signin, SignupAttempt, Timestamp, User};
use super::session;
use super::signup::taken_error;
use crate::app::App;
use crate::ids::{new_id, prefix};
use crate::store::{
    AttemptKey, AttemptKind, CodeSend, Completion, SessionRotation, SignupCompletion, Written,
    WrongCode,
};

/// The attempt a request names: seed 004's `signup_attempt_id` or `signin_attempt_id`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Target {
    Signup(String),
    Signin(String),
}

/// Sends a fresh code for the attempt's current step; the new code replaces the old one.
pub async fn prepare(
    app: &App,
    caller: &mut Caller,
    target: &Target,
    channel: Option<Channel>,
) -> Result<(), AuthError> {
    let now = app.clock.now();
    let attempt = signup_attempt(caller, target)?.clone();
    ensure_open(&attempt, now)?;
    let step_channel = attempt
        .current_step()
        .and_then(|s| s.channel())
        .ok_or_else(|| AuthError::invalid("strategy", "the current step takes no code"))?;
    if channel.is_some_and(|c| c != step_channel) {
        return Err(AuthError::invalid(
            "strategy",
            "does not match the attempt's current step",
        ));
    }
    if attempt.codes.sends >= SENDS_PER_ATTEMPT {
        return Err(AuthError::RateLimited {
            retry_after_secs: seconds_until(now, attempt.expires_at),
        });
    }
    if let Some(sent_at) = attempt.codes.code.as_ref().and_then(|c| c.sent_at)
        && now < sent_at + RESEND_COOLDOWN
    {
        return Err(AuthError::RateLimited {
            retry_after_secs: seconds_until(now, sent_at + RESEND_COOLDOWN),
        });
    }
    let to = attempt
        .destination(step_channel)
        .ok_or_else(|| AuthError::internal("code step without a destination"))?
        .to_string();
    Limit::sends_per_destination(&to, app.config.limits.sends_per_destination_per_hour)
        .check(app.store.as_ref(), now)
        .await?;

    let code = codes::generate();
    let pending = PendingCode {
        channel: step_channel,
        hash: codes::hash(&app.config.code_hash_key, &attempt.id, step_channel, &code),
        expires_at: now + CODE_TTL,
        sent_at: Some(now),
    };
    let key = key(&attempt);
    let send = CodeSend {
        code: pending.clone(),
        expected_sends: attempt.codes.sends,
    };
    if app.store.record_send(key, &send).await? == Written::Conflict {
        // Another send (or a completion) got there first.
        return Err(AuthError::RateLimited {
            retry_after_secs: RESEND_COOLDOWN.whole_seconds() as u64,
        });
    }
    if let Some(view) = signup_attempt_mut(caller, &attempt.id) {
        view.codes.code = Some(pending.clone());
        view.codes.sends += 1;
    }
    deliver(app, caller, key, step_channel, &to, &code, &pending.hash).await
}

/// Checks a code. The right code on the last step completes the attempt.
pub async fn attempt(
    app: &App,
    caller: &mut Caller,
    target: &Target,
    submitted: &str,
) -> Result<(), AuthError> {
    let now = app.clock.now();
    let attempt = signup_attempt(caller, target)?.clone();
    ensure_open(&attempt, now)?;
    let pending = attempt.codes.code.clone().ok_or(AuthError::InvalidCode)?;
    if now >= pending.expires_at {
        return Err(AuthError::CodeExpired);
    }
    let key = key(&attempt);
    let key_bytes = &app.config.code_hash_key;
    if !codes::matches(
        key_bytes,
        &attempt.id,
        pending.channel,
        submitted,
        &pending.hash,
    ) {
        return match app
            .store
            .record_wrong_code(key, WRONG_CODES_PER_ATTEMPT)
            .await?
        {
            WrongCode::Counted(n) if n >= WRONG_CODES_PER_ATTEMPT => Err(dead(&attempt, now)),
            WrongCode::Counted(_) => Err(AuthError::InvalidCode),
            WrongCode::Refused => Err(explain_conflict(app, caller, target, now).await),
        };
    }
    complete_signup(app, caller, attempt, pending, now).await
}

/// The right code for the last step of a sign-up: the user, its claims, the signin and the
/// rotated session, in one transaction.
async fn complete_signup(
    app: &App,
    caller: &mut Caller,
    attempt: SignupAttempt,
    pending: PendingCode,
    now: Timestamp,
) -> Result<(), AuthError> {
    let state = caller
        .session
        .as_ref()
        .expect("attempt was found in the session");
    let user = User {
        id: new_id(prefix::USER),
        first_name: attempt.first_name.clone(),
        last_name: attempt.last_name.clone(),
        username: attempt.username.clone(),
        email: attempt.email.clone(),
        phone_number: attempt.phone_number.clone(),
        image_url: None,
        two_factor_enabled: false,
        email_verified: attempt.email_verified || pending.channel == Channel::Email,
        phone_verified: attempt.phone_verified || pending.channel == Channel::Sms,
        metadata: attempt.metadata.clone(),
        profile: attempt.profile.clone(),
        password_hash: attempt.password_hash.clone(),
        blocked: false,
        login_attempts: 0,
        created_at: now,
        updated_at: now,
    };
    let signin = Signin {
        id: new_id(prefix::SIGNIN),
        session_id: state.session.id.clone(),
        user_id: user.id.clone(),
        created_at: now,
        expires_at: now + app.config.session_max,
        last_active_at: now,
    };
    // Keep the session within its limit by dropping the least recently active signin.
    let evicted_signin_id = (state.signins.len() >= SIGNINS_PER_SESSION)
        .then(|| state.signins.iter().min_by_key(|s| s.last_active_at))
        .flatten()
        .map(|s| s.id.clone());

    let mut next = state.clone();
    next.signins
        .retain(|s| Some(&s.id) != evicted_signin_id.as_ref());
    next.signins.push(signin.clone());
    let (secret, secret_hash) = session::new_secret();
    let rotation = SessionRotation {
        session_id: state.session.id.clone(),
        secret_hash,
        active_signin_id: signin.id.clone(),
        last_active_at: now,
        expires_at: session::deadline(app, &next, now),
    };
    let completion = SignupCompletion {
        attempt_id: attempt.id.clone(),
        code_hash: pending.hash.clone(),
        max_wrong_codes: WRONG_CODES_PER_ATTEMPT,
        claims: Claim::for_user(&user),
        user,
        signin,
        evicted_signin_id,
        rotation: rotation.clone(),
    };

    match app
        .store
        .complete_signup(&state.session.id, &completion)
        .await?
    {
        Completion::Done => {}
        Completion::Taken(claims) => {
            return Err(AuthError::Taken(claims.iter().map(taken_error).collect()));
        }
        Completion::AttemptChanged => {
            let target = Target::Signup(attempt.id.clone());
            return Err(explain_conflict(app, caller, &target, now).await);
        }
    }

    if let Some(done) = next.signup_attempts.iter_mut().find(|a| a.id == attempt.id) {
        done.completed = true;
        done.remaining_steps.clear();
        done.codes.code = None;
        done.user_id = Some(completion.user.id.clone());
        done.email_verified = completion.user.email_verified;
        done.phone_verified = completion.user.phone_verified;
    }
    next.session.secret_hash = rotation.secret_hash;
    next.session.active_signin_id = Some(rotation.active_signin_id);
    next.session.last_active_at = now;
    next.session.expires_at = rotation.expires_at;
    caller.issued = Some(IssuedCookie {
        session_id: next.session.id.clone(),
        secret,
        expires_at: session::absolute_end(app, &next),
    });
    caller.session = Some(next);
    Ok(())
}

/// Hands a code to the notifier. On failure the attempt survives and its cooldown is lifted,
/// so the client can resend at once; the answer is `502 DELIVERY_FAILED`.
pub(crate) async fn deliver(
    app: &App,
    caller: &mut Caller,
    key: AttemptKey<'_>,
    channel: Channel,
    to: &str,
    code: &str,
    code_hash: &str,
) -> Result<(), AuthError> {
    let message = messages::verification_code(channel, to, code);
    match app.notifier.send(&message).await {
        Ok(()) => Ok(()),
        Err(e) => {
            tracing::warn!(attempt_id = key.attempt_id, error = %e, "code delivery failed");
            app.store.record_send_failed(key, code_hash).await?;
            if let Some(code) =
                signup_attempt_mut(caller, key.attempt_id).and_then(|a| a.codes.code.as_mut())
            {
                code.sent_at = None;
            }
            Err(AuthError::DeliveryFailed(e.to_string()))
        }
    }
}

fn signup_attempt<'a>(caller: &'a Caller, target: &Target) -> Result<&'a SignupAttempt, AuthError> {
    // Sign-in attempts arrive with the sign-in endpoint; until then no session holds one.
    let Target::Signup(id) = target else {
        return Err(AuthError::AttemptNotFound);
    };
    caller
        .session
        .as_ref()
        .and_then(|s| s.signup_attempts.iter().find(|a| &a.id == id))
        .ok_or(AuthError::AttemptNotFound)
}

fn signup_attempt_mut<'a>(caller: &'a mut Caller, id: &str) -> Option<&'a mut SignupAttempt> {
    caller
        .session
        .as_mut()?
        .signup_attempts
        .iter_mut()
        .find(|a| a.id == id)
}

fn key(attempt: &SignupAttempt) -> AttemptKey<'_> {
    AttemptKey {
        session_id: &attempt.session_id,
        attempt_id: &attempt.id,
        kind: AttemptKind::Signup,
    }
}

fn ensure_open(attempt: &SignupAttempt, now: Timestamp) -> Result<(), AuthError> {
    if attempt.completed {
        return Err(AuthError::AttemptCompleted);
    }
    if attempt.codes.wrong_codes >= WRONG_CODES_PER_ATTEMPT {
        return Err(dead(attempt, now));
    }
    Ok(())
}

/// An attempt killed by wrong codes stays dead until it expires; a new attempt starts afresh.
fn dead(attempt: &SignupAttempt, now: Timestamp) -> AuthError {
    AuthError::TooManyAttempts {
        retry_after_secs: seconds_until(now, attempt.expires_at),
    }
}

/// A conditional write lost a race: read the attempt again to tell the caller why.
async fn explain_conflict(
    app: &App,
    caller: &Caller,
    target: &Target,
    now: Timestamp,
) -> AuthError {
    let Some(session_id) = caller.session.as_ref().map(|s| s.session.id.clone()) else {
        return AuthError::AttemptNotFound;
    };
    let fresh = match app.store.load_session(&session_id).await {
        Ok(Some(state)) => state,
        Ok(None) => return AuthError::AttemptNotFound,
        Err(e) => return e.into(),
    };
    let Target::Signup(id) = target else {
        return AuthError::AttemptNotFound;
    };
    // The fresh state only explains the failure; the envelope keeps what the cookie proved, since a
    // winning request may have rotated the secret this caller holds.
    match fresh.signup_attempts.iter().find(|a| &a.id == id) {
        None => AuthError::AttemptNotFound,
        Some(a) => ensure_open(a, now).err().unwrap_or(AuthError::InvalidCode),
    }
}
