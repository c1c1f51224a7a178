//! Field rules shared by every endpoint that accepts user fields (seed 003's limits).
//! Each function returns the normalized value or a `FieldError` naming the field.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use time::{Date, Month};

use super::error::FieldError;

pub const MAX_METADATA_KEYS: usize = 10;
pub const MAX_METADATA_CHARS: usize = 1024;
pub const MAX_NAME_CHARS: usize = 256;
pub const MAX_PROFILE_TEXT_CHARS: usize = 1024;
pub const MAX_ADDRESSES: usize = 10;
pub const MAX_OPAQUE_DEPTH: usize = 8;
pub const MAX_OPAQUE_BYTES: usize = 4096;

/// E.164: `+`, a country code not starting with 0, at most 15 digits in all. Spaces, dashes,
/// dots and parentheses people type are removed first.
pub fn phone_number(value: &str) -> Result<String, FieldError> {
    let v: String = value
        .trim()
        .chars()
        .filter(|c| !matches!(c, ' ' | '-' | '.' | '(' | ')'))
        .collect();
    let digits = v.strip_prefix('+').unwrap_or("");
    let ok = digits.len() >= 8
        && digits.len() <= 15
        && digits.bytes().all(|b| b.is_ascii_digit())
        && !digits.starts_with('0');
    if !ok {
        return Err(FieldError::invalid(
            "phone_number",
            "must be an international number in E.164 form, like +14155550123",
        ));
    }
    Ok(v)
}

/// 3 to 64 of letters, digits, `_`, `.`, `-`, starting with a letter or digit. Case is kept for
/// display; uniqueness ignores it.
pub fn username(value: &str) -> Result<String, FieldError> {
    let v = value.trim();
    let ok = (3..=64).contains(&v.len())
        && v.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"_.-".contains(&b))
        && v.bytes().next().is_some_and(|b| b.is_ascii_alphanumeric());
    if !ok {
        return Err(FieldError::invalid(
            "username",
            "must be 3 to 64 letters, digits, '_', '.' or '-', starting with a letter or digit",
        ));
    }
    Ok(v.to_string())
}

/// A display name: trimmed, 1 to 256 characters, no control characters.
pub fn name(field: &str, value: &str) -> Result<String, FieldError> {
    let v = value.trim();
    let chars = v.chars().count();
    if chars == 0 || chars > MAX_NAME_CHARS || v.chars().any(char::is_control) {
        return Err(FieldError::invalid(
            field,
            format!("must be 1 to {MAX_NAME_CHARS} characters without control characters"),
        ));
    }
    Ok(v.to_string())
}

/// An absolute http(s) URL of at most 1024 characters.
pub fn url(field: &str, value: &str) -> Result<String, FieldError> {
    let v = value.trim();
    let ok = v.len() <= MAX_PROFILE_TEXT_CHARS
        && url::Url::parse(v).is_ok_and(|u| matches!(u.scheme(), "http" | "https") && u.has_host());
    if !ok {
        return Err(FieldError::invalid(field, "must be an http or https URL"));
    }
    Ok(v.to_string())
}

/// At most 10 keys; keys and string values at most 1024 characters, without NUL; values string,
/// number, boolean or null. (An integer beyond 64 bits never gets here: the body's parser refuses
/// it, see `http::bodies`.)
pub fn metadata(map: &Map<String, Value>) -> Result<(), FieldError> {
    if map.len() > MAX_METADATA_KEYS {
        return Err(FieldError::invalid(
            "metadata",
            format!("must have at most {MAX_METADATA_KEYS} keys"),
        ));
    }
    for (key, value) in map {
        let field = format!("metadata.{key}");
        if key.is_empty() || key.chars().count() > MAX_METADATA_CHARS {
            return Err(FieldError::invalid(
                &field,
                format!("keys must be 1 to {MAX_METADATA_CHARS} characters"),
            ));
        }
        if key.contains('\0') || value.as_str().is_some_and(|s| s.contains('\0')) {
            return Err(FieldError::invalid(
                &field,
                "keys and values must not contain NUL (\\u0000)",
            ));
        }
        match value {
            Value::String(s) if s.chars().count() > MAX_METADATA_CHARS => {
                return Err(FieldError::invalid(
                    &field,
                    format!("values must be at most {MAX_METADATA_CHARS} characters"),
                ));
            }
            Value::Number(n) if !storable_number(n) => {
                return Err(FieldError::invalid(&field, NUMBER_RANGE));
            }
            Value::Array(_) | Value::Object(_) => {
                return Err(FieldError::invalid(
                    &field,
                    "values must be a string, number, boolean or null",
                ));
            }
            _ => {}
        }
    }
    Ok(())
}

/// An object stored as given (an imported identity's `details`): at most 8 levels deep (the
/// object itself is the first) and 4 KiB as JSON, no empty keys, numbers DynamoDB can hold. So the
/// store never refuses it: DynamoDB allows 32 levels of nesting, no empty map key, and numbers of
/// at most 38 digits within 1e-130..9.99e125, and answers anything else with an error.
pub fn opaque_object(field: &str, map: &Map<String, Value>) -> Result<(), FieldError> {
    let object = Value::Object(map.clone());
    if depth(&object, MAX_OPAQUE_DEPTH).is_none() {
        return Err(FieldError::invalid(
            field,
            format!("must be at most {MAX_OPAQUE_DEPTH} levels deep"),
        ));
    }
    if object.to_string().len() > MAX_OPAQUE_BYTES {
        return Err(FieldError::invalid(
            field,
            format!("must be at most {MAX_OPAQUE_BYTES} bytes as JSON"),
        ));
    }
    storable(&object).map_err(|why| FieldError::invalid(field, why))
}

/// The nesting depth of `v` (a scalar is 0, `{}` 1), or `None` once it passes `max`.
fn depth(v: &Value, max: usize) -> Option<usize> {
    let children: Box<dyn Iterator<Item = &Value>> = match v {
        Value::Array(a) => Box::new(a.iter()),
        Value::Object(o) => Box::new(o.values()),
        _ => return Some(0),
    };
    let below = max.checked_sub(1)?;
    let mut deepest = 0;
    for child in children {
        deepest = deepest.max(depth(child, below)?);
    }
    Some(deepest + 1)
}

/// Every key non-empty and every number storable, at any depth.
fn storable(v: &Value) -> Result<(), &'static str> {
    match v {
        Value::Number(n) if !storable_number(n) => Err(NUMBER_RANGE),
        Value::Array(a) => a.iter().try_for_each(storable),
        Value::Object(o) => o.iter().try_for_each(|(k, v)| {
            if k.is_empty() {
                Err("keys must not be empty")
            } else {
                storable(v)
            }
        }),
        _ => Ok(()),
    }
}

const NUMBER_RANGE: &str =
    "numbers must have at most 38 significant digits and a magnitude between 1e-130 and 9.9e125";

/// Whether a JSON number fits DynamoDB's number type (38 significant digits, magnitude 1e-130 to
/// 9.99e125), so valid input never fails at the store.
fn storable_number(n: &serde_json::Number) -> bool {
    let text = n.to_string();
    let mantissa = text.split(['e', 'E']).next().unwrap_or_default();
    let digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
    let significant = digits.trim_start_matches('0').trim_end_matches('0').len();
    let magnitude = n.as_f64().map(f64::abs).unwrap_or(f64::INFINITY);
    significant <= 38
        && magnitude.is_finite()
        && (magnitude == 0.0 || (1e-130..=9.99e125).contains(&magnitude))
}

/// Seed 003's profile. Unknown fields and wrong types are refused when the body is parsed.
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Profile {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub addresses: Option<Vec<Address>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub birthdate: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub family_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gender: Option<Gender>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub given_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub locale: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub middle_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub nickname: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub profile_page: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub website: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub zoneinfo: Option<String>,
}

#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Address {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub is_primary: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub first_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub street_address: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub street_address_2: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub city: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub state: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub zip_code: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub country: Option<String>,
}

/// Seed 003: "string, integer, min -10, max 10". Stored as the integer.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(untagged)]
pub enum Gender {
    Code(i64),
    Text(String),
}

/// Checks a profile and returns it as the map that is stored (gender as an integer).
pub fn profile(p: &Profile) -> Result<Map<String, Value>, FieldError> {
    let mut p = p.clone();
    let text_fields = [
        ("profile.family_name", &p.family_name),
        ("profile.given_name", &p.given_name),
        ("profile.middle_name", &p.middle_name),
        ("profile.nickname", &p.nickname),
    ];
    for (field, value) in text_fields {
        if let Some(v) = value {
            text(field, v)?;
        }
    }
    if let Some(b) = &p.birthdate {
        birthdate(b)?;
    }
    if let Some(g) = &p.gender {
        p.gender = Some(Gender::Code(gender(g)?));
    }
    if let Some(l) = &p.locale {
        locale(l)?;
    }
    if let Some(z) = &p.zoneinfo {
        zoneinfo(z)?;
    }
    for (field, value) in [
        ("profile.profile_page", &p.profile_page),
        ("profile.website", &p.website),
    ] {
        if let Some(v) = value {
            url(field, v)?;
        }
    }
    if let Some(addresses) = &p.addresses {
        if addresses.len() > MAX_ADDRESSES {
            return Err(FieldError::invalid(
                "profile.addresses",
                format!("at most {MAX_ADDRESSES} addresses"),
            ));
        }
        for (i, a) in addresses.iter().enumerate() {
            let fields = [
                ("id", &a.id),
                ("first_name", &a.first_name),
                ("last_name", &a.last_name),
                ("street_address", &a.street_address),
                ("street_address_2", &a.street_address_2),
                ("city", &a.city),
                ("state", &a.state),
                ("zip_code", &a.zip_code),
                ("country", &a.country),
            ];
            for (name, value) in fields {
                if let Some(v) = value {
                    // Street addresses may span lines (seed 003), so newlines are allowed there.
                    let multiline = name.starts_with("street_address");
                    text_with(&format!("profile.addresses[{i}].{name}"), v, multiline)?;
                }
            }
        }
    }
    match serde_json::to_value(&p) {
        Ok(Value::Object(map)) => Ok(map),
        _ => Err(FieldError::invalid("profile", "must be an object")),
    }
}

fn text(field: &str, value: &str) -> Result<(), FieldError> {
    text_with(field, value, false)
}

fn text_with(field: &str, value: &str, multiline: bool) -> Result<(), FieldError> {
    let bad_char = value
        .chars()
        .any(|c| c.is_control() && !(multiline && c == '\n'));
    if value.chars().count() > MAX_PROFILE_TEXT_CHARS || bad_char {
        return Err(FieldError::invalid(
            field,
            format!(
                "must be at most {MAX_PROFILE_TEXT_CHARS} characters without control characters"
            ),
        ));
    }
    Ok(())
}

/// `YYYY-MM-DD` (a real date; year 0000 means "year omitted") or `YYYY`.
pub fn birthdate(value: &str) -> Result<(), FieldError> {
    let bad = || FieldError::invalid("profile.birthdate", "must be YYYY-MM-DD or YYYY");
    let digits = |s: &str, n: usize| s.len() == n && s.bytes().all(|b| b.is_ascii_digit());
    match value.split('-').collect::<Vec<_>>().as_slice() {
        [y] if digits(y, 4) => Ok(()),
        [y, m, d] if digits(y, 4) && digits(m, 2) && digits(d, 2) => {
            let year: i32 = y.parse().map_err(|_| bad())?;
            let month = Month::try_from(m.parse::<u8>().map_err(|_| bad())?).map_err(|_| bad())?;
            // Year 0000 stands for "unknown", so 02-29 is allowed there (0 is a leap year anyway).
            Date::from_calendar_date(year, month, d.parse().map_err(|_| bad())?)
                .map(|_| ())
                .map_err(|_| bad())
        }
        _ => Err(bad()),
    }
}

/// -10 to 10, given as an integer or a string holding one.
pub fn gender(value: &Gender) -> Result<i64, FieldError> {
    let n = match value {
        Gender::Code(n) => Some(*n),
        Gender::Text(s) => s.trim().parse().ok(),
    };
    n.filter(|n| (-10..=10).contains(n)).ok_or_else(|| {
        FieldError::invalid("profile.gender", "must be a whole number from -10 to 10")
    })
}

/// A BCP 47-style tag such as `en-US` or `fr_CA`.
fn locale(value: &str) -> Result<(), FieldError> {
    let mut parts = value.split(['-', '_']);
    let lang_ok = parts
        .next()
        .is_some_and(|p| (2..=3).contains(&p.len()) && p.bytes().all(|b| b.is_ascii_alphabetic()));
    let rest_ok =
        parts.all(|p| (2..=8).contains(&p.len()) && p.bytes().all(|b| b.is_ascii_alphanumeric()));
    if lang_ok && rest_ok && value.len() <= 35 {
        Ok(())
    } else {
        Err(FieldError::invalid(
            "profile.locale",
            "must be a locale like en-US",
        ))
    }
}

/// A tz database name such as `Europe/Paris` or `UTC`.
fn zoneinfo(value: &str) -> Result<(), FieldError> {
    let ok = !value.is_empty()
        && value.len() <= 64
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"/_+-".contains(&b))
        && !value.starts_with('/')
        && !value.ends_with('/');
    if ok {
        Ok(())
    } else {
        Err(FieldError::invalid(
            "profile.zoneinfo",
            "must be a time zone like Europe/Paris",
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn when_a_phone_number_is_typed_loosely_it_is_stored_in_e164() {
        assert_eq!(phone_number("+1 (415) 555-0123").unwrap(), "+14155550123");
        for bad in [
            "4155550123",
            "+0123456789",
            "+1234567",
            "+1234567890123456",
            "+1415abc0123",
        ] {
            assert!(phone_number(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn when_a_username_breaks_the_rules_it_is_refused() {
        assert_eq!(username("Ada_99").unwrap(), "Ada_99");
        for bad in ["ab", "_ada", "ada lovelace", "ada@example", &"a".repeat(65)] {
            assert!(username(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn when_metadata_is_at_its_limits_it_passes_and_one_past_fails() {
        let ten: Map<String, Value> = (0..10).map(|i| (format!("k{i}"), json!(i))).collect();
        assert!(metadata(&ten).is_ok());
        let mut eleven = ten.clone();
        eleven.insert("k10".into(), json!(null));
        assert_eq!(metadata(&eleven).unwrap_err().field.unwrap(), "metadata");

        let at = |n: usize| Map::from_iter([("k".to_string(), json!("v".repeat(n)))]);
        assert!(metadata(&at(1024)).is_ok());
        assert_eq!(
            metadata(&at(1025)).unwrap_err().field.unwrap(),
            "metadata.k"
        );
        let key = |n: usize| Map::from_iter([("k".repeat(n), json!(true))]);
        assert!(metadata(&key(1024)).is_ok());
        assert!(metadata(&key(1025)).is_err());
        let nested = Map::from_iter([("k".to_string(), json!({"a": 1}))]);
        assert!(metadata(&nested).is_err());
        let number = |v: Value| metadata(&Map::from_iter([("n".to_string(), v)]));
        assert!(number(json!(1.5e125)).is_ok());
        assert!(number(json!(-42)).is_ok());
        assert!(number(json!(0)).is_ok());
        assert!(number(json!(1e200)).is_err(), "beyond DynamoDB's range");
        assert!(number(json!(1e-200)).is_err(), "below DynamoDB's range");
    }

    #[test]
    fn when_metadata_holds_a_nul_it_is_refused() {
        let one = |k: &str, v: Value| metadata(&Map::from_iter([(k.to_string(), v)]));
        assert_eq!(
            one("a\0b", json!(1)).unwrap_err().field.unwrap(),
            "metadata.a\0b"
        );
        assert_eq!(
            one("k", json!("a\0")).unwrap_err().field.unwrap(),
            "metadata.k"
        );
        assert!(one("k", json!("a\u{1}")).is_ok());
    }

    #[test]
    fn when_details_are_too_deep_too_large_or_unstorable_they_are_refused() {
        let nested = |levels: usize| {
            let mut v = json!("x");
            for _ in 0..levels {
                v = json!({ "a": v });
            }
            v.as_object().unwrap().clone()
        };
        let check = |m: &Map<String, Value>| opaque_object("d", m);
        assert!(check(&nested(8)).is_ok());
        assert_eq!(check(&nested(9)).unwrap_err().field.unwrap(), "d");
        assert!(check(&nested(100)).is_err());
        let list = json!({"a": [[[[[[[1]]]]]]]});
        assert!(check(list.as_object().unwrap()).is_ok());
        let list = json!({"a": [[[[[[[[1]]]]]]]]});
        assert!(check(list.as_object().unwrap()).is_err());
        let big = |n: usize| Map::from_iter([("k".to_string(), json!("x".repeat(n)))]);
        assert!(check(&big(4096 - 8)).is_ok());
        assert!(check(&big(4096 - 7)).is_err());
        for bad in [json!({"": 1}), json!({"a": {"": 1}}), json!({"a": [1e200]})] {
            assert!(check(bad.as_object().unwrap()).is_err(), "{bad}");
        }
        assert!(check(json!({"a": [], "b": {}, "c": ""}).as_object().unwrap()).is_ok());
    }

    #[test]
    fn when_a_birthdate_is_given_both_forms_pass_and_others_fail() {
        for ok in ["1815-12-10", "0000-03-01", "1815", "0000", "2000-02-29"] {
            assert!(birthdate(ok).is_ok(), "{ok}");
        }
        for bad in [
            "1815-13-10",
            "1815-02-30",
            "2001-02-29",
            "18151210",
            "1815-1-10",
            "December",
        ] {
            assert!(birthdate(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn when_gender_is_at_its_bounds_it_passes_and_past_them_fails() {
        assert_eq!(gender(&Gender::Code(10)).unwrap(), 10);
        assert_eq!(gender(&Gender::Code(-10)).unwrap(), -10);
        assert_eq!(gender(&Gender::Text("3".into())).unwrap(), 3);
        assert!(gender(&Gender::Code(11)).is_err());
        assert!(gender(&Gender::Code(-11)).is_err());
        assert!(gender(&Gender::Text("female".into())).is_err());
    }

    #[test]
    fn when_a_profile_is_valid_it_is_stored_with_gender_as_a_number() {
        let p: Profile = serde_json::from_value(json!({
            "gender": "2", "birthdate": "1815", "locale": "en-GB", "zoneinfo": "Europe/London",
            "website": "https://example.com/ada",
            "addresses": [{"id": "Home", "street_address": "12 St James's Square\nLondon", "is_primary": true}]
        }))
        .unwrap();
        let stored = profile(&p).unwrap();
        assert_eq!(stored["gender"], json!(2));
        assert_eq!(stored["addresses"][0]["id"], json!("Home"));
        assert!(!stored.contains_key("nickname"));
    }

    #[test]
    fn when_a_profile_field_is_bad_the_error_names_it() {
        let bad = |v: Value| {
            profile(&serde_json::from_value(v).unwrap())
                .unwrap_err()
                .field
                .unwrap()
        };
        assert_eq!(
            bad(json!({"website": "javascript:alert(1)"})),
            "profile.website"
        );
        assert_eq!(bad(json!({"locale": "english please"})), "profile.locale");
        assert_eq!(
            bad(json!({"addresses": [{"city": "x".repeat(1025)}]})),
            "profile.addresses[0].city"
        );
        assert!(serde_json::from_value::<Profile>(json!({"shoe_size": 9})).is_err());
    }
}
