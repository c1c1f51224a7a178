//! Feeds every function's sample event (`events/<function>.json`) through the Lambda entry point
//! (`sesame_functions::serve`) with the embedded store, the way `cargo lambda invoke --data-file`
//! would. That every route has its function and event is `route_table.rs`'s business.

use std::path::PathBuf;

use http::header::SET_COOKIE;
use serde_json::Value;
use sesame::Deps;
use sesame::config::Config;
use sesame::http::Route;

/// The sample event of the function that serves `route` (`None`: the `$default` fallback).
fn event(route: Option<Route>) -> Value {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../events")
        .join(format!("{}.json", sesame_functions::function_name(route)));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap()
}

async fn invoke(app: &Deps, route: Option<Route>, event: &Value) -> (u16, Option<String>, Value) {
    let request =
        lambda_http::request::from_str(&event.to_string()).expect("an API Gateway v2 event");
    let response = sesame_functions::serve(app, route, request).await;
    let status = response.status().as_u16();
    let cookie = response
        .headers()
        .get(SET_COOKIE)
        .map(|v| v.to_str().unwrap().to_string());
    let body: Value = match response.body() {
        lambda_http::Body::Text(t) => serde_json::from_str(t).unwrap(),
        other => panic!("expected a text body, got {other:?}"),
    };
    (status, cookie, body)
}

fn app(overrides: &[(&str, &str)]) -> Deps {
    let mut all = vec![("ALLOWED_ORIGINS", "https://app.example.com")];
    all.extend_from_slice(overrides);
    sesame::wiring::embedded(Config::for_tests(&all)).0
}

#[tokio::test]
async fn when_each_sample_event_is_invoked_its_function_answers_in_the_envelope() {
    let app = app(&[]);
    let cases = [
        (Some(Route::Signup), 200, ""),
        (Some(Route::PrepareVerification), 404, "ATTEMPT_NOT_FOUND"),
        (Some(Route::AttemptVerification), 404, "ATTEMPT_NOT_FOUND"),
        (Some(Route::CompleteProfile), 404, "ATTEMPT_NOT_FOUND"),
        (Some(Route::OauthInit), 400, "INVALID_FIELD"),
        (Some(Route::OauthCallback), 400, "INVALID_FIELD"),
        (Some(Route::CompleteSignup), 400, "INVALID_CODE"),
        (Some(Route::AdminImportUser), 201, ""),
        (Some(Route::GetSession), 200, ""),
        (Some(Route::Signin), 401, "INVALID_CREDENTIALS"),
        (Some(Route::SwitchSignin), 401, "UNAUTHENTICATED"),
        (Some(Route::SignOut), 200, ""),
        (Some(Route::GetMe), 401, "UNAUTHENTICATED"),
        (Some(Route::PatchMe), 401, "UNAUTHENTICATED"),
        (Some(Route::IssueToken), 401, "UNAUTHENTICATED"),
        (Some(Route::RotateSigningKey), 200, ""),
        (Some(Route::ChangePassword), 401, "UNAUTHENTICATED"),
        (Some(Route::ResetPassword), 404, "ATTEMPT_NOT_FOUND"),
        (Some(Route::Reverify), 401, "UNAUTHENTICATED"),
        (Some(Route::ListSessions), 401, "UNAUTHENTICATED"),
        (Some(Route::RevokeSession), 401, "UNAUTHENTICATED"),
        (Some(Route::RevokeOtherSessions), 401, "UNAUTHENTICATED"),
        (Some(Route::DeleteMe), 401, "UNAUTHENTICATED"),
        (Some(Route::ChangeEmail), 401, "UNAUTHENTICATED"),
        (Some(Route::VerifyEmail), 401, "UNAUTHENTICATED"),
        (Some(Route::ChangePhoneNumber), 401, "UNAUTHENTICATED"),
        (Some(Route::VerifyPhoneNumber), 401, "UNAUTHENTICATED"),
        (Some(Route::AdminListUsers), 200, ""),
        (Some(Route::AdminGetUser), 404, "USER_NOT_FOUND"),
        (Some(Route::AdminPatchUser), 404, "USER_NOT_FOUND"),
        (Some(Route::AdminDeleteUser), 404, "USER_NOT_FOUND"),
        (Some(Route::AdminSignOutUser), 404, "USER_NOT_FOUND"),
        (Some(Route::StartTotp), 401, "UNAUTHENTICATED"),
        (Some(Route::VerifyTotp), 401, "UNAUTHENTICATED"),
        (Some(Route::DisableTotp), 401, "UNAUTHENTICATED"),
        (Some(Route::ReplaceBackupCodes), 401, "UNAUTHENTICATED"),
        (Some(Route::SetPhoneSecondFactor), 401, "UNAUTHENTICATED"),
        (Some(Route::GetTwoFactor), 401, "UNAUTHENTICATED"),
        (
            Some(Route::BeginPasskeyRegistration),
            401,
            "UNAUTHENTICATED",
        ),
        (
            Some(Route::FinishPasskeyRegistration),
            401,
            "UNAUTHENTICATED",
        ),
        (Some(Route::ListPasskeys), 401, "UNAUTHENTICATED"),
        (Some(Route::RenamePasskey), 401, "UNAUTHENTICATED"),
        (Some(Route::DeletePasskey), 401, "UNAUTHENTICATED"),
        (None, 404, "NOT_FOUND"),
    ];
    // The two public documents answer their own JSON: see the test below.
    let documents = [Route::Jwks, Route::OpenidConfiguration].map(Some);
    for route in Route::ALL.map(Some).into_iter().chain([None]) {
        assert!(
            cases.iter().any(|(r, _, _)| *r == route) || documents.contains(&route),
            "no case for {route:?}'s event"
        );
    }
    for (route, status, code) in cases {
        let function = sesame_functions::function_name(route);
        let (got, _, body) = invoke(&app, route, &event(route)).await;
        assert_eq!(got, status, "{function}: {body:#}");
        assert_eq!(body["status"], status, "{function}");
        assert_eq!(
            body["errors"][0]["code"].as_str().unwrap_or(""),
            code,
            "{function}"
        );
    }
}

#[tokio::test]
async fn when_issuer_url_is_unset_the_issuer_is_the_domain_api_gateway_served() {
    let app = app(&[]);
    let (status, _, discovery) = invoke(
        &app,
        Some(Route::OpenidConfiguration),
        &event(Some(Route::OpenidConfiguration)),
    )
    .await;
    assert_eq!(status, 200, "{discovery:#}");
    let issuer = "https://abc123.execute-api.us-east-1.amazonaws.com";
    assert_eq!(discovery["issuer"], issuer, "requestContext.domainName");
    assert_eq!(
        discovery["jwks_uri"],
        format!("{issuer}/.well-known/jwks.json")
    );
    let (status, _, jwks) = invoke(&app, Some(Route::Jwks), &event(Some(Route::Jwks))).await;
    assert_eq!(status, 200, "{jwks:#}");
    assert_eq!(jwks["keys"][0]["kty"], "RSA");

    let fixed = app_with_issuer("https://auth.example.com");
    let (_, _, discovery) = invoke(
        &fixed,
        Some(Route::OpenidConfiguration),
        &event(Some(Route::OpenidConfiguration)),
    )
    .await;
    assert_eq!(discovery["issuer"], "https://auth.example.com");
}

fn app_with_issuer(issuer: &str) -> Deps {
    app(&[("ISSUER_URL", issuer)])
}

#[tokio::test]
async fn when_a_cookie_comes_back_in_the_v2_cookies_array_it_finds_the_session() {
    let app = app(&[]);
    let (status, cookie, opened) =
        invoke(&app, Some(Route::Signup), &event(Some(Route::Signup))).await;
    assert_eq!(status, 200);
    let pair = cookie.expect("the sign-up sets the session cookie");
    let pair = pair.split(';').next().unwrap().to_string();

    let mut read = event(Some(Route::GetSession));
    read["cookies"] = serde_json::json!([pair]);
    let (status, _, body) = invoke(&app, Some(Route::GetSession), &read).await;
    assert_eq!(status, 200);
    assert_eq!(body["data"]["id"], opened["session"]["id"]);
}

#[tokio::test]
async fn when_a_native_app_asks_for_header_mode_the_credential_travels_in_headers() {
    let app = app(&[]);
    let mut signup = event(Some(Route::Signup));
    signup["headers"]["x-session-mode"] = "header".into();
    let request = lambda_http::request::from_str(&signup.to_string()).unwrap();
    let response = sesame_functions::serve(&app, Some(Route::Signup), request).await;
    assert_eq!(response.status(), 200);
    assert!(response.headers().get(SET_COOKIE).is_none());
    let token = response.headers()["x-session-token"]
        .to_str()
        .unwrap()
        .to_string();

    let mut read = event(Some(Route::GetSession));
    read["headers"]["authorization"] = format!("Bearer {token}").into();
    let (status, cookie, body) = invoke(&app, Some(Route::GetSession), &read).await;
    assert_eq!((status, cookie), (200, None));
    let session_id = body["data"]["id"].as_str().expect("the bearer's session");
    assert!(token.starts_with(&format!("{session_id}.")));
}

#[tokio::test]
async fn when_limiting_by_address_the_source_ip_counts_and_x_forwarded_for_does_not() {
    let app = app(&[("LIMIT_SIGNUPS_PER_IP_PER_HOUR", "1")]);
    let signup = |email: &str, source_ip: &str, forwarded: &str| {
        let mut e = event(Some(Route::Signup));
        e["body"] = serde_json::json!({"email": email, "password": "analytical engine"})
            .to_string()
            .into();
        e["requestContext"]["http"]["sourceIp"] = source_ip.into();
        e["headers"]["x-forwarded-for"] = forwarded.into();
        e
    };
    let (first, _, _) = invoke(
        &app,
        Some(Route::Signup),
        &signup("a@example.com", "198.51.100.7", "1.1.1.1"),
    )
    .await;
    assert_eq!(first, 200);
    // A different X-Forwarded-For does not make it a different client.
    let (second, _, body) = invoke(
        &app,
        Some(Route::Signup),
        &signup("b@example.com", "198.51.100.7", "2.2.2.2"),
    )
    .await;
    assert_eq!(
        (second, body["errors"][0]["code"].as_str().unwrap()),
        (429, "RATE_LIMITED")
    );
    // A different source IP is.
    let (third, _, _) = invoke(
        &app,
        Some(Route::Signup),
        &signup("c@example.com", "198.51.100.8", "2.2.2.2"),
    )
    .await;
    assert_eq!(third, 200);
}

#[tokio::test]
async fn when_the_fallback_gets_a_preflight_or_a_wrong_method_it_answers_for_the_api() {
    let app = app(&[]);
    let mut preflight = event(None);
    preflight["rawPath"] = "/auth/signup".into();
    preflight["requestContext"]["http"]["method"] = "OPTIONS".into();
    preflight["requestContext"]["http"]["path"] = "/auth/signup".into();
    preflight["headers"]["access-control-request-method"] = "POST".into();
    let request = lambda_http::request::from_str(&preflight.to_string()).unwrap();
    let response = sesame_functions::serve(&app, None, request).await;
    assert_eq!(response.status(), 204);
    assert_eq!(
        response.headers()["access-control-allow-origin"],
        "https://app.example.com"
    );

    let mut wrong = event(None);
    wrong["rawPath"] = "/auth/signup".into();
    wrong["requestContext"]["http"]["path"] = "/auth/signup".into();
    let (status, _, body) = invoke(&app, None, &wrong).await;
    assert_eq!(
        (status, body["errors"][0]["code"].as_str().unwrap()),
        (405, "METHOD_NOT_ALLOWED")
    );
}

#[tokio::test]
async fn when_an_admin_request_lacks_api_gateways_iam_authorization_it_does_not_exist() {
    // In Lambda the admin key is ignored: only the AWS_IAM authorizer lets an operator through,
    // on each admin route's own function and on the `$default` one.
    let app = app(&[
        ("AWS_LAMBDA_FUNCTION_NAME", "admin"),
        ("SIGNING_KEY_KMS_KEY_ID", "alias/sesame-test"),
        ("CODE_HASH_KEY", &"ab".repeat(32)),
        ("ADMIN_KEY", "k"),
    ]);
    let admin: Vec<Route> = Route::ALL.into_iter().filter(|r| r.is_admin()).collect();
    assert_eq!(admin.len(), 7, "{admin:?}");
    for route in admin {
        let mut unsigned = event(Some(route));
        unsigned["requestContext"]
            .as_object_mut()
            .unwrap()
            .remove("authorizer");
        unsigned["headers"]["x-admin-key"] = "k".into();
        for function in [Some(route), None] {
            let (status, _, body) = invoke(&app, function, &unsigned).await;
            assert_eq!(
                (status, body["errors"][0]["code"].as_str()),
                (404, Some("NOT_FOUND")),
                "{route:?} on {function:?}"
            );
        }
    }
    let (status, _, body) = invoke(
        &app,
        Some(Route::AdminImportUser),
        &event(Some(Route::AdminImportUser)),
    )
    .await;
    assert_eq!(status, 201, "{body:#}");
    let user_id = body["data"]["id"].as_str().unwrap().to_string();
    // Signed by IAM, each route reaches the user, on its function and on `$default`.
    for function in [Some(Route::AdminGetUser), None] {
        let mut signed = event(Some(Route::AdminGetUser));
        let path = format!("/admin/users/{user_id}");
        signed["rawPath"] = path.clone().into();
        signed["requestContext"]["http"]["path"] = path.into();
        signed["pathParameters"]["user_id"] = user_id.clone().into();
        let (status, _, body) = invoke(&app, function, &signed).await;
        assert_eq!(status, 200, "{function:?}: {body:#}");
        assert_eq!(body["data"]["email"], "grace@example.com");
        assert_eq!(body["data"]["blocked"], false);
        assert!(body["data"].get("password_hash").is_none());
    }
}
