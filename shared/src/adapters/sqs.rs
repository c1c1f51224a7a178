//! The code queue in SQS: each item is sealed (AES-256-GCM under a key derived from the code
//! key, so no code is in clear in the queue, its dead-letter queue or a console), padded to a
//! fixed size (a decoy and a real message look and cost alike), and sent with one
//! `SendMessage`. The `send-codes` function opens it with the same key.

use async_trait::async_trait;
use aws_lc_rs::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

use crate::domain::ports::{CodeQueue, Outgoing, QueueError};
use crate::ids::random_bytes;

/// What the sealing key is derived for: never the code key itself, which only hashes codes.
const PURPOSE: &[u8] = b"sesame send-codes queue v1";
/// Items are padded to a multiple of this, so their size does not tell a decoy from a message
/// (a code message is ~1 KiB of JSON, a signup link's a little more).
const PAD: usize = 2048;

/// Seals and opens queue items.
pub struct Sealer(LessSafeKey);

impl Sealer {
    pub fn new(code_key: &[u8]) -> Self {
        let mut mac = Hmac::<Sha256>::new_from_slice(code_key).expect("HMAC takes any key");
        mac.update(PURPOSE);
        let key = mac.finalize().into_bytes();
        let key = UnboundKey::new(&AES_256_GCM, &key).expect("a 32-byte key");
        Self(LessSafeKey::new(key))
    }

    /// The item as a message body: base64 of nonce and ciphertext.
    pub fn seal(&self, item: &Outgoing) -> Result<String, QueueError> {
        let mut plain = serde_json::to_vec(item).map_err(|e| QueueError(e.to_string()))?;
        // JSON ignores trailing whitespace.
        let padded = plain.len().div_ceil(PAD).max(1) * PAD;
        plain.resize(padded, b' ');
        let nonce: [u8; NONCE_LEN] = random_bytes::<NONCE_LEN>();
        self.0
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(PURPOSE),
                &mut plain,
            )
            .map_err(|_| QueueError("sealing failed".into()))?;
        let mut body = nonce.to_vec();
        body.extend_from_slice(&plain);
        Ok(STANDARD.encode(body))
    }

    /// A message body back as the item. The error says what is wrong, never what it holds.
    pub fn open(&self, body: &str) -> Result<Outgoing, String> {
        let bytes = STANDARD
            .decode(body.trim())
            .map_err(|_| "not base64".to_string())?;
        if bytes.len() < NONCE_LEN {
            return Err("too short".into());
        }
        let (nonce, sealed) = bytes.split_at(NONCE_LEN);
        let nonce = Nonce::try_assume_unique_for_key(nonce).map_err(|_| "bad nonce".to_string())?;
        let mut sealed = sealed.to_vec();
        let plain = self
            .0
            .open_in_place(nonce, Aad::from(PURPOSE), &mut sealed)
            .map_err(|_| "not sealed under this code key".to_string())?;
        serde_json::from_slice(plain).map_err(|_| "not an item".to_string())
    }
}

pub struct SqsCodeQueue {
    client: aws_sdk_sqs::Client,
    url: String,
    sealer: Sealer,
}

impl SqsCodeQueue {
    pub fn new(client: aws_sdk_sqs::Client, url: String, sealer: Sealer) -> Self {
        Self {
            client,
            url,
            sealer,
        }
    }
}

#[async_trait]
impl CodeQueue for SqsCodeQueue {
    async fn enqueue(&self, item: &Outgoing) -> Result<(), QueueError> {
        let body = self.sealer.seal(item)?;
        self.client
            .send_message()
            .queue_url(&self.url)
            .message_body(body)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| QueueError(aws_sdk_sqs::error::DisplayErrorContext(e).to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::model::{AttemptKind, Channel};
    use crate::domain::ports::{Message, SentCode};

    fn item(message: Option<Message>) -> Outgoing {
        Outgoing {
            message,
            attempt: Some(SentCode {
                session_id: "sess_1".into(),
                attempt_id: "sia_1".into(),
                kind: AttemptKind::Signin,
                code_hash: "ab".repeat(32),
            }),
        }
    }

    #[test]
    fn a_sealed_item_opens_as_itself_and_shows_no_code_nor_address() {
        let sealer = Sealer::new(&[7; 32]);
        let message = Message {
            channel: Channel::Email,
            to: "ada@example.com".into(),
            subject: "Your verification code".into(),
            text: "Your verification code is 493817.".into(),
            html: "<p>493817</p>".into(),
        };
        let body = sealer.seal(&item(Some(message.clone()))).unwrap();
        let raw = String::from_utf8_lossy(&STANDARD.decode(&body).unwrap()).into_owned();
        assert!(!body.contains("493817") && !raw.contains("493817"));
        assert!(!raw.contains("ada@example.com"));
        assert!(sealer.open(&body).unwrap() == item(Some(message)));
        assert!(Sealer::new(&[8; 32]).open(&body).is_err(), "another key");
    }

    #[test]
    fn a_decoy_and_a_message_are_sealed_to_the_same_size() {
        let sealer = Sealer::new(&[7; 32]);
        let message = crate::domain::messages::verification_code(
            Channel::Email,
            "a.rather.long.address@example.com",
            "123456",
        );
        let real = sealer.seal(&item(Some(message))).unwrap();
        let decoy = sealer.seal(&item(None)).unwrap();
        assert_eq!(real.len(), decoy.len());
        assert!(sealer.open(&decoy).unwrap().message.is_none());
    }
}
