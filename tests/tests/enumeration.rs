//! Known and unknown identifiers give the same answers, byte for byte apart from ids and times,
//! for password and code sign-in, on both backends.

use serde_json::json;
use sesame_e2e::{Answer, Server, both_backends};

/// The body with every id and timestamp replaced by a placeholder.
fn normalized(answer: &Answer) -> String {
    let text = answer.body.to_string();
    let mut out = String::with_capacity(text.len());
    let mut rest = text.as_str();
    while !rest.is_empty() {
        if let Some(len) = id_at(rest).or_else(|| time_at(rest)) {
            out.push('#');
            rest = &rest[len..];
        } else {
            let c = rest.chars().next().unwrap();
            out.push(c);
            rest = &rest[c.len_utf8()..];
        }
    }
    out
}

/// `sess_`, `sia_`, `sin_`, `sua_`, `usr_` followed by 32 hex digits.
fn id_at(s: &str) -> Option<usize> {
    let prefix = ["sess_", "sia_", "sin_", "sua_", "usr_"]
        .into_iter()
        .find(|p| s.starts_with(p))?;
    let hex = s[prefix.len()..]
        .bytes()
        .take_while(u8::is_ascii_hexdigit)
        .count();
    (hex == 32).then_some(prefix.len() + 32)
}

/// `2026-11-22T03:00:00Z`.
fn time_at(s: &str) -> Option<usize> {
    let b = s.as_bytes();
    let shape = b"dddd-dd-ddTdd:dd:ddZ";
    (b.len() >= shape.len()
        && shape.iter().zip(b).all(|(want, got)| {
            if *want == b'd' {
                got.is_ascii_digit()
            } else {
                want == got
            }
        }))
    .then_some(shape.len())
}

async fn known_and_unknown_identifiers_answer_alike(server: Server) {
    let (_, email, _) = server.new_user("k").await;
    // Same first letter and domain, so the masked identifiers match too.
    let unknown = format!("k{}@example.com", &sesame::ids::new_id("x")[2..14]);
    assert_ne!(unknown, email);

    let known_pw = server
        .browser()
        .sign_in(&email, "wrong password here")
        .await;
    let unknown_pw = server
        .browser()
        .sign_in(&unknown, "wrong password here")
        .await;
    assert_eq!(known_pw.status, 401);
    assert_eq!(
        known_pw.body.to_string(),
        unknown_pw.body.to_string(),
        "identical bytes"
    );
    assert_eq!(known_pw.set_cookie(), unknown_pw.set_cookie());

    let otp = json!({"strategy": "email_otp"});
    let with = |id: &str| {
        let mut body = otp.clone();
        body["identifier"] = id.into();
        body
    };
    let known_otp = server.browser().post("/auth/signin", with(&email)).await;
    let unknown_otp = server.browser().post("/auth/signin", with(&unknown)).await;
    assert_eq!((known_otp.status, unknown_otp.status), (200, 200));
    assert_eq!(normalized(&known_otp), normalized(&unknown_otp));
    assert!(known_otp.set_cookie().is_some() && unknown_otp.set_cookie().is_some());
    assert!(
        server.messages_to(&unknown).await.is_empty(),
        "nothing is sent for an unknown identifier"
    );

    // Guessing codes on either attempt looks the same too.
    let mut known_b = server.browser();
    let mut unknown_b = server.browser();
    let k = known_b
        .post(
            "/auth/signin",
            json!({"identifier": email, "strategy": "email_otp"}),
        )
        .await;
    let u = unknown_b
        .post(
            "/auth/signin",
            json!({"identifier": unknown, "strategy": "email_otp"}),
        )
        .await;
    let kv = known_b
        .verify_signin(&k.signin_attempt_id(), "000001")
        .await;
    let uv = unknown_b
        .verify_signin(&u.signin_attempt_id(), "000001")
        .await;
    assert_eq!(normalized(&kv), normalized(&uv));
}
both_backends!(known_and_unknown_identifiers_answer_alike);

async fn a_password_reset_answers_alike_for_unknown_identifiers(server: Server) {
    let (_, email, _) = server.new_user("r").await;
    let unknown = format!("r{}@example.com", &sesame::ids::new_id("x")[2..14]);
    let mut known_b = server.browser();
    let mut unknown_b = server.browser();
    let reset = |id: &str| json!({"identifier": id, "strategy": "reset_password_email_code"});
    let k = known_b.post("/auth/signin", reset(&email)).await;
    let u = unknown_b.post("/auth/signin", reset(&unknown)).await;
    assert_eq!((k.status, u.status), (200, 200));
    assert_eq!(normalized(&k), normalized(&u));
    assert_eq!(
        u.body["data"]["signin_attempts"][0]["remaining_steps"],
        json!(["verify_email_otp", "reset_password"])
    );
    assert!(
        server.messages_to(&unknown).await.is_empty(),
        "nothing sent"
    );

    // A wrong code, and the new password before any code, look the same too.
    let kv = known_b
        .verify_signin(&k.signin_attempt_id(), "000001")
        .await;
    let uv = unknown_b
        .verify_signin(&u.signin_attempt_id(), "000001")
        .await;
    assert_eq!(normalized(&kv), normalized(&uv));
    let early =
        |id: String| json!({"signin_attempt_id": id, "password": "a new difference engine"});
    let kr = known_b
        .post("/auth/reset-password", early(k.signin_attempt_id()))
        .await;
    let ur = unknown_b
        .post("/auth/reset-password", early(u.signin_attempt_id()))
        .await;
    assert_eq!(kr.status, 400);
    assert_eq!(normalized(&kr), normalized(&ur));
}
both_backends!(a_password_reset_answers_alike_for_unknown_identifiers);
