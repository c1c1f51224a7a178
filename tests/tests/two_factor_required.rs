//! `REQUIRE_SECOND_FACTOR=true` (issue 13) on both backends: a user without a second factor is
//! signed in but may only enroll one; a token, profile edits and the like wait for it, and the
//! last factor cannot be turned off.

use serde_json::json;
use sesame::domain::ports::Clock;
use sesame_e2e::{Backend, Browser};
use time::Duration;

#[macro_use]
#[path = "two_factor/support.rs"]
mod support;
use support::*;

async fn token(b: &mut Browser) -> (u16, String) {
    let answer = b.post("/session/token", json!({})).await;
    (answer.status, answer.error().to_string())
}

async fn a_user_without_a_second_factor_may_only_enroll_one(backend: Backend) {
    let Some((server, clock)) = server_with(backend, &[("REQUIRE_SECOND_FACTOR", "true")]).await
    else {
        return;
    };
    // A new sign-up is signed in, and told what to do.
    let (mut browser, _, user_id) = server.new_user("required").await;
    let status = browser.get("/me/two-factor").await;
    assert_eq!(status.status, 200, "{:#}", status.body);
    assert_eq!(status.body["data"]["required"], true);
    assert_eq!(status.body["data"]["two_factor_enabled"], false);
    let me = browser.get("/me").await;
    assert_eq!(me.status, 200, "the user can be read");
    assert_eq!(me.body["data"]["id"], user_id.as_str());

    // Everything else waits for the factor: no token for a backend, no edits.
    assert_eq!(
        token(&mut browser).await,
        (403, "SECOND_FACTOR_REQUIRED".into())
    );
    let patch = browser
        .client
        .patch(format!("{}/me", browser.base))
        .json(&json!({"first_name": "Ada"}));
    let edited = browser.send(patch).await;
    let listed = browser.get("/me/sessions").await;
    for refused in [edited, listed] {
        assert_eq!(
            (refused.status, refused.error()),
            (403, "SECOND_FACTOR_REQUIRED"),
            "{:#}",
            refused.body
        );
    }

    // Enrolled, the signin is whole.
    let (uri, _) = enroll(&mut browser, &clock).await;
    assert_eq!(token(&mut browser).await.0, 200);
    assert_eq!(browser.get("/me/sessions").await.status, 200);

    // The last factor stays on while the deployment requires one.
    clock.advance(Duration::seconds(30));
    let reverified = browser
        .post(
            "/auth/reverify",
            json!({"strategy": "totp", "code": totp_at(&uri, clock.now())}),
        )
        .await;
    assert_eq!(reverified.status, 200, "{:#}", reverified.body);
    let off = delete(&mut browser, "/me/totp").await;
    assert_eq!((off.status, off.error()), (403, "SECOND_FACTOR_REQUIRED"));
    assert!(two_factor_enabled(&mut browser).await);
}
with_clock!(a_user_without_a_second_factor_may_only_enroll_one);

/// The default: no factor needed, and `required` says so.
async fn without_the_setting_no_factor_is_needed(backend: Backend) {
    let Some((server, _)) = server(backend).await else {
        return;
    };
    let (mut browser, _, _) = server.new_user("optional").await;
    let status = browser.get("/me/two-factor").await;
    assert_eq!(status.body["data"]["required"], false);
    assert_eq!(token(&mut browser).await.0, 200);
}
with_clock!(without_the_setting_no_factor_is_needed);
