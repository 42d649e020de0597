//! The staff side's own records in the catalogue: accounts with roles and offices
//! ([`accounts`]), login sessions with their CSRF tokens and the brake on password guessing
//! ([`sessions`]), the four-eyes review of uploads ([`reviews`]) and the append-only audit
//! log ([`audit`]). The web layer and the command line only go through these functions.

pub mod accounts;
pub mod audit;
pub mod reviews;
pub mod sessions;

use rusqlite::Connection;
use std::path::Path;

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS users (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    role TEXT NOT NULL CHECK (role IN ('editor', 'publisher', 'admin')),
    offices TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    disabled INTEGER NOT NULL DEFAULT 0,
    created_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS sessions (
    id_hash TEXT PRIMARY KEY,
    user_id INTEGER NOT NULL REFERENCES users(id),
    csrf TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    last_seen INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS login_failures (
    key TEXT NOT NULL,
    at INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS login_failures_key ON login_failures (key, at);
CREATE TABLE IF NOT EXISTS reviews (
    batch_id INTEGER PRIMARY KEY REFERENCES batches(id),
    submitted_by TEXT NOT NULL,
    submitted_at TEXT NOT NULL,
    reason TEXT NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('submitted', 'approved', 'rejected')),
    decided_by TEXT,
    decided_at TEXT,
    decision TEXT
);
CREATE TABLE IF NOT EXISTS audit (
    id INTEGER PRIMARY KEY,
    at TEXT NOT NULL,
    user TEXT NOT NULL,
    action TEXT NOT NULL,
    detail TEXT NOT NULL,
    remote TEXT NOT NULL
);
CREATE TRIGGER IF NOT EXISTS audit_no_update BEFORE UPDATE ON audit
    BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
CREATE TRIGGER IF NOT EXISTS audit_no_delete BEFORE DELETE ON audit
    BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
";

/// The longest free text staff may send in one field (a reason, a note, a notice): enough for
/// any explanation, too little to flood the catalogue and the audit log with.
pub const MAX_TEXT: usize = 2000;

/// Why a staff action did not happen.
#[derive(Debug, thiserror::Error)]
pub enum StaffError {
    #[error("Katalog / catalogue: {0}")]
    Db(#[from] rusqlite::Error),
    #[error("Passwort-Hash / password hash: {0}")]
    Hash(String),
    #[error(
        "Das Passwort ist zu kurz: mindestens {min} Zeichen / the password is too short: at least {min} characters"
    )]
    WeakPassword { min: usize },
    #[error("Benutzer {0:?} gibt es nicht / no user {0:?}")]
    NoSuchUser(String),
    #[error("Benutzer {0:?} gibt es schon / user {0:?} exists already")]
    UserExists(String),
    #[error(
        "Rolle {0:?} gibt es nicht; möglich: editor, publisher, admin / no role {0:?}; possible: editor, publisher, admin"
    )]
    NoSuchRole(String),
    #[error("{0}")]
    Refused(String),
}

/// The staff records, in the catalogue file beside the data's records.
pub struct StaffDb {
    conn: Connection,
}

impl StaffDb {
    /// Opens the catalogue of a data folder for staff records (creating their tables).
    pub fn open(data: &Path) -> Result<Self, StaffError> {
        std::fs::create_dir_all(data).map_err(|e| StaffError::Refused(e.to_string()))?;
        let conn = Connection::open(data.join("catalog.sqlite"))?;
        conn.busy_timeout(std::time::Duration::from_secs(10))?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "FULL")?;
        // The reviews table refers to batches: make sure the data tables exist.
        crate::store::catalog::Catalog::open(&data.join("catalog.sqlite"))
            .map_err(|e| StaffError::Refused(e.to_string()))?;
        conn.execute_batch(SCHEMA)?;
        Ok(StaffDb { conn })
    }
}

/// Seconds since 1970, for session and throttle times.
pub fn now_secs() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

fn now_text() -> String {
    chrono::Local::now().format("%Y-%m-%dT%H:%M:%S").to_string()
}

/// A random token (256 bits, hex): session ids and CSRF tokens.
pub fn random_token() -> String {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).expect("the operating system gives random bytes");
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
