//! Login sessions and the brake on guessing. A session id lives only in the user's cookie;
//! the catalogue keeps its SHA-256, so a copy of the catalogue logs nobody in. Every session
//! has its own CSRF token for the forms it shows.

use super::accounts::User;
use super::{StaffDb, StaffError, now_secs, random_token};
use rusqlite::{OptionalExtension, params};
use sha2::{Digest, Sha256};

/// A session ends after this long without a request.
pub const IDLE_SECS: i64 = 60 * 60;
/// And after this long in any case (a working day).
pub const MAX_SECS: i64 = 10 * 60 * 60;
/// Failed logins counted over this window …
pub const FAILURE_WINDOW_SECS: i64 = 15 * 60;
/// … at most this many per user name …
pub const MAX_FAILURES_PER_NAME: i64 = 5;
/// … and this many per address, then logins from there wait.
pub const MAX_FAILURES_PER_ADDRESS: i64 = 20;

fn id_hash(id: &str) -> String {
    Sha256::digest(id.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// A logged-in user with the session's CSRF token.
#[derive(Debug, Clone)]
pub struct Session {
    pub user: User,
    pub csrf: String,
}

impl StaffDb {
    /// Starts a new session (a new id every login: an id known before login is worthless).
    /// Returns the id for the cookie and the CSRF token.
    pub fn start_session(&self, user: &User) -> Result<(String, String), StaffError> {
        let id = random_token();
        let csrf = random_token();
        let now = now_secs();
        self.conn.execute(
            "INSERT INTO sessions (id_hash, user_id, csrf, created_at, last_seen) VALUES (?1, ?2, ?3, ?4, ?4)",
            params![id_hash(&id), user.id, csrf, now],
        )?;
        self.conn.execute(
            "DELETE FROM sessions WHERE last_seen < ?1 OR created_at < ?2",
            params![now - IDLE_SECS, now - MAX_SECS],
        )?;
        Ok((id, csrf))
    }

    /// The session of a cookie's id, if it is alive; keeps it alive.
    pub fn session(&self, id: &str) -> Result<Option<Session>, StaffError> {
        let now = now_secs();
        let found: Option<(i64, String, i64, i64)> = self
            .conn
            .query_row(
                "SELECT user_id, csrf, created_at, last_seen FROM sessions WHERE id_hash = ?1",
                [id_hash(id)],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
            )
            .optional()?;
        let Some((user_id, csrf, created, last_seen)) = found else {
            return Ok(None);
        };
        if now - last_seen > IDLE_SECS || now - created > MAX_SECS {
            self.end_session(id)?;
            return Ok(None);
        }
        let user = self.users()?.into_iter().find(|u| u.id == user_id);
        let Some(user) = user.filter(|u| !u.disabled) else {
            self.end_session(id)?;
            return Ok(None);
        };
        // Written at most once a minute: a page view is not a catalogue write.
        if now - last_seen >= 60 {
            self.conn.execute(
                "UPDATE sessions SET last_seen = ?1 WHERE id_hash = ?2",
                params![now, id_hash(id)],
            )?;
        }
        Ok(Some(Session { user, csrf }))
    }

    /// Ends a session (logout).
    pub fn end_session(&self, id: &str) -> Result<(), StaffError> {
        self.conn
            .execute("DELETE FROM sessions WHERE id_hash = ?1", [id_hash(id)])?;
        Ok(())
    }

    /// Seconds until a login for this name from this address may be tried again, or 0.
    pub fn login_wait(&self, name: &str, address: &str) -> Result<i64, StaffError> {
        let now = now_secs();
        let since = now - FAILURE_WINDOW_SECS;
        let mut wait = 0;
        for (key, max) in [
            (
                format!("name:{}", name.trim().to_lowercase()),
                MAX_FAILURES_PER_NAME,
            ),
            (format!("addr:{address}"), MAX_FAILURES_PER_ADDRESS),
        ] {
            let (count, oldest): (i64, Option<i64>) = self.conn.query_row(
                "SELECT COUNT(*), MIN(at) FROM login_failures WHERE key = ?1 AND at >= ?2",
                params![key, since],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )?;
            if count >= max {
                wait = wait.max(oldest.unwrap_or(now) + FAILURE_WINDOW_SECS - now);
            }
        }
        Ok(wait.max(0))
    }

    /// Counts a failed login against the name and the address.
    pub fn login_failed(&self, name: &str, address: &str) -> Result<(), StaffError> {
        let now = now_secs();
        for key in [
            format!("name:{}", name.trim().to_lowercase()),
            format!("addr:{address}"),
        ] {
            self.conn.execute(
                "INSERT INTO login_failures (key, at) VALUES (?1, ?2)",
                params![key, now],
            )?;
        }
        self.conn.execute(
            "DELETE FROM login_failures WHERE at < ?1",
            [now - FAILURE_WINDOW_SECS],
        )?;
        Ok(())
    }

    /// Forgets a name's failures after a successful login.
    pub fn login_succeeded(&self, name: &str) -> Result<(), StaffError> {
        self.conn.execute(
            "DELETE FROM login_failures WHERE key = ?1",
            [format!("name:{}", name.trim().to_lowercase())],
        )?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::staff::accounts::Role;

    #[test]
    fn sessions_are_new_per_login_and_end_on_logout() {
        let dir = tempfile::tempdir().unwrap();
        let db = StaffDb::open(dir.path()).unwrap();
        let u = db
            .add_user("anna", Role::Publisher, &[], "ein langes passwort")
            .unwrap();
        let (a, csrf_a) = db.start_session(&u).unwrap();
        let (b, csrf_b) = db.start_session(&u).unwrap();
        assert_ne!(a, b);
        assert_ne!(csrf_a, csrf_b);
        assert_eq!(db.session(&a).unwrap().unwrap().user.name, "anna");
        let stored: i64 = db
            .conn
            .query_row(
                "SELECT COUNT(*) FROM sessions WHERE id_hash = ?1",
                [&a],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(stored, 0, "the catalogue keeps no session id");
        db.end_session(&a).unwrap();
        assert!(db.session(&a).unwrap().is_none());
        assert!(db.session(&b).unwrap().is_some());
        db.set_password("anna", "ein anderes langes passwort")
            .unwrap();
        assert!(
            db.session(&b).unwrap().is_none(),
            "a new password ends sessions"
        );
    }

    #[test]
    fn guessing_is_slowed_down_per_name_and_address() {
        let dir = tempfile::tempdir().unwrap();
        let db = StaffDb::open(dir.path()).unwrap();
        for _ in 0..MAX_FAILURES_PER_NAME - 1 {
            db.login_failed("Anna", "10.0.0.1").unwrap();
        }
        assert_eq!(db.login_wait("anna", "10.0.0.1").unwrap(), 0);
        db.login_failed("anna", "10.0.0.2").unwrap();
        let wait = db.login_wait("ANNA", "10.0.0.3").unwrap();
        assert!(wait > 14 * 60 && wait <= 15 * 60, "{wait}");
        assert_eq!(db.login_wait("bert", "10.0.0.3").unwrap(), 0);
        db.login_succeeded("anna").unwrap();
        assert_eq!(db.login_wait("anna", "10.0.0.3").unwrap(), 0);
    }
}
