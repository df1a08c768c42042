//! Rate decisions that go to one Redis together. While a batch is on its way, the decisions
//! that arrive wait and go as the next batch: one GCRA script over all their keys, in one
//! round trip. Under load Redis runs one script, and this instance writes and reads its
//! socket once, for many decisions; a decision that finds nothing on its way goes at once.
//!
//! A decision still takes one round trip, and each is as exact as alone: the script decides
//! the keys one after the other, atomically. On a cluster the keys of one batch would live on
//! different nodes, so each decision goes alone there (`limits.rs`).

use super::connection::Connection;
use super::scripts::{GCRA, Invocation};
use crate::store::StoreUnavailable;
use std::time::Duration;
use tokio::sync::{mpsc, oneshot};

/// The most decisions one script makes: Redis runs nothing else meanwhile.
const MAX_BATCH: usize = 64;

/// One bucket to decide: its Redis key, and its rate as the script takes it.
pub(super) struct Ask {
    pub(super) key: String,
    pub(super) interval_us: u64,
    pub(super) max: u32,
}

/// What the script answers for one key: allowed (1 or 0), remaining, retry after (µs),
/// reset (µs).
pub(super) type Answer = (i64, i64, i64, i64);

/// The GCRA script over the keys of `asks`, with their rates.
pub(super) fn gcra<'a>(asks: impl ExactSizeIterator<Item = &'a Ask> + Clone) -> Invocation {
    let invocation = GCRA.on_each(asks.clone().map(|ask| ask.key.as_str()));
    asks.fold(invocation, |invocation, ask| {
        invocation.arg(ask.interval_us).arg(ask.max)
    })
}

/// The queue of decisions to one Redis. Its task sends them in batches, and ends when the
/// store is dropped.
pub(super) struct Batches {
    queue: mpsc::UnboundedSender<Waiting>,
}

struct Waiting {
    ask: Ask,
    answer: oneshot::Sender<Result<Answer, StoreUnavailable>>,
}

impl Batches {
    /// Starts the sending task on the current runtime.
    pub(super) fn start(connection: Connection, timeout: Duration) -> Self {
        let (queue, waiting) = mpsc::unbounded_channel();
        tokio::spawn(send_batches(waiting, connection, timeout));
        Self { queue }
    }

    /// Queues `ask` and waits for Redis's answer; the caller bounds the wait.
    pub(super) async fn decide(&self, ask: Ask) -> Result<Answer, StoreUnavailable> {
        let stopped = || StoreUnavailable("redis: the batching task has stopped".into());
        let (answer, answered) = oneshot::channel();
        self.queue
            .send(Waiting { ask, answer })
            .map_err(|_| stopped())?;
        answered.await.map_err(|_| stopped())?
    }

    /// Whether the task has stopped. It ends with the runtime that started it, and a store
    /// can outlive that runtime: a store in a `static`, used by one `#[tokio::test]` after
    /// another.
    pub(super) fn stopped(&self) -> bool {
        self.queue.is_closed()
    }
}

async fn send_batches(
    mut waiting: mpsc::UnboundedReceiver<Waiting>,
    mut connection: Connection,
    timeout: Duration,
) {
    let mut batch = Vec::with_capacity(MAX_BATCH);
    while waiting.recv_many(&mut batch, MAX_BATCH).await > 0 {
        // A caller that has stopped waiting was denied already (its timeout passed):
        // deciding for it now would only spend its budget.
        batch.retain(|waiting: &Waiting| !waiting.answer.is_closed());
        if batch.is_empty() {
            continue;
        }
        let invocation = gcra(batch.iter().map(|waiting| &waiting.ask));
        let answers =
            match tokio::time::timeout(timeout, invocation.invoke::<Vec<Answer>>(&mut connection))
                .await
            {
                Ok(Ok(answers)) if answers.len() == batch.len() => Ok(answers),
                Ok(Ok(_)) => Err(StoreUnavailable(
                    "redis: the rate script answered for another number of keys".into(),
                )),
                Ok(Err(error)) => Err(super::unavailable(error)),
                Err(_elapsed) => Err(super::timed_out()),
            };
        match answers {
            Ok(answers) => {
                for (waiting, answer) in batch.drain(..).zip(answers) {
                    let _gone = waiting.answer.send(Ok(answer));
                }
            }
            Err(error) => {
                for waiting in batch.drain(..) {
                    let _gone = waiting.answer.send(Err(StoreUnavailable(error.0.clone())));
                }
            }
        }
    }
}
