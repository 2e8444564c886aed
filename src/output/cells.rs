//! A CSV row as cells: each field of a flat row struct as (column, text), numbers written
//! to [`SIGNIFICANT_DIGITS`] significant digits by [`number_text`].
//!
//! The csv crate writes a float's shortest round-trip form, which keeps the noise of the
//! arithmetic (`23.659999999999997` for a sum that is 23.66 to every digit that means
//! anything). Results files round instead: the model's numbers are solved to a relative
//! tolerance near `1e-12`, so ten significant digits keep all they know and drop the noise.

use serde::ser::{Impossible, Serialize, Serializer};

/// Significant digits of every number in a results CSV written by
/// [`super::csv_bytes`] (the JSON files and [`super::csv_bytes_exact`] keep every digit).
pub const SIGNIFICANT_DIGITS: usize = 10;

/// `v` rounded to `digits` significant digits (at least 1): the nearest `f64` to the decimal
/// with that many digits. Zero and non-finite numbers are returned as they are.
pub fn round_significant(v: f64, digits: usize) -> f64 {
    if v == 0.0 || !v.is_finite() {
        return v;
    }
    // `{:.Ne}` rounds the decimal expansion correctly (round half to even on the exact
    // binary value), and parsing it back gives the nearest double to that decimal.
    format!("{:.*e}", digits.max(1) - 1, v).parse().unwrap_or(v)
}

/// A number as a results file writes it: rounded to [`SIGNIFICANT_DIGITS`], in its
/// shortest form, with a decimal point (`2.0`, `23.66`, `-0.0125`), or in exponent form
/// outside `[1e-5, 1e16)` (`1.5e-7`); `-0` is written `0.0`.
pub fn number_text(v: f64) -> String {
    let r = round_significant(v, SIGNIFICANT_DIGITS);
    if r == 0.0 {
        return "0.0".to_owned();
    }
    let a = r.abs();
    if !r.is_finite() || !(1e-5..1e16).contains(&a) {
        return format!("{r:e}");
    }
    let s = format!("{r}");
    if s.contains('.') {
        s
    } else {
        format!("{s}.0")
    }
}

/// Why a row could not be turned into cells.
#[derive(Debug)]
pub(crate) struct CellError(pub(crate) String);

impl std::fmt::Display for CellError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for CellError {}

impl serde::ser::Error for CellError {
    fn custom<M: std::fmt::Display>(msg: M) -> Self {
        CellError(msg.to_string())
    }
}

/// The cells of one row: a struct of scalar fields (numbers, strings, booleans, options
/// and unit variants of them).
pub(crate) fn row_cells<T: Serialize + ?Sized>(
    row: &T,
    exact: bool,
) -> Result<Vec<(&'static str, String)>, CellError> {
    let mut out = Vec::new();
    row.serialize(RowSer {
        cells: &mut out,
        exact,
    })?;
    Ok(out)
}

struct RowSer<'a> {
    cells: &'a mut Vec<(&'static str, String)>,
    exact: bool,
}

/// One cell's text.
struct CellSer {
    exact: bool,
}

fn nested<T>() -> Result<T, CellError> {
    Err(CellError(
        "a CSV row must be a struct of plain values (no nested lists or structs)".into(),
    ))
}

impl<'a> Serializer for RowSer<'a> {
    type Ok = ();
    type Error = CellError;
    type SerializeSeq = Impossible<(), CellError>;
    type SerializeTuple = Impossible<(), CellError>;
    type SerializeTupleStruct = Impossible<(), CellError>;
    type SerializeTupleVariant = Impossible<(), CellError>;
    type SerializeMap = Impossible<(), CellError>;
    type SerializeStruct = Self;
    type SerializeStructVariant = Impossible<(), CellError>;

    fn serialize_struct(self, _: &'static str, _: usize) -> Result<Self, CellError> {
        Ok(self)
    }
    fn serialize_bool(self, _: bool) -> Result<(), CellError> {
        nested()
    }
    fn serialize_i8(self, _: i8) -> Result<(), CellError> {
        nested()
    }
    fn serialize_i16(self, _: i16) -> Result<(), CellError> {
        nested()
    }
    fn serialize_i32(self, _: i32) -> Result<(), CellError> {
        nested()
    }
    fn serialize_i64(self, _: i64) -> Result<(), CellError> {
        nested()
    }
    fn serialize_u8(self, _: u8) -> Result<(), CellError> {
        nested()
    }
    fn serialize_u16(self, _: u16) -> Result<(), CellError> {
        nested()
    }
    fn serialize_u32(self, _: u32) -> Result<(), CellError> {
        nested()
    }
    fn serialize_u64(self, _: u64) -> Result<(), CellError> {
        nested()
    }
    fn serialize_f32(self, _: f32) -> Result<(), CellError> {
        nested()
    }
    fn serialize_f64(self, _: f64) -> Result<(), CellError> {
        nested()
    }
    fn serialize_char(self, _: char) -> Result<(), CellError> {
        nested()
    }
    fn serialize_str(self, _: &str) -> Result<(), CellError> {
        nested()
    }
    fn serialize_bytes(self, _: &[u8]) -> Result<(), CellError> {
        nested()
    }
    fn serialize_none(self) -> Result<(), CellError> {
        nested()
    }
    fn serialize_some<T: Serialize + ?Sized>(self, _: &T) -> Result<(), CellError> {
        nested()
    }
    fn serialize_unit(self) -> Result<(), CellError> {
        nested()
    }
    fn serialize_unit_struct(self, _: &'static str) -> Result<(), CellError> {
        nested()
    }
    fn serialize_unit_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
    ) -> Result<(), CellError> {
        nested()
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        value: &T,
    ) -> Result<(), CellError> {
        value.serialize(self)
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: &T,
    ) -> Result<(), CellError> {
        nested()
    }
    fn serialize_seq(self, _: Option<usize>) -> Result<Self::SerializeSeq, CellError> {
        nested()
    }
    fn serialize_tuple(self, _: usize) -> Result<Self::SerializeTuple, CellError> {
        nested()
    }
    fn serialize_tuple_struct(
        self,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeTupleStruct, CellError> {
        nested()
    }
    fn serialize_tuple_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeTupleVariant, CellError> {
        nested()
    }
    fn serialize_map(self, _: Option<usize>) -> Result<Self::SerializeMap, CellError> {
        nested()
    }
    fn serialize_struct_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeStructVariant, CellError> {
        nested()
    }
}

impl serde::ser::SerializeStruct for RowSer<'_> {
    type Ok = ();
    type Error = CellError;
    fn serialize_field<T: Serialize + ?Sized>(
        &mut self,
        key: &'static str,
        value: &T,
    ) -> Result<(), CellError> {
        let text = value
            .serialize(CellSer { exact: self.exact })
            .map_err(|e| CellError(format!("field `{key}`: {e}")))?;
        self.cells.push((key, text));
        Ok(())
    }
    fn end(self) -> Result<(), CellError> {
        Ok(())
    }
}

impl Serializer for CellSer {
    type Ok = String;
    type Error = CellError;
    type SerializeSeq = Impossible<String, CellError>;
    type SerializeTuple = Impossible<String, CellError>;
    type SerializeTupleStruct = Impossible<String, CellError>;
    type SerializeTupleVariant = Impossible<String, CellError>;
    type SerializeMap = Impossible<String, CellError>;
    type SerializeStruct = Impossible<String, CellError>;
    type SerializeStructVariant = Impossible<String, CellError>;

    fn serialize_bool(self, v: bool) -> Result<String, CellError> {
        Ok(v.to_string())
    }
    fn serialize_i8(self, v: i8) -> Result<String, CellError> {
        Ok(v.to_string())
    }
    fn serialize_i16(self, v: i16) -> Result<String, CellError> {
        Ok(v.to_string())
    }
    fn serialize_i32(self, v: i32) -> Result<String, CellError> {
        Ok(v.to_string())
    }
    fn serialize_i64(self, v: i64) -> Result<String, CellError> {
        Ok(v.to_string())
    }
    fn serialize_u8(self, v: u8) -> Result<String, CellError> {
        Ok(v.to_string())
    }
    fn serialize_u16(self, v: u16) -> Result<String, CellError> {
        Ok(v.to_string())
    }
    fn serialize_u32(self, v: u32) -> Result<String, CellError> {
        Ok(v.to_string())
    }
    fn serialize_u64(self, v: u64) -> Result<String, CellError> {
        Ok(v.to_string())
    }
    fn serialize_f32(self, v: f32) -> Result<String, CellError> {
        self.serialize_f64(f64::from(v))
    }
    fn serialize_f64(self, v: f64) -> Result<String, CellError> {
        if self.exact {
            // The shortest text that reads back as exactly `v` (what the csv crate writes).
            let s = format!("{v:?}");
            Ok(s)
        } else {
            Ok(number_text(v))
        }
    }
    fn serialize_char(self, v: char) -> Result<String, CellError> {
        Ok(v.to_string())
    }
    fn serialize_str(self, v: &str) -> Result<String, CellError> {
        Ok(v.to_owned())
    }
    fn serialize_bytes(self, _: &[u8]) -> Result<String, CellError> {
        nested()
    }
    fn serialize_none(self) -> Result<String, CellError> {
        Ok(String::new())
    }
    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Result<String, CellError> {
        value.serialize(self)
    }
    fn serialize_unit(self) -> Result<String, CellError> {
        Ok(String::new())
    }
    fn serialize_unit_struct(self, _: &'static str) -> Result<String, CellError> {
        Ok(String::new())
    }
    fn serialize_unit_variant(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
    ) -> Result<String, CellError> {
        Ok(variant.to_owned())
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        value: &T,
    ) -> Result<String, CellError> {
        value.serialize(self)
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: &T,
    ) -> Result<String, CellError> {
        nested()
    }
    fn serialize_seq(self, _: Option<usize>) -> Result<Self::SerializeSeq, CellError> {
        nested()
    }
    fn serialize_tuple(self, _: usize) -> Result<Self::SerializeTuple, CellError> {
        nested()
    }
    fn serialize_tuple_struct(
        self,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeTupleStruct, CellError> {
        nested()
    }
    fn serialize_tuple_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeTupleVariant, CellError> {
        nested()
    }
    fn serialize_map(self, _: Option<usize>) -> Result<Self::SerializeMap, CellError> {
        nested()
    }
    fn serialize_struct(
        self,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeStruct, CellError> {
        nested()
    }
    fn serialize_struct_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeStructVariant, CellError> {
        nested()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_lose_their_noise_and_keep_their_digits() {
        assert_eq!(number_text(23.659999999999997), "23.66");
        assert_eq!(number_text(0.1 + 0.2), "0.3");
        assert_eq!(number_text(2.0), "2.0");
        assert_eq!(number_text(-0.0), "0.0");
        assert_eq!(number_text(293.71512345678), "293.7151235");
        assert_eq!(number_text(-0.012_5), "-0.0125");
        assert_eq!(number_text(1.5e-7), "1.5e-7");
        assert_eq!(number_text(1e300), "1e300");
        assert_eq!(number_text(12_345_678_901_234.5), "12345678900000.0");
        // Ten digits are kept exactly: the text reads back as the rounded number.
        for v in [1.0 / 3.0, 2.0_f64.sqrt() * 1e6, -7.123_456_789_012e-3] {
            let t = number_text(v);
            let back: f64 = t.parse().unwrap();
            assert!((back - v).abs() <= 5e-10 * v.abs(), "{v} {t}");
            assert_eq!(round_significant(back, SIGNIFICANT_DIGITS), back);
        }
    }
}
