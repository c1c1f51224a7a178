//! Password hashes imported from other systems (seed 003's `hash_fn`). They are checked at the
//! user's first password sign-in and, when right, replaced by Sesame's argon2id.
//!
//! Accepted forms:
//! - `bcrypt`: the modular-crypt string, `$2a$`, `$2b$` or `$2y$` (60 characters).
//! - `argon2`: a PHC string, `$argon2i$`, `$argon2d$` or `$argon2id$`, any parameters.
//! - `pbkdf2`: a PHC string, `$pbkdf2-sha256$i=<rounds>[,l=<length>]$<salt>$<hash>` (B64 without
//!   padding), or passlib's `$pbkdf2-sha256$<rounds>$<salt>$<hash>` (its `.`-for-`+` base64); both
//!   also with `sha512`. Or a bare digest with `salt`: the hex or base64 PBKDF2-HMAC output over
//!   the password with the salt's UTF-8 bytes, 10,000 rounds, SHA-256 for a 32-byte digest and
//!   SHA-512 for a 64-byte one; it is stored in the PHC form.

use base64::Engine;
use base64::engine::general_purpose::STANDARD_NO_PAD;
use serde::{Deserialize, Serialize};
use sha2::{Sha256, Sha512};
use subtle::ConstantTimeEq;

use super::super::error::FieldError;

/// Rounds of a bare PBKDF2 digest imported with `salt`.
pub const BARE_PBKDF2_ROUNDS: u32 = 10_000;

/// Cost ceilings. Anyone who knows an imported identifier can make Sesame check its hash, so a
/// hash beyond these (a 4 GiB argon2, bcrypt cost 31) is refused at import and never evaluated.
/// The failure floor (`PASSWORD_FAILURE_FLOOR_MS`) must exceed what the costliest hash within
/// them takes to verify (up to 1.7 s on the CI machine; `cargo bench --bench signin_timing`).
pub const MAX_BCRYPT_COST: u32 = 14;
pub const MAX_PBKDF2_ROUNDS: u32 = 2_000_000;
pub const MAX_ARGON2_MEMORY_KIB: u32 = 128 * 1024;
pub const MAX_ARGON2_ITERATIONS: u32 = 10;
pub const MAX_ARGON2_PARALLELISM: u32 = 8;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum HashFn {
    Bcrypt,
    Argon2,
    Pbkdf2,
}

/// Checks an imported hash and returns the string to store (`field` names it in errors).
pub fn import(hash_fn: HashFn, hash: &str, salt: Option<&str>) -> Result<String, FieldError> {
    let hash = hash.trim();
    let bad = |what: &str| FieldError::invalid("password", format!("is not {what}"));
    let no_salt = || FieldError::invalid("salt", "is only taken with a bare pbkdf2 digest");
    match hash_fn {
        HashFn::Bcrypt => {
            if !is_bcrypt(hash) {
                return Err(bad(&format!(
                    "a bcrypt hash ($2a$, $2b$ or $2y$) of cost at most {MAX_BCRYPT_COST}"
                )));
            }
            salt.map_or(Ok(hash.to_string()), |_| Err(no_salt()))
        }
        HashFn::Argon2 => {
            let parsed = argon2::password_hash::phc::PasswordHash::new(hash)
                .map_err(|_| bad("an argon2 PHC string"))?;
            if !["argon2i", "argon2d", "argon2id"].contains(&parsed.algorithm.as_str()) {
                return Err(bad(
                    "an argon2 PHC string ($argon2i$, $argon2d$ or $argon2id$)",
                ));
            }
            if !argon2_affordable(hash) {
                return Err(bad(&format!(
                    "an argon2 hash within m={MAX_ARGON2_MEMORY_KIB}, t={MAX_ARGON2_ITERATIONS}, \
                     p={MAX_ARGON2_PARALLELISM}"
                )));
            }
            salt.map_or(Ok(hash.to_string()), |_| Err(no_salt()))
        }
        HashFn::Pbkdf2 if hash.starts_with('$') => {
            Pbkdf2::parse(hash).ok_or_else(|| {
                bad(&format!(
                    "a $pbkdf2-sha256$ or $pbkdf2-sha512$ string of at most {MAX_PBKDF2_ROUNDS} rounds"
                ))
            })?;
            salt.map_or(Ok(hash.to_string()), |_| Err(no_salt()))
        }
        HashFn::Pbkdf2 => {
            let salt = salt
                .filter(|s| !s.is_empty())
                .ok_or_else(|| FieldError::required("salt"))?;
            let digest = hex::decode(hash)
                .ok()
                .or_else(|| base64::engine::general_purpose::STANDARD.decode(hash).ok())
                .ok_or_else(|| bad("a hex or base64 digest"))?;
            let id = match digest.len() {
                32 => "pbkdf2-sha256",
                64 => "pbkdf2-sha512",
                _ => return Err(bad("a 32- or 64-byte digest")),
            };
            Ok(format!(
                "${id}$i={BARE_PBKDF2_ROUNDS},l={}${}${}",
                digest.len(),
                STANDARD_NO_PAD.encode(salt.as_bytes()),
                STANDARD_NO_PAD.encode(&digest)
            ))
        }
    }
}

/// `$2b$<cost>$` and 53 characters of bcrypt's base64 (salt and hash), checked without hashing.
fn is_bcrypt(hash: &str) -> bool {
    let prefix_ok = ["$2a$", "$2b$", "$2y$"].iter().any(|p| hash.starts_with(p));
    let cost_ok = hash
        .get(4..6)
        .and_then(|c| c.parse::<u32>().ok())
        .is_some_and(|c| (4..=MAX_BCRYPT_COST).contains(&c));
    let rest_ok = hash.get(6..7) == Some("$")
        && hash.get(7..).is_some_and(|r| {
            r.len() == 53
                && r.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'/')
        });
    prefix_ok && cost_ok && rest_ok
}

/// Whether a stored hash is not the argon2id Sesame writes now, and so is replaced at the next
/// right password.
pub fn needs_upgrade(stored: &str) -> bool {
    let current = format!(
        "$argon2id$v=19$m={},t={},p={}$",
        super::ARGON2_MEMORY_KIB,
        super::ARGON2_ITERATIONS,
        super::ARGON2_PARALLELISM
    );
    !stored.starts_with(&current)
}

/// Whether an argon2 PHC string's parameters are within the ceilings.
fn argon2_affordable(phc: &str) -> bool {
    let Ok(parsed) = argon2::password_hash::phc::PasswordHash::new(phc) else {
        return false;
    };
    let within = |name: &str, max: u32| {
        parsed
            .params
            .get_decimal(name)
            .is_some_and(|v| (1..=max).contains(&v))
    };
    within("m", MAX_ARGON2_MEMORY_KIB)
        && within("t", MAX_ARGON2_ITERATIONS)
        && within("p", MAX_ARGON2_PARALLELISM)
}

/// Verifies a password against any stored form: argon2 (any variant), bcrypt or PBKDF2, each
/// only within the cost ceilings; on the calling thread, for tests and benchmarks (sign-in goes
/// through `verify_blocking`).
pub fn verify(password: &str, stored: &str) -> bool {
    let mut memory = super::WORKERS.take();
    let right = verify_in(password, stored, &mut memory);
    super::WORKERS.give_back(memory);
    right
}

/// `verify`, with `memory` lent for an argon2 hash.
pub(super) fn verify_in(password: &str, stored: &str, memory: &mut [argon2::Block]) -> bool {
    if stored.starts_with("$argon2") {
        argon2_affordable(stored) && super::verify_in(password, stored, memory)
    } else if stored.starts_with("$2") {
        is_bcrypt(stored) && bcrypt::verify(password, stored).unwrap_or(false)
    } else if stored.starts_with("$pbkdf2-") {
        Pbkdf2::parse(stored).is_some_and(|p| p.verify(password))
    } else {
        false
    }
}

struct Pbkdf2 {
    sha512: bool,
    rounds: u32,
    salt: Vec<u8>,
    hash: Vec<u8>,
}

impl Pbkdf2 {
    fn parse(s: &str) -> Option<Self> {
        let parts: Vec<&str> = s.split('$').collect();
        let ["", id, params, salt, hash] = parts.as_slice() else {
            return None;
        };
        let sha512 = match *id {
            "pbkdf2-sha256" => false,
            "pbkdf2-sha512" => true,
            _ => return None,
        };
        // PHC: `i=29000,l=32`; passlib: `29000`.
        let rounds = params.parse().ok().or_else(|| {
            params
                .split(',')
                .find_map(|kv| kv.strip_prefix("i="))
                .and_then(|r| r.parse().ok())
        })?;
        // passlib's base64 writes `.` for `+`.
        let decode = |v: &str| STANDARD_NO_PAD.decode(v.replace('.', "+")).ok();
        let (salt, hash) = (decode(salt)?, decode(hash)?);
        let sane = (1..=MAX_PBKDF2_ROUNDS).contains(&rounds) && (16..=64).contains(&hash.len());
        sane.then_some(Self {
            sha512,
            rounds,
            salt,
            hash,
        })
    }

    fn verify(&self, password: &str) -> bool {
        let mut out = vec![0u8; self.hash.len()];
        if self.sha512 {
            pbkdf2::pbkdf2_hmac::<Sha512>(password.as_bytes(), &self.salt, self.rounds, &mut out);
        } else {
            pbkdf2::pbkdf2_hmac::<Sha256>(password.as_bytes(), &self.salt, self.rounds, &mut out);
        }
        bool::from(out.ct_eq(&self.hash))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    const ZERO: Duration = Duration::ZERO;

    #[test]
    fn when_a_bare_pbkdf2_digest_is_imported_it_is_stored_in_phc_form_and_verifies() {
        let mut digest = [0u8; 32];
        pbkdf2::pbkdf2_hmac::<Sha256>(
            b"analytical engine",
            b"NaCl",
            BARE_PBKDF2_ROUNDS,
            &mut digest,
        );
        let stored = import(HashFn::Pbkdf2, &hex::encode(digest), Some("NaCl")).unwrap();
        assert!(
            stored.starts_with("$pbkdf2-sha256$i=10000,l=32$"),
            "{stored}"
        );
        assert!(verify("analytical engine", &stored));
        assert!(!verify("analytical engines", &stored));
        assert!(needs_upgrade(&stored));
    }

    #[test]
    fn when_an_imported_hash_costs_more_than_the_ceilings_it_is_refused_and_never_evaluated() {
        let salt = "c2FsdHNhbHRzYWx0";
        let hash = "aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g";
        let too_costly = [
            (HashFn::Bcrypt, format!("$2b$15${}", "a".repeat(53))),
            (
                HashFn::Pbkdf2,
                format!("$pbkdf2-sha256$3000000${salt}${hash}"),
            ),
            (
                HashFn::Argon2,
                format!("$argon2id$v=19$m=4194304,t=1,p=1${salt}${hash}"),
            ),
            (
                HashFn::Argon2,
                format!("$argon2id$v=19$m=65536,t=11,p=1${salt}${hash}"),
            ),
        ];
        for (f, h) in too_costly {
            assert!(import(f, &h, None).is_err(), "{h}");
            assert!(!verify("anything", &h), "{h}");
        }
        let affordable = [
            (HashFn::Bcrypt, format!("$2b$14${}", "a".repeat(53))),
            (
                HashFn::Pbkdf2,
                format!("$pbkdf2-sha256$2000000${salt}${hash}"),
            ),
            (
                HashFn::Argon2,
                format!("$argon2id$v=19$m=131072,t=10,p=8${salt}${hash}"),
            ),
        ];
        for (f, h) in affordable {
            assert!(import(f, &h, None).is_ok(), "{h}");
        }
    }

    #[tokio::test]
    async fn when_an_imported_hash_was_made_from_the_password_as_typed_it_still_verifies() {
        // Full-width letters change under NFKC; the old system hashed them as typed.
        let typed = "ｆｕｌｌ ｗｉｄｔｈ 1843";
        let stored = bcrypt::hash(typed, 4).unwrap();
        let right = super::super::verify_blocking(typed.into(), Some(stored.clone()), ZERO).await;
        assert!(right);
        let wrong = super::super::verify_blocking("full width 1843".into(), Some(stored), ZERO);
        assert!(!wrong.await);
    }

    #[test]
    fn when_an_imported_hash_has_the_wrong_form_it_is_refused() {
        let field = |r: Result<String, FieldError>| r.unwrap_err().field.unwrap();
        assert_eq!(
            field(import(HashFn::Bcrypt, "$2b$10$short", None)),
            "password"
        );
        assert_eq!(field(import(HashFn::Argon2, "$scrypt$x", None)), "password");
        assert_eq!(field(import(HashFn::Pbkdf2, "abcd", None)), "salt");
        assert_eq!(field(import(HashFn::Pbkdf2, "zz", Some("s"))), "password");
        let phc = super::super::hash("analytical engine").unwrap();
        assert_eq!(field(import(HashFn::Argon2, &phc, Some("s"))), "salt");
        assert!(!needs_upgrade(&phc));
    }
}
