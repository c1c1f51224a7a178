//! The composition root: builds the adapters once per container (or dev server) and hands the
//! domain a `Deps` of trait objects. The only module that names concrete adapters.

use std::sync::Arc;

use crate::adapters::clock::SystemClock;
use crate::adapters::dynamo::{CallLog, CallLogInterceptor, DynamoStore};
use crate::adapters::events::eventbridge::EventBridgeBus;
use crate::adapters::keys::{CachedKeys, InProcessVault, KmsTableVault};
use crate::adapters::memory::MemoryStore;
use crate::adapters::oidc::Oidc;
use crate::adapters::outbox::Outbox;
use crate::adapters::ses_sns::AwsNotifier;
use crate::adapters::sqs::{Sealer, SqsCodeQueue};
use crate::config::{CodeHashKey, Config, ConfigError, code_key};
use crate::domain::Deps;
use crate::domain::ports::{CodeQueue, KeyProvider};

/// The embedded store and outbox: no AWS needed. The store publishes its domain events to the
/// outbox's event log (`GET /dev/events`).
pub fn embedded(config: Config) -> (Deps, Arc<Outbox>) {
    let outbox = Arc::new(Outbox::new());
    let deps = Deps {
        identity: Arc::new(Oidc::new(&config.oidc)),
        config: Arc::new(config),
        store: Arc::new(MemoryStore::publishing_to(outbox.events().clone())),
        notifier: outbox.clone(),
        // Codes go to the outbox in the request: the dev server has no queue.
        queue: None,
        clock: Arc::new(SystemClock),
        keys: in_process_keys(),
    };
    (deps, outbox)
}

/// DynamoDB, SES v2 and SNS, each at its own endpoint when one is set (emulators). A code key
/// named by its secret is read here, once: the only Secrets Manager call, made only by the
/// functions given the secret (those that handle codes).
pub async fn aws(mut config: Config, call_log: Option<CallLog>) -> Result<Deps, ConfigError> {
    let sdk = sdk_config(&config).await;
    if let CodeHashKey::Secret(arn) = &config.code_hash_key {
        let key = read_code_key(&sdk, &config, arn, call_log.clone()).await?;
        config.code_hash_key = CodeHashKey::Key(key);
    }
    let endpoint = |service| config.aws_endpoints.for_service(service);
    let store = DynamoStore::new(
        &sdk,
        endpoint("dynamodb"),
        config.table_name.clone(),
        call_log.clone(),
    );
    let keys: Arc<dyn KeyProvider> = match &config.tokens.kms_key_id {
        Some(kms_key_id) => {
            let mut kms = aws_sdk_kms::config::Builder::from(&sdk);
            if let Some(url) = endpoint("kms") {
                kms = kms.endpoint_url(url);
            }
            if let Some(log) = call_log {
                kms = kms.interceptor(CallLogInterceptor(log));
            }
            Arc::new(CachedKeys::new(KmsTableVault::new(
                store.client().clone(),
                config.table_name.clone(),
                aws_sdk_kms::Client::from_conf(kms.build()),
                kms_key_id.clone(),
            )))
        }
        // Only outside Lambda (the setting is required there): the dev server on emulators.
        None => {
            tracing::warn!(
                "SIGNING_KEY_KMS_KEY_ID is unset: token-signing keys live in this process only"
            );
            in_process_keys()
        }
    };
    let mut ses = aws_sdk_sesv2::config::Builder::from(&sdk);
    let mut sns = aws_sdk_sns::config::Builder::from(&sdk);
    if let Some(url) = endpoint("sesv2") {
        ses = ses.endpoint_url(url);
    }
    if let Some(url) = endpoint("sns") {
        sns = sns.endpoint_url(url);
    }
    let notifier = AwsNotifier::new(
        aws_sdk_sesv2::Client::from_conf(ses.build()),
        aws_sdk_sns::Client::from_conf(sns.build()),
        config.email_from.clone(),
        config.sms_sender_id.clone(),
    );
    // Sign-in codes through the queue when one is configured (in Lambda, every function that
    // sends them); its items are sealed under the code key, so it needs one.
    let queue = match (&config.code_queue_url, config.code_hash_key.bytes()) {
        (Some(url), Some(key)) => {
            let mut sqs = aws_sdk_sqs::config::Builder::from(&sdk);
            if let Some(url) = endpoint("sqs") {
                sqs = sqs.endpoint_url(url);
            }
            let queue: Arc<dyn CodeQueue> = Arc::new(SqsCodeQueue::new(
                aws_sdk_sqs::Client::from_conf(sqs.build()),
                url.clone(),
                Sealer::new(key),
            ));
            Some(queue)
        }
        _ => None,
    };
    Ok(Deps {
        identity: Arc::new(Oidc::new(&config.oidc)),
        config: Arc::new(config),
        store: Arc::new(store),
        notifier: Arc::new(notifier),
        queue,
        clock: Arc::new(SystemClock),
        keys,
    })
}

/// The secret's `SecretString`, 64 hex digits (template.yaml generates them). A failure stops the
/// cold start naming the setting, never showing the value.
pub async fn read_code_key(
    sdk: &aws_config::SdkConfig,
    config: &Config,
    arn: &str,
    call_log: Option<CallLog>,
) -> Result<Vec<u8>, ConfigError> {
    const NAME: &str = "CODE_HASH_KEY_SECRET_ARN";
    let mut builder = aws_sdk_secretsmanager::config::Builder::from(sdk);
    if let Some(url) = config.aws_endpoints.for_service("secretsmanager") {
        builder = builder.endpoint_url(url);
    }
    if let Some(log) = call_log {
        builder = builder.interceptor(CallLogInterceptor(log));
    }
    let client = aws_sdk_secretsmanager::Client::from_conf(builder.build());
    let out = client
        .get_secret_value()
        .secret_id(arn)
        .send()
        .await
        .map_err(|e| ConfigError {
            name: NAME,
            reason: format!(
                "reading the secret failed: {}",
                aws_sdk_secretsmanager::error::DisplayErrorContext(e)
            ),
        })?;
    let value = out.secret_string().ok_or(ConfigError {
        name: NAME,
        reason: "the secret has no SecretString".into(),
    })?;
    code_key::decode(NAME, value)
}

/// The bus the `events` function publishes domain events on: EventBridge's `EVENT_BUS_NAME`.
pub async fn event_bus(config: &Config) -> EventBridgeBus {
    let sdk = sdk_config(config).await;
    EventBridgeBus::new(
        &sdk,
        config.aws_endpoints.for_service("eventbridge"),
        config.event_bus_name.clone(),
    )
}

/// Keys generated in this process and gone when it stops: the dev server and fast tests.
pub fn in_process_keys() -> Arc<dyn KeyProvider> {
    Arc::new(CachedKeys::new(InProcessVault::default()))
}

pub async fn sdk_config(config: &Config) -> aws_config::SdkConfig {
    let mut loader = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .region(aws_config::Region::new(config.aws_region.clone()));
    if let Some(url) = &config.aws_endpoints.default {
        loader = loader.endpoint_url(url);
    }
    loader.load().await
}
