//! Against the in-process provider: ID tokens a real provider would never issue (a key outside
//! its JWKS, a wrong nonce, another audience or issuer, expired), a provider that releases the
//! scope claims only from UserInfo, the PKCE verifier and the external calls counted, and
//! parallel callbacks of one authorization.

use super::*;

/// A server on the in-process provider, a browser, and the nonce of an authorization it began.
async fn at_test_provider() -> (TestProvider, Server, Browser, String, String) {
    let provider = TestProvider::start().await;
    let server = server(Backend::Embedded, &provider.issuer, &[])
        .await
        .unwrap();
    let mut browser = server.browser();
    let url = oauth_url(&mut browser).await;
    let nonce = param(&url, "nonce").unwrap();
    let state = param(&url, "state").unwrap();
    let challenge = param(&url, "code_challenge").unwrap();
    (
        provider,
        server,
        browser,
        nonce,
        format!("{state} {challenge}"),
    )
}

async fn callback_with(browser: &mut Browser, state: &str) -> Answer {
    get_json(
        browser,
        &format!("/auth/oauth2/callback?code=any&state={state}"),
    )
    .await
}

type Tamper = fn(&mut Value);

#[tokio::test]
async fn when_the_id_token_fails_a_check_nobody_is_signed_in() {
    // (what is wrong, signed by the published key, how the claims are changed)
    let tampered: [(&str, bool, Tamper); 5] = [
        ("signed by a key not in the JWKS", false, |_| {}),
        ("its nonce does not match", true, |c| {
            c["nonce"] = json!("another")
        }),
        ("meant for another client", true, |c| {
            c["aud"] = json!("someone-else")
        }),
        ("from another issuer", true, |c| {
            c["iss"] = json!("https://evil.example.com")
        }),
        ("expired", true, |c| {
            c["exp"] = json!(time::OffsetDateTime::now_utc().unix_timestamp() - 600)
        }),
    ];
    for (what, published_key, tamper) in tampered {
        let (provider, server, mut browser, nonce, state_and_challenge) = at_test_provider().await;
        let state = state_and_challenge.split(' ').next().unwrap();
        let mut claims = provider.claims(&sub(), &nonce);
        tamper(&mut claims);
        provider.next_token(NextToken {
            claims,
            published_key,
        });
        let refused = callback_with(&mut browser, state).await;
        assert_eq!(
            (refused.status, refused.error()),
            (400, "OAUTH_FAILED"),
            "{what}: {:#}",
            refused.body
        );
        assert!(
            refused.body["errors"][0]["message"]
                .as_str()
                .unwrap()
                .starts_with("the ID token was refused"),
            "{what}"
        );
        assert_eq!(refused.user_id(), None, "{what}");
        assert_eq!(server.browser().get("/me").await.status, 401);
    }
}

/// A fresh browser that began an authorization: it, the state and the nonce.
async fn begin(server: &Server) -> (Browser, String, String) {
    let mut browser = server.browser();
    let url = oauth_url(&mut browser).await;
    let (state, nonce) = (param(&url, "state").unwrap(), param(&url, "nonce").unwrap());
    (browser, state, nonce)
}

/// A whole sign-in of `sub` at the in-process provider whose ID token carries only `sub` and
/// the protocol claims, while UserInfo answers `user_info` (`None`: a 500).
async fn sign_in_via_user_info(
    provider: &TestProvider,
    server: &Server,
    sub: &str,
    user_info: Option<Value>,
) -> (Browser, Answer) {
    let (mut browser, state, nonce) = begin(server).await;
    provider.next_token(NextToken {
        claims: provider.protocol_claims(sub, &nonce),
        published_key: true,
    });
    provider.user_info(user_info);
    let answer = callback_with(&mut browser, &state).await;
    (browser, answer)
}

async fn when_the_id_token_lacks_the_scope_claims_user_info_supplies_them(backend: Backend) {
    let provider = TestProvider::start().await;
    let Some(server) = server(backend, &provider.issuer, &[]).await else {
        return;
    };

    // A first sign-in: the user gets UserInfo's email (verified) and names.
    let (first, email) = (sub(), unique_email("userinfo"));
    let (mut browser, done) = sign_in_via_user_info(
        &provider,
        &server,
        &first,
        Some(json!({"sub": first, "email": email, "email_verified": true,
                    "given_name": "Grace", "family_name": "Hopper",
                    "picture": "https://img.example.com/grace.png"})),
    )
    .await;
    assert_eq!(done.status, 200, "{:#}", done.body);
    assert!(done.user_id().is_some(), "{:#}", done.body);
    let me = browser.get("/me").await;
    let user = &me.body["data"];
    assert_eq!(user["email"], email.as_str(), "{:#}", me.body);
    assert_eq!(user["email_verified"], true);
    assert_eq!(user["first_name"], "Grace");
    assert_eq!(user["last_name"], "Hopper");
    assert_eq!(user["image_url"], "https://img.example.com/grace.png");
    let again = server.browser().sign_up(&email).await;
    assert_eq!(again.error(), "EMAIL_EXISTS", "the address is claimed");
    assert_eq!(provider.seen(|s| s.userinfo), 1);
    assert_eq!(
        provider.seen(|s| s.userinfo_authorization.clone()),
        Some(format!("Bearer {ACCESS_TOKEN}")),
        "UserInfo is asked with the access token"
    );

    // UserInfo names an account's verified address but does not say it verified it: no link.
    let (_, owner_email, owner) = server.new_user("uiowner").await;
    let silent = sub();
    let (mut browser, unlinked) = sign_in_via_user_info(
        &provider,
        &server,
        &silent,
        Some(json!({"sub": silent, "email": owner_email})),
    )
    .await;
    assert_eq!(unlinked.status, 200, "{:#}", unlinked.body);
    assert_eq!(unlinked.user_id(), None, "not signed in as the owner");
    let signup = &unlinked.body["data"]["signup_attempts"][0];
    assert_eq!(signup["current_step"], "verify_email_otp");
    assert_eq!(browser.get("/me").await.status, 401);

    // UserInfo says `email_verified: true`: the identity is linked to the owner's account.
    let vouched = sub();
    let (_, linked) = sign_in_via_user_info(
        &provider,
        &server,
        &vouched,
        Some(json!({"sub": vouched, "email": owner_email, "email_verified": true})),
    )
    .await;
    assert_eq!(linked.status, 200, "{:#}", linked.body);
    assert_eq!(me_of(&linked), owner);
}
on_both_backends!(when_the_id_token_lacks_the_scope_claims_user_info_supplies_them);

#[tokio::test]
async fn a_user_info_answer_about_another_subject_or_a_failing_one_signs_nobody_in() {
    let provider = TestProvider::start().await;
    let server = server(Backend::Embedded, &provider.issuer, &[])
        .await
        .unwrap();
    let victim = unique_email("victim");
    let (mut browser, refused) = sign_in_via_user_info(
        &provider,
        &server,
        &sub(),
        Some(json!({"sub": sub(), "email": victim, "email_verified": true})),
    )
    .await;
    assert_eq!(
        (refused.status, refused.error()),
        (400, "OAUTH_FAILED"),
        "{:#}",
        refused.body
    );
    assert_eq!(
        refused.body["errors"][0]["message"],
        "the UserInfo answer was refused: its subject is not the ID token's"
    );
    assert_eq!(refused.user_id(), None);
    assert_eq!(browser.get("/me").await.status, 401);
    let taken = server.browser().sign_up(&victim).await;
    assert_eq!(taken.status, 200, "nothing claimed the address");

    // The endpoint fails: the sign-in fails too, rather than go on without the claims.
    let (mut browser, failed) = sign_in_via_user_info(&provider, &server, &sub(), None).await;
    assert_eq!(
        (failed.status, failed.error()),
        (502, "PROVIDER_UNAVAILABLE"),
        "{:#}",
        failed.body
    );
    assert_eq!(browser.get("/me").await.status, 401);
}

#[tokio::test]
async fn when_the_id_token_is_sound_the_pkce_verifier_matches_and_calls_are_counted() {
    let (provider, server, mut browser, nonce, state_and_challenge) = at_test_provider().await;
    let (state, challenge) = state_and_challenge.split_once(' ').unwrap();
    type Count = (usize, usize, usize, usize);
    let count = || provider.seen(|s| (s.discovery, s.jwks, s.token, s.userinfo));
    let cold = count();
    // The control for the test above: the same token, signed by the published key, passes.
    provider.next_token(NextToken {
        claims: provider.claims(&sub(), &nonce),
        published_key: true,
    });
    let done = callback_with(&mut browser, state).await;
    assert_eq!(done.status, 200, "{:#}", done.body);
    assert!(done.user_id().is_some());
    let verifier = provider
        .seen(|s| s.code_verifier.clone())
        .expect("PKCE verifier sent");
    assert_eq!(pkce_challenge(&verifier), challenge);
    let callback = count();

    // A provider that puts the scope claims in UserInfo only costs the callback one call more.
    let subject = sub();
    let user_info = json!({"sub": subject, "email": unique_email("counted"), "email_verified": true,
                           "given_name": "Grace"});
    let (_, answered) = sign_in_via_user_info(&provider, &server, &subject, Some(user_info)).await;
    assert_eq!(answered.status, 200, "{:#}", answered.body);
    // (Its init made no call: discovery and the JWKS are cached.)
    let with_userinfo = count();

    let line = |what: &str, from: Count, to: Count| {
        let (discovery, jwks, token, userinfo) =
            (to.0 - from.0, to.1 - from.1, to.2 - from.2, to.3 - from.3);
        println!(
            "EXTERNAL CALLS {what}: token {token}, UserInfo {userinfo}, discovery {discovery}, JWKS {jwks} ({} in all)",
            token + userinfo + discovery + jwks
        );
    };
    println!(
        "EXTERNAL CALLS init on a cold container: discovery {}, JWKS {}",
        cold.0, cold.1
    );
    line("callback, scope claims in the ID token", cold, callback);
    line(
        "callback, scope claims only from UserInfo",
        callback,
        with_userinfo,
    );
    assert_eq!(cold, (1, 1, 0, 0), "init fetched discovery and JWKS once");
    assert_eq!(
        callback,
        (1, 1, 1, 0),
        "the callback only called the token endpoint"
    );
    assert_eq!(
        with_userinfo,
        (1, 1, 2, 1),
        "the token endpoint and UserInfo, nothing else"
    );
}

async fn parallel_callbacks_create_one_user(backend: Backend) {
    let provider = TestProvider::start().await;
    let Some(server) = server(backend, &provider.issuer, &[]).await else {
        return;
    };
    let mut browser = server.browser();
    let url = oauth_url(&mut browser).await;
    let (state, nonce) = (param(&url, "state").unwrap(), param(&url, "nonce").unwrap());
    // The provider answers every exchange, so only Sesame's own write can stop the repeats.
    provider.next_token(NextToken {
        claims: provider.claims(&sub(), &nonce),
        published_key: true,
    });
    let answers = join_all((0..8).map(|_| {
        let mut b = browser.clone();
        let state = state.clone();
        async move { callback_with(&mut b, &state).await }
    }))
    .await;
    let won: Vec<&Answer> = answers.iter().filter(|a| a.status == 200).collect();
    assert_eq!(
        won.len(),
        1,
        "{:#?}",
        answers
            .iter()
            .map(|a| (a.status, a.error()))
            .collect::<Vec<_>>()
    );
    // Losers that read the session before the winner committed see the attempt completed; those
    // that read it after hold a cookie whose secret the sign-in rotated, so their state matches
    // no attempt of theirs.
    for lost in answers.iter().filter(|a| a.status != 200) {
        let refusal = (
            lost.status,
            lost.error(),
            lost.body["errors"][0]["field"].as_str(),
        );
        assert!(
            refusal == (409, "ATTEMPT_COMPLETED", None)
                || refusal == (400, "INVALID_FIELD", Some("state")),
            "{refusal:?}"
        );
    }
    // Each callback exchanges the code unless it loads the attempt after the winner completed it
    // (then 409 without an exchange): how many do depends on scheduling, never more than 8.
    let exchanges = provider.seen(|s| s.token);
    assert!((1..=8).contains(&exchanges), "{exchanges} exchanges");
    // One user holds the identity: the same subject signing in again finds exactly that one.
    let user = me_of(won[0]);
    let mut again = server.browser();
    let url = oauth_url(&mut again).await;
    let (state, nonce) = (param(&url, "state").unwrap(), param(&url, "nonce").unwrap());
    provider.next_token(NextToken {
        claims: provider.last_claims_with_nonce(&nonce),
        published_key: true,
    });
    let returning = callback_with(&mut again, &state).await;
    assert_eq!(me_of(&returning), user);
}
on_both_backends!(parallel_callbacks_create_one_user);
