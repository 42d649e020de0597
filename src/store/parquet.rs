//! Rows of exports as Parquet files.
//!
//! polars' writer gives every integer column a dictionary (or writes it plainly when it has
//! too many values) and compresses every page with one codec. Rows of visits are mostly
//! datetimes — four per visit, milliseconds since 1970, rising within an office — which no
//! dictionary shrinks and zstd shrinks slowly (they were two thirds of a million-row file
//! and most of what its zstd compressed). Here datetimes are delta-encoded
//! (DELTA_BINARY_PACKED, which every Parquet reader reads) and left uncompressed: the
//! differences are bit-packed already. Texts and floats get their dictionary here
//! ([`dictionary`]) rather than from polars, which hashes every text again and writes
//! floats plainly (waits and service times repeat: a month of an office has a few thousand
//! distinct ones). Lists of numbers with every list and item present (the partials'
//! histograms) are written by [`lists`], without polars' general nested-level code. Every
//! other column is encoded and compressed as polars would, and the file carries the same
//! Arrow schema, so it reads back identically.

use crate::kinds::{Texts, keys_by_bits};
use polars::prelude::*;
use polars_arrow::array::{Array, DictionaryArray, Float64Array, PrimitiveArray, Utf8ViewArray};
use polars_arrow::bitmap::Bitmap;
use polars_arrow::datatypes::{ArrowDataType, Field as ArrowField, IntegerType};
use polars_parquet::read::ParquetError;
use polars_parquet::write::{
    CompressedPage, CompressionOptions, Compressor, DynIter, DynStreamingIterator, Encoding,
    FallibleStreamingIterator, FileWriter, Page, ParquetType, StatisticsOptions, Version,
    WriteOptions, ZstdLevel, array_to_columns, get_dtype_encoding, to_parquet_schema,
};
use std::io::Write;

mod lists;

/// The zstd level of the Parquet files: as for originals, level 1 costs little more space
/// than the default 3 and much less time at import.
const ZSTD_LEVEL: i32 = 1;

/// Rows per row group when the caller does not choose (polars' own default).
const ROW_GROUP_ROWS: usize = 512 * 512;

/// The rows of a frame in an order of their own (a permutation of its rows), written in row
/// groups of the given lengths.
pub(super) struct RowGroups<'a> {
    pub order: &'a [IdxSize],
    pub lengths: &'a [usize],
}

/// How one column is written: its encodings (one per Parquet leaf) and its codec.
struct ColumnPlan {
    encodings: Vec<Encoding>,
    compression: CompressionOptions,
}

impl ColumnPlan {
    fn of(field: &ArrowField) -> Self {
        let zstd = CompressionOptions::Zstd(ZstdLevel::try_new(ZSTD_LEVEL).ok());
        match field.dtype {
            ArrowDataType::Timestamp(_, _) => ColumnPlan {
                encodings: vec![Encoding::DeltaBinaryPacked],
                compression: CompressionOptions::Uncompressed,
            },
            _ => ColumnPlan {
                encodings: get_dtype_encoding(&field.dtype),
                compression: zstd,
            },
        }
    }
}

/// Writes `frame` to `out` as Parquet, in the order and row groups of `groups`, or as it is
/// in groups of [`ROW_GROUP_ROWS`] when `None`. A group's rows are gathered a column at a
/// time, just before the column is written: a million rows are not copied at once, and an
/// office's group of a quarter million rows takes one column's room (a few MB of fresh
/// memory), not fifteen columns' (60 MB).
pub(super) fn write_rows(
    out: impl Write,
    frame: &mut DataFrame,
    groups: Option<RowGroups>,
) -> PolarsResult<()> {
    if let Some(g) = &groups
        && (g.lengths.iter().sum::<usize>() != frame.height() || g.order.len() != frame.height())
    {
        polars_bail!(
            ComputeError: "row groups of {} rows in an order of {} for a frame of {}",
            g.lengths.iter().sum::<usize>(),
            g.order.len(),
            frame.height()
        );
    }
    // A gather from a text column of several chunks (a file read in two halves) copies
    // every text; from one chunk it copies 16-byte views.
    let texts: Vec<PlSmallStr> = frame
        .columns()
        .iter()
        .filter(|c| c.dtype() == &DataType::String && c.n_chunks() > 1)
        .map(|c| c.name().clone())
        .collect();
    for name in texts {
        let one = frame.column(&name)?.rechunk();
        frame.with_column(one)?;
    }
    let schema = frame.schema().to_arrow(CompatLevel::newest());
    let parquet_schema = to_parquet_schema(&schema)?;
    let plans: Vec<ColumnPlan> = schema.iter_values().map(ColumnPlan::of).collect();
    let options = WriteOptions {
        statistics: StatisticsOptions::default(),
        version: Version::V1,
        compression: CompressionOptions::Uncompressed,
        data_page_size: None,
    };
    let fields = parquet_schema.fields().to_vec();
    let mut writer = FileWriter::new_with_parquet_schema(out, schema, parquet_schema, options);
    // The group's rows of one column as its Parquet leaves' pages, gathered when the writer
    // reaches the column.
    let leaves_of = |column: &Column, type_: &ParquetType, plan: &ColumnPlan, rows: &Rows| {
        let part = match rows {
            Rows::Picked(picked) => column.take(picked)?,
            Rows::Slice(at, len) => column.slice(*at as i64, *len),
        };
        let array = part
            .as_materialized_series()
            .rechunk()
            .to_arrow(0, CompatLevel::newest());
        if let Some(pages) = lists::pages(array.as_ref(), type_) {
            return Ok(vec![DynIter::new(pages.into_iter().map(Ok))]);
        }
        let dictionary = dictionary(array.as_ref());
        let (array, encodings) = match &dictionary {
            Some(d) => (d as &dyn Array, &[Encoding::RleDictionary][..]),
            None => (array.as_ref(), &plan.encodings[..]),
        };
        let options = WriteOptions {
            compression: plan.compression,
            ..options
        };
        array_to_columns(array, type_.clone(), options, encodings)
    };
    let mut write_group =
        |rows: Rows| -> PolarsResult<()> {
            let len = rows.len();
            if len == 0 {
                return Ok(());
            }
            let columns = frame.columns().iter().zip(&fields).zip(&plans).flat_map(
                |((column, type_), plan)| match leaves_of(column, type_, plan, &rows) {
                    Ok(leaves) => leaves
                        .into_iter()
                        .map(|pages| Ok(compressed(pages, plan.compression)))
                        .collect(),
                    Err(e) => vec![Err(e)],
                },
            );
            writer.write(len as u64, DynIter::new(columns))
        };
    match groups {
        Some(g) => {
            let mut at = 0;
            for &len in g.lengths {
                let picked = IdxCa::from_slice("idx".into(), &g.order[at..at + len]);
                write_group(Rows::Picked(picked))?;
                at += len;
            }
        }
        None => {
            let mut at = 0;
            while at < frame.height() {
                let len = ROW_GROUP_ROWS.min(frame.height() - at);
                write_group(Rows::Slice(at, len))?;
                at += len;
            }
        }
    }
    writer.end(None)?;
    Ok(())
}

/// A leaf's pages, compressed as the writer takes them.
fn compressed(
    pages: DynIter<'static, PolarsResult<Page>>,
    compression: CompressionOptions,
) -> DynStreamingIterator<'static, CompressedPage, PolarsError> {
    let pages = pages.map(|p| p.map_err(|e| ParquetError::FeatureNotSupported(e.to_string())));
    let compressed = Compressor::new_from_vec(pages, compression, Vec::new());
    DynStreamingIterator::new(compressed.map_err(PolarsError::from))
}

/// The rows of a frame that one row group holds.
enum Rows {
    /// These rows, in this order.
    Picked(IdxCa),
    /// `len` rows from `at` on.
    Slice(usize, usize),
}

impl Rows {
    fn len(&self) -> usize {
        match self {
            Rows::Picked(picked) => picked.len(),
            Rows::Slice(_, len) => *len,
        }
    }
}

/// A text or float column as its distinct values and a key per row, when it repeats enough
/// for a dictionary to pay (as polars decides: distinct values at most three quarters of
/// the rows) and has a value; `None` for other columns, which polars encodes.
///
/// Rows are told apart by bits, not by hashing their values: a text by its 16-byte view
/// (texts a reader interned share their view, so each distinct text costs one string
/// lookup), a float by its bit pattern (so -0.0 and 0.0 each keep theirs). A direct-mapped
/// table in front of the hash map finds most rows without hashing.
fn dictionary(array: &dyn Array) -> Option<DictionaryArray<u32>> {
    let rows = array.len();
    let (keys, values): (Vec<u32>, Box<dyn Array>) = match array.dtype() {
        ArrowDataType::Utf8View => {
            let texts = array.as_any().downcast_ref::<Utf8ViewArray>()?;
            let mut distinct = Texts::default();
            let views = texts.views().iter().map(|v| v.as_u128());
            let keys = keys_by_bits(views, texts.validity(), 0, |i| {
                distinct.id(Some(texts.value(i)))
            });
            (
                keys,
                Utf8ViewArray::from_slice_values(&distinct.values).boxed(),
            )
        }
        ArrowDataType::Float64 => {
            let floats = array.as_any().downcast_ref::<Float64Array>()?;
            let (keys, distinct) =
                distinct_by_bits(floats.values(), floats.validity(), f64::to_bits);
            (keys, Float64Array::from_vec(distinct).boxed())
        }
        _ => return None,
    };
    if !dictionary_pays(values.len(), rows) {
        return None;
    }
    let keys = PrimitiveArray::<u32>::new(
        ArrowDataType::UInt32,
        keys.into(),
        array.validity().cloned(),
    );
    let dtype =
        ArrowDataType::Dictionary(IntegerType::UInt32, Box::new(values.dtype().clone()), false);
    DictionaryArray::try_new(dtype, keys, values).ok()
}

/// Each value's key into the distinct values (in order of first appearance), values told
/// apart by their bits; a missing value gets key 0.
fn distinct_by_bits<T: Copy>(
    values: &[T],
    validity: Option<&Bitmap>,
    bits: impl Fn(T) -> u64,
) -> (Vec<u32>, Vec<T>) {
    let mut by_bits: PlHashMap<u64, u32> = PlHashMap::default();
    let mut distinct: Vec<T> = Vec::new();
    let keys = keys_by_bits(values.iter().map(|v| bits(*v) as u128), validity, 0, |i| {
        *by_bits.entry(bits(values[i])).or_insert_with(|| {
            distinct.push(values[i]);
            (distinct.len() - 1) as u32
        })
    });
    (keys, distinct)
}

/// Whether `distinct` values are few enough among `rows` for a dictionary to pay (as polars
/// decides: at most three quarters of the rows, or any number in a small column).
fn dictionary_pays(distinct: usize, rows: usize) -> bool {
    distinct > 0 && (rows <= 128 || distinct * 4 <= rows * 3)
}

#[cfg(test)]
mod tests {
    use super::*;
    use polars_arrow::array::MutableBinaryViewArray;
    use polars_parquet::parquet::compression::Compression;

    /// Rows of visits in the shapes a store keeps: texts with gaps in two chunks (a file
    /// read in halves), datetimes with gaps, numbers, flags.
    fn rows(n: usize) -> DataFrame {
        let half = |from: usize, to: usize| {
            let office: Vec<Option<&str>> = (from..to)
                .map(|i| match i % 7 {
                    0 => None,
                    1 | 2 => Some("Ausländerbehörde Mitte"),
                    _ => Some("Nord"),
                })
                .collect();
            let arrived: Vec<Option<i64>> = (from..to)
                .map(|i| (i % 11 != 0).then_some(1_735_689_600_000 + i as i64 * 61_000))
                .collect();
            df![
                "office" => office,
                "month" => (from..to).map(|i| 202501 + (i % 3) as i32).collect::<Vec<_>>(),
                "wait_min" => (from..to).map(|i| (i % 5 != 0).then_some(i as f64 / 60.0)).collect::<Vec<_>>(),
                "no_show" => (from..to).map(|i| i % 9 == 0).collect::<Vec<_>>(),
                "arrived_at" => arrived,
            ]
            .unwrap()
            .lazy()
            .with_column(col("arrived_at").cast(DataType::Datetime(TimeUnit::Milliseconds, None)))
            .collect()
            .unwrap()
        };
        let mut frame = half(0, n / 2);
        frame.vstack_mut(&half(n / 2, n)).unwrap();
        frame
    }

    fn written(frame: &mut DataFrame, groups: Option<RowGroups>) -> Vec<u8> {
        let mut bytes = Vec::new();
        write_rows(&mut bytes, frame, groups).unwrap();
        bytes
    }

    fn read(bytes: Vec<u8>) -> DataFrame {
        ParquetReader::new(std::io::Cursor::new(bytes))
            .finish()
            .unwrap()
    }

    /// What is written reads back as the same frame, in the order and row groups asked for.
    #[test]
    fn rows_read_back_as_written() {
        let mut frame = rows(50_000);
        let as_is = read(written(&mut frame.clone(), None));
        assert!(as_is.equals_missing(&frame));

        let order: Vec<IdxSize> = (0..50_000).rev().collect();
        let lengths = [20_000, 30_000];
        let groups = RowGroups {
            order: &order,
            lengths: &lengths,
        };
        let bytes = written(&mut frame, Some(groups));
        let reordered = frame
            .take(&IdxCa::from_vec("idx".into(), order.clone()))
            .unwrap();
        let mut reader = ParquetReader::new(std::io::Cursor::new(bytes.clone()));
        let groups: Vec<usize> = reader
            .get_metadata()
            .unwrap()
            .row_groups
            .iter()
            .map(|g| g.num_rows())
            .collect();
        assert_eq!(groups, lengths);
        assert!(read(bytes).equals_missing(&reordered));
    }

    /// Datetimes are delta-encoded and not compressed again (a rising series of 50,000 takes
    /// under half of its 8 bytes a value); every other column is zstd as before.
    #[test]
    fn datetimes_are_delta_encoded() {
        let bytes = written(&mut rows(50_000), None);
        let mut reader = ParquetReader::new(std::io::Cursor::new(bytes));
        let meta = reader.get_metadata().unwrap().clone();
        for group in &meta.row_groups {
            for column in group.parquet_columns() {
                let name = column.descriptor().path_in_schema[0].as_str();
                if name == "arrived_at" {
                    assert_eq!(column.compression(), Compression::Uncompressed);
                    assert!(
                        column.uncompressed_size() < 8 * 50_000 / 2,
                        "{name}: {}",
                        column.uncompressed_size()
                    );
                } else {
                    assert_eq!(column.compression(), Compression::Zstd, "{name}");
                }
            }
        }
    }

    /// Row groups that do not cover the frame are refused before anything is written.
    #[test]
    fn row_groups_must_cover_the_frame() {
        let mut frame = rows(10);
        let order: Vec<IdxSize> = (0..10).collect();
        let mut bytes = Vec::new();
        let short = RowGroups {
            order: &order,
            lengths: &[4, 5],
        };
        assert!(write_rows(&mut bytes, &mut frame, Some(short)).is_err());
        assert!(bytes.is_empty());
    }

    /// Equal texts count once however they are stored (views of one interned text, or
    /// copies); a missing value adds nothing, so statistics are the values' own.
    #[test]
    fn a_dictionary_holds_each_value_once() {
        let long = "Straßenverkehrsamt Führerscheinstelle";
        let texts: Utf8ViewArray = MutableBinaryViewArray::<str>::from_iter(vec![
            Some(long),
            None,
            Some("Nord"),
            Some(long),
            Some("Nord"),
        ])
        .into();
        let d = dictionary(&texts).unwrap();
        let values = d.values().as_any().downcast_ref::<Utf8ViewArray>().unwrap();
        let values: Vec<&str> = values.values_iter().collect();
        assert_eq!(values, [long, "Nord"]);
        assert_eq!(
            d.keys().iter().collect::<Vec<_>>(),
            [Some(&0), None, Some(&1), Some(&0), Some(&1)]
        );

        let all_missing: Utf8ViewArray =
            MutableBinaryViewArray::<str>::from_iter(vec![None::<&str>; 3]).into();
        assert!(dictionary(&all_missing).is_none());
        let all_distinct: Vec<String> = (0..1000).map(|i| format!("Vorgang {i}")).collect();
        assert!(dictionary(&Utf8ViewArray::from_slice_values(&all_distinct)).is_none());
    }

    /// Floats come back bit for bit: -0.0 and 0.0 apart, NaN, missing values.
    #[test]
    fn floats_read_back_bit_for_bit() {
        let values: Vec<Option<f64>> = (0..1000)
            .map(|i| match i % 6 {
                0 => None,
                1 => Some(-0.0),
                2 => Some(0.0),
                3 => Some(f64::NAN),
                _ => Some((i % 40) as f64 / 60.0),
            })
            .collect();
        let mut frame = df!["wait_min" => values.clone()].unwrap();
        let back = read(written(&mut frame, None));
        let back: Vec<Option<u64>> = back
            .column("wait_min")
            .unwrap()
            .f64()
            .unwrap()
            .iter()
            .map(|v| v.map(f64::to_bits))
            .collect();
        let want: Vec<Option<u64>> = values.iter().map(|v| v.map(f64::to_bits)).collect();
        assert_eq!(back, want);
    }
}
