//! Staff accounts: a name, a role, the offices an editor may touch, and an argon2id hash
//! of the password (never the password).

use super::{StaffDb, StaffError, now_text};
use crate::store::db::{DbError, Row, params};
use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use std::str::FromStr;

/// The shortest password accepted (BSI IT-Grundschutz ORP.4 asks for length over rules).
pub const MIN_PASSWORD: usize = 12;
/// The longest password accepted, in bytes: far beyond any passphrase, and a bound on what a
/// login makes the server hash.
pub const MAX_PASSWORD_BYTES: usize = 1024;
/// The longest user name, in characters: names are typed at every login and written to the
/// audit log with every action, so a longer one is a mistake or an attack.
pub const MAX_NAME: usize = 64;

/// Refuses a user name that no account can have (empty or longer than [`MAX_NAME`]).
pub fn check_name(name: &str) -> Result<(), StaffError> {
    let n = name.trim().chars().count();
    if n == 0 || n > MAX_NAME {
        return Err(StaffError::Refused(format!(
            "Der Name muss 1 bis {MAX_NAME} Zeichen haben / the name needs 1 to {MAX_NAME} characters"
        )));
    }
    Ok(())
}

/// Refuses a password longer than [`MAX_PASSWORD_BYTES`] before anything hashes it.
pub fn check_password_length(password: &str) -> Result<(), StaffError> {
    if password.len() > MAX_PASSWORD_BYTES {
        return Err(StaffError::Refused(format!(
            "Das Passwort ist zu lang: höchstens {MAX_PASSWORD_BYTES} Bytes / the password is too long: at most {MAX_PASSWORD_BYTES} bytes"
        )));
    }
    Ok(())
}

/// What a user may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub enum Role {
    /// Uploads and annotates for their offices.
    Editor,
    /// Also approves or rejects other people's uploads.
    Publisher,
    /// Also manages users and targets and reads the audit log.
    Admin,
}

impl Role {
    /// `editor`, `publisher`, `admin`.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Editor => "editor",
            Role::Publisher => "publisher",
            Role::Admin => "admin",
        }
    }
}

impl FromStr for Role {
    type Err = StaffError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "editor" => Ok(Role::Editor),
            "publisher" => Ok(Role::Publisher),
            "admin" => Ok(Role::Admin),
            other => Err(StaffError::NoSuchRole(other.to_string())),
        }
    }
}

/// A staff member as the web layer sees them.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct User {
    pub id: i64,
    pub name: String,
    pub role: Role,
    /// The offices an editor may upload for; empty means all.
    pub offices: Vec<String>,
    pub disabled: bool,
}

impl User {
    /// Whether the user may upload, annotate and see the history of an office.
    pub fn may_edit(&self, office: &str) -> bool {
        self.offices.is_empty() || self.offices.iter().any(|o| o == office)
    }

    /// Whether the user may approve or reject uploads.
    pub fn may_publish(&self) -> bool {
        matches!(self.role, Role::Publisher | Role::Admin)
    }

    /// Whether the user may manage users and targets and read the audit log.
    pub fn is_admin(&self) -> bool {
        self.role == Role::Admin
    }
}

fn hash(password: &str) -> Result<String, StaffError> {
    if password.chars().count() < MIN_PASSWORD {
        return Err(StaffError::WeakPassword { min: MIN_PASSWORD });
    }
    check_password_length(password)?;
    let mut salt = [0u8; 16];
    getrandom::fill(&mut salt).map_err(|e| StaffError::Hash(e.to_string()))?;
    let salt = SaltString::encode_b64(&salt).map_err(|e| StaffError::Hash(e.to_string()))?;
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| StaffError::Hash(e.to_string()))
}

/// A hash of a throwaway password: checked against when the name is unknown, so that an
/// unknown name takes as long as a wrong password.
fn dummy_hash() -> &'static str {
    static DUMMY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DUMMY.get_or_init(|| hash("no such user, no such password").unwrap_or_default())
}

fn user_from_row(r: &Row) -> Result<User, DbError> {
    let role: String = r.get(2)?;
    let offices: String = r.get(3)?;
    Ok(User {
        id: r.get(0)?,
        name: r.get(1)?,
        role: role.parse().unwrap_or(Role::Editor),
        offices: offices
            .lines()
            .filter(|l| !l.is_empty())
            .map(str::to_string)
            .collect(),
        disabled: r.get::<i64>(4)? != 0,
    })
}

const USER_COLUMNS: &str = "id, name, role, offices, disabled";

impl StaffDb {
    /// Adds a user.
    pub fn add_user(
        &self,
        name: &str,
        role: Role,
        offices: &[String],
        password: &str,
    ) -> Result<User, StaffError> {
        let name = name.trim();
        check_name(name)?;
        if self.user(name)?.is_some() {
            return Err(StaffError::UserExists(name.into()));
        }
        let hash = hash(password)?;
        self.conn.execute(
            "INSERT INTO users (name, role, offices, password_hash, created_at) VALUES (?1, ?2, ?3, ?4, ?5)",
            params![name, role.as_str(), offices.join("\n"), hash, now_text()],
        )?;
        self.user(name)?
            .ok_or_else(|| StaffError::NoSuchUser(name.into()))
    }

    /// A user by name.
    pub fn user(&self, name: &str) -> Result<Option<User>, StaffError> {
        Ok(self.conn.query_opt(
            &format!("SELECT {USER_COLUMNS} FROM users WHERE name = ?1"),
            params![name],
            user_from_row,
        )?)
    }

    /// All users, by name.
    pub fn users(&self) -> Result<Vec<User>, StaffError> {
        Ok(self.conn.query_map(
            &format!("SELECT {USER_COLUMNS} FROM users ORDER BY name"),
            &[],
            user_from_row,
        )?)
    }

    /// Sets a new password (and ends the user's sessions: whoever knew the old one is out).
    pub fn set_password(&self, name: &str, password: &str) -> Result<(), StaffError> {
        let hash = hash(password)?;
        let n = self.conn.execute(
            "UPDATE users SET password_hash = ?1 WHERE name = ?2",
            params![hash, name],
        )?;
        if n == 0 {
            return Err(StaffError::NoSuchUser(name.into()));
        }
        self.conn.execute(
            "DELETE FROM sessions WHERE user_id = (SELECT id FROM users WHERE name = ?1)",
            params![name],
        )?;
        Ok(())
    }

    /// Disables (or enables) a user; a disabled user's sessions end at once.
    pub fn set_disabled(&self, name: &str, disabled: bool) -> Result<(), StaffError> {
        let n = self.conn.execute(
            "UPDATE users SET disabled = ?1 WHERE name = ?2",
            params![disabled as i64, name],
        )?;
        if n == 0 {
            return Err(StaffError::NoSuchUser(name.into()));
        }
        if disabled {
            self.conn.execute(
                "DELETE FROM sessions WHERE user_id = (SELECT id FROM users WHERE name = ?1)",
                params![name],
            )?;
        }
        Ok(())
    }

    /// The user if the password is right and the account enabled. Always checks a hash, so
    /// that the answer takes as long for an unknown name as for a wrong password (a name or
    /// password no account can have is no secret: it is turned away without hashing).
    pub fn verify(&self, name: &str, password: &str) -> Result<Option<User>, StaffError> {
        if check_name(name).is_err() || check_password_length(password).is_err() {
            return Ok(None);
        }
        let found: Option<(String, User)> = self.conn.query_opt(
            &format!("SELECT {USER_COLUMNS}, password_hash FROM users WHERE name = ?1"),
            params![name.trim()],
            |r| Ok((r.get(5)?, user_from_row(r)?)),
        )?;
        let stored = found
            .as_ref()
            .map(|(h, _)| h.as_str())
            .unwrap_or_else(|| dummy_hash());
        let ok = PasswordHash::new(stored)
            .map(|parsed| {
                Argon2::default()
                    .verify_password(password.as_bytes(), &parsed)
                    .is_ok()
            })
            .unwrap_or(false);
        Ok(match found {
            Some((_, user)) if ok && !user.disabled => Some(user),
            _ => None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_are_argon2id_hashes_and_checked() {
        let dir = tempfile::tempdir().unwrap();
        let db = StaffDb::open(dir.path()).unwrap();
        let u = db
            .add_user(
                "anna",
                Role::Editor,
                &["Bürgeramt".into()],
                "korrekt pferd batterie",
            )
            .unwrap();
        assert!(u.may_edit("Bürgeramt") && !u.may_edit("Bauamt") && !u.may_publish());
        let stored: String = db
            .conn
            .query_row("SELECT password_hash FROM users", &[], |r| r.get(0))
            .unwrap();
        assert!(stored.starts_with("$argon2id$"), "{stored}");
        assert!(!stored.contains("pferd"));
        assert!(
            db.verify("anna", "korrekt pferd batterie")
                .unwrap()
                .is_some()
        );
        assert!(db.verify("anna", "falsch").unwrap().is_none());
        assert!(
            db.verify("bert", "korrekt pferd batterie")
                .unwrap()
                .is_none()
        );
        assert!(matches!(
            db.add_user("kurt", Role::Admin, &[], "kurz"),
            Err(StaffError::WeakPassword { .. })
        ));
        assert!(
            db.add_user("kurt", Role::Admin, &[], &"x".repeat(1025))
                .is_err()
        );
        assert!(
            db.add_user(&"k".repeat(65), Role::Admin, &[], "ein langes passwort")
                .is_err()
        );
        assert!(
            db.add_user(&"ü".repeat(64), Role::Admin, &[], "ein langes passwort")
                .is_ok()
        );
        assert!(matches!(
            db.add_user("anna", Role::Admin, &[], "noch ein langes passwort"),
            Err(StaffError::UserExists(_))
        ));
        db.set_disabled("anna", true).unwrap();
        assert!(
            db.verify("anna", "korrekt pferd batterie")
                .unwrap()
                .is_none()
        );
    }
}
