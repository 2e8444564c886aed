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
    let mut out = Vec::with_capacity(24);
    push_number(&mut out, v);
    // Only ASCII digits, signs, `.` and `e` (or `NaN`/`inf`) are ever pushed.
    String::from_utf8(out).unwrap_or_default()
}

/// [`number_text`] as it is defined: round through a decimal with [`SIGNIFICANT_DIGITS`]
/// digits, parse back, and print the result's shortest form. [`push_number`] writes the
/// same text without the round trip; this is its fallback and its reference in tests.
fn number_text_reference(v: f64) -> String {
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

/// Appends `v` to `out` exactly as [`number_text`] writes it, with no allocation.
///
/// Why the shortcut gives the same text: let `D` be the shortest decimal that reads back as
/// `v` (what ryu prints). `D` lies within half a unit in the last place of `v`'s exact
/// value `x` (about `1.1e-16` relative), while decimals of ten significant digits lie at
/// least `1e-10` relative apart. So rounding `D` to ten digits gives the rounding of `x`
/// (what `{:.9e}` computes), unless a rounding midpoint lies between `D` and `x`; any such
/// midpoint, an 11-digit decimal in `v`'s rounding interval, must be `D` itself, so that case
/// (11 digits ending in 5) takes the reference path. The rounded decimal `R` reads back as a
/// double `r` whose shortest form is `R` again (no other decimal of ten digits or fewer lies
/// within `r`'s interval), and `r` is in `[1e-5, 1e16)` exactly when `R` is. Numbers far
/// from 1 (subnormal, or beyond `1e300`) and non-finite ones take the reference path.
pub(crate) fn push_number(out: &mut Vec<u8>, v: f64) {
    if v == 0.0 {
        out.extend_from_slice(b"0.0");
        return;
    }
    let a = v.abs();
    let slow = |out: &mut Vec<u8>| out.extend_from_slice(number_text_reference(v).as_bytes());
    if !(1e-300..=1e300).contains(&a) {
        return slow(out);
    }
    let mut buffer = ryu::Buffer::new();
    let Some((mut digits, mut n, mut exp)) = decimal(buffer.format_finite(a).as_bytes()) else {
        return slow(out);
    };
    if n > SIGNIFICANT_DIGITS {
        if n == SIGNIFICANT_DIGITS + 1 && digits[SIGNIFICANT_DIGITS] == b'5' {
            // A midpoint: the exact binary value decides.
            return slow(out);
        }
        let up = digits[SIGNIFICANT_DIGITS] >= b'5';
        n = SIGNIFICANT_DIGITS;
        if up {
            let mut k = n;
            loop {
                if k == 0 {
                    // 9.99...9 rounded up: 1 followed by zeros, one decade higher.
                    digits[0] = b'1';
                    for d in &mut digits[1..n] {
                        *d = b'0';
                    }
                    exp += 1;
                    break;
                }
                k -= 1;
                if digits[k] == b'9' {
                    digits[k] = b'0';
                } else {
                    digits[k] += 1;
                    break;
                }
            }
        }
    }
    while n > 1 && digits[n - 1] == b'0' {
        n -= 1;
    }
    let digits = &digits[..n];
    if v < 0.0 {
        out.push(b'-');
    }
    if (-5..=15).contains(&exp) {
        if exp >= 0 {
            let int_len = exp as usize + 1;
            if n <= int_len {
                out.extend_from_slice(digits);
                out.extend(std::iter::repeat_n(b'0', int_len - n));
                out.extend_from_slice(b".0");
            } else {
                out.extend_from_slice(&digits[..int_len]);
                out.push(b'.');
                out.extend_from_slice(&digits[int_len..]);
            }
        } else {
            out.extend_from_slice(b"0.");
            out.extend(std::iter::repeat_n(b'0', (-exp - 1) as usize));
            out.extend_from_slice(digits);
        }
    } else {
        out.push(digits[0]);
        if n > 1 {
            out.push(b'.');
            out.extend_from_slice(&digits[1..]);
        }
        out.push(b'e');
        let mut b = itoa_buffer(exp);
        out.extend_from_slice(b.text());
    }
}

/// The significant digits of a positive decimal as ryu writes it (`123.45`, `0.00012`,
/// `1.5e-7`, `1e300`): the digits without leading or trailing zeros, how many, and the
/// exponent of the first (`1.2345` times ten to it).
fn decimal(text: &[u8]) -> Option<([u8; 24], usize, i32)> {
    let (mantissa, exp) = match text.iter().position(|&b| b == b'e') {
        Some(at) => (
            &text[..at],
            std::str::from_utf8(&text[at + 1..])
                .ok()?
                .parse::<i32>()
                .ok()?,
        ),
        None => (text, 0),
    };
    let point = mantissa
        .iter()
        .position(|&b| b == b'.')
        .unwrap_or(mantissa.len());
    let mut exp = exp + point as i32 - 1;
    let mut digits = [0u8; 24];
    let mut n = 0;
    for &b in mantissa {
        if b == b'.' {
            continue;
        }
        if !b.is_ascii_digit() {
            return None;
        }
        if n == 0 && b == b'0' {
            exp -= 1;
            continue;
        }
        if n == digits.len() {
            return None;
        }
        digits[n] = b;
        n += 1;
    }
    while n > 0 && digits[n - 1] == b'0' {
        n -= 1;
    }
    (n > 0).then_some((digits, n, exp))
}

/// A small integer's decimal text, without `fmt`.
struct Itoa {
    bytes: [u8; 12],
    start: usize,
}

impl Itoa {
    fn text(&mut self) -> &[u8] {
        &self.bytes[self.start..]
    }
}

fn itoa_buffer(v: i32) -> Itoa {
    let mut b = Itoa {
        bytes: [0; 12],
        start: 12,
    };
    let mut u = v.unsigned_abs();
    loop {
        b.start -= 1;
        b.bytes[b.start] = b'0' + (u % 10) as u8;
        u /= 10;
        if u == 0 {
            break;
        }
    }
    if v < 0 {
        b.start -= 1;
        b.bytes[b.start] = b'-';
    }
    b
}

/// Appends an integer's decimal text (a year) to `out`.
pub(crate) fn push_int(out: &mut Vec<u8>, v: i32) {
    out.extend_from_slice(itoa_buffer(v).text());
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

    /// The shortcut of [`push_number`] against the definition, on numbers of every kind:
    /// random bit patterns, numbers near ten-digit decimals and their midpoints (ties),
    /// decades at the edges of the plain form, and carries (`9.9999999995`).
    #[test]
    fn the_fast_text_is_the_defined_text() {
        let mut state = 0x9E37_79B9_7F4A_7C15_u64;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        let mut values = vec![
            1e-5,
            9.999_999_999_5e-6,
            9.999_999_999_4e-6,
            1e16,
            9_999_999_999_999_998.0,
            9.999_999_999_5e15,
            12_345_678_905.0,
            12_345_678_915.0,
            0.5,
            2.5e-300,
            1e301,
            5e-324,
            f64::MAX,
            f64::MIN_POSITIVE,
            123_456_789.0,
            1.0,
            -1.0,
            0.1,
        ];
        for _ in 0..200_000 {
            let bits = next();
            let v = f64::from_bits(bits);
            if v.is_finite() {
                values.push(v);
            }
            // A number of magnitude 1e-8 to 1e18, with 8 to 17 digits.
            let mantissa = (next() % 100_000_000_000_000_000) as f64;
            let scale = 10f64.powi((next() % 40) as i32 - 25);
            values.push(mantissa * scale);
            // Midpoints between ten-digit decimals, and their neighbours.
            let mid: f64 = format!("{}5e{}", next() % 10_000_000_000, (next() % 60) as i32 - 30)
                .parse()
                .unwrap();
            values.extend([mid, f64::from_bits(mid.to_bits() + 1), -mid]);
        }
        for v in values {
            let mut fast = Vec::new();
            push_number(&mut fast, v);
            assert_eq!(
                String::from_utf8(fast).unwrap(),
                number_text_reference(v),
                "{v:e}"
            );
        }
        for y in [0, 7, -3, 2024, i32::MIN, i32::MAX] {
            let mut t = Vec::new();
            push_int(&mut t, y);
            assert_eq!(String::from_utf8(t).unwrap(), y.to_string());
        }
    }
}
