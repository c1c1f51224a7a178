//! The vault in AWS: the keyring is one item in the table (`pk` = `sk` = `KEYRING`), each private
//! key in it sealed by KMS `Encrypt` under the deployment's own KMS key, bound to its `kid` by
//! the encryption context. The private key is never in the template, an environment variable or
//! a log; a function needs `kms:Decrypt` on that key to use it.

use std::collections::HashMap;

use async_trait::async_trait;
use aws_sdk_dynamodb::types::AttributeValue;
use aws_sdk_kms::primitives::Blob;
use aws_smithy_types::error::display::DisplayErrorContext;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use zeroize::Zeroizing;

use super::vault::{Stored, Vault};
use crate::domain::keyring::{Keyring, SealedKey};
use crate::domain::ports::KeyError;

const KEYRING: &str = "KEYRING";
/// In every Encrypt and Decrypt: a ciphertext only opens for the purpose and key it was made for,
/// and CloudTrail shows which key each Decrypt was for.
const PURPOSE: (&str, &str) = ("purpose", "sesame-token-signing-key");

pub struct KmsTableVault {
    dynamodb: aws_sdk_dynamodb::Client,
    table: String,
    kms: aws_sdk_kms::Client,
    kms_key_id: String,
}

impl KmsTableVault {
    pub fn new(
        dynamodb: aws_sdk_dynamodb::Client,
        table: String,
        kms: aws_sdk_kms::Client,
        kms_key_id: String,
    ) -> Self {
        Self {
            dynamodb,
            table,
            kms,
            kms_key_id,
        }
    }

    fn key(&self) -> HashMap<String, AttributeValue> {
        HashMap::from([
            ("pk".to_string(), AttributeValue::S(KEYRING.into())),
            ("sk".to_string(), AttributeValue::S(KEYRING.into())),
        ])
    }
}

fn context(kid: &str) -> HashMap<String, String> {
    HashMap::from([
        (PURPOSE.0.to_string(), PURPOSE.1.to_string()),
        ("kid".to_string(), kid.to_string()),
    ])
}

fn unavailable<E: std::error::Error + 'static>(what: &str) -> impl FnOnce(E) -> KeyError + '_ {
    move |e| KeyError::Unavailable(format!("{what}: {}", DisplayErrorContext(e)))
}

#[async_trait]
impl Vault for KmsTableVault {
    async fn load(&self) -> Result<Option<Keyring>, KeyError> {
        let got = self
            .dynamodb
            .get_item()
            .table_name(&self.table)
            .set_key(Some(self.key()))
            .consistent_read(true)
            .send()
            .await
            .map_err(unavailable("read the keyring"))?;
        let Some(item) = got.item else {
            return Ok(None);
        };
        let json = match item.get("keyring") {
            Some(AttributeValue::S(json)) => json,
            _ => return Err(KeyError::Unavailable("keyring item has no keyring".into())),
        };
        serde_json::from_str(json)
            .map(Some)
            .map_err(|e| KeyError::Unavailable(format!("keyring item is corrupt: {e}")))
    }

    async fn store(&self, keyring: &Keyring) -> Result<Stored, KeyError> {
        let json = serde_json::to_string(keyring)
            .map_err(|e| KeyError::Unavailable(format!("encode the keyring: {e}")))?;
        let mut item = self.key();
        item.insert("keyring".into(), AttributeValue::S(json));
        item.insert(
            "version".into(),
            AttributeValue::N(keyring.version.to_string()),
        );
        let put = self
            .dynamodb
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item));
        let put = if keyring.version == 1 {
            put.condition_expression("attribute_not_exists(pk)")
        } else {
            put.condition_expression("version = :previous")
                .expression_attribute_values(
                    ":previous",
                    AttributeValue::N((keyring.version - 1).to_string()),
                )
        };
        match put.send().await {
            Ok(_) => Ok(Stored::Written),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_conditional_check_failed_exception()) =>
            {
                Ok(Stored::Conflict)
            }
            Err(e) => Err(unavailable("write the keyring")(e)),
        }
    }

    async fn seal(&self, kid: &str, pkcs8: &[u8]) -> Result<SealedKey, KeyError> {
        let out = self
            .kms
            .encrypt()
            .key_id(&self.kms_key_id)
            .plaintext(Blob::new(pkcs8.to_vec()))
            .set_encryption_context(Some(context(kid)))
            .send()
            .await
            .map_err(unavailable("seal the signing key with KMS"))?;
        let blob = out
            .ciphertext_blob
            .ok_or_else(|| KeyError::Unavailable("KMS returned no ciphertext".into()))?;
        Ok(SealedKey(STANDARD.encode(blob.as_ref())))
    }

    async fn unseal(&self, kid: &str, sealed: &SealedKey) -> Result<Zeroizing<Vec<u8>>, KeyError> {
        let ciphertext = STANDARD
            .decode(&sealed.0)
            .map_err(|e| KeyError::Unavailable(format!("sealed key is not base64: {e}")))?;
        let out = self
            .kms
            .decrypt()
            .key_id(&self.kms_key_id)
            .ciphertext_blob(Blob::new(ciphertext))
            .set_encryption_context(Some(context(kid)))
            .send()
            .await
            .map_err(unavailable("unseal the signing key with KMS"))?;
        let plaintext = out
            .plaintext
            .ok_or_else(|| KeyError::Unavailable("KMS returned no plaintext".into()))?;
        Ok(Zeroizing::new(plaintext.into_inner()))
    }
}
