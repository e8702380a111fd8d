//! Group commit: every write of a [`Store`](super::Store) goes through one writer thread
//! that owns one connection. It waits for the first queued write, takes what else is
//! queued (bounded), runs them all in ONE write transaction, commits once (one fsync / one
//! WAL flush for the whole group) and only then replies to each caller. A write is
//! therefore acknowledged only after the commit that holds it.
//!
//! A group first runs its writes one after another with no savepoints (on PostgreSQL a
//! savepoint and its release are two more round trips per write). Should one of them fail,
//! the transaction is rolled back and the group runs again with each write in its own
//! savepoint, so the failing write rolls back alone and gets its own error while the others
//! commit. Write bodies are therefore `FnMut`: a body may run twice, and only the run that
//! commits counts.
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
/// While writes arrive concurrently (the previous group held several), the writer waits this
/// long past the first write of a group for more to join it, as PostgreSQL's
/// `commit_delay` does: each commit costs an fsync and rewrites every page it touched, so
/// fewer, larger groups are cheaper per write. A lone writer never waits.
const COMMIT_DELAY: std::time::Duration = std::time::Duration::from_millis(1);

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
    /// Runs the write (again, after a rolled-back attempt); keeps its result for the
    /// reply. Ok = it may commit.
    fn run(&mut self, tx: &mut Tx<'_>) -> bool;
    /// Marks the write failed after it ran (its savepoint could not be released).
    fn fail(&mut self, msg: String);
    /// Replies: the write's own result when the group committed, else the group's error.
    fn reply(self: Box<Self>, committed: Result<(), &GroupFailure>);
}

/// Why a group did not commit: the message each of its writes gets, and whether the
/// database was out of reach (then the writes fail with [`StoreError::Unavailable`], which
/// the APIs answer with their 503 and clients retry).
struct GroupFailure {
    msg: String,
    unavailable: bool,
}

impl GroupFailure {
    fn error(&self) -> StoreError {
        if self.unavailable {
            StoreError::Unavailable(self.msg.clone())
        } else {
            StoreError::Write(self.msg.clone())
        }
    }
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
    F: FnMut(&mut Tx<'_>) -> Result<T, StoreError> + Send,
{
    fn rows(&self) -> usize {
        self.rows
    }

    fn run(&mut self, tx: &mut Tx<'_>) -> bool {
        let result = match self.body.as_mut() {
            Some(body) => body(tx),
            None => Err(StoreError::Write("write has no body".into())),
        };
        let ok = result.is_ok();
        self.result = Some(result);
        ok
    }

    fn fail(&mut self, msg: String) {
        self.result = Some(Err(StoreError::Write(msg)));
    }

    fn reply(self: Box<Self>, committed: Result<(), &GroupFailure>) {
        let result = match (committed, self.result) {
            (Ok(()), Some(result)) => result,
            // its own failure stands even when the group failed too
            (_, Some(Err(e))) => Err(e),
            (Err(failure), _) => Err(failure.error()),
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
    /// call back into the store (the writer thread would wait on itself), and may run more
    /// than once (only its last run, the one that commits, counts).
    pub(crate) fn write<T, F>(&self, rows: usize, body: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnMut(&mut Tx<'_>) -> Result<T, StoreError> + Send + 'static,
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
    F: FnMut(&mut Tx<'_>) -> Result<T, StoreError> + Send + 'static,
{
    let (reply, answer) = mpsc::sync_channel(1);
    (Box::new(Pending { body: Some(body), rows: rows.max(1), result: None, reply }), answer)
}

fn writer_loop(jobs: Receiver<Box<dyn Job>>, mut connect: impl FnMut() -> Result<AnyConnection, StoreError>) {
    let mut conn: Option<AnyConnection> = None;
    let mut concurrent = false;
    // blocks for the first write of each group; ends when every Store handle is gone
    while let Ok(first) = jobs.recv() {
        let deadline = std::time::Instant::now() + COMMIT_DELAY;
        let mut rows = first.rows();
        let mut group = vec![first];
        while group.len() < MAX_GROUP_WRITES && rows < MAX_GROUP_ROWS {
            let next = match jobs.try_recv() {
                Ok(job) => Some(job),
                Err(_) if concurrent => jobs
                    .recv_timeout(deadline.saturating_duration_since(std::time::Instant::now()))
                    .ok(),
                Err(_) => None,
            };
            match next {
                Some(job) => {
                    rows += job.rows();
                    group.push(job);
                }
                None => break,
            }
        }
        concurrent = group.len() > 1;
        // a group that could not begin on a connection that was fine before gets one more
        // try on a new connection (nothing of it ran)
        let mut pending = Some(group);
        let mut attempts = 0;
        while let Some(group) = pending.take() {
            attempts += 1;
            if conn.is_none() {
                match connect() {
                    Ok(c) => conn = Some(c),
                    Err(e) => {
                        tracing::warn!(error = %e, writes = group.len(), "store writer cannot connect");
                        let failure = GroupFailure { msg: e.to_string(), unavailable: true };
                        group.into_iter().for_each(|job| job.reply(Err(&failure)));
                        break;
                    }
                }
            }
            let c = conn.as_mut().expect("connected above");
            // a panicking write drops the group unanswered (its callers get an error) and the
            // connection with its open transaction
            match catch_unwind(AssertUnwindSafe(|| commit_group(c, group))) {
                Ok(Ok(())) => {}
                Ok(Err(GroupError::NotBegun(group, e))) => {
                    let broken = r2d2_broken(c);
                    if broken {
                        conn = None;
                    }
                    if broken && attempts == 1 {
                        tracing::info!(error = %e, "store writer connection lost; reconnecting");
                        pending = Some(group);
                    } else {
                        let unavailable = broken || super::model::database_out_of_reach(&e);
                        let failure = GroupFailure { msg: e.to_string(), unavailable };
                        tracing::error!(error = %failure.msg, writes = group.len(), "store write group could not begin");
                        group.into_iter().for_each(|job| job.reply(Err(&failure)));
                    }
                }
                Ok(Err(GroupError::Failed)) => {
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
}

fn r2d2_broken(c: &mut AnyConnection) -> bool {
    diesel::r2d2::R2D2Connection::ping(c).is_err()
}

/// Begins the group's write transaction: `BEGIN IMMEDIATE` on SQLite (the write lock up
/// front, so another process writing the file makes it wait on `busy_timeout` instead of
/// failing mid-transaction), a plain `BEGIN` on PostgreSQL.
fn begin(conn: &mut AnyConnection) -> QueryResult<()> {
    match conn {
        AnyConnection::Sqlite(c) => AnsiTransactionManager::begin_transaction_sql(c, "BEGIN IMMEDIATE"),
        AnyConnection::Postgresql(c) => AnsiTransactionManager::begin_transaction(c),
    }
}

/// How a group went when it did not commit.
enum GroupError {
    /// `BEGIN` failed: nothing ran and no write was answered (a connection gone stale, say
    /// when the database restarted while the writer was idle), so the group may be retried.
    NotBegun(Vec<Box<dyn Job>>, diesel::result::Error),
    /// The transaction failed after it began; every write was told so.
    Failed,
}

/// Runs one group in one transaction and replies to every write in it (except when it
/// could not even begin, see [`GroupError::NotBegun`]).
fn commit_group(conn: &mut AnyConnection, mut group: Vec<Box<dyn Job>>) -> Result<(), GroupError> {
    // the group's transaction failed: tell every write, as unavailable when the
    // connection is gone (a ping fails)
    let fail_all = |conn: &mut AnyConnection, group: Vec<Box<dyn Job>>, e: &dyn std::fmt::Display| {
        let failure = GroupFailure { msg: e.to_string(), unavailable: r2d2_broken(conn) };
        tracing::error!(error = %failure.msg, unavailable = failure.unavailable, writes = group.len(), "store write group failed");
        group.into_iter().for_each(|job| job.reply(Err(&failure)));
    };
    if let Err(e) = begin(conn) {
        return Err(GroupError::NotBegun(group, e));
    }
    // first attempt: every write straight in the transaction
    let mut touched = BTreeSet::new();
    let all_ok = group.iter_mut().all(|job| {
        let mut tx = Tx { conn: &mut *conn, touched: Vec::new() };
        let ok = job.run(&mut tx);
        touched.extend(tx.touched);
        ok
    });
    let mut any_ok = all_ok;
    if !all_ok {
        // a write failed (on PostgreSQL the transaction is now aborted): start over, each
        // write in its own savepoint. A single write's failure is its own answer.
        if let Err(e) = <AnyConnection as Connection>::TransactionManager::rollback_transaction(conn) {
            fail_all(conn, group, &e);
            return Err(GroupError::Failed);
        }
        if group.len() == 1 {
            group.into_iter().for_each(|job| job.reply(Ok(())));
            return Ok(());
        }
        if let Err(e) = begin(conn) {
            fail_all(conn, group, &e);
            return Err(GroupError::Failed);
        }
        touched.clear();
        any_ok = false;
        for job in group.iter_mut() {
            any_ok |= run_in_savepoint(conn, job.as_mut(), &mut touched);
        }
    }
    let finish = if any_ok {
        bump_runs(conn, &touched).and_then(|()| <AnyConnection as Connection>::TransactionManager::commit_transaction(conn))
    } else {
        // nothing to keep: every write failed on its own
        <AnyConnection as Connection>::TransactionManager::rollback_transaction(conn)
    };
    match finish {
        Ok(()) => {
            tracing::trace!(
                writes = group.len(),
                rows = group.iter().map(|j| j.rows()).sum::<usize>(),
                "store write group committed"
            );
            group.into_iter().for_each(|job| job.reply(Ok(())));
            Ok(())
        }
        Err(e) => {
            let _ = <AnyConnection as Connection>::TransactionManager::rollback_transaction(conn);
            fail_all(conn, group, &e);
            Err(GroupError::Failed)
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
        assert!(commit_group(&mut conn, vec![a, b, c, d]).is_ok());
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
        assert!(commit_group(&mut conn, vec![e]).is_ok());
        assert!(re.recv().unwrap().is_err());
        assert_eq!(keys(&mut conn, id), ["a", "d"]);
    }

    /// A group with no failing write runs each body once; a group with one runs the others
    /// again (each in a savepoint) and only their second run is kept.
    fn bodies_rerun_only_when_a_write_fails(url: &str) {
        use std::sync::atomic::{AtomicUsize, Ordering};
        use std::sync::Arc;
        let store = Store::open(url).unwrap();
        let id = store.ensure_run("t", "rerun", "test").unwrap().id;
        let mut conn = store.conn().unwrap();
        let counted = |key: &'static str, runs: Arc<AtomicUsize>| {
            pending(1, move |tx: &mut Tx<'_>| {
                let n = runs.fetch_add(1, Ordering::SeqCst) + 1;
                crate::store::scalars::insert_scalars(tx.conn, &[row(id, key)])?;
                Ok::<usize, StoreError>(n)
            })
        };
        let (ra, rb) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
        let ((a, answer_a), (b, answer_b)) = (counted("a", ra.clone()), counted("b", rb.clone()));
        assert!(commit_group(&mut conn, vec![a, b]).is_ok());
        assert_eq!(
            (
                answer_a.recv().unwrap().unwrap(),
                answer_b.recv().unwrap().unwrap()
            ),
            (1, 1)
        );

        let (rc, rd) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
        let ((c, answer_c), (d, answer_d)) = (counted("c", rc.clone()), counted("d", rd.clone()));
        let (bad, answer_bad) = pending(1, move |tx: &mut Tx<'_>| {
            crate::store::scalars::insert_scalars(tx.conn, &[row(id + 1000, "x")])
        });
        assert!(commit_group(&mut conn, vec![c, bad, d]).is_ok());
        // c ran before the failure and again in its savepoint; d only in its savepoint
        assert_eq!(answer_c.recv().unwrap().unwrap(), 2);
        assert_eq!(answer_d.recv().unwrap().unwrap(), 1);
        assert!(matches!(
            answer_bad.recv().unwrap(),
            Err(StoreError::Query(_))
        ));
        assert_eq!(keys(&mut conn, id), ["a", "b", "c", "d"]);
    }

    #[test]
    fn bodies_rerun_only_when_a_write_fails_sqlite() {
        let path = testdb::fresh_sqlite_path();
        bodies_rerun_only_when_a_write_fails(path.to_str().unwrap());
    }

    #[test]
    fn bodies_rerun_only_when_a_write_fails_postgres() {
        match testdb::probe_postgres() {
            Ok(admin) => {
                let url = testdb::fresh_postgres_database(&admin).unwrap();
                bodies_rerun_only_when_a_write_fails(&url);
                testdb::drop_postgres_database(&admin, &url).unwrap();
            }
            Err(reason) if std::env::var_os("CI").is_some() => {
                panic!("PostgreSQL is required in CI: {reason}")
            }
            Err(reason) => eprintln!("SKIP postgres: {reason}"),
        }
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

    /// A database out of reach fails each write as unavailable (the APIs' 503), and the
    /// writer connects again for the next write once it is back.
    #[test]
    fn an_unreachable_database_is_unavailable_until_it_answers() {
        let path = testdb::fresh_sqlite_path();
        let url = path.to_str().unwrap().to_string();
        let run_id = Store::open(&url).unwrap().ensure_run("t", "r", "test").unwrap().id;
        let reachable = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let r = reachable.clone();
        let committer = Committer::start(move || {
            if !r.load(std::sync::atomic::Ordering::SeqCst) {
                return Err(StoreError::Connection(diesel::ConnectionError::BadConnection("connection refused".into())));
            }
            let mut c = diesel::sqlite::SqliteConnection::establish(&url).unwrap();
            // (the store that made the run may still be closing its connections)
            diesel::connection::SimpleConnection::batch_execute(&mut c, "PRAGMA busy_timeout = 5000").unwrap();
            Ok(AnyConnection::Sqlite(c))
        })
        .unwrap();
        let write = || committer.write(1, move |tx| crate::store::scalars::insert_scalars(tx.conn, &[row(run_id, "k")]));
        let e = write().unwrap_err();
        assert!(matches!(e, StoreError::Unavailable(_)) && e.is_unavailable(), "{e:?}");
        reachable.store(true, std::sync::atomic::Ordering::SeqCst);
        assert_eq!(write().unwrap(), 1);
    }
}
