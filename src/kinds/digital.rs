//! digital: monthly counts per online service: applications received online and on paper,
//! forms started and completed, satisfaction responses.

use super::{ColumnDef, Context, Interner, Nullable, Parsed, RowParser, frame};
use crate::rows::ColumnMap;
use crate::rows::problem::Issue;
use crate::rows::row::Row;
use polars::prelude::*;
use std::borrow::Cow;

/// Canonical columns and the headers real exports use for them.
pub const COLUMNS: &[ColumnDef] = &[
    ColumnDef {
        name: "month",
        aliases: &["Monat", "Berichtsmonat", "Zeitraum", "Month", "Period"],
        help: "Monat, z. B. 2025-03 / month",
    },
    ColumnDef {
        name: "service",
        aliases: &[
            "Dienstleistung",
            "Online-Dienst",
            "Onlinedienst",
            "Leistung",
            "Service",
            "Online service",
        ],
        help: "Online-Dienst / online service",
    },
    ColumnDef {
        name: "office",
        aliases: &["Amt", "Behörde", "Dienststelle", "Office", "Department"],
        help: "Amt / office",
    },
    ColumnDef {
        name: "online",
        aliases: &[
            "Online",
            "Anträge online",
            "Online-Anträge",
            "Eingang online",
            "Applications online",
        ],
        help: "online eingegangene Anträge / received online",
    },
    ColumnDef {
        name: "offline",
        aliases: &[
            "Offline",
            "Papier",
            "Anträge Papier",
            "Vor Ort",
            "Eingang Papier",
            "Applications offline",
            "Paper",
        ],
        help: "auf Papier oder vor Ort / on paper or in person",
    },
    ColumnDef {
        name: "started",
        aliases: &["Begonnen", "Gestartet", "Formulare begonnen", "Started"],
        help: "begonnene Online-Formulare (optional)",
    },
    ColumnDef {
        name: "completed",
        aliases: &[
            "Abgeschlossen",
            "Abgesendet",
            "Formulare abgesendet",
            "Completed",
            "Submitted",
        ],
        help: "abgesendete Online-Formulare (optional)",
    },
    ColumnDef {
        name: "satisfied",
        aliases: &["Zufrieden", "Zufriedene", "Satisfied"],
        help: "zufriedene Rückmeldungen (optional)",
    },
    ColumnDef {
        name: "responses",
        aliases: &["Rückmeldungen", "Bewertungen", "Responses", "Ratings"],
        help: "Rückmeldungen insgesamt (optional)",
    },
];

/// Required columns.
pub const REQUIRED: &[&[&str]] = &[&["month"], &["service"], &["online"], &["offline"]];

/// Builds the digital frame.
pub struct Parser {
    ctx: Context,
    col: [Option<usize>; 9],
    strings: Interner,
    office: Nullable<u32>,
    service: Nullable<u32>,
    month: Vec<i32>,
    counts: [Vec<Option<i64>>; 6],
}

const COUNTS: [&str; 6] = [
    "online",
    "offline",
    "started",
    "completed",
    "satisfied",
    "responses",
];

impl Parser {
    /// A parser for a mapped header.
    pub fn new(map: &ColumnMap, ctx: Context) -> Self {
        let col = [
            "month",
            "service",
            "office",
            "online",
            "offline",
            "started",
            "completed",
            "satisfied",
            "responses",
        ]
        .map(|n| map.get(n));
        Parser {
            ctx,
            col,
            strings: Interner::default(),
            office: Nullable::default(),
            service: Nullable::default(),
            month: Vec::new(),
            counts: Default::default(),
        }
    }
}

impl RowParser for Parser {
    fn row(&mut self, r: &mut Row) {
        let [month_c, service_c, office_c, ..] = self.col;
        let office = r
            .text(office_c)
            .or_else(|| self.ctx.office.clone().map(Cow::Owned));
        let office = r.require(office, office_c);
        let month = r.month(month_c);
        let month = r.require(month, month_c);
        let service = r.require(r.text(service_c), service_c);
        let mut v = [None; 6];
        for (i, slot) in v.iter_mut().enumerate() {
            *slot = r.count(self.col[3 + i]);
        }
        let _ = r.require(v[0], self.col[3]);
        let _ = r.require(v[1], self.col[4]);
        if let (Some(s), Some(c)) = (v[2], v[3])
            && c > s
        {
            r.problem(self.col[6], Issue::MoreThanTotal { total: "started" });
        }
        if let (Some(s), Some(c)) = (v[5], v[4])
            && c > s
        {
            r.problem(self.col[7], Issue::MoreThanTotal { total: "responses" });
        }
        let this_month = crate::timefmt::month_key(self.ctx.today);
        if month.is_some_and(|m| m > this_month) {
            r.problem(month_c, Issue::InFuture);
        }
        if r.errors > 0 {
            return;
        }
        let (Some(office), Some(month), Some(service)) = (office, month, service) else {
            return;
        };
        self.office.push(Some(self.strings.id(&office)));
        self.service.push(Some(self.strings.id(&service)));
        self.month.push(month);
        for (i, x) in v.into_iter().enumerate() {
            self.counts[i].push(x);
        }
    }

    fn finish(self: Box<Self>) -> Parsed {
        let this = *self;
        let s = &this.strings;
        let mut cols = vec![
            s.column("office", this.office),
            s.column("service", this.service),
            Column::new("month".into(), &this.month),
        ];
        for (name, values) in COUNTS.iter().zip(&this.counts) {
            cols.push(Column::new((*name).into(), values));
        }
        Parsed::new(frame(cols))
    }
}
