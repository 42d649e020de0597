//! services: the catalogue of an office's services with their LeiKa id, OZG maturity and the
//! date they went online. A catalogue upload is a snapshot filed under the month it was
//! uploaded in; the newest published snapshot per office counts.

use super::{ColumnDef, Context, Interner, Nullable, Parsed, RowParser, date_column, frame};
use crate::rows::ColumnMap;
use crate::rows::problem::Issue;
use crate::rows::row::Row;
use polars::prelude::*;
use std::borrow::Cow;

/// Canonical columns and the headers real exports use for them.
pub const COLUMNS: &[ColumnDef] = &[
    ColumnDef {
        name: "service",
        aliases: &[
            "Dienstleistung",
            "Leistung",
            "Leistungsbezeichnung",
            "Service",
        ],
        help: "Dienstleistung / service",
    },
    ColumnDef {
        name: "office",
        aliases: &["Amt", "Behörde", "Dienststelle", "Office", "Department"],
        help: "Amt / office",
    },
    ColumnDef {
        name: "leika_id",
        aliases: &[
            "LeiKa",
            "LeiKa-Schlüssel",
            "Leika-ID",
            "Leistungsschlüssel",
            "LeiKa key",
        ],
        help: "LeiKa-Schlüssel (optional)",
    },
    ColumnDef {
        name: "maturity",
        aliases: &["Reifegrad", "OZG-Reifegrad", "Maturity", "Maturity level"],
        help: "OZG-Reifegrad 0–4 (optional)",
    },
    ColumnDef {
        name: "online_since",
        aliases: &["Online seit", "Online ab", "Onlinestart", "Online since"],
        help: "online seit (Datum, leer wenn nicht online)",
    },
];

/// Required columns.
pub const REQUIRED: &[&[&str]] = &[&["service"], &["online_since"]];

/// Builds the services frame.
pub struct Parser {
    ctx: Context,
    col: [Option<usize>; 5],
    strings: Interner,
    office: Nullable<u32>,
    service: Nullable<u32>,
    leika: Vec<Option<String>>,
    maturity: Vec<Option<i32>>,
    online_since: Vec<Option<i32>>,
}

impl Parser {
    /// A parser for a mapped header.
    pub fn new(map: &ColumnMap, ctx: Context) -> Self {
        let col = ["service", "office", "leika_id", "maturity", "online_since"].map(|n| map.get(n));
        Parser {
            ctx,
            col,
            strings: Interner::default(),
            office: Nullable::default(),
            service: Nullable::default(),
            leika: Vec::new(),
            maturity: Vec::new(),
            online_since: Vec::new(),
        }
    }
}

impl RowParser for Parser {
    fn row(&mut self, r: &mut Row) {
        let [service_c, office_c, leika_c, maturity_c, since_c] = self.col;
        let office = r
            .text(office_c)
            .or_else(|| self.ctx.office.clone().map(Cow::Owned));
        let office = r.require(office, office_c);
        let service = r.require(r.text(service_c), service_c);
        let maturity = r.count(maturity_c);
        if maturity.is_some_and(|m| m > 4) {
            r.problem(maturity_c, Issue::NotAWholeNumber);
        }
        let since = r.date(since_c);
        if since.is_some_and(|d| d > self.ctx.today) {
            r.problem(since_c, Issue::InFuture);
        }
        if r.errors > 0 {
            return;
        }
        let (Some(office), Some(service)) = (office, service) else {
            return;
        };
        self.office.push(Some(self.strings.id(&office)));
        self.service.push(Some(self.strings.id(&service)));
        self.leika.push(r.text(leika_c).map(Cow::into_owned));
        self.maturity.push(maturity.map(|m| m as i32));
        self.online_since.push(since);
    }

    fn finish(self: Box<Self>) -> Parsed {
        let this = *self;
        let rows = this.office.len();
        let snapshot = crate::timefmt::month_key(this.ctx.today);
        let s = &this.strings;
        Parsed::new(frame(vec![
            s.column("office", this.office),
            s.column("service", this.service),
            Column::new("leika_id".into(), &this.leika),
            Column::new("maturity".into(), &this.maturity),
            date_column("online_since", &this.online_since),
            Column::new("month".into(), vec![snapshot; rows]),
        ]))
    }
}
