//! Four eyes: an upload is submitted for review by its uploader and published only when a
//! publisher who neither uploaded nor submitted it approves it (unless the settings allow
//! self-approval), or rejected with a reason the uploader sees. Whether a batch is published
//! is the store's business: a review is "approved" exactly when its batch is published.

use super::accounts::User;
use super::{StaffDb, StaffError, now_text};
use crate::store::db::{DbError, Dialect, Row, params};

/// A submitted upload as reviewers and uploaders see it.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Review {
    pub batch_id: i64,
    pub kind: String,
    pub file_name: String,
    pub rows: i64,
    pub uploaded_by: String,
    pub submitted_by: String,
    pub submitted_at: String,
    /// Why a published month is replaced ("" for new months).
    pub reason: String,
    /// `submitted`, `approved` or `rejected`.
    pub state: String,
    pub decided_by: Option<String>,
    pub decided_at: Option<String>,
    /// The reviewer's reason for a rejection.
    pub decision: Option<String>,
    /// "Einwohnermeldeamt 2026-03, …": what the upload covers.
    pub cells: String,
    /// The offices the upload covers: who may see and decide on it.
    pub offices: Vec<String>,
}

impl Review {
    /// Whether `user` may see and decide on the review: every office it covers is theirs (a
    /// publisher for one office does not decide what another office publishes).
    pub fn concerns(&self, user: &User) -> bool {
        !self.offices.is_empty() && self.offices.iter().all(|o| user.may_edit(o))
    }

    /// Whether `name` counts as a second pair of eyes: neither the uploader nor whoever
    /// submitted (an admin may submit someone else's upload, and that does not make the
    /// uploader a reviewer). `allow_self_approval` lifts the rule for one-person offices.
    pub fn may_be_approved_by(&self, name: &str, allow_self_approval: bool) -> bool {
        allow_self_approval || (self.uploaded_by != name && self.submitted_by != name)
    }
}

/// Whether `user` may hand an upload to review: its uploader, or an admin. Anyone else doing
/// it would take the uploader's place in the four eyes.
pub fn may_submit(uploaded_by: &str, user: &User) -> bool {
    uploaded_by == user.name || user.is_admin()
}

const REVIEW_SELECT: &str = "
SELECT r.batch_id, b.kind, b.file_name, b.rows, b.uploaded_by, r.submitted_by, r.submitted_at,
       r.reason,
       CASE WHEN b.status = 'published' THEN 'approved' ELSE r.state END,
       r.decided_by, r.decided_at, r.decision,
       (SELECT group_concat(office || ' ' || substr(month, 1, 4) || '-' || substr(month, 5, 2), ', ')
          FROM (SELECT office, month FROM batch_cells c WHERE c.batch_id = r.batch_id ORDER BY office, month)),
       (SELECT group_concat(office, char(10))
          FROM (SELECT DISTINCT office FROM batch_cells c WHERE c.batch_id = r.batch_id ORDER BY office))
FROM reviews r JOIN batches b ON b.id = r.batch_id";

/// [`REVIEW_SELECT`] in PostgreSQL's words for SQLite's `group_concat`.
const REVIEW_SELECT_POSTGRES: &str = "
SELECT r.batch_id, b.kind, b.file_name, b.rows, b.uploaded_by, r.submitted_by, r.submitted_at,
       r.reason,
       CASE WHEN b.status = 'published' THEN 'approved' ELSE r.state END,
       r.decided_by, r.decided_at, r.decision,
       (SELECT string_agg(office || ' ' || substr(month::text, 1, 4) || '-' || substr(month::text, 5, 2), ', ' ORDER BY office, month)
          FROM batch_cells c WHERE c.batch_id = r.batch_id),
       (SELECT string_agg(DISTINCT office, chr(10) ORDER BY office)
          FROM batch_cells c WHERE c.batch_id = r.batch_id)
FROM reviews r JOIN batches b ON b.id = r.batch_id";

fn review_from_row(r: &Row) -> Result<Review, DbError> {
    Ok(Review {
        batch_id: r.get(0)?,
        kind: r.get(1)?,
        file_name: r.get(2)?,
        rows: r.get(3)?,
        uploaded_by: r.get(4)?,
        submitted_by: r.get(5)?,
        submitted_at: r.get(6)?,
        reason: r.get(7)?,
        state: r.get(8)?,
        decided_by: r.get(9)?,
        decided_at: r.get(10)?,
        decision: r.get(11)?,
        cells: r.get::<Option<String>>(12)?.unwrap_or_default(),
        offices: r
            .get::<Option<String>>(13)?
            .unwrap_or_default()
            .lines()
            .map(str::to_string)
            .collect(),
    })
}

impl StaffDb {
    fn review_select(&self) -> &'static str {
        match self.conn.dialect() {
            Dialect::Sqlite => REVIEW_SELECT,
            Dialect::Postgres => REVIEW_SELECT_POSTGRES,
        }
    }

    /// Submits a stored batch for review.
    pub fn submit(&self, batch_id: i64, by: &str, reason: &str) -> Result<(), StaffError> {
        if let Some(r) = self.review(batch_id)? {
            return Err(StaffError::Refused(format!(
                "Lieferung {batch_id} ist schon eingereicht ({}) / batch {batch_id} was submitted already",
                r.state
            )));
        }
        self.conn.execute(
            "INSERT INTO reviews (batch_id, submitted_by, submitted_at, reason, state) VALUES (?1, ?2, ?3, ?4, 'submitted')",
            params![batch_id, by, now_text(), reason.trim()],
        )?;
        Ok(())
    }

    /// The review of a batch.
    pub fn review(&self, batch_id: i64) -> Result<Option<Review>, StaffError> {
        Ok(self.conn.query_opt(
            &format!("{} WHERE r.batch_id = ?1", self.review_select()),
            params![batch_id],
            review_from_row,
        )?)
    }

    /// Reviews, newest first; only those waiting when `waiting`.
    pub fn reviews(&self, waiting: bool) -> Result<Vec<Review>, StaffError> {
        let all: Vec<Review> = self.conn.query_map(
            &format!(
                "{} ORDER BY r.submitted_at DESC, r.batch_id DESC",
                self.review_select()
            ),
            &[],
            review_from_row,
        )?;
        Ok(all
            .into_iter()
            .filter(|r| !waiting || r.state == "submitted")
            .collect())
    }

    /// Rejects a submitted batch with a reason; the batch can never be published.
    pub fn reject(&mut self, batch_id: i64, by: &str, reason: &str) -> Result<(), StaffError> {
        if reason.trim().is_empty() {
            return Err(StaffError::Refused(
                "Bitte einen Grund angeben: die einreichende Person sieht ihn / please give a reason: the uploader sees it".into(),
            ));
        }
        self.conn.transaction(|tx| {
            let n = tx.execute(
                "UPDATE reviews SET state = 'rejected', decided_by = ?2, decided_at = ?3, decision = ?4
                 WHERE batch_id = ?1 AND state = 'submitted'
                   AND (SELECT status FROM batches WHERE id = ?1) = 'pending'",
                params![batch_id, by, now_text(), reason.trim()],
            )?;
            if n == 0 {
                return Err(StaffError::Refused(format!(
                    "Lieferung {batch_id} wartet nicht auf Freigabe / batch {batch_id} is not waiting for review"
                )));
            }
            tx.execute(
                "UPDATE batches SET status = 'rejected' WHERE id = ?1",
                params![batch_id],
            )?;
            Ok(())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::staff::accounts::Role;

    fn user(name: &str, role: Role, offices: &[&str]) -> User {
        User {
            id: 1,
            name: name.into(),
            role,
            offices: offices.iter().map(|o| o.to_string()).collect(),
            disabled: false,
        }
    }

    fn review(uploaded_by: &str, submitted_by: &str, offices: &[&str]) -> Review {
        Review {
            batch_id: 1,
            kind: "visits".into(),
            file_name: "maerz.csv".into(),
            rows: 1,
            uploaded_by: uploaded_by.into(),
            submitted_by: submitted_by.into(),
            submitted_at: String::new(),
            reason: String::new(),
            state: "submitted".into(),
            decided_by: None,
            decided_at: None,
            decision: None,
            cells: String::new(),
            offices: offices.iter().map(|o| o.to_string()).collect(),
        }
    }

    #[test]
    fn neither_uploader_nor_submitter_approves() {
        let r = review("pub", "ada", &["Bauamt"]);
        assert!(!r.may_be_approved_by("pub", false));
        assert!(!r.may_be_approved_by("ada", false));
        assert!(r.may_be_approved_by("paul", false));
        assert!(r.may_be_approved_by("pub", true));
    }

    #[test]
    fn only_the_uploader_or_an_admin_submits() {
        assert!(may_submit("pub", &user("pub", Role::Publisher, &[])));
        assert!(!may_submit("pub", &user("ed2", Role::Editor, &[])));
        assert!(may_submit("pub", &user("ada", Role::Admin, &[])));
    }

    #[test]
    fn a_review_concerns_publishers_of_all_its_offices() {
        let r = review("emil", "emil", &["Bauamt", "Bürgeramt"]);
        assert!(r.concerns(&user("paul", Role::Publisher, &[])));
        assert!(r.concerns(&user("bea", Role::Publisher, &["Bürgeramt", "Bauamt"])));
        assert!(!r.concerns(&user("bob", Role::Publisher, &["Bauamt"])));
        assert!(!review("emil", "emil", &[]).concerns(&user("bob", Role::Publisher, &["Bauamt"])));
    }
}
