//! The texts that carry codes. The code appears in the message body only, never in a log.

use super::codes::CODE_TTL;
use super::model::Channel;
use crate::notify::Message;

pub fn verification_code(channel: Channel, to: &str, code: &str) -> Message {
    let minutes = CODE_TTL.whole_minutes();
    let text = match channel {
        Channel::Sms => {
            format!("Your verification code is {code}. It expires in {minutes} minutes.")
        }
        Channel::Email => format!(
            "Your verification code is {code}.\n\nIt expires in {minutes} minutes. \
             If you did not ask for it, you can ignore this email."
        ),
    };
    let html = format!(
        "<p>Your verification code is <strong>{code}</strong>.</p>\
         <p>It expires in {minutes} minutes. If you did not ask for it, you can ignore this email.</p>"
    );
    Message {
        channel,
        to: to.to_string(),
        subject: "Your verification code".to_string(),
        text,
        html,
    }
}
