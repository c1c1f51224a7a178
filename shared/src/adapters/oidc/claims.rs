//! The scope claims Sesame takes from a provider (`email`, `email_verified`, the names and the
//! picture), as the ID token or the UserInfo answer gave them, and how the two are merged.
//!
//! OpenID Connect Core 5.4: when an access token is issued, a provider may return the claims the
//! `email` and `profile` scopes ask for from the UserInfo endpoint only, leaving the ID token with
//! `sub` and the protocol claims. So UserInfo is asked when the ID token lacks a requested
//! scope's claims, and what it says only fills what the ID token left out.

use openidconnect::ClaimsVerificationError;

use crate::domain::identifier::normalize_email;
use crate::domain::ports::identity::ProviderClaims;

/// One source's scope claims, trimmed, blanks dropped.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(super) struct ScopeClaims {
    pub email: Option<String>,
    /// As the source said it: `None` when it did not say.
    pub email_verified: Option<bool>,
    pub given_name: Option<String>,
    pub family_name: Option<String>,
    pub picture: Option<String>,
    /// Not kept, but its presence shows the source released the `profile` claims.
    pub name: Option<String>,
}

/// The [`ScopeClaims`] of an ID token's or a UserInfo answer's claims (both have the standard
/// claims' getters, but no common type the crate exposes for them).
macro_rules! scope_claims {
    ($c:expr) => {{
        let c = $c;
        $crate::adapters::oidc::claims::ScopeClaims {
            email: $crate::adapters::oidc::claims::text(c.email().map(|e| e.to_string())),
            email_verified: c.email_verified(),
            given_name: $crate::adapters::oidc::claims::text(
                c.given_name()
                    .and_then(|n| n.get(None))
                    .map(|n| n.to_string()),
            ),
            family_name: $crate::adapters::oidc::claims::text(
                c.family_name()
                    .and_then(|n| n.get(None))
                    .map(|n| n.to_string()),
            ),
            picture: $crate::adapters::oidc::claims::text(
                c.picture().and_then(|p| p.get(None)).map(|p| p.to_string()),
            ),
            name: $crate::adapters::oidc::claims::text(
                c.name().and_then(|n| n.get(None)).map(|n| n.to_string()),
            ),
        }
    }};
}
pub(super) use scope_claims;

pub(super) fn text(v: Option<String>) -> Option<String> {
    v.map(|s| s.trim().to_string()).filter(|s| !s.is_empty())
}

impl ScopeClaims {
    fn has_profile(&self) -> bool {
        self.given_name.is_some()
            || self.family_name.is_some()
            || self.picture.is_some()
            || self.name.is_some()
    }

    /// Whether a scope the client asked for (`email`, `profile`) has none of its claims here:
    /// then UserInfo may hold them. A token with any profile claim released the scope, so a
    /// user who simply has no family name costs no extra call.
    pub fn lacks_requested(&self, scopes: &[String]) -> bool {
        let asked = |s: &str| scopes.iter().any(|x| x == s);
        (asked("email") && self.email.is_none()) || (asked("profile") && !self.has_profile())
    }

    /// The ID token's claims (`self`) completed by UserInfo's: the ID token's stand wherever it
    /// has them. An email and its verification travel together: the ID token's email keeps the
    /// ID token's `email_verified`, taking UserInfo's only when the token says nothing of it and
    /// UserInfo names the same address; UserInfo's email comes with UserInfo's `email_verified`.
    pub fn completed_by(self, info: ScopeClaims) -> ScopeClaims {
        let (email, email_verified) = match self.email {
            Some(email) => {
                // The same mailbox as Sesame stores it (case, fullwidth and U-label spellings).
                let mailbox = |e: &str| normalize_email(e).ok();
                let same = info
                    .email
                    .as_deref()
                    .and_then(mailbox)
                    .is_some_and(|e| Some(e) == mailbox(&email));
                let verified = self.email_verified.or(info.email_verified.filter(|_| same));
                (Some(email), verified)
            }
            None => (info.email, info.email_verified),
        };
        ScopeClaims {
            email,
            email_verified,
            given_name: self.given_name.or(info.given_name),
            family_name: self.family_name.or(info.family_name),
            picture: self.picture.or(info.picture),
            name: self.name.or(info.name),
        }
    }

    /// What the domain gets: only an explicit `email_verified: true` counts.
    pub fn into_provider_claims(self, subject: String) -> ProviderClaims {
        ProviderClaims {
            subject,
            email: self.email,
            email_verified: self.email_verified == Some(true),
            given_name: self.given_name,
            family_name: self.family_name,
            picture: self.picture,
        }
    }
}

/// Why an ID token was refused, in words safe for the client (never the token itself).
pub(super) fn id_token_refusal(e: &ClaimsVerificationError) -> String {
    let what = match e {
        ClaimsVerificationError::SignatureVerification(_) => {
            "its signature does not verify against the provider's keys"
        }
        ClaimsVerificationError::InvalidIssuer(_) => "it was issued by another issuer",
        ClaimsVerificationError::InvalidAudience(_) => "it is meant for another client",
        ClaimsVerificationError::Expired(_) => "it has expired",
        ClaimsVerificationError::InvalidNonce(_) => "its nonce does not match this sign-in",
        _ => "it failed validation",
    };
    format!("the ID token was refused: {what}")
}

/// Why a UserInfo answer was refused (its `sub`, or a signed answer's checks).
pub(super) fn user_info_refusal(e: &ClaimsVerificationError) -> String {
    let what = match e {
        ClaimsVerificationError::InvalidSubject(_) => "its subject is not the ID token's",
        ClaimsVerificationError::SignatureVerification(_) => {
            "its signature does not verify against the provider's keys"
        }
        ClaimsVerificationError::InvalidIssuer(_) => "it was issued by another issuer",
        ClaimsVerificationError::InvalidAudience(_) => "it is meant for another client",
        _ => "it failed validation",
    };
    format!("the UserInfo answer was refused: {what}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scopes(s: &str) -> Vec<String> {
        s.split(' ').map(String::from).collect()
    }

    fn full() -> ScopeClaims {
        ScopeClaims {
            email: Some("ada@example.com".into()),
            email_verified: Some(true),
            given_name: Some("Ada".into()),
            family_name: Some("Lovelace".into()),
            picture: Some("https://img.example.com/ada.png".into()),
            name: Some("Ada Lovelace".into()),
        }
    }

    #[test]
    fn user_info_is_needed_only_for_a_requested_scope_the_id_token_left_out() {
        let all = scopes("openid email profile");
        assert!(!full().lacks_requested(&all));
        assert!(ScopeClaims::default().lacks_requested(&all));
        let no_email = ScopeClaims {
            email: None,
            email_verified: None,
            ..full()
        };
        assert!(no_email.lacks_requested(&all));
        assert!(!no_email.lacks_requested(&scopes("openid profile")));
        // Any profile claim shows the scope was released: a missing family name costs nothing.
        let only_name = ScopeClaims {
            email: Some("a@example.com".into()),
            name: Some("Ada".into()),
            ..ScopeClaims::default()
        };
        assert!(!only_name.lacks_requested(&all));
        let no_profile = ScopeClaims {
            email: Some("a@example.com".into()),
            ..ScopeClaims::default()
        };
        assert!(no_profile.lacks_requested(&all));
        assert!(!no_profile.lacks_requested(&scopes("openid email")));
        assert!(!ScopeClaims::default().lacks_requested(&scopes("openid")));
    }

    #[test]
    fn the_id_token_wins_and_user_info_fills_the_rest() {
        let token = ScopeClaims {
            given_name: Some("Token".into()),
            ..ScopeClaims::default()
        };
        let merged = token.completed_by(full());
        assert_eq!(merged.given_name.as_deref(), Some("Token"));
        assert_eq!(merged.family_name.as_deref(), Some("Lovelace"));
        assert_eq!(merged.email.as_deref(), Some("ada@example.com"));
        assert_eq!(merged.email_verified, Some(true));
        let claims = merged.into_provider_claims("sub-1".into());
        assert!(claims.email_verified);
        assert_eq!(claims.subject, "sub-1");
    }

    #[test]
    fn an_email_keeps_its_own_source_s_verification() {
        // The ID token's address, unverified there: UserInfo vouching for another address
        // verifies nothing.
        let token = ScopeClaims {
            email: Some("mine@example.com".into()),
            email_verified: Some(false),
            ..ScopeClaims::default()
        };
        let merged = token.clone().completed_by(full());
        assert_eq!(merged.email.as_deref(), Some("mine@example.com"));
        assert_eq!(merged.email_verified, Some(false));
        // Silent in the token, vouched for by UserInfo for another address: still unverified.
        let silent = ScopeClaims {
            email_verified: None,
            ..token
        };
        assert_eq!(silent.clone().completed_by(full()).email_verified, None);
        // ... and for the same address (any case): verified.
        let same = ScopeClaims {
            email: Some("ADA@example.com".into()),
            ..silent
        };
        assert_eq!(same.completed_by(full()).email_verified, Some(true));
    }

    #[test]
    fn only_an_explicit_true_verifies_a_user_info_email() {
        for (said, counts) in [(Some(true), true), (Some(false), false), (None, false)] {
            let info = ScopeClaims {
                email_verified: said,
                ..full()
            };
            let claims = ScopeClaims::default()
                .completed_by(info)
                .into_provider_claims("s".into());
            assert_eq!(claims.email.as_deref(), Some("ada@example.com"));
            assert_eq!(claims.email_verified, counts, "{said:?}");
        }
    }
}
