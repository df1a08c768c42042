//! One Redis, or a Redis Cluster: how the store connects, behind one connection type.

use redis::aio::{ConnectionLike, ConnectionManager, ConnectionManagerConfig};
use redis::cluster::{ClusterClient, ClusterClientBuilder, ClusterConfig};
use redis::cluster_async::ClusterConnection;
use redis::{
    Cmd, ConnectionAddr, ConnectionInfo, IntoConnectionInfo, Pipeline, RedisFuture, RedisResult,
    Value,
};
use std::time::Duration;

/// What the store connects to.
#[derive(Clone)]
pub(super) enum Client {
    Single(redis::Client),
    Cluster(ClusterClient),
}

impl Client {
    pub(super) fn single(node: ConnectionInfo) -> RedisResult<Self> {
        install_tls_provider(&[&node]);
        redis::Client::open(node).map(Self::Single)
    }

    /// A cluster found from `nodes` (any of its nodes will do; more survive one being down).
    pub(super) fn cluster(nodes: Vec<ConnectionInfo>) -> RedisResult<Self> {
        install_tls_provider(&nodes.iter().collect::<Vec<_>>());
        ClusterClientBuilder::new(nodes)
            // A request that meets a failover waits for the new master a few times, briefly:
            // the store's timeout bounds the whole call anyway, and redis-rs's defaults (16
            // retries, waits from 1.28 s) would outlast it every time.
            .retries(4)
            .min_retry_wait(20)
            .max_retry_wait(200)
            .build()
            .map(Self::Cluster)
    }

    pub(super) async fn connect(&self, timeout: Duration) -> RedisResult<Connection> {
        match self {
            Self::Single(client) => {
                let config = ConnectionManagerConfig::new()
                    .set_connection_timeout(timeout)
                    .set_response_timeout(timeout)
                    .set_number_of_retries(1)
                    .set_max_delay(1_000);
                ConnectionManager::new_with_config(client.clone(), config)
                    .await
                    .map(Connection::Single)
            }
            Self::Cluster(client) => {
                let config = ClusterConfig::new()
                    .set_connection_timeout(timeout)
                    .set_response_timeout(timeout);
                client
                    .get_async_connection_with_config(config)
                    .await
                    .map(Connection::Cluster)
            }
        }
    }
}

/// Reads a node's URL, refusing `#insecure`: certificates are always verified.
pub(super) fn parse(url: &str) -> Result<ConnectionInfo, String> {
    // The error's kind only: its text could quote the URL, and the URL may hold a password.
    let node = url.into_connection_info().map_err(|error| {
        format!(
            "not a Redis URL ({:?}): write redis://[user:password@]host[:port][/db], or \
             rediss://… for TLS",
            error.kind()
        )
    })?;
    if let ConnectionAddr::TcpTls { insecure: true, .. } = node.addr {
        return Err("`#insecure` would turn certificate verification off; it is refused".into());
    }
    Ok(node)
}

/// Whether the nodes share what a cluster connection uses for all of them: the user, the
/// password and TLS (redis-rs refuses them otherwise, with an error that does not say why).
pub(super) fn alike(nodes: &[ConnectionInfo]) -> bool {
    let shared = |node: &ConnectionInfo| {
        (
            node.redis.username.clone(),
            node.redis.password.clone(),
            matches!(node.addr, ConnectionAddr::TcpTls { .. }),
        )
    };
    nodes
        .windows(2)
        .all(|pair| shared(&pair[0]) == shared(&pair[1]))
}

/// redis-rs builds its TLS configuration on rustls' process-wide crypto provider, which rustls
/// picks by itself only when exactly one is compiled in. ring, which this crate uses for every
/// TLS connection, is installed unless the application installed one first.
fn install_tls_provider(nodes: &[&ConnectionInfo]) {
    if nodes
        .iter()
        .any(|node| matches!(node.addr, ConnectionAddr::TcpTls { .. }))
    {
        let _already_installed = rustls::crypto::ring::default_provider().install_default();
    }
}

/// A connection that reconnects by itself: to one Redis, or to every node of a cluster
/// (following `MOVED` and refreshing the slot map after a failover). Cloning shares it.
#[derive(Clone)]
pub(super) enum Connection {
    Single(ConnectionManager),
    Cluster(ClusterConnection),
}

impl ConnectionLike for Connection {
    fn req_packed_command<'a>(&'a mut self, cmd: &'a Cmd) -> RedisFuture<'a, Value> {
        match self {
            Self::Single(connection) => connection.req_packed_command(cmd),
            Self::Cluster(connection) => connection.req_packed_command(cmd),
        }
    }

    fn req_packed_commands<'a>(
        &'a mut self,
        cmd: &'a Pipeline,
        offset: usize,
        count: usize,
    ) -> RedisFuture<'a, Vec<Value>> {
        match self {
            Self::Single(connection) => connection.req_packed_commands(cmd, offset, count),
            Self::Cluster(connection) => connection.req_packed_commands(cmd, offset, count),
        }
    }

    fn get_db(&self) -> i64 {
        match self {
            Self::Single(connection) => connection.get_db(),
            Self::Cluster(connection) => connection.get_db(),
        }
    }
}
