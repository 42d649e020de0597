//! Pages of list columns in which every list and every item is present: a histogram's
//! values and counts, one list per group.
//!
//! polars' nested writer works out a repetition and a definition level for every item
//! through its general `dremel` iterator, for any depth and any missing list or item: that
//! was 4–5 % of all the instructions of an import. Without missing lists or items, every
//! item's definition level is the column's maximum (one run for the page) and its
//! repetition level says only whether it starts a list (one bit). The items get a dictionary
//! when they repeat enough, as the rows' floats do: waits at the export's resolution of
//! seconds and small counts repeat across a file's groups, so the pages zstd compresses
//! shrink to a few bits an item.

use super::{dictionary_pays, distinct_by_bits};
use polars_arrow::array::{Array, ListArray, PrimitiveArray};
use polars_parquet::parquet::CowBuffer;
use polars_parquet::parquet::encoding::hybrid_rle::encode;
use polars_parquet::parquet::encoding::uleb128;
use polars_parquet::parquet::metadata::Descriptor;
use polars_parquet::parquet::page::{DataPage, DataPageHeader, DataPageHeaderV1, DictPage};
use polars_parquet::parquet::schema::Repetition;
use polars_parquet::parquet::schema::types::PrimitiveType;
use polars_parquet::parquet::statistics::PrimitiveStatistics;
use polars_parquet::parquet::types::NativeType;
use polars_parquet::write::{Encoding, Page, ParquetType};

/// Items per data page, about (a page ends where a list ends), so that no page outgrows
/// what readers hold at once. Tests cut pages of a few hundred to see them joined.
const PAGE_ITEMS: usize = if cfg!(test) { 300 } else { 1 << 20 };

/// The pages of one column chunk of `array` (the dictionary first, if any), or `None` when
/// the column is not a list of numbers with every list and item present and non-empty
/// (polars' own writer takes it then).
pub(super) fn pages(array: &dyn Array, type_: &ParquetType) -> Option<Vec<Page>> {
    let list = array.as_any().downcast_ref::<ListArray<i64>>()?;
    let (leaf, max_def, max_rep) = leaf(type_)?;
    if max_rep != 1 || list.null_count() > 0 || list.is_empty() {
        return None;
    }
    let offsets = list.offsets().buffer();
    if offsets.windows(2).any(|w| w[0] >= w[1]) {
        return None;
    }
    let (first, last) = (offsets[0] as usize, offsets[offsets.len() - 1] as usize);
    let items = list.values().sliced(first, last - first);
    if items.null_count() > 0 {
        return None;
    }
    let lists = Lists {
        offsets,
        leaf,
        max_def,
    };
    if let Some(floats) = items.as_any().downcast_ref::<PrimitiveArray<f64>>() {
        return Some(lists.pages(floats.values(), f64::to_bits));
    }
    let ints = items.as_any().downcast_ref::<PrimitiveArray<i64>>()?;
    Some(lists.pages(ints.values(), |v| v as u64))
}

/// The leaf of a column's Parquet type, with its maximum definition and repetition levels;
/// `None` for a column of several leaves.
fn leaf(type_: &ParquetType) -> Option<(PrimitiveType, i16, i16)> {
    let (mut def, mut rep) = (0, 0);
    let mut node = type_;
    loop {
        match node.get_field_info().repetition {
            Repetition::Required => {}
            Repetition::Optional => def += 1,
            Repetition::Repeated => {
                def += 1;
                rep += 1;
            }
        }
        match node {
            ParquetType::PrimitiveType(p) => return Some((p.clone(), def, rep)),
            ParquetType::GroupType { fields, .. } if fields.len() == 1 => node = &fields[0],
            ParquetType::GroupType { .. } => return None,
        }
    }
}

/// A list column's shape: where each list starts among the items, and its leaf.
struct Lists<'a> {
    /// `offsets[l]..offsets[l + 1]` are the items of list `l` (the first need not be 0).
    offsets: &'a [i64],
    leaf: PrimitiveType,
    max_def: i16,
}

impl Lists<'_> {
    fn pages<T: NativeType + PartialOrd>(&self, items: &[T], bits: impl Fn(T) -> u64) -> Vec<Page> {
        let (keys, distinct) = distinct_by_bits(items, None, bits);
        let dictionary = dictionary_pays(distinct.len(), items.len());
        let mut pages = Vec::new();
        if dictionary {
            pages.push(Page::Dict(DictPage::new(
                CowBuffer::Owned(plain(&distinct)),
                distinct.len(),
                false,
            )));
        }
        let key_bits = 32 - (distinct.len().saturating_sub(1) as u32).leading_zeros();
        let base = self.offsets[0] as usize;
        let mut list = 0;
        let lists = self.offsets.len() - 1;
        while list < lists {
            let mut end = list + 1;
            while end < lists && (self.offsets[end] - self.offsets[list]) < PAGE_ITEMS as i64 {
                end += 1;
            }
            let starts = &self.offsets[list..=end];
            let (from, to) = (
                starts[0] as usize - base,
                starts[end - list] as usize - base,
            );
            let mut buffer = Vec::new();
            self.levels(starts, &mut buffer);
            let encoding = if dictionary {
                buffer.push(key_bits as u8);
                // Writing to a Vec cannot fail.
                let _ = encode::<u32, _, _>(&mut buffer, keys[from..to].iter().copied(), key_bits);
                Encoding::RleDictionary
            } else {
                buffer.extend_from_slice(&plain(&items[from..to]));
                Encoding::Plain
            };
            let header = DataPageHeader::V1(DataPageHeaderV1 {
                num_values: (to - from) as i32,
                encoding: encoding.into(),
                definition_level_encoding: Encoding::Rle.into(),
                repetition_level_encoding: Encoding::Rle.into(),
                statistics: Some(self.statistics(&items[from..to]).serialize()),
            });
            let descriptor = Descriptor {
                primitive_type: self.leaf.clone(),
                max_def_level: self.max_def,
                max_rep_level: 1,
            };
            pages.push(Page::Data(DataPage::new(
                header,
                CowBuffer::Owned(buffer),
                descriptor,
                end - list,
            )));
            list = end;
        }
        pages
    }

    /// A page's statistics: no missing items, its least and greatest (NaN left out, as
    /// Parquet asks).
    fn statistics<T: NativeType + PartialOrd>(&self, items: &[T]) -> PrimitiveStatistics<T> {
        // NaN is unordered, even with itself.
        let mut numbers = items.iter().copied().filter(|v| v.partial_cmp(v).is_some());
        let first = numbers.next();
        let (min, max) = numbers.fold((first, first), |(lo, hi), v| {
            (
                lo.map(|lo| if v < lo { v } else { lo }),
                hi.map(|hi| if v > hi { v } else { hi }),
            )
        });
        PrimitiveStatistics {
            primitive_type: self.leaf.clone(),
            null_count: Some(0),
            distinct_count: None,
            min_value: min,
            max_value: max,
        }
    }

    /// The repetition and definition levels of the items of the lists starting at
    /// `starts[..n]` (ending at `starts[n]`), as a version 1 page holds them: each behind its
    /// length in four bytes. Repetition levels are bit-packed (0 where a list starts, else
    /// 1); definition levels are one run of the maximum.
    fn levels(&self, starts: &[i64], buffer: &mut Vec<u8>) {
        let n = (starts[starts.len() - 1] - starts[0]) as usize;
        let mut bits = vec![0xFFu8; n.div_ceil(8)];
        for s in &starts[..starts.len() - 1] {
            let i = (s - starts[0]) as usize;
            bits[i / 8] &= !(1 << (i % 8));
        }
        if !n.is_multiple_of(8)
            && let Some(last) = bits.last_mut()
        {
            *last &= (1u8 << (n % 8)) - 1;
        }
        let mut run = Vec::with_capacity(bits.len() + 10);
        push_uleb128(&mut run, ((n.div_ceil(8) as u64) << 1) | 1);
        run.extend_from_slice(&bits);
        with_length(buffer, &run);

        run.clear();
        push_uleb128(&mut run, (n as u64) << 1);
        run.push(self.max_def as u8);
        with_length(buffer, &run);
    }
}

/// Numbers as Parquet's plain encoding has them: little-endian, one after the other.
fn plain<T: NativeType>(values: &[T]) -> Vec<u8> {
    let mut out = Vec::with_capacity(std::mem::size_of_val(values));
    for v in values {
        out.extend_from_slice(v.to_le_bytes().as_ref());
    }
    out
}

fn push_uleb128(out: &mut Vec<u8>, value: u64) {
    let mut container = [0u8; 10];
    let used = uleb128::encode(value, &mut container);
    out.extend_from_slice(&container[..used]);
}

/// `bytes` behind their length in four little-endian bytes.
fn with_length(buffer: &mut Vec<u8>, bytes: &[u8]) {
    buffer.extend_from_slice(&(bytes.len() as u32).to_le_bytes());
    buffer.extend_from_slice(bytes);
}

#[cfg(test)]
mod tests {
    use super::super::write_rows;
    use polars::prelude::*;

    /// A frame of `n` groups: a text key, a histogram's values (rising, from few distinct
    /// ones) and counts, and a list of floats that are all distinct.
    fn histograms(n: usize) -> DataFrame {
        let mut values = ListPrimitiveChunkedBuilder::<Float64Type>::new(
            "values".into(),
            n,
            n * 3,
            DataType::Float64,
        );
        let mut counts = ListPrimitiveChunkedBuilder::<Int64Type>::new(
            "counts".into(),
            n,
            n * 3,
            DataType::Int64,
        );
        let mut distinct = ListPrimitiveChunkedBuilder::<Float64Type>::new(
            "distinct".into(),
            n,
            n * 3,
            DataType::Float64,
        );
        let mut next = 0.0;
        for g in 0..n {
            let len = 1 + (g * 7 + g / 5) % 4;
            let v: Vec<f64> = (0..len)
                .map(|i| match (g + i) % 97 {
                    0 => -0.0,
                    1 => f64::NAN,
                    k => (g % 13 + i * 5 + k % 3) as f64 / 60.0,
                })
                .collect();
            let c: Vec<i64> = (0..len)
                .map(|i| match (g * 3 + i) % 50 {
                    0 => 1 << 40,
                    1 => -7,
                    k => (k % 6) as i64 + 1,
                })
                .collect();
            let d: Vec<f64> = (0..len)
                .map(|_| {
                    next += 0.013;
                    next
                })
                .collect();
            values.append_slice(&v);
            counts.append_slice(&c);
            distinct.append_slice(&d);
        }
        let office: Vec<&str> = (0..n).map(|g| ["Nord", "Süd"][g % 2]).collect();
        DataFrame::new(
            n,
            vec![
                Column::new("office".into(), office),
                values.finish().into_column(),
                counts.finish().into_column(),
                distinct.finish().into_column(),
            ],
        )
        .unwrap()
    }

    /// Each list of a column: its items' bit patterns (`None`: a missing list).
    fn items(frame: &DataFrame, name: &str) -> Vec<Option<Vec<Option<u64>>>> {
        let lists = frame.column(name).unwrap().list().unwrap().clone();
        lists
            .amortized_iter()
            .map(|l| {
                l.map(|s| {
                    let s = s.as_ref();
                    match s.dtype() {
                        DataType::Float64 => s
                            .f64()
                            .unwrap()
                            .iter()
                            .map(|v| v.map(f64::to_bits))
                            .collect(),
                        _ => s
                            .i64()
                            .unwrap()
                            .iter()
                            .map(|v| v.map(|v| v as u64))
                            .collect(),
                    }
                })
            })
            .collect()
    }

    fn round_trip(frame: &DataFrame) -> (DataFrame, Vec<u8>) {
        let mut bytes = Vec::new();
        write_rows(&mut bytes, &mut frame.clone(), None).unwrap();
        let back = ParquetReader::new(std::io::Cursor::new(bytes.clone()))
            .finish()
            .unwrap();
        (back, bytes)
    }

    /// Lists come back as written, item for item and bit for bit, across row groups that
    /// start inside the lists' items (polars' default of 262,144 rows) and pages cut at
    /// list ends; repeating items are written as a dictionary, distinct ones plainly.
    #[test]
    fn lists_read_back_as_written() {
        let frame = histograms(270_000);
        let (back, bytes) = round_trip(&frame);
        assert_eq!(back.schema(), frame.schema());
        for name in ["values", "counts", "distinct"] {
            assert_eq!(items(&back, name), items(&frame, name), "{name}");
        }
        assert!(
            back.column("office")
                .unwrap()
                .equals_missing(frame.column("office").unwrap())
        );

        let mut reader = ParquetReader::new(std::io::Cursor::new(bytes));
        let meta = reader.get_metadata().unwrap().clone();
        assert_eq!(meta.row_groups.len(), 2);
        for group in &meta.row_groups {
            for column in group.parquet_columns() {
                let name = column.descriptor().path_in_schema[0].as_str();
                let dictionary = column.dictionary_page_offset().is_some();
                match name {
                    "values" | "counts" => assert!(dictionary, "{name}"),
                    "distinct" => assert!(!dictionary, "{name}"),
                    _ => {}
                }
            }
        }
    }

    /// A missing list, an empty one or a missing item is left to polars' own writer, and
    /// reads back as written too.
    #[test]
    fn lists_with_gaps_read_back_as_written() {
        let values: Vec<Option<Series>> = vec![
            Some(Series::new("".into(), [1.5f64, 2.0])),
            None,
            Some(Series::new("".into(), Vec::<f64>::new())),
            Some(Series::new("".into(), [Some(3.0f64), None])),
        ];
        let counts: Vec<Option<Series>> = vec![
            Some(Series::new("".into(), [1i64, 2])),
            Some(Series::new("".into(), [4i64])),
            None,
            Some(Series::new("".into(), [Some(5i64), None])),
        ];
        let frame = DataFrame::new(
            4,
            vec![
                Column::new("values".into(), values),
                Column::new("counts".into(), counts),
            ],
        )
        .unwrap();
        let (back, _) = round_trip(&frame);
        for name in ["values", "counts"] {
            assert_eq!(items(&back, name), items(&frame, name), "{name}");
        }
    }
}
