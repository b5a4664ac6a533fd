//! Exact, order-independent sums of `f64` values: a fixed-point long
//! accumulator (Kulisch style). Every finite double is an integer multiple of
//! 2^-1074, so the sum of any number of them is an integer multiple too; we keep
//! that integer in 32-bit digits stored in `i64` slots, which absorb 2^30
//! additions between carry propagations. The state after normalisation is a
//! unique representation of the exact sum, so adding values in any order or
//! merging partial sums gives bit-identical results.

// Numeric code: casts between integer counts and floats are deliberate (counts
// stay far below 2^53), exact float comparisons are intended (bit-exact
// results, bucket edges), and the formulas keep the papers' short names.
#![allow(
    clippy::cast_precision_loss,
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss,
    clippy::cast_possible_wrap,
    clippy::float_cmp,
    clippy::many_single_char_names,
    clippy::similar_names
)]

use std::cmp::Ordering;
use std::fmt::Write as _;

/// Number of 32-bit digits: 2^-1074 .. 2^1024 is 2098 bits, plus 64 bits of
/// headroom for 2^64 additions, plus a sign digit.
const DIGITS: usize = 70;
/// Additions between carry propagations; each digit gains less than 2^32 per
/// addition, so 2^30 of them stay far below `i64::MAX`.
const NORMALISE_EVERY: u32 = 1 << 30;
/// Exponent of the least significant bit of the fixed-point representation.
pub(crate) const LSB_EXPONENT: i32 = -1074;

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ExactSum {
    /// Inline, not a `Vec`: one indirection less on every addition.
    digits: [i64; DIGITS],
    pending: u32,
}

impl Default for ExactSum {
    fn default() -> Self {
        Self {
            digits: [0; DIGITS],
            pending: 0,
        }
    }
}

impl ExactSum {
    /// Adds a finite value exactly. Non-finite values must be filtered by the caller.
    pub(crate) fn add(&mut self, value: f64) {
        debug_assert!(value.is_finite());
        let bits = value.to_bits();
        let exponent = ((bits >> 52) & 0x7ff) as u32;
        let fraction = bits & ((1 << 52) - 1);
        let (mantissa, position) = if exponent == 0 {
            (fraction, 0)
        } else {
            (fraction | (1 << 52), exponent - 1)
        };
        if mantissa == 0 {
            return;
        }
        // position <= 2045, so index <= 63; the bound lets the compiler drop the checks.
        let index = ((position / 32) as usize).min(DIGITS - 3);
        let shifted = u128::from(mantissa) << (position % 32);
        let sign = if bits >> 63 == 1 { -1 } else { 1 };
        let slots = &mut self.digits[index..index + 3];
        slots[0] += sign * (shifted & 0xffff_ffff) as i64;
        slots[1] += sign * ((shifted >> 32) & 0xffff_ffff) as i64;
        slots[2] += sign * (shifted >> 64) as i64;
        self.pending += 1;
        if self.pending >= NORMALISE_EVERY {
            self.normalise();
        }
    }

    /// Propagates carries so every digit but the last is in `0..2^32`: the
    /// unique representation of the value.
    pub(crate) fn normalise(&mut self) {
        for i in 0..DIGITS - 1 {
            let carry = self.digits[i] >> 32;
            self.digits[i] -= carry << 32;
            self.digits[i + 1] += carry;
        }
        self.pending = 0;
    }

    pub(crate) fn merge(&mut self, other: &Self) {
        self.normalise();
        let mut other = other.clone();
        other.normalise();
        for (mine, theirs) in self.digits.iter_mut().zip(&other.digits) {
            *mine += theirs;
        }
        self.normalise();
    }

    /// Sign and magnitude (little-endian 32-bit digits) of the exact value.
    pub(crate) fn to_sign_magnitude(&self) -> (bool, BigUint) {
        let mut copy = self.clone();
        copy.normalise();
        let negative = copy.digits[DIGITS - 1] < 0;
        if negative {
            for digit in &mut copy.digits {
                *digit = -*digit;
            }
            copy.normalise();
        }
        let digits = copy
            .digits
            .iter()
            .map(|&d| u32::try_from(d).unwrap_or(0))
            .collect();
        (negative, BigUint::from_digits(digits))
    }

    /// The exact value rounded to the nearest `f64`.
    pub(crate) fn to_f64(&self) -> f64 {
        let (negative, magnitude) = self.to_sign_magnitude();
        let value = magnitude.to_f64_scaled(LSB_EXPONENT);
        if negative { -value } else { value }
    }

    /// `[-]hex` of the integer `sum * 2^1074`, the canonical serialised form.
    pub(crate) fn to_hex(&self) -> String {
        let (negative, magnitude) = self.to_sign_magnitude();
        let hex = magnitude.to_hex();
        if negative && hex != "0" {
            format!("-{hex}")
        } else {
            hex
        }
    }

    pub(crate) fn from_hex(text: &str) -> Option<Self> {
        let (negative, hex) = match text.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, text),
        };
        let magnitude = BigUint::from_hex(hex)?;
        if magnitude.digits.len() >= DIGITS {
            return None;
        }
        let mut sum = Self::default();
        for (slot, digit) in sum.digits.iter_mut().zip(&magnitude.digits) {
            let digit = i64::from(*digit);
            *slot = if negative { -digit } else { digit };
        }
        sum.normalise();
        Some(sum)
    }
}

/// A minimal arbitrary-precision unsigned integer (little-endian 32-bit digits),
/// enough for deriving the variance exactly from the exact sums.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct BigUint {
    digits: Vec<u32>,
}

impl BigUint {
    fn from_digits(mut digits: Vec<u32>) -> Self {
        while digits.last() == Some(&0) {
            digits.pop();
        }
        Self { digits }
    }

    pub(crate) fn is_zero(&self) -> bool {
        self.digits.is_empty()
    }

    pub(crate) fn mul_small(&self, factor: u64) -> Self {
        let (lo, hi) = ((factor & 0xffff_ffff) as u32, (factor >> 32) as u32);
        let a = self.mul(&Self::from_digits(vec![lo, hi]));
        Self::from_digits(a.digits)
    }

    pub(crate) fn mul(&self, other: &Self) -> Self {
        let mut out = vec![0u64; self.digits.len() + other.digits.len() + 1];
        for (i, &a) in self.digits.iter().enumerate() {
            let mut carry = 0u64;
            for (j, &b) in other.digits.iter().enumerate() {
                let t = out[i + j] + u64::from(a) * u64::from(b) + carry;
                out[i + j] = t & 0xffff_ffff;
                carry = t >> 32;
            }
            let mut k = i + other.digits.len();
            while carry != 0 {
                let t = out[k] + carry;
                out[k] = t & 0xffff_ffff;
                carry = t >> 32;
                k += 1;
            }
        }
        Self::from_digits(out.into_iter().map(|d| d as u32).collect())
    }

    pub(crate) fn shl(&self, bits: u32) -> Self {
        let words = (bits / 32) as usize;
        let shift = bits % 32;
        let mut out = vec![0u32; words];
        let mut carry = 0u32;
        for &d in &self.digits {
            if shift == 0 {
                out.push(d);
            } else {
                out.push((d << shift) | carry);
                carry = d >> (32 - shift);
            }
        }
        out.push(carry);
        Self::from_digits(out)
    }

    /// `self - other`, or zero when `other` is larger.
    pub(crate) fn saturating_sub(&self, other: &Self) -> Self {
        if self.cmp_magnitude(other) != Ordering::Greater {
            return Self::from_digits(Vec::new());
        }
        let mut out = Vec::with_capacity(self.digits.len());
        let mut borrow = 0i64;
        for (i, &a) in self.digits.iter().enumerate() {
            let b = i64::from(other.digits.get(i).copied().unwrap_or(0));
            let mut t = i64::from(a) - b - borrow;
            borrow = 0;
            if t < 0 {
                t += 1 << 32;
                borrow = 1;
            }
            out.push(t as u32);
        }
        Self::from_digits(out)
    }

    fn cmp_magnitude(&self, other: &Self) -> Ordering {
        self.digits
            .len()
            .cmp(&other.digits.len())
            .then_with(|| self.digits.iter().rev().cmp(other.digits.iter().rev()))
    }

    /// `self * 2^exponent` rounded to the nearest `f64`.
    pub(crate) fn to_f64_scaled(&self, exponent: i32) -> f64 {
        let Some(top) = self.digits.len().checked_sub(1) else {
            return 0.0;
        };
        // The top four digits (at least 97 significant bits) plus a sticky bit
        // for everything below round correctly in one `u128 -> f64` conversion.
        let low = top.saturating_sub(3);
        let mut head: u128 = 0;
        for i in (low..=top).rev() {
            head = (head << 32) | u128::from(self.digits[i]);
        }
        if self.digits[..low].iter().any(|&d| d != 0) {
            head |= 1;
        }
        let shift = i32::try_from(low * 32).unwrap_or(i32::MAX) + exponent;
        ldexp(head as f64, shift)
    }

    pub(crate) fn to_hex(&self) -> String {
        let mut text = String::new();
        for (i, d) in self.digits.iter().rev().enumerate() {
            let _ = if i == 0 {
                write!(text, "{d:x}")
            } else {
                write!(text, "{d:08x}")
            };
        }
        if text.is_empty() {
            text.push('0');
        }
        text
    }

    pub(crate) fn from_hex(text: &str) -> Option<Self> {
        if text.is_empty() || !text.bytes().all(|b| b.is_ascii_hexdigit()) {
            return None;
        }
        let bytes = text.as_bytes();
        let mut digits = Vec::new();
        let mut end = bytes.len();
        while end > 0 {
            let start = end.saturating_sub(8);
            let chunk = std::str::from_utf8(&bytes[start..end]).ok()?;
            digits.push(u32::from_str_radix(chunk, 16).ok()?);
            end = start;
        }
        Some(Self::from_digits(digits))
    }
}

/// `value * 2^exponent`, scaling in steps so intermediate results neither
/// overflow nor underflow early.
pub(crate) fn ldexp(mut value: f64, mut exponent: i32) -> f64 {
    const STEP: i32 = 1000;
    let up = f64::from_bits(((1023 + STEP) as u64) << 52);
    let down = f64::from_bits(((1023 - STEP) as u64) << 52);
    while exponent > STEP {
        value *= up;
        exponent -= STEP;
    }
    while exponent < -STEP {
        value *= down;
        exponent += STEP;
    }
    if value == 0.0 || value.is_infinite() {
        return value;
    }
    // 2^exponent for exponent in [-1000, 1000] is a normal double.
    value * f64::from_bits(((1023 + exponent) as u64) << 52)
}

/// `x * x` as an exact sum `hi + lo` (Dekker's product, no FMA needed); `None`
/// when the square overflows.
pub(crate) fn exact_square(x: f64) -> Option<(f64, f64)> {
    let hi = x * x;
    if !hi.is_finite() {
        return None;
    }
    let split = 134_217_729.0 * x; // 2^27 + 1
    let xh = split - (split - x);
    let xl = x - xh;
    let lo = ((xh * xh - hi) + 2.0 * xh * xl) + xl * xl;
    Some((hi, lo))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sums_are_exact_and_order_independent() {
        let values = [1e300, 1.0, -1e300, 1e-300, 3.5, -0.25, 5e-324, 1e16, 1.0];
        let mut forward = ExactSum::default();
        for &v in &values {
            forward.add(v);
        }
        let mut backward = ExactSum::default();
        for &v in values.iter().rev() {
            backward.add(v);
        }
        forward.normalise();
        backward.normalise();
        assert_eq!(forward, backward);
        // 1 + 3.5 - 0.25 + 1e16 + 1 + tiny: exact sum rounds to 1e16 + 5.25 -> 1e16+6 (ulp 2)
        assert_eq!(forward.to_f64(), 1e16 + 6.0);
        let round_trip = ExactSum::from_hex(&forward.to_hex()).unwrap();
        assert_eq!(round_trip, forward);
    }

    #[test]
    fn negative_sums_round_trip() {
        let mut sum = ExactSum::default();
        sum.add(-2.5);
        sum.add(0.125);
        assert_eq!(sum.to_f64(), -2.375);
        assert!(sum.to_hex().starts_with('-'));
        assert_eq!(ExactSum::from_hex(&sum.to_hex()).unwrap().to_f64(), -2.375);
    }

    #[test]
    fn squares_are_exact() {
        let x = 1.000_000_1_f64;
        let (hi, lo) = exact_square(x).unwrap();
        assert_eq!(hi, x * x);
        assert_eq!(lo, x.mul_add(x, -hi));
        assert!(exact_square(1e200).is_none());
    }
}
