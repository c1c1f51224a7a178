//! The texts that carry codes and signup links. They appear in the message body only, never in a
//! log.

use super::Deps;
use super::codes::{self, CODE_TTL};
use super::error::AuthError;
use super::model::Channel;
use super::ports::Message;

/// The `email_link` sign-up email: a link carrying the signup code.
pub fn signup_link(to: &str, link: &str, valid_hours: i64) -> Message {
    let text = format!(
        "Finish signing up by opening this link:\n\n{link}\n\nIt works once and expires in \
         {valid_hours} hours. If you did not sign up, you can ignore this email."
    );
    let html = format!(
        "<p><a href=\"{link}\">Finish signing up</a></p>\
         <p>The link works once and expires in {valid_hours} hours. If you did not sign up, you \
         can ignore this email.</p>"
    );
    Message {
        channel: Channel::Email,
        to: to.to_string(),
        subject: "Finish signing up".to_string(),
        text,
        html,
    }
}

/// Sent on import with `verify_email: true`: the first sign-in sends the code that verifies it.
pub fn verify_email_notice(to: &str) -> Message {
    let text = "Your account is ready. Sign in with this email address and we will send you a \
                code to confirm it is yours."
        .to_string();
    let html = format!("<p>{text}</p>");
    Message {
        channel: Channel::Email,
        to: to.to_string(),
        subject: "Confirm your email address".to_string(),
        text,
        html,
    }
}

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

/// The email of an `email_link` sign-up: `SIGNUP_LINK_URL?signupCode=<code>`.
pub(crate) fn signup_link_for(
    deps: &Deps,
    to: &str,
    session_id: &str,
    attempt_id: &str,
    secret: &str,
) -> Result<Message, AuthError> {
    let base = deps
        .config
        .signup_link_url
        .as_deref()
        .ok_or_else(|| AuthError::internal("an email_link attempt without SIGNUP_LINK_URL"))?;
    let mut url = url::Url::parse(base).map_err(|e| AuthError::internal(e.to_string()))?;
    url.query_pairs_mut().append_pair(
        "signupCode",
        &codes::link_code(session_id, attempt_id, secret),
    );
    let hours = deps.config.signup_link_ttl.whole_hours();
    Ok(signup_link(to, url.as_str(), hours))
}
