//! Granting a signin, shared by sign-up and sign-in completion: the new signin, which of the
//! session's signins it replaces (one per user, at most five), and the session's new secret, or a
//! new session for a caller who had none. The store applies it atomically; `apply` then mirrors it
//! in the caller.

use super::caller::{Caller, IssuedCredential};
use super::error::AuthError;

use super::model::{
    AttemptKind, Channel, Claim, Session, SessionState, Signin, SignupAttempt, Timestamp, User,
};
use super::session;
use crate::domain::Deps;
use crate::domain::ports::store::{
    AttemptCheck, Completion, Grant, GrantSession, SessionRotation, SigninCompletion, SigninsRead,
    SignupCompletion,
};
use crate::ids::{new_id, prefix};

pub struct Prepared {
    pub grant: Grant,
    /// The new session secret, handed out only once the store accepted the grant.
    pub secret: String,
    /// The session as it will be once the grant is applied.
    pub next: SessionState,
}

/// Prepares the grant of a signin of `user_id` to the caller (whose address and user agent the
/// signin records; it counts as verified now).
pub fn prepare(deps: &Deps, caller: &Caller, user_id: &str, now: Timestamp) -> Prepared {
    let state = caller.session.as_ref();
    let (secret, secret_hash) = session::new_secret();
    let mut next = match state {
        Some(s) => s.clone(),
        // Replaced whole by the grant's created session below.
        None => SessionState::new(Session {
            id: new_id(prefix::SESSION),
            secret_hash: secret_hash.clone(),
            active_signin_id: None,
            created_at: now,
            last_active_at: now,
            expires_at: now,
            attempts: Vec::new(),
        }),
    };
    let signin = Signin {
        id: new_id(prefix::SIGNIN),
        session_id: next.session.id.clone(),
        user_id: user_id.to_string(),
        created_at: now,
        expires_at: now + deps.config.session_max,
        last_active_at: now,
        verified_at: now,
        user_agent: caller.user_agent.clone(),
        ip: Some(caller.ip.clone()),
    };
    // The new signin ends last of all the session's signins: its end is the session's.
    let expires_at = session::idle_deadline(deps, now, signin.expires_at);
    let session = match state {
        None => GrantSession::Create(Session {
            secret_hash,
            active_signin_id: Some(signin.id.clone()),
            expires_at,
            ..next.session.clone()
        }),
        Some(proven) => GrantSession::Rotate(SessionRotation {
            session_id: next.session.id.clone(),
            proven_secret_hash: proven.session.secret_hash.clone(),
            secret_hash,
            active_signin_id: signin.id.clone(),
            last_active_at: now,
            expires_at,
        }),
    };
    let grant = Grant {
        removed_signins: next.replaced_by_signin_of(user_id),
        signin,
        session,
    };
    next.apply_grant(&grant);
    Prepared {
        grant,
        secret,
        next,
    }
}

/// The caller after the store applied the grant: the new session, and its new credential.
pub fn apply(deps: &Deps, caller: &mut Caller, prepared: Prepared) {
    caller.issued = Some(IssuedCredential {
        session_id: prepared.next.session.id.clone(),
        secret: prepared.secret,
        expires_at: session::absolute_end(deps, &prepared.next),
    });
    caller.clear_credential = false;
    caller.session = Some(prepared.next);
}

/// Signs `user_id` in: completes the attempt the check names (if any), resets the user's failed
/// logins, marks a proven contact verified and claims it, links a provider identity, adds the
/// signin, makes it active and replaces the session secret, in one transaction.
pub(crate) async fn sign_in(
    deps: &Deps,
    caller: &mut Caller,
    user_id: &str,
    check: Option<AttemptCheck>,
    verified: Option<(Channel, Claim)>,
    link: Option<Claim>,
    now: Timestamp,
) -> Result<(), AuthError> {
    let extras = Extras {
        check,
        verified,
        link,
        ..Extras::default()
    };
    complete_signin(deps, caller, user_id, extras, now).await
}

/// A password sign-in: granted only while the user's hash is still `verified_hash` (the one the
/// typed password matched), so a reset or password change that commits meanwhile wins and this
/// answers as a wrong password would. `rehash` (an imported hash's argon2id rewrite) is set in
/// the same transaction, under the same condition.
pub(crate) async fn sign_in_with_password(
    deps: &Deps,
    caller: &mut Caller,
    user_id: &str,
    verified_hash: String,
    rehash: Option<String>,
    now: Timestamp,
) -> Result<(), AuthError> {
    let extras = Extras {
        password_hash: rehash,
        verified_hash: Some(verified_hash),
        ..Extras::default()
    };
    complete_signin(deps, caller, user_id, extras, now).await
}

/// The grant after `verify_second_factor` (`check` spends the factor): a proven contact is
/// marked verified and claimed as without a second factor, and a password sign-in is granted
/// only while its hash is still `verified_hash`.
pub(crate) async fn sign_in_after_second_factor(
    deps: &Deps,
    caller: &mut Caller,
    user_id: &str,
    check: AttemptCheck,
    verified: Option<(Channel, Claim)>,
    verified_hash: Option<String>,
    now: Timestamp,
) -> Result<(), AuthError> {
    let extras = Extras {
        check: Some(check),
        verified,
        verified_hash,
        ..Extras::default()
    };
    complete_signin(deps, caller, user_id, extras, now).await
}

/// A password reset's last step: the new password hash is set on the user, and every signin of
/// theirs as read (`end_signins`) ends, in the same transaction that completes the attempt (at
/// `reset_password`) and signs them in.
pub(crate) async fn sign_in_with_new_password(
    deps: &Deps,
    caller: &mut Caller,
    user_id: &str,
    check: AttemptCheck,
    password_hash: String,
    end_signins: SigninsRead,
    now: Timestamp,
) -> Result<(), AuthError> {
    let extras = Extras {
        check: Some(check),
        password_hash: Some(password_hash),
        end_signins: Some(end_signins),
        ..Extras::default()
    };
    complete_signin(deps, caller, user_id, extras, now).await
}

/// What a sign-in writes besides the grant (see `SigninCompletion`).
#[derive(Default)]
struct Extras {
    check: Option<AttemptCheck>,
    verified: Option<(Channel, Claim)>,
    link: Option<Claim>,
    password_hash: Option<String>,
    verified_hash: Option<String>,
    end_signins: Option<SigninsRead>,
}

async fn complete_signin(
    deps: &Deps,
    caller: &mut Caller,
    user_id: &str,
    extras: Extras,
    now: Timestamp,
) -> Result<(), AuthError> {
    let mut prepared = prepare(deps, caller, user_id, now);
    let check = extras.check;
    let completion = SigninCompletion {
        user_id: user_id.to_string(),
        check: check.clone(),
        verified: extras.verified,
        link: extras.link,
        password_hash: extras.password_hash,
        verified_hash: extras.verified_hash,
        end_signins: extras.end_signins,
        grant: prepared.grant.clone(),
    };
    match deps.store.finish_signin(&completion).await? {
        Completion::Done => {}
        Completion::UserBlocked => return Err(AuthError::UserBlocked),
        // The password the caller typed stopped being the user's while it was checked.
        Completion::CredentialsChanged => return Err(AuthError::InvalidCredentials),
        // A factor was turned on since the attempt met none (or, at `verify_second_factor`, the
        // user was signed out everywhere since): the caller signs in again.
        Completion::SecondFactorStale => return Err(AuthError::SecondFactorChanged),
        Completion::AttemptChanged if check.is_some() => return Err(AuthError::AttemptCompleted),
        // The proven contact (or the identity) was claimed by another account first: it is theirs.
        Completion::Taken(claims) => {
            return Err(AuthError::taken(&claims));
        }
        // Another sign-in replaced the secret this caller proved (or the session ended).
        Completion::SessionChanged | Completion::AttemptChanged => {
            return Err(AuthError::Unauthenticated);
        }
    }
    if let Some(c) = &check {
        prepared
            .next
            .complete_attempt(AttemptKind::Signin, c.attempt_id(), None);
    }
    apply(deps, caller, prepared);
    Ok(())
}

/// The last step of a sign-up (a right code, or profile completion): the user, its claims, the
/// signin and the rotated session, in one transaction. `attempt` carries every field the user
/// will have; `proven` is the channel the final code proved, if it was a code.
pub(crate) async fn finish_signup(
    deps: &Deps,
    caller: &mut Caller,
    attempt: SignupAttempt,
    check: AttemptCheck,
    proven: Option<Channel>,
    now: Timestamp,
) -> Result<(), AuthError> {
    let user = User {
        id: new_id(prefix::USER),
        first_name: attempt.first_name.clone(),
        last_name: attempt.last_name.clone(),
        username: attempt.username.clone(),
        email: attempt.email.clone(),
        phone_number: attempt.phone_number.clone(),
        image_url: attempt.image_url.clone(),
        two_factor_enabled: false,
        email_verified: attempt.email_verified || proven == Some(Channel::Email),
        phone_verified: attempt.phone_verified || proven == Some(Channel::Sms),
        metadata: attempt.metadata.clone(),
        profile: attempt.profile.clone(),
        password_hash: attempt.password_hash.clone(),
        blocked: false,
        login_attempts: 0,
        signup_agreements_accepted_at: attempt.signup_agreements_accepted_at,
        identities: Vec::new(),
        second_factor: Default::default(),
        created_at: now,
        updated_at: now,
    };
    let mut prepared = prepare(deps, caller, &user.id, now);
    let completion = SignupCompletion {
        attempt_session_id: attempt.session_id.clone(),
        check,
        claims: Claim::for_user(&user)
            .into_iter()
            .chain(attempt.identity.clone().map(Claim::Identity))
            .collect(),
        user,
        grant: prepared.grant.clone(),
    };
    match deps.store.finish_signup(&completion).await? {
        Completion::Done => {}
        Completion::Taken(claims) => {
            return Err(AuthError::taken(&claims));
        }
        Completion::AttemptChanged => return Err(AuthError::AttemptCompleted),
        // Another sign-in replaced the secret this caller proved: their credential is dead.
        Completion::SessionChanged => return Err(AuthError::Unauthenticated),
        Completion::UserBlocked
        | Completion::CredentialsChanged
        | Completion::SecondFactorStale => {
            return Err(AuthError::internal(
                "a new user cannot be blocked or re-keyed",
            ));
        }
    }
    let check = &completion.check;
    prepared.next.complete_attempt(
        check.signup_kind(),
        check.attempt_id(),
        completion.user_for_attempt(),
    );
    apply(deps, caller, prepared);
    Ok(())
}
