//! Implementations of the domain's ports: the embedded store and outbox (dev server, fast
//! tests), DynamoDB, SES v2 and SNS, the OpenID Connect client, the token-signing keys, and the clocks.

pub mod clock;
pub mod dynamo;
pub mod events;
pub mod keys;
pub mod memory;
pub mod oidc;
pub mod outbox;
pub mod ses_sns;
pub mod sqs;
