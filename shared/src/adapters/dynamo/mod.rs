//! The DynamoDB adapter: one table, `pk`/`sk` strings, TTL on `expires_at` (epoch seconds).
//!
//! | item | pk | sk |
//! |---|---|---|
//! | session | `SESSION#<id>` | `SESSION` |
//! | signin | `SESSION#<id>` | `SIGNIN#<id>` |
//! | sign-up attempt | `SESSION#<id>` | `SIGNUP_ATTEMPT#<id>` |
//! | sign-in attempt | `SESSION#<id>` | `SIGNIN_ATTEMPT#<id>` |
//! | user | `USER#<id>` | `USER` |
//! | the user's signin index entry (a copy of the signin) | `USER#<id>` | `SIGNIN#<signin id>` |
//! | the user's claim index entry | `USER#<id>` | `CLAIM#<claim key>` |
//! | uniqueness claim | `EMAIL#<addr>`, `PHONE#<e164>`, `USERNAME#<name>` | `CLAIM` |
//! | the user's place in the listing: attributes `list_pk` = `USERS`, `list_sk` = `<created_at>#<id>` on the user item, keys of the sparse index `users_by_created` | | |
//! | limit counter | `LIMIT#<key>#<window end>` | `LIMIT` |
//! | token-signing keyring | `KEYRING` | `KEYRING` (written by `adapters::keys`) |
//!
//! A session is one item collection, so one Query loads the whole envelope.
//!
//! Layout: `keys` (the schema above), `codec` (values to items), `transaction` (multi-item
//! writes, whose cancellation is read per pushed item), `update_item` (single-item writes),
//! one file per port (`sessions`, `users`, `attempts`, `limits`) with `grant` shared by the
//! completions, `user_index` (a user's signins and claims across sessions), `admin` (the users
//! index's pages and an operator's edit), `credentials` (password writes that end signins in the
//! same transaction), `backfill` (the one-off migrations: the user index, the admin listing),
//! `stream` (the table's stream
//! records read back as users and signins, for domain events), and `table` (creation for
//! emulators).

mod admin;
mod attempts;
mod backfill;
mod call_log;
mod codec;
mod contacts;
mod credentials;
mod expr;
mod grant;
mod keys;
mod limits;
mod passkeys;
mod second_factor;
mod sessions;
mod signin_completion;
pub mod stream;
mod table;
mod transaction;
mod update_item;
mod user_index;
mod users;

use aws_sdk_dynamodb::Client;

pub use backfill::{Backfill, ListingBackfill};
pub use call_log::{Call, CallLog, CallLogInterceptor, sequential_round_trips};
pub use keys::{LIST_PK, LIST_SK, LISTED_FIELDS, USERS_INDEX};
pub use table::ensure_table;

/// The `Store` port on one DynamoDB table.
pub struct DynamoStore {
    client: Client,
    table: String,
}

impl DynamoStore {
    /// A store on `table`; with a `call_log`, every call is recorded (round-trip budgets in tests).
    /// A store on `table`; `endpoint`, when given, overrides `sdk`'s (`AWS_ENDPOINT_URL_DYNAMODB`).
    pub fn new(
        sdk: &aws_config::SdkConfig,
        endpoint: Option<&str>,
        table: String,
        call_log: Option<CallLog>,
    ) -> Self {
        let mut conf = aws_sdk_dynamodb::config::Builder::from(sdk);
        if let Some(url) = endpoint {
            conf = conf.endpoint_url(url);
        }
        if let Some(log) = call_log {
            conf = conf.interceptor(call_log::CallLogInterceptor(log));
        }
        Self {
            client: Client::from_conf(conf.build()),
            table,
        }
    }

    pub fn client(&self) -> &Client {
        &self.client
    }

    pub fn table(&self) -> &str {
        &self.table
    }
}
