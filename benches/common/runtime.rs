//! The runtime the async benches measure on (included with `#[path]`, as every file here).

use std::future::Future;

/// Runs `future` to its end on a multi-threaded tokio runtime of two workers, the cores of
/// the machine the figures in docs/PERFORMANCE.md come from.
pub fn block_on<F: Future>(future: F) -> F::Output {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
        .block_on(future)
}
