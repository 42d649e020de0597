//! visits: one row per ticket or appointment, from queue and appointment systems (ZMS, Qmatic,
//! TEVIS …). The KPIs are in [`crate::kpi::visits`]. A `ticket_id` is only checked (the same
//! number twice on one day is refused, see [`crate::ingest`]), not stored.

use super::{ColumnDef, Context, Interner, Parsed, RowParser, datetime_column, frame};
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
    office: Vec<Option<u32>>,
    location: Vec<Option<u32>>,
    service: Vec<Option<u32>>,
    month: Vec<i32>,
    weekday: Vec<Option<i32>>,
    hour: Vec<Option<i32>>,
    appointment: Vec<bool>,
    no_show: Vec<bool>,
    wait_min: Vec<Option<f64>>,
    service_min: Vec<Option<f64>>,
    persons: Vec<i32>,
    arrived_at: Vec<Option<i64>>,
    called_at: Vec<Option<i64>>,
    finished_at: Vec<Option<i64>>,
    appointment_at: Vec<Option<i64>>,
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
            office: Vec::with_capacity(n),
            location: Vec::with_capacity(n),
            service: Vec::with_capacity(n),
            month: Vec::with_capacity(n),
            weekday: Vec::with_capacity(n),
            hour: Vec::with_capacity(n),
            appointment: Vec::with_capacity(n),
            no_show: Vec::with_capacity(n),
            wait_min: Vec::with_capacity(n),
            service_min: Vec::with_capacity(n),
            persons: Vec::with_capacity(n),
            arrived_at: Vec::with_capacity(n),
            called_at: Vec::with_capacity(n),
            finished_at: Vec::with_capacity(n),
            appointment_at: Vec::with_capacity(n),
        }
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
        self.office.push(Some(self.strings.id(&office)));
        self.location
            .push(r.text(c.location).map(|s| self.strings.id(&s)));
        self.service
            .push(r.text(c.service).map(|s| self.strings.id(&s)));
        self.month.push(month);
        let anchor = anchor.or(date.map(|d| d as i64 * 86_400));
        self.weekday
            .push(anchor.map(|t| weekday(t.div_euclid(86_400) as i32)));
        self.hour.push(
            anchor
                .filter(|t| t % 86_400 != 0 || arrived.is_some())
                .map(|t| (t.rem_euclid(86_400) / 3600) as i32),
        );
        self.appointment.push(appointment);
        self.no_show.push(no_show);
        self.wait_min.push(wait);
        self.service_min.push(service_min);
        self.persons.push(persons.min(i32::MAX as i64) as i32);
        self.arrived_at.push(arrived);
        self.called_at.push(called);
        self.finished_at.push(finished);
        self.appointment_at.push(appointment_at);
    }

    fn finish(self: Box<Self>) -> Parsed {
        let s = &self.strings;
        Parsed::new(frame(vec![
            s.column("office", &self.office),
            s.column("location", &self.location),
            s.column("service", &self.service),
            Column::new("month".into(), &self.month),
            Column::new("weekday".into(), &self.weekday),
            Column::new("hour".into(), &self.hour),
            Column::new("appointment".into(), &self.appointment),
            Column::new("no_show".into(), &self.no_show),
            Column::new("wait_min".into(), &self.wait_min),
            Column::new("service_min".into(), &self.service_min),
            Column::new("persons".into(), &self.persons),
            datetime_column("arrived_at", &self.arrived_at),
            datetime_column("called_at", &self.called_at),
            datetime_column("finished_at", &self.finished_at),
            datetime_column("appointment_at", &self.appointment_at),
        ]))
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
    office: Vec<Option<u32>>,
    location: Vec<Option<u32>>,
    service: Vec<Option<u32>>,
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
        let s = &self.strings;
        let none_f64 = vec![None::<f64>; self.len()];
        let none_i64 = vec![None::<i64>; self.len()];
        let persons = vec![None::<i32>; self.len()];
        frame(vec![
            s.column("office", &self.office),
            s.column("location", &self.location),
            s.column("service", &self.service),
            Column::new("month".into(), &self.month),
            Column::new("weekday".into(), &self.weekday),
            Column::new("hour".into(), &self.hour),
            Column::new("appointment".into(), &self.appointment),
            Column::new("no_show".into(), &self.no_show),
            Column::new("wait_min".into(), &self.wait_min),
            Column::new("service_min".into(), &none_f64),
            Column::new("persons".into(), &persons),
            datetime_column("arrived_at", &none_i64),
            datetime_column("called_at", &none_i64),
            datetime_column("finished_at", &none_i64),
            datetime_column("appointment_at", &none_i64),
            Column::new("n".into(), &self.n),
            Column::new("marginal".into(), &self.marginal),
        ])
    }
}

/// Mergeable partial aggregates of a batch of visits, kept beside its rows so that questions
/// merge small tables instead of rescanning rows (see `crate::kpi::partials`, which reads
/// them): per (office, month, marginal) and per split, counts, and histograms of waits and
/// service times with their values kept exactly.
pub mod partials {
    use super::with_aggregate_columns;
    use polars::prelude::*;

    /// The splits kept besides (office, month): the columns a question may group or filter by
    /// and still be answered from partials.
    pub const SPLITS: &[&[&str]] = &[&[], &["appointment"], &["location"], &["service"]];

    /// What a partial row holds: counts, or one value of a histogram of waits or service times.
    pub const COUNTS: i32 = 0;
    pub const WAITS: i32 = 1;
    pub const SERVICE_TIMES: i32 = 2;

    /// The columns of the partials table, in order, with their types.
    fn schema() -> [(&'static str, DataType); 25] {
        [
            ("split", DataType::Int32),
            ("metric", DataType::Int32),
            ("office", DataType::String),
            ("month", DataType::Int32),
            ("marginal", DataType::Int32),
            ("location", DataType::String),
            ("service", DataType::String),
            ("appointment", DataType::Boolean),
            ("weekday", DataType::Int32),
            ("hour", DataType::Int32),
            ("value", DataType::Float64),
            ("count", DataType::Int64),
            ("c_rows", DataType::Int64),
            ("c_visitors", DataType::Int64),
            ("c_appointments", DataType::Int64),
            ("c_no_shows", DataType::Int64),
            ("c_appointment_visitors", DataType::Int64),
            ("q_wait_50", DataType::Float64),
            ("q_wait_90", DataType::Float64),
            ("q_service_50", DataType::Float64),
            ("w_served", DataType::Int64),
            ("w_sum", DataType::Float64),
            ("w_max", DataType::Float64),
            ("w_within_default", DataType::Int64),
            ("s_count", DataType::Int64),
        ]
    }

    /// The partials of a batch of visits rows (single visits and aggregates alike), per split
    /// in the order of [`SPLITS`]: the counts (with each group's quantiles and wait figures)
    /// and the histograms, apart, since most questions need the counts only.
    ///
    /// Plain passes over the rows, one per split, on two threads (a polars group-by per split
    /// and histogram cost seconds per million rows; this costs a fraction of one). The
    /// figures are the ones polars would give: sums skip missing weights, a group's maximum
    /// skips missing waits, conditions on missing values count as false.
    ///
    /// Each split's tables go to `keep` as soon as they are computed (on the thread that
    /// computed them), so that writing one overlaps computing the next.
    pub fn each<E: From<PolarsError> + Send>(
        rows: LazyFrame,
        keep: impl Fn(usize, (DataFrame, DataFrame)) -> Result<(), E> + Sync,
    ) -> Result<(), E> {
        let rows = with_aggregate_columns(rows)?
            .select([
                col("office").cast(DataType::String),
                col("month").cast(DataType::Int32),
                col("marginal").cast(DataType::Int32),
                col("n").cast(DataType::Int64),
                col("location").cast(DataType::String),
                col("service").cast(DataType::String),
                col("appointment").cast(DataType::Boolean),
                col("no_show").cast(DataType::Boolean),
                col("wait_min").cast(DataType::Float64),
                col("service_min").cast(DataType::Float64),
            ])
            .collect()?;
        let text = |name: &str| rows.column(name).and_then(|c| c.str().cloned());
        let (office, location, service) = (text("office")?, text("location")?, text("service")?);
        let month = rows.column("month")?.i32()?.clone();
        let marginal = rows.column("marginal")?.i32()?.clone();
        let n = rows.column("n")?.i64()?.clone();
        let appointment = rows.column("appointment")?.bool()?.clone();
        let no_show = rows.column("no_show")?.bool()?.clone();
        let wait = rows.column("wait_min")?.f64()?.clone();
        let service_min = rows.column("service_min")?.f64()?.clone();

        let mut texts = Texts::default();
        fn ids<'a>(texts: &mut Texts<'a>, ca: &'a StringChunked) -> Vec<u32> {
            ca.iter().map(|s| texts.id(s)).collect()
        }
        let office_ids = ids(&mut texts, &office);
        let location_ids = ids(&mut texts, &location);
        let service_ids = ids(&mut texts, &service);
        let rows = Prepared::new(
            &office_ids,
            &month,
            &marginal,
            &n,
            &appointment,
            &no_show,
            &wait,
            &service_min,
        );
        // Each split is one pass over the prepared rows; the splits run on two threads.
        let split = |i: usize| -> Result<(), E> {
            let values: Option<Vec<u32>> = match SPLITS[i] {
                ["appointment"] => Some(
                    appointment
                        .iter()
                        .map(|a| a.map_or(MISSING, u32::from))
                        .collect(),
                ),
                ["location"] => Some(location_ids.clone()),
                ["service"] => Some(service_ids.clone()),
                _ => None,
            };
            let domain = match SPLITS[i] {
                ["appointment"] => 3,
                [] => 1,
                _ => texts.values.len() + 1,
            };
            let tables = SplitTables::new(&rows, values.as_deref(), domain, DENSE_CELLS);
            keep(i, tables.into_frames(i, &texts)?)
        };
        let (mine, other) = std::thread::scope(|scope| {
            let other = scope.spawn(|| [1, 2].into_iter().try_for_each(split));
            ([0, 3].into_iter().try_for_each(split), other.join())
        });
        mine?;
        other.map_err(|_| E::from(polars_err!(ComputeError: "partials thread panicked")))?
    }

    /// Texts seen in a batch, each once; `u32::MAX` stands for a missing one.
    #[derive(Default)]
    struct Texts<'a> {
        ids: PlHashMap<&'a str, u32>,
        values: Vec<&'a str>,
    }

    impl<'a> Texts<'a> {
        fn id(&mut self, s: Option<&'a str>) -> u32 {
            let Some(s) = s else { return MISSING };
            *self.ids.entry(s).or_insert_with(|| {
                self.values.push(s);
                (self.values.len() - 1) as u32
            })
        }

        fn get(&self, id: u32) -> Option<&'a str> {
            (id != MISSING).then(|| self.values[id as usize])
        }
    }

    const MISSING: u32 = u32::MAX;

    /// A group: office, month, marginal and the split's value (`None` for split 0; for the
    /// appointment split 0/1, for the others a text id; `MISSING` for a missing value).
    type GroupKey = (u32, Option<i32>, Option<i32>, Option<u32>);

    /// Most cells of a dense lookup table (a group per base group and split value, a count
    /// per group and value); beyond it, a hash map is used.
    const DENSE_CELLS: usize = 1 << 21;

    /// The rows as every split needs them, computed once: each row's base group (office,
    /// month, marginal), its weight and flags, and its wait and service time as a rank among
    /// the batch's distinct values (ranks in value order, so that counting by rank gives
    /// histograms sorted by value without sorting).
    struct Prepared {
        base_keys: Vec<(u32, Option<i32>, Option<i32>)>,
        rows: Vec<PreparedRow>,
        waits: Vec<f64>,
        service_times: Vec<f64>,
    }

    /// One row of [`Prepared`].
    struct PreparedRow {
        base: u32,
        /// How many visits the row stands for: 1 for a single visit, `n` for an aggregate.
        weight: Option<i64>,
        single: bool,
        appointment: Option<bool>,
        no_show: Option<bool>,
        /// Rank of the wait in [`Prepared::waits`], `MISSING` without one.
        wait: u32,
        service_time: u32,
    }

    /// A float as a hash key, with -0.0 and 0.0 one value (as polars groups them).
    fn bits(v: f64) -> u64 {
        if v == 0.0 { 0 } else { v.to_bits() }
    }

    /// Distinct values and each row's rank among them (`MISSING` for none), ranks in value
    /// order.
    fn ranks(values: &Float64Chunked) -> (Vec<f64>, Vec<u32>) {
        let mut first_seen: PlHashMap<u64, u32> = PlHashMap::default();
        let mut distinct: Vec<f64> = Vec::new();
        let mut of_row: Vec<u32> = values
            .iter()
            .map(|v| match v {
                None => MISSING,
                Some(v) => *first_seen.entry(bits(v)).or_insert_with(|| {
                    distinct.push(if v == 0.0 { 0.0 } else { v });
                    (distinct.len() - 1) as u32
                }),
            })
            .collect();
        let mut order: Vec<u32> = (0..distinct.len() as u32).collect();
        order.sort_unstable_by(|a, b| distinct[*a as usize].total_cmp(&distinct[*b as usize]));
        let mut rank = vec![0u32; distinct.len()];
        for (r, id) in order.iter().enumerate() {
            rank[*id as usize] = r as u32;
        }
        for v in &mut of_row {
            if *v != MISSING {
                *v = rank[*v as usize];
            }
        }
        let sorted = order.iter().map(|id| distinct[*id as usize]).collect();
        (sorted, of_row)
    }

    impl Prepared {
        #[allow(clippy::too_many_arguments)]
        fn new(
            office: &[u32],
            month: &Int32Chunked,
            marginal: &Int32Chunked,
            n: &Int64Chunked,
            appointment: &BooleanChunked,
            no_show: &BooleanChunked,
            wait: &Float64Chunked,
            service_min: &Float64Chunked,
        ) -> Self {
            let (waits, wait_rank) = ranks(wait);
            let (service_times, service_rank) = ranks(service_min);
            let mut base_index: PlHashMap<(u32, Option<i32>, Option<i32>), u32> =
                PlHashMap::default();
            let mut base_keys = Vec::new();
            let rows = office
                .iter()
                .zip(month.iter())
                .zip(marginal.iter())
                .zip(n.iter())
                .zip(appointment.iter())
                .zip(no_show.iter())
                .zip(wait_rank.iter().zip(&service_rank))
                .map(
                    |((((((office, month), marginal), n), appointment), no_show), (w, s))| {
                        let key = (*office, month, marginal);
                        let base = *base_index.entry(key).or_insert_with(|| {
                            base_keys.push(key);
                            (base_keys.len() - 1) as u32
                        });
                        PreparedRow {
                            base,
                            weight: if marginal.is_none() { Some(1) } else { n },
                            single: marginal.is_none(),
                            appointment,
                            no_show,
                            wait: *w,
                            service_time: *s,
                        }
                    },
                )
                .collect();
            Prepared {
                base_keys,
                rows,
                waits,
                service_times,
            }
        }
    }

    /// The sums of one group, named as the columns they become.
    #[derive(Default)]
    struct Sums {
        c_rows: i64,
        c_visitors: i64,
        c_appointments: i64,
        c_no_shows: i64,
        c_appointment_visitors: i64,
        w_served: i64,
        w_sum: f64,
        w_max: Option<f64>,
        w_within_default: i64,
        s_count: i64,
    }

    /// The groups of one split with their sums and their histograms of waits and service
    /// times as (group, value, count), sorted by group and value.
    struct SplitTables {
        keys: Vec<GroupKey>,
        sums: Vec<Sums>,
        waits: Vec<(u32, f64, i64)>,
        service_times: Vec<(u32, f64, i64)>,
    }

    /// Finds a row's group by a dense table when base groups × split values is small, else
    /// by a hash map; groups are numbered in the order they are first seen.
    enum GroupIndex {
        Dense(Vec<u32>),
        Sparse(PlHashMap<u64, u32>),
    }

    impl GroupIndex {
        fn new(cells: usize, dense_cells: usize) -> Self {
            if cells <= dense_cells {
                GroupIndex::Dense(vec![MISSING; cells])
            } else {
                GroupIndex::Sparse(PlHashMap::default())
            }
        }

        /// The group in cell `cell`, made by `make` when new.
        fn get(&mut self, cell: usize, make: impl FnOnce() -> u32) -> u32 {
            match self {
                GroupIndex::Dense(t) => {
                    if t[cell] == MISSING {
                        t[cell] = make();
                    }
                    t[cell]
                }
                GroupIndex::Sparse(m) => *m.entry(cell as u64).or_insert_with(make),
            }
        }
    }

    /// Counts per (group, value rank): dense when groups × values is small, else a hash map.
    /// A stored count is the count + 1, so that a value seen with weight 0 is still kept.
    fn histogram(
        rows: &[PreparedRow],
        groups: &[u32],
        group_count: usize,
        rank: impl Fn(&PreparedRow) -> u32,
        values: &[f64],
        dense_cells: usize,
    ) -> Vec<(u32, f64, i64)> {
        let v = values.len().max(1);
        let mut out = Vec::new();
        if group_count.saturating_mul(v) <= dense_cells {
            let mut t = vec![0i64; group_count * v];
            for (row, g) in rows.iter().zip(groups) {
                let r = rank(row);
                if r != MISSING {
                    let c = &mut t[*g as usize * v + r as usize];
                    *c += row.weight.unwrap_or(0) + i64::from(*c == 0);
                }
            }
            for (cell, c) in t.iter().enumerate() {
                if *c != 0 {
                    out.push(((cell / v) as u32, values[cell % v], c - 1));
                }
            }
        } else {
            let mut m: PlHashMap<u64, i64> = PlHashMap::default();
            for (row, g) in rows.iter().zip(groups) {
                let r = rank(row);
                if r != MISSING {
                    *m.entry(*g as u64 * v as u64 + r as u64).or_default() +=
                        row.weight.unwrap_or(0);
                }
            }
            let mut cells: Vec<(u64, i64)> = m.into_iter().collect();
            cells.sort_unstable_by_key(|(cell, _)| *cell);
            out.extend(cells.into_iter().map(|(cell, c)| {
                (
                    (cell / v as u64) as u32,
                    values[(cell % v as u64) as usize],
                    c,
                )
            }));
        }
        out
    }

    impl SplitTables {
        /// The tables of a split whose value per row is `values` (`None` for split 0), from
        /// `domain` possible values (`MISSING` counting as the last); lookup tables up to
        /// `dense_cells` cells are dense.
        fn new(p: &Prepared, values: Option<&[u32]>, domain: usize, dense_cells: usize) -> Self {
            let mut index = GroupIndex::new(p.base_keys.len().saturating_mul(domain), dense_cells);
            let mut keys: Vec<GroupKey> = Vec::new();
            let mut sums: Vec<Sums> = Vec::new();
            let mut groups: Vec<u32> = Vec::with_capacity(p.rows.len());
            for (r, row) in p.rows.iter().enumerate() {
                let value = values.map(|v| v[r]);
                let dense = match value {
                    None => 0,
                    Some(MISSING) => domain - 1,
                    Some(v) => v as usize,
                };
                let g = index.get(row.base as usize * domain + dense, || {
                    let (office, month, marginal) = p.base_keys[row.base as usize];
                    keys.push((office, month, marginal, value));
                    sums.push(Sums::default());
                    (keys.len() - 1) as u32
                });
                groups.push(g);
                let s = &mut sums[g as usize];
                let w = row.weight.unwrap_or(0);
                s.c_rows += w;
                if row.no_show == Some(false) {
                    s.c_visitors += w;
                }
                if row.no_show == Some(true) {
                    s.c_no_shows += w;
                }
                if row.appointment == Some(true) {
                    s.c_appointments += w;
                    if row.no_show == Some(false) {
                        s.c_appointment_visitors += w;
                    }
                }
                if row.wait != MISSING {
                    let wait = p.waits[row.wait as usize];
                    s.w_served += w;
                    if let Some(weight) = row.weight {
                        s.w_sum += weight as f64 * wait;
                    }
                    s.w_max = Some(s.w_max.map_or(wait, |m| m.max(wait)));
                    if row.single && wait <= super::DEFAULT_WAIT_TARGET_MIN {
                        s.w_within_default += w;
                    }
                }
                if row.service_time != MISSING && row.single {
                    s.s_count += w;
                }
            }
            let waits = histogram(
                &p.rows,
                &groups,
                keys.len(),
                |r| r.wait,
                &p.waits,
                dense_cells,
            );
            let service_times = histogram(
                &p.rows,
                &groups,
                keys.len(),
                |r| r.service_time,
                &p.service_times,
                dense_cells,
            );
            SplitTables {
                keys,
                sums,
                waits,
                service_times,
            }
        }

        /// The counts table and the histograms table of split `split`.
        fn into_frames(self, split: usize, texts: &Texts) -> PolarsResult<(DataFrame, DataFrame)> {
            let SplitTables {
                keys,
                sums,
                waits,
                service_times,
            } = self;
            // Quantiles of the groups of single visits, read off their histograms.
            let quantiles = |h: &[(u32, f64, i64)], qs: &[f64]| {
                let mut out = vec![vec![None; keys.len()]; qs.len()];
                for run in h.chunk_by(|a, b| a.0 == b.0) {
                    let g = run[0].0 as usize;
                    if keys[g].2.is_some() {
                        continue;
                    }
                    let hist: Vec<(f64, i64)> = run.iter().map(|(_, v, c)| (*v, *c)).collect();
                    for (k, q) in qs.iter().enumerate() {
                        out[k][g] = quantile(&hist, *q);
                    }
                }
                out
            };
            let qw = quantiles(&waits, &[0.5, 0.9]);
            let qs = quantiles(&service_times, &[0.5]);
            let group_columns = |groups: &mut dyn Iterator<Item = u32>, len: usize| {
                let mut cols = GroupColumns::with_capacity(len);
                for g in groups {
                    cols.push(&keys[g as usize], texts);
                }
                cols
            };
            let mut counts = group_columns(&mut (0..keys.len() as u32), keys.len())
                .into_columns(split, COUNTS, texts);
            let sum_i64 = |f: fn(&Sums) -> i64| sums.iter().map(f).collect::<Vec<i64>>();
            counts.extend([
                Column::new("c_rows".into(), sum_i64(|s| s.c_rows)),
                Column::new("c_visitors".into(), sum_i64(|s| s.c_visitors)),
                Column::new("c_appointments".into(), sum_i64(|s| s.c_appointments)),
                Column::new("c_no_shows".into(), sum_i64(|s| s.c_no_shows)),
                Column::new(
                    "c_appointment_visitors".into(),
                    sum_i64(|s| s.c_appointment_visitors),
                ),
                Column::new("q_wait_50".into(), &qw[0]),
                Column::new("q_wait_90".into(), &qw[1]),
                Column::new("q_service_50".into(), &qs[0]),
                Column::new("w_served".into(), sum_i64(|s| s.w_served)),
                Column::new(
                    "w_sum".into(),
                    sums.iter().map(|s| s.w_sum).collect::<Vec<f64>>(),
                ),
                Column::new(
                    "w_max".into(),
                    sums.iter().map(|s| s.w_max).collect::<Vec<Option<f64>>>(),
                ),
                Column::new("w_within_default".into(), sum_i64(|s| s.w_within_default)),
                Column::new("s_count".into(), sum_i64(|s| s.s_count)),
            ]);
            // One row per group and metric, its histogram as two lists (values ascending,
            // their counts): the group's keys are written once, not once per value.
            let mut hist_parts = Vec::new();
            for (metric, h) in [(WAITS, &waits), (SERVICE_TIMES, &service_times)] {
                let runs: Vec<&[(u32, f64, i64)]> = h.chunk_by(|a, b| a.0 == b.0).collect();
                let mut cols = group_columns(&mut runs.iter().map(|r| r[0].0), runs.len())
                    .into_columns(split, metric, texts);
                let mut values = ListPrimitiveChunkedBuilder::<Float64Type>::new(
                    "values".into(),
                    runs.len(),
                    h.len(),
                    DataType::Float64,
                );
                let mut counts = ListPrimitiveChunkedBuilder::<Int64Type>::new(
                    "counts".into(),
                    runs.len(),
                    h.len(),
                    DataType::Int64,
                );
                let (mut v, mut c) = (Vec::new(), Vec::new());
                for run in &runs {
                    v.clear();
                    c.clear();
                    v.extend(run.iter().map(|(_, value, _)| *value));
                    c.extend(run.iter().map(|(_, _, count)| *count));
                    values.append_slice(&v);
                    counts.append_slice(&c);
                }
                cols.push(values.finish().into_column());
                cols.push(counts.finish().into_column());
                let len = cols.first().map_or(0, |c| c.len());
                hist_parts.push(DataFrame::new(len, cols)?);
            }
            let mut hist = hist_parts.remove(0);
            hist.vstack_mut(&hist_parts[0])?;
            Ok((conformed(counts)?, hist))
        }
    }

    /// The key columns of a partials table, one row per group given.
    struct GroupColumns<'a> {
        office: Vec<Option<&'a str>>,
        month: Vec<Option<i32>>,
        marginal: Vec<Option<i32>>,
        /// The split's value of each group: 0/1 for the appointment split, a text id for the
        /// others (`None`: missing).
        split_value: Vec<Option<u32>>,
    }

    impl<'a> GroupColumns<'a> {
        fn with_capacity(n: usize) -> Self {
            GroupColumns {
                office: Vec::with_capacity(n),
                month: Vec::with_capacity(n),
                marginal: Vec::with_capacity(n),
                split_value: Vec::with_capacity(n),
            }
        }

        fn push(&mut self, key: &GroupKey, texts: &Texts<'a>) {
            self.office.push(texts.get(key.0));
            self.month.push(key.1);
            self.marginal.push(key.2);
            self.split_value.push(key.3.filter(|v| *v != MISSING));
        }

        /// The columns, with `split` and `metric`; the columns of other splits are added as
        /// nulls by [`conformed`] (counts) or when read ([`conformed_histograms`]).
        fn into_columns(self, split: usize, metric: i32, texts: &Texts<'a>) -> Vec<Column> {
            let len = self.month.len();
            let mut cols = vec![
                Column::new("split".into(), vec![split as i32; len]),
                Column::new("metric".into(), vec![metric; len]),
                Column::new("office".into(), self.office),
                Column::new("month".into(), self.month),
                Column::new("marginal".into(), self.marginal),
            ];
            match SPLITS[split] {
                ["appointment"] => cols.push(Column::new(
                    "appointment".into(),
                    self.split_value
                        .iter()
                        .map(|v| v.map(|v| v == 1))
                        .collect::<Vec<Option<bool>>>(),
                )),
                [name] => cols.push(Column::new(
                    (*name).into(),
                    self.split_value
                        .iter()
                        .map(|v| v.and_then(|v| texts.get(v)))
                        .collect::<Vec<Option<&str>>>(),
                )),
                _ => {}
            }
            cols
        }
    }

    /// A histogram file in the common schema, one row per value, as the counts files are.
    /// Histogram files hold one row per group with its histogram as lists (`values`,
    /// `counts`) and only their split's key columns: a row per value, with the other 17
    /// columns as nulls, cost most of an import's partials to write. Files written before
    /// that (a row per value, all columns) pass unchanged.
    pub fn conformed_histograms(lf: LazyFrame) -> PolarsResult<LazyFrame> {
        let mut lf = lf;
        let mut have = lf.clone().collect_schema()?;
        if have.get("values").is_some() {
            lf = lf
                .explode(
                    cols(["values", "counts"]),
                    ExplodeOptions {
                        empty_as_null: false,
                        keep_nulls: false,
                    },
                )
                .rename(["values", "counts"], ["value", "count"], true);
            have = lf.clone().collect_schema()?;
        }
        let columns: Vec<Expr> = schema()
            .into_iter()
            .map(|(name, dtype)| match have.get(name) {
                Some(_) => col(name).cast(dtype),
                None => lit(Null {}).cast(dtype).alias(name),
            })
            .collect();
        Ok(lf.select(columns))
    }

    /// A frame in the common schema: missing columns as typed nulls, in order.
    fn conformed(columns: Vec<Column>) -> PolarsResult<DataFrame> {
        let len = columns.first().map_or(0, |c| c.len());
        let out = schema()
            .into_iter()
            .map(
                |(name, dtype)| match columns.iter().find(|c| c.name() == name) {
                    Some(c) => c.cast(&dtype),
                    None => Ok(Column::full_null(name.into(), len, &dtype)),
                },
            )
            .collect::<PolarsResult<Vec<_>>>()?;
        DataFrame::new(len, out)
    }

    /// Per row of two list columns (a group's histogram values and counts), the quantiles
    /// `qs`: one column of results per quantile.
    pub fn list_quantiles(
        values: &ListChunked,
        counts: &ListChunked,
        qs: &[f64],
    ) -> PolarsResult<Vec<Vec<Option<f64>>>> {
        let mut out: Vec<Vec<Option<f64>>> = vec![Vec::with_capacity(values.len()); qs.len()];
        for (v, c) in values.amortized_iter().zip(counts.amortized_iter()) {
            let mut hist: Vec<(f64, i64)> = match (v, c) {
                (Some(v), Some(c)) => {
                    let v = v.as_ref().cast(&DataType::Float64)?;
                    let c = c.as_ref().cast(&DataType::Int64)?;
                    v.f64()?
                        .iter()
                        .zip(c.i64()?.iter())
                        .filter_map(|(v, c)| Some((v?, c?)))
                        .collect()
                }
                _ => Vec::new(),
            };
            hist.sort_by(|a, b| a.0.total_cmp(&b.0));
            for (k, q) in qs.iter().enumerate() {
                out[k].push(quantile(&hist, *q));
            }
        }
        Ok(out)
    }

    /// A quantile of a histogram (value, count) sorted by value: linear between order
    /// statistics, as polars and numpy compute it on the rows; `None` without rows.
    pub fn quantile(hist: &[(f64, i64)], q: f64) -> Option<f64> {
        let n: i64 = hist.iter().map(|(_, c)| c).sum();
        if n <= 0 {
            return None;
        }
        let h = (n - 1) as f64 * q;
        let lo = h.floor() as i64;
        // The k-th smallest value (0-based).
        let at = |k: i64| {
            let mut seen = 0;
            for (v, c) in hist {
                seen += c;
                if k < seen {
                    return *v;
                }
            }
            hist[hist.len() - 1].0
        };
        let a = at(lo);
        let frac = h - lo as f64;
        Some(if frac == 0.0 {
            a
        } else {
            a + frac * (at(lo + 1) - a)
        })
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        /// The hash-map path (for batches with very many groups or distinct values) gives
        /// the same groups, sums and histograms as the dense tables.
        #[test]
        fn sparse_lookup_equals_dense() {
            let office = [0u32, 0, 1, 1, 0, 1, 0];
            let month = Int32Chunked::from_slice_options(
                "month".into(),
                &[Some(1), Some(1), Some(2), Some(1), Some(2), Some(2), None],
            );
            let marginal = Int32Chunked::from_slice_options(
                "m".into(),
                &[None, None, None, Some(1), None, None, None],
            );
            let n = Int64Chunked::from_slice_options(
                "n".into(),
                &[None, None, None, Some(4), None, None, None],
            );
            let appointment = BooleanChunked::from_slice_options(
                "a".into(),
                &[
                    Some(true),
                    Some(false),
                    None,
                    Some(true),
                    Some(true),
                    Some(false),
                    None,
                ],
            );
            let no_show = BooleanChunked::from_slice_options(
                "s".into(),
                &[
                    Some(false),
                    Some(false),
                    Some(true),
                    Some(false),
                    Some(false),
                    None,
                    Some(false),
                ],
            );
            let wait = Float64Chunked::from_slice_options(
                "w".into(),
                &[
                    Some(3.5),
                    Some(-0.0),
                    None,
                    Some(12.0),
                    Some(3.5),
                    Some(0.0),
                    Some(40.0),
                ],
            );
            let service = Float64Chunked::from_slice_options(
                "t".into(),
                &[Some(1.0), None, None, None, Some(2.0), Some(1.0), Some(5.0)],
            );
            let p = Prepared::new(
                &office,
                &month,
                &marginal,
                &n,
                &appointment,
                &no_show,
                &wait,
                &service,
            );
            assert_eq!(p.waits, vec![0.0, 3.5, 12.0, 40.0]);
            let split_values = [0u32, MISSING, 1, 0, 1, MISSING, 0];
            for (values, domain) in [(None, 1), (Some(&split_values[..]), 3)] {
                let dense = SplitTables::new(&p, values, domain, DENSE_CELLS);
                let sparse = SplitTables::new(&p, values, domain, 0);
                assert_eq!(dense.keys, sparse.keys);
                assert_eq!(dense.waits, sparse.waits);
                assert_eq!(dense.service_times, sparse.service_times);
                let figures = |t: &SplitTables| {
                    t.sums
                        .iter()
                        .map(|s| {
                            (
                                s.c_rows,
                                s.c_visitors,
                                s.c_no_shows,
                                s.w_served,
                                s.w_sum,
                                s.w_max,
                            )
                        })
                        .collect::<Vec<_>>()
                };
                assert_eq!(figures(&dense), figures(&sparse));
            }
            // Split 0 by hand: office 0 month 1 holds waits 3.5 and 0 (-0.0 is 0).
            let t = SplitTables::new(&p, None, 1, 0);
            assert_eq!(t.keys[0], (0, Some(1), None, None));
            assert_eq!(&t.waits[..2], &[(0, 0.0, 1), (0, 3.5, 1)]);
            assert_eq!(t.sums[0].w_sum, 3.5);
        }

        /// A histogram file as written now (a group per row, its histogram as lists, its
        /// split's columns only) and one written before (a value per row, all columns) read
        /// as the same frame.
        #[test]
        fn histogram_files_of_both_forms_read_alike() {
            let long = df![
                "split" => [2i32, 2, 2],
                "metric" => [WAITS, WAITS, WAITS],
                "office" => ["A", "A", "A"],
                "month" => [24301i32, 24301, 24301],
                "marginal" => [None::<i32>, None, None],
                "location" => [Some("Mitte"), Some("Mitte"), None],
                "value" => [1.5f64, 2.0, 4.0],
                "count" => [3i64, 1, 1],
            ]
            .unwrap();
            let full = conformed(long.columns().to_vec()).unwrap();
            assert_eq!(full.width(), schema().len());
            let mut values = ListPrimitiveChunkedBuilder::<Float64Type>::new(
                "values".into(),
                2,
                3,
                DataType::Float64,
            );
            let mut counts = ListPrimitiveChunkedBuilder::<Int64Type>::new(
                "counts".into(),
                2,
                3,
                DataType::Int64,
            );
            values.append_slice(&[1.5, 2.0]);
            counts.append_slice(&[3, 1]);
            values.append_slice(&[4.0]);
            counts.append_slice(&[1]);
            let mut grouped = df![
                "split" => [2i32, 2],
                "metric" => [WAITS, WAITS],
                "office" => ["A", "A"],
                "month" => [24301i32, 24301],
                "marginal" => [None::<i32>, None],
                "location" => [Some("Mitte"), None],
            ]
            .unwrap();
            grouped.with_column(values.finish().into_column()).unwrap();
            grouped.with_column(counts.finish().into_column()).unwrap();
            let read = |df: &DataFrame| {
                conformed_histograms(df.clone().lazy())
                    .unwrap()
                    .collect()
                    .unwrap()
            };
            assert_eq!(read(&grouped), full);
            assert_eq!(read(&full), full);
        }
    }
}
