//! SES v2 for email, SNS for SMS. Clients are built once per container and reused.

use async_trait::async_trait;
use aws_sdk_sesv2::types::{Body, Content, Destination, EmailContent, Message as SesMessage};
use aws_sdk_sns::types::MessageAttributeValue;

use crate::domain::model::Channel;
use crate::domain::ports::notifier::{DeliveryError, Message, Notifier};

pub struct AwsNotifier {
    ses: aws_sdk_sesv2::Client,
    sns: aws_sdk_sns::Client,
    email_from: String,
    sms_sender_id: Option<String>,
}

impl AwsNotifier {
    pub fn new(
        ses: aws_sdk_sesv2::Client,
        sns: aws_sdk_sns::Client,
        email_from: String,
        sms_sender_id: Option<String>,
    ) -> Self {
        Self {
            ses,
            sns,
            email_from,
            sms_sender_id,
        }
    }

    async fn send_email(&self, m: &Message) -> Result<(), String> {
        let text = |s: &str| Content::builder().data(s).charset("UTF-8").build();
        let body = Body::builder()
            .text(text(&m.text).map_err(|e| e.to_string())?)
            .html(text(&m.html).map_err(|e| e.to_string())?)
            .build();
        let message = SesMessage::builder()
            .subject(text(&m.subject).map_err(|e| e.to_string())?)
            .body(body)
            .build();
        self.ses
            .send_email()
            .from_email_address(&self.email_from)
            .destination(Destination::builder().to_addresses(&m.to).build())
            .content(EmailContent::builder().simple(message).build())
            .send()
            .await
            .map(|_| ())
            .map_err(|e| aws_sdk_sesv2::error::DisplayErrorContext(e).to_string())
    }

    async fn send_sms(&self, m: &Message) -> Result<(), String> {
        let attribute = |v: &str| {
            MessageAttributeValue::builder()
                .data_type("String")
                .string_value(v)
                .build()
                .map_err(|e| e.to_string())
        };
        let mut publish = self
            .sns
            .publish()
            .phone_number(&m.to)
            .message(&m.text)
            .message_attributes("AWS.SNS.SMS.SMSType", attribute("Transactional")?);
        if let Some(sender) = &self.sms_sender_id {
            publish = publish.message_attributes("AWS.SNS.SMS.SenderID", attribute(sender)?);
        }
        publish
            .send()
            .await
            .map(|_| ())
            .map_err(|e| aws_sdk_sns::error::DisplayErrorContext(e).to_string())
    }
}

#[async_trait]
impl Notifier for AwsNotifier {
    async fn send(&self, message: &Message) -> Result<(), DeliveryError> {
        let result = match message.channel {
            Channel::Email => self.send_email(message).await,
            Channel::Sms => self.send_sms(message).await,
        };
        result.map_err(|reason| DeliveryError {
            channel: message.channel,
            reason,
        })
    }
}
