//! Plain async functions from `http::Request<Bytes>` to `http::Response<Bytes>`: the Lambda
//! adapter and the dev server call exactly these.

pub mod bodies;
pub mod cookies;
pub mod cors;
pub mod credential;
pub mod deployment;
pub mod error;
pub mod gate;
pub mod handlers;
pub mod openapi;
pub mod reply;
pub mod request;
pub mod routes;
pub mod views;

pub use error::ApiError;
pub use request::{ApiOrigin, BodyTooLarge, ClientIp, IamAuthorized, RequestId};
pub use routes::{Route, dispatch, handle, refuse};

pub type Request = http::Request<bytes::Bytes>;
pub type Response = http::Response<bytes::Bytes>;
