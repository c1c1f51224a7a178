//! A user's signins across browsers and devices (`GET /me/sessions`, revoking one or all the
//! others), and ending them all, for whichever operation must (a password reset, account
//! deletion). The store keeps an index from the user to each signin (see
//! `SessionStore::signins_of_user`), written in the same transactions as the signins.

use super::caller::Caller;
use super::error::AuthError;
use super::model::{Signin, Timestamp};
use super::reverify;
use super::session;
use crate::domain::Deps;
use crate::domain::ports::store::{SigninsRead, Written};

/// One live signin of the user, as `GET /me/sessions` lists it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Device {
    pub signin: Signin,
    /// It is the caller's own active signin.
    pub current: bool,
}

/// Ends every signin of `user_id` everywhere except `keep` (the one the caller goes on with),
/// exactly: a signin granted concurrently is ended too unless it was granted after. Returns the
/// ended signins. For a password reset ("end every other signin of the user everywhere") and
/// `POST /me/sessions/revoke-others`.
pub async fn end_other_signins(
    deps: &Deps,
    user_id: &str,
    keep: Option<&str>,
) -> Result<Vec<Signin>, AuthError> {
    Ok(deps.store.end_signins_of_user(user_id, keep).await?)
}

/// `end_other_signins` acting on the signins of an earlier `read_signins_of_user` (as exact).
pub async fn end_read_signins(
    deps: &Deps,
    user_id: &str,
    read: SigninsRead,
    keep: Option<&str>,
) -> Result<Vec<Signin>, AuthError> {
    Ok(deps.store.end_read_signins(user_id, read, keep).await?)
}

/// The caller's active signin, or `Unauthenticated`.
fn active(caller: &Caller) -> Result<Signin, AuthError> {
    caller
        .session
        .as_ref()
        .and_then(|s| s.active_signin())
        .cloned()
        .ok_or(AuthError::Unauthenticated)
}

/// Whether the signin still lets anyone in: neither past its end nor idle too long.
fn live(deps: &Deps, s: &Signin, now: Timestamp) -> bool {
    now < s.expires_at && now < s.last_active_at + deps.config.session_idle
}

/// The live signins among `all`, most recently active first, the caller's own marked (and shown
/// as the caller's session knows it, which is at least as fresh as the index).
fn devices(deps: &Deps, current: &Signin, all: Vec<Signin>, now: Timestamp) -> Vec<Device> {
    let mut out: Vec<Device> = all
        .into_iter()
        .filter(|s| live(deps, s, now))
        .map(|s| {
            let current_one = s.id == current.id;
            Device {
                signin: if current_one { current.clone() } else { s },
                current: current_one,
            }
        })
        .collect();
    if !out.iter().any(|d| d.current) {
        out.push(Device {
            signin: current.clone(),
            current: true,
        });
    }
    out.sort_by(|a, b| {
        b.signin
            .last_active_at
            .cmp(&a.signin.last_active_at)
            .then_with(|| a.signin.id.cmp(&b.signin.id))
    });
    out
}

/// `GET /me/sessions`: every live signin of the caller's user, in any browser or device.
pub async fn list(deps: &Deps, caller: &mut Caller) -> Result<Vec<Device>, AuthError> {
    let current = active(caller)?;
    let (all, touched) = tokio::join!(
        deps.store.signins_of_user(&current.user_id),
        session::touch_if_stale(deps, caller)
    );
    touched?;
    let current = active(caller)?;
    Ok(devices(deps, &current, all?, deps.clock.now()))
}

/// `POST /me/sessions/{signin_id}/revoke`: ends one signin of the caller's user, wherever it is;
/// its next request is unauthenticated. The caller's own signin is signed out like
/// `POST /session/sign-out {signin_id}`. Answers the signins left.
pub async fn revoke(
    deps: &Deps,
    caller: &mut Caller,
    signin_id: &str,
) -> Result<Vec<Device>, AuthError> {
    let current = active(caller)?;
    let now = deps.clock.now();
    let all = deps.store.signins_of_user(&current.user_id).await?;
    let not_yours = || AuthError::invalid("signin_id", "is not a signin of yours");
    if signin_id == current.id {
        // One's own signin is signed out (the session's next most recent becomes active); the
        // user's other devices are what is left.
        session::sign_out(deps, caller, Some(signin_id)).await?;
        let mut left: Vec<Device> = all
            .into_iter()
            .filter(|s| s.id != signin_id && live(deps, s, now))
            .map(|signin| Device {
                signin,
                current: false,
            })
            .collect();
        left.sort_by_key(|d| std::cmp::Reverse(d.signin.last_active_at));
        return Ok(left);
    }
    let target = all
        .iter()
        .find(|s| s.id == signin_id && live(deps, s, now))
        .cloned()
        .ok_or_else(not_yours)?;
    if deps.store.revoke_signin(&target).await? == Written::Conflict {
        return Err(not_yours());
    }
    let left = all.into_iter().filter(|s| s.id != signin_id).collect();
    Ok(devices(deps, &current, left, now))
}

/// `POST /me/sessions/revoke-others`: ends every signin of the caller's user but the caller's.
pub async fn revoke_others(deps: &Deps, caller: &mut Caller) -> Result<Vec<Device>, AuthError> {
    let current = active(caller)?;
    end_other_signins(deps, &current.user_id, Some(&current.id)).await?;
    Ok(devices(deps, &current, Vec::new(), deps.clock.now()))
}

/// `DELETE /me` (reverification required): the user, its claims (its email, phone number and
/// username are then free for anyone), its identities and every signin of it everywhere. The
/// caller's session stays for its other accounts' signins, with none active.
pub async fn delete_me(deps: &Deps, caller: &mut Caller) -> Result<(), AuthError> {
    let user_id = reverify::require_recent(deps, caller)?.user_id.clone();
    if deps.store.delete_user(&user_id).await? == Written::Conflict {
        return Err(AuthError::Unauthenticated);
    }
    if let Some(state) = caller.session.as_mut() {
        state.signins.retain(|s| s.user_id != user_id);
        state.session.active_signin_id = None;
    }
    Ok(())
}
