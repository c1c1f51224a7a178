//! Security notices by email: the password was changed or reset, the email address was changed
//! (told to the old address), a second factor changed, a passkey added or removed. They carry no code, link or secret, and a failed send does not undo
//! the change it reports: it is logged (without the address) and the request still succeeds.

use super::Deps;
use super::model::Channel;
use super::ports::Message;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Notice {
    PasswordChanged,
    PasswordReset,
    /// Told to the old address.
    EmailChanged,
    /// The account's guessing budget is full: password and code sign-in wait for a day.
    SignInPaused,
    /// A second factor was turned on or off, or the backup codes were replaced.
    SecondFactorChanged,
    /// The phone number the SMS second factor goes to was changed (it follows the verified phone).
    SecondFactorPhoneChanged,
    /// A passkey was added: it signs in alone, past the password and the second factor.
    PasskeyAdded,
    /// A passkey was deleted.
    PasskeyRemoved,
}

impl Notice {
    fn subject(self) -> &'static str {
        match self {
            Notice::PasswordChanged => "Your password was changed",
            Notice::PasswordReset => "Your password was reset",
            Notice::EmailChanged => "Your email address was changed",
            Notice::SignInPaused => "Sign-in to your account is paused",
            Notice::SecondFactorChanged => "Your two-factor settings were changed",
            Notice::SecondFactorPhoneChanged => "Your two-factor phone number was changed",
            Notice::PasskeyAdded => "A passkey was added to your account",
            Notice::PasskeyRemoved => "A passkey was removed from your account",
        }
    }

    fn text(self) -> &'static str {
        match self {
            Notice::PasswordChanged => "The password of your account was just changed.",
            Notice::EmailChanged => {
                "The email address of your account was just changed: this address no longer \
                 signs in to it."
            }
            Notice::SecondFactorChanged => {
                "The two-factor authentication of your account was just changed: a factor was \
                 turned on or off, or the backup codes were replaced."
            }
            Notice::SecondFactorPhoneChanged => {
                "The phone number of your account was just changed, and with it the phone that \
                 receives your two-factor codes."
            }
            Notice::PasskeyAdded => {
                "A passkey was just added to your account. A passkey signs in on its own, \
                 without your password or second factor."
            }
            Notice::PasskeyRemoved => {
                "A passkey was just removed from your account: it no longer signs in."
            }
            Notice::PasswordReset => {
                "The password of your account was just reset with a code, and every other \
                 device was signed out."
            }
            Notice::SignInPaused => {
                "Too many wrong passwords or codes were tried for your account today, so signing \
                 in with a password or a code is paused for up to 24 hours. Your password and \
                 your devices were not changed."
            }
        }
    }
}

pub fn message(notice: Notice, to: &str) -> Message {
    let text = format!(
        "{}\n\nIf this was you, there is nothing to do. If it was not, reset your password at \
         once and review the devices signed in to your account.",
        notice.text()
    );
    let html = format!(
        "<p>{}</p><p>If this was you, there is nothing to do. If it was not, reset your password \
         at once and review the devices signed in to your account.</p>",
        notice.text()
    );
    Message {
        channel: Channel::Email,
        to: to.to_string(),
        subject: notice.subject().to_string(),
        text,
        html,
    }
}

/// Sends the notice to `to` (if the account has an email). Best effort: see the module comment.
pub(crate) async fn send(deps: &Deps, notice: Notice, to: Option<&str>, user_id: &str) {
    let Some(to) = to else {
        return;
    };
    if let Err(e) = deps.notifier.send(&message(notice, to)).await {
        tracing::warn!(user_id, ?notice, error = %e, "security notice not delivered");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_notice_goes_by_email_and_names_what_changed() {
        let m = message(Notice::PasswordReset, "old@example.com");
        assert_eq!(m.channel, Channel::Email);
        assert_eq!(m.to, "old@example.com");
        assert!(m.text.contains("just reset"), "{}", m.text);
        assert_ne!(
            message(Notice::PasswordReset, "a@example.com").subject,
            message(Notice::PasswordChanged, "a@example.com").subject
        );
    }
}
