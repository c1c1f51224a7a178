//! Backup codes: ten per user, 12 characters of Crockford base32 each (60 bits), shown once as
//! `xxxx-xxxx-xxxx`, stored only as an HMAC under the code key bound to the user. A keyed hash is
//! enough for 60 random bits (guessing offline needs the key, which is not in the table) and,
//! unlike a salted password hash, lets a sign-in remove the code it used by its hash with one
//! conditional write, without reading the user first.

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

use crate::ids::random_below;

pub const COUNT: usize = 10;
const LEN: usize = 12;
/// Crockford's base32: no I, L, O or U.
const ALPHABET: &[u8; 32] = b"0123456789abcdefghjkmnpqrstvwxyz";

/// Ten fresh codes, as shown to the user.
pub fn generate() -> Vec<String> {
    (0..COUNT)
        .map(|_| {
            let raw: String = (0..LEN)
                .map(|_| ALPHABET[random_below(32) as usize] as char)
                .collect();
            format!("{}-{}-{}", &raw[0..4], &raw[4..8], &raw[8..12])
        })
        .collect()
}

/// A typed code in its canonical form: case, dashes and spaces ignored, Crockford's look-alikes
/// (`i`/`l` for 1, `o` for 0) read as what they look like. `None` if it cannot be a code.
pub fn normalize(typed: &str) -> Option<String> {
    let out: String = typed
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .map(|c| match c.to_ascii_lowercase() {
            'i' | 'l' => '1',
            'o' => '0',
            c => c,
        })
        .collect();
    (out.len() == LEN && out.bytes().all(|b| ALPHABET.contains(&b))).then_some(out)
}

/// Hex HMAC-SHA256 of the normalized code, bound to the user.
pub fn hash(code_key: &[u8], user_id: &str, normalized: &str) -> String {
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(code_key).expect("any key length");
    for part in ["backup_code", user_id, normalized] {
        mac.update(&(part.len() as u32).to_be_bytes());
        mac.update(part.as_bytes());
    }
    hex::encode(mac.finalize().into_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_ten_distinct_and_read_back_however_typed() {
        let codes = generate();
        assert_eq!(codes.len(), COUNT);
        let mut unique = codes.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), COUNT);
        let c = &codes[0];
        let canonical = normalize(c).unwrap();
        assert_eq!(
            normalize(&c.to_uppercase().replace('-', " ")),
            Some(canonical.clone())
        );
        assert_eq!(normalize("ABCD-EFGH-JKMU"), None);
        let key = [1u8; 32];
        assert_ne!(
            hash(&key, "usr_a", &canonical),
            hash(&key, "usr_b", &canonical)
        );
    }
}
