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
    /// Adds a finite value exactly, digit by digit (the reference the faster
    /// sums are tested against). Non-finite values must be filtered by the caller.
    #[cfg(test)]
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

    /// Adds `magnitude * 2^position` in units of 2^-1074 (negated when
    /// `negative`); `position + 128` must stay below the headroom (2175).
    pub(crate) fn add_shifted(&mut self, magnitude: u128, position: u32, negative: bool) {
        debug_assert!(position / 32 <= (DIGITS - 6) as u32);
        let index = ((position / 32) as usize).min(DIGITS - 6);
        let shift = position % 32;
        // Two halves of 64 bits, each shifted into 96 bits: every digit gets
        // less than 2^32 per piece, two pieces for the third one.
        let low = (magnitude & u128::from(u64::MAX)) << shift;
        let high = (magnitude >> 64) << shift;
        let sign = if negative { -1 } else { 1 };
        let slots = &mut self.digits[index..index + 6];
        slots[0] += sign * (low & 0xffff_ffff) as i64;
        slots[1] += sign * ((low >> 32) & 0xffff_ffff) as i64;
        slots[2] += sign * (low >> 64) as i64 + sign * (high & 0xffff_ffff) as i64;
        slots[3] += sign * ((high >> 32) & 0xffff_ffff) as i64;
        slots[4] += sign * (high >> 64) as i64;
        self.pending += 2;
        if self.pending >= NORMALISE_EVERY {
            self.normalise();
        }
    }

    /// Adds `value * count` exactly (a finite value).
    pub(crate) fn add_times(&mut self, value: f64, count: u64) {
        let (mantissa, position) = split(value.to_bits());
        self.add_shifted(
            u128::from(mantissa) * u128::from(count),
            position,
            value.is_sign_negative(),
        );
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

const FRACTION: u64 = (1 << 52) - 1;

/// The integer mantissa of a double and the position of its lowest bit in
/// units of 2^-1074 (the double is `mantissa * 2^(position - 1074)`).
#[inline]
fn split(bits: u64) -> (u64, u32) {
    let exponent = ((bits >> 52) & 0x7ff) as u32;
    let normal = u32::from(exponent != 0);
    (
        (bits & FRACTION) | (u64::from(normal) << 52),
        exponent - normal,
    )
}

/// Biased exponents (the 11 bits of a double) are 0..2048.
const EXPONENTS: usize = 1 << 11;

/// The exact sum of doubles, cheap to add to: per sign and biased exponent,
/// the sum of the integer mantissas in a `u64` (each is below 2^53, so a slot
/// wraps at most once per 2^11 additions; the wrap's 2^64 goes to the
/// fixed-point sum at once), turned into the fixed-point [`ExactSum`] only when
/// read. One 64-bit add per value, not a 128-bit signed one (an `add` and an
/// `adc` to memory, the profile's hottest instructions): the result is the same
/// exact sum as adding every value to an `ExactSum`.
#[derive(Debug, Clone, Default)]
pub(crate) struct ValueSum {
    settled: ExactSum,
    /// Empty until the first [`Self::add`], then one slot per sign and biased
    /// exponent (the top 12 bits of a double).
    by_exponent: Vec<u64>,
}

/// Sign and biased exponent: the top 12 bits of a double.
const SIGNED_EXPONENTS: usize = 2 * EXPONENTS;

impl ValueSum {
    #[inline]
    pub(crate) fn add(&mut self, value: f64) {
        let bits = value.to_bits();
        let (mantissa, position) = split(bits);
        if self.by_exponent.is_empty() {
            self.by_exponent = vec![0; SIGNED_EXPONENTS];
        }
        let slot = &mut self.by_exponent[((bits >> 52) as usize) % SIGNED_EXPONENTS];
        let (sum, wrapped) = slot.overflowing_add(mantissa);
        *slot = sum;
        if wrapped {
            self.settled
                .add_shifted(1 << 64, position, (bits as i64) < 0);
        }
    }

    /// Adds `value * count` exactly.
    pub(crate) fn add_times(&mut self, value: f64, count: u64) {
        self.settled.add_times(value, count);
    }

    /// The exact sum, normalised.
    pub(crate) fn to_exact(&self) -> ExactSum {
        let mut exact = self.settled.clone();
        for (head, &sum) in self.by_exponent.iter().enumerate() {
            if sum != 0 {
                let (_, position) = split((head as u64 % EXPONENTS as u64) << 52);
                exact.add_shifted(u128::from(sum), position, head >= EXPONENTS);
            }
        }
        exact.normalise();
        exact
    }

    pub(crate) fn merge(&mut self, other: &Self) {
        self.settled = self.to_exact();
        self.by_exponent.fill(0);
        self.settled.merge(&other.to_exact());
    }

    pub(crate) fn from_exact(settled: ExactSum) -> Self {
        Self {
            settled,
            by_exponent: Vec::new(),
        }
    }
}

impl PartialEq for ValueSum {
    fn eq(&self, other: &Self) -> bool {
        self.to_exact() == other.to_exact()
    }
}

/// Exponents whose squares take the fast path of [`SquareSum`]: from 2^-423
/// (the square and the low part of Dekker's product stay far above the
/// subnormals) to below 2^477 (the square stays finite).
const FAST_SQUARES: std::ops::Range<usize> = 600..1500;

/// The exact sum of the squares of doubles, as the old path computed it:
/// each square split exactly in two doubles ([`exact_square`]) and both added;
/// a square that overflows is left out and flagged. For the usual range of
/// values the square is exact, so it is kept as the integer `mantissa^2`
/// (below 2^106) summed per exponent in a `u128`; a wrap-around adds its carry
/// (2^128 at that position) to the fixed-point sum at once.
#[derive(Debug, Clone, Default)]
pub(crate) struct SquareSum {
    settled: ExactSum,
    /// Empty until the first fast-path square, then one slot per exponent of
    /// [`FAST_SQUARES`].
    by_exponent: Vec<u128>,
    overflow: bool,
}

/// Position of the lowest bit of `mantissa^2` for a double of this biased
/// exponent: `(m * 2^(e - 1075))^2 = m^2 * 2^(2e - 2150)`, in units of 2^-1074.
fn square_position(exponent: usize) -> u32 {
    (2 * exponent - 1076) as u32
}

impl SquareSum {
    #[inline]
    pub(crate) fn add_square(&mut self, value: f64) {
        let bits = value.to_bits();
        let exponent = ((bits >> 52) & 0x7ff) as usize;
        if FAST_SQUARES.contains(&exponent) {
            let mantissa = u128::from((bits & FRACTION) | (1 << 52));
            if self.by_exponent.is_empty() {
                self.by_exponent = vec![0; FAST_SQUARES.len()];
            }
            let slot = &mut self.by_exponent[(exponent - FAST_SQUARES.start) % FAST_SQUARES.len()];
            let (sum, carried) = slot.overflowing_add(mantissa * mantissa);
            *slot = sum;
            if carried {
                self.settled
                    .add_shifted(1, square_position(exponent) + 128, false);
            }
        } else {
            self.add_square_times(value, 1);
        }
    }

    /// Adds `count` copies of `value`'s square, exactly as `count` calls of
    /// [`Self::add_square`] would.
    pub(crate) fn add_square_times(&mut self, value: f64, count: u64) {
        match exact_square(value) {
            Some((hi, lo)) => {
                self.settled.add_times(hi, count);
                self.settled.add_times(lo, count);
            }
            None => self.overflow = true,
        }
    }

    pub(crate) fn overflow(&self) -> bool {
        self.overflow
    }

    /// The exact sum of the squares added (overflowed ones left out), normalised.
    pub(crate) fn to_exact(&self) -> ExactSum {
        let mut exact = self.settled.clone();
        for (index, &sum) in self.by_exponent.iter().enumerate() {
            if sum != 0 {
                exact.add_shifted(sum, square_position(index + FAST_SQUARES.start), false);
            }
        }
        exact.normalise();
        exact
    }

    pub(crate) fn merge(&mut self, other: &Self) {
        self.settled = self.to_exact();
        self.by_exponent.fill(0);
        self.settled.merge(&other.to_exact());
        self.overflow |= other.overflow;
    }

    pub(crate) fn from_exact(settled: ExactSum, overflow: bool) -> Self {
        Self {
            settled,
            by_exponent: Vec::new(),
            overflow,
        }
    }
}

impl PartialEq for SquareSum {
    fn eq(&self, other: &Self) -> bool {
        self.overflow == other.overflow && self.to_exact() == other.to_exact()
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

#[cfg(test)]
mod superaccumulator_tests {
    use super::*;

    use crate::profile::TestRng as Rng;

    /// Finite doubles of every kind: any exponent (subnormals, the edges of
    /// the fast square range, near overflow), both signs, zeros, full mantissas.
    fn tricky_values(n: usize, seed: u64) -> Vec<f64> {
        let mut rng = Rng(seed);
        let edges = [
            0, 1, 2, 598, 599, 600, 601, 1023, 1498, 1499, 1500, 1501, 2046,
        ];
        (0..n)
            .map(|i| {
                let r = rng.next();
                let exponent = match i % 4 {
                    0 => edges[(r % edges.len() as u64) as usize],
                    1 => r % 2047,
                    _ => 1000 + r % 60,
                };
                let mantissa = match i % 3 {
                    0 => (1 << 52) - 1,
                    _ => rng.next() & ((1 << 52) - 1),
                };
                let sign = rng.next() & (1 << 63);
                let value = f64::from_bits(sign | (exponent << 52) | mantissa);
                if i % 17 == 0 { 0.0 } else { value }
            })
            .collect()
    }

    fn reference(values: &[f64]) -> (ExactSum, ExactSum, bool) {
        let mut sum = ExactSum::default();
        let mut squares = ExactSum::default();
        let mut overflow = false;
        for &v in values {
            sum.add(v);
            match exact_square(v) {
                Some((hi, lo)) => {
                    squares.add(hi);
                    squares.add(lo);
                }
                None => overflow = true,
            }
        }
        sum.normalise();
        squares.normalise();
        (sum, squares, overflow)
    }

    #[test]
    fn per_exponent_sums_equal_the_digit_by_digit_sums_in_any_chunking() {
        let values = tricky_values(20_000, 5);
        let (sum, squares, overflow) = reference(&values);
        let mut rng = Rng(11);
        for _ in 0..4 {
            // Random chunks, each summed on its own, merged in a random order.
            let mut order: Vec<usize> = (0..values.len()).collect();
            for i in (1..order.len()).rev() {
                order.swap(i, (rng.next() % (i as u64 + 1)) as usize);
            }
            let mut chunks: Vec<(ValueSum, SquareSum)> = Vec::new();
            let mut at = 0;
            while at < order.len() {
                let len = 1 + (rng.next() % 3000) as usize;
                let mut chunk = (ValueSum::default(), SquareSum::default());
                for &i in &order[at..(at + len).min(order.len())] {
                    chunk.0.add(values[i]);
                    chunk.1.add_square(values[i]);
                }
                chunks.push(chunk);
                at += len;
            }
            let (mut total_sum, mut total_squares) = chunks.pop().unwrap_or_default();
            for (s, q) in &chunks {
                total_sum.merge(s);
                total_squares.merge(q);
            }
            assert_eq!(total_sum.to_exact(), sum);
            assert_eq!(total_squares.to_exact(), squares);
            assert_eq!(total_squares.overflow(), overflow);
        }
    }

    #[test]
    fn counted_values_add_as_their_repetitions() {
        let values = tricky_values(300, 8);
        let mut rng = Rng(3);
        let mut repeated = Vec::new();
        let mut times = (ValueSum::default(), SquareSum::default());
        for &v in &values {
            let count = 1 + rng.next() % 40;
            times.0.add_times(v, count);
            times.1.add_square_times(v, count);
            repeated.extend(std::iter::repeat_n(v, count as usize));
        }
        let (sum, squares, overflow) = reference(&repeated);
        assert_eq!(times.0.to_exact(), sum);
        assert_eq!(times.1.to_exact(), squares);
        assert_eq!(times.1.overflow(), overflow);
    }

    #[test]
    fn a_value_slot_that_wraps_keeps_its_carry() {
        // Mantissas just below 2^53: 2^11 of them wrap a u64 slot; both signs,
        // a subnormal and the largest exponent, mixed with small values.
        for exponent in [0u64, 1, 1023, 1030, 2046] {
            let big = f64::from_bits((exponent << 52) | ((1 << 52) - 1));
            let small = f64::from_bits((exponent << 52) | 1);
            let values: Vec<f64> = (0..20_000u32)
                .map(|i| match i % 7 {
                    0 => small,
                    1 | 4 => -big,
                    _ => big,
                })
                .collect();
            let mut fast = ValueSum::default();
            for &v in &values {
                fast.add(v);
            }
            let (sum, _, _) = reference(&values);
            assert_eq!(fast.to_exact(), sum, "exponent {exponent}");
        }
    }

    #[test]
    fn a_square_bucket_that_wraps_keeps_its_carry() {
        // The largest mantissa squared is just below 2^106: 2^22 of them wrap
        // a u128 slot at least once.
        let value = f64::from_bits((1030 << 52) | ((1 << 52) - 1));
        let count = (1u64 << 22) + 5;
        let mut fast = SquareSum::default();
        for _ in 0..count {
            fast.add_square(value);
        }
        let mut slow = SquareSum::default();
        slow.add_square_times(value, count);
        assert_eq!(fast.to_exact(), slow.to_exact());
        let (hi, lo) = exact_square(value).unwrap();
        let mut reference = ExactSum::default();
        reference.add_times(hi, count);
        reference.add_times(lo, count);
        reference.normalise();
        assert_eq!(fast.to_exact(), reference);
    }
}
