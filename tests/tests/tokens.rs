//! `POST /session/token`, the JWKS and OpenID discovery (DESIGN section 10), over HTTP on both
//! backends, with the tokens checked by independent libraries (PyJWT and npm `jose`) against the
//! JWKS fetched from the server, as a team's own backend would.

use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{DecodingKey, Validation, decode, decode_header};
use serde_json::{Value, json};
use sesame::adapters::clock::ManualClock;
use sesame::domain::keyring::{PUBLISH_LEAD, RETAIN};
use sesame_e2e::verifiers::Verifier;
use sesame_e2e::{Backend, Browser, Server, both_backends};
use time::{Duration, OffsetDateTime};

const ADMIN_KEY: &str = "test-admin-key";

async fn token(browser: &mut Browser, body: Value) -> (u16, Value) {
    let answer = browser.post("/session/token", body).await;
    (answer.status, answer.body)
}

async fn jwt(browser: &mut Browser) -> String {
    let (status, body) = token(browser, json!({})).await;
    assert_eq!(status, 200, "{body:#}");
    body["data"]["jwt"].as_str().unwrap().to_string()
}

async fn jwks(server: &Server) -> JwkSet {
    let res = reqwest::get(format!("{}/.well-known/jwks.json", server.base))
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    res.json().await.unwrap()
}

fn kids(set: &JwkSet) -> Vec<String> {
    set.keys
        .iter()
        .map(|k| k.common.key_id.clone().unwrap())
        .collect()
}

/// The token's claims, read without verifying (the verifiers check them).
fn claims_of(jwt: &str) -> Value {
    let payload = URL_SAFE_NO_PAD
        .decode(jwt.split('.').nth(1).unwrap())
        .unwrap();
    serde_json::from_slice(&payload).unwrap()
}

fn kid_of(jwt: &str) -> String {
    decode_header(jwt).unwrap().kid.unwrap()
}

/// The signature alone, against the key the JWKS lists under the token's `kid` (the clock may
/// be the test's, so times are not checked here).
fn signature_verifies(jwt: &str, set: &JwkSet) -> bool {
    let Some(jwk) = set.find(&kid_of(jwt)) else {
        return false;
    };
    let mut validation = Validation::new(jsonwebtoken::Algorithm::RS256);
    validation.validate_exp = false;
    validation.validate_aud = false;
    validation.required_spec_claims.clear();
    decode::<Value>(jwt, &DecodingKey::from_jwk(jwk).unwrap(), &validation).is_ok()
}

async fn rotate(server: &Server, body: Value) -> Value {
    let res = reqwest::Client::new()
        .post(format!("{}/admin/signing-keys/rotate", server.base))
        .header("x-admin-key", ADMIN_KEY)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    res.json::<Value>().await.unwrap()["data"].clone()
}

async fn tokens_verify_with_independent_libraries(server: Server) {
    let (mut browser, email, user_id) = server.new_user("token").await;
    let (status, body) = token(&mut browser, json!({})).await;
    assert_eq!(status, 200, "{body:#}");
    let jwt = body["data"]["jwt"].as_str().unwrap().to_string();
    let signin_id = body["session"]["active_signin"]["id"].as_str().unwrap();

    let discovery = reqwest::get(format!("{}/.well-known/openid-configuration", server.base))
        .await
        .unwrap();
    assert_eq!(
        discovery.headers()["cache-control"],
        "public, max-age=300",
        "verifiers may cache it"
    );
    let discovery: Value = discovery.json().await.unwrap();
    let issuer = discovery["issuer"].as_str().unwrap();
    assert_eq!(issuer, server.base, "the dev server's own address");
    let jwks_url = discovery["jwks_uri"].as_str().unwrap();
    assert_eq!(jwks_url, format!("{issuer}/.well-known/jwks.json"));
    assert_eq!(
        discovery["id_token_signing_alg_values_supported"],
        json!(["RS256"])
    );

    let expires_at = OffsetDateTime::parse(
        body["data"]["expires_at"].as_str().unwrap(),
        &time::format_description::well_known::Rfc3339,
    )
    .unwrap();
    let mut parts: Vec<String> = jwt.split('.').map(str::to_string).collect();
    let mut payload = claims_of(&jwt);
    payload["sub"] = json!("usr_someone_else");
    parts[1] = URL_SAFE_NO_PAD.encode(payload.to_string());
    let tampered = parts.join(".");

    for verifier in Verifier::ALL {
        let Some(verdict) = verifier.verify(jwks_url, issuer, issuer, &jwt) else {
            continue;
        };
        let claims = verdict.claims();
        assert_eq!(claims["iss"], issuer, "{verifier:?}");
        assert_eq!(
            claims["aud"], issuer,
            "{verifier:?}: audience defaults to the issuer"
        );
        assert_eq!(claims["sub"], user_id.as_str(), "{verifier:?}");
        assert_eq!(claims["sid"], signin_id, "{verifier:?}");
        assert_eq!(claims["email"], email.as_str(), "{verifier:?}");
        assert_eq!(claims["email_verified"], true, "{verifier:?}");
        assert_eq!(
            claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap(),
            60
        );
        assert_eq!(claims["exp"].as_i64().unwrap(), expires_at.unix_timestamp());
        assert!(claims.get("password_hash").is_none());

        let other_audience = verifier
            .verify(jwks_url, issuer, "https://other.example.com", &jwt)
            .unwrap();
        assert!(
            ["InvalidAudienceError", "ERR_JWT_CLAIM_VALIDATION_FAILED"]
                .contains(&other_audience.refusal()),
            "{verifier:?}: {other_audience:?}"
        );
        let other_issuer = verifier
            .verify(jwks_url, "https://evil.example.com", issuer, &jwt)
            .unwrap();
        assert!(
            ["InvalidIssuerError", "ERR_JWT_CLAIM_VALIDATION_FAILED"]
                .contains(&other_issuer.refusal()),
            "{verifier:?}: {other_issuer:?}"
        );
        let forged = verifier
            .verify(jwks_url, issuer, issuer, &tampered)
            .unwrap();
        assert!(
            [
                "InvalidSignatureError",
                "ERR_JWS_SIGNATURE_VERIFICATION_FAILED"
            ]
            .contains(&forged.refusal()),
            "{verifier:?}: {forged:?}"
        );
    }
}
both_backends!(tokens_verify_with_independent_libraries);

/// An expired token fails verification: the server's clock is two hours behind, so the token's
/// `exp` has passed in real time when the verifiers see it.
async fn an_expired_token_fails_verification(backend: Backend) {
    let clock = Arc::new(ManualClock::new(
        OffsetDateTime::now_utc() - Duration::hours(2),
    ));
    let Some(server) = Server::start_with_clock(backend, &[], clock).await else {
        return;
    };
    let (mut browser, _, _) = server.new_user("expired").await;
    let jwt = jwt(&mut browser).await;
    let jwks_url = format!("{}/.well-known/jwks.json", server.base);
    for verifier in Verifier::ALL {
        let Some(verdict) = verifier.verify(&jwks_url, &server.base, &server.base, &jwt) else {
            continue;
        };
        assert!(
            ["ExpiredSignatureError", "ERR_JWT_EXPIRED"].contains(&verdict.refusal()),
            "{verifier:?}: {verdict:?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_expired_token_fails_verification_embedded() {
    an_expired_token_fails_verification(Backend::Embedded).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_expired_token_fails_verification_moto() {
    an_expired_token_fails_verification(Backend::Moto).await;
}

/// No signin, no token: anonymous, signed out, expired, or naming a signin not in the session.
async fn no_token_is_issued_without_a_signin(server: Server) {
    let mut anonymous = server.browser();
    let (status, body) = token(&mut anonymous, json!({})).await;
    assert_eq!(
        (status, body["errors"][0]["code"].as_str()),
        (401, Some("UNAUTHENTICATED"))
    );

    let (mut browser, _, first_user) = server.new_user("named").await;
    let (_, second_email, second_user) = server.new_user("named2").await;
    // The same browser signs into the second account too: two signins, the second active.
    let signed = browser.sign_in(&second_email, "analytical engine").await;
    assert_eq!(signed.status, 200, "{:#}", signed.body);
    let signins = signed.body["data"]["signins"].as_array().unwrap().clone();
    let first_signin = signins
        .iter()
        .find(|s| s["user_id"] == first_user.as_str())
        .unwrap()["id"]
        .clone();
    let (status, body) = token(&mut browser, json!({})).await;
    assert_eq!(status, 200);
    let sub = |body: &Value| claims_of(body["data"]["jwt"].as_str().unwrap())["sub"].clone();
    assert_eq!(
        sub(&body),
        second_user.as_str(),
        "the active signin by default"
    );
    let (status, body) = token(&mut browser, json!({"signin_id": first_signin})).await;
    assert_eq!(status, 200);
    assert_eq!(sub(&body), first_user.as_str(), "the named signin");
    let (status, _) = token(&mut browser, json!({"signin_id": "sin_not_here"})).await;
    assert_eq!(status, 401);
    let (status, body) = token(&mut browser, json!({"surprise": 1})).await;
    assert_eq!(
        (status, body["errors"][0]["code"].as_str()),
        (400, Some("BAD_REQUEST_BODY"))
    );

    let out = browser
        .post("/session/sign-out", json!({"signin_id": first_signin}))
        .await;
    assert_eq!(out.status, 200);
    let (status, _) = token(&mut browser, json!({"signin_id": first_signin})).await;
    assert_eq!(status, 401, "a signed-out signin gets no token");
    let all_out = browser.post("/session/sign-out", json!({})).await;
    assert_eq!(all_out.status, 200);
    let (status, _) = token(&mut browser, json!({})).await;
    assert_eq!(status, 401, "signed out of everything");
}
both_backends!(no_token_is_issued_without_a_signin);

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_expired_signin_gets_no_token_and_a_token_never_outlives_its_signin() {
    let clock = Arc::new(ManualClock::new(OffsetDateTime::now_utc()));
    let Some(server) = Server::start_with_clock(
        Backend::Embedded,
        &[
            ("SESSION_IDLE_DAYS", "1"),
            ("SESSION_MAX_DAYS", "1"),
            ("TOKEN_TTL_SECONDS", "3600"),
        ],
        clock.clone(),
    )
    .await
    else {
        return;
    };
    let (mut browser, _, _) = server.new_user("lifetime").await;
    let signin_end = OffsetDateTime::parse(
        browser.get("/session").await.body["data"]["active_signin"]["expires_at"]
            .as_str()
            .unwrap(),
        &time::format_description::well_known::Rfc3339,
    )
    .unwrap();
    clock.advance(Duration::hours(23) + Duration::minutes(30));
    let (status, body) = token(&mut browser, json!({})).await;
    assert_eq!(status, 200, "{body:#}");
    assert_eq!(
        body["data"]["expires_at"].as_str().unwrap(),
        signin_end
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap(),
        "an hour's TTL is cut to the signin's end, half an hour away"
    );
    clock.advance(Duration::hours(1));
    let (status, _) = token(&mut browser, json!({})).await;
    assert_eq!(status, 401);
}

/// Rotation: the new key is published at once and signs only after the lead; tokens signed
/// before keep verifying until the old key retires, which happens only after they expired.
async fn rotation_never_fails_a_verification(backend: Backend) {
    let clock = Arc::new(ManualClock::new(OffsetDateTime::now_utc()));
    let Some(server) =
        Server::start_with_clock(backend, &[("ADMIN_KEY", ADMIN_KEY)], clock.clone()).await
    else {
        return;
    };
    let (mut browser, _, _) = server.new_user("rotate").await;
    let before = jwt(&mut browser).await;
    let old_kid = kid_of(&before);
    assert_eq!(kids(&jwks(&server).await), vec![old_kid.clone()]);

    let rotated = rotate(&server, json!({})).await;
    assert_eq!(rotated["staged"], true);
    let new_kid = rotated["kid"].as_str().unwrap().to_string();
    assert_ne!(new_kid, old_kid);
    let published = jwks(&server).await;
    assert_eq!(
        kids(&published),
        [old_kid.clone(), new_kid.clone()],
        "published at once"
    );
    assert!(signature_verifies(&before, &published));
    assert_eq!(
        kid_of(&jwt(&mut browser).await),
        old_kid,
        "not signing before the lead"
    );
    let again = rotate(&server, json!({})).await;
    assert_eq!(
        (again["staged"].clone(), again["kid"].clone()),
        (json!(false), json!(new_kid))
    );

    clock.advance(PUBLISH_LEAD);
    let after = jwt(&mut browser).await;
    assert_eq!(
        kid_of(&after),
        new_kid,
        "signing with the new key after the lead"
    );
    let published = jwks(&server).await;
    assert!(signature_verifies(&after, &published));
    assert!(
        signature_verifies(&before, &published),
        "the old key is still published"
    );

    clock.advance(RETAIN);
    let published = jwks(&server).await;
    assert_eq!(
        kids(&published),
        vec![new_kid.clone()],
        "retired after its tokens expired"
    );
    assert!(!signature_verifies(&before, &published));
    let current = jwt(&mut browser).await;
    assert!(signature_verifies(&current, &published));

    // The emergency form: a new key signs at once and the others are unpublished.
    rotate(&server, json!({})).await;
    let emergency = rotate(&server, json!({"immediate": true})).await;
    let revoked = emergency["revoked"].as_array().unwrap();
    assert!(revoked.contains(&json!(new_kid)), "{emergency:#}");
    let replacement = emergency["kid"].as_str().unwrap().to_string();
    let published = jwks(&server).await;
    assert_eq!(kids(&published), vec![replacement.clone()]);
    assert!(!signature_verifies(&current, &published), "revoked");
    let fresh = jwt(&mut browser).await;
    assert_eq!(kid_of(&fresh), replacement, "signing at once");
    assert!(signature_verifies(&fresh, &published));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn rotation_never_fails_a_verification_embedded() {
    rotation_never_fails_a_verification(Backend::Embedded).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn rotation_never_fails_a_verification_moto() {
    rotation_never_fails_a_verification(Backend::Moto).await;
}

async fn the_public_documents_are_cacheable_and_rotation_needs_the_admin_key(server: Server) {
    let res = reqwest::get(format!("{}/.well-known/jwks.json", server.base))
        .await
        .unwrap();
    assert_eq!(res.headers()["cache-control"], "public, max-age=300");
    assert_eq!(res.headers()["access-control-allow-origin"], "*");
    let set: Value = res.json().await.unwrap();
    let key = &set["keys"][0];
    assert_eq!(
        (
            key["kty"].as_str(),
            key["alg"].as_str(),
            key["use"].as_str()
        ),
        (Some("RSA"), Some("RS256"), Some("sig"))
    );
    assert!(
        key.get("d").is_none() && key.get("p").is_none(),
        "no private member: {key}"
    );

    // Without ADMIN_KEY configured, the rotation route does not exist.
    let res = reqwest::Client::new()
        .post(format!("{}/admin/signing-keys/rotate", server.base))
        .header("x-admin-key", "guess")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 404);
}
both_backends!(the_public_documents_are_cacheable_and_rotation_needs_the_admin_key);

/// An email address or phone number is claimed only once verified: a backend that looks records
/// up by `email` must not be handed an address nobody proved.
async fn an_unverified_email_is_not_claimed(server: Server) {
    let mut browser = server.browser();
    let phone = sesame_e2e::unique_phone();
    let email = sesame_e2e::unique_email("unproved");
    let opened = browser
        .post(
            "/auth/signup",
            json!({"phone_number": phone, "email": email, "password": "analytical engine", "strategy": "phone_otp"}),
        )
        .await;
    assert_eq!(opened.status, 200, "{:#}", opened.body);
    let code = server.code_for(&phone).await;
    let done = browser.verify(&opened.signup_attempt_id(), &code).await;
    assert_eq!(done.status, 200, "{:#}", done.body);
    let me = browser.get("/me").await;
    assert_eq!(
        (
            me.body["data"]["email"].as_str(),
            me.body["data"]["email_verified"].as_bool()
        ),
        (Some(email.as_str()), Some(false))
    );

    let claims = claims_of(&jwt(&mut browser).await);
    assert!(claims.get("email").is_none(), "{claims}");
    assert_eq!(claims["email_verified"], false);
    assert!(
        claims["nbf"].as_i64().unwrap() < claims["iat"].as_i64().unwrap(),
        "a little clock skew allowed"
    );
}
both_backends!(an_unverified_email_is_not_claimed);
