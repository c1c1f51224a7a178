//! Sesame's tokens checked by libraries that share no code with it: PyJWT (Python) and `jose`
//! (npm), each fetching the JWKS over HTTP as a team's own backend would. The scripts live in
//! `tests/verifiers/`; the test command installs PyJWT into `.venv` and `jose` there.
//!
//! Outside CI a missing verifier skips its check with a note; under `CI=true` it fails.

use std::path::PathBuf;
use std::process::Command;

use serde_json::Value;

/// What a verifier concluded: the claims, or the library's name for the failure.
#[derive(Debug)]
pub enum Verdict {
    Valid { claims: Value, kid: String },
    Refused(String),
}

impl Verdict {
    pub fn claims(&self) -> &Value {
        match self {
            Verdict::Valid { claims, .. } => claims,
            Verdict::Refused(e) => panic!("expected a valid token, the verifier said {e}"),
        }
    }

    pub fn refusal(&self) -> &str {
        match self {
            Verdict::Refused(e) => e,
            Verdict::Valid { claims, .. } => panic!("expected a refusal, got {claims}"),
        }
    }
}

/// One independent verifier.
#[derive(Clone, Copy, Debug)]
pub enum Verifier {
    PyJwt,
    Jose,
}

impl Verifier {
    pub const ALL: [Verifier; 2] = [Verifier::PyJwt, Verifier::Jose];

    /// Verifies `token` against the JWKS at `jwks_url` for `issuer` and `audience`; `None` when
    /// the verifier is not installed (outside CI only).
    pub fn verify(
        self,
        jwks_url: &str,
        issuer: &str,
        audience: &str,
        token: &str,
    ) -> Option<Verdict> {
        let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("verifiers");
        let mut command = match self {
            Verifier::PyJwt => {
                let python = available("TEST_PYTHON", std::env::var("TEST_PYTHON").ok())?;
                let mut c = Command::new(python);
                c.arg(dir.join("verify_pyjwt.py"));
                c
            }
            Verifier::Jose => {
                let installed = dir.join("node_modules/jose/package.json").exists();
                available("tests/verifiers/node_modules/jose", installed.then_some(()))?;
                let mut c = Command::new("node");
                c.arg(dir.join("verify_jose.mjs"));
                c
            }
        };
        let out = command
            .args([jwks_url, issuer, audience, token])
            .output()
            .unwrap_or_else(|e| panic!("{self:?} verifier did not run: {e}"));
        let stdout = String::from_utf8_lossy(&out.stdout);
        let answer: Value = serde_json::from_str(stdout.trim()).unwrap_or_else(|_| {
            panic!(
                "{self:?} verifier printed no verdict: {stdout} {}",
                String::from_utf8_lossy(&out.stderr)
            )
        });
        Some(if answer["ok"] == true {
            Verdict::Valid {
                claims: answer["claims"].clone(),
                kid: answer["kid"].as_str().unwrap_or_default().to_string(),
            }
        } else {
            Verdict::Refused(answer["error"].as_str().unwrap_or_default().to_string())
        })
    }
}

fn available<T>(what: &str, found: Option<T>) -> Option<T> {
    if found.is_none() {
        if std::env::var("CI").is_ok_and(|v| v == "true") {
            panic!("{what} is missing: under CI=true the token verifiers must run, not skip");
        }
        eprintln!("skipping a token verifier: {what} is missing (the test command installs it)");
    }
    found
}
