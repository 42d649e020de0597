//! Login sessions and the brake on guessing. A session id lives only in the user's cookie;
//! the catalogue keeps its SHA-256, so a copy of the catalogue logs nobody in. Every session
//! has its own CSRF token for the forms it shows.
//!
//! The brake slows guessing down without letting anyone lock out a colleague: failures are
//! counted per (name, address) pair and per address, never per name alone, and they make
//! the next try wait (longer and longer) instead of locking the account. Whoever guesses
//! anna's password from one address waits; anna at her own desk does not.

use super::accounts::{MAX_NAME, User};
use super::{StaffDb, StaffError, now_secs, random_token};
use crate::store::db::params;
use sha2::{Digest, Sha256};

/// A session ends after this long without a request.
pub const IDLE_SECS: i64 = 60 * 60;
/// And after this long in any case (a working day).
pub const MAX_SECS: i64 = 10 * 60 * 60;
/// Failed logins are counted over this window …
pub const FAILURE_WINDOW_SECS: i64 = 60 * 60;
/// … the first this many for a name from one address cost nothing (typing mistakes) …
pub const FREE_FAILURES_PER_PAIR: i64 = 3;
/// … and this many from one address for any names (colleagues behind one address mistype
/// too; beyond it, someone is trying names) …
pub const FREE_FAILURES_PER_ADDRESS: i64 = 30;
/// … then each try waits twice as long as the one before, at most this long.
pub const MAX_WAIT_SECS: i64 = 15 * 60;

/// Seconds the next try waits after the last of `failures`: nothing within `free`, then 2 s,
/// 4 s, 8 s … doubling up to [`MAX_WAIT_SECS`].
pub fn delay(failures: i64, free: i64) -> i64 {
    if failures < free {
        return 0;
    }
    let doublings = (failures - free + 1).min(30) as u32;
    (1i64 << doublings).min(MAX_WAIT_SECS)
}

/// The name as counted: case and surrounding blanks do not make another name, and the key
/// stays bounded whatever was typed.
fn counted_name(name: &str) -> String {
    name.trim().to_lowercase().chars().take(MAX_NAME).collect()
}

/// The address as counted: an IPv6 client chooses freely within its /64 network, so that is
/// one address here.
fn counted_address(address: &str) -> String {
    match address.parse::<std::net::Ipv6Addr>() {
        Ok(v6) if v6.to_ipv4_mapped().is_none() => {
            let net = u128::from(v6) & !((1u128 << 64) - 1);
            format!("{}/64", std::net::Ipv6Addr::from(net))
        }
        _ => address.chars().take(100).collect(),
    }
}

fn pair_key(name: &str, address: &str) -> String {
    format!("pair:{}|{}", counted_address(address), counted_name(name))
}

fn address_key(address: &str) -> String {
    format!("addr:{}", counted_address(address))
}

/// Marks a refused try that was logged, so that the log gets one line per wait, not one per
/// request.
fn braked_key(address: &str) -> String {
    format!("braked:{}", counted_address(address))
}

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
        let found: Option<(i64, String, i64, i64)> = self.conn.query_opt(
            "SELECT user_id, csrf, created_at, last_seen FROM sessions WHERE id_hash = ?1",
            params![id_hash(id)],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
        )?;
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
        self.conn.execute(
            "DELETE FROM sessions WHERE id_hash = ?1",
            params![id_hash(id)],
        )?;
        Ok(())
    }

    /// Seconds until a login for this name from this address may be tried again, or 0.
    pub fn login_wait(&self, name: &str, address: &str) -> Result<i64, StaffError> {
        self.login_wait_at(name, address, now_secs())
    }

    fn login_wait_at(&self, name: &str, address: &str, now: i64) -> Result<i64, StaffError> {
        let since = now - FAILURE_WINDOW_SECS;
        let mut wait = 0;
        for (key, free) in [
            (pair_key(name, address), FREE_FAILURES_PER_PAIR),
            (address_key(address), FREE_FAILURES_PER_ADDRESS),
        ] {
            let (count, last): (i64, Option<i64>) = self.conn.query_row(
                "SELECT COUNT(*), MAX(at) FROM login_failures WHERE key = ?1 AND at >= ?2",
                params![key, since],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )?;
            if let Some(last) = last {
                wait = wait.max(last + delay(count, free) - now);
            }
        }
        Ok(wait.max(0))
    }

    /// Notes a try refused by the brake. True for the first since the address's last failure
    /// (worth a line in the audit log), false for the ones after it (a flood of refused tries
    /// is no flood of the log). Refused tries are not failures: they do not lengthen the wait.
    pub fn login_braked(&self, name: &str, address: &str) -> Result<bool, StaffError> {
        self.login_braked_at(name, address, now_secs())
    }

    fn login_braked_at(&self, name: &str, address: &str, now: i64) -> Result<bool, StaffError> {
        let last: Option<i64> = self.conn.query_row(
            "SELECT MAX(at) FROM login_failures WHERE key IN (?1, ?2)",
            params![pair_key(name, address), address_key(address)],
            |r| r.get(0),
        )?;
        let key = braked_key(address);
        let logged: bool = self.conn.query_row(
            "SELECT EXISTS (SELECT 1 FROM login_failures WHERE key = ?1 AND at >= ?2)",
            params![key, last.unwrap_or(0)],
            |r| r.get(0),
        )?;
        if logged {
            return Ok(false);
        }
        self.conn.execute(
            "INSERT INTO login_failures (key, at) VALUES (?1, ?2)",
            params![key, now],
        )?;
        Ok(true)
    }

    /// Counts a failed login against the name from this address, and against the address.
    pub fn login_failed(&self, name: &str, address: &str) -> Result<(), StaffError> {
        self.login_failed_at(name, address, now_secs())
    }

    fn login_failed_at(&self, name: &str, address: &str, now: i64) -> Result<(), StaffError> {
        for key in [pair_key(name, address), address_key(address)] {
            self.conn.execute(
                "INSERT INTO login_failures (key, at) VALUES (?1, ?2)",
                params![key, now],
            )?;
        }
        self.conn.execute(
            "DELETE FROM login_failures WHERE at < ?1",
            params![now - FAILURE_WINDOW_SECS],
        )?;
        Ok(())
    }

    /// Forgets the failures of this name from this address after a successful login (the
    /// address's count stays: one's own login must not wipe out someone else's guesses).
    pub fn login_succeeded(&self, name: &str, address: &str) -> Result<(), StaffError> {
        self.conn.execute(
            "DELETE FROM login_failures WHERE key = ?1",
            params![pair_key(name, address)],
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
                params![a],
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
    fn delays_double_up_to_fifteen_minutes() {
        assert_eq!(delay(0, 3), 0);
        assert_eq!(delay(2, 3), 0);
        assert_eq!(delay(3, 3), 2);
        assert_eq!(delay(4, 3), 4);
        assert_eq!(delay(11, 3), 512);
        assert_eq!(delay(12, 3), MAX_WAIT_SECS);
        assert_eq!(delay(10_000, 3), MAX_WAIT_SECS);
    }

    #[test]
    fn guessing_waits_per_name_and_address_and_locks_out_nobody_else() {
        let dir = tempfile::tempdir().unwrap();
        let db = StaffDb::open(dir.path()).unwrap();
        let t = 1_000_000;
        for i in 0..FREE_FAILURES_PER_PAIR {
            assert_eq!(db.login_wait_at("anna", "10.0.0.1", t + i).unwrap(), 0);
            db.login_failed_at(" Anna", "10.0.0.1", t + i).unwrap();
        }
        let last = t + FREE_FAILURES_PER_PAIR - 1;
        assert_eq!(db.login_wait_at("ANNA", "10.0.0.1", last).unwrap(), 2);
        assert_eq!(db.login_wait_at("anna", "10.0.0.1", last + 2).unwrap(), 0);
        db.login_failed_at("anna", "10.0.0.1", last + 2).unwrap();
        assert_eq!(db.login_wait_at("anna", "10.0.0.1", last + 2).unwrap(), 4);
        // Anna elsewhere, and others at that address, do not wait.
        assert_eq!(db.login_wait_at("anna", "10.0.0.2", last + 2).unwrap(), 0);
        assert_eq!(db.login_wait_at("bert", "10.0.0.1", last + 2).unwrap(), 0);
        // Failures age out of the window.
        assert_eq!(
            db.login_wait_at("anna", "10.0.0.1", last + 2 + FAILURE_WINDOW_SECS + 1)
                .unwrap(),
            0
        );
        // Anna's own login from there forgets the pair's failures.
        db.login_succeeded("anna", "10.0.0.1").unwrap();
        assert_eq!(db.login_wait_at("anna", "10.0.0.1", last + 2).unwrap(), 0);
    }

    #[test]
    fn many_names_from_one_address_wait_too() {
        let dir = tempfile::tempdir().unwrap();
        let db = StaffDb::open(dir.path()).unwrap();
        let t = 1_000_000;
        for i in 0..FREE_FAILURES_PER_ADDRESS {
            db.login_failed_at(&format!("name{i}"), "10.0.0.9", t)
                .unwrap();
        }
        assert_eq!(db.login_wait_at("someone", "10.0.0.9", t).unwrap(), 2);
        assert_eq!(db.login_wait_at("someone", "10.0.0.8", t).unwrap(), 0);
        // An IPv6 client's /64 is one address.
        for i in 0..FREE_FAILURES_PER_PAIR {
            db.login_failed_at("anna", &format!("2001:db8:1:2::{i}"), t)
                .unwrap();
        }
        assert_eq!(
            db.login_wait_at("anna", "2001:db8:1:2:ffff::1", t).unwrap(),
            2
        );
        assert_eq!(db.login_wait_at("anna", "2001:db8:1:3::1", t).unwrap(), 0);
    }

    #[test]
    fn a_braked_try_is_logged_once_per_failure() {
        let dir = tempfile::tempdir().unwrap();
        let db = StaffDb::open(dir.path()).unwrap();
        let t = 1_000_000;
        for _ in 0..FREE_FAILURES_PER_PAIR {
            db.login_failed_at("anna", "10.0.0.1", t).unwrap();
        }
        assert!(db.login_braked_at("anna", "10.0.0.1", t).unwrap());
        assert!(!db.login_braked_at("anna", "10.0.0.1", t + 1).unwrap());
        assert!(!db.login_braked_at("bert", "10.0.0.1", t + 1).unwrap());
        db.login_failed_at("anna", "10.0.0.1", t + 2).unwrap();
        assert!(db.login_braked_at("anna", "10.0.0.1", t + 2).unwrap());
        // Braked tries do not lengthen the wait.
        assert_eq!(db.login_wait_at("anna", "10.0.0.1", t + 2).unwrap(), 4);
    }
}
