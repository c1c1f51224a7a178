//! Where each route is deployed, beside the route table in `routes.rs`: its Lambda function's
//! name, and which functions the template gives the code key and stricter throttling.

use super::routes::Route;

/// Where each route is deployed: `template.yaml` has one function per route, built from the
/// `sesame-functions` binary of this name, with its sample event in `events/<name>.json`
/// (`functions/tests/route_table.rs` holds all three to this table).
impl Route {
    /// The function behind API Gateway's `$default` route: unknown paths, wrong methods and CORS
    /// preflights, answered by [`super::dispatch`].
    pub const FALLBACK_FUNCTION: &'static str = "fallback";

    /// The routes that create or check one-time codes (or signup links): only their functions
    /// get the code key's secret (`CODE_HASH_KEY_SECRET_ARN`) and the permission to read it, and
    /// their cold start fails without it. An OAuth callback sends a code to an unverified email.
    /// The TOTP secrets are sealed under a key derived from it, and backup codes hashed with it
    /// (issue 13): enrollment and sign-in's second step need it too.
    pub fn handles_codes(self) -> bool {
        matches!(
            self,
            Route::Signup
                | Route::Signin
                | Route::PrepareVerification
                | Route::AttemptVerification
                | Route::CompleteProfile
                | Route::OauthCallback
                | Route::CompleteSignup
                | Route::Reverify
                | Route::ChangeEmail
                | Route::VerifyEmail
                | Route::ChangePhoneNumber
                | Route::VerifyPhoneNumber
                | Route::StartTotp
                | Route::VerifyTotp
                | Route::ReplaceBackupCodes
        )
    }

    /// The routes that send codes or create accounts: template.yaml throttles them more strictly
    /// (`CodeThrottleRateLimit`) than the rest (`ThrottleRateLimit`).
    pub fn throttled_strictly(self) -> bool {
        matches!(
            self,
            Route::Signup
                | Route::Signin
                | Route::PrepareVerification
                | Route::CompleteProfile
                | Route::CompleteSignup
        )
    }

    /// The operators' routes: `template.yaml` puts API Gateway's `AWS_IAM` authorizer on each
    /// (`functions/tests/route_table.rs` checks it), and in the dev server they take
    /// `X-Admin-Key` (`ADMIN_KEY`).
    pub fn is_admin(self) -> bool {
        matches!(
            self,
            Route::AdminImportUser
                | Route::RotateSigningKey
                | Route::AdminListUsers
                | Route::AdminGetUser
                | Route::AdminPatchUser
                | Route::AdminDeleteUser
                | Route::AdminSignOutUser
        )
    }

    /// The function (and binary) that serves this route alone.
    pub fn function_name(self) -> &'static str {
        match self {
            Route::Signup => "signup",
            Route::Signin => "signin",
            Route::PrepareVerification => "prepare-verification",
            Route::AttemptVerification => "attempt-verification",
            Route::CompleteProfile => "complete-profile",
            Route::OauthInit => "oauth-init",
            Route::OauthCallback => "oauth-callback",
            Route::CompleteSignup => "complete-signup",
            Route::AdminImportUser => "admin-import-user",
            Route::GetSession => "get-session",
            Route::SwitchSignin => "switch-sign-in",
            Route::SignOut => "sign-out",
            Route::GetMe => "get-me",
            Route::PatchMe => "patch-me",
            Route::IssueToken => "issue-token",
            Route::Jwks => "jwks",
            Route::OpenidConfiguration => "openid-configuration",
            Route::RotateSigningKey => "admin-rotate-signing-key",
            Route::ChangePassword => "change-password",
            Route::ChangeEmail => "change-email",
            Route::VerifyEmail => "verify-email",
            Route::ChangePhoneNumber => "change-phone-number",
            Route::VerifyPhoneNumber => "verify-phone-number",
            Route::ResetPassword => "reset-password",
            Route::Reverify => "reverify",
            Route::ListSessions => "list-sessions",
            Route::RevokeSession => "revoke-session",
            Route::RevokeOtherSessions => "revoke-other-sessions",
            Route::DeleteMe => "delete-me",
            Route::AdminListUsers => "admin-list-users",
            Route::AdminGetUser => "admin-get-user",
            Route::AdminPatchUser => "admin-patch-user",
            Route::AdminDeleteUser => "admin-delete-user",
            Route::AdminSignOutUser => "admin-sign-out-user",
            Route::StartTotp => "start-totp",
            Route::VerifyTotp => "verify-totp",
            Route::DisableTotp => "disable-totp",
            Route::ReplaceBackupCodes => "replace-backup-codes",
            Route::SetPhoneSecondFactor => "set-phone-second-factor",
            Route::GetTwoFactor => "get-two-factor",
            Route::BeginPasskeyRegistration => "begin-passkey-registration",
            Route::FinishPasskeyRegistration => "finish-passkey-registration",
            Route::ListPasskeys => "list-passkeys",
            Route::RenamePasskey => "rename-passkey",
            Route::DeletePasskey => "delete-passkey",
        }
    }
}
