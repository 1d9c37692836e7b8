//! Ctrl-C (or a service stopping, or an MCP client cancelling) for a running transfer. Triggering fails the
//! store's requests already in flight and its upload streams with "interrupted", so the component takes its own
//! failure path (aborting a multipart upload, say) instead of being dropped midway; requests started
//! afterwards, like that abort, go through.

use std::future::Future;
use std::sync::Arc;
use tokio::sync::watch;

#[derive(Clone)]
pub(crate) struct Interrupt(Arc<watch::Sender<u64>>);

impl Default for Interrupt {
    fn default() -> Self {
        Interrupt(Arc::new(watch::Sender::new(0)))
    }
}

impl Interrupt {
    pub(crate) fn trigger(&self) {
        self.0.send_modify(|n| *n += 1);
    }

    pub(crate) fn triggered(&self) -> bool {
        *self.0.borrow() > 0
    }

    /// Resolves at the first trigger after this call.
    pub(crate) fn next(&self) -> impl Future<Output = ()> + Send + 'static {
        let mut rx = self.0.subscribe();
        async move {
            // An error means the sender is gone, and with it anyone who could trigger.
            if rx.changed().await.is_err() {
                std::future::pending::<()>().await;
            }
        }
    }

    /// For a blocking thread: whether a trigger came after this call (what makes [`Interrupt::next`] resolve).
    pub(crate) fn came_since(&self) -> impl Fn() -> bool + Send + 'static {
        let (sender, at) = (Arc::clone(&self.0), *self.0.borrow());
        move || *sender.borrow() > at
    }

    /// Triggers this interrupt when `signal` resolves, for as long as the returned link lives.
    pub(crate) fn trigger_on(&self, signal: impl Future<Output = ()> + Send + 'static) -> Link {
        let interrupt = self.clone();
        Link(tokio::spawn(async move {
            signal.await;
            interrupt.trigger();
        }))
    }
}

/// Ties an interrupt to a signal; dropping it unties them.
pub(crate) struct Link(tokio::task::JoinHandle<()>);

impl Drop for Link {
    fn drop(&mut self) {
        self.0.abort();
    }
}
