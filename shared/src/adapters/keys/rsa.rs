//! The signing keys' cryptography, all on AWS-LC (constant-time, already our TLS library):
//! RSA-2048 generation, and RS256 signatures with a key parsed once per container.
//!
//! The JWS compact form (RFC 7515: base64url header, claims and signature joined by dots) is
//! assembled here rather than by `jsonwebtoken::encode`, which re-parses the private key from
//! DER for every signature (about 0.6 ms of a 1.2 ms token on the CI machine). `jsonwebtoken`
//! still computes the key's RFC 7638 thumbprint, and the tests verify every token with it,
//! PyJWT and npm `jose`.

use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::rsa::{KeyPair, KeySize, PublicKeyComponents};
use aws_lc_rs::signature::{KeyPair as _, RSA_PKCS1_SHA256};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::jwk::{
    AlgorithmParameters, CommonParameters, Jwk, RSAKeyParameters, RSAKeyType, ThumbprintHash,
};
use serde_json::{Map, Value, json};
use zeroize::Zeroizing;

use crate::domain::keyring::PublicKey;
use crate::domain::ports::KeyError;

/// A freshly generated key: its thumbprint, public members and private key (PKCS#8 DER).
pub struct NewKey {
    pub kid: String,
    pub public: PublicKey,
    pub pkcs8: Zeroizing<Vec<u8>>,
}

/// A private key ready to sign, parsed once.
pub struct Signer {
    kid: String,
    pair: KeyPair,
}

fn failed(what: &'static str) -> impl FnOnce(String) -> KeyError {
    move |detail| KeyError::Unavailable(format!("{what}: {detail}"))
}

pub fn generate() -> Result<NewKey, KeyError> {
    let pair = KeyPair::generate(KeySize::Rsa2048)
        .map_err(|e| failed("generate an RSA key")(e.to_string()))?;
    let der = pair
        .as_der()
        .map_err(|e| failed("export the RSA key")(e.to_string()))?;
    let components = PublicKeyComponents::<Vec<u8>>::from(pair.public_key());
    let public = PublicKey {
        n: URL_SAFE_NO_PAD.encode(&components.n),
        e: URL_SAFE_NO_PAD.encode(&components.e),
    };
    Ok(NewKey {
        kid: thumbprint(&public)?,
        public,
        pkcs8: Zeroizing::new(der.as_ref().to_vec()),
    })
}

/// RFC 7638: the SHA-256 of the key's required members, base64url.
fn thumbprint(public: &PublicKey) -> Result<String, KeyError> {
    let jwk = Jwk {
        common: CommonParameters::default(),
        algorithm: AlgorithmParameters::RSA(RSAKeyParameters {
            key_type: RSAKeyType::RSA,
            n: public.n.clone(),
            e: public.e.clone(),
        }),
    };
    jwk.thumbprint(ThumbprintHash::SHA256)
        .map_err(|e| failed("thumbprint the key")(e.to_string()))
}

/// The signer for `kid`'s private key (PKCS#8 DER).
pub fn signer(kid: &str, pkcs8: &[u8]) -> Result<Signer, KeyError> {
    let pair = KeyPair::from_pkcs8(pkcs8).map_err(|e| failed("load the RSA key")(e.to_string()))?;
    Ok(Signer {
        kid: kid.to_string(),
        pair,
    })
}

/// `claims` as a compact RS256 JWT whose header names the signer's `kid`.
pub fn sign(claims: &Map<String, Value>, signer: &Signer) -> Result<String, KeyError> {
    let header = json!({"alg": "RS256", "typ": "JWT", "kid": signer.kid});
    let input = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header.to_string()),
        URL_SAFE_NO_PAD.encode(
            serde_json::to_vec(claims).map_err(|e| failed("encode the claims")(e.to_string()))?
        )
    );
    let mut signature = vec![0; signer.pair.public_modulus_len()];
    signer
        .pair
        .sign(
            &RSA_PKCS1_SHA256,
            &SystemRandom::new(),
            input.as_bytes(),
            &mut signature,
        )
        .map_err(|e| failed("sign a token")(e.to_string()))?;
    Ok(format!("{input}.{}", URL_SAFE_NO_PAD.encode(signature)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use jsonwebtoken::{Algorithm, DecodingKey, Validation, decode, decode_header};

    #[test]
    fn a_generated_key_signs_tokens_its_published_members_verify() {
        let key = generate().unwrap();
        assert_eq!(key.public.e, "AQAB");
        let mut claims = Map::new();
        claims.insert("sub".into(), json!("usr_1"));
        claims.insert("exp".into(), json!(4_000_000_000u64));
        let jwt = sign(&claims, &signer(&key.kid, &key.pkcs8).unwrap()).unwrap();

        let header = decode_header(&jwt).unwrap();
        assert_eq!(header.alg, Algorithm::RS256);
        assert_eq!(header.kid.as_deref(), Some(key.kid.as_str()));
        let public = DecodingKey::from_rsa_components(&key.public.n, &key.public.e).unwrap();
        let mut validation = Validation::new(Algorithm::RS256);
        validation.validate_aud = false;
        let data = decode::<Value>(&jwt, &public, &validation).unwrap();
        assert_eq!(data.claims["sub"], "usr_1");

        let other = generate().unwrap();
        assert_ne!(other.kid, key.kid);
        let wrong = DecodingKey::from_rsa_components(&other.public.n, &other.public.e).unwrap();
        assert!(decode::<Value>(&jwt, &wrong, &validation).is_err());
    }

    #[test]
    fn the_kid_is_the_rfc_7638_thumbprint() {
        // RFC 7638 section 3.1's example key and its thumbprint.
        let public = PublicKey {
            n: "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw".into(),
            e: "AQAB".into(),
        };
        assert_eq!(
            thumbprint(&public).unwrap(),
            "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"
        );
    }
}
