//! The durable store: requests and proving jobs in SQLite (WAL, synchronous FULL), in the
//! data directory. A request is committed before its answer is sent, and a job's proof before
//! it is marked done, so a node killed at any point loses neither; jobs left `running` by a
//! killed node are queued again when it restarts.

use rusqlite::{params, Connection, OptionalExtension};
use std::path::Path;
use std::sync::Mutex;

/// A stored request: what the node served.
#[derive(Clone, Debug)]
pub struct StoredRequest {
    pub id: String,
    pub model: String,
    /// The request body's input, as received (the trace is re-run from it).
    pub input_json: String,
    /// The answer's output object and receipt (JSON).
    pub output_json: String,
    pub receipt_json: String,
}

/// A job's state.
#[derive(Clone, Debug, PartialEq)]
pub struct Job {
    pub id: String,
    pub request_id: String,
    /// queued, running, done or failed.
    pub status: String,
    /// proof.json, once done.
    pub proof_json: Option<String>,
    pub error: Option<String>,
    pub prove_seconds: Option<f64>,
    pub attempts: i64,
    /// The served model its request is for.
    pub model: String,
}

/// Counts of jobs per state.
#[derive(Clone, Copy, Debug, Default)]
pub struct JobCounts {
    pub queued: u64,
    pub running: u64,
    pub done: u64,
    pub failed: u64,
}

/// The SQLite store (one connection behind a mutex: writes are short).
pub struct Store {
    db: Mutex<Connection>,
}

fn now() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}

impl Store {
    /// Opens (or creates) `dir/node.sqlite` and queues again any job a previous run left
    /// `running`.
    pub fn open(dir: &Path) -> rusqlite::Result<Self> {
        let db = Connection::open(dir.join("node.sqlite"))?;
        db.pragma_update(None, "journal_mode", "WAL")?;
        db.pragma_update(None, "synchronous", "FULL")?;
        db.busy_timeout(std::time::Duration::from_secs(10))?;
        db.execute_batch(
            "CREATE TABLE IF NOT EXISTS requests (
                id TEXT PRIMARY KEY, model TEXT NOT NULL, input_json TEXT NOT NULL,
                output_json TEXT NOT NULL, receipt_json TEXT NOT NULL, created REAL NOT NULL);
             CREATE TABLE IF NOT EXISTS jobs (
                id TEXT PRIMARY KEY, request_id TEXT NOT NULL UNIQUE REFERENCES requests(id),
                status TEXT NOT NULL, proof_json TEXT, error TEXT, prove_seconds REAL,
                attempts INTEGER NOT NULL DEFAULT 0, created REAL NOT NULL);
             CREATE INDEX IF NOT EXISTS jobs_status ON jobs(status, created);",
        )?;
        db.execute(
            "UPDATE jobs SET status = 'queued' WHERE status = 'running'",
            [],
        )?;
        Ok(Store { db: Mutex::new(db) })
    }

    fn db(&self) -> std::sync::MutexGuard<'_, Connection> {
        self.db.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Stores a request (committed when this returns).
    pub fn insert_request(&self, r: &StoredRequest) -> rusqlite::Result<()> {
        self.db().execute(
            "INSERT INTO requests (id, model, input_json, output_json, receipt_json, created)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![
                r.id,
                r.model,
                r.input_json,
                r.output_json,
                r.receipt_json,
                now()
            ],
        )?;
        Ok(())
    }

    /// A stored request.
    pub fn request(&self, id: &str) -> rusqlite::Result<Option<StoredRequest>> {
        self.db()
            .query_row(
                "SELECT id, model, input_json, output_json, receipt_json FROM requests WHERE id = ?1",
                [id],
                |row| {
                    Ok(StoredRequest {
                        id: row.get(0)?,
                        model: row.get(1)?,
                        input_json: row.get(2)?,
                        output_json: row.get(3)?,
                        receipt_json: row.get(4)?,
                    })
                },
            )
            .optional()
    }

    /// The job proving `request_id`, creating it (queued) if there is none; whether it is new.
    pub fn job_for_request(&self, request_id: &str, new_id: &str) -> rusqlite::Result<(Job, bool)> {
        let db = self.db();
        let inserted = db.execute(
            "INSERT OR IGNORE INTO jobs (id, request_id, status, created) VALUES (?1, ?2, 'queued', ?3)",
            params![new_id, request_id, now()],
        )? == 1;
        let job = db.query_row(
            &format!("SELECT {JOB_COLUMNS} FROM {JOB_FROM} WHERE jobs.request_id = ?1"),
            [request_id],
            job_row,
        )?;
        Ok((job, inserted))
    }

    /// A job by id.
    pub fn job(&self, id: &str) -> rusqlite::Result<Option<Job>> {
        self.db()
            .query_row(
                &format!("SELECT {JOB_COLUMNS} FROM {JOB_FROM} WHERE jobs.id = ?1"),
                [id],
                job_row,
            )
            .optional()
    }

    /// Takes the oldest queued job: marks it running and counts the attempt.
    pub fn claim(&self) -> rusqlite::Result<Option<Job>> {
        let mut db = self.db();
        let tx = db.transaction()?;
        let id: Option<String> = tx
            .query_row(
                "SELECT id FROM jobs WHERE status = 'queued' ORDER BY created LIMIT 1",
                [],
                |r| r.get(0),
            )
            .optional()?;
        let Some(id) = id else {
            return Ok(None);
        };
        tx.execute(
            "UPDATE jobs SET status = 'running', attempts = attempts + 1 WHERE id = ?1",
            [&id],
        )?;
        let job = tx.query_row(
            &format!("SELECT {JOB_COLUMNS} FROM {JOB_FROM} WHERE jobs.id = ?1"),
            [&id],
            job_row,
        )?;
        tx.commit()?;
        Ok(Some(job))
    }

    /// Records a finished job (its proof, or why it failed); only the first result counts.
    pub fn finish(
        &self,
        id: &str,
        result: Result<(String, f64), String>,
    ) -> rusqlite::Result<bool> {
        let db = self.db();
        let n = match result {
            Ok((proof, secs)) => db.execute(
                "UPDATE jobs SET status = 'done', proof_json = ?2, prove_seconds = ?3
                 WHERE id = ?1 AND status NOT IN ('done', 'failed')",
                params![id, proof, secs],
            )?,
            Err(e) => db.execute(
                "UPDATE jobs SET status = 'failed', error = ?2
                 WHERE id = ?1 AND status NOT IN ('done', 'failed')",
                params![id, e],
            )?,
        };
        Ok(n == 1)
    }

    /// Jobs not yet done or failed, oldest first.
    pub fn unfinished(&self) -> rusqlite::Result<Vec<Job>> {
        let db = self.db();
        let mut st = db.prepare(&format!(
            "SELECT {JOB_COLUMNS} FROM {JOB_FROM}
             WHERE jobs.status IN ('queued', 'running') ORDER BY jobs.created"
        ))?;
        let rows = st.query_map([], job_row)?;
        rows.collect()
    }

    /// Marks a queued job running (a remote worker started it).
    pub fn mark_running(&self, id: &str) -> rusqlite::Result<()> {
        self.db().execute(
            "UPDATE jobs SET status = 'running', attempts = attempts + 1 WHERE id = ?1 AND status = 'queued'",
            [id],
        )?;
        Ok(())
    }

    /// Jobs per state.
    pub fn counts(&self) -> rusqlite::Result<JobCounts> {
        let db = self.db();
        let mut st = db.prepare("SELECT status, COUNT(*) FROM jobs GROUP BY status")?;
        let mut c = JobCounts::default();
        for row in st.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))? {
            let (s, n) = row?;
            let n = n as u64;
            match s.as_str() {
                "queued" => c.queued = n,
                "running" => c.running = n,
                "done" => c.done = n,
                "failed" => c.failed = n,
                _ => {}
            }
        }
        Ok(c)
    }

    /// The number of stored requests.
    pub fn request_count(&self) -> rusqlite::Result<u64> {
        self.db()
            .query_row("SELECT COUNT(*) FROM requests", [], |r| r.get::<_, i64>(0))
            .map(|n| n as u64)
    }
}

/// A job's columns, with its request's model: the collector needs the model of every job in
/// flight on every tick (its segment count), and a join costs no second lookup per job.
const JOB_COLUMNS: &str = "jobs.id, jobs.request_id, jobs.status, jobs.proof_json, jobs.error, \
     jobs.prove_seconds, jobs.attempts, requests.model";
const JOB_FROM: &str = "jobs JOIN requests ON requests.id = jobs.request_id";

fn job_row(row: &rusqlite::Row) -> rusqlite::Result<Job> {
    Ok(Job {
        id: row.get(0)?,
        request_id: row.get(1)?,
        status: row.get(2)?,
        proof_json: row.get(3)?,
        error: row.get(4)?,
        prove_seconds: row.get(5)?,
        attempts: row.get(6)?,
        model: row.get(7)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(id: &str) -> StoredRequest {
        StoredRequest {
            id: id.into(),
            model: "m".into(),
            input_json: "{}".into(),
            output_json: "{}".into(),
            receipt_json: "{}".into(),
        }
    }

    #[test]
    fn jobs_survive_a_reopen_and_finish_once() {
        let dir = std::env::temp_dir().join(format!("zkinfer-store-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let s = Store::open(&dir).unwrap();
        s.insert_request(&req("a")).unwrap();
        assert!(s.insert_request(&req("a")).is_err());
        let (j, new) = s.job_for_request("a", "j1").unwrap();
        assert!(new && j.status == "queued");
        let (j2, new) = s.job_for_request("a", "j2").unwrap();
        assert!(!new && j2.id == "j1");
        let claimed = s.claim().unwrap().unwrap();
        assert_eq!((claimed.status.as_str(), claimed.attempts), ("running", 1));
        assert!(s.claim().unwrap().is_none());
        drop(s);
        // A restart queues the running job again.
        let s = Store::open(&dir).unwrap();
        assert_eq!(s.job("j1").unwrap().unwrap().status, "queued");
        let c = s.claim().unwrap().unwrap();
        assert_eq!(c.attempts, 2);
        assert!(s.finish("j1", Ok(("{}".into(), 1.5))).unwrap());
        assert!(!s.finish("j1", Err("late".into())).unwrap());
        let j = s.job("j1").unwrap().unwrap();
        assert_eq!((j.status.as_str(), j.prove_seconds), ("done", Some(1.5)));
        assert_eq!(s.counts().unwrap().done, 1);
        std::fs::remove_dir_all(&dir).ok();
    }
}
