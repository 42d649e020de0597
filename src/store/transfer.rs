//! Moving a whole store between a data folder (SQLite and local files) and a shared one
//! (PostgreSQL and object storage), both ways: `kennzahl migrate --from DIR` and `kennzahl
//! export --to DIR`. Every batch with its original, rows and partials, every revision, target,
//! note, notice, profile, account, review and audit entry keeps its id; the files are checked
//! by SHA-256 where they land, and the caller compares the KPIs of both stores. Sessions and
//! the login brake's counters are not moved: staff log in again.

use super::db::{DbError, Dialect, Value};
use super::files::sha256_hex;
use super::{Store, StoreError, batch_files};

/// The tables moved, in an order that keeps every reference valid, with their columns.
const TABLES: &[(&str, &[&str])] = &[
    (
        "batches",
        &[
            "id",
            "kind",
            "sha256",
            "file_name",
            "uploaded_by",
            "uploaded_at",
            "rows",
            "skipped",
            "status",
            "parquet",
            "original",
            "notices",
            "part",
            "partials",
        ],
    ),
    ("batch_cells", &["batch_id", "office", "month", "rows"]),
    (
        "revisions",
        &[
            "id",
            "kind",
            "office",
            "month",
            "revision",
            "batch_id",
            "published_by",
            "published_at",
            "reason",
            "part",
        ],
    ),
    ("targets", &["kind", "office", "kpi", "value", "direction"]),
    (
        "notes",
        &["id", "office", "month", "text", "author", "created_at"],
    ),
    (
        "notices",
        &["id", "office", "text", "until", "author", "created_at"],
    ),
    (
        "profiles",
        &["office", "kind", "profile", "saved_by", "saved_at"],
    ),
    (
        "users",
        &[
            "id",
            "name",
            "role",
            "offices",
            "password_hash",
            "disabled",
            "created_at",
        ],
    ),
    (
        "reviews",
        &[
            "batch_id",
            "submitted_by",
            "submitted_at",
            "reason",
            "state",
            "decided_by",
            "decided_at",
            "decision",
        ],
    ),
    (
        "audit",
        &["id", "at", "\"user\"", "action", "detail", "remote"],
    ),
];

/// What a transfer moved.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct TransferReport {
    /// Rows per table, in the order of [`TABLES`].
    pub rows: Vec<(&'static str, usize)>,
    /// Files written (originals, rows, partials) and their bytes.
    pub files: usize,
    pub bytes: u64,
}

/// Moves everything of `from` into `to`, which must be empty (no batch, no account). The
/// files go first, then the catalogue in one transaction: a transfer stopped halfway leaves
/// `to` with files no catalogue names, and it can simply be run again.
pub fn transfer(from: &Store, to: &mut Store) -> Result<TransferReport, StoreError> {
    let target = to.catalog.db();
    for table in ["batches", "users"] {
        if target.exists(&format!("SELECT 1 FROM {table} LIMIT 1"), &[])? {
            return Err(StoreError::TargetNotEmpty);
        }
    }
    // The catalogue of one moment (a store in use goes on meanwhile), then exactly the files
    // it names, then the catalogue into the target.
    let source = from.catalog.db();
    let snapshot = source.read_snapshot(|db| {
        let mut tables = Vec::new();
        for (table, columns) in TABLES {
            if !has_table(db, table)? {
                // A data folder never served has no staff tables.
                tables.push(Vec::new());
                continue;
            }
            // Columns added after a data folder was made (see `catalog::ADDED_COLUMNS`, all
            // text with '' as default) are read as ''.
            let mut wanted = Vec::new();
            for c in *columns {
                wanted.push(if has_column(db, table, c)? {
                    (*c).to_string()
                } else {
                    "''".to_string()
                });
            }
            tables.push(db.query(&format!("SELECT {} FROM {table}", wanted.join(", ")), &[])?);
        }
        Ok::<_, DbError>(tables)
    })?;
    let mut report = TransferReport::default();
    copy_files(from, to, &snapshot[0], &mut report)?;
    let target = to.catalog.db();
    let rows = target.transaction(|tx| {
        let mut rows = Vec::new();
        for ((table, columns), read) in TABLES.iter().zip(&snapshot) {
            let list = columns.join(", ");
            let marks: Vec<String> = (1..=columns.len()).map(|i| format!("?{i}")).collect();
            let insert = format!(
                "INSERT INTO {table} ({list}) VALUES ({})",
                marks.join(", ")
            );
            for row in read {
                let values: Vec<Value> = (0..columns.len())
                    .map(|i| row.get::<Value>(i))
                    .collect::<Result<_, _>>()?;
                tx.execute(&insert, &values)?;
            }
            if tx.dialect() == Dialect::Postgres && columns.first() == Some(&"id") {
                // Ids were given: the next one made here must come after them.
                tx.query(
                    &format!(
                        "SELECT setval(pg_get_serial_sequence('{table}', 'id'), COALESCE((SELECT MAX(id) FROM {table}), 0) + 1, false)"
                    ),
                    &[],
                )?;
            }
            rows.push((*table, read.len()));
        }
        Ok::<_, DbError>(rows)
    })?;
    report.rows = rows;
    Ok(report)
}

/// Copies every file the catalogue of `from` names into `to`, checking each where it lands:
/// an original against the catalogue's SHA-256 of the upload, any other file against the
/// SHA-256 of the bytes read.
fn copy_files(
    from: &Store,
    to: &Store,
    batches: &[super::db::Row],
    report: &mut TransferReport,
) -> Result<(), StoreError> {
    // Columns of `batches` in TABLES: sha256 2, parquet 9, original 10, partials 13.
    let batches = batches
        .iter()
        .map(|r| {
            Ok((
                r.get::<String>(2)?,
                r.get::<String>(10)?,
                r.get::<String>(9)?,
                r.get::<String>(13)?,
            ))
        })
        .collect::<Result<Vec<_>, DbError>>()?;
    for (sha, original, parquet, partials) in &batches {
        for key in batch_files(original, parquet, partials) {
            if key.contains(".partials-") && !from.files.exists(&key)? {
                // Partials of a batch stored before partials existed are made on first use.
                continue;
            }
            let bytes = from.files.get(&key)?;
            to.files
                .put(&key, |w| std::io::Write::write_all(w, &bytes))?;
            // Read back from where it is kept for good (the bucket), not from the cache.
            let landed = to.files.get_fresh(&key)?;
            let fine = if key == *original {
                original_sha(&key, &landed).is_some_and(|s| s == *sha)
            } else {
                sha256_hex(&landed) == sha256_hex(&bytes)
            };
            if !fine {
                return Err(StoreError::Damaged {
                    path: to.files.describe(&key),
                });
            }
            report.files += 1;
            report.bytes += bytes.len() as u64;
        }
    }
    Ok(())
}

/// The SHA-256 of the upload an original file holds (stored compressed or as it came).
fn original_sha(key: &str, stored: &[u8]) -> Option<String> {
    if key.ends_with(".zst") {
        zstd::stream::decode_all(stored)
            .ok()
            .map(|b| sha256_hex(&b))
    } else {
        Some(sha256_hex(stored))
    }
}

/// Whether a table of the catalogue of `db` has the column.
fn has_column(db: &super::db::Db, table: &str, column: &str) -> Result<bool, DbError> {
    let column = column.trim_matches('"');
    match db.dialect() {
        Dialect::Sqlite => db.exists(
            "SELECT 1 FROM pragma_table_info(?1) WHERE name = ?2",
            super::db::params![table, column],
        ),
        Dialect::Postgres => db.exists(
            "SELECT 1 FROM information_schema.columns WHERE table_name = ?1 AND column_name = ?2",
            super::db::params![table, column],
        ),
    }
}

/// Whether the catalogue of `db` has the table.
fn has_table(db: &super::db::Db, table: &str) -> Result<bool, DbError> {
    match db.dialect() {
        Dialect::Sqlite => db.exists(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?1",
            super::db::params![table],
        ),
        Dialect::Postgres => db.exists(
            "SELECT 1 FROM pg_tables WHERE tablename = ?1",
            super::db::params![table],
        ),
    }
}

impl super::db::FromValue for Value {
    fn from_value(v: &Value, _: usize) -> Result<Self, DbError> {
        Ok(v.clone())
    }
}
