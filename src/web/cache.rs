//! Rendered responses kept in memory, and the gate in front of rendering new ones.
//!
//! Anyone can ask for a page nobody asked for before (a new filter, a new API grouping), so
//! both the memory the answers take and the work of computing them are bounded: the cache by
//! bytes (least recently used answers go first), the work by a fixed number of computations
//! at once with a short queue; whoever finds the queue full is told to come back
//! (503 with Retry-After) while cached pages keep being served.

use axum::body::Bytes;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Duration;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// A rendered response for one data version.
#[derive(Clone)]
pub struct Cached {
    /// (data version, notice epoch, dashboards generation).
    pub version: (i64, u64, u64),
    pub etag: String,
    pub content_type: &'static str,
    pub body: Bytes,
    /// The body gzip-compressed once at render time (for clients that accept it), so that a
    /// busy page is not compressed again on every request.
    pub gzip: Option<Bytes>,
}

impl Cached {
    /// What keeping this answer under `key` costs, with a little for the bookkeeping.
    fn size(&self, key: &str) -> u64 {
        (key.len() + self.etag.len() + self.body.len() + self.gzip.as_ref().map_or(0, Bytes::len))
            as u64
            + 256
    }
}

struct Entry {
    cached: Cached,
    size: u64,
    /// The cache's clock when the entry was last served; the smallest goes first.
    last_used: AtomicU64,
}

/// Rendered answers by canonical key, bounded by bytes.
pub struct ResponseCache {
    entries: RwLock<Entries>,
    max_bytes: u64,
    clock: AtomicU64,
}

#[derive(Default)]
struct Entries {
    map: HashMap<String, Entry>,
    bytes: u64,
}

impl ResponseCache {
    /// An empty cache holding at most `max_bytes` of answers.
    pub fn new(max_bytes: u64) -> Self {
        ResponseCache {
            entries: RwLock::new(Entries::default()),
            max_bytes,
            clock: AtomicU64::new(0),
        }
    }

    /// The answer under `key` if it was rendered from `version` or a later one. Versions only
    /// grow; a request that learnt of a publish a moment late must not render again what a
    /// request that learnt of it first has rendered already.
    pub fn get(&self, key: &str, version: (i64, u64, u64)) -> Option<Cached> {
        let entries = self.entries.read().unwrap_or_else(|p| p.into_inner());
        let e = entries.map.get(key).filter(|e| {
            let v = e.cached.version;
            v.0 >= version.0 && v.1 >= version.1 && v.2 >= version.2
        })?;
        e.last_used.store(
            self.clock.fetch_add(1, Ordering::Relaxed),
            Ordering::Relaxed,
        );
        Some(e.cached.clone())
    }

    /// The answer under `key` whatever version it was rendered from: served when there is
    /// no turn to render the current one.
    pub fn get_stale(&self, key: &str) -> Option<Cached> {
        let entries = self.entries.read().unwrap_or_else(|p| p.into_inner());
        entries.map.get(key).map(|e| e.cached.clone())
    }

    /// Keeps an answer, evicting the least recently used ones (answers of older data versions
    /// first) until everything fits. An answer larger than a quarter of the cache is not
    /// kept: it would push out hundreds of pages.
    pub fn insert(&self, key: String, cached: Cached) {
        let size = cached.size(&key);
        if size > self.max_bytes / 4 {
            return;
        }
        let version = cached.version;
        let mut entries = self.entries.write().unwrap_or_else(|p| p.into_inner());
        let entry = Entry {
            cached,
            size,
            last_used: AtomicU64::new(self.clock.fetch_add(1, Ordering::Relaxed)),
        };
        if let Some(old) = entries.map.insert(key, entry) {
            entries.bytes -= old.size;
        }
        entries.bytes += size;
        if entries.bytes > self.max_bytes {
            // Evict down to three quarters, so that the sort is paid once per many inserts.
            let goal = self.max_bytes / 4 * 3;
            let mut order: Vec<(bool, u64, String)> = entries
                .map
                .iter()
                .map(|(k, e)| {
                    (
                        e.cached.version == version,
                        e.last_used.load(Ordering::Relaxed),
                        k.clone(),
                    )
                })
                .collect();
            order.sort_unstable();
            for (_, _, k) in order {
                if entries.bytes <= goal {
                    break;
                }
                if let Some(e) = entries.map.remove(&k) {
                    entries.bytes -= e.size;
                }
            }
        }
    }

    /// Bytes and answers held now (for `/metrics` and the tests).
    pub fn usage(&self) -> (u64, usize) {
        let entries = self.entries.read().unwrap_or_else(|p| p.into_inner());
        (entries.bytes, entries.map.len())
    }
}

/// Too many computations are running or waiting: come back in a few seconds.
#[derive(Debug)]
pub struct Busy;

/// Admits at most `running` computations at once and `waiting` more in line.
pub struct ComputeGate {
    permits: Arc<Semaphore>,
    in_line: AtomicUsize,
    max_in_line: usize,
    max_wait: Duration,
}

impl ComputeGate {
    /// `running` computations at once (at least one), `waiting` more in line, each waiting at
    /// most `max_wait` for its turn.
    pub fn new(running: usize, waiting: usize, max_wait: Duration) -> Self {
        ComputeGate {
            permits: Arc::new(Semaphore::new(running.max(1))),
            in_line: AtomicUsize::new(0),
            max_in_line: waiting,
            max_wait,
        }
    }

    /// A turn to compute, or [`Busy`] when the line is full or the wait too long.
    pub async fn enter(&self) -> Result<OwnedSemaphorePermit, Busy> {
        if let Ok(p) = self.permits.clone().try_acquire_owned() {
            return Ok(p);
        }
        if self.in_line.fetch_add(1, Ordering::AcqRel) >= self.max_in_line {
            self.in_line.fetch_sub(1, Ordering::AcqRel);
            return Err(Busy);
        }
        let turn = tokio::time::timeout(self.max_wait, self.permits.clone().acquire_owned()).await;
        self.in_line.fetch_sub(1, Ordering::AcqRel);
        match turn {
            Ok(Ok(p)) => Ok(p),
            _ => Err(Busy),
        }
    }

    /// Computations running now.
    pub fn running(&self, of: usize) -> usize {
        of.max(1) - self.permits.available_permits()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(version: i64, len: usize) -> Cached {
        Cached {
            version: (version, 0, 0),
            etag: String::new(),
            content_type: "text/plain",
            body: vec![b'x'; len].into(),
            gzip: None,
        }
    }

    #[test]
    fn the_cache_stays_within_its_bytes_and_keeps_what_is_used() {
        let cache = ResponseCache::new(100_000);
        cache.insert("/hot".into(), answer(1, 10_000));
        for i in 0..100 {
            cache.insert(format!("/cold/{i}"), answer(1, 10_000));
            // The hot page is asked for all the time.
            assert!(cache.get("/hot", (1, 0, 0)).is_some(), "after {i} inserts");
            assert!(cache.usage().0 <= 100_000);
        }
        assert!(cache.get("/cold/99", (1, 0, 0)).is_some());
        assert!(cache.get("/cold/0", (1, 0, 0)).is_none());
    }

    #[test]
    fn answers_of_an_older_version_go_first_and_huge_ones_are_not_kept() {
        let cache = ResponseCache::new(100_000);
        cache.insert("/old".into(), answer(1, 30_000));
        cache.insert("/a".into(), answer(2, 20_000));
        assert!(cache.get("/a", (2, 0, 0)).is_some());
        cache.insert("/b".into(), answer(2, 20_000));
        cache.insert("/c".into(), answer(2, 20_000));
        cache.insert("/d".into(), answer(2, 20_000));
        assert!(cache.get("/old", (1, 0, 0)).is_none());
        assert!(cache.get("/d", (2, 0, 0)).is_some());
        // A newer answer serves whoever still knows the older version, not the reverse.
        assert!(cache.get("/d", (1, 0, 0)).is_some());
        assert!(cache.get("/d", (3, 0, 0)).is_none());
        cache.insert("/huge".into(), answer(2, 30_000));
        assert!(cache.get("/huge", (2, 0, 0)).is_none());
    }

    #[tokio::test]
    async fn the_gate_admits_a_few_queues_a_few_and_turns_the_rest_away() {
        let gate = Arc::new(ComputeGate::new(2, 1, Duration::from_millis(200)));
        let a = gate.enter().await.unwrap();
        let _b = gate.enter().await.unwrap();
        assert_eq!(gate.running(2), 2);
        let g = gate.clone();
        let queued = tokio::spawn(async move { g.enter().await.is_ok() });
        tokio::time::sleep(Duration::from_millis(20)).await;
        // The line (one place) is taken: the next is turned away at once.
        assert!(gate.enter().await.is_err());
        drop(a);
        assert!(queued.await.unwrap());
        // Nobody leaves: a waiter gives up after max_wait.
        let _c = gate.enter().await;
        assert!(gate.enter().await.is_err());
    }
}
