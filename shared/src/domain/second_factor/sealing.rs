//! TOTP secrets at rest: sealed with XChaCha20-Poly1305 under a key derived from the code key
//! (`CODE_HASH_KEY`, from Secrets Manager in AWS), which is never in the table. The user id is
//! the associated data, so a sealed secret copied onto another user's item does not open.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chacha20poly1305::aead::{Aead, Payload};
use chacha20poly1305::{KeyInit, XChaCha20Poly1305};
use hmac::{Hmac, Mac};
use sha2::Sha256;
use zeroize::Zeroizing;

use crate::domain::error::AuthError;
use crate::ids::random_bytes;

const VERSION: &str = "v1.";
const NONCE_LEN: usize = 24;

/// The sealing key: HMAC-SHA256 of a fixed label under the code key, so the code key itself
/// never keys two algorithms.
fn cipher(code_key: &[u8]) -> XChaCha20Poly1305 {
    let mut mac =
        <Hmac<Sha256> as hmac::KeyInit>::new_from_slice(code_key).expect("HMAC takes any key");
    mac.update(b"sesame/totp-secret-sealing/v1");
    let key = Zeroizing::new(mac.finalize().into_bytes().to_vec());
    XChaCha20Poly1305::new_from_slice(&key).expect("a 32-byte key")
}

/// `v1.` and base64url of the random nonce followed by the ciphertext and tag.
pub fn seal(code_key: &[u8], user_id: &str, secret: &[u8]) -> String {
    let nonce = random_bytes::<NONCE_LEN>();
    let sealed = cipher(code_key)
        .encrypt(
            (&nonce).into(),
            Payload {
                msg: secret,
                aad: user_id.as_bytes(),
            },
        )
        .expect("sealing a short secret cannot fail");
    let mut out = nonce.to_vec();
    out.extend_from_slice(&sealed);
    format!("{VERSION}{}", URL_SAFE_NO_PAD.encode(out))
}

/// The secret behind `sealed`; an internal error if it does not open (a wrong key, or an item
/// tampered with), never a detail of why.
pub fn open(code_key: &[u8], user_id: &str, sealed: &str) -> Result<Zeroizing<Vec<u8>>, AuthError> {
    let fail = || AuthError::internal("a stored TOTP secret does not open under this key");
    let raw = sealed
        .strip_prefix(VERSION)
        .and_then(|b| URL_SAFE_NO_PAD.decode(b).ok())
        .filter(|r| r.len() > NONCE_LEN)
        .ok_or_else(fail)?;
    let (nonce, body) = raw.split_at(NONCE_LEN);
    let nonce: [u8; NONCE_LEN] = nonce.try_into().map_err(|_| fail())?;
    cipher(code_key)
        .decrypt(
            (&nonce).into(),
            Payload {
                msg: body,
                aad: user_id.as_bytes(),
            },
        )
        .map(Zeroizing::new)
        .map_err(|_| fail())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sealed_secret_opens_only_with_its_key_and_its_user() {
        let key = [7u8; 32];
        let sealed = seal(&key, "usr_a", b"0123456789abcdefghij");
        assert!(!sealed.contains("0123456789"));
        assert_eq!(
            open(&key, "usr_a", &sealed).unwrap().as_slice(),
            b"0123456789abcdefghij"
        );
        assert!(open(&[8u8; 32], "usr_a", &sealed).is_err());
        assert!(open(&key, "usr_b", &sealed).is_err());
        // Two seals of one secret differ (random nonces).
        assert_ne!(sealed, seal(&key, "usr_a", b"0123456789abcdefghij"));
    }
}
