//! Real Redis for the tests and the Redis benchmark (`benches/redis_store.rs` includes this
//! file): one `redis-server`, or a cluster of three masters and three replicas, on free
//! loopback ports. Every process is killed, and every file removed, on drop.
//!
//! Without `redis-server` (or `redis-cli`, which creates the cluster) they say so loudly and
//! give `None`, unless `TESTS_REQUIRE_REDIS=1` (as CI sets) makes that a failure.

use secure_api::limit::Bucket;
use secure_api::policy::{Rate, RateKey};
use secure_api::store::RedisStore;
use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Panics when Redis is required, else says loudly that the caller will not run.
fn cannot_start<T>(program: &str, error: impl std::fmt::Display) -> Option<T> {
    if std::env::var("TESTS_REQUIRE_REDIS").is_ok_and(|v| v == "1") {
        panic!("TESTS_REQUIRE_REDIS=1 but {program} cannot start: {error}")
    }
    eprintln!(
        "\n*** SKIPPED: {program} cannot start ({error}); the Redis tests did NOT run. Install \
         redis-server (and redis-tools, for redis-cli), or run .ci/run. ***\n"
    );
    None
}

/// Waits until something listens on `port`, or the process has exited (`false`).
fn listens(child: &mut Child, port: u16) -> bool {
    let deadline = Instant::now() + Duration::from_secs(10);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        if !matches!(child.try_wait(), Ok(None)) {
            return false;
        }
        assert!(
            Instant::now() < deadline,
            "redis-server did not listen on {port}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    true
}

fn stop(child: &mut Child) {
    let _ = child.kill();
    let _ = child.wait();
}

/// A `redis-server` child process, killed on drop.
pub(crate) struct RedisServer {
    child: Child,
    port: u16,
    tls: bool,
}

impl RedisServer {
    /// Starts one, or says why not (`None`) when the binary is missing and not required.
    pub(crate) fn start() -> Option<Self> {
        Self::start_on(free_port())
    }

    pub(crate) fn start_on(port: u16) -> Option<Self> {
        Self::spawn(port, &["--port", &port.to_string()], false)
    }

    /// One that speaks TLS only, with this certificate chain and key (PEM files).
    pub(crate) fn start_tls(chain: &Path, key: &Path) -> Option<Self> {
        let port = free_port();
        let (chain, key) = (chain.to_string_lossy(), key.to_string_lossy());
        let args = ["--port", "0", "--tls-port", &port.to_string()];
        let files = ["--tls-cert-file", &chain, "--tls-key-file", &key];
        let args = [&args[..], &files, &["--tls-auth-clients", "no"]].concat();
        Self::spawn(port, &args, true)
    }

    fn spawn(port: u16, args: &[&str], tls: bool) -> Option<Self> {
        let spawned = Command::new("redis-server")
            .args(args)
            .args(["--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn();
        let child = match spawned {
            Ok(child) => child,
            Err(error) => return cannot_start("redis-server", error),
        };
        let mut server = Self { child, port, tls };
        assert!(
            listens(&mut server.child, port),
            "redis-server exited instead of listening on {port}"
        );
        Some(server)
    }

    pub(crate) fn url(&self) -> String {
        let scheme = if self.tls { "rediss" } else { "redis" };
        format!("{scheme}://127.0.0.1:{}/", self.port)
    }

    /// A store on this server under `prefix`, as each instance of an API makes its own.
    pub(crate) fn store(&self, prefix: &str) -> RedisStore {
        RedisStore::new(&self.url())
            .expect("redis url")
            .with_prefix(prefix)
            .with_timeout(Duration::from_secs(2))
    }

    /// Runs one command on this (plain, not TLS) server.
    pub(crate) fn query<T: ::redis::FromRedisValue>(&self, command: &[&str]) -> T {
        run(&self.url(), command)
    }

    pub(crate) fn stop(mut self) -> u16 {
        stop(&mut self.child);
        self.port
    }
}

/// Runs one command on the Redis at `url`, on a connection of its own.
fn run<T: ::redis::FromRedisValue>(url: &str, command: &[&str]) -> T {
    let client = ::redis::Client::open(url).expect("a Redis URL");
    let mut connection = client
        .get_connection_with_timeout(Duration::from_secs(2))
        .unwrap_or_else(|error| panic!("{url}: {error}"));
    let mut cmd = ::redis::cmd(command[0]);
    cmd.arg(&command[1..]);
    cmd.query(&mut connection)
        .unwrap_or_else(|error| panic!("{url}, {command:?}: {error}"))
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .expect("a free port")
        .port()
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        stop(&mut self.child);
    }
}

/// One node of a [`RedisCluster`]; `None` once killed.
struct Node {
    child: Option<Child>,
    port: u16,
}

/// A Redis Cluster of three masters, each with one replica, on loopback; its nodes' files in
/// a temporary directory.
pub(crate) struct RedisCluster {
    nodes: Vec<Node>,
    // Dropped after the nodes (fields drop in order): their files go once they have stopped.
    dir: tempfile::TempDir,
}

/// What `CLUSTER NODES` says of one node.
#[derive(Debug, Clone)]
pub(crate) struct NodeInfo {
    pub(crate) id: String,
    pub(crate) port: u16,
    pub(crate) master: bool,
    pub(crate) failed: bool,
    /// The id of its master, for a replica.
    pub(crate) master_id: Option<String>,
    /// Slot ranges served, for a master.
    pub(crate) slots: Vec<(u16, u16)>,
}

impl RedisCluster {
    /// Starts six nodes, makes them a cluster and waits until every node says it is whole
    /// and every replica is in sync; `None` (said loudly) when Redis is missing.
    pub(crate) fn start() -> Option<Self> {
        if let Err(error) = Command::new("redis-cli").arg("--version").output() {
            return cannot_start("redis-cli", error);
        }
        let dir = tempfile::tempdir().expect("a temporary directory");
        let mut cluster = Self {
            nodes: Vec::new(),
            dir,
        };
        while cluster.nodes.len() < 6 {
            let port = cluster.free_port();
            let config = cluster.dir.path().join(format!("nodes-{port}.conf"));
            let spawned = Command::new("redis-server")
                .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
                .args(["--cluster-enabled", "yes", "--cluster-node-timeout", "1000"])
                .arg("--cluster-config-file")
                .arg(&config)
                .arg("--dir")
                .arg(cluster.dir.path())
                .args(["--save", "", "--appendonly", "no"])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn();
            let mut child = match spawned {
                Ok(child) => child,
                Err(error) => return cannot_start("redis-server", error),
            };
            // Another process may have taken the port (or its bus port) meanwhile: try another.
            if listens(&mut child, port) {
                cluster.nodes.push(Node {
                    child: Some(child),
                    port,
                });
            } else {
                stop(&mut child);
            }
        }
        let created = Command::new("redis-cli")
            .args(["--cluster", "create"])
            .args(
                cluster
                    .nodes
                    .iter()
                    .map(|node| format!("127.0.0.1:{}", node.port)),
            )
            .args(["--cluster-replicas", "1", "--cluster-yes"])
            .stdin(Stdio::null())
            .output()
            .expect("redis-cli runs");
        assert!(
            created.status.success(),
            "redis-cli --cluster create failed: {}",
            String::from_utf8_lossy(&created.stdout)
        );
        cluster.wait_until_whole(Duration::from_secs(30));
        Some(cluster)
    }

    /// A port whose cluster bus port (+10000) is free too, both below the ephemeral range, so
    /// that ports the system hands out meanwhile do not collide with them.
    fn free_port(&self) -> u16 {
        loop {
            let port = rand::random_range(15_000..22_000u16);
            let taken = self.nodes.iter().any(|node| node.port == port);
            let free = |port: u16| TcpListener::bind(("127.0.0.1", port)).is_ok();
            if !taken && free(port) && free(port + 10_000) {
                return port;
            }
        }
    }

    /// Every node's URL.
    pub(crate) fn urls(&self) -> Vec<String> {
        self.nodes
            .iter()
            .map(|node| format!("redis://127.0.0.1:{}/", node.port))
            .collect()
    }

    /// Runs one command on the node at `port`.
    pub(crate) fn query<T: ::redis::FromRedisValue>(&self, port: u16, command: &[&str]) -> T {
        run(&format!("redis://127.0.0.1:{port}/"), command)
    }

    /// A store on the cluster under `prefix`, as each instance of an API makes its own.
    pub(crate) fn store(&self, prefix: &str) -> RedisStore {
        let urls = self.urls();
        let nodes: Vec<&str> = urls.iter().map(String::as_str).collect();
        RedisStore::cluster(&nodes)
            .expect("cluster urls")
            .with_prefix(prefix)
            // The first call connects to six nodes, on two shared cores.
            .with_timeout(Duration::from_secs(2))
    }

    /// The cluster as a node that is still running sees it.
    pub(crate) fn topology(&self) -> Vec<NodeInfo> {
        let port = self.live_ports()[0];
        let text: String = self.query(port, &["CLUSTER", "NODES"]);
        text.lines().filter_map(parse_node).collect()
    }

    /// The master serving `key`, and its replica.
    pub(crate) fn owner_of(&self, key: &str) -> (NodeInfo, Option<NodeInfo>) {
        let slot: u16 = self.query(self.live_ports()[0], &["CLUSTER", "KEYSLOT", key]);
        let nodes = self.topology();
        let master = nodes
            .iter()
            .find(|node| node.master && !node.failed && node.serves(slot))
            .unwrap_or_else(|| panic!("no master serves slot {slot}: {nodes:?}"))
            .clone();
        let replica = nodes
            .iter()
            .find(|node| node.master_id.as_deref() == Some(&master.id))
            .cloned();
        (master, replica)
    }

    /// The ports of the masters that are running.
    pub(crate) fn masters(&self) -> Vec<u16> {
        self.topology()
            .into_iter()
            .filter(|node| node.master && !node.failed)
            .map(|node| node.port)
            .collect()
    }

    /// Kills the node at `port` at once (SIGKILL), as a crash would.
    pub(crate) fn kill(&mut self, port: u16) {
        if let Some(node) = self.nodes.iter_mut().find(|node| node.port == port)
            && let Some(mut child) = node.child.take()
        {
            stop(&mut child);
        }
    }

    fn live_ports(&self) -> Vec<u16> {
        self.nodes
            .iter()
            .filter(|node| node.child.is_some())
            .map(|node| node.port)
            .collect()
    }

    fn wait_until_whole(&self, within: Duration) {
        let deadline = Instant::now() + within;
        loop {
            let whole = self.live_ports().into_iter().all(|port| {
                let info: String = self.query(port, &["CLUSTER", "INFO"]);
                let replication: String = self.query(port, &["INFO", "replication"]);
                info.contains("cluster_state:ok")
                    && info.contains("cluster_known_nodes:6")
                    && (replication.contains("role:master")
                        || replication.contains("master_link_status:up"))
            });
            if whole {
                return;
            }
            assert!(Instant::now() < deadline, "the cluster did not come up");
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for RedisCluster {
    fn drop(&mut self) {
        for node in &mut self.nodes {
            if let Some(mut child) = node.child.take() {
                stop(&mut child);
            }
        }
    }
}

impl NodeInfo {
    fn serves(&self, slot: u16) -> bool {
        self.slots
            .iter()
            .any(|(first, last)| (*first..=*last).contains(&slot))
    }
}

/// One line of `CLUSTER NODES`: `<id> <ip:port@bus> <flags> <master> <ping> <pong> <epoch>
/// <link> <slot>...`.
fn parse_node(line: &str) -> Option<NodeInfo> {
    let fields: Vec<&str> = line.split_whitespace().collect();
    let [id, address, flags, master, _, _, _, _, slots @ ..] = fields.as_slice() else {
        return None;
    };
    let port = address
        .split(['@', ','])
        .next()?
        .rsplit(':')
        .next()?
        .parse()
        .ok()?;
    let flags: Vec<&str> = flags.split(',').collect();
    let slots = slots
        .iter()
        .filter(|range| !range.starts_with('['))
        .filter_map(|range| match range.split_once('-') {
            Some((first, last)) => Some((first.parse().ok()?, last.parse().ok()?)),
            None => range.parse().ok().map(|slot| (slot, slot)),
        })
        .collect();
    Some(NodeInfo {
        id: (*id).to_owned(),
        port,
        master: flags.contains(&"master"),
        failed: flags.iter().any(|flag| flag.starts_with("fail")),
        master_id: (*master != "-").then(|| (*master).to_owned()),
        slots,
    })
}

/// A limit of `max` requests per `window` for each user.
pub(crate) fn per_user(name: &'static str, max: u32, window: Duration) -> Bucket {
    Bucket {
        name,
        rate: Rate {
            max,
            window,
            key: RateKey::User,
        },
    }
}
