//! Decisions on the Redis path (BENCHMARKS.md §5): `RedisStore::check` — the GCRA script
//! every rate-limited request runs — on one `redis-server` and on a cluster of three masters
//! and three replicas, against two bare commands over the same kind of connection, in the
//! same run: `PING` (a round trip and nothing else) and `SET … PX` (a round trip and one
//! write, replicated on the cluster). All are measured sequentially (latency: a decision is
//! one round trip) and with concurrent tasks sharing the connection (operations per second);
//! `INFO commandstats` then gives the commands Redis ran per decision and its time in them.
//!
//! ```text
//! cargo bench --bench redis_store                       # 5 rounds of 2,000 operations each
//! ROUNDS=3 OPS=5000 TASKS=64 cargo bench --bench redis_store
//! ```
//!
//! The servers are started by the benchmark on loopback, as the tests start them
//! (`tests/suite/redis_server.rs`); without `redis-server` it says so and measures nothing.
//! Variants run in turn within each round, so that a change of load on the machine weighs
//! on all of them alike.

#![allow(missing_docs)]

#[path = "../tests/suite/redis_server.rs"]
#[allow(dead_code)] // the benchmark uses only part of the tests' harness
mod redis_server;

use redis::aio::ConnectionManager;
use redis::cluster_async::ClusterConnection;
use redis::cluster_routing::{Route, RoutingInfo, SingleNodeRoutingInfo, SlotAddr};
use redis_server::{RedisCluster, RedisServer};
use secure_api::limit::{Bucket, RateLimitStore, Subject};
use secure_api::policy::{Rate, RateKey};
use secure_api::store::RedisStore;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// A connection without the store: the floor a decision is compared with.
#[derive(Clone)]
enum Bare {
    Single(ConnectionManager),
    Cluster(ClusterConnection),
}

/// What is measured, in the order each round runs them.
#[derive(Debug, Clone, Copy)]
enum Op {
    Ping,
    Set,
    Decide,
}

const OPS: [Op; 3] = [Op::Ping, Op::Set, Op::Decide];

struct Target {
    name: &'static str,
    store: RedisStore,
    bare: Bare,
    urls: Vec<String>,
}

/// Never refuses: a billion a second.
const BUCKET: Bucket = Bucket {
    name: "bench::redis_store",
    rate: Rate {
        max: 1_000_000_000,
        window: Duration::from_secs(1),
        key: RateKey::User,
    },
};

/// Operations of each kind before measuring, per runtime: connections made, scripts cached
/// on every master.
const WARM_UP: usize = 500;

/// A thousand subjects, so that a cluster's decisions go to every master.
const SUBJECTS: usize = 1000;

#[derive(Clone)]
struct Runner {
    store: RedisStore,
    bare: Bare,
    subjects: Arc<Vec<Subject>>,
}

impl Runner {
    async fn run(&mut self, op: Op, n: usize) {
        match (op, &mut self.bare) {
            (Op::Ping, Bare::Single(connection)) => {
                redis::cmd("PING").query_async::<()>(connection).await
            }
            // To the master of a slot that moves with `n`, as decisions on different subjects
            // go to different masters.
            (Op::Ping, Bare::Cluster(connection)) => {
                let slot = (n * 7919 % 16384) as u16;
                let route = SingleNodeRoutingInfo::SpecificNode(Route::new(slot, SlotAddr::Master));
                connection
                    .route_command(&redis::cmd("PING"), RoutingInfo::SingleNode(route))
                    .await
                    .map(drop)
            }
            (Op::Set, bare) => {
                let mut set = redis::cmd("SET");
                set.arg(format!("bench:{}", n % SUBJECTS))
                    .arg(n)
                    .arg("PX")
                    .arg(60_000);
                match bare {
                    Bare::Single(connection) => set.query_async::<()>(connection).await,
                    Bare::Cluster(connection) => set.query_async::<()>(connection).await,
                }
            }
            (Op::Decide, _) => {
                let subject = &self.subjects[n % SUBJECTS];
                let decision = self.store.check(&BUCKET, subject).await.expect("decision");
                assert!(decision.allowed);
                Ok(())
            }
        }
        .expect("a bare command");
    }
}

/// Every op, `ops` times, one after the other and in turn (so that a change of load weighs
/// on all alike): microseconds per op, median and mean.
async fn sequential(runner: &mut Runner, ops: usize) -> [(f64, f64); 3] {
    let mut took: [Vec<Duration>; 3] = Default::default();
    for n in 0..ops {
        for (op, took) in OPS.iter().zip(&mut took) {
            let started = Instant::now();
            runner.run(*op, n).await;
            took.push(started.elapsed());
        }
    }
    took.map(|mut took| {
        took.sort_unstable();
        let mean = took.iter().sum::<Duration>() / ops.max(1) as u32;
        let micros = |duration: Duration| duration.as_secs_f64() * 1e6;
        (micros(took[ops / 2]), micros(mean))
    })
}

/// `op` per second, `ops` times by `tasks` tasks sharing the connection.
async fn concurrent(runner: &Runner, op: Op, ops: usize, tasks: usize) -> f64 {
    let started = Instant::now();
    let handles: Vec<_> = (0..tasks)
        .map(|task| {
            let mut runner = runner.clone();
            tokio::spawn(async move {
                for n in (task..ops).step_by(tasks) {
                    runner.run(op, n).await;
                }
            })
        })
        .collect();
    for handle in handles {
        handle.await.expect("task");
    }
    ops as f64 / started.elapsed().as_secs_f64()
}

/// Server time per call of `command` (µs) and calls, summed over the nodes at `urls`, from
/// `INFO commandstats`: what a decision costs Redis itself, beside the round trip.
fn server_time(urls: &[String], command: &str) -> (f64, u64) {
    let (mut usec, mut calls) = (0.0, 0);
    for url in urls {
        let client = redis::Client::open(url.as_str()).expect("url");
        let mut connection = client.get_connection().expect("connect");
        let stats: String = redis::cmd("INFO")
            .arg("commandstats")
            .query(&mut connection)
            .expect("INFO");
        let prefix = format!("cmdstat_{command}:");
        let Some(line) = stats.lines().find(|line| line.starts_with(&prefix)) else {
            continue;
        };
        let field = |name: &str| {
            line.split([':', ','])
                .find_map(|pair| pair.strip_prefix(name)?.strip_prefix('='))
                .and_then(|value| value.parse::<f64>().ok())
                .unwrap_or(0.0)
        };
        calls += field("calls") as u64;
        usec += field("usec");
    }
    (usec / calls.max(1) as f64, calls)
}

fn setting(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|value| value.parse().ok())
        .unwrap_or(default)
}

fn median(values: &[f64]) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    sorted[sorted.len() / 2]
}

impl Target {
    fn runner(&self) -> Runner {
        Runner {
            store: self.store.clone(),
            bare: self.bare.clone(),
            subjects: Arc::new(
                (0..SUBJECTS)
                    .map(|n| Subject::User(format!("user-{n:04}").into()))
                    .collect(),
            ),
        }
    }
}

/// Both targets, connected from the runtime that will drive them.
async fn targets(single: &RedisServer, cluster: &RedisCluster) -> [Target; 2] {
    let urls = cluster.urls();
    let nodes: Vec<&str> = urls.iter().map(String::as_str).collect();
    let targets = [
        Target {
            name: "one redis-server",
            store: RedisStore::new(&single.url()).expect("url"),
            bare: Bare::Single(
                redis::Client::open(single.url())
                    .expect("url")
                    .get_connection_manager()
                    .await
                    .expect("connect"),
            ),
            urls: vec![single.url()],
        },
        Target {
            name: "cluster, 3 masters + 3 replicas",
            store: RedisStore::cluster(&nodes).expect("urls"),
            bare: Bare::Cluster(
                redis::cluster::ClusterClient::new(nodes.clone())
                    .expect("urls")
                    .get_async_connection()
                    .await
                    .expect("connect"),
            ),
            urls: cluster.urls(),
        },
    ];
    for target in &targets {
        let mut runner = target.runner();
        for n in 0..WARM_UP {
            for op in OPS {
                runner.run(op, n).await;
            }
        }
    }
    targets
}

fn main() {
    if std::env::args().any(|arg| arg == "--list") {
        return; // `cargo bench -- --list` asks every bench binary for its benchmarks
    }
    let (rounds, ops, tasks) = (
        setting("ROUNDS", 5),
        setting("OPS", 2000),
        setting("TASKS", 32),
    );
    let (Some(single), Some(cluster)) = (RedisServer::start(), RedisCluster::start()) else {
        return;
    };
    // Latency on one thread, so that it is the round trip and not the wake-ups of threads
    // handing each request over; rates on a runtime with a worker per core, as a server has.
    let one_thread = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    let per_core = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    let sequential_targets = one_thread.block_on(targets(&single, &cluster));
    let concurrent_targets = per_core.block_on(targets(&single, &cluster));
    // [target][op][p50, mean, rate] over the rounds; the targets in turn within a round.
    let mut figures: [[[Vec<f64>; 3]; 3]; 2] = Default::default();
    for _ in 0..rounds {
        for (index, (sequential_target, concurrent_target)) in sequential_targets
            .iter()
            .zip(&concurrent_targets)
            .enumerate()
        {
            let mut runner = sequential_target.runner();
            let latencies = one_thread.block_on(sequential(&mut runner, ops));
            let runner = concurrent_target.runner();
            for (op_index, op) in OPS.into_iter().enumerate() {
                let rate = per_core.block_on(concurrent(&runner, op, ops, tasks));
                let figures = &mut figures[index][op_index];
                figures[0].push(latencies[op_index].0);
                figures[1].push(latencies[op_index].1);
                figures[2].push(rate);
            }
        }
    }
    println!(
        "Redis decisions: {rounds} rounds × {ops} of each operation; latency on one thread, \
         rates with {tasks} tasks sharing one connection; medians over the rounds"
    );
    println!(
        "| target | PING p50 / mean (µs) | SET p50 / mean (µs) | decision p50 / mean (µs) | decision / PING, / SET (p50) | PING/s, SET/s, decisions/s ({tasks} tasks) |"
    );
    println!("|---|---:|---:|---:|---:|---:|");
    for (target, figures) in sequential_targets.iter().zip(&figures) {
        let [ping, set, decide] = figures
            .each_ref()
            .map(|op| op.each_ref().map(|v| median(v)));
        println!(
            "| {} | {:.1} / {:.1} | {:.1} / {:.1} | {:.1} / {:.1} | **{:.2}**, {:.2} | {:.0}, {:.0}, {:.0} |",
            target.name,
            ping[0],
            ping[1],
            set[0],
            set[1],
            decide[0],
            decide[1],
            decide[0] / ping[0],
            decide[0] / set[0],
            ping[2],
            set[2],
            decide[2],
        );
    }
    println!();
    println!(
        "| target | commands per decision (EVALSHA + EVAL calls / decisions) | time in Redis per decision / SET / PING (µs) |"
    );
    println!("|---|---:|---:|");
    for target in &sequential_targets {
        let [ping, set, evalsha, eval] =
            ["ping", "set", "evalsha", "eval"].map(|command| server_time(&target.urls, command));
        // Two runtimes warmed up, then every round's sequential and concurrent decisions.
        let decisions = 2 * WARM_UP + 2 * rounds * ops;
        println!(
            "| {} | {:.3} | {:.1} / {:.1} / {:.2} |",
            target.name,
            (evalsha.1 + eval.1) as f64 / decisions as f64,
            evalsha.0,
            set.0,
            ping.0
        );
    }
}
