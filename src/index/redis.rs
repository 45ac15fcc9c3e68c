//! The production lease and price channel on Redis (deadpool-redis).
//!
//! Lease: `SET key holder NX PX ttl`; renew and release only when the key still names the
//! holder (a Lua script, so the check and the write are one step). Each acquisition takes a new
//! fencing epoch from a counter beside the key, raised to at least the wall clock in ms: this
//! machine's Redis keeps nothing on disk, and an epoch counter that restarted from 0 would make
//! every new leader look older than the last one and be refused forever.
//!
//! Prices: `PUBLISH` on a channel beside the key; every process subscribes on its own
//! connection, reconnecting with backoff.

use std::sync::Arc;
use std::time::Duration;

use deadpool_redis::redis::{self, AsyncCommands as _};
use deadpool_redis::{Config, Pool, Runtime};
use exchange_actors::index::PublishedIndex;
use exchange_actors::ports::{Epoch, IndexFeed, LeaderLock, LockError, PortFuture};
use futures_util::StreamExt as _;
use tokio::sync::mpsc;

use super::in_process::SUBSCRIBER_QUEUE;

/// Every Redis call is bounded: a hung Redis must read as unreachable, not as a hung oracle.
const CALL_TIMEOUT: Duration = Duration::from_millis(500);
/// Prices waiting to be PUBLISHed; past this the newest is dropped.
const OUTBOUND_QUEUE: usize = 64;
const RECONNECT_DELAY_MIN: Duration = Duration::from_millis(100);
const RECONNECT_DELAY_MAX: Duration = Duration::from_secs(2);

const ACQUIRE: &str = r"
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then
  local epoch = redis.call('INCR', KEYS[2])
  local floor = tonumber(ARGV[3])
  if epoch < floor then
    redis.call('SET', KEYS[2], ARGV[3])
    epoch = floor
  end
  return epoch
end
return false
";

const RENEW: &str = r"
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0
";

const RELEASE: &str = r"
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
";

/// A pool for `url`: connections are made when first used, so this does not touch Redis.
pub fn redis_pool(url: &str) -> anyhow::Result<Pool> {
    Ok(Config::from_url(url).create_pool(Some(Runtime::Tokio1))?)
}

#[derive(Clone)]
pub struct RedisLeaderLock {
    pool: Pool,
    lock_key: String,
    epoch_key: String,
}

impl std::fmt::Debug for RedisLeaderLock {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.debug_struct("RedisLeaderLock").field("lock_key", &self.lock_key).finish()
    }
}

impl RedisLeaderLock {
    pub fn new(pool: Pool, lock_key: String, epoch_key: String) -> Arc<RedisLeaderLock> {
        Arc::new(RedisLeaderLock { pool, lock_key, epoch_key })
    }

    /// Runs `script` over the lease's keys with `args`, bounded by [`CALL_TIMEOUT`].
    fn eval<T: redis::FromRedisValue + Send + 'static>(
        &self,
        script: &'static str,
        args: Vec<String>,
    ) -> PortFuture<Result<T, LockError>> {
        let lock = self.clone();
        Box::pin(async move {
            let call = async {
                let mut connection = lock.pool.get().await.map_err(|error| error.to_string())?;
                redis::cmd("EVAL")
                    .arg(script)
                    .arg(2)
                    .arg(&lock.lock_key)
                    .arg(&lock.epoch_key)
                    .arg(args)
                    .query_async::<T>(&mut connection)
                    .await
                    .map_err(|error| error.to_string())
            };
            match tokio::time::timeout(CALL_TIMEOUT, call).await {
                Ok(answer) => answer.map_err(LockError),
                Err(_) => Err(LockError(format!("no answer within {CALL_TIMEOUT:?}"))),
            }
        })
    }
}

impl LeaderLock for RedisLeaderLock {
    fn try_acquire(
        &self,
        holder: String,
        ttl_ms: u64,
    ) -> PortFuture<Result<Option<Epoch>, LockError>> {
        let now_ms = super::wall_clock_ms();
        let call =
            self.eval::<Option<u64>>(ACQUIRE, vec![holder, ttl_ms.to_string(), now_ms.to_string()]);
        Box::pin(async move { call.await.map(|epoch| epoch.map(Epoch)) })
    }

    fn renew(&self, holder: String, ttl_ms: u64) -> PortFuture<Result<bool, LockError>> {
        let call = self.eval::<u64>(RENEW, vec![holder, ttl_ms.to_string()]);
        Box::pin(async move { call.await.map(|renewed| renewed == 1) })
    }

    fn release(&self, holder: String) -> PortFuture<Result<(), LockError>> {
        let call = self.eval::<u64>(RELEASE, vec![holder]);
        Box::pin(async move { call.await.map(|_| ()) })
    }
}

/// Whether Redis answers a PING within `timeout`.
pub async fn ping(pool: &Pool, timeout: Duration) -> Result<(), String> {
    let call = async {
        let mut connection = pool.get().await.map_err(|error| error.to_string())?;
        redis::cmd("PING")
            .query_async::<String>(&mut connection)
            .await
            .map_err(|error| error.to_string())
    };
    match tokio::time::timeout(timeout, call).await {
        Ok(answer) => answer.map(|_pong| ()),
        Err(_) => Err(format!("no answer within {timeout:?}")),
    }
}

/// Prices over Redis pub/sub.
#[derive(Debug)]
pub struct RedisIndexFeed {
    url: String,
    channel: String,
    outbound: mpsc::Sender<PublishedIndex>,
}

impl RedisIndexFeed {
    /// The feed on `channel`; starts the task that PUBLISHes (on the current runtime).
    pub fn start(url: &str, pool: Pool, channel: String) -> Arc<RedisIndexFeed> {
        let (outbound, queued) = mpsc::channel(OUTBOUND_QUEUE);
        tokio::spawn(publish_queued(pool, channel.clone(), queued));
        Arc::new(RedisIndexFeed { url: url.to_owned(), channel, outbound })
    }
}

impl IndexFeed for RedisIndexFeed {
    fn publish(&self, price: PublishedIndex) {
        if self.outbound.try_send(price).is_err() {
            metrics::counter!("exchange_index_publish_dropped_total").increment(1);
        }
    }

    fn subscribe(&self) -> mpsc::Receiver<PublishedIndex> {
        let (sender, receiver) = mpsc::channel(SUBSCRIBER_QUEUE);
        tokio::spawn(receive(self.url.clone(), self.channel.clone(), sender));
        receiver
    }
}

async fn publish_queued(pool: Pool, channel: String, mut queued: mpsc::Receiver<PublishedIndex>) {
    while let Some(price) = queued.recv().await {
        let Ok(payload) = serde_json::to_string(&price) else { continue };
        let sent = tokio::time::timeout(CALL_TIMEOUT, async {
            let mut connection = pool.get().await.map_err(|error| error.to_string())?;
            connection
                .publish::<_, _, u64>(&channel, payload)
                .await
                .map_err(|error| error.to_string())
        })
        .await;
        if !matches!(sent, Ok(Ok(_))) {
            tracing::warn!(?sent, "index price not published");
            metrics::counter!("exchange_index_publish_dropped_total").increment(1);
        }
    }
}

/// Subscribes to `channel` and forwards every price until `sender`'s receiver is dropped,
/// reconnecting with backoff.
async fn receive(url: String, channel: String, sender: mpsc::Sender<PublishedIndex>) {
    let mut delay = RECONNECT_DELAY_MIN;
    while !sender.is_closed() {
        match subscribe_once(&url, &channel, &sender).await {
            Ok(()) => delay = RECONNECT_DELAY_MIN,
            Err(error) => {
                tracing::warn!(%error, %channel, "index price subscription lost; reconnecting");
                metrics::counter!("exchange_index_subscription_reconnects_total").increment(1);
            }
        }
        tokio::time::sleep(delay).await;
        delay = (delay * 2).min(RECONNECT_DELAY_MAX);
    }
}

async fn subscribe_once(
    url: &str,
    channel: &str,
    sender: &mpsc::Sender<PublishedIndex>,
) -> redis::RedisResult<()> {
    let client = redis::Client::open(url)?;
    let mut pubsub =
        tokio::time::timeout(CALL_TIMEOUT, client.get_async_pubsub()).await.map_err(|_| {
            redis::RedisError::from(std::io::Error::from(std::io::ErrorKind::TimedOut))
        })??;
    pubsub.subscribe(channel).await?;
    let mut messages = pubsub.on_message();
    while let Some(message) = messages.next().await {
        let Ok(payload) = message.get_payload::<String>() else { continue };
        match serde_json::from_str::<PublishedIndex>(&payload) {
            // A full subscriber misses this price; the next one replaces it anyway.
            Ok(price) => {
                if sender.try_send(price).is_err() && sender.is_closed() {
                    return Ok(());
                }
            }
            Err(error) => tracing::warn!(%error, "undecodable index price on the channel"),
        }
    }
    Err(redis::RedisError::from(std::io::Error::from(std::io::ErrorKind::ConnectionReset)))
}
