//! The store: immutable batches (original bytes + canonical rows as Parquet) and the
//! catalogue of published revisions.
//!
//! [`Store`] is the one narrow interface the rest of the program uses. Behind it, the
//! catalogue is SQLite ([`catalog`]) and the files are a local folder ([`files`]); a
//! deployment with several replicas swaps in PostgreSQL and S3 behind the same methods.
//!
//! Write order makes every write atomic: files first (temp file, fsync, rename), then one
//! catalogue transaction that references them. A process killed before the commit leaves
//! unreferenced files only, which are never read and are cleaned from `tmp/` on open.

mod backup;
pub mod catalog;
pub mod db;
pub mod files;
mod parquet;
pub mod transfer;

use crate::kinds::{Batch, Kind};
pub use backup::BackupReport;
use catalog::Catalog;
pub use catalog::{BatchInfo, PublishedCell, Revision, RunningNotice, Target};
pub use files::Remote;
use files::{Files, sha256_hex};
use parquet::RowGroups;
use polars::prelude::*;
use std::io::Write;
use std::path::{Path, PathBuf};
use thiserror::Error;

impl From<rusqlite::Error> for StoreError {
    fn from(e: rusqlite::Error) -> Self {
        StoreError::Db(db::DbError::Sqlite(e))
    }
}

/// Why the store could not do what was asked.
#[derive(Debug, Error)]
pub enum StoreError {
    #[error("Datenordner nicht beschreibbar / data folder not writable: {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("Katalogfehler / catalogue error: {0}")]
    Db(#[from] db::DbError),
    #[error(
        "{0} gibt es nur für einen Datenordner; für PostgreSQL dient {1} / {0} is for a data folder only; on PostgreSQL use {1}"
    )]
    NotOnPostgres(&'static str, &'static str),
    #[error(
        "Das Ziel hat schon Lieferungen oder Konten; bitte in eine leere Datenbank und einen leeren Bucket übertragen / the target already has batches or accounts; transfer into an empty database and bucket"
    )]
    TargetNotEmpty,
    #[error("Parquet: {0}")]
    Parquet(#[from] PolarsError),
    #[error(
        "Datei beschädigt (SHA-256 stimmt nicht); bitte aus der Sicherung wiederherstellen / file damaged (SHA-256 does not match); restore it from the backup: {path}"
    )]
    Damaged { path: PathBuf },
    #[error("Lieferung {0} gibt es nicht / there is no batch {0}")]
    NoSuchBatch(i64),
    #[error("Lieferung {0} ist schon veröffentlicht / batch {0} is already published")]
    AlreadyPublished(i64),
    #[error("Lieferung {0} wartet nicht auf Freigabe / batch {0} is not waiting for review")]
    NotSubmitted(i64),
    #[error(
        "Lieferung {0} wurde bei der Prüfung abgelehnt und kann nicht veröffentlicht werden; bitte neu hochladen / batch {0} was rejected in review and cannot be published; please upload again"
    )]
    Rejected(i64),
    #[error(
        "Revision {revision} von {kind}/{office}/{month} gibt es nicht; siehe `kennzahl history` / there is no such revision; see `kennzahl history`"
    )]
    NoSuchRevision {
        kind: String,
        office: String,
        month: i32,
        revision: i64,
    },
    #[error(
        "Schon veröffentlicht: {cells}. Zum Ersetzen einen Grund angeben (--reason) / Already published: {cells}. Give a reason (--reason) to replace them."
    )]
    ReplaceNeedsReason { cells: String },
    #[error(
        "Objektspeicher {url}: {why}; bitte KENNZAHL_OBJECT_STORE und AWS_* prüfen / object store {url}: {why}; check KENNZAHL_OBJECT_STORE and AWS_*"
    )]
    ObjectStore { url: String, why: String },
    #[error(
        "Sicherung in den Datenordner selbst geht nicht: bitte einen anderen Ordner angeben / the backup cannot go into the data folder itself: give another folder"
    )]
    BackupIntoItself,
    #[error(
        "Ein anderes Replikat richtet seit 30 Minuten den Katalog ein; bitte sein Protokoll prüfen oder es beenden und dieses neu starten / another replica has been setting up the catalogue for 30 minutes; check its log, or stop it and start this one again"
    )]
    OtherReplicaSettingUp,
}

impl StoreError {
    fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        StoreError::Io {
            path: path.into(),
            source,
        }
    }
}

/// The data folder: catalogue and files.
pub struct Store {
    root: PathBuf,
    catalog: Catalog,
    files: Files,
    /// The PostgreSQL server of the catalogue, if it is on one.
    database_url: Option<String>,
    /// Partial counts files read before, by key: they are small and never change, and a
    /// question over ten years reads hundreds of them.
    counts: std::sync::Mutex<std::collections::HashMap<String, DataFrame>>,
}

/// Most partial counts files kept in memory by a store (a few hundred rows each).
const COUNTS_KEPT: usize = 20_000;

/// Keeps original uploads (content-addressed, so keeping one twice is harmless).
#[derive(Debug, Clone)]
pub struct OriginalStager {
    files: Files,
}

/// Originals are kept compressed: exports are text that zstd shrinks five- to tenfold. Level 1
/// is fast enough to run beside the reading of the rows: on a 128 MB export it takes 60 % of
/// level 3's time for a file 2 % larger.
const ORIGINAL_ZSTD_LEVEL: i32 = 1;

/// From this size on, an original's match table is kept to 2^[`ORIGINAL_ZSTD_HASH_LOG`]
/// entries (8 KiB, within the L1 cache) instead of level 1's 2^14: the rows of an export
/// repeat what the rows just above them hold, which a small table finds as well. On a
/// million-row export, 12–15 % faster for a file 0.0–0.5 % larger. Smaller files keep zstd's
/// own choice, which is smaller still.
const ORIGINAL_SMALL_TABLE_FROM: usize = 1 << 20;
const ORIGINAL_ZSTD_HASH_LOG: u32 = 11;

/// `bytes` compressed as an original is kept.
fn compress_original(bytes: &[u8]) -> std::io::Result<Vec<u8>> {
    let mut zstd = zstd::bulk::Compressor::new(ORIGINAL_ZSTD_LEVEL)?;
    if bytes.len() >= ORIGINAL_SMALL_TABLE_FROM {
        zstd.set_parameter(zstd::zstd_safe::CParameter::HashLog(ORIGINAL_ZSTD_HASH_LOG))?;
    }
    zstd.compress(bytes)
}

/// An original upload that is safely on disk.
#[derive(Debug, Clone)]
pub struct StagedOriginal {
    pub sha256: String,
    pub key: String,
    /// Written by this stage (not there before), so it may be discarded.
    pub fresh: bool,
}

impl OriginalStager {
    /// Writes the bytes, zstd-compressed, under their SHA-256 (atomically) unless they are
    /// there already (compressed, or uncompressed as data folders before kept them).
    pub fn stage(&self, bytes: &[u8]) -> Result<StagedOriginal, StoreError> {
        self.stage_hashed(bytes, sha256_hex(bytes))
    }

    fn stage_hashed(&self, bytes: &[u8], sha256: String) -> Result<StagedOriginal, StoreError> {
        let plain = format!("originals/{}/{}", &sha256[..2], sha256);
        if self.files.exists(&plain)? {
            return Ok(StagedOriginal {
                sha256,
                key: plain,
                fresh: false,
            });
        }
        let key = format!("{plain}.zst");
        let fresh = !self.files.exists(&key)?;
        if fresh {
            // In one piece: zstd's streaming mode copies the input through its window first.
            let compressed = compress_original(bytes).map_err(|e| StoreError::io(&key, e))?;
            self.files.put(&key, |f| f.write_all(&compressed))?;
        }
        Ok(StagedOriginal { sha256, key, fresh })
    }

    /// Removes an original that was staged for an upload that was then refused.
    pub fn discard(&self, staged: &StagedOriginal) {
        if staged.fresh {
            self.files.remove(&staged.key);
        }
    }

    /// Keeps the bytes on a thread of its own, as [`OriginalStager::stage`] does: the rows
    /// are read, and the batch's files written, meanwhile. Their SHA-256 (which names the
    /// batch's files) is known after a tenth of the time; only the catalogue row waits for
    /// the compressed original.
    pub fn stage_in_background(&self, bytes: SharedBytes) -> Staging {
        let (sha_tx, sha_rx) = std::sync::mpsc::sync_channel(1);
        let stager = self.clone();
        let handle = std::thread::spawn(move || {
            let sha256 = sha256_hex(&bytes);
            let _ = sha_tx.send(sha256.clone());
            stager.stage_hashed(&bytes, sha256)
        });
        Staging::Running {
            sha256: sha_rx,
            handle,
        }
    }
}

/// What is left to say when the thread keeping an original ended without a word.
fn lost() -> StoreError {
    StoreError::io(
        "originals",
        std::io::Error::other("the thread keeping the original stopped"),
    )
}

/// The bytes of an upload, shared with the thread that keeps its original.
pub type SharedBytes = std::sync::Arc<dyn std::ops::Deref<Target = [u8]> + Send + Sync>;

/// An original being kept ([`OriginalStager::stage_in_background`]) or kept already.
#[derive(Debug)]
pub enum Staging {
    Done(StagedOriginal),
    Running {
        sha256: std::sync::mpsc::Receiver<String>,
        handle: std::thread::JoinHandle<Result<StagedOriginal, StoreError>>,
    },
}

impl Staging {
    /// The original's SHA-256, as soon as it is known (or `None` if keeping it failed
    /// first; [`Staging::finish`] says why). Asked once: a running thread sends it once.
    pub fn sha256(&self) -> Option<String> {
        match self {
            Staging::Done(s) => Some(s.sha256.clone()),
            Staging::Running { sha256, .. } => sha256.recv().ok(),
        }
    }

    /// Waits until the original is on disk.
    pub fn finish(self) -> Result<StagedOriginal, StoreError> {
        match self {
            Staging::Done(s) => Ok(s),
            Staging::Running { handle, .. } => handle.join().unwrap_or_else(|_| Err(lost())),
        }
    }

    /// Waits for the original and removes it again (its upload was refused).
    pub fn discard(self, stager: &OriginalStager) {
        if let Ok(staged) = self.finish() {
            stager.discard(&staged);
        }
    }
}

/// The file of one split of a batch's partials, its counts or its histograms
/// (`….partials.parquet` names them all).
fn split_file(partials: &str, split: usize, histograms: bool) -> String {
    let part = if histograms { "-hist" } else { "" };
    partials.replace(
        ".partials.parquet",
        &format!(".partials-{split}{part}.parquet"),
    )
}

/// The files of uploads waiting for their mapping, under tokens of 64 hex digits as the staff
/// area makes them, where every replica finds them (see [`Store::kept_uploads`]).
#[derive(Debug, Clone)]
pub struct KeptUploads(Files);

impl KeptUploads {
    /// Keeps the file of an upload under `token` (no local copy when the files are remote:
    /// another replica may be the one that removes it).
    pub fn keep(&self, token: &str, bytes: &[u8]) -> Result<(), StoreError> {
        self.0
            .put_uncached(&upload_key(token)?, |w| std::io::Write::write_all(w, bytes))
    }

    /// The file kept under `token`.
    pub fn get(&self, token: &str) -> Result<Vec<u8>, StoreError> {
        self.0.get_uncached(&upload_key(token)?)
    }

    /// Removes the file kept under `token` (mapped, expired or pushed out).
    pub fn forget(&self, token: &str) {
        if let Ok(key) = upload_key(token) {
            self.0.remove(&key);
        }
    }
}

/// Whether a text can be a token as the staff area makes them (64 hex digits): only such a
/// token may become part of a file name.
pub fn is_token(token: &str) -> bool {
    token.len() == 64 && token.bytes().all(|b| b.is_ascii_hexdigit())
}

/// Where an upload waiting for its mapping is kept; only for tokens as the staff area makes
/// them, so that no token can name another file.
fn upload_key(token: &str) -> Result<String, StoreError> {
    if is_token(token) {
        Ok(format!("pending/{token}"))
    } else {
        Err(StoreError::io(
            token,
            std::io::Error::new(std::io::ErrorKind::InvalidInput, "not a token"),
        ))
    }
}

/// Every file of a batch: its original, its rows and (visits) the files of its partials.
fn batch_files(original: &str, parquet: &str, partials: &str) -> Vec<String> {
    let mut keys = vec![original.to_string(), parquet.to_string()];
    if !partials.is_empty() {
        for i in 0..crate::kinds::visits::partials::SPLITS.len() {
            keys.push(split_file(partials, i, false));
            keys.push(split_file(partials, i, true));
        }
    }
    keys
}

/// Which published (office, month) cells a question reads: one office or all, months from
/// and to (inclusive) or all.
#[derive(Debug, Clone, Default)]
pub struct Cells {
    pub office: Option<String>,
    pub from: Option<i32>,
    pub to: Option<i32>,
}

impl Cells {
    /// Whether the cell of `office` and `month` is among them.
    pub fn contains(&self, office: &str, month: i32) -> bool {
        self.office.as_deref().is_none_or(|o| o == office)
            && self.from.is_none_or(|f| month >= f)
            && self.to.is_none_or(|t| month <= t)
    }
}

/// Who stores a batch.
#[derive(Debug, Clone)]
pub struct Submission<'a> {
    pub file_name: &'a str,
    pub user: &'a str,
}

impl Store {
    /// Opens the data folder, creating it when new. With `KENNZAHL_OBJECT_STORE` set
    /// (`s3://bucket/prefix`), originals and Parquet files live in that object store and the
    /// data folder keeps the catalogue and a cache of the files read.
    pub fn open(root: &Path) -> Result<Self, StoreError> {
        let remote = match std::env::var("KENNZAHL_OBJECT_STORE") {
            Ok(url) if !url.trim().is_empty() => Some(Remote::from_url(url.trim())?),
            _ => None,
        };
        Store::open_with(root, remote)
    }

    /// The data folder `root` only to be read from, whatever the settings say: the source of
    /// `kennzahl migrate`. Nothing in it is changed (no schema, no cleaning of `tmp/`), so a
    /// server may go on running on it.
    pub fn open_local_to_read(root: &Path) -> Result<Self, StoreError> {
        Ok(Store {
            root: root.to_path_buf(),
            catalog: Catalog::open_existing(&root.join("catalog.sqlite"))?,
            files: Files::open(root, None)?,
            database_url: None,
            counts: Default::default(),
        })
    }

    /// The catalogue's connection, for the staff records' tables.
    pub fn catalog_db(&self) -> &db::Db {
        self.catalog.db()
    }

    /// Runs `f` while no other process on a shared catalogue runs its own `alone` (a session
    /// lock of PostgreSQL); on a data folder, simply runs it.
    pub fn alone<T, E: From<StoreError>>(
        &mut self,
        f: impl FnOnce(&mut Store) -> Result<T, E>,
    ) -> Result<T, E> {
        let shared = self.shared_catalog();
        if shared {
            self.wait_for_session_lock()?;
        }
        let out = f(self);
        if shared {
            let _ = self
                .catalog
                .db()
                .query("SELECT pg_advisory_unlock(7412)", &[]);
        }
        out
    }

    /// Takes `alone`'s session lock, asking again every quarter second: a plain
    /// `pg_advisory_lock` would give up after the session's `lock_timeout`, while the other
    /// replica may take longer than that (loading the demo city into a slow bucket).
    fn wait_for_session_lock(&self) -> Result<(), StoreError> {
        const PATIENCE: std::time::Duration = std::time::Duration::from_secs(30 * 60);
        let started = std::time::Instant::now();
        let mut told = false;
        while !self
            .catalog
            .db()
            .exists("SELECT 1 WHERE pg_try_advisory_lock(7412)", &[])?
        {
            if started.elapsed() > PATIENCE {
                return Err(StoreError::OtherReplicaSettingUp);
            }
            if !told {
                tracing::info!("another replica is setting up the catalogue; waiting for it");
                told = true;
            }
            std::thread::sleep(std::time::Duration::from_millis(250));
        }
        Ok(())
    }

    /// The files of uploads waiting for their mapping: a handle that works without the
    /// store (and its lock), since a file of megabytes may take a while to and from a bucket.
    pub fn kept_uploads(&self) -> KeptUploads {
        KeptUploads(self.files.clone())
    }

    /// Whether the catalogue is shared with other processes on other machines (PostgreSQL):
    /// then changes are not seen in the data folder's files and must be asked for.
    pub fn shared_catalog(&self) -> bool {
        self.catalog.dialect() == db::Dialect::Postgres
    }

    /// Whether the catalogue and the object store (if any) answer: for load balancers.
    pub fn check_reachable(&self) -> Result<(), StoreError> {
        self.catalog.data_version()?;
        self.files.exists("readyz")?;
        Ok(())
    }

    /// Opens the data folder with the files in `remote`, if given (see [`Store::open`]).
    pub fn open_with(root: &Path, remote: Option<Remote>) -> Result<Self, StoreError> {
        Store::open_at(root, remote, catalog::database_url().as_deref())
    }

    /// Opens a store whose parts are all given: the data folder, the object store (if any)
    /// and the PostgreSQL server of the catalogue (if any; else the folder's SQLite file).
    pub fn open_at(
        root: &Path,
        remote: Option<Remote>,
        database_url: Option<&str>,
    ) -> Result<Self, StoreError> {
        std::fs::create_dir_all(root).map_err(|e| StoreError::io(root, e))?;
        let files = Files::open(root, remote)?;
        files.clean_tmp();
        let catalog = match database_url {
            Some(url) => Catalog::open_postgres(url)?,
            None => Catalog::open(&root.join("catalog.sqlite"))?,
        };
        Ok(Store {
            root: root.to_path_buf(),
            catalog,
            files,
            database_url: database_url.map(str::to_string),
            counts: Default::default(),
        })
    }

    /// Another store on the same parts (a connection of its own): for work at the same time.
    pub fn reopen(&self) -> Result<Self, StoreError> {
        Store::open_at(
            &self.root,
            self.files.remote().cloned(),
            self.database_url.as_deref(),
        )
    }

    /// The PostgreSQL server of the catalogue, if it is on one.
    pub fn database_url(&self) -> Option<&str> {
        self.database_url.as_deref()
    }

    /// The data folder.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Keeps an upload as a pending batch: the original bytes under their SHA-256 and the
    /// canonical rows as Parquet, then the catalogue row.
    pub fn put_batch(
        &mut self,
        batch: &mut Batch,
        original: &[u8],
        sub: &Submission,
    ) -> Result<i64, StoreError> {
        let staged = self.stager().stage(original)?;
        self.put_staged_batch(batch, Staging::Done(staged), sub)
    }

    /// A handle that keeps originals; it can work on another thread while the upload is read.
    pub fn stager(&self) -> OriginalStager {
        OriginalStager {
            files: self.files.clone(),
        }
    }

    /// Like [`Store::put_batch`], with the original kept by an [`OriginalStager`], perhaps
    /// still being kept: the batch's files are written meanwhile, and the catalogue row
    /// waits for it.
    pub fn put_staged_batch(
        &mut self,
        batch: &mut Batch,
        original: Staging,
        sub: &Submission,
    ) -> Result<i64, StoreError> {
        let Some(sha) = original.sha256() else {
            return Err(original.finish().err().unwrap_or_else(lost));
        };
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0);
        let parquet_key = format!("batches/{}-{}-{}.parquet", batch.kind, &sha[..16], nanos);
        let frame = batch.parsed.frame.clone();
        let visits = batch.kind == Kind::Visits;
        let partials_key = if visits {
            parquet_key.replace(".parquet", ".partials.parquet")
        } else {
            String::new()
        };
        // The rows are written while the partial aggregates are computed and written on the
        // other core.
        let (written, partials) = std::thread::scope(|scope| {
            let partials = visits.then(|| {
                let rows = frame.clone().lazy();
                let (files, key) = (&self.files, &partials_key);
                scope.spawn(move || write_partials(files, key, rows))
            });
            let written = if visits {
                by_office(&batch.parsed.frame)
                    .map_err(StoreError::from)
                    .and_then(|(order, runs)| {
                        let groups = visits_row_groups(&runs);
                        write_parquet_in_groups(
                            &self.files,
                            &parquet_key,
                            &mut batch.parsed.frame,
                            Some(RowGroups {
                                order: &order,
                                lengths: &groups,
                            }),
                        )
                    })
            } else {
                self.write_parquet(&parquet_key, &mut batch.parsed.frame)
            };
            let partials = partials.map(|h| h.join().expect("partials thread"));
            (written, partials)
        });
        let original = original.finish();
        written?;
        partials.transpose()?;
        let original = original?;
        let (sha, original_key) = (&original.sha256, &original.key);
        let cells: Vec<(String, i32, usize)> = batch
            .parsed
            .partitions
            .iter()
            .map(|((o, m), n)| (o.clone(), *m, *n))
            .collect();
        let notices = serde_json::to_string(&batch.notices).unwrap_or_else(|_| "[]".into());
        self.catalog.insert_batch(
            batch.kind.as_str(),
            sha,
            sub.file_name,
            sub.user,
            batch.parsed.rows,
            batch.skipped,
            &parquet_key,
            original_key,
            &notices,
            &batch.part,
            &partials_key,
            &cells,
        )
    }

    /// Refuses, before anything is stored, to replace published months without a reason.
    pub fn check_replace(
        &self,
        kind: Kind,
        part: &str,
        cells: &std::collections::BTreeMap<(String, i32), usize>,
        reason: Option<&str>,
    ) -> Result<(), StoreError> {
        if reason.is_some_and(|r| !r.trim().is_empty()) {
            return Ok(());
        }
        let cells: Vec<(String, i32)> = cells.keys().cloned().collect();
        let taken = self.catalog.published_among(kind.as_str(), part, &cells)?;
        if taken.is_empty() {
            return Ok(());
        }
        Err(StoreError::ReplaceNeedsReason {
            cells: describe_cells(&taken),
        })
    }

    /// Whether publishing `part` for these cells would replace something published.
    pub fn replaced_by(
        &self,
        kind: Kind,
        part: &str,
        cells: &[(String, i32)],
    ) -> Result<bool, StoreError> {
        Ok(!self
            .catalog
            .published_among(kind.as_str(), part, cells)?
            .is_empty())
    }

    /// Publishes a pending batch. Cells that are already published are replaced only with a
    /// reason, which the public sees in the revision history.
    pub fn publish(
        &mut self,
        batch: i64,
        user: &str,
        reason: Option<&str>,
    ) -> Result<Vec<Revision>, StoreError> {
        self.publish_as(batch, user, reason, false)
    }

    /// Publishes a batch that was submitted for review: approving the review and publishing
    /// are one transaction, so a batch is never published without its approval recorded, nor
    /// approved without being published.
    pub fn approve_and_publish(
        &mut self,
        batch: i64,
        publisher: &str,
        reason: Option<&str>,
    ) -> Result<Vec<Revision>, StoreError> {
        self.publish_as(batch, publisher, reason, true)
    }

    fn publish_as(
        &mut self,
        batch: i64,
        user: &str,
        reason: Option<&str>,
        approved_review: bool,
    ) -> Result<Vec<Revision>, StoreError> {
        let info = self
            .catalog
            .batch(batch)?
            .ok_or(StoreError::NoSuchBatch(batch))?;
        let cells: Vec<(String, i32)> = self
            .catalog
            .batch_cells(batch)?
            .into_iter()
            .map(|(o, m, _)| (o, m))
            .collect();
        let taken = self
            .catalog
            .published_among(&info.kind, &info.part, &cells)?;
        let reason = reason.map(str::trim).filter(|r| !r.is_empty());
        if !taken.is_empty() && reason.is_none() {
            return Err(StoreError::ReplaceNeedsReason {
                cells: describe_cells(&taken),
            });
        }
        self.catalog.publish(
            batch,
            user,
            reason.unwrap_or("Erstveröffentlichung"),
            approved_review,
        )
    }

    /// The revision history of a kind.
    pub fn history(
        &self,
        kind: Kind,
        office: Option<&str>,
        month: Option<i32>,
    ) -> Result<Vec<Revision>, StoreError> {
        self.catalog.history(kind.as_str(), office, month)
    }

    /// Makes an earlier revision current again (as a new revision, so nothing is lost).
    pub fn rollback(
        &mut self,
        kind: Kind,
        office: &str,
        month: i32,
        to: i64,
        user: &str,
        reason: &str,
    ) -> Result<Revision, StoreError> {
        self.catalog
            .rollback(kind.as_str(), office, month, to, user, reason)
    }

    /// A batch's catalogue entry.
    pub fn batch(&self, id: i64) -> Result<Option<BatchInfo>, StoreError> {
        self.catalog.batch(id)
    }

    /// The original bytes of a batch, as uploaded.
    /// Checked against its SHA-256: a damaged file is an error, never a wrong download.
    pub fn original(&self, id: i64) -> Result<Vec<u8>, StoreError> {
        let b = self.catalog.batch(id)?.ok_or(StoreError::NoSuchBatch(id))?;
        let stored = self.files.get(&b.original)?;
        let bytes = if b.original.ends_with(".zst") {
            zstd::stream::decode_all(stored.as_slice())
                .map_err(|e| StoreError::io(self.files.describe(&b.original), e))?
        } else {
            stored
        };
        if sha256_hex(&bytes) != b.sha256 {
            return Err(StoreError::Damaged {
                path: self.files.describe(&b.original),
            });
        }
        Ok(bytes)
    }

    /// The (office, month, rows) cells a batch covers.
    pub fn batch_cells(&self, id: i64) -> Result<Vec<(String, i32, i64)>, StoreError> {
        self.catalog.batch_cells(id)
    }

    /// The offices with published data of a kind (from the catalogue, no rows read), with the
    /// newest published month of each before `before`.
    pub fn published_offices(
        &self,
        kind: Kind,
        before: i32,
    ) -> Result<Vec<(String, Option<i32>)>, StoreError> {
        self.catalog.published_offices(kind.as_str(), before)
    }

    /// When a kind was first and last published (local times `YYYY-MM-DDTHH:MM:SS`).
    pub fn publication_span(&self, kind: Kind) -> Result<Option<(String, String)>, StoreError> {
        self.catalog.publication_span(kind.as_str())
    }

    /// The reports of systems that give totals instead of single rows (ZMS statistics) that
    /// are published now, as (office, part); a part reads `zms:REPORT:LOCATION`.
    pub fn published_parts(&self, kind: Kind) -> Result<Vec<(String, String)>, StoreError> {
        self.catalog.published_parts(kind.as_str())
    }

    /// The published rows of a kind as a lazy frame (`None` when nothing is published):
    /// for each published (office, month) the rows of its current revision's batch.
    pub fn published_rows(&self, kind: Kind) -> Result<Option<LazyFrame>, StoreError> {
        self.published_rows_but(kind, None)
    }

    /// The published rows of the cells a question reads: files of other offices and months
    /// are not opened at all.
    pub fn published_rows_of(
        &self,
        kind: Kind,
        cells: &Cells,
    ) -> Result<Option<LazyFrame>, StoreError> {
        self.union(kind, self.published_cells_among(kind, cells)?, false)
    }

    /// The published rows of `cells`, a lazy frame per batch: for questions that merge what
    /// they compute batch by batch (holding one batch's rows at a time).
    pub fn published_row_batches(
        &self,
        kind: Kind,
        cells: &Cells,
    ) -> Result<Vec<LazyFrame>, StoreError> {
        self.batch_frames(kind, self.published_cells_among(kind, cells)?, false)
    }

    /// The published cells of a kind among `cells`.
    fn published_cells_among(
        &self,
        kind: Kind,
        cells: &Cells,
    ) -> Result<Vec<PublishedCell>, StoreError> {
        let mut all = self.catalog.published_cells(kind.as_str())?;
        all.retain(|c| cells.contains(&c.office, c.month));
        Ok(all)
    }

    /// The published rows without those of one part: what a month will hold when an upload
    /// of that part replaces it (for the upload preview).
    pub fn published_rows_but(
        &self,
        kind: Kind,
        part: Option<&str>,
    ) -> Result<Option<LazyFrame>, StoreError> {
        let mut cells = self.catalog.published_cells(kind.as_str())?;
        if let Some(part) = part {
            cells.retain(|c| c.part != part);
        }
        self.union(kind, cells, false)
    }

    /// The partial aggregates of one split of the published visits (see `kpi::partials`): for
    /// each published (office, month) among `of` those of its current revision's batch; made
    /// now and kept for batches stored before partials existed.
    pub fn published_partials(
        &self,
        of: &Cells,
        split: usize,
        histograms: bool,
    ) -> Result<Option<LazyFrame>, StoreError> {
        let mut cells = self.catalog.published_cells(Kind::Visits.as_str())?;
        cells.retain(|c| of.contains(&c.office, c.month));
        let mut made: Vec<i64> = Vec::new();
        for c in cells.iter_mut() {
            if c.partials.is_empty() {
                let key = c.parquet.replace(".parquet", ".partials.parquet");
                if !made.contains(&c.batch_id) {
                    let rows = LazyFrame::scan_parquet(
                        self.files
                            .local(&c.parquet)?
                            .to_string_lossy()
                            .as_ref()
                            .into(),
                        ScanArgsParquet::default(),
                    )?;
                    write_partials(&self.files, &key, rows)?;
                    self.catalog.set_partials(c.batch_id, &key)?;
                    made.push(c.batch_id);
                }
                c.partials = key;
            }
        }
        let counts: Vec<PublishedCell> = cells
            .iter()
            .map(|c| PublishedCell {
                parquet: split_file(&c.partials, split, false),
                ..c.clone()
            })
            .collect();
        let counts = self.counts_union(counts)?;
        if !histograms {
            return Ok(counts);
        }
        let hist: Vec<PublishedCell> = cells
            .into_iter()
            .map(|c| PublishedCell {
                parquet: split_file(&c.partials, split, true),
                ..c
            })
            .collect();
        Ok(match (counts, self.union(Kind::Visits, hist, true)?) {
            (Some(c), Some(h)) => Some(concat([c, h], UnionArgs::default())?),
            (c, h) => c.or(h),
        })
    }

    /// Writes a frame as zstd Parquet (about two thirds of LZ4's size for rows of visits),
    /// atomically.
    fn write_parquet(&self, key: &str, frame: &mut DataFrame) -> Result<(), StoreError> {
        write_parquet(&self.files, key, frame)
    }

    /// The partial counts of `cells` (sorted by batch) as one frame, each file read once and
    /// then kept in memory.
    fn counts_union(&self, cells: Vec<PublishedCell>) -> Result<Option<LazyFrame>, StoreError> {
        let mut all: Option<DataFrame> = None;
        let mut i = 0;
        while i < cells.len() {
            let mut j = i;
            while j < cells.len() && cells[j].batch_id == cells[i].batch_id {
                j += 1;
            }
            let key = &cells[i].parquet;
            let known = self.counts.lock().ok().and_then(|m| m.get(key).cloned());
            let df = match known {
                Some(df) => df,
                None => {
                    let path = self.files.local(key)?;
                    let file = std::fs::File::open(&path).map_err(|e| StoreError::io(&path, e))?;
                    let df = ParquetReader::new(file).finish()?;
                    if let Ok(mut m) = self.counts.lock() {
                        if m.len() >= COUNTS_KEPT {
                            m.clear();
                        }
                        m.insert(key.clone(), df.clone());
                    }
                    df
                }
            };
            let wanted = &cells[i..j];
            let batch_cells = self.catalog.batch_cells(cells[i].batch_id)?;
            let df = if wanted.len() == batch_cells.len() {
                df
            } else {
                let offices = df.column("office")?.str()?.clone();
                let months = df.column("month")?.i32()?.clone();
                let mask: BooleanChunked = offices
                    .iter()
                    .zip(months.iter())
                    .map(|(o, m)| {
                        wanted
                            .iter()
                            .any(|c| Some(c.office.as_str()) == o && Some(c.month) == m)
                    })
                    .collect();
                df.filter(&mask)?
            };
            match &mut all {
                Some(a) => {
                    a.vstack_mut(&df)?;
                }
                None => all = Some(df),
            }
            i = j;
        }
        Ok(all.map(|mut df| {
            df.rechunk_mut();
            df.lazy()
        }))
    }

    /// One lazy frame over the files of `cells` (sorted by batch), each batch filtered to its
    /// published cells; with `histograms`, the files are partials' histograms.
    fn union(
        &self,
        kind: Kind,
        cells: Vec<PublishedCell>,
        histograms: bool,
    ) -> Result<Option<LazyFrame>, StoreError> {
        let frames = self.batch_frames(kind, cells, histograms)?;
        if frames.is_empty() {
            return Ok(None);
        }
        Ok(Some(concat(frames, UnionArgs::default())?))
    }

    /// A lazy frame per batch of `cells` (sorted by batch), as [`Store::union`] joins them.
    fn batch_frames(
        &self,
        kind: Kind,
        cells: Vec<PublishedCell>,
        histograms: bool,
    ) -> Result<Vec<LazyFrame>, StoreError> {
        let mut frames = Vec::new();
        let mut i = 0;
        while i < cells.len() {
            let batch = cells[i].batch_id;
            let mut j = i;
            while j < cells.len() && cells[j].batch_id == batch {
                j += 1;
            }
            let wanted = &cells[i..j];
            let batch_cells = self.catalog.batch_cells(batch)?;
            let path = self.files.local(&cells[i].parquet)?;
            let mut lf = LazyFrame::scan_parquet(
                path.to_string_lossy().as_ref().into(),
                ScanArgsParquet::default(),
            )?;
            match kind {
                _ if histograms => lf = crate::kinds::visits::partials::conformed_histograms(lf)?,
                Kind::Visits => lf = crate::kinds::visits::with_aggregate_columns(lf)?,
                Kind::Contacts => lf = crate::kinds::contacts::with_call_columns(lf)?,
                _ => {}
            }
            let lf = if wanted.len() == batch_cells.len() {
                lf
            } else {
                let keep = wanted
                    .iter()
                    .map(|c| {
                        col("office")
                            .eq(lit(c.office.clone()))
                            .and(col("month").eq(lit(c.month)))
                    })
                    .reduce(|a, b| a.or(b))
                    .unwrap_or(lit(false));
                lf.filter(keep)
            };
            frames.push(lf);
            i = j;
        }
        Ok(frames)
    }

    /// Publishes a current notice of an office until a local time (`YYYY-MM-DDTHH:MM`).
    pub fn add_notice(
        &self,
        office: &str,
        text: &str,
        until: &str,
        author: &str,
    ) -> Result<i64, StoreError> {
        self.catalog.add_notice(office, text, until, author)
    }

    /// Ends a notice now.
    pub fn end_notice(&self, id: i64) -> Result<(), StoreError> {
        self.catalog.end_notice(id)
    }

    /// Notices running now: (id, office, text, until).
    pub fn current_notices(
        &self,
        office: Option<&str>,
    ) -> Result<Vec<(i64, String, String, String)>, StoreError> {
        let now = catalog::now_text();
        self.catalog.current_notices(office, &now)
    }

    /// Copies the data folder into `to` while it may be in use: the catalogue of one moment
    /// and every file it refers to; into an earlier backup only what is new (see `backup`).
    pub fn backup_to(&self, to: &Path) -> Result<BackupReport, StoreError> {
        backup::backup(&self.catalog, &self.files, &self.root, to)
    }

    /// The running notices with when each was written.
    pub fn current_notices_dated(
        &self,
        office: Option<&str>,
    ) -> Result<Vec<RunningNotice>, StoreError> {
        let now = catalog::now_text();
        self.catalog.current_notices_dated(office, &now)
    }

    /// When the next running notice ends (local `YYYY-MM-DDTHH:MM…`), for caches.
    pub fn next_notice_end(&self) -> Result<Option<String>, StoreError> {
        Ok(self.current_notices(None)?.into_iter().map(|n| n.3).min())
    }

    /// The version of the published data, for caches.
    pub fn data_version(&self) -> Result<i64, StoreError> {
        self.catalog.data_version()
    }

    /// Sets a target.
    pub fn set_target(&self, kind: Kind, target: &Target) -> Result<(), StoreError> {
        self.catalog.set_target(kind.as_str(), target)
    }

    /// The targets of a kind.
    pub fn targets(&self, kind: Kind) -> Result<Vec<Target>, StoreError> {
        self.catalog.targets(kind.as_str())
    }

    /// Saves an office's mapping profile (its TOML text) for a kind, for its next upload.
    pub fn save_profile(
        &self,
        office: &str,
        kind: &str,
        profile_toml: &str,
        by: &str,
    ) -> Result<(), StoreError> {
        self.catalog.save_profile(office, kind, profile_toml, by)
    }

    /// The saved mapping profiles as (office, TOML text).
    pub fn profiles(&self) -> Result<Vec<(String, String)>, StoreError> {
        Ok(self
            .catalog
            .profiles()?
            .into_iter()
            .map(|(office, _, text)| (office, text))
            .collect())
    }

    /// Attaches a note to an office's month.
    pub fn add_note(
        &self,
        office: &str,
        month: i32,
        text: &str,
        author: &str,
    ) -> Result<(), StoreError> {
        self.catalog.add_note(office, month, text, author)
    }

    /// Notes of an office (or all): (office, month, text).
    pub fn notes(&self, office: Option<&str>) -> Result<Vec<(String, i32, String)>, StoreError> {
        self.catalog.notes(office)
    }

    /// Whether the store holds no batch yet.
    pub fn is_empty(&self) -> Result<bool, StoreError> {
        self.catalog.is_empty()
    }
}

fn describe_cells(cells: &[(String, i32)]) -> String {
    cells
        .iter()
        .map(|(o, m)| format!("{o} {}", crate::timefmt::format_month(*m)))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Writes a frame as zstd Parquet, atomically (see [`Store::write_parquet`]).
fn write_parquet(files: &Files, key: &str, frame: &mut DataFrame) -> Result<(), StoreError> {
    write_parquet_in_groups(files, key, frame, None)
}

/// The row groups of a batch of visits rows sorted by office, from the length of each
/// office's run of rows: a question about one office skips the other offices' row groups by
/// their statistics instead of decoding them, so groups end where an office's rows end (a
/// weekday × hour chart over a year of one office of four reads a quarter of the rows, not
/// the half that groups of a fixed size straddling offices made it read). Offices with few
/// rows share a group of at least 16,384 rows (each group costs time to write); an office
/// with over a million rows gets groups of a million.
fn visits_row_groups(runs: &[usize]) -> Vec<usize> {
    const SMALLEST: usize = 1 << 14;
    const LARGEST: usize = 1 << 20;
    let mut groups = Vec::new();
    let mut open = 0;
    for &run in runs {
        let mut rest = run;
        while open + rest > LARGEST {
            let take = LARGEST - open;
            groups.push(LARGEST);
            rest -= take;
            open = 0;
        }
        open += rest;
        if open >= SMALLEST {
            groups.push(open);
            open = 0;
        }
    }
    if open > 0 {
        groups.push(open);
    }
    groups
}

/// The order that puts the rows of each office together, offices in the order of their names,
/// each office's rows in their order in the file, with the length of each office's run: a
/// counting sort, since a batch has few offices and a general sort of a million rows by a text
/// costs half a second.
fn by_office(frame: &DataFrame) -> PolarsResult<(Vec<IdxSize>, Vec<usize>)> {
    let office = frame.column("office")?.str()?;
    let mut texts = crate::kinds::Texts::default();
    let mut codes = texts.ids_of(office);
    // A missing office is a name of its own, after the texts.
    let mut names: Vec<Option<&str>> = texts.values.iter().map(|&t| Some(t)).collect();
    if codes.contains(&crate::kinds::MISSING) {
        let missing = names.len() as u32;
        names.push(None);
        for c in codes.iter_mut().filter(|c| **c == crate::kinds::MISSING) {
            *c = missing;
        }
    }
    // Where each office's rows begin, offices in name order (a missing name first).
    let mut order: Vec<u32> = (0..names.len() as u32).collect();
    order.sort_by_key(|&c| names[c as usize]);
    let mut count = vec![0usize; names.len()];
    for &c in &codes {
        count[c as usize] += 1;
    }
    let mut start = vec![0usize; names.len()];
    let mut at = 0;
    for &c in &order {
        start[c as usize] = at;
        at += count[c as usize];
    }
    let mut idx = vec![0 as IdxSize; codes.len()];
    for (row, &c) in codes.iter().enumerate() {
        idx[start[c as usize]] = row as IdxSize;
        start[c as usize] += 1;
    }
    let runs = order.iter().map(|&c| count[c as usize]).collect();
    Ok((idx, runs))
}

/// [`write_parquet`] with the rows in the order and row groups of `groups` (as they are, in
/// row groups of polars' default size, when `None`); see [`parquet::write_rows`].
fn write_parquet_in_groups(
    files: &Files,
    key: &str,
    frame: &mut DataFrame,
    groups: Option<RowGroups>,
) -> Result<(), StoreError> {
    let mut write_err = None;
    let put = files.put(key, |f| {
        parquet::write_rows(f, frame, groups).map_err(|e| {
            let msg = e.to_string();
            write_err = Some(e);
            std::io::Error::other(msg)
        })
    });
    // The writer's own error is said as such, not as a folder that cannot be written.
    match write_err {
        Some(e) => Err(e.into()),
        None => put,
    }
}

/// Computes and writes the partial aggregates of a batch of visits rows, two files per split
/// (its counts and its histograms; a question reads one split).
fn write_partials(files: &Files, key: &str, rows: LazyFrame) -> Result<(), StoreError> {
    crate::kinds::visits::partials::each(rows, |i, (mut counts, mut hist)| {
        write_parquet(files, &split_file(key, i, false), &mut counts)?;
        write_parquet(files, &split_file(key, i, true), &mut hist)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Each office's rows together, offices by name, each office's rows in file order.
    #[test]
    fn by_office_keeps_the_order_within_each_office() {
        let frame = df![
            "office" => [Some("Nord"), Some("Amt B"), None, Some("Nord"), Some("Amt B")],
            "line" => [1i32, 2, 3, 4, 5],
        ]
        .unwrap();
        let (order, runs) = by_office(&frame).unwrap();
        assert_eq!(runs, [1, 2, 2]);
        let sorted = frame.take(&IdxCa::from_vec("idx".into(), order)).unwrap();
        let lines: Vec<Option<i32>> = sorted
            .column("line")
            .unwrap()
            .i32()
            .unwrap()
            .iter()
            .collect();
        assert_eq!(lines, [Some(3), Some(2), Some(5), Some(1), Some(4)]);
    }

    /// A frame the writer refuses is reported as the writer's error, not as a data folder
    /// that cannot be written, and leaves no file behind.
    #[test]
    fn a_refused_frame_is_not_a_folder_problem() {
        let dir = tempfile::tempdir().unwrap();
        let files = Files::open(dir.path(), None).unwrap();
        let mut frame = df!["line" => [1i32, 2, 3]].unwrap();
        let order: Vec<IdxSize> = vec![0, 1, 2];
        let short = RowGroups {
            order: &order,
            lengths: &[2],
        };
        let err = write_parquet_in_groups(&files, "batches/x.parquet", &mut frame, Some(short))
            .unwrap_err();
        assert!(matches!(err, StoreError::Parquet(_)), "{err}");
        assert!(!files.local("batches/x.parquet").unwrap().exists());
    }

    /// Row groups end where an office's rows end; small offices share one, large ones are cut.
    #[test]
    fn row_groups_follow_the_offices() {
        let k = 1 << 14;
        assert_eq!(visits_row_groups(&[62_500, 62_500]), [62_500, 62_500]);
        assert_eq!(visits_row_groups(&[100, 200, k, 300]), [k + 300, 300]);
        assert_eq!(visits_row_groups(&[10, 20]), [30]);
        assert_eq!(visits_row_groups(&[(1 << 20) + 5, 10]), [1 << 20, 15]);
        assert_eq!(visits_row_groups(&[]), Vec::<usize>::new());
        // Every row in exactly one group, whatever the offices' sizes.
        let mut seed = 7u64;
        for _ in 0..200 {
            let runs: Vec<usize> = (0..(seed % 12) as usize)
                .map(|_| {
                    seed = seed
                        .wrapping_mul(6364136223846793005)
                        .wrapping_add(1442695040888963407);
                    (seed >> 33) as usize % (3 << 20)
                })
                .collect();
            let groups = visits_row_groups(&runs);
            assert_eq!(
                groups.iter().sum::<usize>(),
                runs.iter().sum::<usize>(),
                "{runs:?}"
            );
            assert!(
                groups.iter().all(|&g| g > 0 && g <= 1 << 20),
                "{runs:?}: {groups:?}"
            );
        }
    }
}
