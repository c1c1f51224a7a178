//! Where every password hash and verification runs: on the blocking pool, at most one per core
//! at a time (the others wait their turn), each in a reused argon2 memory buffer. So parallel
//! sign-ups queue instead of allocating 19 MiB each at once, and the memory argon2id needs is
//! allocated once per core and kept: cores × 19 MiB however many requests arrive.

use std::num::NonZero;
use std::sync::{Arc, LazyLock, Mutex, PoisonError};

use argon2::Block;
use tokio::sync::Semaphore;

use super::super::error::AuthError;

/// argon2id's memory with Sesame's parameters: 19,456 blocks of 1 KiB.
pub(super) const BLOCKS: usize = super::ARGON2_MEMORY_KIB as usize;

/// The process's password work: one permit and at most one spare buffer per core.
pub(super) static WORKERS: LazyLock<Workers> =
    LazyLock::new(|| Workers::new(std::thread::available_parallelism().map_or(1, NonZero::get)));

pub(super) struct Workers {
    permits: Arc<Semaphore>,
    /// Buffers of `BLOCKS` blocks not in use now; never more than there are permits.
    spare: Mutex<Vec<Vec<Block>>>,
    size: usize,
}

impl Workers {
    pub(super) fn new(permits: usize) -> Self {
        Self {
            permits: Arc::new(Semaphore::new(permits)),
            spare: Mutex::new(Vec::with_capacity(permits)),
            size: permits,
        }
    }

    /// How many jobs may run at once.
    #[cfg(test)]
    fn size(&self) -> usize {
        self.size
    }

    /// Runs `job` on the blocking pool once a permit is free, lending it a buffer of `BLOCKS`
    /// blocks. The permit is held until the job ends, even if the caller stops waiting (a
    /// dropped request), so no more jobs than permits ever run.
    pub(super) async fn run<T, F>(&'static self, job: F) -> Result<T, AuthError>
    where
        T: Send + 'static,
        F: FnOnce(&mut [Block]) -> T + Send + 'static,
    {
        let permit = self
            .permits
            .clone()
            .acquire_owned()
            .await
            .map_err(|e| AuthError::internal(format!("password work: {e}")))?;
        tokio::task::spawn_blocking(move || {
            let _permit = permit;
            let mut memory = self.take();
            let out = job(&mut memory);
            self.give_back(memory);
            out
        })
        .await
        .map_err(|e| AuthError::internal(format!("password task: {e}")))
    }

    /// A spare buffer, or a new one (the first jobs, or a caller outside `run`).
    pub(super) fn take(&self) -> Vec<Block> {
        let spare = self
            .spare
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .pop();
        spare.unwrap_or_else(|| vec![Block::default(); BLOCKS])
    }

    /// Keeps `memory` for the next job, unless there are already as many spares as permits.
    pub(super) fn give_back(&self, memory: Vec<Block>) {
        let mut spare = self.spare.lock().unwrap_or_else(PoisonError::into_inner);
        if spare.len() < self.size {
            spare.push(memory);
        }
    }

    #[cfg(test)]
    fn spares(&self) -> usize {
        self.spare
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    use super::*;

    /// Runs `jobs` jobs on `workers` at once; each counts itself in while it works. Returns the
    /// most that were ever in at the same time.
    async fn most_at_once(workers: &'static Workers, jobs: usize, work: fn(&mut [Block])) -> usize {
        let now = Arc::new(AtomicUsize::new(0));
        let most = Arc::new(AtomicUsize::new(0));
        let mut all = tokio::task::JoinSet::new();
        for _ in 0..jobs {
            let (now, most) = (now.clone(), most.clone());
            all.spawn(workers.run(move |memory| {
                most.fetch_max(now.fetch_add(1, Ordering::SeqCst) + 1, Ordering::SeqCst);
                work(memory);
                now.fetch_sub(1, Ordering::SeqCst);
            }));
        }
        while let Some(done) = all.join_next().await {
            done.unwrap().unwrap();
        }
        most.load(Ordering::SeqCst)
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn when_twenty_jobs_are_started_at_once_no_more_than_the_permits_run_and_buffers_are_reused()
     {
        let workers: &'static Workers = Box::leak(Box::new(Workers::new(2)));
        let most = most_at_once(workers, 20, |_| {
            std::thread::sleep(Duration::from_millis(20))
        })
        .await;
        assert_eq!(most, 2, "two permits: two at a time, never more");
        assert_eq!(workers.spares(), 2, "one buffer per permit, kept for reuse");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn when_twenty_passwords_are_hashed_at_once_no_more_than_one_per_core_is_hashed() {
        let most = most_at_once(&WORKERS, 20, |memory| {
            super::super::hash_in("analytical engine", memory).unwrap();
        })
        .await;
        assert!((1..=WORKERS.size()).contains(&most), "{most} at once");
    }

    #[tokio::test]
    async fn when_a_caller_stops_waiting_its_job_keeps_the_permit_until_it_ends() {
        let workers: &'static Workers = Box::leak(Box::new(Workers::new(1)));
        let (started, wait) = std::sync::mpsc::channel();
        let (release, hold) = std::sync::mpsc::channel::<()>();
        let first = tokio::spawn(workers.run(move |_| {
            started.send(()).unwrap();
            hold.recv().unwrap();
        }));
        tokio::task::spawn_blocking(move || wait.recv().unwrap())
            .await
            .unwrap();
        first.abort();
        let _ = first.await;
        assert_eq!(workers.permits.available_permits(), 0, "still working");
        release.send(()).unwrap();
        workers.run(|_| ()).await.unwrap();
    }
}
