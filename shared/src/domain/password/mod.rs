//! Password policy and hashing: 8 to 256 characters after NFKC, no composition rules, common and
//! context passwords refused; argon2id m=19456 KiB, t=2, p=1, parameters read back from the
//! stored PHC string so they can be raised later without breaking old hashes. Every hash and
//! verification runs in `work` (one per core at a time, in reused memory); a failed verification
//! answers no sooner than the failure floor (`floor`).

use std::collections::HashSet;
use std::sync::LazyLock;
use std::time::Duration;

use argon2::password_hash::phc::{Output, ParamsString, PasswordHash, Salt};
use argon2::{Algorithm, Argon2, Block, Params, Version};
use subtle::ConstantTimeEq;
use unicode_normalization::UnicodeNormalization;

use super::error::{AuthError, ErrorCode, FieldError};
use work::WORKERS;

pub mod floor;
pub mod legacy;
mod work;

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

fn params() -> Params {
    Params::new(
        ARGON2_MEMORY_KIB,
        ARGON2_ITERATIONS,
        ARGON2_PARALLELISM,
        None,
    )
    .expect("argon2 parameters are valid")
}

/// argon2id PHC string of a normalized password, computed in `memory` (`work::BLOCKS` blocks).
fn hash_in(password: &str, memory: &mut [Block]) -> Result<String, AuthError> {
    let failed = |e: &dyn std::fmt::Display| AuthError::internal(format!("argon2 hash: {e}"));
    let params = params();
    let salt = Salt::generate();
    let mut out = [0u8; 32];
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone())
        .hash_password_into_with_memory(password.as_bytes(), &salt, &mut out, memory)
        .map_err(|e| failed(&e))?;
    let phc = PasswordHash {
        algorithm: Algorithm::Argon2id.ident(),
        version: Some(Version::V0x13.into()),
        params: ParamsString::try_from(&params).map_err(|e| failed(&e))?,
        salt: Some(salt),
        hash: Some(Output::new(&out).map_err(|e| failed(&e))?),
    };
    Ok(phc.to_string())
}

/// Whether `password` matches an argon2 PHC string (any variant), with the parameters stored in
/// it, not the current ones. Computed in `memory` when it is large enough (Sesame's own hashes
/// and cheaper imported ones), else in a buffer of its own, freed after.
fn verify_in(password: &str, phc: &str, memory: &mut [Block]) -> bool {
    let Ok(parsed) = PasswordHash::new(phc) else {
        return false;
    };
    let (Some(salt), Some(expected)) = (&parsed.salt, &parsed.hash) else {
        return false;
    };
    let algorithm = Algorithm::try_from(parsed.algorithm.as_str());
    let version = parsed
        .version
        .map_or(Ok(Version::default()), Version::try_from);
    let (Ok(algorithm), Ok(version), Ok(params)) = (algorithm, version, Params::try_from(&parsed))
    else {
        return false;
    };
    let needed = params.block_count();
    let argon2 = Argon2::new(algorithm, version, params);
    let mut out = vec![0u8; expected.len()];
    let computed = if needed <= memory.len() {
        argon2.hash_password_into_with_memory(password.as_bytes(), salt, &mut out, memory)
    } else {
        let own = vec![Block::default(); needed];
        argon2.hash_password_into_with_memory(password.as_bytes(), salt, &mut out, own)
    };
    computed.is_ok() && bool::from(out.ct_eq(expected.as_bytes()))
}

/// argon2id PHC string of a normalized password, on the calling thread: for tests, benchmarks
/// and the dummy hash. Async code calls `hash_blocking`.
pub fn hash(password: &str) -> Result<String, AuthError> {
    let mut memory = WORKERS.take();
    let hashed = hash_in(password, &mut memory);
    WORKERS.give_back(memory);
    hashed
}

/// Hashes on the blocking pool, one per core at a time, so a burst of sign-ups queues rather than
/// taking 19 MiB each at once, and a busy dev server keeps serving other requests meanwhile.
pub async fn hash_blocking(password: String) -> Result<String, AuthError> {
    WORKERS
        .run(move |memory| hash_in(&password, memory))
        .await?
}

/// Verifies on the blocking pool (one per core at a time), any stored form (imported bcrypt and
/// PBKDF2 too). With no stored hash (unknown identifier, no password set) it verifies against a
/// dummy hash of the same cost and fails, as a wrong password would.
///
/// `typed` is the password as typed: Sesame's own hashes are of its NFKC form, while an imported
/// hash was made by a system that may not have normalized, so both forms are tried there.
///
/// A failure answers no sooner than `floor` after the verification began (queueing included),
/// twice `floor` when NFKC changes the password (an imported hash is then tried twice): the floor
/// depends only on what was typed, never on the account, and exceeds what the costliest hash the
/// import accepts takes, so the time never tells an imported user, a Sesame user and an unknown
/// identifier apart.
pub async fn verify_blocking(typed: String, phc: Option<String>, floor: Duration) -> bool {
    let normalized = normalize(&typed);
    let floor = if typed == normalized {
        floor
    } else {
        floor * 2
    };
    let check = WORKERS.run(move |memory| match phc {
        Some(phc) if !legacy::needs_upgrade(&phc) => verify_in(&normalized, &phc, memory),
        Some(phc) => {
            legacy::verify_in(&typed, &phc, memory)
                || (typed != normalized && legacy::verify_in(&normalized, &phc, memory))
        }
        None => {
            let _ = verify_in(&normalized, &DUMMY_HASH, memory);
            false
        }
    });
    floor::failing_no_sooner(floor, async move { check.await.unwrap_or(false) }).await
}

/// Builds the dummy hash now, so the first unknown identifier does not pay for it (call at cold
/// start where passwords are checked).
pub fn warm_up() {
    LazyLock::force(&DUMMY_HASH);
}

/// Hashed once per process with the current parameters; matches no password anyone types.
static DUMMY_HASH: LazyLock<String> =
    LazyLock::new(|| hash("sesame: no such user").expect("hashing a constant succeeds"));

/// Verifies an argon2 PHC string on the calling thread, with the parameters stored in it: for
/// tests and benchmarks. Sign-in calls `verify_blocking`.
pub fn verify(password: &str, phc: &str) -> bool {
    let mut memory = WORKERS.take();
    let right = verify_in(password, phc, &mut memory);
    WORKERS.give_back(memory);
    right
}

#[cfg(test)]
mod tests {
    use super::*;
    use argon2::password_hash::{PasswordHasher, PasswordVerifier};
    use tokio::time::Instant;

    const FLOOR: Duration = Duration::from_secs(3);

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

    #[test]
    fn when_hashed_in_reused_memory_the_phc_string_is_what_the_argon2_crate_reads_and_writes() {
        let ours = hash("analytical engine").unwrap();
        let parsed = PasswordHash::new(&ours).unwrap();
        assert!(
            Argon2::default()
                .verify_password(b"analytical engine", &parsed)
                .is_ok()
        );
        let theirs = Argon2::new(Algorithm::Argon2id, Version::V0x13, params())
            .hash_password(b"analytical engine")
            .unwrap()
            .to_string();
        assert!(verify("analytical engine", &theirs));
        assert!(!verify("analytical engines", &theirs));
    }

    #[test]
    fn when_a_hash_needs_more_memory_than_a_reused_buffer_it_still_verifies() {
        let bigger = Argon2::new(
            Algorithm::Argon2id,
            Version::V0x13,
            Params::new(2 * ARGON2_MEMORY_KIB, 1, 2, None).unwrap(),
        )
        .hash_password(b"analytical engine")
        .unwrap()
        .to_string();
        assert!(verify("analytical engine", &bigger));
        assert!(!verify("analytical engines", &bigger));
    }

    /// On tokio's paused clock the verification itself takes no time: what elapses is the floor.
    #[tokio::test(start_paused = true)]
    async fn when_any_verification_fails_it_answers_no_sooner_than_the_floor() {
        let imported = bcrypt::hash("analytical engine", 4).unwrap();
        let own = hash("analytical engine").unwrap();
        for stored in [Some(imported), Some(own), None] {
            let began = Instant::now();
            assert!(!verify_blocking("wrong password".into(), stored.clone(), FLOOR).await);
            assert!(
                began.elapsed() >= FLOOR,
                "{stored:?}: {:?}",
                began.elapsed()
            );
        }
    }

    #[tokio::test(start_paused = true)]
    async fn when_nfkc_changes_a_wrong_password_the_floor_is_doubled_for_every_account() {
        let imported = bcrypt::hash("analytical engine", 4).unwrap();
        for stored in [Some(imported), None] {
            let began = Instant::now();
            assert!(!verify_blocking("ｗｒｏｎｇ ｐａｓｓ".into(), stored.clone(), FLOOR).await);
            assert!(
                began.elapsed() >= 2 * FLOOR,
                "{stored:?}: {:?}",
                began.elapsed()
            );
        }
    }

    #[tokio::test(start_paused = true)]
    async fn when_the_password_is_right_it_answers_without_waiting_for_the_floor() {
        let imported = bcrypt::hash("analytical engine", 4).unwrap();
        let began = Instant::now();
        assert!(verify_blocking("analytical engine".into(), Some(imported), FLOOR).await);
        assert!(began.elapsed() < FLOOR, "{:?}", began.elapsed());
    }
}
