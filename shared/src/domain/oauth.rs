//! `GET /auth/oauth2/init` and `GET /auth/oauth2/callback`: sign-in with an OpenID provider.
//!
//! `init` opens an `sso` sign-in attempt holding the state (hashed), nonce and PKCE verifier, and
//! sends the browser to the provider. The callback finds that attempt by its state in the
//! caller's session, redeems the code, and then: a known identity signs its user in; a
//! provider-verified email that a user has verified links the identity and signs in; anything
//! else continues as an `sso` sign-up attempt (a code for an unverified email, then the profile
//! fields `REQUIRED_FIELDS` asks for), or creates the user at once when nothing is missing.

use subtle::ConstantTimeEq;

use super::attempts::{self, Opening};
use super::caller::Caller;
use super::codes::{self, CODE_TTL};
use super::delivery;
use super::error::{AuthError, FieldError};
use super::grant;
use super::identifier;
use super::limits::{ATTEMPT_TTL, Limit};
use super::model::{
    AttemptKind, Channel, Claim, CodeState, Identity, PendingCode, SigninAttempt, SigninMethod,
    SignupAttempt, SignupMethod, SsoRequest, Step, Timestamp,
};
use super::second_factor::challenge;
use super::{session, validation};
use crate::domain::Deps;
use crate::domain::ports::identity::{OidcError, ProviderClaims};
use crate::domain::ports::store::{AttemptCheck, AttemptKey};
use crate::ids::{new_id, prefix};

#[derive(Debug, Default)]
pub struct InitInput {
    pub provider: Option<String>,
    pub redirect_uri: Option<String>,
}

/// The provider's redirect. No `Debug`: it holds the authorization code.
#[derive(Default)]
pub struct CallbackInput {
    pub code: Option<String>,
    pub state: Option<String>,
    pub error: Option<String>,
}

/// A failed callback, and where the browser should be sent with its error code: nowhere when
/// the state matched nothing, since only a matched attempt vouches for a redirect URI.
#[derive(Debug)]
pub struct CallbackError {
    pub redirect_uri: Option<String>,
    pub error: AuthError,
}

/// Opens the `sso` attempt and returns the provider's authorization URL.
pub async fn init(deps: &Deps, caller: &mut Caller, input: InitInput) -> Result<String, AuthError> {
    let present = |v: Option<String>| v.filter(|s| !s.trim().is_empty());
    let mut errors = Vec::new();
    let provider = present(input.provider);
    let redirect_uri = present(input.redirect_uri);
    match &provider {
        None => errors.push(FieldError::required("provider")),
        Some(p) if !deps.identity.has_provider(p) => errors.push(FieldError::invalid(
            "provider",
            format!(
                "is not a configured provider; configured: {}",
                deps.identity.provider_names().join(", ")
            ),
        )),
        Some(_) => {}
    }
    match &redirect_uri {
        None => errors.push(FieldError::required("redirect_uri")),
        // Exact match only: a prefix or pattern would be an open redirect.
        Some(uri) if !deps.config.oidc.allowed_redirect_uris.contains(uri) => errors.push(
            FieldError::invalid("redirect_uri", "is not on ALLOWED_REDIRECT_URIS"),
        ),
        Some(_) => {}
    }
    let (Some(provider), Some(redirect_uri), true) = (provider, redirect_uri, errors.is_empty())
    else {
        return Err(AuthError::Invalid(errors));
    };

    let now = deps.clock.now();
    let authorization = deps
        .identity
        .authorize(&provider)
        .await
        .map_err(oidc_error)?;
    let attempt = SigninAttempt {
        id: new_id(prefix::SIGNIN_ATTEMPT),
        session_id: String::new(),
        method: SigninMethod::Sso,
        identifier: provider.clone(),
        user_id: None,
        destination: None,
        remaining_steps: Vec::new(),
        missing_fields: Vec::new(),
        sso: Some(SsoRequest {
            provider,
            state_hash: session::hash_secret(&authorization.state),
            nonce: authorization.nonce,
            pkce_verifier: authorization.pkce_verifier,
            redirect_uri,
        }),
        reset: None,
        reverifies: None,
        changes_contact: None,
        second_factor: None,
        passkey: None,
        codes: CodeState::default(),
        completed: false,
        created_at: now,
        expires_at: now + ATTEMPT_TTL,
    };
    let ip_limit = Limit::signins_per_ip(&caller.ip, deps.config.limits.signins_per_ip_per_hour);
    let opening = Opening::Signin(Box::new(attempt));
    attempts::open(deps, caller, opening, Some(&ip_limit), now).await?;
    Ok(authorization.url)
}

/// Finishes the sign-in; on success returns the redirect URI `init` was given.
pub async fn callback(
    deps: &Deps,
    caller: &mut Caller,
    input: CallbackInput,
) -> Result<String, CallbackError> {
    let unmatched = |error| CallbackError {
        redirect_uri: None,
        error,
    };
    let state = input
        .state
        .filter(|s| !s.is_empty())
        .ok_or_else(|| unmatched(AuthError::Invalid(vec![FieldError::required("state")])))?;
    let attempt = matching_attempt(caller, &state).cloned().ok_or_else(|| {
        unmatched(AuthError::invalid(
            "state",
            "does not match a sign-in started in this browser session",
        ))
    })?;
    let sso = attempt.sso.clone().expect("matched by its sso state");
    let failed = |error| CallbackError {
        redirect_uri: Some(sso.redirect_uri.clone()),
        error,
    };

    let now = deps.clock.now();
    if attempt.completed {
        return Err(failed(AuthError::AttemptCompleted));
    }
    if now >= attempt.expires_at {
        return Err(failed(AuthError::AttemptNotFound));
    }
    if let Some(e) = input.error {
        // Echo only an OAuth error code's own characters, never arbitrary text.
        let e: String = e
            .chars()
            .filter(|c| c.is_ascii_alphanumeric() || *c == '_')
            .take(64)
            .collect();
        return Err(failed(AuthError::OauthFailed(format!(
            "the provider answered {e}"
        ))));
    }
    let code = input
        .code
        .filter(|c| !c.is_empty())
        .ok_or_else(|| failed(AuthError::Invalid(vec![FieldError::required("code")])))?;
    let claims = deps
        .identity
        .redeem(&sso.provider, &code, &sso.pkce_verifier, &sso.nonce)
        .await
        .map_err(|e| failed(oidc_error(e)))?;
    let identity = Identity {
        provider: sso.provider.clone(),
        subject: claims.subject.clone(),
    };
    finish(deps, caller, &attempt, identity, claims, now)
        .await
        .map_err(failed)?;
    Ok(sso.redirect_uri)
}

/// The caller's `sso` attempt whose state hashes to the same value (compared in constant time).
fn matching_attempt<'a>(caller: &'a Caller, state: &str) -> Option<&'a SigninAttempt> {
    let hash = session::hash_secret(state);
    caller.session.as_ref()?.signin_attempts.iter().find(|a| {
        a.sso
            .as_ref()
            .is_some_and(|s| bool::from(s.state_hash.as_bytes().ct_eq(hash.as_bytes())))
    })
}

async fn finish(
    deps: &Deps,
    caller: &mut Caller,
    attempt: &SigninAttempt,
    identity: Identity,
    claims: ProviderClaims,
    now: Timestamp,
) -> Result<(), AuthError> {
    let store = deps.store.as_ref();
    let check = AttemptCheck::Sso {
        attempt_id: attempt.id.clone(),
    };
    let identity_claim = Claim::Identity(identity.clone());
    let email = claims
        .email
        .as_deref()
        .and_then(|e| identifier::normalize_email(e).ok());
    // Only a provider-verified email may match an account, and only one whose email is verified
    // (sign-ups claim verified addresses only; an import may claim an unverified one).
    let linkable = email
        .clone()
        .filter(|_| claims.email_verified)
        .map(Claim::Email);
    let (by_identity, by_email) = tokio::join!(store.claim_owner(&identity_claim), async {
        match &linkable {
            Some(claim) => store.claim_owner(claim).await,
            None => Ok(None),
        }
    });
    if let Some(user_id) = by_identity? {
        // The grant requires the user to have no second factor on (see `finish_signin`); one
        // that has refuses it (`SecondFactorStale`), and only then is the user read: the attempt
        // waits for the second factor.
        return match grant::sign_in(deps, caller, &user_id, Some(check), None, None, now).await {
            Err(AuthError::SecondFactorChanged) => {
                let user = store.get_user(&user_id).await?;
                match user
                    .as_ref()
                    .filter(|u| !u.blocked)
                    .and_then(challenge::for_user)
                {
                    Some(c) => challenge::await_after_sso(deps, caller, attempt, &user_id, c).await,
                    None => Err(AuthError::SecondFactorChanged),
                }
            }
            other => other,
        };
    }
    if let Some(user_id) = by_email? {
        let user = store.get_user(&user_id).await?;
        let verified = user.as_ref().is_some_and(|u| u.email_verified);
        if let Some(c) = user
            .as_ref()
            .filter(|_| verified)
            .and_then(challenge::for_user)
        {
            return challenge::await_after_sso(deps, caller, attempt, &user_id, c).await;
        }
        if verified {
            let link = Some(identity_claim);
            return grant::sign_in(deps, caller, &user_id, Some(check), None, link, now).await;
        }
    }
    new_user(deps, caller, attempt, identity, claims, email, now).await
}

/// A first sign-in: the user is created now if nothing is missing, else an `sso` sign-up
/// attempt takes over (a code for an unverified email first, then `complete_profile`).
async fn new_user(
    deps: &Deps,
    caller: &mut Caller,
    attempt: &SigninAttempt,
    identity: Identity,
    claims: ProviderClaims,
    email: Option<String>,
    now: Timestamp,
) -> Result<(), AuthError> {
    let first_name = claims
        .given_name
        .and_then(|v| validation::name("first_name", &v).ok());
    let last_name = claims
        .family_name
        .and_then(|v| validation::name("last_name", &v).ok());
    let image_url = claims
        .picture
        .and_then(|v| validation::url("image_url", &v).ok());
    let email_verified = email.is_some() && claims.email_verified;
    // The provider is the credential: a password is never required of an `sso` user.
    let missing_fields: Vec<String> = deps
        .config
        .required_fields
        .iter()
        .filter(|f| match f.as_str() {
            "email" => email.is_none(),
            "first_name" => first_name.is_none(),
            "last_name" => last_name.is_none(),
            "username" | "phone_number" => true,
            _ => false,
        })
        .cloned()
        .collect();
    let mut remaining_steps = Vec::new();
    if email.is_some() && !email_verified {
        remaining_steps.push(Step::VerifyEmailOtp);
    }
    if !missing_fields.is_empty() {
        remaining_steps.push(Step::CompleteProfile);
    }
    let mut signup = SignupAttempt {
        id: new_id(prefix::SIGNUP_ATTEMPT),
        session_id: attempt.session_id.clone(),
        method: SignupMethod::Sso,
        email,
        phone_number: None,
        username: None,
        first_name,
        last_name,
        password_hash: None,
        metadata: Default::default(),
        profile: Default::default(),
        remaining_steps,
        email_verified,
        phone_verified: false,
        missing_fields,
        image_url,
        identity: Some(identity),
        signup_agreements_accepted_at: None,
        codes: CodeState::default(),
        completed: false,
        user_id: None,
        created_at: now,
        expires_at: now + ATTEMPT_TTL,
    };

    if signup.remaining_steps.is_empty() {
        let check = AttemptCheck::Sso {
            attempt_id: attempt.id.clone(),
        };
        grant::finish_signup(deps, caller, signup, check, None, now).await?;
        mark_completed(caller, &attempt.id);
        return Ok(());
    }

    // An unverified email is proven by a code before anything else.
    let mut delivery = None;
    if signup.remaining_steps[0] == Step::VerifyEmailOtp {
        let to = signup
            .email
            .clone()
            .expect("the step is there for an email");
        let code = codes::generate();
        let hash = codes::hash(codes::key(&deps.config)?, &signup.id, Channel::Email, &code);
        signup.codes = CodeState {
            code: Some(PendingCode {
                channel: Channel::Email,
                hash: hash.clone(),
                expires_at: now + CODE_TTL,
                sent_at: Some(now),
                delivery_failed: false,
            }),
            sends: 1,
            wrong_codes: 0,
        };
        delivery = Some((to, code, hash));
    }
    let cap = delivery.as_ref().map(|(to, _, _)| {
        Limit::sends_per_destination(to, deps.config.limits.sends_per_destination_per_hour)
    });
    attempts::continue_as_signup(deps, caller, &attempt.id, &signup, cap.as_ref(), now).await?;
    let Some((to, code, hash)) = delivery else {
        return Ok(());
    };
    let key = AttemptKey {
        session_id: &signup.session_id,
        attempt_id: &signup.id,
        kind: AttemptKind::Signup,
    };
    delivery::code(deps, caller, key, Channel::Email, &to, &code, &hash).await
}

/// Mirrors the store's completion of the `sso` sign-in attempt in the caller's session.
fn mark_completed(caller: &mut Caller, attempt_id: &str) {
    if let Some(a) = caller
        .session
        .as_mut()
        .and_then(|s| s.signin_attempts.iter_mut().find(|a| a.id == attempt_id))
    {
        a.completed = true;
        a.remaining_steps.clear();
    }
}

fn oidc_error(e: OidcError) -> AuthError {
    match e {
        OidcError::UnknownProvider => {
            AuthError::invalid("provider", "is not a configured provider")
        }
        OidcError::Rejected(reason) => AuthError::OauthFailed(reason),
        OidcError::Unavailable(detail) => {
            tracing::warn!(error = %detail, "identity provider unavailable");
            AuthError::ProviderUnavailable(detail)
        }
    }
}
