//! Password policy and hashing: 8 to 256 characters after NFKC, no composition rules, common and
//! context passwords refused; argon2id m=19456 KiB, t=2, p=1, parameters read back from the
//! stored PHC string so they can be raised later without breaking old hashes.

use std::collections::HashSet;
use std::sync::LazyLock;

use argon2::password_hash::phc::PasswordHash;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use argon2::{Algorithm, Argon2, Params, Version};
use unicode_normalization::UnicodeNormalization;

use super::error::{AuthError, ErrorCode, FieldError};

pub mod legacy;

pub const MIN_CHARS: usize = 8;
pub const MAX_CHARS: usize = 256;
pub const ARGON2_MEMORY_KIB: u32 = 19_456;
pub const ARGON2_ITERATIONS: u32 = 2;
pub const ARGON2_PARALLELISM: u32 = 1;

static COMMON: LazyLock<HashSet<&'static str>> = LazyLock::new(|| {
    include_str!("common-passwords.txt")
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .collect()
});

/// NFKC, so the same password typed on different keyboards hashes the same.
pub fn normalize(password: &str) -> String {
    password.nfkc().collect()
}

/// Checks a normalized password. `context` holds what the user also told us (email, username,
/// names); a password built on them is refused.
pub fn check_policy(password: &str, context: &[&str]) -> Result<(), FieldError> {
    let weak = |reason: &str| FieldError::new(ErrorCode::WeakPassword, "password", reason);
    let chars = password.chars().count();
    if chars < MIN_CHARS {
        return Err(weak(&format!("must be at least {MIN_CHARS} characters")));
    }
    if chars > MAX_CHARS {
        return Err(weak(&format!("must be at most {MAX_CHARS} characters")));
    }
    let lower = password.to_lowercase();
    if COMMON.contains(lower.as_str()) {
        return Err(weak("is too common; choose one that is harder to guess"));
    }
    if lower
        .chars()
        .all(|c| c == lower.chars().next().unwrap_or_default())
    {
        return Err(weak("repeats a single character"));
    }
    for item in context.iter().flat_map(|c| context_words(c)) {
        if lower.contains(&item) {
            return Err(weak(
                "must not contain your email address, username or name",
            ));
        }
    }
    Ok(())
}

/// The parts of a context value worth refusing: the whole value and, for an email, its local
/// part; only parts of 4 characters or more (shorter ones would refuse too much).
fn context_words(value: &str) -> Vec<String> {
    let value = value.trim().to_lowercase();
    let mut words = vec![value.clone()];
    if let Some((local, _)) = value.split_once('@') {
        words.push(local.to_string());
    }
    words.retain(|w| w.chars().count() >= 4);
    words
}

fn argon2() -> Argon2<'static> {
    let params = Params::new(
        ARGON2_MEMORY_KIB,
        ARGON2_ITERATIONS,
        ARGON2_PARALLELISM,
        None,
    )
    .expect("argon2 parameters are valid");
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

/// argon2id PHC string of a normalized password. CPU-bound: call `hash_blocking` from async code.
pub fn hash(password: &str) -> Result<String, AuthError> {
    argon2()
        .hash_password(password.as_bytes())
        .map(|h| h.to_string())
        .map_err(|e| AuthError::internal(format!("argon2 hash: {e}")))
}

/// Hashes on the blocking pool so a busy dev server keeps serving other requests meanwhile.
pub async fn hash_blocking(password: String) -> Result<String, AuthError> {
    tokio::task::spawn_blocking(move || hash(&password))
        .await
        .map_err(|e| AuthError::internal(format!("hashing task: {e}")))?
}

/// Verifies on the blocking pool, any stored form (imported bcrypt and PBKDF2 too). With no stored hash (unknown identifier, no password set) it
/// verifies against a dummy hash of the same cost and fails, so both cases take as long as a
/// wrong password.
///
/// `typed` is the password as typed: Sesame's own hashes are of its NFKC form, while an imported
/// hash was made by a system that may not have normalized, so both forms are tried there. An
/// imported hash may also cost less than argon2id, so the dummy is verified as well: its cost
/// never tells an imported user from an unknown one.
pub async fn verify_blocking(typed: String, phc: Option<String>) -> bool {
    tokio::task::spawn_blocking(move || {
        let normalized = normalize(&typed);
        match phc {
            Some(phc) if !legacy::needs_upgrade(&phc) => verify(&normalized, &phc),
            Some(phc) => {
                let _ = verify(&normalized, &DUMMY_HASH);
                legacy::verify(&typed, &phc)
                    || (typed != normalized && legacy::verify(&normalized, &phc))
            }
            None => {
                let _ = verify(&normalized, &DUMMY_HASH);
                false
            }
        }
    })
    .await
    .unwrap_or(false)
}

/// Builds the dummy hash now, so the first unknown identifier does not pay for it (call at cold
/// start where passwords are checked).
pub fn warm_up() {
    LazyLock::force(&DUMMY_HASH);
}

/// Hashed once per process with the current parameters; matches no password anyone types.
static DUMMY_HASH: LazyLock<String> =
    LazyLock::new(|| hash("sesame: no such user").expect("hashing a constant succeeds"));

/// Verifies with the parameters stored in the PHC string, not the current ones.
pub fn verify(password: &str, phc: &str) -> bool {
    let Ok(parsed) = PasswordHash::new(phc) else {
        return false;
    };
    Argon2::default()
        .verify_password(password.as_bytes(), &parsed)
        .is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reason(pw: &str, ctx: &[&str]) -> Option<ErrorCode> {
        check_policy(&normalize(pw), ctx).err().map(|e| e.code)
    }

    #[test]
    fn when_a_password_is_short_or_long_it_is_weak() {
        assert_eq!(reason("Tr0ub4!", &[]), Some(ErrorCode::WeakPassword));
        assert_eq!(reason("correct horse battery staple", &[]), None);
        assert_eq!(reason(&"x1".repeat(128), &[]), None);
        assert_eq!(
            reason(&"x1".repeat(129), &[]),
            Some(ErrorCode::WeakPassword)
        );
    }

    #[test]
    fn when_a_password_is_common_it_is_weak_in_any_case() {
        for pw in [
            "password1",
            "PASSWORD1",
            "iloveyou2",
            "12345678",
            "qwertyuiop",
        ] {
            assert_eq!(reason(pw, &[]), Some(ErrorCode::WeakPassword), "{pw}");
        }
    }

    #[test]
    fn when_a_password_contains_the_email_or_username_it_is_weak() {
        let ctx = ["ada.lovelace@example.com", "countess"];
        assert_eq!(
            reason("Ada.Lovelace!!", &ctx),
            Some(ErrorCode::WeakPassword)
        );
        assert_eq!(
            reason("my-countess-99", &ctx),
            Some(ErrorCode::WeakPassword)
        );
        assert_eq!(reason("analytical engine", &ctx), None);
    }

    #[test]
    fn when_a_password_is_one_repeated_character_it_is_weak() {
        assert_eq!(reason("zzzzzzzzzz", &[]), Some(ErrorCode::WeakPassword));
    }

    #[test]
    fn when_length_is_counted_it_is_in_characters_after_nfkc() {
        // Full-width letters become ASCII, so both spellings are one password.
        assert_eq!(normalize("ｍｏｏｎｌｉｇｈｔ"), "moonlight");
        // Seven letters with accents are seven characters, however many bytes they take.
        assert_eq!(reason("ñandúés", &[]), Some(ErrorCode::WeakPassword));
        assert_eq!(reason("ñandúésé", &[]), None);
    }

    #[test]
    fn when_hashed_the_phc_string_is_argon2id_with_the_chosen_parameters_and_verifies() {
        let phc = hash("analytical engine").unwrap();
        assert!(phc.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{phc}");
        assert!(verify("analytical engine", &phc));
        assert!(!verify("analytical engines", &phc));
        assert!(!verify("analytical engine", "not a phc string"));
    }

    #[test]
    fn when_a_hash_has_other_parameters_they_are_read_from_the_phc_string() {
        let cheap = Argon2::new(
            Algorithm::Argon2id,
            Version::V0x13,
            Params::new(8 * 1024, 1, 1, None).unwrap(),
        );
        let phc = cheap
            .hash_password(b"analytical engine")
            .unwrap()
            .to_string();
        assert!(verify("analytical engine", &phc));
    }
}
