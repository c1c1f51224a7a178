//! Opaque prefixed identifiers and secrets, all from the operating system's CSPRNG.

use rand::TryRng;
use rand::rngs::SysRng;

/// Fills `N` bytes from the OS. Entropy failure is unrecoverable for an auth service.
pub fn random_bytes<const N: usize>() -> [u8; N] {
    let mut out = [0u8; N];
    SysRng
        .try_fill_bytes(&mut out)
        .expect("the operating system's random number generator failed");
    out
}

/// `prefix_` followed by 128 random bits in hex, e.g. `usr_3f2a...`.
pub fn new_id(prefix: &str) -> String {
    format!("{prefix}_{}", hex::encode(random_bytes::<16>()))
}

/// A uniformly random integer below `bound`, by rejection sampling over OS randomness.
pub fn random_below(bound: u32) -> u32 {
    let zone = u32::MAX - (u32::MAX % bound);
    loop {
        let n = u32::from_le_bytes(random_bytes::<4>());
        if n < zone {
            return n % bound;
        }
    }
}

pub mod prefix {
    pub const USER: &str = "usr";
    pub const SESSION: &str = "sess";
    pub const SIGNIN: &str = "sin";
    pub const SIGNIN_ATTEMPT: &str = "sia";
    pub const SIGNUP_ATTEMPT: &str = "sua";
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn when_ids_are_generated_they_are_prefixed_and_distinct() {
        let a = new_id(prefix::USER);
        let b = new_id(prefix::USER);
        assert!(a.starts_with("usr_") && a.len() == 4 + 32);
        assert_ne!(a, b);
    }

    #[test]
    fn when_drawing_below_a_bound_every_value_stays_under_it() {
        let draws: Vec<u32> = (0..2000).map(|_| random_below(10)).collect();
        assert!(draws.iter().all(|&n| n < 10));
        // 2000 draws over 10 values: every value turns up (fails with odds below 1e-80).
        assert!((0..10).all(|v| draws.contains(&v)));
    }
}
