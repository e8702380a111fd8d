//! Group commit: every write of a [`Store`](super::Store) goes through one writer thread
//! that owns one connection. It waits for the first queued write, takes what else is
//! queued (bounded), runs them all in ONE write transaction (each in its own savepoint
//! when there are several, so a failing write rolls back alone and gets its own error),
//! commits once (one fsync / one WAL flush for the whole group) and only then replies to
//! each caller. A write is therefore acknowledged only after the commit that holds it.
//!
//! Callers stay synchronous: [`Committer::write`] queues the write and blocks until its
//! reply. Encoding (row structs, JSON text) happens in the caller's thread before queueing,
//! so the writer thread does database work only.

use std::collections::BTreeSet;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::mpsc::{self, Receiver, SyncSender};

use diesel::connection::{AnsiTransactionManager, TransactionManager};
use diesel::prelude::*;

use super::connection::AnyConnection;
use super::model::StoreError;
use super::now_us;
use super::schema::runs;

/// Writes waiting for the writer before callers block on queueing.
const QUEUE_CAPACITY: usize = 1024;
/// At most this many writes share one transaction…
const MAX_GROUP_WRITES: usize = 256;
/// …and at most about this many rows (a group stops growing once it reaches it).
const MAX_GROUP_ROWS: usize = 20_000;

/// The transaction a write runs in: its connection, and the runs whose `updated_us` the
/// write bumps (done once per group, at commit time).
pub(crate) struct Tx<'a> {
    pub(crate) conn: &'a mut AnyConnection,
    touched: Vec<i64>,
}

impl Tx<'_> {
    /// Bump run `run_id`'s `updated_us` when this write commits.
    pub(crate) fn touch(&mut self, run_id: i64) {
        self.touched.push(run_id);
    }
}

/// One queued write, type-erased: runs in the group's transaction, then is told how the
/// commit went and replies to its caller.
trait Job: Send {
    /// Rows it writes (bounds the size of a group).
    fn rows(&self) -> usize;
    /// Runs the write; keeps its result for the reply. Ok = it may commit.
    fn run(&mut self, tx: &mut Tx<'_>) -> bool;
    /// Marks the write failed after it ran (its savepoint could not be released).
    fn fail(&mut self, msg: String);
    /// Replies: the write's own result when the group committed, else the group's error.
    fn reply(self: Box<Self>, committed: Result<(), &str>);
}

struct Pending<T, F> {
    body: Option<F>,
    rows: usize,
    result: Option<Result<T, StoreError>>,
    reply: SyncSender<Result<T, StoreError>>,
}

impl<T, F> Job for Pending<T, F>
where
    T: Send,
    F: FnOnce(&mut Tx<'_>) -> Result<T, StoreError> + Send,
{
    fn rows(&self) -> usize {
        self.rows
    }

    fn run(&mut self, tx: &mut Tx<'_>) -> bool {
        let result = match self.body.take() {
            Some(body) => body(tx),
            None => Err(StoreError::Write("write ran twice".into())),
        };
        let ok = result.is_ok();
        self.result = Some(result);
        ok
    }

    fn fail(&mut self, msg: String) {
        self.result = Some(Err(StoreError::Write(msg)));
    }

    fn reply(self: Box<Self>, committed: Result<(), &str>) {
        let result = match (committed, self.result) {
            (Ok(()), Some(result)) => result,
            // its own failure stands even when the group failed too
            (_, Some(Err(e))) => Err(e),
            (Err(e), _) => Err(StoreError::Write(e.to_string())),
            (Ok(()), None) => Err(StoreError::Write("write did not run".into())),
        };
        // the caller may have gone (its thread panicked): nothing to tell then
        let _ = self.reply.send(result);
    }
}

/// The queue into a store's writer thread. The thread ends when the last handle is dropped.
#[derive(Clone)]
pub(crate) struct Committer {
    queue: SyncSender<Box<dyn Job>>,
}

impl Committer {
    /// Starts the writer thread; `connect` opens (and reopens after a failure) its connection.
    pub(crate) fn start(
        connect: impl FnMut() -> Result<AnyConnection, StoreError> + Send + 'static,
    ) -> Result<Committer, StoreError> {
        let (queue, jobs) = mpsc::sync_channel(QUEUE_CAPACITY);
        std::thread::Builder::new()
            .name("specmill-writer".into())
            .spawn(move || writer_loop(jobs, connect))
            .map_err(|e| StoreError::Write(format!("cannot start the writer thread: {e}")))?;
        Ok(Committer { queue })
    }

    /// Runs `body` in the next group's transaction and returns its result once that
    /// transaction has committed. `rows` is about how many rows it writes. `body` must not
    /// call back into the store (the writer thread would wait on itself).
    pub(crate) fn write<T, F>(&self, rows: usize, body: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Tx<'_>) -> Result<T, StoreError> + Send + 'static,
    {
        let (job, answer) = pending(rows, body);
        self.queue.send(job).map_err(|_| StoreError::Write("the store writer has stopped".into()))?;
        answer.recv().map_err(|_| StoreError::Write("the store writer dropped the write".into()))?
    }
}

/// A write as the writer thread takes it, and where its reply arrives.
fn pending<T, F>(rows: usize, body: F) -> (Box<dyn Job>, Receiver<Result<T, StoreError>>)
where
    T: Send + 'static,
    F: FnOnce(&mut Tx<'_>) -> Result<T, StoreError> + Send + 'static,
{
    let (reply, answer) = mpsc::sync_channel(1);
    (Box::new(Pending { body: Some(body), rows: rows.max(1), result: None, reply }), answer)
}

fn writer_loop(jobs: Receiver<Box<dyn Job>>, mut connect: impl FnMut() -> Result<AnyConnection, StoreError>) {
    let mut conn: Option<AnyConnection> = None;
    // blocks for the first write of each group; ends when every Store handle is gone
    while let Ok(first) = jobs.recv() {
        let mut rows = first.rows();
        let mut group = vec![first];
        while group.len() < MAX_GROUP_WRITES && rows < MAX_GROUP_ROWS {
            match jobs.try_recv() {
                Ok(job) => {
                    rows += job.rows();
                    group.push(job);
                }
                Err(_) => break,
            }
        }
        if conn.is_none() {
            match connect() {
                Ok(c) => conn = Some(c),
                Err(e) => {
                    tracing::error!(error = %e, "store writer cannot connect");
                    let msg = e.to_string();
                    group.into_iter().for_each(|job| job.reply(Err(&msg)));
                    continue;
                }
            }
        }
        let c = conn.as_mut().expect("connected above");
        // a panicking write drops the group unanswered (its callers get an error) and the
        // connection with its open transaction
        match catch_unwind(AssertUnwindSafe(|| commit_group(c, group))) {
            Ok(Ok(())) => {}
            Ok(Err(())) => {
                if r2d2_broken(c) {
                    conn = None;
                }
            }
            Err(_) => {
                tracing::error!("a store write panicked; its group was rolled back");
                conn = None;
            }
        }
    }
}

fn r2d2_broken(c: &mut AnyConnection) -> bool {
    diesel::r2d2::R2D2Connection::ping(c).is_err()
}

/// Begins the group's write transaction: `BEGIN IMMEDIATE` on SQLite (the write lock up
/// front, as [`write_tx!`] does), a plain `BEGIN` on PostgreSQL.
fn begin(conn: &mut AnyConnection) -> QueryResult<()> {
    match conn {
        AnyConnection::Sqlite(c) => AnsiTransactionManager::begin_transaction_sql(c, "BEGIN IMMEDIATE"),
        AnyConnection::Postgresql(c) => AnsiTransactionManager::begin_transaction(c),
    }
}

/// Runs one group in one transaction and replies to every write in it. Err(()) when the
/// transaction itself failed (every write was told so).
fn commit_group(conn: &mut AnyConnection, group: Vec<Box<dyn Job>>) -> Result<(), ()> {
    let fail_all = |group: Vec<Box<dyn Job>>, e: &dyn std::fmt::Display| {
        let msg = e.to_string();
        tracing::error!(error = %msg, writes = group.len(), "store write group failed");
        group.into_iter().for_each(|job| job.reply(Err(&msg)));
    };
    if let Err(e) = begin(conn) {
        fail_all(group, &e);
        return Err(());
    }
    let single = group.len() == 1;
    let mut touched = BTreeSet::new();
    let mut group = group;
    let mut any_ok = false;
    for job in group.iter_mut() {
        let ok = if single {
            // the transaction is the write's own: no savepoint needed
            let mut tx = Tx { conn: &mut *conn, touched: Vec::new() };
            let ok = job.run(&mut tx);
            if ok {
                touched.extend(tx.touched);
            }
            ok
        } else {
            run_in_savepoint(conn, job.as_mut(), &mut touched)
        };
        any_ok |= ok;
    }
    let finish = if any_ok {
        bump_runs(conn, &touched).and_then(|()| <AnyConnection as Connection>::TransactionManager::commit_transaction(conn))
    } else {
        // nothing to keep: every write failed on its own
        <AnyConnection as Connection>::TransactionManager::rollback_transaction(conn)
    };
    match finish {
        Ok(()) => {
            tracing::trace!(writes = group.len(), "store write group committed");
            group.into_iter().for_each(|job| job.reply(Ok(())));
            Ok(())
        }
        Err(e) => {
            let _ = <AnyConnection as Connection>::TransactionManager::rollback_transaction(conn);
            fail_all(group, &e);
            Err(())
        }
    }
}

/// Runs one write of a group in its own savepoint: released when it succeeds, rolled back
/// (alone) when it fails.
fn run_in_savepoint(conn: &mut AnyConnection, job: &mut dyn Job, touched: &mut BTreeSet<i64>) -> bool {
    let outcome = conn.transaction::<Vec<i64>, SavepointAbort, _>(|c| {
        let mut tx = Tx { conn: c, touched: Vec::new() };
        if job.run(&mut tx) {
            Ok(tx.touched)
        } else {
            Err(SavepointAbort::Job)
        }
    });
    match outcome {
        Ok(t) => {
            touched.extend(t);
            true
        }
        Err(SavepointAbort::Job) => false,
        Err(SavepointAbort::Db(e)) => {
            // the savepoint itself failed (SAVEPOINT/RELEASE): the write does not count
            tracing::warn!(error = %e, "savepoint of a grouped write failed");
            job.fail(format!("savepoint failed: {e}"));
            false
        }
    }
}

enum SavepointAbort {
    Job,
    Db(diesel::result::Error),
}

impl From<diesel::result::Error> for SavepointAbort {
    fn from(e: diesel::result::Error) -> Self {
        SavepointAbort::Db(e)
    }
}

/// Sets `updated_us` of the runs the group's writes touched, in one statement per 500.
fn bump_runs(conn: &mut AnyConnection, touched: &BTreeSet<i64>) -> QueryResult<()> {
    if touched.is_empty() {
        return Ok(());
    }
    let now = now_us();
    let ids: Vec<i64> = touched.iter().copied().collect();
    for chunk in ids.chunks(super::INSERT_CHUNK) {
        diesel::update(runs::table.filter(runs::id.eq_any(chunk))).set(runs::updated_us.eq(now)).execute(conn)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::model::NewScalar;
    use crate::store::scalars::NewScalarRow;
    use crate::store::schema::scalars;
    use crate::store::{testdb, Store};

    fn row(run_id: i64, key: &str) -> NewScalarRow {
        NewScalarRow::new(
            run_id,
            &NewScalar {
                metric: "m".into(),
                variant: String::new(),
                step: Some(1),
                ts_us: 1,
                value: 1.0,
                source: "test".into(),
                point_key: key.into(),
                extra: None,
            },
        )
        .unwrap()
    }

    fn keys(conn: &mut AnyConnection, run_id: i64) -> Vec<String> {
        scalars::table.filter(scalars::run_id.eq(run_id)).select(scalars::point_key).order(scalars::point_key).load(conn).unwrap()
    }

    /// One group of four writes: the second writes a row and then fails, the third fails on
    /// the database (unknown run): each rolls back alone with its own error; the others
    /// commit, in one transaction, and the touched run is bumped.
    fn a_failing_write_rolls_back_alone(url: &str) {
        let store = Store::open(url).unwrap();
        let run = store.ensure_run("t", "group", "test").unwrap();
        let id = run.id;
        let mut conn = store.conn().unwrap();
        let (a, ra) = pending(1, move |tx: &mut Tx<'_>| {
            tx.touch(id);
            crate::store::scalars::insert_scalars(tx.conn, &[row(id, "a")])
        });
        let (b, rb) = pending(1, move |tx: &mut Tx<'_>| {
            crate::store::scalars::insert_scalars(tx.conn, &[row(id, "b")])?;
            Err::<usize, _>(StoreError::Write("refused by the write itself".into()))
        });
        let (c, rc) = pending(1, move |tx: &mut Tx<'_>| crate::store::scalars::insert_scalars(tx.conn, &[row(id + 1000, "c")]));
        let (d, rd) = pending(1, move |tx: &mut Tx<'_>| crate::store::scalars::insert_scalars(tx.conn, &[row(id, "d")]));
        assert_eq!(commit_group(&mut conn, vec![a, b, c, d]), Ok(()));
        assert_eq!(ra.recv().unwrap().unwrap(), 1);
        assert!(matches!(rb.recv().unwrap(), Err(StoreError::Write(m)) if m.contains("refused")));
        assert!(matches!(rc.recv().unwrap(), Err(StoreError::Query(_))));
        assert_eq!(rd.recv().unwrap().unwrap(), 1);
        assert_eq!(keys(&mut conn, id), ["a", "d"]);
        assert!(store.run_by_id("t", id).unwrap().unwrap().updated_us > run.updated_us);

        // a group whose every write fails commits nothing and answers each its own error
        let (e, re) = pending(1, move |tx: &mut Tx<'_>| {
            crate::store::scalars::insert_scalars(tx.conn, &[row(id, "e")])?;
            Err::<usize, _>(StoreError::Write("no".into()))
        });
        assert_eq!(commit_group(&mut conn, vec![e]), Ok(()));
        assert!(re.recv().unwrap().is_err());
        assert_eq!(keys(&mut conn, id), ["a", "d"]);
    }

    #[test]
    fn a_failing_write_rolls_back_alone_sqlite() {
        let path = testdb::fresh_sqlite_path();
        a_failing_write_rolls_back_alone(path.to_str().unwrap());
    }

    #[test]
    fn a_failing_write_rolls_back_alone_postgres() {
        match testdb::probe_postgres() {
            Ok(admin) => {
                let url = testdb::fresh_postgres_database(&admin).unwrap();
                a_failing_write_rolls_back_alone(&url);
                testdb::drop_postgres_database(&admin, &url).unwrap();
            }
            Err(reason) if std::env::var_os("CI").is_some() => panic!("PostgreSQL is required in CI: {reason}"),
            Err(reason) => eprintln!("SKIP postgres: {reason}"),
        }
    }
}
