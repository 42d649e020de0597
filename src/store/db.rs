//! One SQL connection, to the SQLite file of a data folder or to a PostgreSQL server
//! (`KENNZAHL_DATABASE_URL=postgres://…`), behind the few calls the catalogue and the staff
//! records make. Their SQL is written once, in the dialect both understand: `?1`-style
//! parameters (sent to PostgreSQL as `$1`), `RETURNING id`, `ON CONFLICT … DO UPDATE`, 64-bit
//! integers, doubles and text. Only the schemas differ (see `catalog` and `staff`).
//!
//! PostgreSQL is spoken through the `postgres` crate, whose calls run a runtime of their own
//! and must not be made from a thread of the server's; so each PostgreSQL connection lives on
//! a thread of its own and the calls are handed to it. Connections use TLS as the URL's
//! `sslmode` asks (see [`tls_connector`]).

use std::fmt;
use std::sync::mpsc;

/// A value going into or coming out of SQL.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Null,
    Int(i64),
    Real(f64),
    Text(String),
}

/// Why a statement failed.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error("SQLite: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("PostgreSQL: {0}")]
    Postgres(String),
    #[error("kein Ergebnis / no row")]
    NoRow,
    #[error(
        "Spalte {column}: {found} statt {wanted} / column {column}: {found} instead of {wanted}"
    )]
    Type {
        column: usize,
        wanted: &'static str,
        found: String,
    },
}

impl DbError {
    /// Whether the statement broke a unique key (two writers wanted the same revision number,
    /// say): the caller may try again.
    pub fn is_conflict(&self) -> bool {
        match self {
            DbError::Sqlite(rusqlite::Error::SqliteFailure(e, _)) => {
                e.code == rusqlite::ErrorCode::ConstraintViolation
            }
            DbError::Postgres(m) => m.contains("duplicate key"),
            _ => false,
        }
    }
}

/// Something that can be a parameter.
pub trait ToValue {
    fn to_value(&self) -> Value;
}

impl ToValue for Value {
    fn to_value(&self) -> Value {
        self.clone()
    }
}
impl ToValue for i64 {
    fn to_value(&self) -> Value {
        Value::Int(*self)
    }
}
impl ToValue for i32 {
    fn to_value(&self) -> Value {
        Value::Int(*self as i64)
    }
}
impl ToValue for u32 {
    fn to_value(&self) -> Value {
        Value::Int(*self as i64)
    }
}
impl ToValue for usize {
    fn to_value(&self) -> Value {
        Value::Int(*self as i64)
    }
}
impl ToValue for bool {
    fn to_value(&self) -> Value {
        Value::Int(*self as i64)
    }
}
impl ToValue for f64 {
    fn to_value(&self) -> Value {
        Value::Real(*self)
    }
}
impl ToValue for str {
    fn to_value(&self) -> Value {
        Value::Text(self.to_string())
    }
}
impl ToValue for String {
    fn to_value(&self) -> Value {
        Value::Text(self.clone())
    }
}
impl<T: ToValue + ?Sized> ToValue for &T {
    fn to_value(&self) -> Value {
        (**self).to_value()
    }
}
impl<T: ToValue> ToValue for Option<T> {
    fn to_value(&self) -> Value {
        self.as_ref().map_or(Value::Null, ToValue::to_value)
    }
}

/// The parameters of a statement: `params![a, b, c]`.
#[macro_export]
macro_rules! params {
    ($($x:expr),* $(,)?) => {
        &[$($crate::store::db::ToValue::to_value(&$x)),*] as &[$crate::store::db::Value]
    };
}
pub use crate::params;

/// A row of a result.
#[derive(Debug, Clone)]
pub struct Row(Vec<Value>);

/// Something a column can be read as.
pub trait FromValue: Sized {
    fn from_value(v: &Value, column: usize) -> Result<Self, DbError>;
}

fn wrong(column: usize, wanted: &'static str, v: &Value) -> DbError {
    DbError::Type {
        column,
        wanted,
        found: format!("{v:?}"),
    }
}

impl FromValue for i64 {
    fn from_value(v: &Value, column: usize) -> Result<Self, DbError> {
        match v {
            Value::Int(n) => Ok(*n),
            _ => Err(wrong(column, "integer", v)),
        }
    }
}
impl FromValue for i32 {
    fn from_value(v: &Value, column: usize) -> Result<Self, DbError> {
        match v {
            Value::Int(n) => i32::try_from(*n).map_err(|_| wrong(column, "i32", v)),
            _ => Err(wrong(column, "integer", v)),
        }
    }
}
impl FromValue for bool {
    fn from_value(v: &Value, column: usize) -> Result<Self, DbError> {
        match v {
            Value::Int(n) => Ok(*n != 0),
            _ => Err(wrong(column, "boolean", v)),
        }
    }
}
impl FromValue for f64 {
    fn from_value(v: &Value, column: usize) -> Result<Self, DbError> {
        match v {
            Value::Real(x) => Ok(*x),
            Value::Int(n) => Ok(*n as f64),
            _ => Err(wrong(column, "number", v)),
        }
    }
}
impl FromValue for String {
    fn from_value(v: &Value, column: usize) -> Result<Self, DbError> {
        match v {
            Value::Text(s) => Ok(s.clone()),
            _ => Err(wrong(column, "text", v)),
        }
    }
}
impl<T: FromValue> FromValue for Option<T> {
    fn from_value(v: &Value, column: usize) -> Result<Self, DbError> {
        match v {
            Value::Null => Ok(None),
            v => T::from_value(v, column).map(Some),
        }
    }
}

impl Row {
    /// Column `i` as `T`.
    pub fn get<T: FromValue>(&self, i: usize) -> Result<T, DbError> {
        T::from_value(self.0.get(i).unwrap_or(&Value::Null), i)
    }
}

/// Which database a connection speaks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    Sqlite,
    Postgres,
}

/// One connection.
pub enum Db {
    Sqlite(rusqlite::Connection),
    Postgres(Pg),
}

impl fmt::Debug for Db {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Db({:?})", self.dialect())
    }
}

impl Db {
    /// The SQLite file at `path`, in WAL mode with full syncs.
    pub fn sqlite(path: &std::path::Path) -> Result<Db, DbError> {
        let conn = rusqlite::Connection::open(path)?;
        conn.busy_timeout(std::time::Duration::from_secs(10))?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "FULL")?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        Ok(Db::Sqlite(conn))
    }

    /// The SQLite file at `path` as it is (no mode or setting changed): for reading a data
    /// folder another process may be using.
    pub fn sqlite_as_is(path: &std::path::Path) -> Result<Db, DbError> {
        let conn = rusqlite::Connection::open_with_flags(
            path,
            rusqlite::OpenFlags::SQLITE_OPEN_READ_WRITE | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?;
        conn.busy_timeout(std::time::Duration::from_secs(10))?;
        Ok(Db::Sqlite(conn))
    }

    /// A connection to the PostgreSQL server at `url` (`postgres://user:password@host/db`).
    /// `sslmode=verify-ca` and `verify-full` (as providers write them) mean `require` here:
    /// the certificate is always checked (see [`tls_connector`]).
    pub fn postgres(url: &str) -> Result<Db, DbError> {
        Pg::connect(&client_url(url)).map(Db::Postgres)
    }

    pub fn dialect(&self) -> Dialect {
        match self {
            Db::Sqlite(_) => Dialect::Sqlite,
            Db::Postgres(_) => Dialect::Postgres,
        }
    }

    /// The underlying SQLite connection, for what only SQLite has (`VACUUM INTO`).
    pub fn as_sqlite(&self) -> Option<&rusqlite::Connection> {
        match self {
            Db::Sqlite(c) => Some(c),
            Db::Postgres(_) => None,
        }
    }

    /// Runs statements without parameters, separated by `;`.
    pub fn execute_batch(&self, sql: &str) -> Result<(), DbError> {
        match self {
            Db::Sqlite(c) => Ok(c.execute_batch(sql)?),
            Db::Postgres(pg) => pg.call(Job::Batch(sql.to_string())).map(|_| ()),
        }
    }

    /// Runs one statement; the number of rows it changed.
    pub fn execute(&self, sql: &str, params: &[Value]) -> Result<u64, DbError> {
        match self {
            Db::Sqlite(c) => {
                let mut stmt = c.prepare_cached(sql)?;
                Ok(
                    stmt.execute(rusqlite::params_from_iter(params.iter().map(SqliteValue)))?
                        as u64,
                )
            }
            Db::Postgres(pg) => pg
                .call(Job::Execute(to_dollars(sql), params.to_vec()))
                .map(|r| match r {
                    Reply::Changed(n) => n,
                    _ => 0,
                }),
        }
    }

    /// Runs a query; all its rows.
    pub fn query(&self, sql: &str, params: &[Value]) -> Result<Vec<Row>, DbError> {
        match self {
            Db::Sqlite(c) => {
                let mut stmt = c.prepare_cached(sql)?;
                let width = stmt.column_count();
                let rows = stmt.query_map(
                    rusqlite::params_from_iter(params.iter().map(SqliteValue)),
                    |r| {
                        (0..width)
                            .map(|i| {
                                Ok(match r.get_ref(i)? {
                                    rusqlite::types::ValueRef::Null => Value::Null,
                                    rusqlite::types::ValueRef::Integer(n) => Value::Int(n),
                                    rusqlite::types::ValueRef::Real(x) => Value::Real(x),
                                    rusqlite::types::ValueRef::Text(t) => {
                                        Value::Text(String::from_utf8_lossy(t).into_owned())
                                    }
                                    rusqlite::types::ValueRef::Blob(b) => {
                                        Value::Text(String::from_utf8_lossy(b).into_owned())
                                    }
                                })
                            })
                            .collect::<Result<Vec<Value>, rusqlite::Error>>()
                            .map(Row)
                    },
                )?;
                Ok(rows.collect::<Result<_, _>>()?)
            }
            Db::Postgres(pg) => match pg.call(Job::Query(to_dollars(sql), params.to_vec()))? {
                Reply::Rows(rows) => Ok(rows),
                _ => Ok(Vec::new()),
            },
        }
    }

    /// Each row of a query through `f`.
    pub fn query_map<T>(
        &self,
        sql: &str,
        params: &[Value],
        f: impl Fn(&Row) -> Result<T, DbError>,
    ) -> Result<Vec<T>, DbError> {
        self.query(sql, params)?.iter().map(f).collect()
    }

    /// The first row of a query through `f`, or `None`.
    pub fn query_opt<T>(
        &self,
        sql: &str,
        params: &[Value],
        f: impl FnOnce(&Row) -> Result<T, DbError>,
    ) -> Result<Option<T>, DbError> {
        self.query(sql, params)?.first().map(f).transpose()
    }

    /// The first row of a query through `f`; an error without one.
    pub fn query_row<T>(
        &self,
        sql: &str,
        params: &[Value],
        f: impl FnOnce(&Row) -> Result<T, DbError>,
    ) -> Result<T, DbError> {
        self.query_opt(sql, params, f)?.ok_or(DbError::NoRow)
    }

    /// Whether a query has a row.
    pub fn exists(&self, sql: &str, params: &[Value]) -> Result<bool, DbError> {
        Ok(!self.query(sql, params)?.is_empty())
    }

    /// An `INSERT … RETURNING id`: the new row's id.
    pub fn insert(&self, sql: &str, params: &[Value]) -> Result<i64, DbError> {
        self.query_row(&format!("{sql} RETURNING id"), params, |r| r.get(0))
    }

    /// Runs the reads of `f` on one consistent state of the database, while others go on
    /// writing (PostgreSQL: a repeatable-read transaction; SQLite: a read transaction).
    pub fn read_snapshot<T, E: From<DbError>>(
        &self,
        f: impl FnOnce(&Db) -> Result<T, E>,
    ) -> Result<T, E> {
        match self {
            Db::Sqlite(_) => self.execute_batch("BEGIN DEFERRED")?,
            Db::Postgres(_) => {
                self.execute_batch("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")?
            }
        }
        let out = f(self);
        let _ = self.execute_batch(if out.is_ok() { "COMMIT" } else { "ROLLBACK" });
        out
    }

    /// Runs `f` in one transaction: all of it happens or none. Writers wait for each other
    /// (SQLite: `BEGIN IMMEDIATE`; PostgreSQL: one advisory lock for the catalogue's
    /// writers, so that two replicas never count the same revision number).
    pub fn transaction<T, E: From<DbError>>(
        &self,
        f: impl FnOnce(&Db) -> Result<T, E>,
    ) -> Result<T, E> {
        match self {
            Db::Sqlite(_) => self.execute_batch("BEGIN IMMEDIATE")?,
            Db::Postgres(_) => {
                self.execute_batch("BEGIN")?;
                if let Err(e) = self.query("SELECT pg_advisory_xact_lock(7411)", &[]) {
                    let _ = self.execute_batch("ROLLBACK");
                    return Err(e.into());
                }
            }
        }
        match f(self) {
            Ok(v) => {
                if let Err(e) = self.execute_batch("COMMIT") {
                    let _ = self.execute_batch("ROLLBACK");
                    return Err(e.into());
                }
                Ok(v)
            }
            Err(e) => {
                let _ = self.execute_batch("ROLLBACK");
                Err(e)
            }
        }
    }
}

/// `?1` → `$1`: the catalogue's SQL has no `?` inside its string literals.
fn to_dollars(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len());
    let mut chars = sql.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '?' && chars.peek().is_some_and(char::is_ascii_digit) {
            out.push('$');
        } else {
            out.push(c);
        }
    }
    out
}

struct SqliteValue<'a>(&'a Value);

impl rusqlite::ToSql for SqliteValue<'_> {
    fn to_sql(&self) -> rusqlite::Result<rusqlite::types::ToSqlOutput<'_>> {
        use rusqlite::types::{ToSqlOutput, ValueRef};
        Ok(ToSqlOutput::Borrowed(match self.0 {
            Value::Null => ValueRef::Null,
            Value::Int(n) => ValueRef::Integer(*n),
            Value::Real(x) => ValueRef::Real(*x),
            Value::Text(s) => ValueRef::Text(s.as_bytes()),
        }))
    }
}

/// A PostgreSQL connection on a thread of its own (see the module's comment).
pub struct Pg {
    jobs: mpsc::Sender<(Job, mpsc::SyncSender<Result<Reply, DbError>>)>,
}

enum Job {
    Batch(String),
    Execute(String, Vec<Value>),
    Query(String, Vec<Value>),
}

/// Settings of every PostgreSQL session (see [`Pg::connect`]).
const SESSION_SETTINGS: &str = "SET lock_timeout = '30s'; SET idle_in_transaction_session_timeout = '60s'; SET statement_timeout = '300s'";

impl Job {
    /// Whether the job starts (`Some(true)`) or ends (`Some(false)`) a transaction.
    fn transaction_edge(&self) -> Option<bool> {
        match self {
            Job::Batch(sql) => {
                let sql = sql.trim_start().to_ascii_uppercase();
                if sql.starts_with("BEGIN") {
                    Some(!sql.contains("COMMIT"))
                } else if sql.starts_with("COMMIT") || sql.starts_with("ROLLBACK") {
                    Some(false)
                } else {
                    None
                }
            }
            _ => None,
        }
    }

    fn ends_transaction(&self) -> bool {
        self.transaction_edge() == Some(false)
    }
}

enum Reply {
    Done,
    Changed(u64),
    Rows(Vec<Row>),
}

impl Pg {
    fn connect(url: &str) -> Result<Pg, DbError> {
        let (jobs, inbox) = mpsc::channel::<(Job, mpsc::SyncSender<Result<Reply, DbError>>)>();
        let (ready, connected) = mpsc::sync_channel(1);
        let url = url.to_string();
        std::thread::Builder::new()
            .name("kennzahl-postgres".into())
            .spawn(move || {
                let open = || -> Result<postgres::Client, DbError> {
                    let mut client = postgres::Client::connect(&url, tls_connector()?)
                        .map_err(|e| DbError::Postgres(e.to_string()))?;
                    // No statement waits for ever: a lock held by a replica that hangs, or a
                    // transaction left open, ends in an error instead of stopping every writer.
                    client
                        .batch_execute(SESSION_SETTINGS)
                        .map_err(pg_error)?;
                    Ok(client)
                };
                let mut client = match open() {
                    Ok(c) => {
                        let _ = ready.send(Ok(()));
                        c
                    }
                    Err(e) => {
                        let _ = ready.send(Err(e));
                        return;
                    }
                };
                let mut in_transaction = false;
                for (job, reply) in inbox {
                    // A connection lost (server restarted, fail-over, a proxy's idle cut) is
                    // opened again for the next statement; one lost inside a transaction
                    // fails that transaction, whose statements are gone with it.
                    if client.is_closed() {
                        match open() {
                            Ok(c) => client = c,
                            Err(e) => {
                                let _ = reply.send(Err(e));
                                continue;
                            }
                        }
                        if in_transaction && !job.ends_transaction() {
                            let _ = reply.send(Err(DbError::Postgres(
                                "Verbindung während einer Transaktion verloren / connection lost during a transaction".into(),
                            )));
                            continue;
                        }
                        in_transaction = false;
                    }
                    if let Some(begins) = job.transaction_edge() {
                        in_transaction = begins;
                    }
                    let _ = reply.send(run(&mut client, job));
                }
            })
            .map_err(|e| DbError::Postgres(e.to_string()))?;
        connected
            .recv()
            .map_err(|_| DbError::Postgres("connection thread ended".into()))??;
        Ok(Pg { jobs })
    }

    fn call(&self, job: Job) -> Result<Reply, DbError> {
        let (reply, answer) = mpsc::sync_channel(1);
        self.jobs
            .send((job, reply))
            .map_err(|_| DbError::Postgres("Verbindung verloren / connection lost".into()))?;
        answer
            .recv()
            .map_err(|_| DbError::Postgres("Verbindung verloren / connection lost".into()))?
    }
}

/// Calls `notified` for every `NOTIFY kennzahl` of the PostgreSQL server at `url` (the
/// catalogue's triggers send one for every change the public sees), on a thread of its own
/// with a connection of its own, opened again when lost, until `alive` says no (asked at
/// least every 5 s).
pub fn listen(
    url: &str,
    alive: impl Fn() -> bool + Send + 'static,
    notified: impl Fn() + Send + 'static,
) {
    let url = client_url(url);
    let _ = std::thread::Builder::new()
        .name("kennzahl-listen".into())
        .spawn(move || {
            while alive() {
                let client = tls_connector().and_then(|tls| {
                    postgres::Client::connect(&url, tls)
                        .map_err(|e| DbError::Postgres(e.to_string()))
                });
                let mut client = match client {
                    Ok(c) => c,
                    Err(e) => {
                        tracing::warn!("LISTEN kennzahl: {e}; trying again in 5 s");
                        std::thread::sleep(std::time::Duration::from_secs(5));
                        continue;
                    }
                };
                if client.batch_execute("LISTEN kennzahl").is_err() {
                    continue;
                }
                // Whatever happened while not listening is asked for once.
                notified();
                loop {
                    if !alive() {
                        return;
                    }
                    use postgres::fallible_iterator::FallibleIterator;
                    let mut notices = client.notifications();
                    let mut iter = notices.timeout_iter(std::time::Duration::from_secs(5));
                    match iter.next() {
                        Ok(Some(_)) => notified(),
                        Ok(None) => {}
                        Err(_) => break,
                    }
                }
            }
        });
}

/// The URL as the client library reads it: `sslmode=verify-ca` and `verify-full` (as
/// providers write them) are `require` there, and the certificate is checked anyway (see
/// [`tls_connector`]).
fn client_url(url: &str) -> String {
    url.replace("sslmode=verify-full", "sslmode=require")
        .replace("sslmode=verify-ca", "sslmode=require")
}

/// TLS for the connection, as the URL's `sslmode` asks (`prefer` when it does not say:
/// TLS where the server offers it). Server certificates are checked against the system's
/// roots and, for a provider's own CA (managed databases often have one), the PEM file
/// `KENNZAHL_DATABASE_CA` names.
fn tls_connector() -> Result<tokio_postgres_rustls::MakeRustlsConnect, DbError> {
    let bad = |what: String| DbError::Postgres(what);
    let mut roots = rustls::RootCertStore::empty();
    for cert in rustls_native_certs::load_native_certs().certs {
        let _ = roots.add(cert);
    }
    if let Some(path) = std::env::var_os("KENNZAHL_DATABASE_CA").filter(|p| !p.is_empty()) {
        let pem = std::fs::read(&path).map_err(|e| {
            bad(format!(
                "KENNZAHL_DATABASE_CA {}: {e}",
                std::path::Path::new(&path).display()
            ))
        })?;
        let mut found = 0;
        for cert in rustls_pemfile::certs(&mut pem.as_slice()) {
            let cert = cert.map_err(|e| bad(format!("KENNZAHL_DATABASE_CA: {e}")))?;
            roots
                .add(cert)
                .map_err(|e| bad(format!("KENNZAHL_DATABASE_CA: {e}")))?;
            found += 1;
        }
        if found == 0 {
            return Err(bad(
                "KENNZAHL_DATABASE_CA: keine Zertifikate (PEM) in der Datei / no certificates (PEM) in the file".into(),
            ));
        }
    }
    let config = rustls::ClientConfig::builder_with_provider(std::sync::Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .map_err(|e| bad(e.to_string()))?
    .with_root_certificates(roots)
    .with_no_client_auth();
    Ok(tokio_postgres_rustls::MakeRustlsConnect::new(config))
}

fn pg_error(e: postgres::Error) -> DbError {
    match e.as_db_error() {
        Some(db) => DbError::Postgres(format!("{} ({})", db.message(), db.code().code())),
        None => DbError::Postgres(e.to_string()),
    }
}

fn run(client: &mut postgres::Client, job: Job) -> Result<Reply, DbError> {
    match job {
        Job::Batch(sql) => client.batch_execute(&sql).map(|_| Reply::Done),
        Job::Execute(sql, params) => {
            let refs: Vec<&(dyn postgres::types::ToSql + Sync)> = params
                .iter()
                .map(|p| p as &(dyn postgres::types::ToSql + Sync))
                .collect();
            client.execute(&sql, &refs).map(Reply::Changed)
        }
        Job::Query(sql, params) => {
            let refs: Vec<&(dyn postgres::types::ToSql + Sync)> = params
                .iter()
                .map(|p| p as &(dyn postgres::types::ToSql + Sync))
                .collect();
            client.query(&sql, &refs).and_then(|rows| {
                rows.iter()
                    .map(|r| {
                        (0..r.len())
                            .map(|i| r.try_get::<usize, Value>(i))
                            .collect::<Result<Vec<Value>, _>>()
                            .map(Row)
                    })
                    .collect::<Result<Vec<Row>, _>>()
                    .map(Reply::Rows)
            })
        }
    }
    .map_err(pg_error)
}

mod pg_types {
    use super::Value;
    use postgres::types::{FromSql, IsNull, ToSql, Type, to_sql_checked};
    use std::error::Error;

    type BoxError = Box<dyn Error + Sync + Send>;

    /// A value as the column's type wants it: the server decides the types of parameters
    /// from where they stand, and the catalogue's integers are all `bigint`.
    impl ToSql for Value {
        fn to_sql(&self, ty: &Type, out: &mut bytes::BytesMut) -> Result<IsNull, BoxError> {
            match self {
                Value::Null => Ok(IsNull::Yes),
                Value::Int(n) => match *ty {
                    Type::INT2 => i16::try_from(*n)?.to_sql(ty, out),
                    Type::INT4 => i32::try_from(*n)?.to_sql(ty, out),
                    Type::FLOAT8 => (*n as f64).to_sql(ty, out),
                    Type::FLOAT4 => (*n as f32).to_sql(ty, out),
                    Type::BOOL => (*n != 0).to_sql(ty, out),
                    Type::TEXT | Type::VARCHAR => n.to_string().to_sql(ty, out),
                    _ => n.to_sql(ty, out),
                },
                Value::Real(x) => match *ty {
                    Type::FLOAT4 => (*x as f32).to_sql(ty, out),
                    _ => x.to_sql(ty, out),
                },
                Value::Text(s) => s.as_str().to_sql(ty, out),
            }
        }

        fn accepts(_: &Type) -> bool {
            true
        }

        to_sql_checked!();
    }

    impl<'a> FromSql<'a> for Value {
        fn from_sql(ty: &Type, raw: &'a [u8]) -> Result<Self, BoxError> {
            Ok(match *ty {
                Type::INT2 => Value::Int(i16::from_sql(ty, raw)? as i64),
                Type::INT4 => Value::Int(i32::from_sql(ty, raw)? as i64),
                Type::INT8 => Value::Int(i64::from_sql(ty, raw)?),
                Type::OID => Value::Int(u32::from_sql(ty, raw)? as i64),
                Type::FLOAT4 => Value::Real(f32::from_sql(ty, raw)? as f64),
                Type::FLOAT8 => Value::Real(f64::from_sql(ty, raw)?),
                Type::BOOL => Value::Int(bool::from_sql(ty, raw)? as i64),
                Type::VOID => Value::Null,
                _ => Value::Text(String::from_utf8_lossy(raw).into_owned()),
            })
        }

        fn from_sql_null(_: &Type) -> Result<Self, BoxError> {
            Ok(Value::Null)
        }

        fn accepts(_: &Type) -> bool {
            true
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parameters_are_numbered_for_postgres() {
        assert_eq!(
            to_dollars("SELECT 1 FROM t WHERE a = ?1 AND (?2 IS NULL OR b = ?2) AND c = '?'"),
            "SELECT 1 FROM t WHERE a = $1 AND ($2 IS NULL OR b = $2) AND c = '?'"
        );
    }

    #[test]
    fn sqlite_round_trip_and_transactions() {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::sqlite(&dir.path().join("t.sqlite")).unwrap();
        db.execute_batch("CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT NOT NULL, x REAL)")
            .unwrap();
        let id = db
            .insert("INSERT INTO t (name, x) VALUES (?1, ?2)", params!["a", 1.5])
            .unwrap();
        assert_eq!(id, 1);
        let failed: Result<(), DbError> = db.transaction(|db| {
            db.execute("INSERT INTO t (name, x) VALUES (?1, NULL)", params!["b"])?;
            Err(DbError::NoRow)
        });
        assert!(failed.is_err());
        let rows = db
            .query_map("SELECT name, x FROM t ORDER BY id", &[], |r| {
                Ok((r.get::<String>(0)?, r.get::<Option<f64>>(1)?))
            })
            .unwrap();
        assert_eq!(rows, vec![("a".to_string(), Some(1.5))]);
        assert!(
            db.exists("SELECT 1 FROM t WHERE name = ?1", params!["a"])
                .unwrap()
        );
        assert!(
            !db.exists("SELECT 1 FROM t WHERE name = ?1", params!["b"])
                .unwrap()
        );
    }
}
