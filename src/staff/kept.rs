//! What the staff area keeps for a user between two requests: an upload waiting for its
//! columns to be mapped, the problem list of a refused upload. Kept in the catalogue (the
//! file of a waiting upload in the store's files), so that the next request may reach another
//! replica, or the same one after a restart. Bounded like everything kept for users: for a
//! while, a few per user, a fixed number in all, each user's newest never pushed out by a
//! colleague's.

use super::{StaffDb, StaffError};

/// Now in nanoseconds since 1970: entries made in the same second must still be ordered.
fn now_nanos() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as i64)
        .unwrap_or(0)
}

const NANOS: i64 = 1_000_000_000;
use crate::store::db::params;

/// How long, how many per user and how many in all.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub keep_secs: i64,
    pub per_user: usize,
    pub total: usize,
}

pub use crate::store::is_token;

impl StaffDb {
    /// Keeps `payload` (JSON) for `user` under `token`, making room first as `limits` say.
    /// The tokens it dropped, so that the caller can remove their files.
    pub fn keep_for_user(
        &self,
        purpose: &str,
        token: &str,
        user: &str,
        payload: &str,
        limits: Limits,
    ) -> Result<Vec<String>, StaffError> {
        let now = now_nanos();
        self.conn.transaction(|tx| {
            let mut dropped: Vec<String> = tx.query_map(
                "DELETE FROM kept_for_users WHERE purpose = ?1 AND created_at <= ?2 RETURNING token",
                params![purpose, now - limits.keep_secs * NANOS],
                |r| r.get(0),
            )?;
            let mut held: Vec<(String, String, i64)> = tx.query_map(
                "SELECT token, user_name, created_at FROM kept_for_users WHERE purpose = ?1 ORDER BY created_at, token",
                params![purpose],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )?;
            let mut drop = |held: &mut Vec<(String, String, i64)>, i: usize| -> Result<(), StaffError> {
                let (token, _, _) = held.remove(i);
                tx.execute("DELETE FROM kept_for_users WHERE token = ?1", params![token])?;
                dropped.push(token);
                Ok(())
            };
            // The user's oldest go first, until a place is free for the new one.
            while held.iter().filter(|h| h.1 == user).count() >= limits.per_user.max(1) {
                let i = held.iter().position(|h| h.1 == user).unwrap_or(0);
                drop(&mut held, i)?;
            }
            // Then, if all places are taken, the oldest of whoever holds the most.
            while held.len() >= limits.total.max(1) {
                let count = |who: &str| held.iter().filter(|h| h.1 == who).count();
                let busiest = held
                    .iter()
                    .max_by(|a, b| count(&a.1).cmp(&count(&b.1)).then(b.2.cmp(&a.2)))
                    .map(|h| h.1.clone())
                    .unwrap_or_default();
                let i = held.iter().position(|h| h.1 == busiest).unwrap_or(0);
                drop(&mut held, i)?;
            }
            tx.execute(
                "INSERT INTO kept_for_users (token, purpose, user_name, created_at, payload) VALUES (?1, ?2, ?3, ?4, ?5)",
                params![token, purpose, user, now, payload],
            )?;
            Ok(dropped)
        })
    }

    /// What is kept for `user` under `token`, if it is still there and not older than
    /// `keep_secs`: the payload and its age in seconds.
    pub fn kept_for_user(
        &self,
        purpose: &str,
        token: &str,
        user: &str,
        keep_secs: i64,
    ) -> Result<Option<(String, i64)>, StaffError> {
        if !is_token(token) {
            return Ok(None);
        }
        let now = now_nanos();
        Ok(self.conn.query_opt(
            "SELECT payload, created_at FROM kept_for_users WHERE token = ?1 AND purpose = ?2 AND user_name = ?3 AND created_at > ?4",
            params![token, purpose, user, now - keep_secs * NANOS],
            |r| Ok((r.get(0)?, (now - r.get::<i64>(1)?) / NANOS)),
        )?)
    }

    /// Forgets what is kept under `token`.
    pub fn forget_kept(&self, token: &str) -> Result<(), StaffError> {
        self.conn.execute(
            "DELETE FROM kept_for_users WHERE token = ?1",
            params![token],
        )?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn token(n: u8) -> String {
        format!("{n:064x}")
    }

    #[test]
    fn a_users_newest_stay_and_a_colleague_cannot_push_them_out() {
        let dir = tempfile::tempdir().unwrap();
        let db = StaffDb::open(dir.path()).unwrap();
        let limits = Limits {
            keep_secs: 3600,
            per_user: 2,
            total: 3,
        };
        db.keep_for_user("m", &token(1), "anna", "1", limits)
            .unwrap();
        db.keep_for_user("m", &token(2), "anna", "2", limits)
            .unwrap();
        // A third of Anna's makes her first go.
        assert_eq!(
            db.keep_for_user("m", &token(3), "anna", "3", limits)
                .unwrap(),
            vec![token(1)]
        );
        // Ben's first takes the last place; his second finds them all taken and Anna, who
        // holds the most, gives up her oldest.
        assert!(
            db.keep_for_user("m", &token(4), "ben", "4", limits)
                .unwrap()
                .is_empty()
        );
        assert_eq!(
            db.keep_for_user("m", &token(5), "ben", "5", limits)
                .unwrap(),
            vec![token(2)]
        );
        assert_eq!(
            db.kept_for_user("m", &token(3), "anna", 3600)
                .unwrap()
                .map(|k| k.0),
            Some("3".into())
        );
        // Nobody else's, nothing of another purpose, nothing that is not a token.
        assert!(
            db.kept_for_user("m", &token(3), "ben", 3600)
                .unwrap()
                .is_none()
        );
        assert!(
            db.kept_for_user("x", &token(3), "anna", 3600)
                .unwrap()
                .is_none()
        );
        assert!(
            db.kept_for_user("m", "../../etc/passwd", "anna", 3600)
                .unwrap()
                .is_none()
        );
        db.forget_kept(&token(3)).unwrap();
        assert!(
            db.kept_for_user("m", &token(3), "anna", 3600)
                .unwrap()
                .is_none()
        );
        // Expired entries are not given out.
        assert!(
            db.kept_for_user("m", &token(4), "ben", 0)
                .unwrap()
                .is_none()
        );
    }
}
