//! DESIGN section 5 under concurrency: single-use codes, the wrong-code limit, and atomic
//! uniqueness, on both backends.

use futures_util::future::join_all;
use serde_json::json;
use sesame_e2e::{Server, both_backends, unique_email};

async fn twenty_parallel_right_codes_succeed_once(server: Server) {
    let mut browser = server.browser();
    let email = unique_email("race");
    let opened = browser.sign_up(&email).await;
    let id = opened.signup_attempt_id();
    let code = server.code_for(&email).await;

    let answers = join_all((0..20).map(|_| {
        let mut b = browser.clone();
        let (id, code) = (id.clone(), code.clone());
        async move { b.verify(&id, &code).await }
    }))
    .await;
    let ok = answers.iter().filter(|a| a.status == 200).count();
    assert_eq!(
        ok,
        1,
        "{:?}",
        answers
            .iter()
            .map(|a| (a.status, a.error().to_string()))
            .collect::<Vec<_>>()
    );
    // Losers that read the session before the winner committed see the attempt completed; those
    // that read it after hold a cookie whose secret was rotated away, so for them it is gone.
    for a in answers.iter().filter(|a| a.status != 200) {
        let refusal = (a.status, a.error());
        assert!(
            refusal == (409, "ATTEMPT_COMPLETED") || refusal == (404, "ATTEMPT_NOT_FOUND"),
            "{refusal:?}"
        );
    }
    let taken = server
        .app
        .store
        .taken_claims(&[sesame::domain::model::Claim::Email(email)])
        .await
        .unwrap();
    assert_eq!(taken.len(), 1, "exactly one user holds the email");
}
both_backends!(twenty_parallel_right_codes_succeed_once);

async fn twenty_five_parallel_wrong_codes_evaluate_at_most_five(server: Server) {
    let mut browser = server.browser();
    let email = unique_email("guess");
    let opened = browser.sign_up(&email).await;
    let id = opened.signup_attempt_id();
    let right = server.code_for(&email).await;
    let wrong = if right == "000000" {
        "111111"
    } else {
        "000000"
    };

    let answers = join_all((0..25).map(|_| {
        let mut b = browser.clone();
        let id = id.clone();
        async move { b.verify(&id, wrong).await }
    }))
    .await;
    let invalid = answers
        .iter()
        .filter(|a| a.error() == "INVALID_CODE")
        .count();
    let refused = answers
        .iter()
        .filter(|a| a.error() == "TOO_MANY_ATTEMPTS")
        .count();
    println!("25 parallel wrong codes: {invalid} INVALID_CODE, {refused} TOO_MANY_ATTEMPTS");
    assert_eq!(
        invalid, 4,
        "four wrong codes are told so; the fifth kills the attempt"
    );
    assert_eq!(refused, 21);
    assert!(
        answers
            .iter()
            .filter(|a| a.status == 429)
            .all(|a| a.headers.contains_key("retry-after"))
    );

    let session_id = opened.body["session"]["id"].as_str().unwrap();
    let stored = server
        .app
        .store
        .load_session(session_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        stored.signup_attempts[0].codes.wrong_codes, 5,
        "exactly five were evaluated"
    );

    let late = browser.verify(&id, &right).await;
    assert_eq!(
        (late.status, late.error()),
        (429, "TOO_MANY_ATTEMPTS"),
        "the right code fails after that"
    );
}
both_backends!(twenty_five_parallel_wrong_codes_evaluate_at_most_five);

async fn five_parallel_sign_ups_of_one_email_create_one_user(server: Server) {
    let email = unique_email("twin");
    let spellings = [
        email.clone(),
        email.to_uppercase(),
        email[..1].to_uppercase() + &email[1..],
        email.replace("example", "EXAMPLE"),
        email.replace("twin", "TWIN"),
    ];
    // Open five attempts one after another (each with its own code), then complete them at once.
    let mut pending = Vec::new();
    for spelling in &spellings {
        let mut b = server.browser();
        let opened = b
            .post(
                "/auth/signup",
                json!({"email": spelling, "password": "analytical engine"}),
            )
            .await;
        assert_eq!(opened.status, 200, "{:#}", opened.body);
        let code = server.code_for(&email).await;
        pending.push((b, opened.signup_attempt_id(), code));
    }
    let answers = join_all(
        pending
            .into_iter()
            .map(|(mut b, id, code)| async move { b.verify(&id, &code).await }),
    )
    .await;
    let ok = answers.iter().filter(|a| a.status == 200).count();
    assert_eq!(
        ok,
        1,
        "{:?}",
        answers
            .iter()
            .map(|a| (a.status, a.error().to_string()))
            .collect::<Vec<_>>()
    );
    for a in answers.iter().filter(|a| a.status != 200) {
        assert_eq!((a.status, a.error()), (409, "EMAIL_EXISTS"));
        assert!(
            a.body["session"]["active_signin"].is_null(),
            "the loser is not signed in"
        );
    }
}
both_backends!(five_parallel_sign_ups_of_one_email_create_one_user);

async fn thirty_parallel_sign_ups_in_one_session_keep_at_most_the_cap(server: Server) {
    let cap = sesame::domain::ATTEMPTS_PER_SESSION;
    let mut browser = server.browser();
    let first = browser.sign_up(&unique_email("crowd")).await;
    assert_eq!(first.status, 200, "{:#}", first.body);
    let answers = join_all((0..30).map(|i| {
        let mut b = browser.clone();
        async move { b.sign_up(&unique_email(&format!("crowd{i}"))).await }
    }))
    .await;
    // Each opens (the oldest attempt making room), or, when other requests kept changing the
    // session between its read and its write, is told to retry: never more than the cap.
    let opened = answers.iter().filter(|a| a.status == 200).count();
    let retry = answers
        .iter()
        .filter(|a| (a.status, a.error()) == (429, "RATE_LIMITED"))
        .count();
    println!("30 parallel sign-ups in one session: {opened} opened, {retry} told to retry");
    assert_eq!(opened + retry, 30);
    assert!(opened >= cap, "at least a cap's worth open");
    for a in &answers {
        let shown = a.body["session"]["signup_attempts"].as_array().unwrap();
        assert!(shown.len() <= cap, "an answer shows {}", shown.len());
    }
    let session_id = first.body["session"]["id"].as_str().unwrap();
    let stored = server
        .app
        .store
        .load_session(session_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.signup_attempts.len(), cap);
    assert_eq!(stored.session.attempts.len(), cap, "the list names them");
}
both_backends!(thirty_parallel_sign_ups_in_one_session_keep_at_most_the_cap);
