//! A sign-in identifier: an email address, an E.164 phone number or a username, told apart by
//! their shape, normalized as sign-up stored them, and looked up through their uniqueness claim.
//! `normalize_email` is the one normalization of an email address, used by every path that takes
//! one in (sign-up, sign-in, complete-profile, completeSignup, OAuth, import).

use idna::uts46::{AsciiDenyList, DnsLength, Hyphens, Uts46};
use unicode_normalization::UnicodeNormalization;

use super::error::FieldError;
use super::model::Claim;
use super::validation;

pub const MAX_EMAIL_CHARS: usize = 254;

pub fn parse(value: &str) -> Result<Claim, FieldError> {
    let v = value.trim();
    let field = |mut e: FieldError| {
        e.field = Some("identifier".into());
        e.message = "must be an email address, a phone number in E.164 form, or a username".into();
        e
    };
    // A fullwidth `＠` is an `@` too: the shape is read after NFKC, as the address will be.
    if v.nfkc().any(|c| c == '@') {
        normalize_email(v).map(Claim::Email).map_err(field)
    } else if v.starts_with('+') {
        validation::phone_number(v).map(Claim::Phone).map_err(field)
    } else {
        validation::username(v).map(Claim::Username).map_err(field)
    }
}

/// Trimmed, Unicode NFKC, lower-cased, and the domain in its IDNA A-label form, so every
/// spelling of one mailbox (`Ada@Example.com`, fullwidth `ａｄａ＠ｅｘａｍｐｌｅ．ｃｏｍ`,
/// `ada@bücher.example` and `ada@xn--bcher-kva.example`) is one address and one account. A quoted
/// local part and a domain that is an IP address (`[127.0.0.1]`, `1.2.3.4`) are refused. Errors
/// name `email`; callers rename them where the field is spelt otherwise.
pub fn normalize_email(value: &str) -> Result<String, FieldError> {
    let invalid = |why: &str| Err(FieldError::invalid("email", why));
    // NFKC again after lower-casing, so that normalizing a normalized address changes nothing.
    let folded: String = value.trim().nfkc().collect::<String>().to_lowercase();
    let folded: String = folded.trim().nfkc().collect();
    let Some((local, domain)) = folded.rsplit_once('@') else {
        return invalid("must be a valid email address");
    };
    if local.starts_with('"') || local.ends_with('"') {
        return invalid("must not have a quoted local part");
    }
    if domain.starts_with('[') || ends_in_number(domain) {
        return invalid("must have a domain name, not an IP address");
    }
    // UTS 46 with the STD3 rules (letters, digits, hyphens) and DNS lengths: a U-label becomes
    // its A-label (`bücher` -> `xn--bcher-kva`), an A-label stays as it is.
    let Ok(domain) = Uts46::new().to_ascii(
        domain.as_bytes(),
        AsciiDenyList::STD3,
        Hyphens::Allow,
        DnsLength::Verify,
    ) else {
        return invalid("must be a valid email address");
    };
    if ends_in_number(&domain) {
        return invalid("must have a domain name, not an IP address");
    }
    let address = format!("{local}@{domain}");
    let ok = address.len() <= MAX_EMAIL_CHARS
        && domain.contains('.')
        && email_address::EmailAddress::is_valid_local_part(local)
        && email_address::EmailAddress::is_valid_domain(&domain);
    if !ok {
        return invalid("must be a valid email address");
    }
    Ok(address)
}

/// The URL Standard's "ends in a number": a last label of digits (or `0x` hex) makes the host an
/// IPv4 address in every browser and resolver (`1.2.3.4`, `127.1`, `0x7f.1`), and no top-level
/// domain is numeric.
fn ends_in_number(domain: &str) -> bool {
    let last = domain
        .strip_suffix('.')
        .unwrap_or(domain)
        .rsplit('.')
        .next()
        .unwrap_or_default();
    let hex = last
        .strip_prefix("0x")
        .is_some_and(|h| h.bytes().all(|b| b.is_ascii_hexdigit()));
    hex || (!last.is_empty() && last.bytes().all(|b| b.is_ascii_digit()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn when_an_identifier_is_parsed_its_shape_picks_the_claim() {
        assert_eq!(
            parse(" Ada@Example.com ").unwrap(),
            Claim::Email("ada@example.com".into())
        );
        assert_eq!(
            parse("ａｄａ＠ｅｘａｍｐｌｅ．ｃｏｍ").unwrap(),
            Claim::Email("ada@example.com".into())
        );
        assert_eq!(
            parse("+1 415 555 0123").unwrap(),
            Claim::Phone("+14155550123".into())
        );
        assert_eq!(
            parse("Countess").unwrap(),
            Claim::Username("Countess".into())
        );
        assert_eq!(
            parse("not an identifier").unwrap_err().field.as_deref(),
            Some("identifier")
        );
    }

    #[test]
    fn when_an_email_is_spelt_another_way_it_normalizes_to_one_address() {
        let ok = |v: &str| normalize_email(v).unwrap();
        assert_eq!(ok(" Ada@Example.COM "), "ada@example.com");
        assert_eq!(ok("ａｄａ＠ｅｘａｍｐｌｅ．ｃｏｍ"), "ada@example.com");
        assert_eq!(ok("ＡＤＡ@example.com"), "ada@example.com");
        assert_eq!(ok("ada@bücher.example"), "ada@xn--bcher-kva.example");
        assert_eq!(ok("ada@BÜCHER.example"), "ada@xn--bcher-kva.example");
        assert_eq!(ok("ada@xn--bcher-kva.example"), "ada@xn--bcher-kva.example");
        assert_eq!(ok("ada@XN--BCHER-KVA.example"), "ada@xn--bcher-kva.example");
        assert_eq!(ok("ada@bücher。example"), "ada@xn--bcher-kva.example");
        assert_eq!(
            ok("ａｄａ＠ｂüｃｈｅｒ．ｅｘａｍｐｌｅ"),
            "ada@xn--bcher-kva.example"
        );
        // Non-ASCII local parts are kept (in NFKC, lower case).
        assert_eq!(ok("Ｊöｒｇ@example.com"), "jörg@example.com");
    }

    #[test]
    fn when_an_email_is_normalized_twice_nothing_changes() {
        for v in [
            "ada@example.com",
            "ａｄａ＠ｅｘａｍｐｌｅ．ｃｏｍ",
            "Ünal@BÜCHER.example",
            "ｏｎｅ.ｔｗｏ@ｅｘａｍｐｌｅ．ｃｏｍ",
            "ᴬda@example.com",
            "ΩΣ@example.com",
            "straße@example.com",
        ] {
            let once = normalize_email(v).expect(v);
            assert_eq!(normalize_email(&once).unwrap(), once, "{v}");
        }
    }

    #[test]
    fn when_an_email_is_quoted_an_ip_literal_or_malformed_it_is_refused() {
        for bad in [
            "\"ada\"@example.com",
            "\"a b\"@example.com",
            "\"ada@x\"@example.com",
            "ada@[127.0.0.1]",
            "ada@[IPv6:::1]",
            "ada@1.2.3.4",
            "ada@１．２．３．４",
            "ada@127.1",
            "ada@0x7f.0x1",
            "ada@example.123",
            "ada",
            "ada@",
            "@example.com",
            "ada@localhost",
            "a b@example.com",
            "Ada <ada@example.com>",
            "ada@exa_mple.com",
            "ada@ex%61mple.com",
            "ada@.example.com",
            "ada@example.com.",
            "ada@-example.com",
            "a..b@example.com",
        ] {
            let e = normalize_email(bad).expect_err(bad);
            assert_eq!(e.field.as_deref(), Some("email"), "{bad}");
        }
        let long = format!("{}@{}.com", "a".repeat(64), "b".repeat(63));
        assert!(normalize_email(&long).is_ok());
        let too_long = format!(
            "{}@{}.{}.{}.com",
            "a".repeat(64),
            "b".repeat(63),
            "c".repeat(63),
            "d".repeat(63)
        );
        assert!(normalize_email(&too_long).is_err());
    }
}
