//! `POST /me/totp`, `POST /me/totp/verify`, `DELETE /me/totp`, `POST /me/backup-codes`,
//! `POST /me/two-factor/phone` and `GET /me/two-factor` (issue 13).

use crate::domain::Caller;
use crate::domain::Deps;
use crate::domain::error::{AuthError, FieldError};
use crate::domain::second_factor::{self, TwoFactorStatus};
use crate::http::Request;
use crate::http::bodies::{NoBody, PhoneFactorBody, TotpCodeBody};
use crate::http::error::ApiError;
use crate::http::request::{json, json_or_default};
use crate::http::routes::Reply;
use crate::http::views::{self, BackupCodesView, TotpEnrollmentView};

/// `POST /me/totp`: the secret, its `otpauth://` URI and the QR code, shown this once.
pub async fn start_totp(
    deps: &Deps,
    req: &Request,
    caller: &mut Caller,
) -> Result<Reply, ApiError> {
    let _: NoBody = json_or_default(req)?;
    let e = second_factor::start_totp(deps, caller).await?;
    Ok(Reply::json(TotpEnrollmentView {
        secret: e.secret,
        otpauth_uri: e.otpauth_uri,
        qr_svg: e.qr_svg,
    }))
}

/// `POST /me/totp/verify {code}`: TOTP on; ten backup codes, shown this once.
pub async fn verify_totp(
    deps: &Deps,
    req: &Request,
    caller: &mut Caller,
) -> Result<Reply, ApiError> {
    let body: TotpCodeBody = json(req)?;
    let backup_codes = second_factor::verify_totp(deps, caller, body.code).await?;
    Ok(Reply::json(BackupCodesView { backup_codes }))
}

/// `DELETE /me/totp`: what is still on.
pub async fn disable_totp(
    deps: &Deps,
    req: &Request,
    caller: &mut Caller,
) -> Result<Reply, ApiError> {
    let _: NoBody = json_or_default(req)?;
    let user = second_factor::disable_totp(deps, caller).await?;
    Ok(Reply::json(views::two_factor(&TwoFactorStatus::of(
        &user,
        deps.config.require_second_factor,
    ))))
}

/// `POST /me/backup-codes`: ten new codes replace the old ones.
pub async fn replace_backup_codes(
    deps: &Deps,
    req: &Request,
    caller: &mut Caller,
) -> Result<Reply, ApiError> {
    let _: NoBody = json_or_default(req)?;
    let backup_codes = second_factor::replace_backup_codes(deps, caller).await?;
    Ok(Reply::json(BackupCodesView { backup_codes }))
}

/// `POST /me/two-factor/phone {enabled}`: what is on afterwards.
pub async fn set_phone(deps: &Deps, req: &Request, caller: &mut Caller) -> Result<Reply, ApiError> {
    let body: PhoneFactorBody = json(req)?;
    let enabled = body
        .enabled
        .ok_or_else(|| AuthError::Invalid(vec![FieldError::required("enabled")]))?;
    let user = second_factor::set_phone(deps, caller, enabled).await?;
    Ok(Reply::json(views::two_factor(&TwoFactorStatus::of(
        &user,
        deps.config.require_second_factor,
    ))))
}

/// `GET /me/two-factor`.
pub async fn get(deps: &Deps, caller: &mut Caller) -> Result<Reply, ApiError> {
    let status = second_factor::status(deps, caller).await?;
    Ok(Reply::json(views::two_factor(&status)))
}
