//! The catalogue: batches, their (office, month) cells, published revisions and targets, in
//! SQLite. Every change is one transaction, so the catalogue is always whole.

use super::StoreError;
use rusqlite::{Connection, OptionalExtension, params};
use std::path::Path;

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS batches (
    id INTEGER PRIMARY KEY,
    kind TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    file_name TEXT NOT NULL,
    uploaded_by TEXT NOT NULL,
    uploaded_at TEXT NOT NULL,
    rows INTEGER NOT NULL,
    skipped INTEGER NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('pending', 'published', 'rejected')),
    parquet TEXT NOT NULL,
    original TEXT NOT NULL,
    notices TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS batch_cells (
    batch_id INTEGER NOT NULL REFERENCES batches(id),
    office TEXT NOT NULL,
    month INTEGER NOT NULL,
    rows INTEGER NOT NULL,
    PRIMARY KEY (batch_id, office, month)
);
CREATE TABLE IF NOT EXISTS revisions (
    id INTEGER PRIMARY KEY,
    kind TEXT NOT NULL,
    office TEXT NOT NULL,
    month INTEGER NOT NULL,
    revision INTEGER NOT NULL,
    batch_id INTEGER NOT NULL REFERENCES batches(id),
    published_by TEXT NOT NULL,
    published_at TEXT NOT NULL,
    reason TEXT NOT NULL,
    UNIQUE (kind, office, month, revision)
);
CREATE TABLE IF NOT EXISTS targets (
    kind TEXT NOT NULL,
    office TEXT NOT NULL,
    kpi TEXT NOT NULL,
    value REAL NOT NULL,
    direction TEXT NOT NULL CHECK (direction IN ('lower', 'higher')),
    PRIMARY KEY (kind, office, kpi)
);
CREATE TABLE IF NOT EXISTS notes (
    id INTEGER PRIMARY KEY,
    office TEXT NOT NULL,
    month INTEGER NOT NULL,
    text TEXT NOT NULL,
    author TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS notices (
    id INTEGER PRIMARY KEY,
    office TEXT NOT NULL,
    text TEXT NOT NULL,
    until TEXT NOT NULL,
    author TEXT NOT NULL,
    created_at TEXT NOT NULL
);
-- Mapping profiles saved from the upload form: how an office's export names the columns.
CREATE TABLE IF NOT EXISTS profiles (
    office TEXT NOT NULL,
    kind TEXT NOT NULL,
    profile TEXT NOT NULL,
    saved_by TEXT NOT NULL,
    saved_at TEXT NOT NULL,
    PRIMARY KEY (office, kind)
);
-- Bumped by every change the public sees (revisions, notes, targets): the pages' cache key.
CREATE TABLE IF NOT EXISTS data_generation (n INTEGER NOT NULL);
INSERT INTO data_generation (n) SELECT 0 WHERE NOT EXISTS (SELECT 1 FROM data_generation);
CREATE TRIGGER IF NOT EXISTS generation_revisions AFTER INSERT ON revisions
    BEGIN UPDATE data_generation SET n = n + 1; END;
CREATE TRIGGER IF NOT EXISTS generation_notes_insert AFTER INSERT ON notes
    BEGIN UPDATE data_generation SET n = n + 1; END;
CREATE TRIGGER IF NOT EXISTS generation_notes_delete AFTER DELETE ON notes
    BEGIN UPDATE data_generation SET n = n + 1; END;
CREATE TRIGGER IF NOT EXISTS generation_notices_insert AFTER INSERT ON notices
    BEGIN UPDATE data_generation SET n = n + 1; END;
CREATE TRIGGER IF NOT EXISTS generation_notices_update AFTER UPDATE ON notices
    BEGIN UPDATE data_generation SET n = n + 1; END;
CREATE TRIGGER IF NOT EXISTS generation_targets_insert AFTER INSERT ON targets
    BEGIN UPDATE data_generation SET n = n + 1; END;
CREATE TRIGGER IF NOT EXISTS generation_targets_update AFTER UPDATE ON targets
    BEGIN UPDATE data_generation SET n = n + 1; END;
";

/// Columns added after the first release, added to older catalogues when they are opened.
/// `part`: what of its months a batch stands for ("" = whole months; a ZMS report names its
/// report and location), see [`CURRENT_REVISIONS`].
const ADDED_COLUMNS: &[(&str, &str, &str)] = &[
    ("batches", "part", "TEXT NOT NULL DEFAULT ''"),
    ("revisions", "part", "TEXT NOT NULL DEFAULT ''"),
    ("batches", "partials", "TEXT NOT NULL DEFAULT ''"),
];

/// What the public sees of a (kind, office, month): the newest revision of each part, unless
/// a later revision of a conflicting part replaced it. Parts of reports complement each other
/// (the Kundenstatistik and the Wartestatistik of one location and month); a whole-month
/// upload ("") and any part replace each other.
const CURRENT_REVISIONS: &str = "
DROP VIEW IF EXISTS current_revisions;
CREATE VIEW current_revisions AS
    SELECT r.* FROM revisions r
    WHERE r.revision = (SELECT MAX(revision) FROM revisions x
                        WHERE x.kind = r.kind AND x.office = r.office AND x.month = r.month
                          AND x.part = r.part)
      AND NOT EXISTS (SELECT 1 FROM revisions y
                      WHERE y.kind = r.kind AND y.office = r.office AND y.month = r.month
                        AND y.revision > r.revision AND y.part <> r.part
                        AND (y.part = '' OR r.part = ''));
";

/// A batch as the catalogue knows it.
#[derive(Debug, Clone, serde::Serialize)]
pub struct BatchInfo {
    pub id: i64,
    pub kind: String,
    pub sha256: String,
    pub file_name: String,
    pub uploaded_by: String,
    pub uploaded_at: String,
    pub rows: i64,
    pub skipped: i64,
    pub status: String,
    pub parquet: String,
    pub original: String,
    /// What of its months the batch stands for ("" = whole months).
    pub part: String,
}

/// One revision of a (kind, office, month) cell.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Revision {
    pub kind: String,
    pub office: String,
    pub month: i32,
    pub revision: i64,
    pub batch_id: i64,
    pub published_by: String,
    pub published_at: String,
    pub reason: String,
    pub rows: i64,
    /// What of the month the revision stands for ("" = the whole month).
    pub part: String,
}

/// A notice that is running now, as a feed shows it.
#[derive(Debug, Clone)]
pub struct RunningNotice {
    pub id: i64,
    pub office: String,
    pub text: String,
    /// Local time the notice ends (`YYYY-MM-DDTHH:MM`).
    pub until: String,
    /// Local time it was written.
    pub written: String,
}

/// A published cell: which batch file holds its rows.
#[derive(Debug, Clone)]
pub struct PublishedCell {
    pub office: String,
    pub month: i32,
    pub batch_id: i64,
    pub parquet: String,
    pub part: String,
    /// The batch's partial aggregates ("" when it has none yet).
    pub partials: String,
}

/// A target for a KPI of one office.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Target {
    pub office: String,
    pub kpi: String,
    pub value: f64,
    pub direction: String,
}

/// The SQLite catalogue.
pub struct Catalog {
    conn: Connection,
}

pub(super) fn now_text() -> String {
    chrono::Local::now().format("%Y-%m-%dT%H:%M:%S").to_string()
}

impl Catalog {
    /// Opens (and creates) the catalogue file.
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        let conn = Connection::open(path)?;
        conn.busy_timeout(std::time::Duration::from_secs(10))?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "FULL")?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        conn.execute_batch(SCHEMA)?;
        for (table, column, decl) in ADDED_COLUMNS {
            let present: bool = conn.query_row(
                &format!("SELECT COUNT(*) > 0 FROM pragma_table_info('{table}') WHERE name = ?1"),
                [column],
                |r| r.get(0),
            )?;
            if !present {
                conn.execute_batch(&format!("ALTER TABLE {table} ADD COLUMN {column} {decl}"))?;
            }
        }
        conn.execute_batch(CURRENT_REVISIONS)?;
        Ok(Catalog { conn })
    }

    /// Records a new pending batch and its cells in one transaction.
    #[allow(clippy::too_many_arguments)]
    pub fn insert_batch(
        &mut self,
        kind: &str,
        sha256: &str,
        file_name: &str,
        user: &str,
        rows: usize,
        skipped: usize,
        parquet: &str,
        original: &str,
        notices: &str,
        part: &str,
        partials: &str,
        cells: &[(String, i32, usize)],
    ) -> Result<i64, StoreError> {
        let tx = self.conn.transaction()?;
        tx.execute(
            "INSERT INTO batches (kind, sha256, file_name, uploaded_by, uploaded_at, rows, skipped, status, parquet, original, notices, part, partials)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, 'pending', ?8, ?9, ?10, ?11, ?12)",
            params![kind, sha256, file_name, user, now_text(), rows as i64, skipped as i64, parquet, original, notices, part, partials],
        )?;
        let next = tx.last_insert_rowid();
        {
            let mut stmt = tx.prepare(
                "INSERT INTO batch_cells (batch_id, office, month, rows) VALUES (?1, ?2, ?3, ?4)",
            )?;
            for (office, month, n) in cells {
                stmt.execute(params![next, office, month, *n as i64])?;
            }
        }
        tx.commit()?;
        Ok(next)
    }

    /// A batch by id.
    pub fn batch(&self, id: i64) -> Result<Option<BatchInfo>, StoreError> {
        Ok(self
            .conn
            .query_row(
                "SELECT id, kind, sha256, file_name, uploaded_by, uploaded_at, rows, skipped, status, parquet, original, part FROM batches WHERE id = ?1",
                [id],
                |r| {
                    Ok(BatchInfo {
                        id: r.get(0)?,
                        kind: r.get(1)?,
                        sha256: r.get(2)?,
                        file_name: r.get(3)?,
                        uploaded_by: r.get(4)?,
                        uploaded_at: r.get(5)?,
                        rows: r.get(6)?,
                        skipped: r.get(7)?,
                        status: r.get(8)?,
                        parquet: r.get(9)?,
                        original: r.get(10)?,
                        part: r.get(11)?,
                    })
                },
            )
            .optional()?)
    }

    /// The cells of a batch.
    pub fn batch_cells(&self, id: i64) -> Result<Vec<(String, i32, i64)>, StoreError> {
        let mut stmt = self.conn.prepare("SELECT office, month, rows FROM batch_cells WHERE batch_id = ?1 ORDER BY office, month")?;
        let rows = stmt.query_map([id], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Publishes a batch: one new revision per cell, all in one transaction; with
    /// `approved_review`, the batch's review (state `submitted`) becomes `approved` by the
    /// publisher in the same transaction, or nothing happens.
    pub fn publish(
        &mut self,
        id: i64,
        user: &str,
        reason: &str,
        approved_review: bool,
    ) -> Result<Vec<Revision>, StoreError> {
        let batch = self.batch(id)?.ok_or(StoreError::NoSuchBatch(id))?;
        if batch.status == "published" {
            return Err(StoreError::AlreadyPublished(id));
        }
        if batch.status == "rejected" {
            return Err(StoreError::Rejected(id));
        }
        let cells = self.batch_cells(id)?;
        let tx = self.conn.transaction()?;
        let at = now_text();
        let mut out = Vec::new();
        for (office, month, rows) in cells {
            let revision: i64 = tx.query_row(
                "SELECT COALESCE(MAX(revision), 0) + 1 FROM revisions WHERE kind = ?1 AND office = ?2 AND month = ?3",
                params![batch.kind, office, month],
                |r| r.get(0),
            )?;
            tx.execute(
                "INSERT INTO revisions (kind, office, month, revision, batch_id, published_by, published_at, reason, part) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
                params![batch.kind, office, month, revision, id, user, at, reason, batch.part],
            )?;
            out.push(Revision {
                kind: batch.kind.clone(),
                office,
                month,
                revision,
                batch_id: id,
                published_by: user.into(),
                published_at: at.clone(),
                reason: reason.into(),
                rows,
                part: batch.part.clone(),
            });
        }
        tx.execute(
            "UPDATE batches SET status = 'published' WHERE id = ?1",
            [id],
        )?;
        if approved_review {
            let n = tx.execute(
                "UPDATE reviews SET state = 'approved', decided_by = ?2, decided_at = ?3 WHERE batch_id = ?1 AND state = 'submitted'",
                params![id, user, at],
            )?;
            if n != 1 {
                return Err(StoreError::NotSubmitted(id));
            }
        }
        tx.commit()?;
        Ok(out)
    }

    /// Cells of a kind among `cells` where publishing `part` would replace something the
    /// public sees now (the same part, or a whole month and a part).
    pub fn published_among(
        &self,
        kind: &str,
        part: &str,
        cells: &[(String, i32)],
    ) -> Result<Vec<(String, i32)>, StoreError> {
        let mut stmt = self.conn.prepare(
            "SELECT 1 FROM current_revisions WHERE kind = ?1 AND office = ?2 AND month = ?3 AND (part = ?4 OR part = '' OR ?4 = '')",
        )?;
        let mut out = Vec::new();
        for (o, m) in cells {
            if stmt.exists(params![kind, o, m, part])? {
                out.push((o.clone(), *m));
            }
        }
        Ok(out)
    }

    /// Every revision, filtered by kind, office and month where given, oldest first.
    pub fn history(
        &self,
        kind: &str,
        office: Option<&str>,
        month: Option<i32>,
    ) -> Result<Vec<Revision>, StoreError> {
        let mut stmt = self.conn.prepare(
            "SELECT r.kind, r.office, r.month, r.revision, r.batch_id, r.published_by, r.published_at, r.reason, COALESCE(c.rows, 0), r.part
             FROM revisions r LEFT JOIN batch_cells c ON c.batch_id = r.batch_id AND c.office = r.office AND c.month = r.month
             WHERE r.kind = ?1 AND (?2 IS NULL OR r.office = ?2) AND (?3 IS NULL OR r.month = ?3)
             ORDER BY r.office, r.month, r.revision",
        )?;
        let rows = stmt.query_map(params![kind, office, month], |r| {
            Ok(Revision {
                kind: r.get(0)?,
                office: r.get(1)?,
                month: r.get(2)?,
                revision: r.get(3)?,
                batch_id: r.get(4)?,
                published_by: r.get(5)?,
                published_at: r.get(6)?,
                reason: r.get(7)?,
                rows: r.get(8)?,
                part: r.get(9)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Makes revision `to` current again by adding a new revision pointing to its batch.
    pub fn rollback(
        &mut self,
        kind: &str,
        office: &str,
        month: i32,
        to: i64,
        user: &str,
        reason: &str,
    ) -> Result<Revision, StoreError> {
        let tx = self.conn.transaction()?;
        let (batch_id, part): (i64, String) = tx
            .query_row(
                "SELECT batch_id, part FROM revisions WHERE kind = ?1 AND office = ?2 AND month = ?3 AND revision = ?4",
                params![kind, office, month, to],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?
            .ok_or_else(|| StoreError::NoSuchRevision { kind: kind.into(), office: office.into(), month, revision: to })?;
        let revision: i64 = tx.query_row(
            "SELECT MAX(revision) + 1 FROM revisions WHERE kind = ?1 AND office = ?2 AND month = ?3",
            params![kind, office, month],
            |r| r.get(0),
        )?;
        let at = now_text();
        let reason = format!("Rücknahme auf Revision {to}: {reason}");
        tx.execute(
            "INSERT INTO revisions (kind, office, month, revision, batch_id, published_by, published_at, reason, part) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
            params![kind, office, month, revision, batch_id, user, at, reason, part],
        )?;
        tx.commit()?;
        let rows = self
            .history(kind, Some(office), Some(month))?
            .last()
            .map(|r| r.rows)
            .unwrap_or(0);
        Ok(Revision {
            kind: kind.into(),
            office: office.into(),
            month,
            revision,
            batch_id,
            published_by: user.into(),
            published_at: at,
            reason,
            rows,
            part,
        })
    }

    /// The published cells of a kind with the file that holds each.
    pub fn published_cells(&self, kind: &str) -> Result<Vec<PublishedCell>, StoreError> {
        let mut stmt = self.conn.prepare(
            "SELECT r.office, r.month, r.batch_id, b.parquet, r.part, b.partials FROM current_revisions r JOIN batches b ON b.id = r.batch_id
             WHERE r.kind = ?1 ORDER BY r.batch_id, r.office, r.month",
        )?;
        let rows = stmt.query_map([kind], |r| {
            Ok(PublishedCell {
                office: r.get(0)?,
                month: r.get(1)?,
                batch_id: r.get(2)?,
                parquet: r.get(3)?,
                part: r.get(4)?,
                partials: r.get(5)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// The offices with published data of a kind, and each one's newest published month
    /// before `before` (`None` when all its months are later).
    pub fn published_offices(
        &self,
        kind: &str,
        before: i32,
    ) -> Result<Vec<(String, Option<i32>)>, StoreError> {
        let mut stmt = self.conn.prepare(
            "SELECT office, MAX(CASE WHEN month < ?2 THEN month END) FROM current_revisions
             WHERE kind = ?1 GROUP BY office ORDER BY office",
        )?;
        let rows = stmt.query_map(params![kind, before], |r| Ok((r.get(0)?, r.get(1)?)))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// The first and the latest publication time of a kind (`None` when none).
    pub fn publication_span(&self, kind: &str) -> Result<Option<(String, String)>, StoreError> {
        Ok(self.conn.query_row(
            "SELECT MIN(published_at), MAX(published_at) FROM revisions WHERE kind = ?1",
            [kind],
            |r| {
                let first: Option<String> = r.get(0)?;
                let last: Option<String> = r.get(1)?;
                Ok(first.zip(last))
            },
        )?)
    }

    /// Records the partial aggregates made later for a batch stored without them.
    pub fn set_partials(&self, batch_id: i64, key: &str) -> Result<(), StoreError> {
        self.conn.execute(
            "UPDATE batches SET partials = ?2 WHERE id = ?1 AND partials = ''",
            params![batch_id, key],
        )?;
        Ok(())
    }

    /// The parts (reports of systems that give totals) published now, per office.
    pub fn published_parts(&self, kind: &str) -> Result<Vec<(String, String)>, StoreError> {
        let mut stmt = self.conn.prepare(
            "SELECT DISTINCT office, part FROM current_revisions WHERE kind = ?1 AND part <> '' ORDER BY office, part",
        )?;
        let rows = stmt.query_map([kind], |r| Ok((r.get(0)?, r.get(1)?)))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Writes a copy of the catalogue as it is now to `path` (one read transaction, so writers
    /// go on meanwhile).
    pub fn vacuum_into(&self, path: &Path) -> Result<(), StoreError> {
        self.conn
            .execute("VACUUM INTO ?1", [path.to_string_lossy().as_ref()])?;
        Ok(())
    }

    /// A number that changes whenever published data changes: the key for caches and ETags.
    pub fn data_version(&self) -> Result<i64, StoreError> {
        Ok(self
            .conn
            .query_row("SELECT n FROM data_generation", [], |r| r.get(0))?)
    }

    /// Sets (or replaces) a target.
    pub fn set_target(&self, kind: &str, t: &Target) -> Result<(), StoreError> {
        self.conn.execute(
            "INSERT INTO targets (kind, office, kpi, value, direction) VALUES (?1, ?2, ?3, ?4, ?5)
             ON CONFLICT (kind, office, kpi) DO UPDATE SET value = excluded.value, direction = excluded.direction",
            params![kind, t.office, t.kpi, t.value, t.direction],
        )?;
        Ok(())
    }

    /// The targets of a kind.
    pub fn targets(&self, kind: &str) -> Result<Vec<Target>, StoreError> {
        let mut stmt = self.conn.prepare("SELECT office, kpi, value, direction FROM targets WHERE kind = ?1 ORDER BY office, kpi")?;
        let rows = stmt.query_map([kind], |r| {
            Ok(Target {
                office: r.get(0)?,
                kpi: r.get(1)?,
                value: r.get(2)?,
                direction: r.get(3)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Saves (or replaces) an office's mapping profile for a kind.
    pub fn save_profile(
        &self,
        office: &str,
        kind: &str,
        profile_toml: &str,
        by: &str,
    ) -> Result<(), StoreError> {
        self.conn.execute(
            "INSERT INTO profiles (office, kind, profile, saved_by, saved_at) VALUES (?1, ?2, ?3, ?4, ?5)
             ON CONFLICT (office, kind) DO UPDATE SET profile = excluded.profile,
                 saved_by = excluded.saved_by, saved_at = excluded.saved_at",
            params![office, kind, profile_toml, by, now_text()],
        )?;
        Ok(())
    }

    /// Every saved profile as (office, kind, TOML), by office.
    pub fn profiles(&self) -> Result<Vec<(String, String, String)>, StoreError> {
        let mut stmt = self
            .conn
            .prepare("SELECT office, kind, profile FROM profiles ORDER BY office, kind")?;
        let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Attaches a note to an office's month.
    pub fn add_note(
        &self,
        office: &str,
        month: i32,
        text: &str,
        author: &str,
    ) -> Result<(), StoreError> {
        self.conn.execute(
            "INSERT INTO notes (office, month, text, author, created_at) VALUES (?1, ?2, ?3, ?4, ?5)",
            params![office, month, text, author, now_text()],
        )?;
        Ok(())
    }

    /// Publishes a current notice of an office until a time (`YYYY-MM-DDTHH:MM`, local).
    pub fn add_notice(
        &self,
        office: &str,
        text: &str,
        until: &str,
        author: &str,
    ) -> Result<i64, StoreError> {
        self.conn.execute(
            "INSERT INTO notices (office, text, until, author, created_at) VALUES (?1, ?2, ?3, ?4, ?5)",
            params![office, text, until, author, now_text()],
        )?;
        Ok(self.conn.last_insert_rowid())
    }

    /// Ends a notice now.
    pub fn end_notice(&self, id: i64) -> Result<(), StoreError> {
        self.conn.execute(
            "UPDATE notices SET until = ?2 WHERE id = ?1 AND until > ?2",
            params![id, now_text()],
        )?;
        Ok(())
    }

    /// Notices still running at `now` (`YYYY-MM-DDTHH:MM:SS`): (id, office, text, until).
    pub fn current_notices(
        &self,
        office: Option<&str>,
        now: &str,
    ) -> Result<Vec<(i64, String, String, String)>, StoreError> {
        Ok(self
            .current_notices_dated(office, now)?
            .into_iter()
            .map(|n| (n.id, n.office, n.text, n.until))
            .collect())
    }

    /// Like [`Catalog::current_notices`], with when each was written (for feeds).
    pub fn current_notices_dated(
        &self,
        office: Option<&str>,
        now: &str,
    ) -> Result<Vec<RunningNotice>, StoreError> {
        let mut stmt = self.conn.prepare(
            "SELECT id, office, text, until, created_at FROM notices WHERE until > ?2 AND (?1 IS NULL OR office = ?1) ORDER BY until, id",
        )?;
        let rows = stmt.query_map(params![office, now], |r| {
            Ok(RunningNotice {
                id: r.get(0)?,
                office: r.get(1)?,
                text: r.get(2)?,
                until: r.get(3)?,
                written: r.get(4)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Notes of an office (or all), oldest first: (office, month, text).
    pub fn notes(&self, office: Option<&str>) -> Result<Vec<(String, i32, String)>, StoreError> {
        let mut stmt = self.conn.prepare("SELECT office, month, text FROM notes WHERE (?1 IS NULL OR office = ?1) ORDER BY month, id")?;
        let rows = stmt.query_map([office], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Whether anything has ever been stored (an empty data folder gets the demo city).
    pub fn is_empty(&self) -> Result<bool, StoreError> {
        Ok(self
            .conn
            .query_row("SELECT COUNT(*) FROM batches", [], |r| r.get::<_, i64>(0))?
            == 0)
    }
}
