//! The event bus in AWS: Amazon EventBridge's `PutEvents` on one bus (`EVENT_BUS_NAME`, the
//! account's `default` bus unless set).

use async_trait::async_trait;
use aws_sdk_eventbridge::Client;
use aws_sdk_eventbridge::error::DisplayErrorContext;
use aws_sdk_eventbridge::primitives::DateTime;
use aws_sdk_eventbridge::types::PutEventsRequestEntry;

use super::EventBus;
use crate::domain::events::Published;

pub struct EventBridgeBus {
    client: Client,
    bus_name: String,
}

impl EventBridgeBus {
    /// The bus `bus_name` (a name or an ARN); `endpoint`, when given, overrides `sdk`'s.
    pub fn new(sdk: &aws_config::SdkConfig, endpoint: Option<&str>, bus_name: String) -> Self {
        let mut conf = aws_sdk_eventbridge::config::Builder::from(sdk);
        if let Some(url) = endpoint {
            conf = conf.endpoint_url(url);
        }
        Self {
            client: Client::from_conf(conf.build()),
            bus_name,
        }
    }
}

#[async_trait]
impl EventBus for EventBridgeBus {
    async fn put(&self, events: &[Published]) -> Result<Vec<Option<String>>, String> {
        let mut entries = Vec::with_capacity(events.len());
        for event in events {
            let detail = serde_json::to_string(&event.detail).map_err(|e| e.to_string())?;
            entries.push(
                PutEventsRequestEntry::builder()
                    .event_bus_name(&self.bus_name)
                    .source(event.source)
                    .detail_type(event.detail_type)
                    .detail(detail)
                    .time(DateTime::from_secs(event.time.unix_timestamp()))
                    .build(),
            );
        }
        let out = self
            .client
            .put_events()
            .set_entries(Some(entries))
            .send()
            .await
            .map_err(|e| DisplayErrorContext(e).to_string())?;
        Ok(out
            .entries()
            .iter()
            .map(|entry| {
                entry
                    .error_code()
                    .map(str::to_string)
                    .or_else(|| entry.event_id().is_none().then(|| "NoEventId".to_string()))
            })
            .collect())
    }
}
