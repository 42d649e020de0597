//! A consistent copy of a data folder while Kennzahl runs: the catalogue as it is at one
//! moment (SQLite's `VACUUM INTO`, which reads in one transaction while others write), then
//! every file that catalogue refers to. Files are immutable and named uniquely, so a second
//! backup into the same folder copies only what is new; originals copied are checked against
//! their SHA-256. The catalogue is put in place last: at every moment the backup folder is a
//! whole data folder (the previous backup, or the new one).

use super::catalog::Catalog;
use super::files::{Files, LocalFiles, sha256_hex};
use super::{StoreError, batch_files};
use rusqlite::Connection;
use std::path::Path;

/// What a backup did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct BackupReport {
    /// Batches (uploads) the copied catalogue holds.
    pub batches: usize,
    /// Files copied now.
    pub copied: usize,
    /// Bytes of the files copied now.
    pub bytes: u64,
    /// Files the backup folder had already.
    pub kept: usize,
}

/// Backs up the data folder `root` (whose catalogue is open as `catalog`) into `to`.
pub(super) fn backup(
    catalog: &Catalog,
    files: &Files,
    root: &Path,
    to: &Path,
) -> Result<BackupReport, StoreError> {
    std::fs::create_dir_all(to).map_err(|e| StoreError::io(to, e))?;
    let same = |a: &Path, b: &Path| match (a.canonicalize(), b.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    };
    if same(root, to) {
        return Err(StoreError::BackupIntoItself);
    }
    let target = LocalFiles::open(to)?;
    let snapshot = to
        .join("tmp")
        .join(format!("catalog-{}.sqlite", std::process::id()));
    let _ = std::fs::remove_file(&snapshot);
    catalog.vacuum_into(&snapshot)?;
    let result = copy_files(&snapshot, files, &target);
    if result.is_err() {
        let _ = std::fs::remove_file(&snapshot);
        return result;
    }
    let dest = to.join("catalog.sqlite");
    // A WAL left by a server that ran on the backup folder belongs to the old catalogue.
    for stale in ["catalog.sqlite-wal", "catalog.sqlite-shm"] {
        let _ = std::fs::remove_file(to.join(stale));
    }
    std::fs::rename(&snapshot, &dest).map_err(|e| StoreError::io(&dest, e))?;
    std::fs::File::open(to)
        .and_then(|d| d.sync_all())
        .map_err(|e| StoreError::io(to, e))?;
    result
}

/// Copies every file the catalogue `snapshot` refers to from `files` into `target` (from
/// an object store through the local cache).
fn copy_files(
    snapshot: &Path,
    files: &Files,
    target: &LocalFiles,
) -> Result<BackupReport, StoreError> {
    let db = Connection::open(snapshot)?;
    let mut stmt = db.prepare("SELECT sha256, original, parquet, partials FROM batches")?;
    let batches = stmt
        .query_map([], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, String>(3)?,
            ))
        })?
        .collect::<Result<Vec<_>, _>>()?;
    let mut report = BackupReport {
        batches: batches.len(),
        ..BackupReport::default()
    };
    for (sha, original, parquet, partials) in &batches {
        for key in batch_files(original, parquet, partials) {
            if target.path(&key).exists() {
                report.kept += 1;
                continue;
            }
            if key != *original && !files.exists(&key)? {
                // Partials of a batch stored before partials existed come on first use.
                continue;
            }
            let from = files.local(&key)?;
            let mut src = std::fs::File::open(&from).map_err(|e| StoreError::io(&from, e))?;
            target.put(&key, |w| std::io::copy(&mut src, w).map(|_| ()))?;
            report.copied += 1;
            report.bytes += std::fs::metadata(target.path(&key))
                .map(|m| m.len())
                .unwrap_or(0);
            if key == *original {
                check_original(target, &key, sha)?;
            }
        }
    }
    Ok(report)
}

/// Reads a copied original back and compares its SHA-256 with the catalogue's.
fn check_original(files: &LocalFiles, key: &str, sha: &str) -> Result<(), StoreError> {
    let stored = files.get(key)?;
    let bytes = if key.ends_with(".zst") {
        zstd::stream::decode_all(stored.as_slice())
            .map_err(|e| StoreError::io(files.path(key), e))?
    } else {
        stored
    };
    if sha256_hex(&bytes) != sha {
        let path = files.path(key);
        let _ = std::fs::remove_file(&path);
        return Err(StoreError::Damaged { path });
    }
    Ok(())
}
