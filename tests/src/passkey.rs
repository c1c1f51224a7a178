//! A software passkey for the end-to-end tests: `webauthn-authenticator-rs`'s `SoftPasskey`
//! (real P-256 keys and signatures, a signature counter, user verification) behind the same
//! client-side checks a browser makes. It keeps no resident keys, so this wrapper plays that
//! part: it remembers each credential's user handle and names the credential to use, as a
//! platform authenticator does for a discoverable credential.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};
use webauthn_authenticator_rs::prelude::{
    CreationChallengeResponse, RequestChallengeResponse, Url, WebauthnAuthenticator,
};
use webauthn_authenticator_rs::softpasskey::SoftPasskey;

/// The origin the test servers accept by default (`WEBAUTHN_ORIGINS` unset: localhost, any port).
pub const ORIGIN: &str = "http://localhost:3000";

pub struct SoftKey {
    authenticator: WebauthnAuthenticator<SoftPasskey>,
    origin: Url,
    /// Each credential made: its id and its user handle.
    pub credentials: Vec<(Vec<u8>, Vec<u8>)>,
}

fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

impl SoftKey {
    /// An authenticator that verifies its user (as a platform passkey does).
    pub fn new(origin: &str) -> Self {
        Self {
            authenticator: WebauthnAuthenticator::new(SoftPasskey::new(true)),
            origin: Url::parse(origin).expect("an origin"),
            credentials: Vec::new(),
        }
    }

    /// Serves pages of another origin from now on (a phishing site that asks for a passkey).
    pub fn move_to(&mut self, origin: &str) {
        self.origin = Url::parse(origin).expect("an origin");
    }

    /// Answers `POST /me/passkeys/register/begin`'s `data` (`{publicKey}`) as the browser's
    /// `navigator.credentials.create` would; `rp_id` overrides the relying party (a passkey made
    /// for another site).
    pub fn register(&mut self, options: &Value, rp_id: Option<&str>) -> Value {
        let mut options = options.clone();
        let public_key = &mut options["publicKey"];
        // The soft token keeps no resident keys: this wrapper does (see above).
        public_key["authenticatorSelection"]["residentKey"] = json!("discouraged");
        public_key["authenticatorSelection"]["requireResidentKey"] = json!(false);
        if let Some(rp_id) = rp_id {
            public_key["rp"]["id"] = json!(rp_id);
        }
        let handle = URL_SAFE_NO_PAD
            .decode(public_key["user"]["id"].as_str().expect("a user handle"))
            .expect("base64url");
        let ccr: CreationChallengeResponse =
            serde_json::from_value(options).expect("creation options");
        let made = self
            .authenticator
            .do_registration(self.origin.clone(), ccr)
            .expect("the soft passkey registers");
        self.credentials.push((made.raw_id.to_vec(), handle));
        serde_json::to_value(made).expect("serializes")
    }

    /// Answers a passkey attempt's `passkey_options` with credential `which`, as
    /// `navigator.credentials.get` would; `rp_id` overrides the relying party.
    pub fn assert(&mut self, options: &Value, which: usize, rp_id: Option<&str>) -> Value {
        let (id, handle) = self.credentials[which].clone();
        let mut options = options.clone();
        options["publicKey"]["allowCredentials"] = json!([{"type": "public-key", "id": b64(&id)}]);
        if let Some(rp_id) = rp_id {
            options["publicKey"]["rpId"] = json!(rp_id);
        }
        let rcr: RequestChallengeResponse =
            serde_json::from_value(options).expect("request options");
        let made = self
            .authenticator
            .do_authentication(self.origin.clone(), rcr)
            .expect("the soft passkey signs");
        let mut answer = serde_json::to_value(made).expect("serializes");
        answer["response"]["userHandle"] = json!(b64(&handle));
        answer
    }
}
