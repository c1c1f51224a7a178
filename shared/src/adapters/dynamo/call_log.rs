//! Records every DynamoDB call's start and end, so tests can count the sequential round trips
//! a request makes (calls that overlap in time count once). Tests can also make a chosen call
//! fail (`CallLog::fail_next`), to show that a request leaves nothing half-written.

use std::sync::{Arc, Mutex};
use std::time::Instant;

use aws_sdk_dynamodb::config::interceptors::{
    BeforeSerializationInterceptorContextRef, FinalizerInterceptorContextRef,
};
use aws_sdk_dynamodb::config::{ConfigBag, Intercept, RuntimeComponents};
use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::orchestrator::Metadata;
use aws_smithy_types::config_bag::{Storable, StoreReplace};

#[derive(Clone, Debug)]
pub struct Call {
    pub operation: String,
    pub started: Instant,
    pub ended: Instant,
}

#[derive(Clone, Debug, Default)]
pub struct CallLog {
    calls: Arc<Mutex<Vec<Call>>>,
    /// Armed failures: an operation, and how many of its calls still go through before one
    /// fails.
    failing: Arc<Mutex<Vec<(String, usize)>>>,
}

impl CallLog {
    pub fn new() -> Self {
        Self::default()
    }

    /// The calls recorded since the last `take`, oldest first.
    pub fn take(&self) -> Vec<Call> {
        let mut calls = std::mem::take(&mut *self.calls.lock().unwrap_or_else(|e| e.into_inner()));
        calls.sort_by_key(|c| c.started);
        calls
    }

    /// Tests: the next call of `operation` (e.g. `"TransactWriteItems"`) fails without being
    /// sent, as a network failure would.
    pub fn fail_next(&self, operation: &str) {
        self.fail_after(operation, 0);
    }

    /// Tests: `skip` calls of `operation` go through, then one fails without being sent.
    pub fn fail_after(&self, operation: &str, skip: usize) {
        self.failing
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push((operation.to_string(), skip));
    }

    /// Tests: drops every failure armed and not used up; returns how many there were.
    pub fn disarm(&self) -> usize {
        std::mem::take(&mut *self.failing.lock().unwrap_or_else(|e| e.into_inner())).len()
    }

    /// Whether this call of `operation` is one to fail (its failure is then used up).
    fn take_failure(&self, operation: &str) -> bool {
        let mut failing = self.failing.lock().unwrap_or_else(|e| e.into_inner());
        let Some(i) = failing.iter().position(|(o, _)| o == operation) else {
            return false;
        };
        if failing[i].1 > 0 {
            failing[i].1 -= 1;
            return false;
        }
        failing.remove(i);
        true
    }

    fn push(&self, call: Call) {
        self.calls
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(call);
    }
}

/// The longest chain of calls each starting after the previous one ended: the number of
/// round trips a request waited for one after another.
pub fn sequential_round_trips(calls: &[Call]) -> usize {
    let mut depth = vec![1usize; calls.len()];
    for i in 0..calls.len() {
        for j in 0..i {
            if calls[j].ended <= calls[i].started {
                depth[i] = depth[i].max(depth[j] + 1);
            }
        }
    }
    depth.into_iter().max().unwrap_or(0)
}

#[derive(Debug)]
struct StartedAt(Instant);

impl Storable for StartedAt {
    type Storer = StoreReplace<Self>;
}

/// Records calls into a `CallLog`; any AWS SDK client takes it (KMS too, for the token budget).
#[derive(Debug)]
pub struct CallLogInterceptor(pub CallLog);

impl Intercept for CallLogInterceptor {
    fn name(&self) -> &'static str {
        "CallLogInterceptor"
    }

    fn read_before_execution(
        &self,
        _context: &BeforeSerializationInterceptorContextRef<'_>,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        cfg.interceptor_state().store_put(StartedAt(Instant::now()));
        Ok(())
    }

    /// Fails an armed call here: the operation's name is known by now (not yet before
    /// execution), and an error here stops the call before it is sent.
    fn read_before_serialization(
        &self,
        _context: &BeforeSerializationInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let operation = cfg.load::<Metadata>().map(|m| m.name().to_string());
        if operation.is_some_and(|o| self.0.take_failure(&o)) {
            return Err("injected failure (CallLog::fail_next)".into());
        }
        Ok(())
    }

    fn read_after_execution(
        &self,
        _context: &FinalizerInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let started = cfg
            .load::<StartedAt>()
            .map(|s| s.0)
            .unwrap_or_else(Instant::now);
        let operation = cfg
            .load::<Metadata>()
            .map(|m| m.name().to_string())
            .unwrap_or_default();
        self.0.push(Call {
            operation,
            started,
            ended: Instant::now(),
        });
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn call(start_ms: u64, end_ms: u64, base: Instant) -> Call {
        Call {
            operation: String::new(),
            started: base + Duration::from_millis(start_ms),
            ended: base + Duration::from_millis(end_ms),
        }
    }

    #[test]
    fn an_armed_failure_hits_the_call_it_names_once() {
        let log = CallLog::new();
        log.fail_after("TransactWriteItems", 1);
        assert!(!log.take_failure("Query"));
        assert!(!log.take_failure("TransactWriteItems"), "one goes through");
        assert!(log.take_failure("TransactWriteItems"));
        assert!(!log.take_failure("TransactWriteItems"), "used up");
        log.fail_next("Query");
        assert_eq!(log.disarm(), 1);
        assert!(!log.take_failure("Query"));
    }

    #[test]
    fn when_calls_overlap_they_count_as_one_round_trip() {
        let t = Instant::now();
        // Three parallel calls, then one after them all, then one more.
        let calls = [
            call(0, 10, t),
            call(1, 12, t),
            call(2, 9, t),
            call(13, 20, t),
            call(21, 30, t),
        ];
        assert_eq!(sequential_round_trips(&calls), 3);
        assert_eq!(sequential_round_trips(&[]), 0);
    }
}
