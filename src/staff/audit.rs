//! The audit log: who did what, when, from where. Append-only by construction (SQLite
//! triggers refuse every UPDATE and DELETE of it), so nothing written can be taken back: every
//! field is bounded on the way in ([`bounded`]), and the log is read a page at a time.

use super::accounts::MAX_NAME;
use super::{MAX_TEXT, StaffDb, StaffError, now_text};
use crate::store::db::{Row, params};

/// One logged staff action.
#[derive(Debug, Clone, serde::Serialize)]
pub struct AuditEntry {
    pub id: i64,
    pub at: String,
    pub user: String,
    pub action: String,
    pub detail: String,
    pub remote: String,
}

/// Which page of the log to read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuditPage {
    /// The newest entries.
    Newest,
    /// The entries just older than the entry with this id (the next page).
    Before(i64),
    /// The entries just newer than the entry with this id (the page before).
    After(i64),
}

/// A page of the log, newest first, and whether there are entries beyond it either way.
#[derive(Debug, Clone)]
pub struct AuditEntries {
    pub entries: Vec<AuditEntry>,
    pub newer: bool,
    pub older: bool,
}

/// `text` cut to `max` characters (marked with "…" when cut): the log keeps what happened, not
/// whatever a form carried.
pub fn bounded(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        None => text.to_string(),
        Some((at, _)) => format!("{}…", &text[..at]),
    }
}

/// The longest action and address kept (actions are ours, addresses at most 45 characters).
const MAX_SHORT: usize = 100;

impl StaffDb {
    /// Logs an action, every field bounded.
    pub fn audit(
        &self,
        user: &str,
        action: &str,
        detail: &str,
        remote: &str,
    ) -> Result<(), StaffError> {
        self.conn.execute(
            "INSERT INTO audit (at, \"user\", action, detail, remote) VALUES (?1, ?2, ?3, ?4, ?5)",
            params![
                now_text(),
                bounded(user, MAX_NAME),
                bounded(action, MAX_SHORT),
                bounded(detail, MAX_TEXT + MAX_SHORT),
                bounded(remote, MAX_SHORT)
            ],
        )?;
        Ok(())
    }

    /// One page of `limit` entries, newest first. Pages are cut at entry ids, not counted from
    /// the top, so entries logged while someone reads do not shift the next page.
    pub fn audit_page(&self, page: AuditPage, limit: i64) -> Result<AuditEntries, StaffError> {
        let columns = "SELECT id, at, \"user\", action, detail, remote FROM audit";
        let (sql, bound) = match page {
            AuditPage::Newest => (format!("{columns} ORDER BY id DESC LIMIT ?1"), None),
            AuditPage::Before(id) => (
                format!("{columns} WHERE id < ?2 ORDER BY id DESC LIMIT ?1"),
                Some(id),
            ),
            AuditPage::After(id) => (
                format!("{columns} WHERE id > ?2 ORDER BY id ASC LIMIT ?1"),
                Some(id),
            ),
        };
        let row = |r: &Row| {
            Ok(AuditEntry {
                id: r.get(0)?,
                at: r.get(1)?,
                user: r.get(2)?,
                action: r.get(3)?,
                detail: r.get(4)?,
                remote: r.get(5)?,
            })
        };
        let mut entries: Vec<AuditEntry> = match bound {
            None => self.conn.query_map(&sql, params![limit], row)?,
            Some(id) => self.conn.query_map(&sql, params![limit, id], row)?,
        };
        if matches!(page, AuditPage::After(_)) {
            entries.reverse();
        }
        let exists = |sql: &str, id: i64| -> Result<bool, StaffError> {
            Ok(self
                .conn
                .query_row(sql, params![id], |r| r.get::<bool>(0))?)
        };
        let (newer, older) = match (entries.first(), entries.last()) {
            (Some(first), Some(last)) => (
                exists(
                    "SELECT EXISTS (SELECT 1 FROM audit WHERE id > ?1)",
                    first.id,
                )?,
                exists("SELECT EXISTS (SELECT 1 FROM audit WHERE id < ?1)", last.id)?,
            ),
            // Past either end: the way back is the newest page.
            _ => (page != AuditPage::Newest, false),
        };
        Ok(AuditEntries {
            entries,
            newer,
            older,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_log_cannot_be_changed_or_emptied() {
        let dir = tempfile::tempdir().unwrap();
        let db = StaffDb::open(dir.path()).unwrap();
        db.audit("anna", "login", "", "10.0.0.1").unwrap();
        db.audit("anna", "upload", "maerz.csv", "10.0.0.1").unwrap();
        assert!(
            db.conn
                .execute("UPDATE audit SET \"user\" = 'x'", &[])
                .is_err()
        );
        assert!(db.conn.execute("DELETE FROM audit", &[]).is_err());
        let log = db.audit_page(AuditPage::Newest, 10).unwrap();
        assert_eq!(log.entries.len(), 2);
        assert_eq!(log.entries[0].action, "upload");
        assert!(!log.newer && !log.older);
    }

    #[test]
    fn what_is_logged_is_bounded() {
        let dir = tempfile::tempdir().unwrap();
        let db = StaffDb::open(dir.path()).unwrap();
        db.audit(
            &"n".repeat(1 << 20),
            "login failed",
            &"d".repeat(1 << 20),
            "::1",
        )
        .unwrap();
        let e = &db.audit_page(AuditPage::Newest, 1).unwrap().entries[0];
        assert_eq!(e.user.chars().count(), MAX_NAME + 1);
        assert!(e.user.ends_with('…'));
        assert!(e.detail.chars().count() <= MAX_TEXT + MAX_SHORT + 1);
        assert_eq!(bounded("Ämter", 3), "Ämt…");
        assert_eq!(bounded("Amt", 3), "Amt");
    }

    #[test]
    fn pages_follow_each_other_by_id() {
        let dir = tempfile::tempdir().unwrap();
        let db = StaffDb::open(dir.path()).unwrap();
        for i in 0..25 {
            db.audit("anna", "upload", &i.to_string(), "local").unwrap();
        }
        let ids = |p: &AuditEntries| p.entries.iter().map(|e| e.id).collect::<Vec<_>>();
        let first = db.audit_page(AuditPage::Newest, 10).unwrap();
        assert_eq!(ids(&first), (16..=25).rev().collect::<Vec<_>>());
        assert!(!first.newer && first.older);
        for i in 0..5 {
            db.audit("bert", "login", &i.to_string(), "local").unwrap();
        }
        let second = db.audit_page(AuditPage::Before(16), 10).unwrap();
        assert_eq!(ids(&second), (6..=15).rev().collect::<Vec<_>>());
        assert!(second.newer && second.older);
        let back = db.audit_page(AuditPage::After(15), 10).unwrap();
        assert_eq!(ids(&back), (16..=25).rev().collect::<Vec<_>>());
        assert!(back.newer, "the entries logged meanwhile");
        let last = db.audit_page(AuditPage::Before(6), 10).unwrap();
        assert_eq!(ids(&last), (1..=5).rev().collect::<Vec<_>>());
        assert!(!last.older);
        let beyond = db.audit_page(AuditPage::Before(1), 10).unwrap();
        assert!(beyond.entries.is_empty() && beyond.newer && !beyond.older);
    }
}
