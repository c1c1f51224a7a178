//! The AWS emulators the tests run against: DynamoDB Local (a fresh table per test) and moto
//! (SES v2, SNS, SQS, KMS and Secrets Manager), found through `DYNAMODB_ENDPOINT` and
//! `MOTO_ENDPOINT`; without them the emulator tests skip, except under `CI=true`.

use serde_json::Value;
use sesame::adapters::dynamo::{CallLog, DynamoStore, ensure_table};
use sesame::config::Config;
use sesame::ids::new_id;

use crate::test_config;

/// An emulator's address from `var`, or `None` (skip) outside CI.
fn emulator_endpoint(var: &str) -> Option<String> {
    match std::env::var(var) {
        Ok(url) if !url.is_empty() => Some(url),
        _ if std::env::var("CI").is_ok_and(|v| v == "true") => {
            panic!("{var} is not set: under CI=true the emulator tests must run, not skip")
        }
        _ => {
            eprintln!("{var} is not set: skipping an emulator test (run ./scripts/test)");
            None
        }
    }
}

/// moto's address (SES v2 and SNS), or `None` (skip) outside CI.
pub fn moto_endpoint() -> Option<String> {
    emulator_endpoint("MOTO_ENDPOINT")
}

/// DynamoDB Local's address, or `None` (skip) outside CI.
pub fn dynamodb_endpoint() -> Option<String> {
    emulator_endpoint("DYNAMODB_ENDPOINT")
}

/// The adapter on a fresh table in DynamoDB Local (no moto needed), or `None` (skip) outside CI.
pub async fn fresh_dynamo_store(call_log: Option<CallLog>) -> Option<DynamoStore> {
    let dynamodb = dynamodb_endpoint()?;
    let table = new_id("sesame-test");
    let config = test_config(&[("AWS_ENDPOINT_URL_DYNAMODB", &dynamodb)]);
    let store = dynamo_store(&config, &table, call_log).await;
    ensure_table(store.client(), &table)
        .await
        .expect("DynamoDB Local table");
    Some(store)
}

/// The adapter as `App::aws` builds it for `config`, on `table`.
async fn dynamo_store(config: &Config, table: &str, call_log: Option<CallLog>) -> DynamoStore {
    let sdk = sesame::wiring::sdk_config(config).await;
    let endpoint = config.aws_endpoints.for_service("dynamodb");
    DynamoStore::new(&sdk, endpoint, table.to_string(), call_log)
}

/// The AWS backend's emulators: a fresh table in DynamoDB Local, so tests never see each other's
/// data, and a (verified) sender in moto for SES v2 and SNS.
pub struct Moto {
    /// moto: SES v2 and SNS only.
    pub endpoint: String,
    /// DynamoDB Local.
    pub dynamodb: String,
    pub table: String,
    pub sender: String,
    /// A KMS key in moto that seals the token-signing key, as `template.yaml`'s does in AWS.
    pub kms_key_id: String,
}

impl Moto {
    pub async fn new(verify_sender: bool) -> Option<Self> {
        let endpoint = moto_endpoint()?;
        let dynamodb = dynamodb_endpoint()?;
        let table = new_id("sesame-test");
        let sender = format!("{}@sesame.test", new_id("sender"));
        let kms_key_id = create_kms_key(&endpoint).await;
        let moto = Self {
            endpoint,
            dynamodb,
            table,
            sender,
            kms_key_id,
        };
        ensure_table(moto.store(None).await.client(), &moto.table)
            .await
            .expect("DynamoDB Local table");
        if verify_sender {
            moto.verify_sender().await;
        }
        Some(moto)
    }

    /// The adapter on this table, as `App::aws` builds it.
    pub async fn store(&self, call_log: Option<CallLog>) -> DynamoStore {
        dynamo_store(&self.config(&[]), &self.table, call_log).await
    }

    /// SES v2 refuses to send from an unverified identity; this verifies the sender.
    pub async fn verify_sender(&self) {
        let sdk = sesame::wiring::sdk_config(&self.config(&[])).await;
        let ses = aws_sdk_sesv2::config::Builder::from(&sdk).endpoint_url(&self.endpoint);
        aws_sdk_sesv2::Client::from_conf(ses.build())
            .create_email_identity()
            .email_identity(&self.sender)
            .send()
            .await
            .expect("create the sender identity");
    }

    pub fn config(&self, overrides: &[(&str, &str)]) -> Config {
        let mut all: Vec<(&str, &str)> = vec![
            // Each service named, so nothing can reach an emulator it was not meant for.
            ("AWS_ENDPOINT_URL_DYNAMODB", &self.dynamodb),
            ("AWS_ENDPOINT_URL_SESV2", &self.endpoint),
            ("AWS_ENDPOINT_URL_SNS", &self.endpoint),
            ("AWS_ENDPOINT_URL_KMS", &self.endpoint),
            ("AWS_ENDPOINT_URL_SECRETSMANAGER", &self.endpoint),
            ("AWS_ENDPOINT_URL_SQS", &self.endpoint),
            ("SIGNING_KEY_KMS_KEY_ID", &self.kms_key_id),
            ("TABLE_NAME", &self.table),
            ("EMAIL_FROM", &self.sender),
        ];
        all.extend_from_slice(overrides);
        test_config(&all)
    }

    /// A fresh SQS queue in moto, as `template.yaml`'s `CodeQueue`; its URL.
    pub async fn create_queue(&self) -> String {
        self.sqs()
            .await
            .create_queue()
            .queue_name(new_id("sesame-codes"))
            .send()
            .await
            .expect("create a queue in moto")
            .queue_url
            .expect("the queue's URL")
    }

    /// Takes every item waiting in the queue, as the `send-codes` function receives them.
    pub async fn drain(&self, queue_url: &str) -> Vec<sesame::send_codes::Record> {
        let sqs = self.sqs().await;
        let mut out = Vec::new();
        loop {
            let got = sqs
                .receive_message()
                .queue_url(queue_url)
                .max_number_of_messages(10)
                .send()
                .await
                .expect("receive from moto");
            let messages = got.messages.unwrap_or_default();
            if messages.is_empty() {
                return out;
            }
            for m in messages {
                if let Some(handle) = &m.receipt_handle {
                    sqs.delete_message()
                        .queue_url(queue_url)
                        .receipt_handle(handle)
                        .send()
                        .await
                        .expect("delete from moto");
                }
                out.push(sesame::send_codes::Record {
                    message_id: m.message_id.unwrap_or_default(),
                    body: m.body.unwrap_or_default(),
                });
            }
        }
    }

    async fn sqs(&self) -> aws_sdk_sqs::Client {
        let sdk = sesame::wiring::sdk_config(&self.config(&[])).await;
        let sqs = aws_sdk_sqs::config::Builder::from(&sdk).endpoint_url(&self.endpoint);
        aws_sdk_sqs::Client::from_conf(sqs.build())
    }

    /// Every message moto recorded, as (destination, text) pairs, oldest first.
    pub async fn messages(&self) -> Vec<(String, String)> {
        let data: Value = reqwest::get(format!("{}/moto-api/data.json", self.endpoint))
            .await
            .expect("moto data")
            .json()
            .await
            .expect("moto data is JSON");
        let mut out = Vec::new();
        for m in data["ses"]["Message"].as_array().into_iter().flatten() {
            for to in m["destinations"]["ToAddresses"]
                .as_array()
                .into_iter()
                .flatten()
            {
                out.push((
                    to.as_str().unwrap_or_default().to_string(),
                    m["body"].as_str().unwrap_or_default().to_string(),
                ));
            }
        }
        for m in data["sns"]["SMS"].as_array().into_iter().flatten() {
            out.push((
                m["phone_number"].as_str().unwrap_or_default().to_string(),
                m["message"].as_str().unwrap_or_default().to_string(),
            ));
        }
        out
    }
}

/// A fresh Secrets Manager secret in moto holding `value`, as `template.yaml`'s `CodeHashKey`
/// holds the code key; its ARN.
pub async fn create_secret(moto: &str, value: &str) -> String {
    let sdk = sesame::wiring::sdk_config(&test_config(&[])).await;
    let sm = aws_sdk_secretsmanager::config::Builder::from(&sdk).endpoint_url(moto);
    aws_sdk_secretsmanager::Client::from_conf(sm.build())
        .create_secret()
        .name(new_id("sesame-code-key"))
        .secret_string(value)
        .send()
        .await
        .expect("create a secret in moto")
        .arn
        .expect("the secret's ARN")
}

/// A fresh symmetric KMS key in moto; its id.
async fn create_kms_key(moto: &str) -> String {
    let sdk = sesame::wiring::sdk_config(&test_config(&[])).await;
    let kms = aws_sdk_kms::config::Builder::from(&sdk).endpoint_url(moto);
    aws_sdk_kms::Client::from_conf(kms.build())
        .create_key()
        .description("sesame test: seals the token-signing key")
        .send()
        .await
        .expect("create a KMS key in moto")
        .key_metadata
        .expect("key metadata")
        .key_id
}
