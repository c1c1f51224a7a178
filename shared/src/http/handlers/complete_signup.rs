//! `POST /api/users/completeSignup` (seed 002): parameters from the query string and/or an
//! `application/x-www-form-urlencoded` body; success is `200` with no body and the cookie.

use crate::domain::Caller;
use crate::domain::Deps;
use crate::domain::complete_signup::{self, CompleteSignupInput, Completed};
use crate::http::Request;
use crate::http::error::ApiError;
use crate::http::routes::Reply;

pub(crate) const PARAMETERS: [&str; 8] = [
    "signupCode",
    "password",
    "firstName",
    "lastName",
    "emailAddress",
    "signupAgreementsAccepted",
    "countryCode",
    "phoneNumber",
];

pub async fn post(deps: &Deps, req: &Request, caller: &mut Caller) -> Result<Reply, ApiError> {
    crate::http::cors::check_form_origin(&deps.config, req)?;
    check_accept(req)?;
    let input = parameters(req)?;
    Ok(
        match complete_signup::complete(deps, caller, input).await? {
            Completed::SignedIn => Reply::empty(),
            // A phone number or email added on the third-party path is proven by code first: the
            // session shows the step.
            Completed::CodeStepNext => Reply::session(),
        },
    )
}

/// Seed 002's media types: `*/*`, `application/json` and `application/vnd.soa.v<NN>+json`.
fn check_accept(req: &Request) -> Result<(), ApiError> {
    let Some(accept) = req
        .headers()
        .get(http::header::ACCEPT)
        .and_then(|v| v.to_str().ok())
    else {
        return Ok(());
    };
    let ok = accept
        .split(',')
        .filter_map(|v| v.split(';').next())
        .map(|m| m.trim().to_ascii_lowercase())
        .any(|m| {
            m == "*/*"
                || m == "application/*"
                || m == "application/json"
                || m.strip_prefix("application/vnd.soa.v")
                    .and_then(|v| v.strip_suffix("+json"))
                    .is_some_and(|v| !v.is_empty() && v.bytes().all(|b| b.is_ascii_digit()))
        });
    if ok {
        Ok(())
    } else {
        Err(ApiError::NotAcceptable)
    }
}

/// The query's and the form body's parameters together. A parameter given twice with different
/// values, or one seed 002 does not list, is `400 BAD_REQUEST_BODY`.
fn parameters(req: &Request) -> Result<CompleteSignupInput, ApiError> {
    let body = req.body();
    if !body.iter().all(u8::is_ascii_whitespace) && !is_form(req) {
        return Err(ApiError::UnsupportedMediaType);
    }
    let query = req.uri().query().unwrap_or("").as_bytes();
    let mut seen: Vec<(String, String)> = Vec::new();
    for (name, value) in form_urlencoded::parse(query).chain(form_urlencoded::parse(body)) {
        if !PARAMETERS.contains(&name.as_ref()) {
            return Err(ApiError::BadRequestBody {
                field: Some(name.into_owned()),
                message: format!(
                    "unknown parameter; expected one of {}",
                    PARAMETERS.join(", ")
                ),
            });
        }
        match seen.iter().find(|(n, _)| *n == name) {
            Some((_, v)) if *v != value => {
                return Err(ApiError::BadRequestBody {
                    field: Some(name.into_owned()),
                    message: "given twice with different values".into(),
                });
            }
            Some(_) => {}
            None => seen.push((name.into_owned(), value.into_owned())),
        }
    }
    let get = |name: &str| seen.iter().find(|(n, _)| n == name).map(|(_, v)| v.clone());
    let accepted = match get("signupAgreementsAccepted").as_deref().map(str::trim) {
        None | Some("") => false,
        Some(v) if v.eq_ignore_ascii_case("true") => true,
        Some(v) if v.eq_ignore_ascii_case("false") => false,
        Some(_) => {
            return Err(ApiError::BadRequestBody {
                field: Some("signupAgreementsAccepted".into()),
                message: "must be true or false".into(),
            });
        }
    };
    Ok(CompleteSignupInput {
        signup_code: get("signupCode"),
        password: get("password"),
        first_name: get("firstName"),
        last_name: get("lastName"),
        email_address: get("emailAddress"),
        signup_agreements_accepted: accepted,
        country_code: get("countryCode"),
        phone_number: get("phoneNumber"),
    })
}

/// `application/x-www-form-urlencoded`, with or without `charset=UTF-8`.
fn is_form(req: &Request) -> bool {
    req.headers()
        .get(http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|m| {
            m.trim()
                .eq_ignore_ascii_case("application/x-www-form-urlencoded")
        })
}
