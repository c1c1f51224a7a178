//! The composition root: builds the adapters once per container (or dev server) and hands the
//! domain a `Deps` of trait objects. The only module that names concrete adapters.

use std::sync::Arc;

use crate::adapters::clock::SystemClock;
use crate::adapters::dynamo::{CallLog, DynamoStore};
use crate::adapters::memory::MemoryStore;
use crate::adapters::oidc::Oidc;
use crate::adapters::outbox::Outbox;
use crate::adapters::ses_sns::AwsNotifier;
use crate::config::Config;
use crate::domain::Deps;

/// The embedded store and outbox: no AWS needed.
pub fn embedded(config: Config) -> (Deps, Arc<Outbox>) {
    let outbox = Arc::new(Outbox::new());
    let deps = Deps {
        identity: Arc::new(Oidc::new(&config.oidc)),
        config: Arc::new(config),
        store: Arc::new(MemoryStore::new()),
        notifier: outbox.clone(),
        clock: Arc::new(SystemClock),
    };
    (deps, outbox)
}

/// DynamoDB, SES v2 and SNS, each at its own endpoint when one is set (emulators).
pub async fn aws(config: Config, call_log: Option<CallLog>) -> Deps {
    let sdk = sdk_config(&config).await;
    let endpoint = |service| config.aws_endpoints.for_service(service);
    let store = DynamoStore::new(
        &sdk,
        endpoint("dynamodb"),
        config.table_name.clone(),
        call_log,
    );
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
    Deps {
        identity: Arc::new(Oidc::new(&config.oidc)),
        config: Arc::new(config),
        store: Arc::new(store),
        notifier: Arc::new(notifier),
        clock: Arc::new(SystemClock),
    }
}

pub async fn sdk_config(config: &Config) -> aws_config::SdkConfig {
    let mut loader = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .region(aws_config::Region::new(config.aws_region.clone()));
    if let Some(url) = &config.aws_endpoints.default {
        loader = loader.endpoint_url(url);
    }
    loader.load().await
}
