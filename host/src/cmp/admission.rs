//! Admission: how many requests the server holds at once, how many may wait,
//! and how many bytes of tarball the admitted ones may hold together, all
//! decided before a request's stream is read.
//!
//! A request the server has not admitted costs only what HTTP/2 flow control
//! lets its client send unasked (one stream window); an admitted one holds
//! at most one gRPC message in memory (the decoder's cap) and writes the
//! rest to its work directory under the bytes it reserved. So memory stays
//! bounded by `requests × max message + (requests + queue) × window`
//! however many clients connect, and the stream bytes on disk by the budget.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tonic::{Code, Status};

use super::metrics::Metrics;
use super::status;

/// Reservations are counted in KiB, so that one fits a semaphore's `u32`.
const UNIT: u64 = 1024;

/// The server's admission state.
#[derive(Debug)]
pub struct Admission {
    slots: Arc<Semaphore>,
    requests: usize,
    waiting: AtomicUsize,
    queue: usize,
    bytes: Arc<Semaphore>,
    budget: u64,
    metrics: Arc<Metrics>,
}

/// An admitted request; what it holds goes back when it is dropped.
#[derive(Debug)]
pub struct Ticket {
    _slot: OwnedSemaphorePermit,
    bytes: Option<(OwnedSemaphorePermit, u64)>,
    metrics: Arc<Metrics>,
}

impl Drop for Ticket {
    fn drop(&mut self) {
        if let Some((_, reserved)) = self.bytes.take() {
            self.metrics
                .reserved_bytes
                .dec_by(i64::try_from(reserved).unwrap_or(i64::MAX));
        }
    }
}

/// Decrements the queue count when a waiting request leaves the queue,
/// admitted or not (its caller may go away while it waits).
struct Waiting<'a>(&'a Admission);

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        self.0.waiting.fetch_sub(1, Ordering::SeqCst);
        self.0.metrics.queued.dec();
    }
}

impl Admission {
    /// At most `requests` admitted at once (at least 1), `queue` waiting,
    /// and `budget` bytes of tarball reserved together (at least 1 KiB).
    pub fn new(requests: usize, queue: usize, budget: u64, metrics: Arc<Metrics>) -> Self {
        let requests = requests.max(1);
        let budget = budget.max(UNIT);
        let units = usize::try_from(budget / UNIT)
            .unwrap_or(usize::MAX)
            .min(Semaphore::MAX_PERMITS);
        Self {
            slots: Arc::new(Semaphore::new(requests)),
            requests,
            waiting: AtomicUsize::new(0),
            queue,
            bytes: Arc::new(Semaphore::new(units)),
            budget: (units as u64) * UNIT,
            metrics,
        }
    }

    /// The budget, rounded down to whole KiB.
    pub fn budget(&self) -> u64 {
        self.budget
    }

    /// Admits a request: a slot at once when one is free, else a place in
    /// the queue until one is (refused when the queue is full) or
    /// `deadline` passes.
    pub async fn enter(&self, deadline: Option<Instant>) -> Result<Ticket, Status> {
        if let Ok(slot) = Arc::clone(&self.slots).try_acquire_owned() {
            return Ok(self.ticket(slot));
        }
        if self.waiting.fetch_add(1, Ordering::SeqCst) >= self.queue {
            self.waiting.fetch_sub(1, Ordering::SeqCst);
            return Err(status::with_hint(
                Code::ResourceExhausted,
                &format!(
                    "the server is busy: {} requests are being received or rendered and {} wait",
                    self.requests, self.queue
                ),
                "Argo CD retries; if this persists, raise kiln's --max-requests or --queue, or run more repo-server replicas",
            ));
        }
        self.metrics.queued.inc();
        let _waiting = Waiting(self);
        let slot = super::server::until(
            deadline,
            "waiting to be admitted (the server is busy)",
            Arc::clone(&self.slots).acquire_owned(),
        )
        .await?
        .map_err(|_| Status::unavailable("kiln: the server is shutting down"))?;
        Ok(self.ticket(slot))
    }

    fn ticket(&self, slot: OwnedSemaphorePermit) -> Ticket {
        Ticket {
            _slot: slot,
            bytes: None,
            metrics: Arc::clone(&self.metrics),
        }
    }

    /// Reserves `bytes` of tarball (at most the budget) for `ticket`,
    /// waiting until other requests give back enough or `deadline` passes.
    pub async fn reserve(
        &self,
        ticket: &mut Ticket,
        bytes: u64,
        deadline: Option<Instant>,
    ) -> Result<(), Status> {
        let units = bytes.min(self.budget).div_ceil(UNIT).max(1);
        let units = u32::try_from(units).unwrap_or(u32::MAX);
        let permit = super::server::until(
            deadline,
            "waiting for the in-flight byte budget (other requests hold it)",
            Arc::clone(&self.bytes).acquire_many_owned(units),
        )
        .await?
        .map_err(|_| Status::unavailable("kiln: the server is shutting down"))?;
        let reserved = u64::from(units) * UNIT;
        self.metrics
            .reserved_bytes
            .inc_by(i64::try_from(reserved).unwrap_or(i64::MAX));
        ticket.bytes = Some((permit, reserved));
        Ok(())
    }
}
