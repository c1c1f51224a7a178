//! When SES or SNS refuses or cannot be reached, the answer is 502 DELIVERY_FAILED, the attempt
//! survives, and a later resend works.

use std::sync::Arc;

use serde_json::json;
use sesame::Deps;
use sesame::adapters::clock::SystemClock;
use sesame::adapters::ses_sns::AwsNotifier;
use sesame::domain::model::Channel;
use sesame::domain::ports::notifier::{Message, Notifier};
use sesame_e2e::{Backend, Moto, Server, unique_email, unique_phone};

/// A loopback port nothing listens on.
async fn closed_port() -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    format!("http://{addr}")
}

async fn notifier_at(endpoint: &str) -> AwsNotifier {
    let config = sesame_e2e::test_config(&[("AWS_ENDPOINT_URL", endpoint)]);
    let sdk = sesame::wiring::sdk_config(&config).await;
    AwsNotifier::new(
        aws_sdk_sesv2::Client::new(&sdk),
        aws_sdk_sns::Client::new(&sdk),
        "sender@sesame.test".into(),
        None,
    )
}

#[tokio::test]
async fn when_ses_or_sns_cannot_be_reached_the_adapter_reports_the_channel() {
    let notifier = notifier_at(&closed_port().await).await;
    for (channel, to) in [
        (Channel::Email, "ada@example.com"),
        (Channel::Sms, "+14155550123"),
    ] {
        let message = Message {
            channel,
            to: to.into(),
            subject: "s".into(),
            text: "Your verification code is 123456.".into(),
            html: "<p>123456</p>".into(),
        };
        let err = notifier.send(&message).await.unwrap_err();
        assert_eq!(err.channel, channel);
        assert!(
            !err.reason.contains("123456"),
            "no code in the error: {}",
            err.reason
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn when_ses_refuses_the_sender_the_attempt_survives_and_a_resend_after_the_fix_works() {
    let Some(server) = Server::start_with(Backend::Moto, &[], false).await else {
        return;
    };
    let mut browser = server.browser();
    let email = unique_email("refused");
    let failed = browser.sign_up(&email).await;
    assert_eq!(
        (failed.status, failed.error()),
        (502, "DELIVERY_FAILED"),
        "{:#}",
        failed.body
    );
    assert!(
        failed.set_cookie().is_some(),
        "the session still reaches the client"
    );
    let id = failed.signup_attempt_id();
    assert!(server.messages_to(&email).await.is_empty());

    server.moto.as_ref().unwrap().verify_sender().await;
    let resent = browser
        .post(
            "/auth/prepare-verification",
            json!({"signup_attempt_id": id}),
        )
        .await;
    assert_eq!(
        resent.status, 200,
        "no cooldown after a failed send: {:#}",
        resent.body
    );
    let code = server.code_for(&email).await;
    let done = browser.verify(&id, &code).await;
    assert_eq!(done.status, 200, "{:#}", done.body);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn when_ses_and_sns_are_unreachable_sign_up_answers_502_and_keeps_the_attempt() {
    let Some(moto) = Moto::new(true).await else {
        return;
    };
    let config = moto.config(&[]);
    let app = Deps {
        store: Arc::new(moto.store(None).await),
        notifier: Arc::new(notifier_at(&closed_port().await).await),
        queue: None,
        clock: Arc::new(SystemClock),
        identity: Arc::new(sesame::adapters::oidc::Oidc::new(&config.oidc)),
        config: Arc::new(config),
        keys: sesame::wiring::in_process_keys(),
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(sesame_dev::serve(
        listener,
        sesame_dev::router(app.clone(), None, sesame_dev::AllowedHosts::loopback()),
        std::future::pending(),
    ));
    let mut browser = sesame_e2e::Browser {
        client: reqwest::Client::new(),
        base,
        cookie: None,
    };

    let email = browser.sign_up(&unique_email("down")).await;
    let sms = browser
        .post(
            "/auth/signup",
            json!({"phone_number": unique_phone(), "password": "analytical engine", "strategy": "phone_otp"}),
        )
        .await;
    for answer in [&email, &sms] {
        assert_eq!(
            (answer.status, answer.error()),
            (502, "DELIVERY_FAILED"),
            "{:#}",
            answer.body
        );
    }
    let session_id = sms.body["session"]["id"].as_str().unwrap();
    let stored = app.store.load_session(session_id).await.unwrap().unwrap();
    assert_eq!(
        stored.signup_attempts.len(),
        2,
        "both attempts survive in the one session"
    );
    assert!(
        stored
            .signup_attempts
            .iter()
            .all(|a| a.codes.code.as_ref().unwrap().sent_at.is_none())
    );
}
