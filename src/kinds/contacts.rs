//! contacts: the phone and chat service centre (Behördennummer 115 and the like), in one of
//! two layouts:
//!
//! - **totals** per day or month and channel: contacts offered, answered, answered within the
//!   target time, mean handle time (a file with an `offered` column);
//! - **one row per call or chat** (a file with `queued` or `outcome` and no `offered`): the
//!   day, when the call entered the agent queue, when an agent took it, the wait in seconds,
//!   the outcome (answered | abandoned), optionally the handle time or the end of service.
//!
//! A file is one or the other; one with columns of both is refused when its header is mapped
//! ([`crate::ingest::map::map_headers`]). Both are stored in one frame, so that months that
//! came as totals and months that came as calls are computed by one plan: a call is a row
//! with offered and answered 0 or 1 and its wait in `wait_s`; whether the wait is within the
//! office's target is decided when KPIs are computed (`kpi::contacts`), as the target may
//! change. A call that ended in the voice menu, without entering the queue, is kept with
//! offered 0: it never reached the agents.

use super::{ColumnDef, Context, Interner, Nullable, Parsed, RowParser, frame};
use crate::rows::ColumnMap;
use crate::rows::parse;
use crate::rows::problem::Issue;
use crate::rows::row::Row;
use crate::timefmt::month_key;
use polars::prelude::*;
use std::borrow::Cow;

/// Canonical columns and the headers real exports use for them.
pub const COLUMNS: &[ColumnDef] = &[
    ColumnDef {
        name: "office",
        aliases: &[
            "Amt",
            "Servicecenter",
            "Service-Center",
            "Dienststelle",
            "Office",
        ],
        help: "Amt / office",
    },
    ColumnDef {
        name: "date",
        aliases: &["Datum", "Tag", "Date", "Day"],
        help: "Tag (oder month; je Anruf: Tag des Anrufs) / day",
    },
    ColumnDef {
        name: "month",
        aliases: &["Monat", "Berichtsmonat", "Month"],
        help: "Monat (oder date) / month",
    },
    ColumnDef {
        name: "channel",
        aliases: &["Kanal", "Kontaktkanal", "Channel"],
        help: "Telefon, Chat, E-Mail … (optional)",
    },
    ColumnDef {
        name: "offered",
        aliases: &[
            "Angeboten",
            "Anrufe",
            "Eingehende Anrufe",
            "Anrufe gesamt",
            "Kontakte",
            "Offered",
            "Calls offered",
            "Incoming",
        ],
        help: "eingegangene Kontakte (nur Summen) / offered",
    },
    ColumnDef {
        name: "answered",
        aliases: &[
            "Angenommen",
            "Beantwortet",
            "Angenommene Anrufe",
            "Answered",
            "Calls answered",
        ],
        help: "angenommene Kontakte (Summen) oder Uhrzeit der Annahme durch eine Fachkraft (je Anruf) / answered",
    },
    ColumnDef {
        name: "answered_within_target",
        aliases: &[
            "Innerhalb Servicelevel",
            "Angenommen in Zielzeit",
            "In Zielzeit",
            "Answered within target",
            "Within SLA",
        ],
        help: "in der Zielzeit angenommen (optional)",
    },
    ColumnDef {
        name: "handle_time_mean_min",
        aliases: &[
            "Gesprächsdauer",
            "Mittlere Gesprächsdauer",
            "Bearbeitungszeit",
            "Handle time",
            "Average handle time",
            "AHT",
        ],
        help: "mittlere Bearbeitungszeit in Minuten (optional)",
    },
    ColumnDef {
        name: "call_id",
        aliases: &["Anruf-ID", "Kontakt-ID", "Call ID", "Contact ID", "Chat ID"],
        help: "je Anruf: Nummer des Anrufs (optional; eine Zeile, die eine andere ganz wiederholt, ist ein Fehler) / call id",
    },
    ColumnDef {
        name: "queued",
        aliases: &[
            "Eingang Warteschlange",
            "Beginn Warteschlange",
            "Warteschlange ab",
            "Queued at",
            "Queue start",
            "Queue entry",
        ],
        help: "je Anruf: Uhrzeit des Eingangs in die Warteschlange; leer, wenn der Anruf nie dort war (im Sprachmenü beendet oder sofort angenommen) / queued",
    },
    ColumnDef {
        name: "wait_s",
        aliases: &[
            "Wartezeit (s)",
            "Wartezeit Sekunden",
            "Wartezeit in Sekunden",
            "Wait (s)",
            "Wait seconds",
            "Queue time",
        ],
        help: "je Anruf: Sekunden in der Warteschlange (optional; sonst answered − queued) / wait in seconds",
    },
    ColumnDef {
        name: "outcome",
        aliases: &[
            "Anrufergebnis",
            "Ergebnis des Anrufs",
            "Call outcome",
            "Call result",
        ],
        help: "je Anruf: answered (angenommen) oder abandoned (aufgelegt); optional, sonst aus den Uhrzeiten / outcome",
    },
    ColumnDef {
        name: "ended",
        aliases: &["Gesprächsende", "Ende Gespräch", "Service end", "Call end"],
        help: "je Anruf: Uhrzeit des Gesprächsendes (optional; Bearbeitungszeit = ended − answered) / end of service",
    },
    ColumnDef {
        name: "handled_s",
        aliases: &[
            "Gesprächsdauer (s)",
            "Gesprächsdauer Sekunden",
            "Gesprächsdauer in Sekunden",
            "Talk time (s)",
            "Handle time (s)",
        ],
        help: "je Anruf: Bearbeitungszeit in Sekunden (optional) / handle time in seconds",
    },
];

/// Required columns: a day or month, and the counts, or (one row per call) an outcome or
/// the time a call entered the queue. A call also needs its `date` (checked with the header).
pub const REQUIRED: &[&[&str]] = &[
    &["date", "month"],
    &["offered+answered", "outcome", "queued"],
];

/// Columns only files of totals have.
pub const TOTALS_ONLY: &[&str] = &["offered", "answered_within_target", "handle_time_mean_min"];

/// Columns only files with one row per call have.
pub const PER_CALL_ONLY: &[&str] = &[
    "call_id",
    "queued",
    "wait_s",
    "outcome",
    "ended",
    "handled_s",
];

/// Whether a mapped header is that of one row per call: no `offered`, and a column only
/// calls have.
pub fn is_per_call(has: &dyn Fn(&str) -> bool) -> bool {
    !has("offered") && PER_CALL_ONLY.iter().any(|c| has(c))
}

/// The longest a call may wait or talk when its end is read as the next day (an end time
/// earlier than its start on the same date): a longer span is a mistake, not midnight.
const MAX_ACROSS_MIDNIGHT_S: i64 = 12 * 3600;

/// How a call ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    Answered,
    Abandoned,
}

impl Outcome {
    /// The canonical values and their German words; other codes are mapped by a profile's
    /// `[values.outcome]`.
    fn parse(s: &str) -> Option<Self> {
        match s.trim().to_lowercase().as_str() {
            "answered" | "angenommen" => Some(Outcome::Answered),
            "abandoned" | "aufgelegt" | "abgebrochen" => Some(Outcome::Abandoned),
            _ => None,
        }
    }
}

/// File columns of the canonical columns.
struct Cols {
    office: Option<usize>,
    date: Option<usize>,
    month: Option<usize>,
    channel: Option<usize>,
    offered: Option<usize>,
    answered: Option<usize>,
    within: Option<usize>,
    handle: Option<usize>,
    queued: Option<usize>,
    wait_s: Option<usize>,
    outcome: Option<usize>,
    ended: Option<usize>,
    handled_s: Option<usize>,
}

/// Builds the contacts frame.
pub struct Parser {
    ctx: Context,
    col: Cols,
    /// One row per call (else totals).
    per_call: bool,
    strings: Interner,
    office: Nullable<u32>,
    channel: Nullable<u32>,
    month: Vec<i32>,
    offered: Vec<i64>,
    answered: Vec<i64>,
    within: Vec<Option<i64>>,
    handle: Vec<Option<f64>>,
    wait_s: Vec<Option<f64>>,
}

impl Parser {
    /// A parser for a mapped header.
    pub fn new(map: &ColumnMap, ctx: Context) -> Self {
        let col = Cols {
            office: map.get("office"),
            date: map.get("date"),
            month: map.get("month"),
            channel: map.get("channel"),
            offered: map.get("offered"),
            answered: map.get("answered"),
            within: map.get("answered_within_target"),
            handle: map.get("handle_time_mean_min"),
            queued: map.get("queued"),
            wait_s: map.get("wait_s"),
            outcome: map.get("outcome"),
            ended: map.get("ended"),
            handled_s: map.get("handled_s"),
        };
        Parser {
            per_call: is_per_call(&|c| map.get(c).is_some()),
            ctx,
            col,
            strings: Interner::default(),
            office: Nullable::default(),
            channel: Nullable::default(),
            month: Vec::new(),
            offered: Vec::new(),
            answered: Vec::new(),
            within: Vec::new(),
            handle: Vec::new(),
            wait_s: Vec::new(),
        }
    }

    /// A row of totals: its counts.
    fn totals(&mut self, r: &mut Row) -> Option<Counts> {
        let c = &self.col;
        let date = r.date(c.date);
        if date.is_some_and(|d| d > self.ctx.today) {
            r.problem(c.date, Issue::InFuture);
        }
        let month = date.map(month_key).or_else(|| r.month(c.month));
        let month = r.require(month, c.date.or(c.month));
        if month.is_some_and(|m| m > month_key(self.ctx.today)) && date.is_none() {
            r.problem(c.month, Issue::InFuture);
        }
        let offered = r.count(c.offered);
        let offered = r.require(offered, c.offered);
        let answered = r.count(c.answered);
        let answered = r.require(answered, c.answered);
        let within = r.count(c.within);
        let handle = r.non_negative(c.handle);
        if let (Some(o), Some(a)) = (offered, answered)
            && a > o
        {
            r.problem(c.answered, Issue::MoreThanTotal { total: "offered" });
        }
        if let (Some(a), Some(w)) = (answered, within)
            && w > a
        {
            r.problem(c.within, Issue::MoreThanTotal { total: "answered" });
        }
        Some(Counts {
            month: month?,
            offered: offered?,
            answered: answered?,
            within,
            handle,
            wait_s: None,
        })
    }

    /// One call or chat: offered if it was answered or entered the queue, answered per its
    /// outcome (or, without one, its answer time), its wait and handle time.
    fn call(&mut self, r: &mut Row) -> Option<Counts> {
        let c = &self.col;
        let date = r.date(c.date);
        let date = r.require(date, c.date);
        if date.is_some_and(|d| d > self.ctx.today) {
            r.problem(c.date, Issue::InFuture);
        }
        // Times are read on the row's day; without a readable day (already a problem) they
        // are still checked, on any day.
        let day = date.unwrap_or(0);
        let queued = clock(r, c.queued, day);
        let answered_at = clock(r, c.answered, day);
        let ended = clock(r, c.ended, day);
        let wait_given = r.non_negative(c.wait_s);
        let handled_given = r.non_negative(c.handled_s);
        let outcome = match r.text(c.outcome) {
            None => None,
            Some(s) => match Outcome::parse(&s) {
                Some(o) => Some(o),
                None => {
                    r.problem(c.outcome, Issue::NotAnOutcome);
                    None
                }
            },
        };
        let answered = match outcome {
            Some(Outcome::Answered) => true,
            Some(Outcome::Abandoned) => {
                if answered_at.is_some() {
                    r.problem(c.answered, Issue::AbandonedWithAnswer);
                }
                false
            }
            None => answered_at.is_some(),
        };
        // In the queue: its entry time says so; a file without that column says it with a
        // wait.
        let queued_up = queued.is_some() || (c.queued.is_none() && wait_given.is_some());
        let offered = answered || queued_up;
        let wait_s = if answered {
            match (wait_given, queued, answered_at) {
                (Some(w), _, _) => Some(w),
                (None, Some(q), Some(a)) => {
                    span(r, q, a, c.answered, Issue::AnsweredBeforeQueued).map(|s| s as f64)
                }
                // Answered without ever queueing: no wait.
                (None, None, _) if c.queued.is_some() => Some(0.0),
                _ => None,
            }
        } else {
            None
        };
        let handle = if answered {
            match (handled_given, answered_at, ended) {
                (Some(h), _, _) => Some(h / 60.0),
                (None, Some(a), Some(e)) => {
                    span(r, a, e, c.ended, Issue::EndedBeforeAnswered).map(|s| s as f64 / 60.0)
                }
                _ => None,
            }
        } else {
            None
        };
        Some(Counts {
            month: month_key(date?),
            offered: i64::from(offered),
            answered: i64::from(answered),
            within: None,
            handle,
            wait_s,
        })
    }
}

/// What one row adds to the frame.
struct Counts {
    month: i32,
    offered: i64,
    answered: i64,
    within: Option<i64>,
    handle: Option<f64>,
    wait_s: Option<f64>,
}

/// A moment of a call: a time of day on the row's day (`H:MM:SS`, leading zero or not), or a
/// whole date and time. With whether it was a time of day.
fn clock(r: &mut Row, col: Option<usize>, day: i32) -> Option<Moment> {
    let time_of_day = parse::time_cell(&r.cell(col)).is_some();
    r.moment(None, Some(day), col)
        .map(|secs| Moment { secs, time_of_day })
}

#[derive(Debug, Clone, Copy)]
struct Moment {
    secs: i64,
    time_of_day: bool,
}

/// Seconds from `start` to `end`. Two times of day with the end earlier are read across
/// midnight (the end is on the next day), up to [`MAX_ACROSS_MIDNIGHT_S`]; else an end
/// before its start is `issue` on `end_col`.
fn span(
    r: &mut Row,
    start: Moment,
    end: Moment,
    end_col: Option<usize>,
    issue: Issue,
) -> Option<i64> {
    let mut s = end.secs - start.secs;
    if s < 0 && start.time_of_day && end.time_of_day {
        s += 86_400;
        if s > MAX_ACROSS_MIDNIGHT_S {
            r.problem(end_col, issue);
            return None;
        }
    }
    if s < 0 {
        r.problem(end_col, issue);
        return None;
    }
    Some(s)
}

impl RowParser for Parser {
    fn row(&mut self, r: &mut Row) {
        let office = r
            .text(self.col.office)
            .or_else(|| self.ctx.office.clone().map(Cow::Owned));
        let office = r.require(office, self.col.office);
        let counts = if self.per_call {
            self.call(r)
        } else {
            self.totals(r)
        };
        if r.errors > 0 {
            return;
        }
        let (Some(office), Some(n)) = (office, counts) else {
            return;
        };
        self.office.push(Some(self.strings.id(&office)));
        self.channel
            .push(r.text(self.col.channel).map(|s| self.strings.id(&s)));
        self.month.push(n.month);
        self.offered.push(n.offered);
        self.answered.push(n.answered);
        self.within.push(n.within);
        self.handle.push(n.handle);
        self.wait_s.push(n.wait_s);
    }

    fn finish(self: Box<Self>) -> Parsed {
        let this = *self;
        let s = &this.strings;
        Parsed::new(frame(vec![
            s.column("office", this.office),
            s.column("channel", this.channel),
            Column::new("month".into(), &this.month),
            Column::new("offered".into(), &this.offered),
            Column::new("answered".into(), &this.answered),
            Column::new("answered_within_target".into(), &this.within),
            Column::new("handle_time_mean_min".into(), &this.handle),
            Column::new("wait_s".into(), &this.wait_s),
        ]))
    }
}

/// Columns that batches stored before calls were accepted lack.
pub const CALL_COLUMNS: [&str; 1] = ["wait_s"];

/// Adds `wait_s` (null: a row of totals) to a frame stored before calls were accepted, so that
/// old and new batches can be read as one table.
pub fn with_call_columns(lf: LazyFrame) -> PolarsResult<LazyFrame> {
    let mut lf = lf;
    let schema = lf.collect_schema()?;
    let missing: Vec<Expr> = CALL_COLUMNS
        .iter()
        .filter(|c| schema.get(c).is_none())
        .map(|c| lit(NULL).cast(DataType::Float64).alias(*c))
        .collect();
    Ok(if missing.is_empty() {
        lf
    } else {
        lf.with_columns(missing)
    })
}
