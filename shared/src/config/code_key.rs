//! Where the HMAC key of one-time codes comes from. In Lambda it is never an environment
//! variable: the functions that handle codes get the ARN of a Secrets Manager secret and read it
//! once at cold start (`wiring::aws`); the others get nothing.

use std::fmt;

use super::ConfigError;
use crate::ids::random_bytes;

#[derive(Clone, PartialEq, Eq)]
pub enum CodeHashKey {
    /// `CODE_HASH_KEY` (hex), or outside Lambda a random key per process.
    Key(Vec<u8>),
    /// `CODE_HASH_KEY_SECRET_ARN`: read from Secrets Manager when the app is wired.
    Secret(String),
    /// Neither, in Lambda: a function that handles no codes.
    Absent,
}

impl CodeHashKey {
    /// Read from the settings: `CODE_HASH_KEY` wins, then `CODE_HASH_KEY_SECRET_ARN`; with
    /// neither, a random key outside Lambda (codes never outlive the process there) and none in
    /// it (a function that handles codes then fails its cold start, see `handles_codes`).
    pub fn parse(
        hex_key: Option<&str>,
        secret_arn: Option<&str>,
        in_lambda: bool,
    ) -> Result<Self, ConfigError> {
        match (hex_key, secret_arn) {
            (Some(hex_key), _) => Ok(Self::Key(decode("CODE_HASH_KEY", hex_key)?)),
            (None, Some(arn)) if arn.starts_with("arn:") => Ok(Self::Secret(arn.to_string())),
            (None, Some(other)) => Err(ConfigError {
                name: "CODE_HASH_KEY_SECRET_ARN",
                reason: format!("{other:?} is not a secret ARN"),
            }),
            (None, None) if in_lambda => Ok(Self::Absent),
            (None, None) => Ok(Self::Key(random_bytes::<32>().to_vec())),
        }
    }

    /// The key, once known (`None` for a secret not yet read, or none at all).
    pub fn bytes(&self) -> Option<&[u8]> {
        match self {
            Self::Key(k) => Some(k),
            _ => None,
        }
    }
}

/// A key as hex, at least 32 bytes: `CODE_HASH_KEY`, or the secret's `SecretString`.
pub fn decode(name: &'static str, hex_key: &str) -> Result<Vec<u8>, ConfigError> {
    let key = hex::decode(hex_key.trim()).map_err(|_| ConfigError {
        name,
        reason: "must be hex".into(),
    })?;
    if key.len() < 32 {
        return Err(ConfigError {
            name,
            reason: "must be at least 32 bytes (64 hex digits)".into(),
        });
    }
    Ok(key)
}

/// Never the key itself.
impl fmt::Debug for CodeHashKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Key(_) => f.write_str("Key(..)"),
            Self::Secret(arn) => write!(f, "Secret({arn})"),
            Self::Absent => f.write_str("Absent"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn when_both_are_set_the_hex_key_wins() {
        let key = "ab".repeat(32);
        let parsed = CodeHashKey::parse(Some(&key), Some("arn:aws:x"), true).unwrap();
        assert_eq!(parsed.bytes(), Some(&[0xab; 32][..]));
    }

    #[test]
    fn in_lambda_with_neither_there_is_no_key() {
        assert_eq!(
            CodeHashKey::parse(None, None, true).unwrap(),
            CodeHashKey::Absent
        );
        assert_eq!(
            CodeHashKey::parse(None, None, false)
                .unwrap()
                .bytes()
                .map(<[u8]>::len),
            Some(32)
        );
    }

    #[test]
    fn a_key_never_shows_in_debug_output() {
        let key = "cd".repeat(32);
        let parsed = CodeHashKey::parse(Some(&key), None, false).unwrap();
        assert!(!format!("{parsed:?}").contains("cd"), "{parsed:?}");
    }

    #[test]
    fn a_short_or_non_hex_secret_is_refused_by_name() {
        for bad in ["abcd", "zz".repeat(32).as_str()] {
            let err = decode("CODE_HASH_KEY_SECRET_ARN", bad).unwrap_err();
            assert_eq!(err.name, "CODE_HASH_KEY_SECRET_ARN");
        }
    }
}
