//! The audit log: who did what, when, from where. Append-only by construction (SQLite
//! triggers refuse every UPDATE and DELETE of it).

use super::{StaffDb, StaffError, now_text};
use rusqlite::params;

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

impl StaffDb {
    /// Logs an action.
    pub fn audit(
        &self,
        user: &str,
        action: &str,
        detail: &str,
        remote: &str,
    ) -> Result<(), StaffError> {
        self.conn.execute(
            "INSERT INTO audit (at, user, action, detail, remote) VALUES (?1, ?2, ?3, ?4, ?5)",
            params![now_text(), user, action, detail, remote],
        )?;
        Ok(())
    }

    /// The newest entries first.
    pub fn audit_log(&self, limit: i64, offset: i64) -> Result<Vec<AuditEntry>, StaffError> {
        let mut st = self.conn.prepare(
            "SELECT id, at, user, action, detail, remote FROM audit ORDER BY id DESC LIMIT ?1 OFFSET ?2",
        )?;
        let rows = st.query_map(params![limit, offset], |r| {
            Ok(AuditEntry {
                id: r.get(0)?,
                at: r.get(1)?,
                user: r.get(2)?,
                action: r.get(3)?,
                detail: r.get(4)?,
                remote: r.get(5)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
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
        assert!(db.conn.execute("UPDATE audit SET user = 'x'", []).is_err());
        assert!(db.conn.execute("DELETE FROM audit", []).is_err());
        let log = db.audit_log(10, 0).unwrap();
        assert_eq!(log.len(), 2);
        assert_eq!(log[0].action, "upload");
    }
}
