//! visits: one row per ticket or appointment, from queue and appointment systems (ZMS, Qmatic,
//! TEVIS …). The KPIs are in [`crate::kpi::visits`]. A `ticket_id` is only checked (the same
//! number twice on one day is refused, see [`crate::ingest`]), not stored.

use super::{ColumnDef, Context, Interner, Nullable, Parsed, RowParser, datetime_column, frame};
use crate::rows::ColumnMap;
use crate::rows::problem::Issue;
use crate::rows::row::Row;
use crate::timefmt::{month_key, weekday};
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
            "Fachbereich",
            "Office",
            "Department",
            "Agency",
        ],
        help: "Amt / office",
    },
    ColumnDef {
        name: "location",
        aliases: &[
            "Standort",
            "Filiale",
            "Bürgerbüro",
            "Buergerbuero",
            "Location",
            "Site",
            "Branch",
        ],
        help: "Standort / location (optional)",
    },
    ColumnDef {
        name: "service",
        aliases: &[
            "Dienstleistung",
            "Anliegen",
            "Leistung",
            "Vorgang",
            "Service",
            "Concern",
        ],
        help: "Dienstleistung / service (optional)",
    },
    ColumnDef {
        name: "date",
        aliases: &["Datum", "Tag", "Besuchsdatum", "Date", "Day"],
        help: "Datum, wenn Zeiten getrennt stehen / date when times are separate",
    },
    ColumnDef {
        name: "arrived_at",
        aliases: &[
            "Ankunft",
            "Ankunftszeit",
            "Ankunft am",
            "Eingang",
            "Zeitpunkt Ankunft",
            "Wartemarke gezogen",
            "Arrived",
            "Arrival",
            "Arrival time",
            "Check-in",
            "Checkin",
        ],
        help: "Ankunft (Datum und Uhrzeit) / arrival",
    },
    ColumnDef {
        name: "arrived",
        aliases: &[
            "Uhrzeit Ankunft",
            "Ankunft Uhrzeit",
            "Ankunft (Uhrzeit)",
            "Arrival (time)",
        ],
        help: "Uhrzeit der Ankunft zu date / arrival time on date",
    },
    ColumnDef {
        name: "called_at",
        aliases: &[
            "Aufruf",
            "Aufrufzeit",
            "Aufgerufen",
            "Aufruf am",
            "Zeitpunkt Aufruf",
            "Called",
            "Called at",
            "Call time",
        ],
        help: "Aufruf (Datum und Uhrzeit) / called",
    },
    ColumnDef {
        name: "called",
        aliases: &[
            "Uhrzeit Aufruf",
            "Aufruf Uhrzeit",
            "Aufruf (Uhrzeit)",
            "Called (time)",
        ],
        help: "Uhrzeit des Aufrufs zu date / call time on date",
    },
    ColumnDef {
        name: "finished_at",
        aliases: &[
            "Ende",
            "Abschluss",
            "Fertig",
            "Bearbeitungsende",
            "Ende am",
            "Zeitpunkt Ende",
            "Finished",
            "Finished at",
            "End",
            "Completed",
        ],
        help: "Ende der Bedienung / finished",
    },
    ColumnDef {
        name: "finished",
        aliases: &[
            "Uhrzeit Ende",
            "Ende Uhrzeit",
            "Ende (Uhrzeit)",
            "Finished (time)",
        ],
        help: "Uhrzeit des Endes zu date / end time on date",
    },
    ColumnDef {
        name: "appointment",
        aliases: &[
            "Termin",
            "Terminkunde",
            "Mit Termin",
            "Terminbuchung",
            "Termin ja/nein",
            "Appointment",
            "Booked",
        ],
        help: "ja/nein: mit Termin / with appointment",
    },
    ColumnDef {
        name: "appointment_at",
        aliases: &[
            "Terminzeit",
            "Termin um",
            "Termin am",
            "Terminbeginn",
            "Appointment time",
            "Appointment at",
            "Slot",
        ],
        help: "gebuchter Termin / booked slot (optional)",
    },
    ColumnDef {
        name: "no_show",
        aliases: &[
            "nicht erschienen",
            "Nichterscheinen",
            "No-Show",
            "Noshow",
            "Ausgefallen",
            "Termin verfallen",
            "No show",
            "Missed",
        ],
        help: "ja/nein: Termin nicht wahrgenommen / missed appointment",
    },
    ColumnDef {
        name: "wait_min",
        aliases: &[
            "Wartezeit",
            "Wartezeit (min)",
            "Wartezeit in Minuten",
            "Wartezeit Minuten",
            "Wait",
            "Waiting time",
            "Wait (min)",
            "Wait minutes",
        ],
        help: "Wartezeit in Minuten, wenn kein Aufruf / waiting minutes when no call time",
    },
    ColumnDef {
        name: "persons",
        aliases: &[
            "Personen",
            "Anzahl Personen",
            "Personenzahl",
            "Persons",
            "People",
        ],
        help: "Personen je Vorgang (Standard 1) / persons (default 1)",
    },
    ColumnDef {
        name: "ticket_id",
        aliases: &[
            "Ticket",
            "Ticketnummer",
            "Ticket-Nr.",
            "Ticket ID",
            "Ticket number",
            "Wartenummer",
            "Aufrufnummer",
            "Vorgangsnummer",
            "Besuchsnummer",
            "Visit ID",
            "BuergerarchivID",
            "Bürgerarchiv-ID",
        ],
        help: "Wartenummer (optional, je Tag eindeutig) / ticket number (optional, unique per day)",
    },
];

/// Required columns: the arrival, as one column or as date + time.
pub const REQUIRED: &[&[&str]] = &[&["arrived_at", "date+arrived"]];

/// Builds the visits frame.
pub struct Parser {
    ctx: Context,
    col: Cols,
    strings: Interner,
    texts: TextColumns,
    numbers: NumberColumns,
}

/// The text columns of the rows read, as ids of the parser's distinct texts.
struct TextColumns {
    office: Nullable<u32>,
    location: Nullable<u32>,
    service: Nullable<u32>,
}

impl TextColumns {
    fn with_capacity(n: usize) -> Self {
        TextColumns {
            office: Nullable::with_capacity(n),
            location: Nullable::with_capacity(n),
            service: Nullable::with_capacity(n),
        }
    }

    /// Adds `later`'s rows, its ids turned into these' by `id`.
    fn append(&mut self, later: TextColumns, id: impl Fn(u32) -> u32) {
        self.office.append_mapped(later.office, &id);
        self.location.append_mapped(later.location, &id);
        self.service.append_mapped(later.service, &id);
    }

    /// The columns, each row a view of its text in `strings`.
    fn into_columns(self, strings: &Interner) -> [Column; 3] {
        [
            strings.column("office", self.office),
            strings.column("location", self.location),
            strings.column("service", self.service),
        ]
    }
}

/// The other columns of the rows read.
struct NumberColumns {
    month: Vec<i32>,
    weekday: Nullable<i32>,
    hour: Nullable<i32>,
    appointment: Vec<bool>,
    no_show: Vec<bool>,
    wait_min: Nullable<f64>,
    service_min: Nullable<f64>,
    persons: Vec<i32>,
    arrived_at: Nullable<i64>,
    called_at: Nullable<i64>,
    finished_at: Nullable<i64>,
    appointment_at: Nullable<i64>,
}

impl NumberColumns {
    fn with_capacity(n: usize) -> Self {
        NumberColumns {
            month: Vec::with_capacity(n),
            weekday: Nullable::with_capacity(n),
            hour: Nullable::with_capacity(n),
            appointment: Vec::with_capacity(n),
            no_show: Vec::with_capacity(n),
            wait_min: Nullable::with_capacity(n),
            service_min: Nullable::with_capacity(n),
            persons: Vec::with_capacity(n),
            arrived_at: Nullable::with_capacity(n),
            called_at: Nullable::with_capacity(n),
            finished_at: Nullable::with_capacity(n),
            appointment_at: Nullable::with_capacity(n),
        }
    }

    /// Adds `later`'s rows.
    fn append(&mut self, later: NumberColumns) {
        self.month.extend(later.month);
        self.weekday.append(later.weekday);
        self.hour.append(later.hour);
        self.appointment.extend(later.appointment);
        self.no_show.extend(later.no_show);
        self.wait_min.append(later.wait_min);
        self.service_min.append(later.service_min);
        self.persons.extend(later.persons);
        self.arrived_at.append(later.arrived_at);
        self.called_at.append(later.called_at);
        self.finished_at.append(later.finished_at);
        self.appointment_at.append(later.appointment_at);
    }

    fn into_columns(self) -> [Column; 12] {
        [
            Column::new("month".into(), self.month),
            self.weekday.into_column::<Int32Type>("weekday"),
            self.hour.into_column::<Int32Type>("hour"),
            Column::new("appointment".into(), self.appointment),
            Column::new("no_show".into(), self.no_show),
            self.wait_min.into_column::<Float64Type>("wait_min"),
            self.service_min.into_column::<Float64Type>("service_min"),
            Column::new("persons".into(), self.persons),
            datetime_column("arrived_at", self.arrived_at),
            datetime_column("called_at", self.called_at),
            datetime_column("finished_at", self.finished_at),
            datetime_column("appointment_at", self.appointment_at),
        ]
    }
}

struct Cols {
    office: Option<usize>,
    location: Option<usize>,
    service: Option<usize>,
    date: Option<usize>,
    arrived_at: Option<usize>,
    arrived: Option<usize>,
    called_at: Option<usize>,
    called: Option<usize>,
    finished_at: Option<usize>,
    finished: Option<usize>,
    appointment: Option<usize>,
    appointment_at: Option<usize>,
    no_show: Option<usize>,
    wait_min: Option<usize>,
    persons: Option<usize>,
}

impl Parser {
    /// A parser for a mapped header.
    pub fn new(map: &ColumnMap, ctx: Context) -> Self {
        let col = Cols {
            office: map.get("office"),
            location: map.get("location"),
            service: map.get("service"),
            date: map.get("date"),
            arrived_at: map.get("arrived_at"),
            arrived: map.get("arrived"),
            called_at: map.get("called_at"),
            called: map.get("called"),
            finished_at: map.get("finished_at"),
            finished: map.get("finished"),
            appointment: map.get("appointment"),
            appointment_at: map.get("appointment_at"),
            no_show: map.get("no_show"),
            wait_min: map.get("wait_min"),
            persons: map.get("persons"),
        };
        let n = ctx.rows_hint;
        Parser {
            ctx,
            col,
            strings: Interner::default(),
            texts: TextColumns::with_capacity(n),
            numbers: NumberColumns::with_capacity(n),
        }
    }

    /// The frame of these rows and then `later`'s (the next part of the same file, read on
    /// the other core), made on both cores: each column grows once, without copying these
    /// rows, and the texts' views are made once, for the whole file.
    pub fn finish_with(self, later: Parser) -> Parsed {
        let Parser {
            mut strings,
            mut texts,
            mut numbers,
            ..
        } = self;
        let (texts, numbers) = std::thread::scope(|s| {
            let numbers = s.spawn(move || {
                numbers.append(later.numbers);
                numbers.into_columns()
            });
            let ids: Vec<u32> = later.strings.values.iter().map(|t| strings.id(t)).collect();
            texts.append(later.texts, |id| ids.get(id as usize).copied().unwrap_or(0));
            let texts = texts.into_columns(&strings);
            (texts, numbers.join().expect("column thread"))
        });
        Parsed::new(frame(texts.into_iter().chain(numbers).collect()))
    }
}

impl RowParser for Parser {
    fn row(&mut self, r: &mut Row) {
        let c = &self.col;
        let office = r
            .text(c.office)
            .or_else(|| self.ctx.office.clone().map(Cow::Owned));
        let office = r.require(office, c.office);
        let date = r.date(c.date);
        let arrived = r.moment(c.arrived_at, date, c.arrived.or(c.arrived_at));
        let called = r.moment(c.called_at, date, c.called.or(c.called_at));
        let finished = r.moment(c.finished_at, date, c.finished.or(c.finished_at));
        let appointment_at = r.moment(c.appointment_at, date, c.appointment_at);
        let appointment = r.boolean(c.appointment).unwrap_or(appointment_at.is_some());
        let no_show = r
            .boolean(c.no_show)
            .unwrap_or(appointment && arrived.is_none() && called.is_none());
        let wait_given = r.non_negative(c.wait_min);
        let persons = r.count(c.persons).unwrap_or(1);
        let arrival_col = c.arrived_at.or(c.arrived);

        if !no_show && arrived.is_none() && !r.cell(arrival_col).is_empty() {
            // already reported as unreadable
        } else if !no_show && arrived.is_none() {
            r.problem(arrival_col, Issue::NoArrival);
        }
        if let (Some(a), Some(k)) = (arrived, called)
            && k < a
        {
            r.problem(c.called_at.or(c.called), Issue::CalledBeforeArrived);
        }
        if let (Some(k), Some(f)) = (called.or(arrived), finished)
            && f < k
        {
            r.problem(c.finished_at.or(c.finished), Issue::FinishedBeforeCalled);
        }
        let limit = (self.ctx.today as i64 + 1) * 86_400;
        for (v, col) in [
            (arrived, arrival_col),
            (called, c.called_at.or(c.called)),
            (finished, c.finished_at.or(c.finished)),
        ] {
            if v.is_some_and(|t| t >= limit) {
                r.problem(col, Issue::InFuture);
            }
        }
        if date.is_some_and(|d| d > self.ctx.today) && arrived.is_none() {
            r.problem(c.date, Issue::InFuture);
        }
        let anchor = if no_show {
            appointment_at.or(arrived)
        } else {
            arrived
        };
        let month = anchor
            .map(|t| month_key(t.div_euclid(86_400) as i32))
            .or(date.map(month_key));
        if month.is_none() && r.errors == 0 {
            r.problem(c.appointment_at.or(c.date).or(arrival_col), Issue::NoMonth);
        }
        if r.errors > 0 {
            return;
        }
        let (Some(office), Some(month)) = (office, month) else {
            return;
        };

        let wait = match (no_show, arrived, called) {
            (true, _, _) => None,
            (false, Some(a), Some(k)) => Some((k - a) as f64 / 60.0),
            (false, _, _) => wait_given,
        };
        let service_min = match (called, finished) {
            (Some(k), Some(f)) => Some((f - k) as f64 / 60.0),
            _ => None,
        };
        self.texts.office.push(Some(self.strings.id(&office)));
        self.texts
            .location
            .push(r.text(c.location).map(|s| self.strings.id(&s)));
        self.texts
            .service
            .push(r.text(c.service).map(|s| self.strings.id(&s)));
        self.numbers.month.push(month);
        let anchor = anchor.or(date.map(|d| d as i64 * 86_400));
        self.numbers
            .weekday
            .push(anchor.map(|t| weekday(t.div_euclid(86_400) as i32)));
        self.numbers.hour.push(
            anchor
                .filter(|t| t % 86_400 != 0 || arrived.is_some())
                .map(|t| (t.rem_euclid(86_400) / 3600) as i32),
        );
        self.numbers.appointment.push(appointment);
        self.numbers.no_show.push(no_show);
        self.numbers.wait_min.push(wait);
        self.numbers.service_min.push(service_min);
        self.numbers
            .persons
            .push(persons.min(i32::MAX as i64) as i32);
        self.numbers.arrived_at.push(arrived);
        self.numbers.called_at.push(called);
        self.numbers.finished_at.push(finished);
        self.numbers.appointment_at.push(appointment_at);
    }

    fn finish(self: Box<Self>) -> Parsed {
        let this = *self;
        let texts = this.texts.into_columns(&this.strings);
        Parsed::new(frame(
            texts
                .into_iter()
                .chain(this.numbers.into_columns())
                .collect(),
        ))
    }
}

/// Default wait target in minutes for `within_target_share` (an office may set its own).
pub const DEFAULT_WAIT_TARGET_MIN: f64 = 30.0;

/// Which figures an aggregate row carries: each report of a queue system that gives totals
/// (ZMS) is a different cut of the same visits, so a KPI takes each figure from the one cut
/// that has it and never adds two cuts up. Single visits have no marginal (null).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Marginal {
    /// Per day, appointment and no-show: persons (ZMS Kundenstatistik).
    Day = 1,
    /// Per day and hour: tickets with a measured wait and their mean wait (ZMS
    /// Wartestatistik, sheet Gesamt).
    Hour = 2,
    /// As [`Marginal::Hour`], split by appointment (sheets Terminkunden, Spontankunden).
    HourByAppointment = 3,
    /// Per day and service: services rendered (ZMS Dienstleistungsstatistik).
    Service = 4,
}

/// The columns an aggregate row adds to the visits frame: how many visits it stands for and
/// its [`Marginal`]. Frames of single visits (and batches stored before aggregates existed)
/// lack them; [`with_aggregate_columns`] adds them as nulls.
pub const AGGREGATE_COLUMNS: [&str; 2] = ["n", "marginal"];

/// Adds `n` and `marginal` (null: a single visit) to a frame that lacks them, so that batches
/// of single visits and of aggregates can be read as one table.
pub fn with_aggregate_columns(lf: LazyFrame) -> PolarsResult<LazyFrame> {
    let mut lf = lf;
    let schema = lf.collect_schema()?;
    let missing: Vec<Expr> = AGGREGATE_COLUMNS
        .iter()
        .filter(|c| schema.get(c).is_none())
        .map(|c| lit(NULL).cast(DataType::Int32).alias(*c))
        .collect();
    Ok(if missing.is_empty() {
        lf
    } else {
        lf.with_columns(missing)
    })
}

/// Builds the visits frame of an aggregate report, one row per cell of the report.
#[derive(Debug, Default)]
pub struct Aggregate {
    strings: Interner,
    office: Nullable<u32>,
    location: Nullable<u32>,
    service: Nullable<u32>,
    month: Vec<i32>,
    weekday: Vec<i32>,
    hour: Vec<Option<i32>>,
    appointment: Vec<Option<bool>>,
    no_show: Vec<bool>,
    wait_min: Vec<Option<f64>>,
    n: Vec<i32>,
    marginal: Vec<i32>,
}

impl Aggregate {
    /// Adds a cell that stands for `n` visits (cells with none are left out).
    #[allow(clippy::too_many_arguments)]
    pub fn push(
        &mut self,
        marginal: Marginal,
        office: &str,
        location: &str,
        day: i32,
        hour: Option<i32>,
        service: Option<&str>,
        appointment: Option<bool>,
        no_show: bool,
        wait_min: Option<f64>,
        n: i64,
    ) {
        if n <= 0 {
            return;
        }
        self.office.push(Some(self.strings.id(office)));
        self.location.push(Some(self.strings.id(location)));
        self.service.push(service.map(|s| self.strings.id(s)));
        self.month.push(month_key(day));
        self.weekday.push(weekday(day));
        self.hour.push(hour);
        self.appointment.push(appointment);
        self.no_show.push(no_show);
        self.wait_min.push(wait_min);
        self.n.push(n.min(i32::MAX as i64) as i32);
        self.marginal.push(marginal as i32);
    }

    /// Cells added so far.
    pub fn len(&self) -> usize {
        self.n.len()
    }

    /// Whether no cell was added.
    pub fn is_empty(&self) -> bool {
        self.n.is_empty()
    }

    /// The frame: the columns of single visits (times empty), then `n` and `marginal`.
    pub fn finish(self) -> DataFrame {
        let n = self.len();
        let s = &self.strings;
        frame(vec![
            s.column("office", self.office),
            s.column("location", self.location),
            s.column("service", self.service),
            Column::new("month".into(), &self.month),
            Column::new("weekday".into(), &self.weekday),
            Column::new("hour".into(), &self.hour),
            Column::new("appointment".into(), &self.appointment),
            Column::new("no_show".into(), &self.no_show),
            Column::new("wait_min".into(), &self.wait_min),
            Nullable::nulls(n).into_column::<Float64Type>("service_min"),
            Nullable::nulls(n).into_column::<Int32Type>("persons"),
            datetime_column("arrived_at", Nullable::nulls(n)),
            datetime_column("called_at", Nullable::nulls(n)),
            datetime_column("finished_at", Nullable::nulls(n)),
            datetime_column("appointment_at", Nullable::nulls(n)),
            Column::new("n".into(), &self.n),
            Column::new("marginal".into(), &self.marginal),
        ])
    }
}

pub mod partials;
