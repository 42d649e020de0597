//! contacts: the phone and chat service centre (Behördennummer 115 and the like), per day or
//! month and channel: contacts offered, answered, answered within the target time.

use super::{ColumnDef, Context, Interner, Parsed, RowParser, frame};
use crate::ingest::map::ColumnMap;
use crate::ingest::problem::Issue;
use crate::ingest::row::Row;
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
        help: "Tag (oder month) / day",
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
        help: "eingegangene Kontakte / offered",
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
        help: "angenommene Kontakte / answered",
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
];

/// Required columns.
pub const REQUIRED: &[&[&str]] = &[&["date", "month"], &["offered"], &["answered"]];

/// Builds the contacts frame.
pub struct Parser {
    ctx: Context,
    col: [Option<usize>; 8],
    strings: Interner,
    office: Vec<Option<u32>>,
    channel: Vec<Option<u32>>,
    month: Vec<i32>,
    offered: Vec<i64>,
    answered: Vec<i64>,
    within: Vec<Option<i64>>,
    handle: Vec<Option<f64>>,
}

impl Parser {
    /// A parser for a mapped header.
    pub fn new(map: &ColumnMap, ctx: Context) -> Self {
        let col = [
            "office",
            "date",
            "month",
            "channel",
            "offered",
            "answered",
            "answered_within_target",
            "handle_time_mean_min",
        ]
        .map(|n| map.get(n));
        Parser {
            ctx,
            col,
            strings: Interner::default(),
            office: Vec::new(),
            channel: Vec::new(),
            month: Vec::new(),
            offered: Vec::new(),
            answered: Vec::new(),
            within: Vec::new(),
            handle: Vec::new(),
        }
    }
}

impl RowParser for Parser {
    fn row(&mut self, r: &mut Row) {
        let [
            office_c,
            date_c,
            month_c,
            channel_c,
            offered_c,
            answered_c,
            within_c,
            handle_c,
        ] = self.col;
        let office = r
            .text(office_c)
            .or_else(|| self.ctx.office.clone().map(Cow::Owned));
        let office = r.require(office, office_c);
        let date = r.date(date_c);
        if date.is_some_and(|d| d > self.ctx.today) {
            r.problem(date_c, Issue::InFuture);
        }
        let month = date.map(month_key).or_else(|| r.month(month_c));
        let month = r.require(month, date_c.or(month_c));
        if month.is_some_and(|m| m > month_key(self.ctx.today)) && date.is_none() {
            r.problem(month_c, Issue::InFuture);
        }
        let offered = r.count(offered_c);
        let offered = r.require(offered, offered_c);
        let answered = r.count(answered_c);
        let answered = r.require(answered, answered_c);
        let within = r.count(within_c);
        let handle = r.non_negative(handle_c);
        if let (Some(o), Some(a)) = (offered, answered)
            && a > o
        {
            r.problem(answered_c, Issue::MoreThanTotal { total: "offered" });
        }
        if let (Some(a), Some(w)) = (answered, within)
            && w > a
        {
            r.problem(within_c, Issue::MoreThanTotal { total: "answered" });
        }
        if r.errors > 0 {
            return;
        }
        let (Some(office), Some(month), Some(offered), Some(answered)) =
            (office, month, offered, answered)
        else {
            return;
        };
        self.office.push(Some(self.strings.id(&office)));
        self.channel
            .push(r.text(channel_c).map(|s| self.strings.id(&s)));
        self.month.push(month);
        self.offered.push(offered);
        self.answered.push(answered);
        self.within.push(within);
        self.handle.push(handle);
    }

    fn finish(self: Box<Self>) -> Parsed {
        let s = &self.strings;
        Parsed::new(frame(vec![
            s.column("office", &self.office),
            s.column("channel", &self.channel),
            Column::new("month".into(), &self.month),
            Column::new("offered".into(), &self.offered),
            Column::new("answered".into(), &self.answered),
            Column::new("answered_within_target".into(), &self.within),
            Column::new("handle_time_mean_min".into(), &self.handle),
        ]))
    }
}
