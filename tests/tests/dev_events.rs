//! `GET /dev/events` (DESIGN section 14): the dev server's embedded store publishes the same
//! domain events as the `events` function, newest first, one per committed change, none for a
//! refused write or a sign-up that lost its race.

use serde_json::{Value, json};
use sesame_e2e::events::{change_email, delete_me, race_for_one_email};
use sesame_e2e::{Backend, Server};

async fn events(server: &Server) -> Vec<Value> {
    let list: Value = reqwest::get(format!("{}/dev/events", server.base))
        .await
        .expect("events")
        .json()
        .await
        .expect("events are JSON");
    list.as_array().expect("a list").clone()
}

/// `(detail-type, detail.user_id)` of each event, newest first.
fn kinds(events: &[Value]) -> Vec<(String, String)> {
    events
        .iter()
        .map(|e| {
            (
                e["detail-type"].as_str().unwrap_or("?").to_string(),
                e["detail"]["user_id"].as_str().unwrap_or("?").to_string(),
            )
        })
        .collect()
}

fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
    list.iter()
        .map(|(t, u)| (t.to_string(), u.to_string()))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_sign_up_and_an_email_change_are_listed_newest_first() {
    let server = Server::start(Backend::Embedded, &[])
        .await
        .expect("the embedded backend always starts");
    assert!(events(&server).await.is_empty());

    let (mut browser, email, user_id) = server.new_user("devevents").await;
    let signed_up = events(&server).await;
    assert_eq!(
        kinds(&signed_up),
        pairs(&[("signin.created", &user_id), ("user.created", &user_id)])
    );
    let created = &signed_up[1];
    assert_eq!(created["source"], "sesame");
    assert_eq!(created["detail"]["user"]["email"], email.as_str());
    assert_eq!(created["detail"]["event_id"], created["id"]);
    assert!(created["detail"]["user"].get("password_hash").is_none());

    // Refused writes publish nothing: a wrong code, a sign-up with a taken email.
    let elsewhere = sesame_e2e::unique_email("elsewhere");
    let opened = browser.post("/me/email", json!({"email": elsewhere})).await;
    assert_eq!(opened.status, 200, "{:#}", opened.body);
    let code = server.code_for(&elsewhere).await;
    let wrong_code = if code == "000000" { "111111" } else { "000000" };
    let wrong = browser
        .post("/me/email/verify", json!({"code": wrong_code}))
        .await;
    assert_eq!((wrong.status, wrong.error()), (400, "INVALID_CODE"));
    let taken = server.browser().sign_up(&email).await;
    assert_eq!(taken.error(), "EMAIL_EXISTS", "{:#}", taken.body);
    assert_eq!(events(&server).await.len(), 2);

    let new_email = change_email(&server, &mut browser).await;
    let changed = events(&server).await;
    assert_eq!(
        kinds(&changed),
        pairs(&[
            ("email.changed", &user_id),
            ("signin.created", &user_id),
            ("user.created", &user_id),
        ])
    );
    assert_eq!(
        changed[0]["detail"],
        json!({"event_id": changed[0]["id"], "user_id": user_id, "email": new_email,
               "previous_email": email, "email_verified": true})
    );

    // A race for one email: the winner's user and signin, nothing for the loser.
    let (_, winner) = race_for_one_email(&server).await;
    delete_me(&mut browser).await;
    assert_eq!(
        kinds(&events(&server).await),
        pairs(&[
            ("signin.ended", &user_id),
            ("user.deleted", &user_id),
            ("signin.created", &winner),
            ("user.created", &winner),
            ("email.changed", &user_id),
            ("signin.created", &user_id),
            ("user.created", &user_id),
        ])
    );
}
