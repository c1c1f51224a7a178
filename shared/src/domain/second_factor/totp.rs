//! TOTP (RFC 6238: SHA-1, 6 digits, 30-second steps, what every authenticator app speaks) through
//! `totp-rs`, and the enrollment's QR code through `qrcode`. A code is accepted for the current
//! step and one step either side; which step matched is returned so it is accepted once.

use qrcode::QrCode;
use qrcode::render::svg;
use subtle::ConstantTimeEq;
use totp_rs::{Algorithm, Secret, TOTP};

use crate::domain::error::AuthError;
use crate::ids::random_bytes;

pub const STEP_SECONDS: u64 = 30;
const DIGITS: usize = 6;
/// 160 bits, RFC 4226's recommended secret length.
pub const SECRET_LEN: usize = 20;

pub fn new_secret() -> [u8; SECRET_LEN] {
    random_bytes::<SECRET_LEN>()
}

fn totp(secret: &[u8], issuer: &str, account: &str) -> TOTP {
    // `:` separates issuer and account in the URI's label; neither may hold one.
    TOTP::new_unchecked(
        Algorithm::SHA1,
        DIGITS,
        1,
        STEP_SECONDS,
        secret.to_vec(),
        Some(issuer.replace(':', " ")),
        account.replace(':', " "),
    )
}

/// The secret as authenticator apps take it typed in: base32, no padding.
pub fn base32(secret: &[u8]) -> String {
    Secret::Raw(secret.to_vec()).to_encoded().to_string()
}

/// `otpauth://totp/<issuer>:<account>?secret=...&issuer=...`
pub fn uri(secret: &[u8], issuer: &str, account: &str) -> String {
    totp(secret, issuer, account).get_url()
}

/// The URI as a QR code, an SVG document a page can show as is.
pub fn qr_svg(uri: &str) -> Result<String, AuthError> {
    let code =
        QrCode::new(uri.as_bytes()).map_err(|e| AuthError::internal(format!("QR code: {e}")))?;
    Ok(code
        .render::<svg::Color<'_>>()
        .min_dimensions(200, 200)
        .build())
}

/// The time step `unix_seconds` falls in.
pub fn step_at(unix_seconds: i64) -> u64 {
    u64::try_from(unix_seconds).unwrap_or(0) / STEP_SECONDS
}

/// The code of `secret` at `unix_seconds` (what the authenticator app shows then).
pub fn code_at(secret: &[u8], unix_seconds: i64) -> String {
    totp(secret, "", "").generate(step_at(unix_seconds) * STEP_SECONDS)
}

/// The step (current, previous or next) whose code `submitted` is, compared in constant time.
pub fn matching_step(secret: &[u8], submitted: &str, unix_seconds: i64) -> Option<u64> {
    let submitted = submitted.trim();
    if submitted.len() != DIGITS || !submitted.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let t = totp(secret, "", "");
    let now = step_at(unix_seconds);
    let mut found = None;
    for step in [now.saturating_sub(1), now, now + 1] {
        let code = t.generate(step * STEP_SECONDS);
        if bool::from(code.as_bytes().ct_eq(submitted.as_bytes())) {
            found = Some(step);
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 6238 appendix B, SHA-1 (8 digits there; the last 6 here).
    #[test]
    fn the_rfc_6238_test_vectors_match() {
        let secret = b"12345678901234567890";
        for (t, code) in [
            (59, "287082"),
            (1111111109, "081804"),
            (2000000000, "279037"),
        ] {
            assert_eq!(matching_step(secret, code, t), Some(step_at(t)), "{t}");
        }
    }

    #[test]
    fn a_code_counts_one_step_either_side_and_no_further() {
        let secret = new_secret();
        let t = 1_700_000_000;
        let code = totp(&secret, "", "").generate(step_at(t) * STEP_SECONDS);
        assert_eq!(matching_step(&secret, &code, t - 30), Some(step_at(t)));
        assert_eq!(matching_step(&secret, &code, t + 30), Some(step_at(t)));
        assert_eq!(matching_step(&secret, &code, t + 90), None);
        assert_eq!(matching_step(&secret, "12345", t), None);
    }

    #[test]
    fn the_uri_names_issuer_account_and_secret() {
        let secret = new_secret();
        let u = uri(&secret, "Sesame", "ada@example.com");
        assert!(
            u.starts_with("otpauth://totp/Sesame:ada%40example.com?"),
            "{u}"
        );
        assert!(u.contains(&format!("secret={}", base32(&secret))), "{u}");
        assert!(qr_svg(&u).unwrap().starts_with("<?xml"));
    }
}
