//! The object side of the store: immutable files (original uploads, batch Parquet) written
//! atomically under a key. In the data folder ([`LocalFiles`]), or in S3-compatible object
//! storage with the data folder as a cache of what was read ([`Files`] with a [`Remote`]):
//! files never change once written, so a cached copy is never stale, and polars reads local
//! files either way.

use super::StoreError;
use object_store::ObjectStoreExt;
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

/// The files of a store: local, or remote with a local cache.
#[derive(Debug, Clone)]
pub struct Files {
    local: LocalFiles,
    remote: Option<Remote>,
}

impl Files {
    /// Files in the data folder `root`; in the object store `remote` when given, with `root`
    /// as its cache.
    pub fn open(root: &Path, remote: Option<Remote>) -> Result<Self, StoreError> {
        Ok(Files {
            local: LocalFiles::open(root)?,
            remote,
        })
    }

    /// The object store, if the files are in one.
    pub fn remote(&self) -> Option<&Remote> {
        self.remote.as_ref()
    }

    /// Where a key is (for messages): its local path, or its object URL.
    pub fn describe(&self, key: &str) -> PathBuf {
        match &self.remote {
            Some(r) => PathBuf::from(r.url(key)),
            None => self.local.path(key),
        }
    }

    /// Whether a key is stored.
    pub fn exists(&self, key: &str) -> Result<bool, StoreError> {
        if self.local.path(key).exists() {
            return Ok(true);
        }
        match &self.remote {
            Some(r) => r.exists(key),
            None => Ok(false),
        }
    }

    /// Writes `key` whole or not at all (see [`LocalFiles::put`]); with a remote, the local
    /// copy is then uploaded in one request, which an object store also takes whole or not
    /// at all.
    pub fn put(
        &self,
        key: &str,
        write: impl FnOnce(&mut BufWriter<File>) -> std::io::Result<()>,
    ) -> Result<(), StoreError> {
        self.local.put(key, write)?;
        if let Some(r) = &self.remote {
            r.upload(key, &self.local.path(key))?;
        }
        Ok(())
    }

    /// A local path holding the key (fetched into the cache first when remote).
    pub fn local(&self, key: &str) -> Result<PathBuf, StoreError> {
        let path = self.local.path(key);
        if !path.exists()
            && let Some(r) = &self.remote
        {
            let bytes = r.download(key)?;
            self.local
                .put(key, |w| std::io::Write::write_all(w, &bytes))?;
        }
        Ok(path)
    }

    /// Reads a key whole.
    pub fn get(&self, key: &str) -> Result<Vec<u8>, StoreError> {
        let p = self.local(key)?;
        fs::read(&p).map_err(|e| StoreError::io(p, e))
    }

    /// Reads a key from where it is kept for good (the object store, if any), not from the
    /// cache: to check that a copy arrived.
    pub fn get_fresh(&self, key: &str) -> Result<Vec<u8>, StoreError> {
        match &self.remote {
            Some(r) => r.download(key),
            None => self.local.get(key),
        }
    }

    /// Writes `key` like [`Files::put`], keeping no local copy when the files are remote: for
    /// files that another replica may be the one to remove.
    pub fn put_uncached(
        &self,
        key: &str,
        write: impl FnOnce(&mut BufWriter<File>) -> std::io::Result<()>,
    ) -> Result<(), StoreError> {
        self.put(key, write)?;
        if self.remote.is_some() {
            let _ = fs::remove_file(self.local.path(key));
        }
        Ok(())
    }

    /// Reads `key` without keeping a local copy of a remote file (see [`Files::put_uncached`]).
    pub fn get_uncached(&self, key: &str) -> Result<Vec<u8>, StoreError> {
        if self.local.path(key).exists() || self.remote.is_none() {
            return self.local.get(key);
        }
        self.get_fresh(key)
    }

    /// Removes a key (an original staged for an upload that was then refused).
    pub fn remove(&self, key: &str) {
        let _ = fs::remove_file(self.local.path(key));
        if let Some(r) = &self.remote {
            r.remove(key);
        }
    }

    /// Removes leftovers of interrupted writes.
    pub fn clean_tmp(&self) {
        self.local.clean_tmp();
    }
}

/// An S3-compatible bucket (and prefix) the files live in: `KENNZAHL_OBJECT_STORE=s3://…`,
/// with the usual `AWS_ENDPOINT_URL`, `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`,
/// `AWS_REGION` and `AWS_ALLOW_HTTP`. The store is synchronous; each request runs on a
/// small runtime of its own, on a thread of its own, so that it can be called from
/// anywhere, also from a thread that belongs to the server's runtime.
#[derive(Clone)]
pub struct Remote {
    url: String,
    store: std::sync::Arc<dyn object_store::ObjectStore>,
    prefix: object_store::path::Path,
    runtime: std::sync::Arc<OwnRuntime>,
}

/// The runtime of a [`Remote`]. Dropping a runtime inside another runtime's task panics, and
/// a store may well be dropped there (the server's state at shutdown, a test's router); so
/// it is shut down in the background instead.
struct OwnRuntime(Option<tokio::runtime::Runtime>);

impl Drop for OwnRuntime {
    fn drop(&mut self) {
        if let Some(rt) = self.0.take() {
            rt.shutdown_background();
        }
    }
}

impl std::fmt::Debug for Remote {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Remote").field("url", &self.url).finish()
    }
}

impl Remote {
    /// The object store of a URL (`s3://bucket/prefix`), configured from the environment.
    pub fn from_url(url: &str) -> Result<Self, StoreError> {
        Remote::from_url_with(url, &[])
    }

    /// Like [`Remote::from_url`], with settings (`AWS_ENDPOINT_URL` …) given here taking the
    /// place of the environment's: for a process that talks to several stores (tests).
    pub fn from_url_with(url: &str, settings: &[(String, String)]) -> Result<Self, StoreError> {
        let refused = |why: String| StoreError::ObjectStore {
            url: url.to_string(),
            why,
        };
        let parsed = url::Url::parse(url).map_err(|e| refused(e.to_string()))?;
        if parsed.scheme() != "s3" {
            return Err(refused(
                "erwartet s3://Bucket/Pfad / expected s3://bucket/prefix".into(),
            ));
        }
        let mut builder = object_store::aws::AmazonS3Builder::from_env().with_url(url);
        for (name, value) in settings {
            if let Ok(key) = name
                .to_ascii_lowercase()
                .parse::<object_store::aws::AmazonS3ConfigKey>()
            {
                builder = builder.with_config(key, value);
            }
        }
        let store = builder.build().map_err(|e| refused(e.to_string()))?;
        let prefix = object_store::path::Path::from(parsed.path().trim_matches('/'));
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| refused(e.to_string()))?;
        Ok(Remote {
            url: url.trim_end_matches('/').to_string(),
            store: std::sync::Arc::new(store),
            prefix,
            runtime: std::sync::Arc::new(OwnRuntime(Some(runtime))),
        })
    }

    fn url(&self, key: &str) -> String {
        format!("{}/{key}", self.url)
    }

    fn location(&self, key: &str) -> object_store::path::Path {
        if self.prefix.as_ref().is_empty() {
            object_store::path::Path::from(key)
        } else {
            object_store::path::Path::from(format!("{}/{key}", self.prefix))
        }
    }

    /// Runs a request to completion on the store's runtime, on a thread of its own.
    fn run<T: Send>(
        &self,
        request: impl std::future::Future<Output = object_store::Result<T>> + Send,
    ) -> object_store::Result<T> {
        std::thread::scope(|s| {
            s.spawn(|| {
                self.runtime
                    .0
                    .as_ref()
                    .expect("the runtime lives as long as the store")
                    .block_on(request)
            })
            .join()
            .unwrap_or_else(|_| {
                Err(object_store::Error::Generic {
                    store: "S3",
                    source: "request thread panicked".into(),
                })
            })
        })
    }

    fn failed(&self, key: &str, e: object_store::Error) -> StoreError {
        StoreError::ObjectStore {
            url: self.url(key),
            why: e.to_string(),
        }
    }

    fn exists(&self, key: &str) -> Result<bool, StoreError> {
        match self.run(self.store.head(&self.location(key))) {
            Ok(_) => Ok(true),
            Err(object_store::Error::NotFound { .. }) => Ok(false),
            Err(e) => Err(self.failed(key, e)),
        }
    }

    fn upload(&self, key: &str, from: &Path) -> Result<(), StoreError> {
        let bytes = fs::read(from).map_err(|e| StoreError::io(from, e))?;
        self.run(
            self.store
                .put(&self.location(key), object_store::PutPayload::from(bytes)),
        )
        .map(|_| ())
        .map_err(|e| self.failed(key, e))
    }

    fn download(&self, key: &str) -> Result<Vec<u8>, StoreError> {
        let location = self.location(key);
        self.run(async {
            let got = self.store.get(&location).await?;
            got.bytes().await
        })
        .map(|b| b.to_vec())
        .map_err(|e| self.failed(key, e))
    }

    fn remove(&self, key: &str) {
        let _ = self.run(self.store.delete(&self.location(key)));
    }
}

/// The SHA-256 of bytes, in hex: the name under which an original is kept.
pub fn sha256_hex(bytes: &[u8]) -> String {
    let digest = Sha256::digest(bytes);
    digest.iter().map(|b| format!("{b:02x}")).collect()
}
