//! The object side of the store: immutable files (original uploads, batch Parquet) written
//! atomically under a key. Today a local folder; the same calls map onto S3 `PutObject`.

use super::StoreError;
use sha2::{Digest, Sha256};
use std::fs::{self, File};
use std::io::BufWriter;
use std::path::{Path, PathBuf};

/// Immutable files under keys like `originals/ab/ab12….csv` or `batches/17.parquet`.
#[derive(Debug, Clone)]
pub struct LocalFiles {
    root: PathBuf,
}

impl LocalFiles {
    /// Files under `root`, creating the folders.
    pub fn open(root: &Path) -> Result<Self, StoreError> {
        for dir in ["originals", "batches", "tmp"] {
            fs::create_dir_all(root.join(dir)).map_err(|e| StoreError::io(root.join(dir), e))?;
        }
        Ok(LocalFiles {
            root: root.to_path_buf(),
        })
    }

    /// Where a key lives on disk (for polars to scan).
    pub fn path(&self, key: &str) -> PathBuf {
        self.root.join(key)
    }

    /// Writes `key` so that it either exists whole or not at all: temp file, fsync, rename,
    /// fsync of the folder. An existing key is left as it is (keys are content-addressed or
    /// unique, so it already holds the same bytes).
    pub fn put(
        &self,
        key: &str,
        write: impl FnOnce(&mut BufWriter<File>) -> std::io::Result<()>,
    ) -> Result<(), StoreError> {
        let target = self.path(key);
        if target.exists() {
            return Ok(());
        }
        let dir = target.parent().unwrap_or(&self.root).to_path_buf();
        fs::create_dir_all(&dir).map_err(|e| StoreError::io(&dir, e))?;
        let tmp = self.root.join("tmp").join(format!(
            "{}.{}.part",
            std::process::id(),
            key.replace('/', "_")
        ));
        let result = (|| {
            // Buffered: Parquet and zstd writers write in small pieces (50,000 system calls
            // for a million rows unbuffered).
            let mut f = BufWriter::with_capacity(1 << 20, File::create(&tmp)?);
            write(&mut f)?;
            let f = f.into_inner().map_err(|e| e.into_error())?;
            f.sync_all()?;
            fs::rename(&tmp, &target)?;
            File::open(&dir)?.sync_all()
        })();
        if result.is_err() {
            let _ = fs::remove_file(&tmp);
        }
        result.map_err(|e| StoreError::io(&target, e))
    }

    /// Reads a key whole.
    pub fn get(&self, key: &str) -> Result<Vec<u8>, StoreError> {
        let p = self.path(key);
        fs::read(&p).map_err(|e| StoreError::io(p, e))
    }

    /// Removes leftovers of writes that were interrupted (a killed import).
    pub fn clean_tmp(&self) {
        if let Ok(entries) = fs::read_dir(self.root.join("tmp")) {
            for e in entries.flatten() {
                let _ = fs::remove_file(e.path());
            }
        }
    }
}

/// The SHA-256 of bytes, in hex: the name under which an original is kept.
pub fn sha256_hex(bytes: &[u8]) -> String {
    let digest = Sha256::digest(bytes);
    digest.iter().map(|b| format!("{b:02x}")).collect()
}
