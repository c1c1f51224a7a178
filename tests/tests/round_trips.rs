//! DESIGN section 6's budget, counted against DynamoDB Local: sequential round trips per
//! request (calls that overlap in time count once). Prints the figures; run with
//! `--nocapture` to see them.

use std::sync::Arc;

use serde_json::json;
use sesame::adapters::clock::ManualClock;
use sesame::adapters::dynamo::{CallLog, sequential_round_trips};
use sesame_e2e::providers::{self, OidcMock};
use sesame_e2e::{Backend, Moto, Server, unique_email};
use time::{Duration, OffsetDateTime};

fn report(log: &CallLog, what: &str, budget: usize) -> usize {
    let calls = log.take();
    let depth = sequential_round_trips(&calls);
    let ops: Vec<&str> = calls.iter().map(|c| c.operation.as_str()).collect();
    println!(
        "ROUND TRIPS {what}: {depth} sequential (budget {budget}), {} calls {ops:?}",
        calls.len()
    );
    assert!(
        depth <= budget,
        "{what}: {depth} sequential round trips, budget {budget}"
    );
    depth
}

/// A dev server on the emulators whose store records its DynamoDB calls in the returned log, on
/// `clock` when one is given; `None` (skip) without the emulators.
async fn counted_server(
    overrides: &[(&str, &str)],
    clock: Option<Arc<ManualClock>>,
) -> Option<(Server, CallLog)> {
    let moto = Moto::new(true).await?;
    let log = CallLog::new();
    let mut app = sesame::wiring::aws(moto.config(overrides), None)
        .await
        .expect("the test configuration is valid");
    app.store = Arc::new(moto.store(Some(log.clone())).await);
    if let Some(clock) = clock {
        app.clock = clock;
    }
    let server = Server::serve(app, None, Some(moto), log.clone(), Backend::Moto).await;
    Some((server, log))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn requests_stay_within_their_dynamodb_round_trip_budget() {
    let clock = Arc::new(ManualClock::new(OffsetDateTime::now_utc()));
    let Some((server, log)) = counted_server(&[], Some(clock.clone())).await else {
        return;
    };
    let mut browser = server.browser();
    let email = unique_email("budget");

    log.take();
    let first = browser.post("/auth/signup", json!({"email": email, "password": "analytical engine", "username": format!("b{}", &email[7..15])})).await;
    assert_eq!(first.status, 200, "{:#}", first.body);
    report(&log, "POST /auth/signup (new session)", 4);

    let second = browser
        .post(
            "/auth/signup",
            json!({"email": unique_email("budget2"), "password": "analytical engine"}),
        )
        .await;
    assert_eq!(second.status, 200);
    report(&log, "POST /auth/signup (existing session)", 4);

    assert_eq!(browser.get("/session").await.status, 200);
    report(&log, "GET /session", 2);

    let id = first.signup_attempt_id();
    let code = server.code_for(&email).await;
    let wrong = if code == "000000" { "111111" } else { "000000" };
    assert_eq!(browser.verify(&id, wrong).await.status, 400);
    report(&log, "POST /auth/attempt-verification (wrong code)", 2);

    clock.advance(Duration::seconds(31));
    let resent = browser
        .post(
            "/auth/prepare-verification",
            json!({"signup_attempt_id": id}),
        )
        .await;
    assert_eq!(resent.status, 200, "{:#}", resent.body);
    report(&log, "POST /auth/prepare-verification", 3);

    let code = server.code_for(&email).await;
    let done = browser.verify(&id, &code).await;
    assert_eq!(done.status, 200, "{:#}", done.body);
    report(
        &log,
        "POST /auth/attempt-verification (completes sign-up)",
        2,
    );

    clock.advance(Duration::hours(2));
    assert_eq!(browser.get("/session").await.status, 200);
    report(&log, "GET /session (idle deadline moved)", 2);

    assert_eq!(browser.get("/me").await.status, 200);
    report(&log, "GET /me", 2);

    let patch = |b: &mut sesame_e2e::Browser, body: serde_json::Value| {
        let req = b.client.patch(format!("{}/me", b.base)).json(&body);
        (b.clone(), req)
    };
    let (mut b, req) = patch(
        &mut browser,
        json!({"first_name": "Ada", "metadata": {"plan": "pro"}}),
    );
    assert_eq!(b.send(req).await.status, 200);
    report(&log, "PATCH /me", 2);

    // Moving the username claim atomically needs the old name, which only the user item holds.
    let (mut b, req) = patch(
        &mut browser,
        json!({"username": format!("c{}", &email[7..15])}),
    );
    assert_eq!(b.send(req).await.status, 200);
    report(&log, "PATCH /me (username change)", 3);

    let mut stranger = server.browser();
    let wrong = stranger.sign_in(&email, "not the password").await;
    assert_eq!(wrong.status, 401);
    report(&log, "POST /auth/signin (wrong password)", 4);

    let signed_in = stranger.sign_in(&email, "analytical engine").await;
    assert_eq!(signed_in.status, 200, "{:#}", signed_in.body);
    report(&log, "POST /auth/signin (password, new session)", 4);

    let again = browser.sign_in(&email, "analytical engine").await;
    assert_eq!(again.status, 200);
    report(&log, "POST /auth/signin (password, existing session)", 4);

    let otp = stranger
        .post(
            "/auth/signin",
            json!({"identifier": email, "strategy": "email_otp"}),
        )
        .await;
    assert_eq!(otp.status, 200);
    report(&log, "POST /auth/signin (email code)", 4);
    // An unknown identifier makes the same calls (a user read on an id no user has).
    let nobody = stranger
        .post(
            "/auth/signin",
            json!({"identifier": unique_email("nobody"), "strategy": "email_otp"}),
        )
        .await;
    assert_eq!(nobody.status, 200);
    let unknown = report(
        &log,
        "POST /auth/signin (email code, unknown identifier)",
        4,
    );
    assert_eq!(unknown, 4, "as many round trips as a known identifier's");
    let code = server.code_for(&email).await;
    let verified = stranger
        .verify_signin(&otp.signin_attempt_id(), &code)
        .await;
    assert_eq!(verified.status, 200, "{:#}", verified.body);
    report(
        &log,
        "POST /auth/attempt-verification (completes sign-in)",
        2,
    );

    let ids: Vec<String> = verified.body["data"]["signins"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(
        stranger
            .post("/session/switch-sign-in", json!({"signin_id": ids[0]}))
            .await
            .status,
        200
    );
    report(&log, "POST /session/switch-sign-in", 2);
    assert_eq!(
        stranger.post("/session/sign-out", json!({})).await.status,
        200
    );
    report(&log, "POST /session/sign-out (all)", 3);

    // A partial sign-up (email only) finished through complete-profile.
    let mut partial = server.browser();
    let partial_email = unique_email("partial");
    let opened = partial
        .post("/auth/signup", json!({"email": partial_email}))
        .await;
    let code = server.code_for(&partial_email).await;
    assert_eq!(
        partial
            .verify(&opened.signup_attempt_id(), &code)
            .await
            .status,
        200
    );
    log.take();
    let completed = partial
        .post("/auth/complete-profile", json!({"password": "analytical engine", "username": format!("p{}", &partial_email[8..16])}))
        .await;
    assert_eq!(completed.status, 200, "{:#}", completed.body);
    report(&log, "POST /auth/complete-profile", 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn oauth_requests_stay_within_their_dynamodb_round_trip_budget() {
    let Some(mock) = OidcMock::new() else { return };
    let Some(moto) = Moto::new(true).await else {
        return;
    };
    let log = CallLog::new();
    let owned = providers::settings("mock", &mock.endpoint);
    let mut overrides: Vec<(&str, &str)> = owned
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    overrides.push(("REQUIRED_FIELDS", "username"));
    let app = sesame::wiring::aws(moto.config(&overrides), Some(log.clone()))
        .await
        .expect("wired");
    let server = Server::serve(app, None, Some(moto), log.clone(), Backend::Moto).await;
    let sub = sesame::ids::new_id("sub");
    mock.set_user(
        &sub,
        json!({"email": unique_email("sso"), "email_verified": true}),
    )
    .await;

    let mut browser = server.browser();
    log.take();
    let url = providers::oauth_url(&mut browser).await;
    report(&log, "GET /auth/oauth2/init (new session)", 4);
    let query = mock.authorize(&url, &sub).await;
    let opened = providers::get_json(&mut browser, &format!("/auth/oauth2/callback?{query}")).await;
    assert_eq!(opened.status, 200, "{:#}", opened.body);
    report(
        &log,
        "GET /auth/oauth2/callback (new user, needs completion)",
        4,
    );
    let done = browser
        .post(
            "/auth/complete-profile",
            json!({"username": format!("s{}", &sub[4..16])}),
        )
        .await;
    assert_eq!(done.status, 200, "{:#}", done.body);
    report(&log, "POST /auth/complete-profile (sso sign-up)", 3);

    let mut returning = server.browser();
    let url = providers::oauth_url(&mut returning).await;
    let query = mock.authorize(&url, &sub).await;
    log.take();
    let back = providers::get_json(&mut returning, &format!("/auth/oauth2/callback?{query}")).await;
    assert_eq!(back.user_id(), done.user_id());
    report(&log, "GET /auth/oauth2/callback (returning user)", 3);
}

/// DESIGN section 10's budget: at most 2 sequential DynamoDB round trips per token (the session,
/// and the user when `TOKEN_CLAIMS` names user fields), and no AWS call for signing after a
/// container's first token. KMS calls are counted apart.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn token_requests_stay_within_their_budget() {
    for (claims, budget) in [("email,email_verified", 2), ("none", 1)] {
        let Some(moto) = Moto::new(true).await else {
            return;
        };
        let log = CallLog::new();
        let config = moto.config(&[("TOKEN_CLAIMS", claims)]);
        let app = sesame::wiring::aws(config, Some(log.clone()))
            .await
            .expect("wired");
        let server = Server::serve(app, None, Some(moto), log.clone(), Backend::Moto).await;
        let (mut browser, _, _) = server.new_user("tokenbudget").await;
        for (nth, what) in [(1, "first of a container"), (2, "later")] {
            log.take();
            let answer = browser.post("/session/token", json!({})).await;
            assert_eq!(answer.status, 200, "{:#}", answer.body);
            let calls = log.take();
            let kms = ["Encrypt", "Decrypt", "GenerateDataKey"];
            let (kms_calls, dynamodb): (Vec<_>, Vec<_>) = calls
                .into_iter()
                .partition(|c| kms.contains(&c.operation.as_str()));
            let depth = sequential_round_trips(&dynamodb);
            let ops: Vec<&str> = dynamodb.iter().map(|c| c.operation.as_str()).collect();
            let kms_ops: Vec<&str> = kms_calls.iter().map(|c| c.operation.as_str()).collect();
            println!(
                "ROUND TRIPS POST /session/token (TOKEN_CLAIMS={claims}, {what}): {depth} sequential DynamoDB (budget {budget} after the first), {} calls {ops:?}; KMS calls {kms_ops:?}",
                dynamodb.len()
            );
            if nth == 2 {
                assert!(depth <= budget, "{depth} round trips, budget {budget}");
                assert!(kms_calls.is_empty(), "signing made AWS calls: {kms_ops:?}");
            }
        }
    }
}

/// Issue 11's budgets: `GET /me/sessions` at most 2 sequential round trips, every other new
/// request (reverification, revocations, `DELETE /me`) at most 4.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn self_service_requests_stay_within_their_budget() {
    let clock = Arc::new(ManualClock::new(OffsetDateTime::now_utc()));
    let Some((server, log)) = counted_server(&[], Some(clock.clone())).await else {
        return;
    };
    let (mut laptop, email, _) = server.new_user("selfbudget").await;
    let mut devices = Vec::new();
    for _ in 0..3 {
        let mut b = server.browser();
        let answer = b.sign_in(&email, "analytical engine").await;
        assert_eq!(answer.status, 200, "{:#}", answer.body);
        let id = answer.body["session"]["active_signin"]["id"]
            .as_str()
            .unwrap()
            .to_string();
        devices.push((b, id));
    }

    log.take();
    let listed = laptop.get("/me/sessions").await;
    assert_eq!(listed.status, 200, "{:#}", listed.body);
    assert_eq!(listed.body["data"].as_array().unwrap().len(), 4);
    report(&log, "GET /me/sessions", 2);

    let (_, target) = &devices[0];
    let revoked = laptop
        .post(&format!("/me/sessions/{target}/revoke"), json!({}))
        .await;
    assert_eq!(revoked.status, 200, "{:#}", revoked.body);
    report(&log, "POST /me/sessions/{signin_id}/revoke", 4);

    let others = laptop.post("/me/sessions/revoke-others", json!({})).await;
    assert_eq!(others.status, 200, "{:#}", others.body);
    report(&log, "POST /me/sessions/revoke-others (2 others)", 4);

    clock.advance(Duration::minutes(11));
    let opened = laptop
        .post("/auth/reverify", json!({"strategy": "email_otp"}))
        .await;
    assert_eq!(opened.status, 200, "{:#}", opened.body);
    report(&log, "POST /auth/reverify (email_otp)", 4);

    let code = server.code_for(&email).await;
    log.take();
    let done = laptop
        .verify_signin(&opened.signin_attempt_id(), &code)
        .await;
    assert_eq!(done.status, 200, "{:#}", done.body);
    report(
        &log,
        "POST /auth/attempt-verification (completes a reverification)",
        2,
    );

    clock.advance(Duration::minutes(11));
    let password = laptop
        .post(
            "/auth/reverify",
            json!({"strategy": "password", "password": "analytical engine"}),
        )
        .await;
    assert_eq!(password.status, 200, "{:#}", password.body);
    report(&log, "POST /auth/reverify (password)", 4);

    let req = laptop.client.delete(format!("{}/me", laptop.base));
    let deleted = laptop.send(req).await;
    assert_eq!(deleted.status, 200, "{:#}", deleted.body);
    report(&log, "DELETE /me", 4);
}

/// DESIGN section 11's budget for password reset and change: at most 4 sequential round trips.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn recovery_requests_stay_within_their_dynamodb_round_trip_budget() {
    let Some((server, log)) = counted_server(&[], None).await else {
        return;
    };
    let (mut browser, email, _) = server.new_user("recoverybudget").await;
    let mut other = server.browser();
    assert_eq!(other.sign_in(&email, "analytical engine").await.status, 200);

    let mut resetting = server.browser();
    log.take();
    let opened = resetting
        .post(
            "/auth/signin",
            json!({"identifier": email, "strategy": "reset_password_email_code"}),
        )
        .await;
    assert_eq!(opened.status, 200, "{:#}", opened.body);
    report(&log, "POST /auth/signin (reset_password_email_code)", 4);
    let code = server.code_for(&email).await;
    let id = opened.signin_attempt_id();
    assert_eq!(resetting.verify_signin(&id, &code).await.status, 200);
    report(&log, "POST /auth/attempt-verification (reset code)", 2);
    let reset = resetting
        .post(
            "/auth/reset-password",
            json!({"signin_attempt_id": id, "password": "a brand new difference engine"}),
        )
        .await;
    assert_eq!(reset.status, 200, "{:#}", reset.body);
    report(&log, "POST /auth/reset-password (ends 2 other signins)", 4);

    let changed = resetting
        .post(
            "/me/password",
            json!({"current_password": "a brand new difference engine", "new_password": "the analytical engine weaves"}),
        )
        .await;
    assert_eq!(changed.status, 200, "{:#}", changed.body);
    report(&log, "POST /me/password", 4);
    assert_eq!(
        browser
            .sign_in(&email, "the analytical engine weaves")
            .await
            .status,
        200
    );
    log.take();
    let changed = resetting
        .post(
            "/me/password",
            json!({"current_password": "the analytical engine weaves", "new_password": "a brand new difference engine", "sign_out_others": true}),
        )
        .await;
    assert_eq!(changed.status, 200, "{:#}", changed.body);
    // The user's index is read alongside the user, so the end of the other signins is one write
    // beside the password's.
    report(&log, "POST /me/password (sign_out_others)", 4);
}

/// DESIGN section 11's budget for contact changes: at most 4 sequential round trips each.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn contact_changes_stay_within_their_dynamodb_round_trip_budget() {
    let Some((server, log)) = counted_server(&[], None).await else {
        return;
    };
    let (mut browser, _, _) = server.new_user("contactbudget").await;

    let new = unique_email("contactbudget-new");
    log.take();
    let opened = browser.post("/me/email", json!({"email": new})).await;
    assert_eq!(opened.status, 200, "{:#}", opened.body);
    report(&log, "POST /me/email", 4);
    let code = server.code_for(&new).await;
    let done = browser
        .post("/me/email/verify", json!({"code": code}))
        .await;
    assert_eq!(done.status, 200, "{:#}", done.body);
    report(&log, "POST /me/email/verify", 4);

    let phone = sesame_e2e::unique_phone();
    let opened = browser
        .post("/me/phone_number", json!({"phone_number": phone}))
        .await;
    assert_eq!(opened.status, 200, "{:#}", opened.body);
    report(&log, "POST /me/phone_number", 4);
    let code = server.code_for(&phone).await;
    let done = browser
        .post("/me/phone_number/verify", json!({"code": code}))
        .await;
    assert_eq!(done.status, 200, "{:#}", done.body);
    report(&log, "POST /me/phone_number/verify", 4);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn admin_requests_stay_within_their_dynamodb_round_trip_budget() {
    // Issue 15: an exact lookup in at most 2 sequential round trips, a page in one Query.
    let Some((server, log)) = counted_server(&[("ADMIN_KEY", "budget-key")], None).await else {
        return;
    };
    let (_, email, user_id) = server.new_user("adminbudget").await;
    for _ in 0..3 {
        server.new_user("adminbudget").await;
    }
    let admin = |path: &str| {
        let mut b = server.browser();
        let req = b.client.get(format!("{}{path}", b.base));
        async move { b.send(req.header("x-admin-key", "budget-key")).await }
    };

    log.take();
    let found = admin(&format!("/admin/users?email={}", email.to_uppercase())).await;
    assert_eq!(found.status, 200, "{:#}", found.body);
    assert_eq!(found.body["data"]["users"][0]["id"], user_id.as_str());
    report(&log, "GET /admin/users?email= (exact lookup)", 2);

    let page = admin("/admin/users?limit=3").await;
    assert_eq!(page.status, 200, "{:#}", page.body);
    assert_eq!(page.body["data"]["users"].as_array().unwrap().len(), 3);
    let calls = log.take();
    let ops: Vec<&str> = calls.iter().map(|c| c.operation.as_str()).collect();
    println!("ROUND TRIPS GET /admin/users?limit=3 (one page): {ops:?}");
    assert_eq!(ops, ["Query"], "one Query per page, never a Scan");

    let cursor = page.body["data"]["next_cursor"]
        .as_str()
        .unwrap()
        .to_string();
    let last = admin(&format!("/admin/users?limit=3&cursor={cursor}")).await;
    assert_eq!(last.body["data"]["users"].as_array().unwrap().len(), 1);
    assert_eq!(last.body["data"]["next_cursor"], serde_json::Value::Null);
    let ops: Vec<String> = log.take().into_iter().map(|c| c.operation).collect();
    assert_eq!(ops, ["Query"], "the next page: one Query");

    assert_eq!(admin(&format!("/admin/users/{user_id}")).await.status, 200);
    report(&log, "GET /admin/users/{user_id}", 1);
}

/// Issue 13's budget: the second-factor step of a sign-in at most 2 sequential round trips (the
/// session, then one transaction spending the factor and granting the signin).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn second_factor_verification_stays_within_its_budget() {
    use sesame::domain::factors::SecondFactorWrite;
    use sesame::domain::ports::Clock;
    use sesame::domain::second_factor::{backup, sealing, totp};

    let clock = Arc::new(ManualClock::new(OffsetDateTime::now_utc()));
    let Some((server, log)) = counted_server(&[], Some(clock.clone())).await else {
        return;
    };
    let (_, email, user_id) = server.new_user("factorbudget").await;

    // TOTP and one backup code on, written as enrollment writes them.
    let key = server.app.config.code_hash_key.bytes().unwrap().to_vec();
    let secret = totp::new_secret();
    let code = backup::generate().remove(0);
    let user = server.app.store.get_user(&user_id).await.unwrap().unwrap();
    let mut w = SecondFactorWrite::on(&user_id, &user.second_factor, clock.now());
    w.totp_secret = Some(Some(sealing::seal(&key, &user_id, &secret)));
    w.backup_code_hashes = Some(vec![backup::hash(
        &key,
        &user_id,
        &backup::normalize(&code).unwrap(),
    )]);
    w.two_factor_enabled = true;
    server.app.store.write_second_factor(&w).await.unwrap();

    for (strategy, submitted) in [
        ("totp", totp::code_at(&secret, clock.now().unix_timestamp())),
        ("backup_code", code),
    ] {
        let mut browser = server.browser();
        log.take();
        let opened = browser.sign_in(&email, "analytical engine").await;
        assert_eq!(opened.status, 200, "{:#}", opened.body);
        report(&log, "POST /auth/signin (password, second factor on)", 4);
        let attempt = opened.signin_attempt_id();
        let done = browser
            .post(
                "/auth/attempt-verification",
                json!({"signin_attempt_id": attempt, "code": submitted, "strategy": strategy}),
            )
            .await;
        assert_eq!(done.status, 200, "{:#}", done.body);
        report(
            &log,
            &format!("POST /auth/attempt-verification (second factor: {strategy})"),
            2,
        );
    }
}
