//! A domain-level harness: the in-memory store, a manual clock and a notifier that records
//! messages (and can be told to fail).

#![allow(dead_code)]

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use sesame::Deps;
use sesame::adapters::clock::ManualClock;
use sesame::adapters::memory::MemoryStore;
use sesame::config::Config;
use sesame::domain::Caller;
use sesame::domain::ports::notifier::{DeliveryError, Message, Notifier};
use sesame::domain::signup::{self, SignupInput};
use sesame::domain::verification::{self, Target};
use time::macros::datetime;

#[derive(Default)]
pub struct RecordingNotifier {
    messages: Mutex<Vec<Message>>,
    failing: AtomicBool,
}

impl RecordingNotifier {
    pub fn fail(&self, failing: bool) {
        self.failing.store(failing, Ordering::SeqCst);
    }

    pub fn sent_to(&self, to: &str) -> Vec<Message> {
        let all = self.messages.lock().unwrap();
        all.iter().filter(|m| m.to == to).cloned().collect()
    }

    /// The code in the newest message to `to`.
    pub fn last_code(&self, to: &str) -> String {
        let message = self.sent_to(to).pop().expect("a message was sent");
        code_in(&message.text)
    }
}

pub fn code_in(text: &str) -> String {
    let bytes = text.as_bytes();
    (0..bytes.len().saturating_sub(5))
        .map(|i| &text[i..i + 6])
        .find(|w| w.bytes().all(|b| b.is_ascii_digit()))
        .expect("the message holds a 6-digit code")
        .to_string()
}

#[async_trait]
impl Notifier for RecordingNotifier {
    async fn send(&self, message: &Message) -> Result<(), DeliveryError> {
        if self.failing.load(Ordering::SeqCst) {
            return Err(DeliveryError {
                channel: message.channel,
                reason: "told to fail".into(),
            });
        }
        self.messages.lock().unwrap().push(message.clone());
        Ok(())
    }
}

pub struct Harness {
    pub app: Deps,
    pub clock: Arc<ManualClock>,
    pub notifier: Arc<RecordingNotifier>,
}

pub fn harness(overrides: &[(&str, &str)]) -> Harness {
    let clock = Arc::new(ManualClock::new(datetime!(2026-03-01 09:00:00 UTC)));
    let notifier = Arc::new(RecordingNotifier::default());
    let config = Config::for_tests(overrides);
    let app = Deps {
        identity: Arc::new(sesame::adapters::oidc::Oidc::new(&config.oidc)),
        config: Arc::new(config),
        store: Arc::new(MemoryStore::new()),
        notifier: notifier.clone(),
        queue: None,
        clock: clock.clone(),
        keys: sesame::wiring::in_process_keys(),
    };
    Harness {
        app,
        clock,
        notifier,
    }
}

pub fn input(email: &str) -> SignupInput {
    SignupInput {
        email: Some(email.to_string()),
        password: Some("analytical engine".to_string()),
        ..SignupInput::default()
    }
}

impl Harness {
    /// Signs up `email` from a fresh caller and returns the caller and the attempt id.
    pub async fn sign_up(&self, email: &str) -> (Caller, String) {
        let mut caller = Caller::anonymous("198.51.100.1");
        signup::start(&self.app, &mut caller, input(email))
            .await
            .expect("sign-up starts");
        let id = caller
            .session
            .as_ref()
            .unwrap()
            .signup_attempts
            .last()
            .unwrap()
            .id
            .clone();
        (caller, id)
    }

    pub async fn verify(
        &self,
        caller: &mut Caller,
        attempt_id: &str,
        code: &str,
    ) -> Result<(), sesame::domain::AuthError> {
        verification::attempt(
            &self.app,
            caller,
            &Target::Signup(attempt_id.to_string()),
            code,
        )
        .await
    }

    pub async fn resend(
        &self,
        caller: &mut Caller,
        attempt_id: &str,
    ) -> Result<(), sesame::domain::AuthError> {
        verification::prepare(
            &self.app,
            caller,
            &Target::Signup(attempt_id.to_string()),
            None,
        )
        .await
    }
}
