//! Mergeable partial aggregates of a batch of visits, kept beside its rows so that questions
//! merge small tables instead of rescanning rows (see `crate::kpi::partials`, which reads
//! them): per (office, month, marginal) and per split, counts, and histograms of waits and
//! service times with their values kept exactly. Questions by weekday or hour get the same
//! tables computed from their rows when asked ([`WeekdayHour`]).

use super::with_aggregate_columns;
use polars::prelude::*;
use polars_arrow::array::Array as _;

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
    let mut columns = base_columns(true);
    columns.extend([
        col("location").cast(DataType::String),
        col("service").cast(DataType::String),
    ]);
    let frame = with_aggregate_columns(rows)?.select(columns).collect()?;
    let text = |name: &str| frame.column(name).and_then(|c| c.str().cloned());
    let (office, location, service) = (text("office")?, text("location")?, text("service")?);
    let appointment = frame.column("appointment")?.bool()?.clone();

    let mut texts = Texts::default();
    let office_ids = texts.ids_of(&office);
    let location_ids = texts.ids_of(&location);
    let service_ids = texts.ids_of(&service);
    let month = frame.column("month")?.i32()?.clone();
    let rows = Prepared::of_frame(&frame, &office_ids, &month)?;
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
        let tables = SplitTables::new(&rows, values.as_deref(), domain, DENSE_CELLS, &[]);
        keep(i, tables.into_frames(i as i32, SplitKey::of(i), &texts)?)
    };
    let (mine, other) = std::thread::scope(|scope| {
        let other = scope.spawn(|| [1, 2].into_iter().try_for_each(split));
        ([0, 3].into_iter().try_for_each(split), other.join())
    });
    mine?;
    other.map_err(|_| E::from(polars_err!(ComputeError: "partials thread panicked")))?
}

/// How a question by weekday or hour groups months: each month apart, by quarter or by
/// year (a period stands as its first month, so that quarters and years read off it are
/// the period's).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Period {
    Month,
    Quarter,
    Year,
}

impl Period {
    /// The first month of the period of month `m` (`yyyymm`).
    fn start(self, m: i32) -> i32 {
        match self {
            Period::Month => m,
            Period::Quarter => m - (m.rem_euclid(100) - 1).rem_euclid(3),
            Period::Year => m.div_euclid(100) * 100 + 1,
        }
    }
}

/// The partials of a question by weekday or hour, computed from its rows when asked
/// rather than kept: at the export's resolution of seconds a kept weekday × hour
/// histogram would hold nearly a value per visit. Groups are the office and exactly the
/// question's period, weekday and hour, for each marginal, so that where the answer is per
/// office each of its groups is one partial group of single visits: its quantiles are read
/// off its whole histogram here and its waits within target count against its office's own
/// target. Rows come batch by batch ([`WeekdayHour::add`]) and are merged as they come, so
/// a question over many batches holds one batch's rows at a time, besides four bytes per
/// wait (and service time) asked for.
pub struct WeekdayHour {
    period: Option<Period>,
    by_weekday: bool,
    by_hour: bool,
    /// Whether service times are read (a question of waits only leaves them unread).
    service_times_read: bool,
    offices: Vec<String>,
    /// Each office's wait target, by office id.
    targets: Vec<f64>,
    own_targets: Vec<(String, f64)>,
    index: PlHashMap<GroupKey, u32>,
    keys: Vec<GroupKey>,
    sums: Vec<Sums>,
    waits: GroupValues,
    service_times: GroupValues,
}

/// The values of one measure (waits or service times) of each group of [`WeekdayHour`],
/// as ids of distinct values with their weights, counted into histograms once all
/// batches are in: a histogram table per batch, or sorting each group's values, cost
/// more than the rest of the question together.
#[derive(Default)]
struct GroupValues {
    ids: PlHashMap<u64, u32>,
    values: Vec<f64>,
    /// Per group: its values' ids, and their weights once one is not 1 (`None`: all 1, as
    /// for single visits).
    groups: Vec<(Vec<u32>, Option<Vec<i64>>)>,
}

impl GroupValues {
    /// A value of group `g` with its weight.
    fn push(&mut self, g: usize, id: u32, weight: i64) {
        let (ids, weights) = &mut self.groups[g];
        match weights {
            Some(w) => w.push(weight),
            None if weight != 1 => {
                let mut w = vec![1; ids.len()];
                w.push(weight);
                *weights = Some(w);
            }
            None => {}
        }
        ids.push(id);
    }

    /// The id of each of a batch's distinct values.
    fn ids_of(&mut self, distinct: &[f64]) -> Vec<u32> {
        distinct
            .iter()
            .map(|v| {
                *self.ids.entry(bits(*v)).or_insert_with(|| {
                    self.values.push(*v);
                    (self.values.len() - 1) as u32
                })
            })
            .collect()
    }

    /// Each group's histogram as (group, value, count), sorted by group and value; a
    /// value seen only with weight 0 is kept with count 0, as [`histogram`] keeps it.
    fn histograms(self) -> Vec<(u32, f64, i64)> {
        let mut order: Vec<u32> = (0..self.values.len() as u32).collect();
        order
            .sort_unstable_by(|a, b| self.values[*a as usize].total_cmp(&self.values[*b as usize]));
        let mut rank = vec![0u32; self.values.len()];
        for (r, id) in order.iter().enumerate() {
            rank[*id as usize] = r as u32;
        }
        let sorted: Vec<f64> = order.iter().map(|id| self.values[*id as usize]).collect();
        // Counts + 1 by rank (0: not seen), reset after each group.
        let mut counts = vec![0i64; sorted.len()];
        let mut out = Vec::new();
        for (g, (ids, weights)) in self.groups.into_iter().enumerate() {
            let weight = |i: usize| weights.as_ref().map_or(1, |w| w[i]);
            if ids.len().saturating_mul(16) < sorted.len() {
                let mut by_rank: Vec<(u32, i64)> = ids
                    .iter()
                    .enumerate()
                    .map(|(i, id)| (rank[*id as usize], weight(i)))
                    .collect();
                by_rank.sort_unstable_by_key(|(r, _)| *r);
                for run in by_rank.chunk_by(|a, b| a.0 == b.0) {
                    let count = run.iter().map(|(_, w)| w).sum();
                    out.push((g as u32, sorted[run[0].0 as usize], count));
                }
            } else {
                for (i, id) in ids.iter().enumerate() {
                    let c = &mut counts[rank[*id as usize] as usize];
                    *c += weight(i) + i64::from(*c == 0);
                }
                for (r, c) in counts.iter_mut().enumerate() {
                    if *c != 0 {
                        out.push((g as u32, sorted[r], *c - 1));
                        *c = 0;
                    }
                }
            }
        }
        out
    }
}

impl WeekdayHour {
    /// An empty accumulator for a question grouping by `period` (if any), weekday and
    /// hour as asked, with the offices' own wait targets; without `service_times`, the
    /// service times are not read (their figures come out empty).
    pub fn new(
        period: Option<Period>,
        by_weekday: bool,
        by_hour: bool,
        service_times: bool,
        own_targets: Vec<(String, f64)>,
    ) -> Self {
        WeekdayHour {
            period,
            by_weekday,
            by_hour,
            service_times_read: service_times,
            offices: Vec::new(),
            targets: Vec::new(),
            own_targets,
            index: PlHashMap::default(),
            keys: Vec::new(),
            sums: Vec::new(),
            waits: GroupValues::default(),
            service_times: GroupValues::default(),
        }
    }

    fn office_id(&mut self, office: &str) -> u32 {
        if let Some(i) = self.offices.iter().position(|o| o == office) {
            return i as u32;
        }
        let target = self
            .own_targets
            .iter()
            .find(|(o, _)| o == office)
            .map_or(super::DEFAULT_WAIT_TARGET_MIN, |(_, t)| *t);
        self.offices.push(office.to_string());
        self.targets.push(target);
        (self.offices.len() - 1) as u32
    }

    /// Adds a batch of rows (single visits and aggregates alike). `false` when a row's
    /// weekday or hour is out of range: then these partials cannot answer.
    pub fn add(&mut self, rows: LazyFrame) -> PolarsResult<bool> {
        let mut columns = base_columns(self.service_times_read);
        columns.extend([
            col("weekday").cast(DataType::Int32),
            col("hour").cast(DataType::Int32),
        ]);
        let frame = with_aggregate_columns(rows)?.select(columns).collect()?;
        let mut values = Vec::with_capacity(frame.height());
        let (weekday, hour) = (
            options(frame.column("weekday")?.i32()?),
            options(frame.column("hour")?.i32()?),
        );
        for (w, h) in weekday.into_iter().zip(hour) {
            let Some(v) =
                weekday_hour_value(w.filter(|_| self.by_weekday), h.filter(|_| self.by_hour))
            else {
                return Ok(false);
            };
            values.push(v);
        }
        let office = frame.column("office")?.str()?;
        let mut texts = Texts::default();
        let local: Vec<u32> = texts.ids_of(office);
        let global: Vec<u32> = texts.values.iter().map(|o| self.office_id(o)).collect();
        let office_ids: Vec<u32> = local
            .iter()
            .map(|&l| {
                if l == MISSING {
                    MISSING
                } else {
                    global[l as usize]
                }
            })
            .collect();
        let month: Int32Chunked = match self.period {
            Some(p) => options(frame.column("month")?.i32()?)
                .into_iter()
                .map(|m| m.map(|m| p.start(m)))
                .collect(),
            None => Int32Chunked::full_null("month".into(), frame.height()),
        };
        let prepared = Prepared::of_frame(&frame, &office_ids, &month)?;
        let (keys, sums, groups) = SplitTables::grouped(
            &prepared,
            Some(&values),
            WEEKDAY_HOUR_VALUES,
            DENSE_CELLS,
            &self.targets,
        );
        let mut global_group = Vec::with_capacity(keys.len());
        for (key, sums) in keys.iter().zip(&sums) {
            let next = self.keys.len() as u32;
            let g = *self.index.entry(*key).or_insert(next);
            if g == next {
                self.keys.push(*key);
                self.sums.push(Sums::default());
                self.waits.groups.push((Vec::new(), None));
                self.service_times.groups.push((Vec::new(), None));
            }
            self.sums[g as usize].add(sums);
            global_group.push(g as usize);
        }
        let wait_ids = self.waits.ids_of(&prepared.waits);
        let service_ids = self.service_times.ids_of(&prepared.service_times);
        for (row, g) in prepared.rows.iter().zip(&groups) {
            let g = global_group[*g as usize];
            let weight = row.weight().unwrap_or(0);
            if row.wait != MISSING {
                self.waits.push(g, wait_ids[row.wait as usize], weight);
            }
            if row.service_time != MISSING {
                self.service_times
                    .push(g, service_ids[row.service_time as usize], weight);
            }
        }
        Ok(true)
    }

    /// The partials of all rows added, as the store gives kept ones: the counts (each
    /// group with its quantiles), and the histograms only if `histograms`.
    pub fn finish(self, histograms: bool) -> PolarsResult<LazyFrame> {
        let tables = SplitTables {
            keys: self.keys,
            sums: self.sums,
            waits: self.waits.histograms(),
            service_times: self.service_times.histograms(),
        };
        let texts = Texts::of_values(self.offices.iter().map(String::as_str).collect());
        let (counts, hist) =
            tables.into_frames(SPLITS.len() as i32, SplitKey::WeekdayHour, &texts)?;
        Ok(if histograms {
            concat(
                [counts.lazy(), conformed_histograms(hist.lazy())?],
                UnionArgs::default(),
            )?
        } else {
            counts.lazy()
        })
    }
}

/// The columns of the rows every split reads, typed as [`Prepared::of_frame`] reads them;
/// without `service_times`, service times as missing (not read).
fn base_columns(service_times: bool) -> Vec<Expr> {
    vec![
        col("office").cast(DataType::String),
        col("month").cast(DataType::Int32),
        col("marginal").cast(DataType::Int32),
        col("n").cast(DataType::Int64),
        col("appointment").cast(DataType::Boolean),
        col("no_show").cast(DataType::Boolean),
        col("wait_min").cast(DataType::Float64),
        if service_times {
            col("service_min").cast(DataType::Float64)
        } else {
            lit(NULL).cast(DataType::Float64).alias("service_min")
        },
    ]
}

/// How a split's value is written in its tables.
#[derive(Debug, Clone, Copy)]
enum SplitKey {
    /// No split (split 0).
    Whole,
    /// 0/1 as the `appointment` column.
    Appointment,
    /// A text id, as the named column.
    Text(&'static str),
    /// A weekday and an hour in one value (see [`weekday_hour_value`]).
    WeekdayHour,
}

impl SplitKey {
    /// The key of stored split `i` (of [`SPLITS`]).
    fn of(i: usize) -> SplitKey {
        match SPLITS[i] {
            ["appointment"] => SplitKey::Appointment,
            [name] => SplitKey::Text(name),
            _ => SplitKey::Whole,
        }
    }
}

/// Values of the weekday × hour split: weekdays 0–7 and none (8) times hours 0–23 and
/// none (24).
const WEEKDAY_HOUR_VALUES: usize = 9 * 25;

/// A weekday and an hour as one split value (a missing one as its own value); `None` out
/// of range.
fn weekday_hour_value(weekday: Option<i32>, hour: Option<i32>) -> Option<u32> {
    let w = match weekday {
        None => 8,
        Some(w @ 0..=7) => w as u32,
        Some(_) => return None,
    };
    let h = match hour {
        None => 24,
        Some(h @ 0..=23) => h as u32,
        Some(_) => return None,
    };
    Some(w * 25 + h)
}

/// The weekday and hour of a split value of [`weekday_hour_value`].
fn weekday_hour_of(value: u32) -> (Option<i32>, Option<i32>) {
    let (w, h) = (value / 25, value % 25);
    ((w != 8).then_some(w as i32), (h != 24).then_some(h as i32))
}

use crate::kinds::{MISSING, Texts};

/// A base group: office, month, marginal.
type BaseKey = (u32, Option<i32>, Option<i32>);

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
    base_keys: Vec<BaseKey>,
    rows: Vec<PreparedRow>,
    waits: Vec<f64>,
    service_times: Vec<f64>,
}

/// One row of [`Prepared`], in 24 bytes (a million of them are built and read by every
/// split; an `Option` per field took 32).
struct PreparedRow {
    /// How many visits the row stands for: 1 for a single visit, `n` for an aggregate
    /// (0 and [`PreparedRow::HAS_WEIGHT`] unset when an aggregate has no `n`).
    weight: i64,
    base: u32,
    /// Rank of the wait in [`Prepared::waits`], `MISSING` without one.
    wait: u32,
    service_time: u32,
    /// [`PreparedRow::SINGLE`], [`PreparedRow::HAS_WEIGHT`] and two bits each for
    /// `appointment` and `no_show` (known, and its value).
    flags: u8,
}

impl PreparedRow {
    const SINGLE: u8 = 1;
    const HAS_WEIGHT: u8 = 2;
    const APPOINTMENT: u8 = 4;
    const NO_SHOW: u8 = 16;

    fn new(
        base: u32,
        weight: Option<i64>,
        single: bool,
        appointment: Option<bool>,
        no_show: Option<bool>,
        (wait, service_time): (u32, u32),
    ) -> Self {
        // A known flag: its bit says it is known, the next bit its value.
        let known = |b: Option<bool>, bit: u8| b.map_or(0, |v| bit | if v { bit << 1 } else { 0 });
        PreparedRow {
            weight: weight.unwrap_or(0),
            base,
            wait,
            service_time,
            flags: if single { Self::SINGLE } else { 0 }
                | if weight.is_some() {
                    Self::HAS_WEIGHT
                } else {
                    0
                }
                | known(appointment, Self::APPOINTMENT)
                | known(no_show, Self::NO_SHOW),
        }
    }

    /// The visits the row stands for, `None` for an aggregate without `n`.
    fn weight(&self) -> Option<i64> {
        (self.flags & Self::HAS_WEIGHT != 0).then_some(self.weight)
    }

    fn single(&self) -> bool {
        self.flags & Self::SINGLE != 0
    }

    fn flag(&self, bit: u8) -> Option<bool> {
        (self.flags & bit != 0).then_some(self.flags & (bit << 1) != 0)
    }

    fn appointment(&self) -> Option<bool> {
        self.flag(Self::APPOINTMENT)
    }

    fn no_show(&self) -> Option<bool> {
        self.flag(Self::NO_SHOW)
    }
}

/// A float as a hash key, with -0.0 and 0.0 one value (as polars groups them).
fn bits(v: f64) -> u64 {
    if v == 0.0 { 0 } else { v.to_bits() }
}

/// A column's values, read array by array: a chunked array's own iterator costs hundreds
/// of instructions per value, which was most of the partials' time.
fn options<T: PolarsNumericType>(ca: &ChunkedArray<T>) -> Vec<Option<T::Native>> {
    let mut out = Vec::with_capacity(ca.len());
    options_into(ca, &mut out);
    out
}

/// [`options`] into a buffer that is reused (emptied first).
fn options_into<T: PolarsNumericType>(ca: &ChunkedArray<T>, out: &mut Vec<Option<T::Native>>) {
    out.clear();
    for arr in ca.downcast_iter() {
        let values = arr.values().iter().copied();
        extend_options(out, arr.len(), arr.null_count(), arr.validity(), values);
    }
}

/// [`options_into`] for booleans.
fn bools_into(ca: &BooleanChunked, out: &mut Vec<Option<bool>>) {
    out.clear();
    for arr in ca.downcast_iter() {
        let values = arr.values().iter();
        extend_options(out, arr.len(), arr.null_count(), arr.validity(), values);
    }
}

/// Appends one array's values as `Option`s by its validity.
fn extend_options<V>(
    out: &mut Vec<Option<V>>,
    len: usize,
    nulls: usize,
    valid: Option<&polars_arrow::bitmap::Bitmap>,
    values: impl Iterator<Item = V>,
) {
    match valid {
        // A column a batch does not have (aggregates' `n` in a file of single visits).
        _ if nulls == len => out.resize_with(out.len() + len, || None),
        None => out.extend(values.map(Some)),
        Some(valid) => out.extend(values.zip(valid.iter()).map(|(v, ok)| ok.then_some(v))),
    }
}

/// Distinct values and each row's rank among them (`MISSING` for none), ranks in value
/// order. Waits repeat (a month of an office has a few thousand distinct ones), so a small
/// direct-mapped table in front of the hash map finds most rows' values without hashing.
fn ranks(values: &Float64Chunked) -> (Vec<f64>, Vec<u32>) {
    // Up to 16,384 slots, fewer for fewer values (none for an all-empty column).
    let slot_bits = (values.len() - values.null_count())
        .next_power_of_two()
        .trailing_zeros()
        .min(14);
    let slot = |b: u64| {
        ((b ^ (b >> 29)).wrapping_mul(0x9E37_79B9_7F4A_7C15) >> (63 - slot_bits) >> 1) as usize
    };
    let mut recent: Vec<(u64, u32)> = vec![(0, MISSING); 1 << slot_bits];
    let mut first_seen: PlHashMap<u64, u32> = PlHashMap::default();
    let mut distinct: Vec<f64> = Vec::new();
    let mut of_row: Vec<u32> = Vec::with_capacity(values.len());
    for arr in values.downcast_iter() {
        if arr.null_count() == arr.len() {
            of_row.resize(of_row.len() + arr.len(), MISSING);
            continue;
        }
        for (i, v) in arr.values().iter().enumerate() {
            if arr.validity().is_some_and(|m| !m.get_bit(i)) {
                of_row.push(MISSING);
                continue;
            }
            let b = bits(*v);
            let s = &mut recent[slot(b)];
            if s.1 != MISSING && s.0 == b {
                of_row.push(s.1);
                continue;
            }
            let id = *first_seen.entry(b).or_insert_with(|| {
                distinct.push(if *v == 0.0 { 0.0 } else { *v });
                (distinct.len() - 1) as u32
            });
            *s = (b, id);
            of_row.push(id);
        }
    }
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
    /// The rows of a frame of [`base_columns`], with their offices as text ids and
    /// `month` standing for their month column.
    fn of_frame(frame: &DataFrame, office: &[u32], month: &Int32Chunked) -> PolarsResult<Self> {
        let column = |name: &str| frame.column(name);
        Ok(Prepared::new(
            office,
            month,
            column("marginal")?.i32()?,
            column("n")?.i64()?,
            column("appointment")?.bool()?,
            column("no_show")?.bool()?,
            column("wait_min")?.f64()?,
            column("service_min")?.f64()?,
        ))
    }

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
        let mut base_index: PlHashMap<BaseKey, u32> = PlHashMap::default();
        let mut base_keys = Vec::new();
        // Rows come mostly in runs of one base group (files are written by office).
        let mut last: Option<(BaseKey, u32)> = None;
        // The columns are read a block of rows at a time into small buffers that stay in
        // the cache: a million rows' `Option`s at once were memory touched once and thrown
        // away, and reading the arrays row by row cost more per row.
        const BLOCK: usize = 4096;
        let (mut months, mut marginals, mut ns) = (Vec::new(), Vec::new(), Vec::new());
        let (mut appointments, mut no_shows) = (Vec::new(), Vec::new());
        let mut rows = Vec::with_capacity(office.len());
        for start in (0..office.len()).step_by(BLOCK) {
            let len = BLOCK.min(office.len() - start);
            options_into(&month.slice(start as i64, len), &mut months);
            options_into(&marginal.slice(start as i64, len), &mut marginals);
            options_into(&n.slice(start as i64, len), &mut ns);
            bools_into(&appointment.slice(start as i64, len), &mut appointments);
            bools_into(&no_show.slice(start as i64, len), &mut no_shows);
            let end = start + len;
            let block = office[start..end]
                .iter()
                .zip(&months)
                .zip(&marginals)
                .zip(&ns)
                .zip(&appointments)
                .zip(&no_shows)
                .zip(wait_rank[start..end].iter().zip(&service_rank[start..end]));
            for ((((((office, month), marginal), n), appointment), no_show), (w, s)) in block {
                let key = (*office, *month, *marginal);
                let base = match last {
                    Some((k, b)) if k == key => b,
                    _ => {
                        let b = *base_index.entry(key).or_insert_with(|| {
                            base_keys.push(key);
                            (base_keys.len() - 1) as u32
                        });
                        last = Some((key, b));
                        b
                    }
                };
                rows.push(PreparedRow::new(
                    base,
                    if marginal.is_none() { Some(1) } else { *n },
                    marginal.is_none(),
                    *appointment,
                    *no_show,
                    (*w, *s),
                ));
            }
        }
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

impl Sums {
    /// Adds another part of the same group.
    fn add(&mut self, o: &Sums) {
        self.c_rows += o.c_rows;
        self.c_visitors += o.c_visitors;
        self.c_appointments += o.c_appointments;
        self.c_no_shows += o.c_no_shows;
        self.c_appointment_visitors += o.c_appointment_visitors;
        self.w_served += o.w_served;
        self.w_sum += o.w_sum;
        self.w_max = match (self.w_max, o.w_max) {
            (Some(a), Some(b)) => Some(a.max(b)),
            (a, b) => a.or(b),
        };
        self.w_within_default += o.w_within_default;
        self.s_count += o.s_count;
    }
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
                *c += row.weight().unwrap_or(0) + i64::from(*c == 0);
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
                *m.entry(*g as u64 * v as u64 + r as u64).or_default() += row.weight().unwrap_or(0);
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
    /// `dense_cells` cells are dense. `w_within_default` counts the waits within each
    /// office's entry of `targets` (by office id; the default target beyond its end).
    fn new(
        p: &Prepared,
        values: Option<&[u32]>,
        domain: usize,
        dense_cells: usize,
        targets: &[f64],
    ) -> Self {
        let (keys, sums, groups) = Self::grouped(p, values, domain, dense_cells, targets);
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

    /// The groups of [`SplitTables::new`] with their sums, and each row's group.
    fn grouped(
        p: &Prepared,
        values: Option<&[u32]>,
        domain: usize,
        dense_cells: usize,
        targets: &[f64],
    ) -> (Vec<GroupKey>, Vec<Sums>, Vec<u32>) {
        let base_target: Vec<f64> = p
            .base_keys
            .iter()
            .map(|(office, _, _)| {
                targets
                    .get(*office as usize)
                    .copied()
                    .unwrap_or(super::DEFAULT_WAIT_TARGET_MIN)
            })
            .collect();
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
            let w = row.weight().unwrap_or(0);
            s.c_rows += w;
            if row.no_show() == Some(false) {
                s.c_visitors += w;
            }
            if row.no_show() == Some(true) {
                s.c_no_shows += w;
            }
            if row.appointment() == Some(true) {
                s.c_appointments += w;
                if row.no_show() == Some(false) {
                    s.c_appointment_visitors += w;
                }
            }
            if row.wait != MISSING {
                let wait = p.waits[row.wait as usize];
                s.w_served += w;
                if let Some(weight) = row.weight() {
                    s.w_sum += weight as f64 * wait;
                }
                s.w_max = Some(s.w_max.map_or(wait, |m| m.max(wait)));
                if row.single() && wait <= base_target[row.base as usize] {
                    s.w_within_default += w;
                }
            }
            if row.service_time != MISSING && row.single() {
                s.s_count += w;
            }
        }
        (keys, sums, groups)
    }

    /// The counts table and the histograms table of split `split`, whose values are
    /// written as `key` says.
    fn into_frames(
        self,
        split: i32,
        key: SplitKey,
        texts: &Texts,
    ) -> PolarsResult<(DataFrame, DataFrame)> {
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
            .into_columns(split, key, COUNTS, texts);
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
                .into_columns(split, key, metric, texts);
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
    fn into_columns(
        self,
        split: i32,
        key: SplitKey,
        metric: i32,
        texts: &Texts<'a>,
    ) -> Vec<Column> {
        let len = self.month.len();
        let mut cols = vec![
            Column::new("split".into(), vec![split; len]),
            Column::new("metric".into(), vec![metric; len]),
            Column::new("office".into(), self.office),
            Column::new("month".into(), self.month),
            Column::new("marginal".into(), self.marginal),
        ];
        match key {
            SplitKey::Appointment => cols.push(Column::new(
                "appointment".into(),
                self.split_value
                    .iter()
                    .map(|v| v.map(|v| v == 1))
                    .collect::<Vec<Option<bool>>>(),
            )),
            SplitKey::Text(name) => cols.push(Column::new(
                name.into(),
                self.split_value
                    .iter()
                    .map(|v| v.and_then(|v| texts.get(v)))
                    .collect::<Vec<Option<&str>>>(),
            )),
            SplitKey::WeekdayHour => {
                let (weekday, hour): (Vec<Option<i32>>, Vec<Option<i32>>) = self
                    .split_value
                    .iter()
                    .map(|v| weekday_hour_of(v.unwrap_or(WEEKDAY_HOUR_VALUES as u32 - 1)))
                    .unzip();
                cols.push(Column::new("weekday".into(), weekday));
                cols.push(Column::new("hour".into(), hour));
            }
            SplitKey::Whole => {}
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

    /// Equal texts get one id in every chunk, short (inline) and long ones alike; a missing
    /// text is `MISSING`.
    #[test]
    fn texts_get_one_id_each() {
        let long = "Bürgeramt Mitte, Standort Rathaus";
        let mut a = StringChunked::new(
            "office".into(),
            &[Some(long), Some(long), None, Some("Nord")],
        );
        a.append(&StringChunked::new(
            "office".into(),
            &[Some("Nord"), Some(long), None],
        ))
        .unwrap();
        assert_eq!(a.chunks().len(), 2);
        let mut texts = Texts::default();
        let ids = texts.ids_of(&a);
        let (l, n) = (ids[0], ids[3]);
        assert_ne!(l, n);
        assert_eq!(ids, [l, l, MISSING, n, n, l, MISSING]);
        assert_eq!((texts.get(l), texts.get(n)), (Some(long), Some("Nord")));
    }

    /// Each row's rank points at its own value among the distinct values in ascending
    /// order, with more distinct values than the table in front of the hash map has slots
    /// (so values share slots), missing values, and -0.0 counted as 0.0.
    #[test]
    fn ranks_point_at_each_rows_value() {
        let mut seed = 11u64;
        let values: Vec<Option<f64>> = (0..100_000)
            .map(|i| {
                seed = seed
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                match i % 97 {
                    0 => None,
                    1 => Some(-0.0),
                    2 => Some(0.0),
                    _ => Some(((seed >> 33) % 40_000) as f64 / 60.0),
                }
            })
            .collect();
        let (sorted, of_row) = ranks(&Float64Chunked::new("wait_min".into(), &values));
        assert!(sorted.len() > 1 << 14, "{} distinct values", sorted.len());
        let few = [Some(2.5), None, Some(1.0), Some(2.5)];
        let (sorted_few, of_few) = ranks(&Float64Chunked::new("wait_min".into(), &few));
        assert_eq!(
            (sorted_few, of_few),
            (vec![1.0, 2.5], vec![1, MISSING, 0, 1])
        );
        assert!(sorted.windows(2).all(|w| w[0] < w[1]));
        for (v, r) in values.iter().zip(&of_row) {
            match v {
                None => assert_eq!(*r, MISSING),
                Some(v) => assert_eq!(sorted[*r as usize], *v),
            }
        }
    }

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
            let dense = SplitTables::new(&p, values, domain, DENSE_CELLS, &[]);
            let sparse = SplitTables::new(&p, values, domain, 0, &[]);
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
        let t = SplitTables::new(&p, None, 1, 0, &[]);
        assert_eq!(t.keys[0], (0, Some(1), None, None));
        assert_eq!(&t.waits[..2], &[(0, 0.0, 1), (0, 3.5, 1)]);
        assert_eq!(t.sums[0].w_sum, 3.5);
    }

    #[test]
    fn rows_are_prepared_alike_across_blocks_and_chunks() {
        // 10,000 rows (blocks of 4,096 end inside chunks of 3,000), every column with
        // missing values in its own rhythm, aggregates among single visits.
        let rows = 10_000;
        let chunked_i32 = |f: &dyn Fn(usize) -> Option<i32>| {
            let mut ca = Int32Chunked::from_iter_options("".into(), (0..3_000).map(f));
            for start in (3_000..rows).step_by(3_000) {
                let end = (start + 3_000).min(rows);
                ca.append(&Int32Chunked::from_iter_options(
                    "".into(),
                    (start..end).map(f),
                ))
                .unwrap();
            }
            ca
        };
        let month_of = |i: usize| (i % 7 != 3).then_some(202_401 + (i / 2_500) as i32);
        let marginal_of = |i: usize| i.is_multiple_of(5).then_some(1);
        let month = chunked_i32(&month_of);
        let marginal = chunked_i32(&marginal_of);
        let n = Int64Chunked::from_iter_options(
            "".into(),
            (0..rows).map(|i| (i % 5 == 0 && i % 3 != 0).then_some(i as i64)),
        );
        let appointment = BooleanChunked::from_iter_options(
            "".into(),
            (0..rows).map(|i| (i % 11 != 0).then_some(i % 2 == 0)),
        );
        let no_show = BooleanChunked::from_iter_options(
            "".into(),
            (0..rows).map(|i| (i % 13 != 0).then_some(i % 3 == 0)),
        );
        let wait =
            Float64Chunked::from_iter_options("".into(), (0..rows).map(|i| Some((i % 40) as f64)));
        let office: Vec<u32> = (0..rows).map(|i| (i / 700 % 3) as u32).collect();
        let p = Prepared::new(
            &office,
            &month,
            &marginal,
            &n,
            &appointment,
            &no_show,
            &wait,
            &wait,
        );
        assert_eq!(p.rows.len(), rows);
        for (i, row) in p.rows.iter().enumerate() {
            let single = marginal_of(i).is_none();
            let weight = if single {
                Some(1)
            } else {
                (i % 3 != 0).then_some(i as i64)
            };
            assert_eq!(
                p.base_keys[row.base as usize],
                (office[i], month_of(i), marginal_of(i)),
                "row {i}"
            );
            assert_eq!(
                (row.weight(), row.single(), row.appointment(), row.no_show()),
                (
                    weight,
                    single,
                    (i % 11 != 0).then_some(i % 2 == 0),
                    (i % 13 != 0).then_some(i % 3 == 0)
                ),
                "row {i}"
            );
            assert_eq!(p.waits[row.wait as usize], (i % 40) as f64, "row {i}");
        }
    }

    #[test]
    fn a_prepared_row_gives_back_what_it_was_made_of() {
        let flags = [None, Some(false), Some(true)];
        for weight in [None, Some(0), Some(1), Some(-3), Some(i64::MAX)] {
            for single in [false, true] {
                for appointment in flags {
                    for no_show in flags {
                        let row =
                            PreparedRow::new(7, weight, single, appointment, no_show, (8, MISSING));
                        assert_eq!(
                            (row.weight(), row.single(), row.appointment(), row.no_show()),
                            (weight, single, appointment, no_show)
                        );
                        assert_eq!((row.base, row.wait, row.service_time), (7, 8, MISSING));
                    }
                }
            }
        }
        assert_eq!(std::mem::size_of::<PreparedRow>(), 24);
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
        let mut counts =
            ListPrimitiveChunkedBuilder::<Int64Type>::new("counts".into(), 2, 3, DataType::Int64);
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
