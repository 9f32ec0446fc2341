//! Proving jobs on many machines: a Redis Stream with a consumer group.
//!
//! - The server appends each job to the stream `zkinfer:jobs` (fields: job, request, model,
//!   input, receipt), everything a worker needs without the server's store. A segmented
//!   model's job goes as one entry per segment (with a `segment` field), added atomically, so
//!   its segments are proven on as many workers at once; each re-runs the (cheap) inference
//!   and proves its segment, and the server assembles the proof bundle when all are in.
//! - Workers (`zkinfer worker`) read it as consumers of the group `zkinfer-provers`, mark a
//!   job started (`zkinfer:started:{job}`), prove it, record the result with `SET … NX` on
//!   `zkinfer:result:{job}` or `zkinfer:result:{job}:{segment}` (so the first result is the
//!   only one), and acknowledge it.
//! - A job whose worker died stays pending under that consumer; after `claim_idle` another
//!   worker takes it over with `XAUTOCLAIM` and finishes it.
//! - The server copies each result into its own store once (only a job not yet finished
//!   takes it), so a proof is recorded exactly once however many workers finished the job.

use redis::{Commands, Connection, Value};
use std::time::Duration;

/// The stream of jobs.
pub const STREAM: &str = "zkinfer:jobs";
/// The workers' consumer group.
pub const GROUP: &str = "zkinfer-provers";

/// A job as it travels on the stream.
#[derive(Clone, Debug, PartialEq)]
pub struct QueuedJob {
    /// The stream entry id (for XACK).
    pub entry: String,
    pub job: String,
    pub request: String,
    pub model: String,
    pub input: String,
    pub receipt: String,
    /// The segment to prove, for a segmented model's job; `None` proves the whole model.
    pub segment: Option<usize>,
}

impl QueuedJob {
    /// The id its result is recorded under: the job's, or `{job}:{segment}`.
    pub fn result_id(&self) -> String {
        result_id(&self.job, self.segment)
    }
}

/// The id a result is recorded under: `job`, or `{job}:{segment}` for one segment of it.
pub fn result_id(job: &str, segment: Option<usize>) -> String {
    match segment {
        None => job.to_string(),
        Some(k) => format!("{job}:{k}"),
    }
}

/// A worker's result, as recorded in Redis.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct JobResult {
    /// The proof.json, or for a segment its [`zkinfer_verifier::SegmentProof`] JSON (done) ...
    pub proof: Option<String>,
    /// ... or why it failed.
    pub error: Option<String>,
    pub prove_seconds: f64,
    pub worker: String,
}

/// Connects to `url` (redis://host:port[/db]).
pub fn connect(url: &str) -> anyhow::Result<Connection> {
    let client =
        redis::Client::open(url).map_err(|e| anyhow::anyhow!("bad --queue URL {url}: {e}"))?;
    client
        .get_connection_with_timeout(Duration::from_secs(10))
        .map_err(|e| anyhow::anyhow!("cannot connect to {url}: {e}"))
}

/// Creates the stream and the group if they do not exist.
pub fn ensure_group(con: &mut Connection) -> redis::RedisResult<()> {
    let r: redis::RedisResult<Value> = redis::cmd("XGROUP")
        .arg("CREATE")
        .arg(STREAM)
        .arg(GROUP)
        .arg("0")
        .arg("MKSTREAM")
        .query(con);
    match r {
        Ok(_) => Ok(()),
        Err(e) if e.code() == Some("BUSYGROUP") => Ok(()),
        Err(e) => Err(e),
    }
}

/// Appends jobs to the stream, all or none (one MULTI/EXEC transaction): a server that dies
/// while sending a segmented job leaves none of its segments behind, and sends it whole again
/// after restart.
pub fn enqueue(con: &mut Connection, jobs: &[QueuedJob]) -> redis::RedisResult<()> {
    let mut pipe = redis::pipe();
    pipe.atomic();
    for j in jobs {
        let mut cmd = redis::cmd("XADD");
        cmd.arg(STREAM)
            .arg("*")
            .arg("job")
            .arg(&j.job)
            .arg("request")
            .arg(&j.request)
            .arg("model")
            .arg(&j.model)
            .arg("input")
            .arg(&j.input)
            .arg("receipt")
            .arg(&j.receipt);
        if let Some(k) = j.segment {
            cmd.arg("segment").arg(k);
        }
        pipe.add_command(cmd).ignore();
    }
    pipe.query::<()>(con)
}

fn result_key(result_id: &str) -> String {
    format!("zkinfer:result:{result_id}")
}

fn started_key(job: &str) -> String {
    format!("zkinfer:started:{job}")
}

/// The result recorded under `result_id` (see [`result_id`]), if a worker recorded one.
pub fn result(con: &mut Connection, result_id: &str) -> redis::RedisResult<Option<JobResult>> {
    let v: Option<String> = con.get(result_key(result_id))?;
    Ok(v.and_then(|s| serde_json::from_str(&s).ok()))
}

/// The results recorded under many result ids in one round trip (`MGET`), in order.
pub fn results<S: AsRef<str>>(
    con: &mut Connection,
    result_ids: &[S],
) -> redis::RedisResult<Vec<Option<JobResult>>> {
    if result_ids.is_empty() {
        return Ok(Vec::new());
    }
    let keys: Vec<String> = result_ids.iter().map(|j| result_key(j.as_ref())).collect();
    let v: Vec<Option<String>> = redis::cmd("MGET").arg(keys).query(con)?;
    Ok(v.into_iter()
        .map(|s| s.and_then(|s| serde_json::from_str(&s).ok()))
        .collect())
}

/// Which of many jobs a worker has started, in one round trip (`MGET`), in order.
pub fn started_many(con: &mut Connection, jobs: &[&str]) -> redis::RedisResult<Vec<bool>> {
    if jobs.is_empty() {
        return Ok(Vec::new());
    }
    let keys: Vec<String> = jobs.iter().map(|j| started_key(j)).collect();
    let v: Vec<Option<String>> = redis::cmd("MGET").arg(keys).query(con)?;
    Ok(v.into_iter().map(|s| s.is_some()).collect())
}

/// Whether a worker has started the job.
pub fn started(con: &mut Connection, job: &str) -> redis::RedisResult<bool> {
    con.exists(started_key(job))
}

/// Records a result under `result_id` unless one exists; whether this one was recorded.
pub fn record(con: &mut Connection, result_id: &str, r: &JobResult) -> redis::RedisResult<bool> {
    let set: Option<String> = redis::cmd("SET")
        .arg(result_key(result_id))
        .arg(serde_json::to_string(r).expect("json"))
        .arg("NX")
        .query(con)?;
    Ok(set.is_some())
}

/// Marks a job started by `worker`.
pub fn mark_started(con: &mut Connection, job: &str, worker: &str) -> redis::RedisResult<()> {
    con.set(started_key(job), worker)
}

/// Acknowledges a stream entry (the job is finished for the group).
pub fn ack(con: &mut Connection, entry: &str) -> redis::RedisResult<()> {
    let _: i64 = redis::cmd("XACK")
        .arg(STREAM)
        .arg(GROUP)
        .arg(entry)
        .query(con)?;
    Ok(())
}

fn text(v: &Value) -> Option<String> {
    match v {
        Value::BulkString(b) => Some(String::from_utf8_lossy(b).into_owned()),
        Value::SimpleString(s) => Some(s.clone()),
        _ => None,
    }
}

/// Parses stream entries `[[id, [k, v, …]], …]`.
fn entries(v: &Value) -> Vec<QueuedJob> {
    let Value::Array(items) = v else {
        return Vec::new();
    };
    items
        .iter()
        .filter_map(|e| {
            let Value::Array(pair) = e else { return None };
            let entry = text(pair.first()?)?;
            let Value::Array(kv) = pair.get(1)? else {
                return None;
            };
            let mut f = std::collections::HashMap::new();
            for c in kv.chunks(2) {
                f.insert(text(&c[0])?, text(c.get(1)?)?);
            }
            Some(QueuedJob {
                entry,
                job: f.remove("job")?,
                request: f.remove("request")?,
                model: f.remove("model")?,
                input: f.remove("input")?,
                receipt: f.remove("receipt")?,
                // An unreadable segment field makes the entry unreadable, never a whole job.
                segment: match f.remove("segment") {
                    None => None,
                    Some(k) => Some(k.parse().ok()?),
                },
            })
        })
        .collect()
}

/// The next job for `consumer`: one another consumer left pending for `claim_idle` (its
/// worker presumably dead) first, else a new one (waiting up to `block`).
pub fn next_job(
    con: &mut Connection,
    consumer: &str,
    claim_idle: Duration,
    block: Duration,
) -> redis::RedisResult<Option<QueuedJob>> {
    // XAUTOCLAIM key group consumer min-idle start COUNT 1 → [next, [entries], [deleted]]
    let claimed: Value = redis::cmd("XAUTOCLAIM")
        .arg(STREAM)
        .arg(GROUP)
        .arg(consumer)
        .arg(claim_idle.as_millis() as u64)
        .arg("0-0")
        .arg("COUNT")
        .arg(1)
        .query(con)?;
    if let Value::Array(parts) = &claimed {
        if let Some(j) = parts.get(1).map(entries).and_then(|v| v.into_iter().next()) {
            return Ok(Some(j));
        }
    }
    // XREADGROUP GROUP g c COUNT 1 BLOCK ms STREAMS key > → [[key, [entries]]] or nil
    let read: Value = redis::cmd("XREADGROUP")
        .arg("GROUP")
        .arg(GROUP)
        .arg(consumer)
        .arg("COUNT")
        .arg(1)
        .arg("BLOCK")
        .arg(block.as_millis() as u64)
        .arg("STREAMS")
        .arg(STREAM)
        .arg(">")
        .query(con)?;
    let Value::Array(streams) = read else {
        return Ok(None);
    };
    Ok(streams.first().and_then(|s| {
        let Value::Array(kv) = s else { return None };
        kv.get(1).map(entries).and_then(|v| v.into_iter().next())
    }))
}

/// Entries delivered but not acknowledged (jobs in flight or orphaned).
pub fn pending(con: &mut Connection) -> redis::RedisResult<i64> {
    let v: Value = redis::cmd("XPENDING").arg(STREAM).arg(GROUP).query(con)?;
    Ok(match v {
        Value::Array(p) => match p.first() {
            Some(Value::Int(n)) => *n,
            _ => 0,
        },
        _ => 0,
    })
}
