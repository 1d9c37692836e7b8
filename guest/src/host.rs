//! What the component asks of whoever runs it: credentials to sign with, somewhere for metrics and progress to go.
//! The library build imports these (WIT `credentials`, `metrics`, `progress`) from its host; the edge build, which
//! may import nothing of ours, supplies them itself (`edge::host`). Everything else reaches them through here.

#[cfg(not(feature = "edge"))]
pub(crate) use crate::spaces::storage::{credentials, metrics, progress};

#[cfg(feature = "edge")]
pub(crate) use crate::edge::host::{credentials, metrics, progress};
