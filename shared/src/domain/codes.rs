//! One-time codes: 6 digits from the OS CSPRNG, stored only as an HMAC bound to their attempt
//! and channel, compared in constant time.

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;
use subtle::ConstantTimeEq;
use time::Duration;

use super::error::AuthError;
use super::model::Channel;
use crate::config::Config;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use crate::ids::{random_below, random_bytes};

pub const CODE_TTL: Duration = Duration::minutes(10);
pub const CODE_DIGITS: usize = 6;

/// The key codes are hashed under. A function deployed without it (one that handles no codes)
/// answers 500 rather than hash under a wrong key.
pub fn key(config: &Config) -> Result<&[u8], AuthError> {
    config.code_hash_key.bytes().ok_or_else(|| {
        AuthError::internal("this function has no code key (CODE_HASH_KEY_SECRET_ARN)")
    })
}

pub fn generate() -> String {
    format!("{:06}", random_below(1_000_000))
}

/// The secret of an emailed signup code (`email_link`): 256 random bits, base64url.
pub fn generate_link_secret() -> String {
    URL_SAFE_NO_PAD.encode(random_bytes::<32>())
}

/// A signup code as emailed: `<session id>.<attempt id>.<secret>`. Like the session cookie, it
/// names what it unlocks, so it needs no lookup table; only the secret's HMAC is stored.
pub fn link_code(session_id: &str, attempt_id: &str, secret: &str) -> String {
    format!("{session_id}.{attempt_id}.{secret}")
}

/// The session id, attempt id and secret of a signup code, if it has that shape.
pub fn parse_link_code(code: &str) -> Option<(&str, &str, &str)> {
    let mut parts = code.trim().splitn(3, '.');
    let (session, attempt, secret) = (parts.next()?, parts.next()?, parts.next()?);
    let ok = session.starts_with("sess_") && attempt.starts_with("sua_") && secret.len() >= 22;
    ok.then_some((session, attempt, secret))
}

/// Whether `secret` is the one behind a stored signup-code hash, in constant time.
pub fn link_matches(key: &[u8], attempt_id: &str, secret: &str, stored_hash: &str) -> bool {
    let candidate = hash(key, attempt_id, Channel::Email, secret);
    bool::from(candidate.as_bytes().ct_eq(stored_hash.as_bytes()))
}

/// Hex HMAC-SHA256 over attempt id, channel and code: a code for one attempt or channel never
/// matches another, and a leaked table does not give codes away without the key.
pub fn hash(key: &[u8], attempt_id: &str, channel: Channel, code: &str) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes keys of any length");
    for part in [attempt_id, channel_tag(channel), code] {
        mac.update(&(part.len() as u32).to_be_bytes());
        mac.update(part.as_bytes());
    }
    hex::encode(mac.finalize().into_bytes())
}

/// Whether `submitted` is the code behind `stored_hash`, in time independent of where they differ.
pub fn matches(
    key: &[u8],
    attempt_id: &str,
    channel: Channel,
    submitted: &str,
    stored_hash: &str,
) -> bool {
    let submitted = submitted.trim();
    let well_formed =
        submitted.len() == CODE_DIGITS && submitted.bytes().all(|b| b.is_ascii_digit());
    let candidate = hash(key, attempt_id, channel, submitted);
    well_formed & bool::from(candidate.as_bytes().ct_eq(stored_hash.as_bytes()))
}

fn channel_tag(channel: Channel) -> &'static str {
    match channel {
        Channel::Email => "email",
        Channel::Sms => "sms",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &[u8] = b"0123456789abcdef0123456789abcdef";

    #[test]
    fn when_a_code_is_generated_it_is_six_digits() {
        for _ in 0..100 {
            let c = generate();
            assert_eq!(c.len(), 6);
            assert!(c.bytes().all(|b| b.is_ascii_digit()));
        }
    }

    #[test]
    fn when_the_right_code_is_submitted_it_matches_only_its_attempt_and_channel() {
        let stored = hash(KEY, "sua_1", Channel::Email, "123456");
        assert!(matches(KEY, "sua_1", Channel::Email, "123456", &stored));
        assert!(matches(KEY, "sua_1", Channel::Email, " 123456 ", &stored));
        assert!(!matches(KEY, "sua_2", Channel::Email, "123456", &stored));
        assert!(!matches(KEY, "sua_1", Channel::Sms, "123456", &stored));
        assert!(!matches(KEY, "sua_1", Channel::Email, "123457", &stored));
        assert!(!matches(
            b"another key of 32 bytes at least!",
            "sua_1",
            Channel::Email,
            "123456",
            &stored
        ));
    }

    #[test]
    fn when_the_stored_hash_is_read_it_does_not_contain_the_code() {
        let stored = hash(KEY, "sua_1", Channel::Email, "123456");
        assert!(!stored.contains("123456"));
        assert_eq!(stored.len(), 64);
    }
}
