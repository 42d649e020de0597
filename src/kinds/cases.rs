//! cases: one row per application with a processing time (building permits, residence
//! permits …). A decided case belongs to the month it was decided in; an open case to the
//! last month the export covers, so that the next month's export replaces it.

use super::{ColumnDef, Context, Interner, Nullable, Parsed, RowParser, date_column, frame};
use crate::rows::ColumnMap;
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
            "Behörde",
            "Dienststelle",
            "Organisationseinheit",
            "Office",
            "Department",
        ],
        help: "Amt / office",
    },
    ColumnDef {
        name: "service",
        aliases: &[
            "Verfahren",
            "Verfahrensart",
            "Antragsart",
            "Dienstleistung",
            "Leistung",
            "Service",
            "Procedure",
        ],
        help: "Verfahrensart / type of application",
    },
    ColumnDef {
        name: "case_id",
        aliases: &[
            "Aktenzeichen",
            "Vorgangsnummer",
            "Az",
            "Antragsnummer",
            "Case",
            "Case id",
            "Case number",
            "Reference",
        ],
        help: "Aktenzeichen / case number",
    },
    ColumnDef {
        name: "received_on",
        aliases: &[
            "Eingang",
            "Eingangsdatum",
            "Antragseingang",
            "Antrag vom",
            "Received",
            "Received on",
            "Submitted",
        ],
        help: "Eingangsdatum / received",
    },
    ColumnDef {
        name: "decided_on",
        aliases: &[
            "Entscheidung",
            "Entscheidungsdatum",
            "Bescheid vom",
            "Erledigt am",
            "Abschluss",
            "Decided",
            "Decided on",
            "Closed",
        ],
        help: "Entscheidungsdatum, leer wenn offen / decided, empty while open",
    },
    ColumnDef {
        name: "outcome",
        aliases: &[
            "Ergebnis",
            "Entscheidungsart",
            "Status",
            "Outcome",
            "Result",
        ],
        help: "Ergebnis / outcome (optional)",
    },
];

/// Required columns.
pub const REQUIRED: &[&[&str]] = &[&["case_id"], &["received_on"]];

/// Builds the cases frame.
pub struct Parser {
    ctx: Context,
    col: [Option<usize>; 6],
    strings: Interner,
    office: Nullable<u32>,
    service: Nullable<u32>,
    case_id: Vec<String>,
    received_on: Vec<Option<i32>>,
    decided_on: Vec<Option<i32>>,
    outcome: Nullable<u32>,
}

impl Parser {
    /// A parser for a mapped header.
    pub fn new(map: &ColumnMap, ctx: Context) -> Self {
        let col = [
            "office",
            "service",
            "case_id",
            "received_on",
            "decided_on",
            "outcome",
        ]
        .map(|n| map.get(n));
        Parser {
            ctx,
            col,
            strings: Interner::default(),
            office: Nullable::default(),
            service: Nullable::default(),
            case_id: Vec::new(),
            received_on: Vec::new(),
            decided_on: Vec::new(),
            outcome: Nullable::default(),
        }
    }
}

impl RowParser for Parser {
    fn row(&mut self, r: &mut Row) {
        let [office_c, service_c, id_c, received_c, decided_c, outcome_c] = self.col;
        let office = r
            .text(office_c)
            .or_else(|| self.ctx.office.clone().map(Cow::Owned));
        let office = r.require(office, office_c);
        let case_id = r.require(r.text(id_c), id_c);
        let received = r.date(received_c);
        let received = r.require(received, received_c);
        let decided = r.date(decided_c);
        if let (Some(a), Some(b)) = (received, decided)
            && b < a
        {
            r.problem(decided_c, Issue::DecidedBeforeReceived);
        }
        for (v, c) in [(received, received_c), (decided, decided_c)] {
            if v.is_some_and(|d| d > self.ctx.today) {
                r.problem(c, Issue::InFuture);
            }
        }
        if r.errors > 0 {
            return;
        }
        let (Some(office), Some(case_id)) = (office, case_id) else {
            return;
        };
        self.office.push(Some(self.strings.id(&office)));
        self.service
            .push(r.text(service_c).map(|s| self.strings.id(&s)));
        self.case_id.push(case_id.into_owned());
        self.received_on.push(received);
        self.decided_on.push(decided);
        self.outcome
            .push(r.text(outcome_c).map(|s| self.strings.id(&s)));
    }

    fn finish(self: Box<Self>) -> Parsed {
        let this = *self;
        let last = this
            .received_on
            .iter()
            .chain(this.decided_on.iter())
            .flatten()
            .max()
            .copied()
            .unwrap_or(this.ctx.today);
        let month: Vec<i32> = this
            .decided_on
            .iter()
            .map(|d| month_key(d.unwrap_or(last)))
            .collect();
        let days: Vec<Option<f64>> = this
            .received_on
            .iter()
            .zip(&this.decided_on)
            .map(|(r, d)| Some((d.as_ref()? - r.as_ref()?) as f64))
            .collect();
        let s = &this.strings;
        Parsed::new(frame(vec![
            s.column("office", this.office),
            s.column("service", this.service),
            Column::new("case_id".into(), &this.case_id),
            date_column("received_on", &this.received_on),
            date_column("decided_on", &this.decided_on),
            s.column("outcome", this.outcome),
            Column::new("month".into(), &month),
            Column::new("processing_days".into(), &days),
        ]))
    }
}
