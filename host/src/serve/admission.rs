//! Backpressure: at most `in_flight` requests hold a component instance at once; up to `queue` more wait for
//! one, each for at most `wait`. Beyond that a request is turned away with 503 and Retry-After instead of
//! piling up memory.

use super::problem::{Kind, Problem};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

pub(super) struct Admission {
    permits: Arc<Semaphore>,
    waiting: AtomicUsize,
    queue: usize,
    wait: Duration,
}

impl Admission {
    pub(super) fn new(in_flight: usize, queue: usize, wait: Duration) -> Self {
        Admission { permits: Arc::new(Semaphore::new(in_flight)), waiting: AtomicUsize::new(0), queue, wait }
    }

    /// A slot for one request; held until its response body is done.
    pub(super) async fn admit(&self) -> Result<OwnedSemaphorePermit, Problem> {
        if let Ok(p) = Arc::clone(&self.permits).try_acquire_owned() {
            return Ok(p);
        }
        let busy = || {
            Problem::new(Kind::Overloaded, "the service is at its limit of requests in flight; retry shortly")
                .retry_after(1)
        };
        if self.waiting.fetch_add(1, Ordering::AcqRel) >= self.queue {
            self.waiting.fetch_sub(1, Ordering::AcqRel);
            return Err(busy());
        }
        let acquired = tokio::time::timeout(self.wait, Arc::clone(&self.permits).acquire_owned()).await;
        self.waiting.fetch_sub(1, Ordering::AcqRel);
        match acquired {
            Ok(Ok(p)) => Ok(p),
            _ => Err(busy()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn queues_then_refuses() {
        let a = Arc::new(Admission::new(1, 1, Duration::from_millis(200)));
        let held = a.admit().await.unwrap();
        let queued = tokio::spawn({
            let a = Arc::clone(&a);
            async move { a.admit().await.map(drop) }
        });
        tokio::time::sleep(Duration::from_millis(20)).await;
        let refused = a.admit().await.unwrap_err();
        assert_eq!((refused.0.status, refused.0.retry_after), (503, Some(1)));
        drop(held);
        assert!(queued.await.unwrap().is_ok(), "the queued request gets the freed slot");
        let _again = a.admit().await.unwrap();
        assert_eq!(a.admit().await.unwrap_err().status(), 503, "waited its time, then refused");
    }
}
