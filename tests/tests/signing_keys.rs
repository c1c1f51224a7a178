//! The token-signing keys in AWS: the keyring in the table (DynamoDB Local), its private keys
//! sealed by KMS (moto). Containers are separate `CachedKeys` over the same table.

use std::sync::Arc;

use futures_util::future::join_all;
use jsonwebtoken::{DecodingKey, Validation, decode, decode_header};
use serde_json::{Map, Value, json};
use sesame::adapters::keys::{CachedKeys, KmsTableVault, Vault};
use sesame::domain::keyring::{PUBLISH_LEAD, REFRESH, Rotation};
use sesame::domain::ports::{KeyProvider, PublishedKey};
use sesame_e2e::Moto;
use time::OffsetDateTime;

async fn vault(moto: &Moto) -> KmsTableVault {
    let config = moto.config(&[]);
    let sdk = sesame::wiring::sdk_config(&config).await;
    let kms = aws_sdk_kms::config::Builder::from(&sdk).endpoint_url(&moto.endpoint);
    KmsTableVault::new(
        moto.store(None).await.client().clone(),
        moto.table.clone(),
        aws_sdk_kms::Client::from_conf(kms.build()),
        moto.kms_key_id.clone(),
    )
}

/// A new container: its own cache over the deployment's table and KMS key.
async fn container(moto: &Moto) -> Arc<CachedKeys<KmsTableVault>> {
    Arc::new(CachedKeys::new(vault(moto).await))
}

fn claims() -> Map<String, Value> {
    let mut claims = Map::new();
    claims.insert("sub".into(), json!("usr_1"));
    claims.insert("exp".into(), json!(4_000_000_000u64));
    claims
}

fn verifies(jwt: &str, keys: &[PublishedKey]) -> bool {
    let kid = decode_header(jwt).unwrap().kid.unwrap();
    let Some(key) = keys.iter().find(|k| k.kid == kid) else {
        return false;
    };
    let key = DecodingKey::from_rsa_components(&key.public.n, &key.public.e).unwrap();
    let mut validation = Validation::new(jsonwebtoken::Algorithm::RS256);
    validation.validate_aud = false;
    decode::<Value>(jwt, &key, &validation).is_ok()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn parallel_cold_starts_end_with_one_key() {
    let Some(moto) = Moto::new(false).await else {
        return;
    };
    let now = OffsetDateTime::now_utc();
    let containers = join_all((0..8).map(|_| container(&moto))).await;
    let claims = claims();
    let tokens = join_all(containers.iter().map(|c| c.sign(&claims, now))).await;
    let tokens: Vec<String> = tokens.into_iter().map(Result::unwrap).collect();
    let kids: Vec<String> = tokens
        .iter()
        .map(|t| decode_header(t).unwrap().kid.unwrap())
        .collect();
    assert!(
        kids.iter().all(|k| *k == kids[0]),
        "one key for all: {kids:?}"
    );

    let stored = vault(&moto).await.load().await.unwrap().expect("a keyring");
    assert_eq!((stored.version, stored.keys.len()), (1, 1));
    assert_eq!(stored.keys[0].kid, kids[0]);
    let published = containers[0].published(now).await.unwrap();
    assert!(tokens.iter().all(|t| verifies(t, &published)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn containers_that_missed_a_rotation_switch_keys_with_the_one_that_made_it() {
    let Some(moto) = Moto::new(false).await else {
        return;
    };
    let now = OffsetDateTime::now_utc();
    let (a, b) = (container(&moto).await, container(&moto).await);
    let first = a.sign(&claims(), now).await.unwrap();
    let old_kid = decode_header(&first).unwrap().kid.unwrap();
    assert_eq!(b.published(now).await.unwrap().len(), 1, "b has its copy");

    let Rotation::Staged(ring) = a.rotate(now, false).await.unwrap() else {
        panic!("a fresh keyring rotates");
    };
    let new_kid = ring.keys.last().unwrap().kid.clone();
    // b's copy predates the rotation, but it re-reads within REFRESH, well inside the lead.
    assert!(REFRESH < PUBLISH_LEAD);
    let switch = now + PUBLISH_LEAD;
    for c in [&a, &b] {
        let before = c
            .sign(&claims(), switch - time::Duration::SECOND)
            .await
            .unwrap();
        let after = c.sign(&claims(), switch).await.unwrap();
        assert_eq!(decode_header(&before).unwrap().kid.unwrap(), old_kid);
        assert_eq!(decode_header(&after).unwrap().kid.unwrap(), new_kid);
        assert!(verifies(&after, &c.published(switch).await.unwrap()));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_stored_private_key_opens_only_with_kms_and_its_own_context() {
    let Some(moto) = Moto::new(false).await else {
        return;
    };
    let now = OffsetDateTime::now_utc();
    container(&moto).await.sign(&claims(), now).await.unwrap();
    let vault = vault(&moto).await;
    let ring = vault.load().await.unwrap().unwrap();
    let entry = &ring.keys[0];
    // What the table holds is KMS ciphertext, not a DER private key (which starts 0x30 0x82).
    let sealed =
        base64::Engine::decode(&base64::engine::general_purpose::STANDARD, &entry.sealed.0)
            .unwrap();
    assert!(!sealed.starts_with(&[0x30, 0x82]));
    let opened = vault.unseal(&entry.kid, &entry.sealed).await.unwrap();
    assert!(opened.starts_with(&[0x30, 0x82]), "PKCS#8 DER");
    assert!(
        vault.unseal("another-kid", &entry.sealed).await.is_err(),
        "the encryption context binds the ciphertext to its kid"
    );
}
