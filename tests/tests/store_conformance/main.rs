//! One conformance suite, run against the embedded store and against DynamoDB Local (Amazon's
//! engine): every Store operation's effect and every condition it must refuse, including under
//! concurrency.
//!
//! One file per capability. A capability file starts with `use super::*;` (the fixtures of
//! `support.rs` and the store constructors below), lists its suite functions in one
//! `conformance!(...)` call, and defines them as `async fn name(store: Arc<dyn Store>)`; it joins
//! the target with one `mod name;` line below. Helpers only one file needs stay in that file;
//! helpers several need go to `support.rs` as `pub(crate)`.

use sesame::adapters::memory::MemoryStore;

/// Generates `memory` and `dynamo` tests for a suite function taking `Arc<dyn Store>`. Defined
/// before the `mod` lines, so every capability file can call it.
macro_rules! conformance {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn memory() {
                super::$name(super::memory_store()).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn dynamo() {
                if let Some(store) = super::dynamo_store().await {
                    super::$name(store).await;
                }
            }
        }
    )*};
}

mod support;
use support::*;

fn memory_store() -> Arc<dyn Store> {
    Arc::new(MemoryStore::new())
}

async fn dynamo_store() -> Option<Arc<dyn Store>> {
    Some(Arc::new(sesame_e2e::fresh_dynamo_store(None).await?))
}

mod admin;
mod attempt_list;
mod codes;
mod contacts;
mod credentials;
mod limits;
mod passkeys;
mod second_factor;
mod sessions;
mod signin_completions;
mod signup_completions;
mod sso;
mod transitions;
mod user_index;
mod users;
