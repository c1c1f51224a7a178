//! Issue 12, item 11: SMS only to `SMS_ALLOWED_COUNTRIES`, and at most
//! `LIMIT_SMS_PER_PREFIX_PER_HOUR` per prefix, so SMS pumping through sign-up has a ceiling.
//! Parallel sign-ups get no more SMS than sequential ones.

use futures_util::future::join_all;
use serde_json::json;
use sesame_e2e::{Answer, Backend, Server, unique_phone};

macro_rules! both_backends {
    ($name:ident) => {
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn embedded() {
                super::$name(super::Backend::Embedded).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn moto() {
                super::$name(super::Backend::Moto).await;
            }
        }
    };
}

const PASSWORD: &str = "analytical engine";

/// A unique UK number (+44 7700 900xxx is Ofcom's drama range).
fn uk_phone() -> String {
    let n = sesame::ids::random_below(1_000);
    format!("+447700900{n:03}")
}

async fn phone_signup(server: &Server, phone: &str) -> Answer {
    server
        .browser()
        .post(
            "/auth/signup",
            json!({"phone_number": phone, "password": PASSWORD, "strategy": "phone_otp"}),
        )
        .await
}

/// A sign-in request for `identifier` by `strategy`, from a fresh browser.
async fn code_signin(server: &Server, identifier: &str, strategy: &str) -> Answer {
    server
        .browser()
        .post(
            "/auth/signin",
            json!({"identifier": identifier, "strategy": strategy}),
        )
        .await
}

/// A user signed up with `phone` and its code (the number's first SMS).
async fn phone_user(server: &Server, phone: &str) {
    let mut browser = server.browser();
    let opened = browser
        .post(
            "/auth/signup",
            json!({"phone_number": phone, "password": PASSWORD, "strategy": "phone_otp"}),
        )
        .await;
    assert_eq!(opened.status, 200, "{:#}", opened.body);
    let code = server.code_for(phone).await;
    let done = browser.verify(&opened.signup_attempt_id(), &code).await;
    assert_eq!(done.status, 200, "{:#}", done.body);
}

async fn numbers_outside_the_allowed_countries_are_refused(backend: Backend) {
    let Some(server) = Server::start(backend, &[("SMS_ALLOWED_COUNTRIES", "+1")]).await else {
        return;
    };
    let uk = uk_phone();
    let refused = phone_signup(&server, &uk).await;
    assert_eq!(
        (refused.status, refused.error()),
        (400, "INVALID_FIELD"),
        "{:#}",
        refused.body
    );
    assert_eq!(refused.body["errors"][0]["field"], "phone_number");
    let message = refused.body["errors"][0]["message"].as_str().unwrap();
    assert!(
        message.contains("+1"),
        "the message names what is accepted: {message}"
    );
    // Also when the phone only rides along with an email sign-up (it would be proven by SMS).
    let along = server
        .browser()
        .post(
            "/auth/signup",
            json!({"email": sesame_e2e::unique_email("uk"), "phone_number": uk, "password": PASSWORD}),
        )
        .await;
    assert_eq!((along.status, along.error()), (400, "INVALID_FIELD"));
    // A phone sign-in by code: refused before any lookup, known or not.
    let signin = code_signin(&server, &uk, "phone_otp").await;
    assert_eq!(
        (signin.status, signin.error()),
        (400, "INVALID_FIELD"),
        "{:#}",
        signin.body
    );
    assert_eq!(signin.body["errors"][0]["field"], "identifier");
    assert!(server.messages_to(&uk).await.is_empty(), "nothing was sent");

    let us = unique_phone();
    let allowed = phone_signup(&server, &us).await;
    assert_eq!(allowed.status, 200, "{:#}", allowed.body);
    assert_eq!(server.messages_to(&us).await.len(), 1);
}
both_backends!(numbers_outside_the_allowed_countries_are_refused);

async fn parallel_sign_ups_send_no_more_sms_per_prefix_than_the_cap(backend: Backend) {
    const CAP: usize = 3;
    let settings = [
        ("SMS_ALLOWED_COUNTRIES", "+1,+44"),
        ("LIMIT_SMS_PER_PREFIX_PER_HOUR", "3"),
    ];
    let Some(server) = Server::start(backend, &settings).await else {
        return;
    };
    let phones: Vec<String> = (0..4 * CAP).map(|_| unique_phone()).collect();
    let answers = join_all(phones.iter().map(|p| phone_signup(&server, p))).await;
    let all: Vec<(u16, String)> = answers
        .iter()
        .map(|a| (a.status, a.error().to_string()))
        .collect();
    let opened = all.iter().filter(|(s, _)| *s == 200).count();
    let limited = all
        .iter()
        .filter(|(s, e)| (*s, e.as_str()) == (429, "RATE_LIMITED"))
        .count();
    let mut sent = 0;
    for p in &phones {
        sent += server.messages_to(p).await.len();
    }
    println!(
        "{} parallel +1 phone sign-ups, cap {CAP}: {opened} opened, {limited} refused (429), {sent} SMS sent",
        phones.len()
    );
    assert_eq!((opened, limited, sent), (CAP, 3 * CAP, CAP), "{all:?}");

    // The counter is per prefix: +44 still has its own.
    let uk = uk_phone();
    let other = phone_signup(&server, &uk).await;
    assert_eq!(other.status, 200, "{:#}", other.body);
    assert_eq!(server.messages_to(&uk).await.len(), 1);
}
both_backends!(parallel_sign_ups_send_no_more_sms_per_prefix_than_the_cap);

/// A sign-in by code to a verified number under a full prefix sends nothing and answers as an
/// unknown number does (200, an attempt whose code can never be right): no 429 that only known
/// numbers could get.
async fn a_full_prefix_silences_sign_in_codes_without_telling(backend: Backend) {
    let settings = [("LIMIT_SMS_PER_PREFIX_PER_HOUR", "1")];
    let Some(server) = Server::start(backend, &settings).await else {
        return;
    };
    let phone = unique_phone();
    phone_user(&server, &phone).await;

    // The prefix's one SMS this hour is spent.
    let known = code_signin(&server, &phone, "phone_otp").await;
    let unknown = code_signin(&server, &unique_phone(), "phone_otp").await;
    assert_eq!(
        (known.status, unknown.status),
        (200, 200),
        "{:#}",
        known.body
    );
    assert_eq!(
        server.messages_to(&phone).await.len(),
        1,
        "only the sign-up's code"
    );
}
both_backends!(a_full_prefix_silences_sign_in_codes_without_telling);

/// The prefix is charged after the identifier's cap: one number asked for again and again spends
/// at most its own few sends of the country's budget, so others still get their codes.
async fn requests_over_an_identifiers_cap_spend_nothing_of_the_prefix(backend: Backend) {
    let settings = [
        ("LIMIT_SENDS_PER_DESTINATION_PER_HOUR", "3"),
        ("LIMIT_SMS_PER_PREFIX_PER_HOUR", "5"),
    ];
    let Some(server) = Server::start(backend, &settings).await else {
        return;
    };
    let phone = unique_phone();
    phone_user(&server, &phone).await;

    // One SMS spent; ten sign-in code requests for the same number: three pass its cap.
    let mut statuses = Vec::new();
    for _ in 0..10 {
        let asked = code_signin(&server, &phone, "phone_otp").await;
        statuses.push(asked.status);
    }
    assert_eq!(
        statuses.iter().filter(|s| **s == 200).count(),
        3,
        "{statuses:?}"
    );
    // 1 + 3 of 5 spent: another number of the same country still gets its sign-up code.
    let other = unique_phone();
    let signup = phone_signup(&server, &other).await;
    assert_eq!(signup.status, 200, "{:#}", signup.body);
    assert_eq!(server.messages_to(&other).await.len(), 1);
}
both_backends!(requests_over_an_identifiers_cap_spend_nothing_of_the_prefix);

/// A reset by phone code for a number outside `SMS_ALLOWED_COUNTRIES` is refused up front, as a
/// phone sign-in by code is: the same answer whether an account holds the number or not.
async fn a_phone_reset_outside_the_allowed_countries_is_refused_up_front(backend: Backend) {
    let Some(server) = Server::start(backend, &[("SMS_ALLOWED_COUNTRIES", "+1")]).await else {
        return;
    };
    // An account holding a verified UK number (imported: sign-up would refuse the number).
    let known = uk_phone();
    let now = time::OffsetDateTime::now_utc();
    let user = sesame::domain::model::User {
        id: sesame::ids::new_id(sesame::ids::prefix::USER),
        first_name: None,
        last_name: None,
        username: None,
        email: None,
        phone_number: Some(known.clone()),
        image_url: None,
        two_factor_enabled: false,
        email_verified: false,
        phone_verified: true,
        metadata: Default::default(),
        profile: Default::default(),
        password_hash: None,
        blocked: false,
        login_attempts: 0,
        signup_agreements_accepted_at: None,
        identities: vec![],
        second_factor: Default::default(),
        created_at: now,
        updated_at: now,
    };
    let claims = sesame::domain::model::Claim::for_user(&user);
    let stored = server.app.store.import_user(&user, &claims).await.unwrap();
    assert_eq!(stored, sesame::domain::ports::store::Completion::Done);

    let mut answers = Vec::new();
    for phone in [known.clone(), uk_phone()] {
        let answer = code_signin(&server, &phone, "reset_password_phone_code").await;
        assert_eq!(
            (answer.status, answer.error()),
            (400, "INVALID_FIELD"),
            "{:#}",
            answer.body
        );
        assert_eq!(answer.body["errors"][0]["field"], "identifier");
        answers.push(answer.body["errors"].clone());
    }
    assert_eq!(answers[0], answers[1], "known and unknown answer alike");
    assert!(
        server.messages_to(&known).await.is_empty(),
        "nothing was sent"
    );
}
both_backends!(a_phone_reset_outside_the_allowed_countries_is_refused_up_front);
