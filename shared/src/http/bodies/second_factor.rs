//! The second factor's request bodies (issue 13).

use serde::Deserialize;
use utoipa::ToSchema;

/// `POST /me/totp/verify`: the app's current code. No `Debug`: it holds a code.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TotpCodeBody {
    pub code: Option<String>,
}

/// `POST /me/two-factor/phone`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PhoneFactorBody {
    pub enabled: Option<bool>,
}
