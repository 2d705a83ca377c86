//! The Arrow arrays of one row group, each with the Parquet encoding it is written in. Every
//! column's encoding is chosen here, from what the column holds, where polars' DataFrame writer
//! tries a dictionary on every column and estimates each one's cardinality to decide: on this
//! file that estimate, and hashing each row's text again to build the dictionaries, cost more
//! than a tenth of the writer.

use polars::prelude::PlSmallStr;
use polars_arrow::array::{Array, BooleanArray, DictionaryArray, PrimitiveArray, Utf8ViewArray};
use polars_arrow::bitmap::{Bitmap, MutableBitmap};
use polars_arrow::datatypes::{ArrowDataType, IntegerType};
use polars_parquet::write::Encoding;
use rustc_hash::FxHashMap as HashMap;
use std::io;

use super::err;

/// Precision and scale of the money columns.
pub const PRECISION: usize = 38;
pub const SCALE: usize = 18;

/// A column of a row group.
pub struct Col {
    pub name: PlSmallStr,
    /// What readers see: text for a dictionary of texts.
    pub dtype: ArrowDataType,
    pub encoding: Encoding,
    pub array: Box<dyn Array>,
}

impl Col {
    fn new(name: &str, encoding: Encoding, array: Box<dyn Array>) -> Col {
        Col {
            name: name.into(),
            dtype: array.dtype().clone(),
            encoding,
            array,
        }
    }

    /// Text with few distinct values (models, keys, days, statuses): a dictionary of the
    /// values in the order they first come in the row group, and a code per row. The
    /// dictionary, the codes and so the file are what polars' writer makes of such a column.
    pub fn few_texts<'a>(
        name: &str,
        values: impl ExactSizeIterator<Item = Option<&'a str>>,
    ) -> io::Result<Col> {
        let n = values.len();
        let mut index: HashMap<&str, u32> = HashMap::default();
        let mut distinct: Vec<&str> = Vec::new();
        let mut keys: Vec<u32> = Vec::with_capacity(n);
        let mut valid = MutableBitmap::with_capacity(n);
        // Neighbouring rows mostly share the text itself, not only its value: one comparison
        // of two pointers then stands for the lookup.
        let mut last: Option<(&str, u32)> = None;
        for v in values {
            let Some(s) = v else {
                keys.push(0);
                valid.push(false);
                continue;
            };
            let code = match last {
                Some((l, c)) if std::ptr::eq(l, s) => c,
                _ => {
                    let c = *index.entry(s).or_insert_with(|| {
                        distinct.push(s);
                        // A row group has 16,384 rows, so at most as many values.
                        (distinct.len() - 1) as u32
                    });
                    last = Some((s, c));
                    c
                }
            };
            keys.push(code);
            valid.push(true);
        }
        let validity = (valid.unset_bits() > 0).then(|| valid.into());
        let keys = PrimitiveArray::new(ArrowDataType::UInt32, keys.into(), validity);
        let values = Utf8ViewArray::from_slice_values(&distinct).boxed();
        let dtype = ArrowDataType::Dictionary(
            IntegerType::UInt32,
            Box::new(ArrowDataType::Utf8View),
            false,
        );
        let array = DictionaryArray::try_new(dtype, keys, values).map_err(err)?;
        Ok(Col {
            name: name.into(),
            dtype: ArrowDataType::Utf8View,
            encoding: Encoding::RleDictionary,
            array: array.boxed(),
        })
    }

    /// Text that is mostly different on every row (ids, times): written plain.
    pub fn texts<'a>(name: &str, values: impl Iterator<Item = Option<&'a str>>) -> Col {
        let values: Vec<Option<&str>> = values.collect();
        Col::new(
            name,
            Encoding::Plain,
            Utf8ViewArray::from_slice(&values).boxed(),
        )
    }

    /// Counts that repeat (tokens, images): a dictionary where polars' writer finds one worth it.
    pub fn counts<T: polars_arrow::types::NativeType>(name: &str, values: Vec<T>) -> Col {
        Col::new(
            name,
            Encoding::RleDictionary,
            PrimitiveArray::from_vec(values).boxed(),
        )
    }

    /// Numbers that rarely repeat (line numbers): written plain.
    pub fn numbers(name: &str, values: Vec<u64>) -> Col {
        Col::new(
            name,
            Encoding::Plain,
            PrimitiveArray::from_vec(values).boxed(),
        )
    }

    pub fn flags(name: &str, values: &[bool]) -> Col {
        Col::new(
            name,
            Encoding::Plain,
            BooleanArray::from_slice(values).boxed(),
        )
    }

    /// Money scaled to DECIMAL(38, 18), written plain: amounts seldom repeat. Null where
    /// `valid` says so.
    pub fn money(name: &str, values: Vec<i128>, valid: Option<Bitmap>) -> Col {
        Col::new(
            name,
            Encoding::Plain,
            PrimitiveArray::new(decimal(), values.into(), valid).boxed(),
        )
    }

    /// Money where a row may have none.
    pub fn money_or_none(name: &str, values: Vec<Option<i128>>) -> Col {
        Col::new(
            name,
            Encoding::Plain,
            PrimitiveArray::<i128>::from(values).to(decimal()).boxed(),
        )
    }
}

fn decimal() -> ArrowDataType {
    ArrowDataType::Decimal(PRECISION, SCALE)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The dictionary holds each value once, in the order values first come, whether two
    /// rows share the text itself or only an equal copy of it; a row without one is null.
    #[test]
    fn few_texts_are_numbered_in_the_order_they_come() {
        let shared = String::from("gpt-5.1");
        let copy = shared.clone();
        let rows = [
            Some("flux-pro"),
            Some(shared.as_str()),
            None,
            Some(shared.as_str()),
            Some(copy.as_str()),
            Some("flux-pro"),
        ];
        let col = Col::few_texts("model", rows.iter().copied()).expect("dictionary");
        assert_eq!(col.dtype, ArrowDataType::Utf8View);
        assert!(matches!(col.encoding, Encoding::RleDictionary));
        let dict = col
            .array
            .as_any()
            .downcast_ref::<DictionaryArray<u32>>()
            .expect("a dictionary");
        let values = dict
            .values()
            .as_any()
            .downcast_ref::<Utf8ViewArray>()
            .expect("texts");
        assert_eq!(
            values.values_iter().collect::<Vec<_>>(),
            ["flux-pro", "gpt-5.1"]
        );
        let keys: Vec<Option<u32>> = dict.keys().iter().map(|k| k.copied()).collect();
        assert_eq!(keys, [Some(0), Some(1), None, Some(1), Some(1), Some(0)]);
    }

    #[test]
    fn a_column_without_nulls_has_no_validity() {
        let col = Col::few_texts("kind", [Some("image"); 3].into_iter()).expect("dictionary");
        assert_eq!(col.array.null_count(), 0);
        assert!(col.array.validity().is_none());
    }
}
