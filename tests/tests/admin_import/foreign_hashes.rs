//! Password hashes made by other implementations (Python's bcrypt, argon2-cffi, passlib and
//! hashlib, run by the test command's virtualenv) import, sign in, and are upgraded to argon2id.

use std::process::Command;

use super::*;

/// The output of a Python snippet run by the test command's virtualenv (`TEST_PYTHON`).
fn python(script: &str) -> Option<String> {
    let python = match std::env::var("TEST_PYTHON") {
        Ok(p) if !p.is_empty() => p,
        _ if std::env::var("CI").is_ok_and(|v| v == "true") => {
            panic!("TEST_PYTHON is not set: under CI=true the import hash tests must run")
        }
        _ => {
            eprintln!("TEST_PYTHON is not set: skipping (run ./scripts/test)");
            return None;
        }
    };
    let out = Command::new(python)
        .args(["-c", script])
        .output()
        .expect("python runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    Some(String::from_utf8(out.stdout).unwrap().trim().to_string())
}

/// Hashes of "Analytical Engine 1843" by other implementations, with how each was imported.
fn foreign_hashes() -> Option<Vec<(&'static str, Value)>> {
    let out = python(
        r#"
import bcrypt, argon2, hashlib, json
from passlib.hash import pbkdf2_sha256, pbkdf2_sha512
pw = "Analytical Engine 1843"
print(json.dumps([
  ["bcrypt $2b$", {"hash_fn": "bcrypt", "password": bcrypt.hashpw(pw.encode(), bcrypt.gensalt(6)).decode()}],
  ["bcrypt $2a$", {"hash_fn": "bcrypt", "password": bcrypt.hashpw(pw.encode(), bcrypt.gensalt(6, prefix=b"2a")).decode()}],
  ["argon2id", {"hash_fn": "argon2", "password": argon2.PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1).hash(pw)}],
  ["argon2i", {"hash_fn": "argon2", "password": argon2.PasswordHasher(time_cost=2, memory_cost=8192, parallelism=2, type=argon2.Type.I).hash(pw)}],
  ["argon2d", {"hash_fn": "argon2", "password": argon2.PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1, type=argon2.Type.D).hash(pw)}],
  ["passlib pbkdf2-sha256", {"hash_fn": "pbkdf2", "password": pbkdf2_sha256.using(rounds=2000).hash(pw)}],
  ["passlib pbkdf2-sha512", {"hash_fn": "pbkdf2", "password": pbkdf2_sha512.using(rounds=2000).hash(pw)}],
  ["hashlib bare sha256 hex + salt", {"hash_fn": "pbkdf2", "salt": "pepper-and-salt", "password": hashlib.pbkdf2_hmac("sha256", pw.encode(), b"pepper-and-salt", 10000).hex()}],
]))
"#,
    )?;
    let parsed: Vec<(String, Value)> = serde_json::from_str(&out).unwrap();
    Some(
        parsed
            .into_iter()
            .map(|(k, v)| (&*Box::leak(k.into_boxed_str()), v))
            .collect(),
    )
}

/// The password hash stored for the user `id`.
async fn stored_hash(server: &Server, id: &str) -> Option<String> {
    let user = server.app.store.get_user(id).await.unwrap();
    user.expect("the imported user").password_hash
}

/// A password sign-in of `email` in a fresh browser.
async fn sign_in(server: &Server, email: &str, password: &str) -> Answer {
    server.browser().sign_in(email, password).await
}

async fn foreign_hashes_sign_in_and_are_upgraded(backend: Backend) {
    let Some(hashes) = foreign_hashes() else {
        return;
    };
    let Some(server) = admin_server(backend, &[]).await else {
        return;
    };
    let mut admin = server.browser();
    for (what, imported) in hashes {
        let email = unique_email("hash");
        let mut record = imported.clone();
        record["email"] = json!(email);
        record["email_verified"] = json!(true);
        let created = import(&mut admin, &record, Some(KEY)).await;
        assert_eq!(created.status, 201, "{what}: {:#}", created.body);
        let id = created.body["data"]["id"].as_str().unwrap().to_string();

        let wrong = sign_in(&server, &email, "Analytical Engine 1842").await;
        assert_eq!(
            (wrong.status, wrong.error()),
            (401, "INVALID_CREDENTIALS"),
            "{what}"
        );
        let before = stored_hash(&server, &id).await;
        assert_eq!(
            before
                .as_deref()
                .map(|h| h.starts_with("$argon2id$v=19$m=19456")),
            Some(false),
            "{what}"
        );

        let first = sign_in(&server, &email, "Analytical Engine 1843").await;
        assert_eq!(
            first.user_id(),
            Some(id.as_str()),
            "{what}: {:#}",
            first.body
        );
        let after = stored_hash(&server, &id).await.unwrap();
        assert!(
            after.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
            "{what}: upgraded, got {after}"
        );
        let second = sign_in(&server, &email, "Analytical Engine 1843").await;
        assert_eq!(
            second.user_id(),
            Some(id.as_str()),
            "{what}: after the upgrade"
        );
        let wrong = sign_in(&server, &email, "Analytical Engine 1842").await;
        assert_eq!(wrong.status, 401, "{what}: after the upgrade");
    }
}

mod foreign_hashes_sign_in_and_are_upgraded {
    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn embedded() {
        super::foreign_hashes_sign_in_and_are_upgraded(sesame_e2e::Backend::Embedded).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn moto() {
        super::foreign_hashes_sign_in_and_are_upgraded(sesame_e2e::Backend::Moto).await;
    }
}
