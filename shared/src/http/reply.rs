//! What a handler answers (`Reply`), rendered by `routes.rs`.

use http::StatusCode;
use serde_json::Value;

/// What a handler answers: a status and either the caller's session or other data, and for a
/// redirect (302) where to.
pub struct Reply {
    pub status: StatusCode,
    pub data: Data,
    pub location: Option<String>,
}

pub enum Data {
    /// `data` is the caller's session as it stands after the handler (seeds 000 and 004).
    CallerSession,
    Json(Value),
    /// No body at all (seed 002's success).
    Empty,
    /// A public JSON document instead of the envelope (the JWKS, OpenID discovery): cacheable
    /// by anyone for `max_age` seconds, readable from any origin.
    Document {
        body: Value,
        max_age: u32,
    },
}

impl Reply {
    pub fn session() -> Self {
        Self {
            status: StatusCode::OK,
            data: Data::CallerSession,
            location: None,
        }
    }

    pub fn json(data: impl serde::Serialize) -> Self {
        Self {
            status: StatusCode::OK,
            data: Data::Json(serde_json::to_value(data).unwrap_or(Value::Null)),
            location: None,
        }
    }

    /// `201` with `data`.
    pub fn created(data: impl serde::Serialize) -> Self {
        Self {
            status: StatusCode::CREATED,
            ..Self::json(data)
        }
    }

    /// `200` with no body.
    pub fn empty() -> Self {
        Self {
            status: StatusCode::OK,
            data: Data::Empty,
            location: None,
        }
    }

    /// A public document, not the envelope.
    pub fn document(body: Value, max_age: u32) -> Self {
        Self {
            status: StatusCode::OK,
            data: Data::Document { body, max_age },
            location: None,
        }
    }

    /// A 302 to `location`; the body is still the envelope, with the session.
    pub fn redirect(location: String) -> Self {
        Self {
            status: StatusCode::FOUND,
            data: Data::CallerSession,
            location: Some(location),
        }
    }
}
