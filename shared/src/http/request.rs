//! Reading requests: the strict JSON body, and what the adapters attach (client IP, request id).

use http::header::CONTENT_TYPE;
use serde::de::DeserializeOwned;

use super::Request;
use super::error::ApiError;

pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// The caller's address as API Gateway saw it (`requestContext.http.sourceIp`), or the dev
/// server's peer address. Never taken from `X-Forwarded-For`.
#[derive(Clone, Debug)]
pub struct ClientIp(pub String);

/// Set by an adapter that stopped reading a body over `MAX_BODY_BYTES` (the dev server); the
/// request then carries no body and is answered 413.
#[derive(Clone, Copy, Debug)]
pub struct BodyTooLarge;

pub fn body_too_large(req: &Request) -> bool {
    req.body().len() > MAX_BODY_BYTES || req.extensions().get::<BodyTooLarge>().is_some()
}

/// Set by the Lambda adapter when API Gateway's `AWS_IAM` authorizer signed the request off
/// (`requestContext.authorizer.iam`): the admin import's credential in AWS.
#[derive(Clone, Debug)]
pub struct IamAuthorized {
    pub caller_arn: Option<String>,
}

/// The API's own public origin, `https://<domain>` as API Gateway's `requestContext.domainName`
/// names it, or the dev server's address: the token issuer when `ISSUER_URL` is unset.
#[derive(Clone, Debug)]
pub struct ApiOrigin(pub String);

/// API Gateway's request id, or one the dev server made up; logged with every line.
#[derive(Clone, Debug)]
pub struct RequestId(pub String);

pub fn client_ip(req: &Request) -> String {
    req.extensions()
        .get::<ClientIp>()
        .map(|ip| ip.0.clone())
        .unwrap_or_else(|| "unknown".to_string())
}

/// The request's `User-Agent`, cut to 256 characters (it is stored on the signin it grants).
pub fn user_agent(req: &Request) -> Option<String> {
    req.headers()
        .get(http::header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .map(|v| v.chars().take(256).collect::<String>())
        .filter(|v| !v.trim().is_empty())
}

/// Parses a JSON body into `T`, which must refuse unknown fields. Errors name the field.
pub fn json<T: DeserializeOwned>(req: &Request) -> Result<T, ApiError> {
    if !is_json(req) {
        return Err(ApiError::UnsupportedMediaType);
    }
    // Every body is an object. serde would also read a struct from an array of its fields in
    // order (`[]` for one without fields), a form no client is meant to send.
    let first = req.body().iter().find(|b| !b.is_ascii_whitespace());
    if first.is_some_and(|b| *b != b'{') {
        return Err(ApiError::BadRequestBody {
            field: None,
            message: "the body must be a JSON object".into(),
        });
    }
    let mut de = serde_json::Deserializer::from_slice(req.body());
    let value = serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let path = e.path().to_string();
        let message = e.inner().to_string();
        ApiError::BadRequestBody {
            field: field_of(&path),
            message: without_position(&message),
        }
    })?;
    de.end().map_err(|e| ApiError::BadRequestBody {
        field: None,
        message: without_position(&e.to_string()),
    })?;
    Ok(value)
}

/// Like `json`, but an empty body (with or without a content type) is the default value.
pub fn json_or_default<T: DeserializeOwned + Default>(req: &Request) -> Result<T, ApiError> {
    if req.body().iter().all(u8::is_ascii_whitespace) {
        return Ok(T::default());
    }
    json(req)
}

/// Parses the query string into `T`. Errors name the parameter, as body errors name the field.
pub fn query<T: DeserializeOwned>(req: &Request) -> Result<T, ApiError> {
    let raw = req.uri().query().unwrap_or("");
    let de = serde_urlencoded::Deserializer::new(form_urlencoded::parse(raw.as_bytes()));
    serde_path_to_error::deserialize(de).map_err(|e| {
        let path = e.path().to_string();
        ApiError::BadRequestBody {
            field: field_of(&path),
            message: e.inner().to_string(),
        }
    })
}

/// Whether the client asked for the envelope rather than a redirect (`Accept: application/json`).
pub fn wants_json(req: &Request) -> bool {
    req.headers()
        .get_all(http::header::ACCEPT)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|v| v.split(';').next())
        .any(|mime| mime.trim().eq_ignore_ascii_case("application/json"))
}

/// `application/json`, with or without parameters such as `charset=utf-8`.
pub fn is_json(req: &Request) -> bool {
    req.headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|mime| mime.trim().eq_ignore_ascii_case("application/json"))
}

/// The field a serde error is about: the path where it happened (serde_path_to_error already
/// ends it with the unknown field's name); none for errors outside any field.
fn field_of(path: &str) -> Option<String> {
    (path != "." && path != "?").then(|| path.to_string())
}

/// serde_json appends "at line 1 column 9"; clients gain nothing from it.
fn without_position(message: &str) -> String {
    match message.find(" at line ") {
        Some(i) => message[..i].to_string(),
        None => message.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Body {
        email: Option<String>,
        nested: Option<Nested>,
    }

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Nested {
        count: Option<u32>,
    }

    fn parse(ct: &str, body: &str) -> Result<Body, ApiError> {
        let req = http::Request::builder()
            .header(CONTENT_TYPE, ct)
            .body(bytes::Bytes::from(body.to_string()))
            .unwrap();
        json(&req)
    }

    fn field(r: Result<Body, ApiError>) -> Option<String> {
        match r {
            Err(ApiError::BadRequestBody { field, .. }) => field,
            other => panic!("expected BadRequestBody, got {other:?}"),
        }
    }

    #[test]
    fn when_a_field_is_unknown_the_error_names_it() {
        assert_eq!(
            field(parse("application/json", r#"{"email_verified":true}"#)).as_deref(),
            Some("email_verified")
        );
        assert_eq!(
            field(parse("application/json", r#"{"nested":{"x":1}}"#)).as_deref(),
            Some("nested.x")
        );
    }

    #[test]
    fn when_a_field_has_the_wrong_type_the_error_names_it() {
        assert_eq!(
            field(parse("application/json", r#"{"email":5}"#)).as_deref(),
            Some("email")
        );
        assert_eq!(
            field(parse("application/json", r#"{"nested":{"count":"x"}}"#)).as_deref(),
            Some("nested.count")
        );
    }

    #[test]
    fn when_the_body_is_not_json_it_is_a_bad_body_without_a_field() {
        assert_eq!(field(parse("application/json", "{nope")), None);
        assert_eq!(field(parse("application/json", r#"{} {}"#)), None);
        assert_eq!(field(parse("application/json", "")), None);
    }

    #[test]
    fn when_the_body_is_not_an_object_it_is_a_bad_body() {
        #[derive(Debug, Deserialize)]
        #[serde(deny_unknown_fields)]
        struct Empty {}
        let req = |body: &str| {
            http::Request::builder()
                .header(CONTENT_TYPE, "application/json")
                .body(bytes::Bytes::from(body.to_string()))
                .unwrap()
        };
        for body in ["[]", " [null, null]", "null", "\"x\"", "1"] {
            assert_eq!(field(parse("application/json", body)), None, "{body}");
            assert!(
                matches!(
                    json::<Empty>(&req(body)),
                    Err(ApiError::BadRequestBody { .. })
                ),
                "{body}"
            );
        }
        assert!(json::<Empty>(&req(" {} ")).is_ok());
    }

    #[test]
    fn when_the_content_type_is_not_json_it_is_unsupported() {
        assert!(matches!(
            parse("text/plain", "{}"),
            Err(ApiError::UnsupportedMediaType)
        ));
        assert!(parse("application/json; charset=utf-8", "{}").is_ok());
    }
}
