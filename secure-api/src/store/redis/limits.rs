//! The [`RateLimitStore`] on Redis: budgets, failure counts and one-time values, each one
//! script or one command. Budgets are decided in batches on one Redis (`batches.rs`), and a
//! budget Redis has denied is answered locally until its retry time (`denials.rs`).

use super::batches::{Answer, Ask, Batches, gcra};
use super::connection::Client;
use super::scripts::{ADD_FAILURE, FAILURES, SPEND_ONCE};
use super::{RedisStore, timed_out};
use crate::limit::{
    Bucket, FailureCounter, Failures, OneTime, RateDecision, RateLimitStore, Subject,
};
use crate::store::{BoxFuture, StoreUnavailable};
use std::time::{Duration, Instant};

impl RateLimitStore for RedisStore {
    fn check<'a>(
        &'a self,
        bucket: &'a Bucket,
        subject: &'a Subject,
    ) -> BoxFuture<'a, Result<RateDecision, StoreUnavailable>> {
        Box::pin(async move {
            let rate = bucket.rate;
            let slot = self.denials().slot(bucket, subject);
            let sent = Instant::now();
            if let Some(denied) = self.denials().remembered(slot, rate, sent) {
                return Ok(denied);
            }
            let interval_us = (rate.window.as_micros() / u128::from(rate.max.max(1))).max(1);
            let key = self
                .keys()
                .rate(bucket.name, rate.max, rate.window.as_millis(), subject);
            let ask = Ask {
                key,
                interval_us: u64::try_from(interval_us).unwrap_or(u64::MAX),
                max: rate.max,
            };
            let (allowed, remaining, retry_after_us, reset_us) = self.decide(ask).await?;
            if allowed < 0 {
                return Err(StoreUnavailable(
                    "redis: a rate key holds something other than a time".into(),
                ));
            }
            let micros = |value: i64| Duration::from_micros(value.max(0) as u64);
            let decision = RateDecision {
                allowed: allowed == 1,
                rate,
                remaining: remaining.clamp(0, i64::from(u32::MAX)) as u32,
                retry_after: micros(retry_after_us),
                reset: micros(reset_us),
            };
            self.denials().remember(slot, &decision, sent);
            Ok(decision)
        })
    }

    fn failures<'a>(
        &'a self,
        counter: &'a FailureCounter<'a>,
    ) -> BoxFuture<'a, Result<Failures, StoreUnavailable>> {
        Box::pin(async move {
            let key = self.keys().failures(counter.name, counter.key);
            let invocation = FAILURES.on(&[&key]);
            let answer = self
                .call(async |connection| invocation.invoke(connection).await)
                .await?;
            Ok(failures(answer))
        })
    }

    fn add_failure<'a>(
        &'a self,
        counter: &'a FailureCounter<'a>,
    ) -> BoxFuture<'a, Result<Failures, StoreUnavailable>> {
        Box::pin(async move {
            let key = self.keys().failures(counter.name, counter.key);
            let invocation = ADD_FAILURE.on(&[&key]).arg(millis(counter.window));
            let answer = self
                .call(async |connection| invocation.invoke(connection).await)
                .await?;
            Ok(failures(answer))
        })
    }

    fn clear_failures<'a>(
        &'a self,
        counter: &'a FailureCounter<'a>,
    ) -> BoxFuture<'a, Result<(), StoreUnavailable>> {
        Box::pin(async move {
            let key = self.keys().failures(counter.name, counter.key);
            self.call(async |connection| {
                redis::cmd("DEL")
                    .arg(&key)
                    .query_async::<()>(connection)
                    .await
            })
            .await
        })
    }

    fn spend_once<'a>(
        &'a self,
        once: &'a OneTime<'a>,
        value: u64,
    ) -> BoxFuture<'a, Result<bool, StoreUnavailable>> {
        Box::pin(async move {
            let key = self.keys().once(once.name, once.key);
            // PX 0 is refused by Redis; a value remembered for no time is accepted again at
            // once, which is what a 1 ms memory amounts to.
            let invocation = SPEND_ONCE
                .on(&[&key])
                .arg(value.to_string())
                .arg(millis(once.ttl).max(1));
            let accepted: i64 = self
                .call(async |connection| invocation.invoke(connection).await)
                .await?;
            Ok(accepted == 1)
        })
    }
}

impl RedisStore {
    /// One GCRA decision: in a batch on one Redis, alone on a cluster (or once the batching
    /// task has stopped).
    async fn decide(&self, ask: Ask) -> Result<Answer, StoreUnavailable> {
        if let Some(batches) = self.batches().await? {
            return tokio::time::timeout(self.inner.timeout, batches.decide(ask))
                .await
                .map_err(|_| timed_out())?;
        }
        let invocation = gcra(std::iter::once(&ask));
        let answers: Vec<Answer> = self
            .call(async |connection| invocation.invoke(connection).await)
            .await?;
        answers
            .into_iter()
            .next()
            .ok_or_else(|| StoreUnavailable("redis: the rate script answered for no key".into()))
    }

    async fn batches(&self) -> Result<Option<&Batches>, StoreUnavailable> {
        if let Client::Cluster(_) = self.inner.client {
            return Ok(None);
        }
        let batches = self
            .inner
            .batches
            .get_or_try_init(async || {
                let connection = self.connection().await?;
                Ok::<_, StoreUnavailable>(Batches::start(connection, self.inner.timeout))
            })
            .await?;
        Ok((!batches.stopped()).then_some(batches))
    }
}

fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}

/// A count and the ms left of its window, as the scripts answer them.
fn failures((count, left_ms): (i64, i64)) -> Failures {
    Failures {
        count: count.clamp(0, i64::from(u32::MAX)) as u32,
        resets_in: Duration::from_millis(left_ms.max(0) as u64),
    }
}
