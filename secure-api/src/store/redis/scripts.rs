//! Every decision of the Redis store as one Lua script: one round trip, atomic.
//!
//! Each script names every key it touches in `KEYS`, and the keys of one call share a hash
//! tag (see `keys.rs`), so that Redis Cluster runs the whole decision on one node. Scripts are
//! called by `EVALSHA`; a node that does not know one yet (first use, a restart, a replica
//! just promoted) gets the body once by `EVAL` on the same key, which also caches it there.
//! redis-rs's own fallback loads the script with `SCRIPT LOAD` on every node of a cluster,
//! which fails while one of them is down — exactly during a failover.

use redis::aio::ConnectionLike;
use redis::{Arg, Cmd, ErrorKind, FromRedisValue, RedisResult, Script, ToRedisArgs};
use std::sync::OnceLock;

/// A Lua script and its SHA-1, computed on first use.
pub(super) struct Lua {
    code: &'static str,
    sha: OnceLock<String>,
}

impl Lua {
    const fn new(code: &'static str) -> Self {
        Self {
            code,
            sha: OnceLock::new(),
        }
    }

    fn sha(&self) -> &str {
        self.sha
            .get_or_init(|| Script::new(self.code).get_hash().to_owned())
    }

    /// A call of this script on `keys`; arguments follow with [`Invocation::arg`].
    pub(super) fn on(&'static self, keys: &[&str]) -> Invocation {
        self.on_each(keys.iter().copied())
    }

    pub(super) fn on_each<'k>(
        &'static self,
        keys: impl ExactSizeIterator<Item = &'k str>,
    ) -> Invocation {
        let mut evalsha = redis::cmd("EVALSHA");
        evalsha.arg(self.sha()).arg(keys.len());
        for key in keys {
            evalsha.arg(key);
        }
        Invocation { lua: self, evalsha }
    }
}

/// One call of a script, with its keys and arguments, written as the `EVALSHA` command: each
/// argument goes straight into the command's buffer.
pub(super) struct Invocation {
    lua: &'static Lua,
    evalsha: Cmd,
}

impl Invocation {
    pub(super) fn arg(mut self, arg: impl ToRedisArgs) -> Self {
        self.evalsha.arg(arg);
        self
    }

    /// The same call with the script's body, for a node that does not know the script yet.
    fn eval(&self) -> Cmd {
        let mut eval = redis::cmd("EVAL");
        eval.arg(self.lua.code);
        // After `EVALSHA` and the SHA-1: the key count, the keys and the arguments.
        for arg in self.evalsha.args_iter().skip(2) {
            if let Arg::Simple(bytes) = arg {
                eval.arg(bytes);
            }
        }
        eval
    }

    pub(super) async fn invoke<T: FromRedisValue>(
        &self,
        connection: &mut (impl ConnectionLike + Send),
    ) -> RedisResult<T> {
        match self.evalsha.query_async(connection).await {
            Err(error) if error.kind() == ErrorKind::NoScriptError => {
                self.eval().query_async(connection).await
            }
            answer => answer,
        }
    }
}

/// GCRA, the same algorithm as the in-memory limiter: a bucket of `max` requests that earns
/// one back every `interval`. Each key holds the theoretical arrival time (TAT) in
/// microseconds of Redis' own clock, so every instance shares one clock, and expires when the
/// bucket is full again. One call decides any number of buckets, in order, at one instant:
/// a batch of requests (`batches.rs`), two of them possibly the same client's.
///
/// KEYS[i] = bucket key; ARGV[2i-1] = its interval µs; ARGV[2i] = its max.
/// Returns, per key, {allowed, remaining, retry_after µs, reset µs}; allowed is -1 for a key
/// that holds something other than a time, which fails that decision alone, not its batch.
pub(super) static GCRA: Lua = Lua::new(
    r"
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000000 + tonumber(time[2])
local answers = {}
for i, key in ipairs(KEYS) do
  local interval = tonumber(ARGV[2 * i - 1])
  local max = tonumber(ARGV[2 * i])
  local stored = redis.pcall('GET', key)
  local tat = now
  if stored then tat = tonumber(stored) end
  if not tat then
    answers[i] = {-1, 0, 0, 0}
  else
    if tat < now then tat = now end
    local new_tat = tat + interval
    local allow_at = new_tat - interval * max
    if now < allow_at then
      answers[i] = {0, 0, allow_at - now, tat - now}
    else
      redis.call('SET', key, new_tat, 'PX', math.ceil((new_tat - now) / 1000))
      answers[i] = {1, math.floor((now - allow_at) / interval), 0, new_tat - now}
    end
  end
end
return answers
",
);

/// Peeks at a failure count. KEYS[1] = count key. Returns {count, ms until it is forgotten}.
pub(super) static FAILURES: Lua = Lua::new(
    r"
local count = redis.call('GET', KEYS[1])
if not count then return {0, 0} end
return {tonumber(count), redis.call('PTTL', KEYS[1])}
",
);

/// Counts one failure; the first one starts the window. KEYS[1] = count key;
/// ARGV[1] = window ms. Returns {count, ms until it is forgotten}.
///
/// A count found without an expiry (written by hand, or by something else under this
/// prefix) is given one, so that no count outlives its window for ever.
pub(super) static ADD_FAILURE: Lua = Lua::new(
    r"
local count = redis.call('INCR', KEYS[1])
local left = redis.call('PTTL', KEYS[1])
if count == 1 or left < 0 then
  redis.call('PEXPIRE', KEYS[1], ARGV[1])
  left = tonumber(ARGV[1])
end
return {count, left}
",
);

/// Records a one-time value if it is greater than the one recorded. KEYS[1] = value key;
/// ARGV[1] = the value (decimal); ARGV[2] = ms to remember it. Returns 1 if accepted.
///
/// Values are compared as decimal strings, digit by digit: Lua's numbers are doubles, exact
/// only to 2^53, and its string order follows the server's locale.
pub(super) static SPEND_ONCE: Lua = Lua::new(
    r"
local function at_least(a, b)
  if #a ~= #b then return #a > #b end
  for i = 1, #a do
    local x, y = string.byte(a, i), string.byte(b, i)
    if x ~= y then return x > y end
  end
  return true
end
local recorded = redis.call('GET', KEYS[1])
if recorded and at_least(recorded, ARGV[1]) then return 0 end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return 1
",
);

/// Records a refresh token. KEYS[1] = token key, KEYS[2] = the family's last expiry;
/// ARGV[1] = family, ARGV[2] = principal (JSON), ARGV[3] = expiry (s since the epoch).
pub(super) static INSERT: Lua = Lua::new(
    r"
redis.call('HSET', KEYS[1], 'family', ARGV[1], 'principal', ARGV[2], 'expires_at', ARGV[3], 'spent', '0')
redis.call('EXPIREAT', KEYS[1], ARGV[3])
local last = tonumber(redis.call('GET', KEYS[2]) or '0')
if tonumber(ARGV[3]) > last then
  redis.call('SET', KEYS[2], ARGV[3], 'EXAT', ARGV[3])
end
return 1
",
);

/// Spends a refresh token. KEYS[1] = token key, KEYS[2] = the family's last expiry,
/// KEYS[3] = the family's revocation; ARGV[1] = now (s), ARGV[2] = family.
/// Returns {'fresh', family, principal, expires_at} | {'reused', family, principal} |
/// {'invalid'}. On reuse the family is revoked until its last token would have expired.
pub(super) static SPEND: Lua = Lua::new(
    r"
local record = redis.call('HMGET', KEYS[1], 'family', 'principal', 'expires_at', 'spent')
if not record[1] or record[1] ~= ARGV[2] then return {'invalid'} end
if redis.call('EXISTS', KEYS[3]) == 1 then return {'invalid'} end
if tonumber(record[3]) <= tonumber(ARGV[1]) then return {'invalid'} end
if record[4] == '1' then
  local last = redis.call('GET', KEYS[2]) or record[3]
  redis.call('SET', KEYS[3], '1', 'EXAT', last)
  return {'reused', record[1], record[2]}
end
redis.call('HSET', KEYS[1], 'spent', '1')
return {'fresh', record[1], record[2], record[3]}
",
);

/// Revokes a family until its last token would have expired. KEYS[1] = the family's last
/// expiry, KEYS[2] = the family's revocation.
pub(super) static REVOKE_FAMILY: Lua = Lua::new(
    r"
local last = redis.call('GET', KEYS[1])
if last then redis.call('SET', KEYS[2], '1', 'EXAT', last) end
return 1
",
);

/// Keeps a new API key unless its id is taken. KEYS[1] = records, KEYS[2] = revocations,
/// KEYS[3] = last uses, KEYS[4] = every id, KEYS[5] = the owner's ids; ARGV[1] = id,
/// ARGV[2] = record (JSON), ARGV[3] = creation time, ARGV[4] = revocation time or '',
/// ARGV[5] = last use or ''. Returns 1 if kept, 0 if the id is taken (nothing changed).
///
/// Times left over from a record removed by hand are dropped rather than inherited.
pub(super) static INSERT_API_KEY: Lua = Lua::new(
    r"
if redis.call('HSETNX', KEYS[1], ARGV[1], ARGV[2]) == 0 then return 0 end
redis.call('HDEL', KEYS[2], ARGV[1])
redis.call('HDEL', KEYS[3], ARGV[1])
if ARGV[4] ~= '' then redis.call('HSET', KEYS[2], ARGV[1], ARGV[4]) end
if ARGV[5] ~= '' then redis.call('HSET', KEYS[3], ARGV[1], ARGV[5]) end
redis.call('ZADD', KEYS[4], ARGV[3], ARGV[1])
redis.call('ZADD', KEYS[5], ARGV[3], ARGV[1])
return 1
",
);

/// Reads one API key. KEYS[1] = records, KEYS[2] = revocations, KEYS[3] = last uses;
/// ARGV[1] = id. Returns {record, revoked at, last used at}, each nil when absent.
pub(super) static FIND_API_KEY: Lua = Lua::new(
    r"
return {
  redis.call('HGET', KEYS[1], ARGV[1]),
  redis.call('HGET', KEYS[2], ARGV[1]),
  redis.call('HGET', KEYS[3], ARGV[1]),
}
",
);

/// Reads every API key of an index, oldest first (ties by id, as sorted sets order equal
/// scores). KEYS[1] = the index (every id, or one owner's), KEYS[2] = records,
/// KEYS[3] = revocations, KEYS[4] = last uses. Returns {id, record, revoked at, last used at}
/// flattened, key after key.
///
/// `HMGET` takes the ids in chunks: `unpack` of a whole large listing would overflow Lua's
/// stack.
pub(super) static LIST_API_KEYS: Lua = Lua::new(
    r"
local ids = redis.call('ZRANGE', KEYS[1], 0, -1)
local reply, n = {}, 0
for first = 1, #ids, 500 do
  local chunk = {unpack(ids, first, math.min(first + 499, #ids))}
  local records = redis.call('HMGET', KEYS[2], unpack(chunk))
  local revoked = redis.call('HMGET', KEYS[3], unpack(chunk))
  local used = redis.call('HMGET', KEYS[4], unpack(chunk))
  for i = 1, #chunk do
    reply[n + 1], reply[n + 2], reply[n + 3], reply[n + 4] = chunk[i], records[i], revoked[i], used[i]
    n = n + 4
  end
end
return reply
",
);

/// Revokes an API key, keeping the first time. KEYS[1] = records, KEYS[2] = revocations;
/// ARGV[1] = id, ARGV[2] = now (s). Returns 1, or 0 if there is no such key.
pub(super) static REVOKE_API_KEY: Lua = Lua::new(
    r"
if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 0 then return 0 end
redis.call('HSETNX', KEYS[2], ARGV[1], ARGV[2])
return 1
",
);

/// Records an API key's use, if the key exists (no stray entry for an unknown id).
/// KEYS[1] = records, KEYS[2] = last uses; ARGV[1] = id, ARGV[2] = now (s).
pub(super) static TOUCH_API_KEY: Lua = Lua::new(
    r"
if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 1 then
  redis.call('HSET', KEYS[2], ARGV[1], ARGV[2])
end
return 1
",
);
