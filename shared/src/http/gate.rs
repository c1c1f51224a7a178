//! `REQUIRE_SECOND_FACTOR`: which routes a signed-in user without a second factor may not use.
//! Like Cognito's "MFA required", such a user (a new sign-up, an OAuth or profile-completion
//! sign-up, or a user from before the setting) is signed in but limited to what enrolling needs:
//! the session, the user, reverification, the two-factor routes, a phone number for the SMS
//! factor, signing out and deleting the account. The routes below answer `403
//! SECOND_FACTOR_REQUIRED` until a factor is on; among them `POST /session/token`, so a backend
//! never gets a token for such a signin.

use super::routes::Route;
use crate::domain::error::AuthError;
use crate::domain::{Caller, Deps, second_factor};

impl Route {
    /// The routes `REQUIRE_SECOND_FACTOR` keeps from a user without a second factor.
    pub fn needs_second_factor(self) -> bool {
        matches!(
            self,
            Route::IssueToken
                | Route::PatchMe
                | Route::ChangePassword
                | Route::ChangeEmail
                | Route::VerifyEmail
                | Route::ListSessions
                | Route::RevokeSession
                | Route::RevokeOtherSessions
        )
    }
}

/// Refuses `route` to a caller whose active user has no second factor, when the deployment
/// requires one (one read of the user, only then).
pub(super) async fn second_factor(
    deps: &Deps,
    route: Route,
    caller: &Caller,
) -> Result<(), AuthError> {
    if !deps.config.require_second_factor || !route.needs_second_factor() {
        return Ok(());
    }
    second_factor::require_enrolled(deps, caller).await
}
