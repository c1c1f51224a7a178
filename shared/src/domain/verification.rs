//! `POST /auth/prepare-verification` and `POST /auth/attempt-verification` for sign-up and sign-in
//! attempts: (re)send a code and check one. Every limit is enforced by a conditional write, so
//! parallel requests get no more sends or guesses than sequential ones.

use super::caller::Caller;
use super::codes::{self, CODE_TTL};
use super::contact_move;
use super::delivery;
use super::error::AuthError;
use super::factors::SecondFactorStrategy;
use super::grant;
use super::identifier;
use super::limits::{
    Account, AccountBudget, Limit, RESEND_COOLDOWN, SENDS_PER_ATTEMPT, WRONG_CODES_PER_ATTEMPT,
    seconds_until,
};
use super::messages;
use super::model::{
    AttemptKind, Channel, Claim, CodeAttempt, PendingCode, SigninAttempt, SignupAttempt, Step,
    Timestamp, User,
};
use super::reverify;
use super::second_factor::challenge;
use super::sms;
use crate::domain::Deps;
use crate::domain::ports::store::{
    AttemptCheck, AttemptKey, CodeProof, CodeSend, SigninAdvance, SignupAdvance, UserHolds,
    Written, WrongCode,
};

/// The attempt a request names: seed 004's `signup_attempt_id` or `signin_attempt_id`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Target {
    Signup(String),
    Signin(String),
}

impl Target {
    fn kind(&self) -> AttemptKind {
        match self {
            Target::Signup(_) => AttemptKind::Signup,
            Target::Signin(_) => AttemptKind::Signin,
        }
    }

    fn id(&self) -> &str {
        match self {
            Target::Signup(id) | Target::Signin(id) => id,
        }
    }
}

/// A copy of the named attempt, as the caller's session holds it.
enum Found {
    Signup(Box<SignupAttempt>),
    Signin(Box<SigninAttempt>),
}

impl Found {
    fn attempt(&self) -> &dyn CodeAttempt {
        match self {
            Found::Signup(a) => a.as_ref(),
            Found::Signin(a) => a.as_ref(),
        }
    }
}

fn find(caller: &Caller, target: &Target) -> Result<Found, AuthError> {
    let state = caller.session.as_ref().ok_or(AuthError::AttemptNotFound)?;
    let found = match target {
        Target::Signup(id) => state
            .signup_attempt(id)
            .cloned()
            .map(|a| Found::Signup(Box::new(a))),
        Target::Signin(id) => state
            .signin_attempt(id)
            .cloned()
            .map(|a| Found::Signin(Box::new(a))),
    };
    found.ok_or(AuthError::AttemptNotFound)
}

fn key(attempt: &dyn CodeAttempt) -> AttemptKey<'_> {
    AttemptKey {
        session_id: attempt.session_id(),
        attempt_id: attempt.id(),
        kind: attempt.kind(),
    }
}

/// Sends a fresh code for the attempt's current step; the new code replaces the old one.
pub async fn prepare(
    deps: &Deps,
    caller: &mut Caller,
    target: &Target,
    channel: Option<Channel>,
) -> Result<(), AuthError> {
    let now = deps.clock.now();
    let found = find(caller, target)?;
    let attempt = found.attempt();
    ensure_open(attempt, now)?;
    // At `verify_second_factor` the SMS factor's code goes to the verified phone it was read with.
    let second_factor_phone = match &found {
        Found::Signin(a) if a.current_step() == Some(Step::VerifySecondFactor) => {
            let phone = a.second_factor.as_ref().and_then(|c| c.phone.clone());
            if phone.is_none() || channel != Some(Channel::Sms) {
                return Err(AuthError::invalid(
                    "strategy",
                    "phone_otp is the only strategy sent a code here, and only when it is one of the attempt's second_factor_strategies",
                ));
            }
            phone
        }
        _ => None,
    };
    let step_channel = attempt
        .current_step()
        .and_then(|s| s.channel())
        .or(second_factor_phone.as_ref().map(|_| Channel::Sms))
        .ok_or_else(|| AuthError::invalid("strategy", "the current step takes no code"))?;
    if channel.is_some_and(|c| c != step_channel) {
        return Err(AuthError::invalid(
            "strategy",
            "does not match the attempt's current step",
        ));
    }
    if attempt.codes().sends >= SENDS_PER_ATTEMPT {
        return Err(AuthError::RateLimited {
            retry_after_secs: seconds_until(now, attempt.expires_at()),
        });
    }
    if let Some(sent_at) = attempt.codes().code.as_ref().and_then(|c| c.sent_at)
        && now < sent_at + RESEND_COOLDOWN
    {
        return Err(AuthError::RateLimited {
            retry_after_secs: seconds_until(now, sent_at + RESEND_COOLDOWN),
        });
    }
    // A sign-in attempt for an unknown identifier has nowhere to send; it answers alike, and its
    // resends are capped per identifier like a known one's.
    let mut to =
        second_factor_phone.or_else(|| attempt.destination(step_channel).map(str::to_string));
    let max = deps.config.limits.sends_per_destination_per_hour;
    let cap = match &found {
        Found::Signin(a) => {
            let claim = identifier::parse(&a.identifier)
                .map_err(|_| AuthError::internal("a stored identifier no longer parses"))?;
            Limit::codes_per_identifier(&claim.key(), max)
        }
        Found::Signup(_) => Limit::sends_per_destination(to.as_deref().unwrap_or_default(), max),
    };
    cap.check(deps.store.as_ref(), now).await?;
    if step_channel == Channel::Sms
        && let Some(phone) = to.clone()
    {
        match &found {
            Found::Signup(_) => sms::admit(deps, &phone, "phone_number", now).await?,
            // A sign-in's resend answers alike whether or not it sends (see signin.rs).
            Found::Signin(_) => {
                if !sms::quietly(deps, &phone, now).await? {
                    to = None;
                }
            }
        }
    } else if step_channel == Channel::Sms
        && let Found::Signin(a) = &found
    {
        // Nowhere to send (an unknown number): the same store calls as a known one.
        sms::as_if_quietly(deps, &a.identifier, now).await?;
    }

    // A signup link is resent as a new link, valid as long as the first.
    let link = attempt.current_step() == Some(Step::VerifyEmailLink);
    let (code, ttl) = if link {
        (codes::generate_link_secret(), deps.config.signup_link_ttl)
    } else {
        (codes::generate(), CODE_TTL)
    };
    let pending = PendingCode {
        channel: step_channel,
        hash: codes::hash(codes::key(&deps.config)?, attempt.id(), step_channel, &code),
        expires_at: now + ttl,
        sent_at: Some(now),
        delivery_failed: false,
    };
    let send = CodeSend {
        code: pending.clone(),
        expected_sends: attempt.codes().sends,
    };
    if deps.store.record_send(key(attempt), &send).await? == Written::Conflict {
        // Another send (or a completion) got there first.
        return Err(AuthError::RateLimited {
            retry_after_secs: RESEND_COOLDOWN.whole_seconds() as u64,
        });
    }
    if let Some(mirror) = caller
        .session
        .as_mut()
        .and_then(|s| s.attempt_mut(target.kind(), target.id()))
    {
        mirror.codes_mut().apply_send(&send);
    }
    match to {
        Some(to) if link => {
            let message =
                messages::signup_link_for(deps, &to, attempt.session_id(), attempt.id(), &code)?;
            delivery::message(deps, caller, key(attempt), message, &pending.hash).await
        }
        // A sign-in's resend goes the way its first code went (the queue, known or not).
        to if matches!(found, Found::Signin(_)) => {
            delivery::signin_code(
                deps,
                caller,
                key(attempt),
                step_channel,
                to.as_deref(),
                &code,
                &pending.hash,
            )
            .await
        }
        Some(to) => {
            delivery::code(
                deps,
                caller,
                key(attempt),
                step_channel,
                &to,
                &code,
                &pending.hash,
            )
            .await
        }
        None => Ok(()),
    }
}

/// Checks a code. The right code on the last step completes the attempt.
pub async fn attempt(
    deps: &Deps,
    caller: &mut Caller,
    target: &Target,
    submitted: &str,
) -> Result<(), AuthError> {
    attempt_with(deps, caller, target, submitted, None).await
}

/// `attempt` with the body's `strategy`, which the step `verify_second_factor` needs (and no
/// other step takes).
pub async fn attempt_with(
    deps: &Deps,
    caller: &mut Caller,
    target: &Target,
    submitted: &str,
    strategy: Option<SecondFactorStrategy>,
) -> Result<(), AuthError> {
    if let Found::Signin(a) = find(caller, target)?
        && a.current_step() == Some(Step::VerifySecondFactor)
    {
        let now = deps.clock.now();
        ensure_open(a.as_ref(), now)?;
        return challenge::verify(deps, caller, &a, strategy, submitted, now).await;
    }
    if strategy.is_some() {
        return Err(AuthError::invalid(
            "strategy",
            "only the step verify_second_factor takes a strategy",
        ));
    }
    check(deps, caller, target, submitted).await.map(|_| ())
}

/// `attempt`, answering the user a contact change changed (`None` for every other attempt).
pub(crate) async fn check(
    deps: &Deps,
    caller: &mut Caller,
    target: &Target,
    submitted: &str,
) -> Result<Option<User>, AuthError> {
    let now = deps.clock.now();
    let found = find(caller, target)?;
    let attempt = found.attempt();
    ensure_open(attempt, now)?;
    let pending = attempt.codes().code.clone().ok_or(AuthError::InvalidCode)?;
    if now >= pending.expires_at {
        return Err(AuthError::CodeExpired);
    }
    let right = codes::matches(
        codes::key(&deps.config)?,
        attempt.id(),
        pending.channel,
        submitted,
        &pending.hash,
    );
    // A sign-in attempt of an unknown identifier holds a code nobody was sent: never right.
    let known = !matches!(&found, Found::Signin(a) if a.user_id.is_none());
    let budget = match &found {
        Found::Signin(a) => Some(budget_of(deps, a)?),
        Found::Signup(_) => None,
    };
    if !(right && known) {
        // Counted on the attempt and charged to the account's budget in one round trip.
        let charged = async {
            match &budget {
                Some(b) => b.reserve(deps, now).await,
                None => Ok(()),
            }
        };
        let (counted, charged) = tokio::join!(
            deps.store
                .record_wrong_code(key(attempt), WRONG_CODES_PER_ATTEMPT),
            charged
        );
        let counted = counted?;
        charged?;
        return match counted {
            WrongCode::Counted(n) if n >= WRONG_CODES_PER_ATTEMPT => Err(dead(attempt, now)),
            WrongCode::Counted(_) => Err(AuthError::InvalidCode),
            WrongCode::Refused => Err(explain_conflict(deps, caller, target, now).await),
        };
    }
    // A right sign-in or reset code still waits while the account's budget is full: its
    // completing write checks the counter (no extra round trip). A signed-in user's own codes
    // (reverification, contact changes) are not sign-ins and are not held.
    let gate = match &found {
        Found::Signin(a) if a.reverifies.is_none() && a.changes_contact.is_none() => {
            budget.as_ref().map(|b| b.gate(now))
        }
        _ => None,
    };
    let proof = CodeProof {
        attempt_id: attempt.id().to_string(),
        code_hash: pending.hash.clone(),
        max_wrong_codes: WRONG_CODES_PER_ATTEMPT,
        gate: gate.clone(),
    };
    if let Found::Signin(a) = &found
        && a.changes_contact.is_some()
    {
        let a = a.clone();
        return match contact_move::complete(deps, caller, &a, AttemptCheck::Code(proof), now).await
        {
            Err(AuthError::AttemptCompleted) => {
                Err(explain_conflict(deps, caller, target, now).await)
            }
            other => other.map(Some),
        };
    }
    let result = match found {
        Found::Signup(a) if a.remaining_steps.len() > 1 => {
            advance_signup(deps, caller, *a, proof, pending.channel).await
        }
        Found::Signup(a) => {
            grant::finish_signup(
                deps,
                caller,
                *a,
                AttemptCheck::Code(proof),
                Some(pending.channel),
                now,
            )
            .await
        }
        Found::Signin(a) if a.reverifies.is_some() => {
            let signin_id = a.reverifies.clone().expect("checked by the guard");
            reverify::complete(deps, caller, &a, &signin_id, AttemptCheck::Code(proof), now).await
        }
        Found::Signin(a) if a.remaining_steps.len() > 1 => {
            advance_signin(deps, caller, *a, proof).await
        }
        Found::Signin(a) => {
            let user_id = a.user_id.clone().expect("checked above");
            let destination = a
                .destination
                .as_deref()
                .expect("a known attempt has a destination");
            // The code proved this contact: it is marked verified and claimed for the user.
            let proven = (
                pending.channel,
                Claim::for_contact(pending.channel, destination),
            );
            grant::sign_in(
                deps,
                caller,
                &user_id,
                Some(AttemptCheck::Code(proof)),
                Some(proven),
                None,
                now,
            )
            .await
        }
    };
    match result {
        Err(AuthError::AttemptCompleted) => {
            if let Some(g) = &gate
                && deps.store.count(&g.key, g.window_ends).await? >= g.max
            {
                return Err(AuthError::RateLimited {
                    retry_after_secs: seconds_until(now, g.window_ends),
                });
            }
            Err(explain_conflict(deps, caller, target, now).await)
        }
        other => other.map(|()| None),
    }
}

/// The guessing budget a sign-in attempt's codes are charged to: its user's, or for an unknown
/// identifier that identifier's own (so both answer alike).
fn budget_of(deps: &Deps, attempt: &SigninAttempt) -> Result<AccountBudget, AuthError> {
    Ok(match &attempt.user_id {
        Some(user_id) => AccountBudget::new(deps, Account::User(user_id)),
        None => {
            let claim = identifier::parse(&attempt.identifier)
                .map_err(|_| AuthError::internal("a stored identifier no longer parses"))?;
            AccountBudget::new(deps, Account::Unknown(&claim.key()))
        }
    })
}

/// A right code with steps still to go (profile completion): the contact is proven and the
/// attempt moves on; no user yet.
async fn advance_signup(
    deps: &Deps,
    caller: &mut Caller,
    attempt: SignupAttempt,
    proof: CodeProof,
    channel: Channel,
) -> Result<(), AuthError> {
    let mut advanced = attempt;
    advanced.advance(channel);
    let advance = SignupAdvance {
        session_id: advanced.session_id.clone(),
        proof,
        remaining_steps: advanced.remaining_steps.clone(),
        email_verified: advanced.email_verified,
        phone_verified: advanced.phone_verified,
    };
    if deps.store.advance_signup(&advance).await? == Written::Conflict {
        return Err(AuthError::AttemptCompleted);
    }
    let mirror = caller
        .session
        .as_mut()
        .and_then(|s| s.signup_attempts.iter_mut().find(|a| a.id == advanced.id));
    if let Some(a) = mirror {
        a.advance(channel);
    }
    Ok(())
}

/// A right code on a password reset: the attempt waits at `reset_password`; nobody is signed in
/// yet, and the code is spent.
async fn advance_signin(
    deps: &Deps,
    caller: &mut Caller,
    attempt: SigninAttempt,
    proof: CodeProof,
) -> Result<(), AuthError> {
    // A reset's code applies only while its user is as the reset found it: a factor turned on
    // since (when it met none) is not skipped, and an end of every signin voids it.
    let holds = advanced_holds(&attempt);
    let mut advanced = attempt;
    advanced.advance();
    let advance = SigninAdvance {
        session_id: advanced.session_id.clone(),
        check: AttemptCheck::Code(proof),
        remaining_steps: advanced.remaining_steps.clone(),
        second_factor: None,
        user: holds.clone(),
    };
    if deps.store.advance_signin(&advance).await? == Written::Conflict {
        // A factor turned on, or every signin ended, since the reset was opened: it starts again
        // (as its new password would be refused).
        if let Some(h) = &holds
            && let Some(u) = deps.store.get_user(&h.user_id).await?
            && !u.blocked
            && !u.holds(h)
        {
            return Err(AuthError::SecondFactorChanged);
        }
        return Err(AuthError::AttemptCompleted);
    }
    let mirror = caller
        .session
        .as_mut()
        .and_then(|s| s.signin_attempts.iter_mut().find(|a| a.id == advanced.id));
    if let Some(a) = mirror {
        a.advance();
    }
    Ok(())
}

fn ensure_open(attempt: &dyn CodeAttempt, now: Timestamp) -> Result<(), AuthError> {
    if attempt.completed() {
        return Err(AuthError::AttemptCompleted);
    }
    if attempt.codes().wrong_codes >= WRONG_CODES_PER_ATTEMPT {
        return Err(dead(attempt, now));
    }
    Ok(())
}

/// An attempt killed by wrong codes stays dead until it expires; a new attempt starts afresh.
fn dead(attempt: &dyn CodeAttempt, now: Timestamp) -> AuthError {
    AuthError::TooManyAttempts {
        retry_after_secs: seconds_until(now, attempt.expires_at()),
    }
}

/// A conditional write lost a race: read the attempt again to tell the caller why.
async fn explain_conflict(
    deps: &Deps,
    caller: &Caller,
    target: &Target,
    now: Timestamp,
) -> AuthError {
    let Some(session_id) = caller.session.as_ref().map(|s| s.session.id.clone()) else {
        return AuthError::AttemptNotFound;
    };
    // The fresh state only explains the failure; the envelope keeps what the cookie proved, since
    // a winning request may have rotated the secret this caller holds.
    let mut fresh = match deps.store.load_session(&session_id).await {
        Ok(Some(state)) => state,
        Ok(None) => return AuthError::AttemptNotFound,
        Err(e) => return e.into(),
    };
    match fresh.attempt_mut(target.kind(), target.id()) {
        None => AuthError::AttemptNotFound,
        Some(a) => ensure_open(a, now).err().unwrap_or(AuthError::InvalidCode),
    }
}

/// What must still hold of a reset's user for its code to apply (`None`: not a reset).
fn advanced_holds(attempt: &SigninAttempt) -> Option<UserHolds> {
    let reset = attempt.reset.as_ref()?;
    let user_id = attempt.user_id.as_deref()?;
    Some(UserHolds::of_reset(
        reset,
        user_id,
        attempt.method.code_channel(),
        attempt.destination.as_deref(),
    ))
}
