//! Issue 12, item 3: in AWS a code sign-in enqueues one sealed item on the code queue, known
//! identifier or not, and answers without waiting for SES or SNS; the `send-codes` function
//! (`sesame::send_codes::send_batch`) delivers. Against moto: SQS queue, then the consumer, then
//! SES as moto records it. A failed delivery is recorded on the attempt and shown in the session,
//! and a resend still works.

use std::time::Instant;

use serde_json::{Value, json};
use sesame::Deps;
use sesame::adapters::sqs::Sealer;
use sesame::send_codes::send_batch;
use sesame_e2e::{Backend, Browser, Moto, Server, unique_email};

/// Both the request functions and the sender must share the code key: they seal and open with it.
const KEY: &str = "5e5a3e0c0de0c0de5e5a3e0c0de0c0de5e5a3e0c0de0c0de5e5a3e0c0de0c0de";

struct Setup {
    server: Server,
    queue: String,
    /// The `send-codes` function's app: no queue of its own.
    sender: Deps,
}

async fn setup(sender_overrides: &[(&str, &str)]) -> Option<Setup> {
    let moto = Moto::new(true).await?;
    let queue = moto.create_queue().await;
    let app = sesame::wiring::aws(
        moto.config(&[("CODE_HASH_KEY", KEY), ("CODE_QUEUE_URL", &queue)]),
        None,
    )
    .await
    .expect("wired");
    assert!(app.queue.is_some(), "the request functions enqueue");
    let mut overrides = vec![("CODE_HASH_KEY", KEY)];
    overrides.extend_from_slice(sender_overrides);
    let sender = sesame::wiring::aws(moto.config(&overrides), None)
        .await
        .expect("wired");
    assert!(sender.queue.is_none());
    let server = Server::serve(
        app,
        None,
        Some(moto),
        sesame::adapters::dynamo::CallLog::new(),
        Backend::Moto,
    )
    .await;
    Some(Setup {
        server,
        queue,
        sender,
    })
}

impl Setup {
    fn moto(&self) -> &Moto {
        self.server.moto.as_ref().unwrap()
    }

    /// Runs the consumer over everything queued; the ids it reported as failed, and how many
    /// items there were.
    async fn send_codes(&self) -> (Vec<String>, usize) {
        let records = self.moto().drain(&self.queue).await;
        let n = records.len();
        let sealer = Sealer::new(&hex(KEY));
        (send_batch(&self.sender, &sealer, records).await, n)
    }

    /// A verified user (signed up with its code, which goes to SES at once).
    async fn user(&self, tag: &str) -> String {
        let (_, email, _) = self.server.new_user(tag).await;
        email
    }
}

fn hex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

async fn code_sign_in(browser: &mut Browser, identifier: &str) -> sesame_e2e::Answer {
    browser
        .post(
            "/auth/signin",
            json!({"identifier": identifier, "strategy": "email_otp"}),
        )
        .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_code_goes_through_the_queue_and_the_sender_delivers_it() {
    let Some(s) = setup(&[]).await else { return };
    let email = s.user("queued").await;
    let before = s.server.messages_to(&email).await.len();

    let mut known = s.server.browser();
    let opened = code_sign_in(&mut known, &email).await;
    assert_eq!(opened.status, 200, "{:#}", opened.body);
    let unknown = unique_email("nobody");
    let mut stranger = s.server.browser();
    assert_eq!(code_sign_in(&mut stranger, &unknown).await.status, 200);
    assert_eq!(
        s.server.messages_to(&email).await.len(),
        before,
        "the answer did not wait for SES: nothing is sent yet"
    );

    let records = s.moto().drain(&s.queue).await;
    assert_eq!(records.len(), 2, "one item per code request, known or not");
    for r in &records {
        use base64::Engine;
        let raw = base64::engine::general_purpose::STANDARD
            .decode(&r.body)
            .expect("base64");
        let raw = String::from_utf8_lossy(&raw);
        assert!(
            !raw.contains(&email) && !raw.contains("verification"),
            "sealed: no address, no text"
        );
    }
    assert_eq!(records[0].body.len(), records[1].body.len(), "decoy alike");
    let sealer = Sealer::new(&hex(KEY));
    assert!(send_batch(&s.sender, &sealer, records).await.is_empty());

    let messages = s.server.messages_to(&email).await;
    assert_eq!(messages.len(), before + 1, "the sender delivered the code");
    assert!(s.server.messages_to(&unknown).await.is_empty());
    let code = s.server.code_for(&email).await;
    let done = known
        .verify_signin(&opened.signin_attempt_id(), &code)
        .await;
    assert_eq!(done.status, 200, "{:#}", done.body);
    assert!(done.user_id().is_some());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_failed_delivery_shows_in_the_session_and_a_resend_works() {
    // The sender's SES identity is not verified: moto refuses every email it sends.
    let Some(s) = setup(&[("EMAIL_FROM", "unverified@sesame.test")]).await else {
        return;
    };
    let email = s.user("refused").await;
    let mut b = s.server.browser();
    let opened = code_sign_in(&mut b, &email).await;
    assert_eq!(opened.status, 200, "{:#}", opened.body);
    let attempt = |answer: &Value| answer["signin_attempts"][0].clone();
    assert_eq!(
        attempt(&opened.body["session"])["delivery_failed"],
        json!(false)
    );

    let (failed, n) = s.send_codes().await;
    assert_eq!((failed.len(), n), (1, 1), "reported for a retry");

    let session = b.get("/session").await;
    assert_eq!(
        attempt(&session.body["data"])["delivery_failed"],
        json!(true),
        "{:#}",
        session.body
    );
    // No cooldown after a failed delivery: resend at once, through the queue again.
    let id = opened.signin_attempt_id();
    let resent = b
        .post(
            "/auth/prepare-verification",
            json!({"signin_attempt_id": id}),
        )
        .await;
    assert_eq!(resent.status, 200, "{:#}", resent.body);
    assert_eq!(
        attempt(&resent.body["session"])["delivery_failed"],
        json!(false),
        "the new code replaced the failed one"
    );

    // This time the sender can send (the app's own, verified identity).
    let records = s.moto().drain(&s.queue).await;
    assert_eq!(records.len(), 1);
    let sealer = Sealer::new(&hex(KEY));
    let app = s.server.app.clone();
    assert!(send_batch(&app, &sealer, records).await.is_empty());
    let code = s.server.code_for(&email).await;
    assert_eq!(b.verify_signin(&id, &code).await.status, 200);
}

/// Medians (ms) of code sign-in answers for `n` known identifiers and as many unknown ones,
/// alternating which goes first; the answers must be alike.
async fn answer_times(server: &Server, n: usize) -> (f64, f64) {
    let mut emails = Vec::new();
    for i in 0..n {
        emails.push(server.new_user(&format!("timed{i}")).await.1);
    }
    let (mut known, mut unknown) = (Vec::new(), Vec::new());
    let mut shapes = Vec::new();
    for (i, email) in emails.iter().enumerate() {
        for is_known in [i % 2 == 0, i % 2 == 1] {
            let mut b = server.browser();
            let identifier = match is_known {
                true => email.clone(),
                false => unique_email("timed-nobody"),
            };
            let started = Instant::now();
            let answer = code_sign_in(&mut b, &identifier).await;
            let took = started.elapsed().as_secs_f64() * 1000.0;
            assert_eq!(answer.status, 200, "{:#}", answer.body);
            let at = &answer.body["session"]["signin_attempts"][0];
            shapes.push((at["current_step"].clone(), at["remaining_steps"].clone()));
            match is_known {
                true => known.push(took),
                false => unknown.push(took),
            }
        }
    }
    assert!(shapes.windows(2).all(|w| w[0] == w[1]), "the same answer");
    let median = |v: &mut Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    (median(&mut known), median(&mut unknown))
}

/// Prints the answer time of a code sign-in for a known and an unknown identifier against moto
/// (DynamoDB Local; SES and SQS in moto): with the code queue, and without it (SES called in the
/// request, as before; the dev server's AWS backend still works that way). No timed assertion:
/// the machine is shared.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn code_sign_in_answer_times_for_known_and_unknown_identifiers() {
    let Some(s) = setup(&[]).await else { return };
    const N: usize = 15;
    let (k, u) = answer_times(&s.server, N).await;
    println!(
        "CODE SIGN-IN ANSWER with the code queue (moto + DynamoDB Local, median of {N}): known \
         {k:.2} ms, unknown {u:.2} ms, ratio {:.3}",
        k / u
    );
    let (_, n) = s.send_codes().await;
    assert!(n >= 2 * N, "every request enqueued one item ({n})");

    let Some(direct) = Server::start(Backend::Moto, &[]).await else {
        return;
    };
    assert!(direct.app.queue.is_none());
    let (k, u) = answer_times(&direct, N).await;
    println!(
        "CODE SIGN-IN ANSWER without a queue, SES in the request (moto + DynamoDB Local, median \
         of {N}): known {k:.2} ms, unknown {u:.2} ms, ratio {:.3}",
        k / u
    );
}
