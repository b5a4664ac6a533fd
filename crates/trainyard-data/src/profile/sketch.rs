//! Order-independent quantile sketch and distinct-count estimator.

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

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

/// Bits of the `f64` representation dropped to form a bucket key: keeping the
/// sign-less exponent and the top 7 mantissa bits gives 128 buckets per octave,
/// each at most 2^-7 wide relative to its lower bound. The key is computed from
/// the bits alone (no logarithm), so it is the same on every machine.
const DROPPED_BITS: u32 = 45;

/// Relative accuracy of [`QuantileSketch::quantile`]: the returned value is
/// within this fraction of the true value of the requested rank.
pub const QUANTILE_RELATIVE_ERROR: f64 = 1.0 / 256.0;

/// A fast, deterministic hasher for in-memory maps (FxHash's multiply-rotate).
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct FxHasher(u64);

impl Hasher for FxHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for chunk in bytes.chunks(8) {
            let mut word = [0u8; 8];
            word[..chunk.len()].copy_from_slice(chunk);
            self.write_u64(u64::from_le_bytes(word));
        }
    }
    fn write_u64(&mut self, value: u64) {
        self.0 = (self.0.rotate_left(5) ^ value).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }
    fn write_u32(&mut self, value: u32) {
        self.write_u64(u64::from(value));
    }
    fn write_usize(&mut self, value: usize) {
        self.write_u64(value as u64);
    }
}

pub(crate) type FxBuild = BuildHasherDefault<FxHasher>;
pub(crate) type FxMap<K, V> = HashMap<K, V, FxBuild>;

/// A log-linear histogram in the spirit of DDSketch: every value lands in a
/// bucket determined by its bits, so the state is a multiset of bucket counts
/// and merging is addition, independent of order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct QuantileSketch {
    pub(crate) zeros: u64,
    pub(crate) positive: FxMap<u32, u64>,
    pub(crate) negative: FxMap<u32, u64>,
}

impl QuantileSketch {
    pub(crate) fn add(&mut self, value: f64) {
        if value == 0.0 {
            self.zeros += 1;
            return;
        }
        let key = bucket_key(value);
        let store = if value < 0.0 {
            &mut self.negative
        } else {
            &mut self.positive
        };
        *store.entry(key).or_insert(0) += 1;
    }

    pub(crate) fn merge(&mut self, other: &Self) {
        self.zeros += other.zeros;
        for (key, count) in &other.positive {
            *self.positive.entry(*key).or_insert(0) += count;
        }
        for (key, count) in &other.negative {
            *self.negative.entry(*key).or_insert(0) += count;
        }
    }

    pub fn count(&self) -> u64 {
        self.zeros + self.positive.values().sum::<u64>() + self.negative.values().sum::<u64>()
    }

    /// The buckets in ascending order of value: (representative value, count).
    pub fn buckets(&self) -> Vec<(f64, u64)> {
        let mut negative: Vec<(u32, u64)> = self.negative.iter().map(|(k, c)| (*k, *c)).collect();
        negative.sort_unstable_by_key(|pair| std::cmp::Reverse(pair.0));
        let mut positive: Vec<(u32, u64)> = self.positive.iter().map(|(k, c)| (*k, *c)).collect();
        positive.sort_unstable();
        let mut out = Vec::with_capacity(negative.len() + positive.len() + 1);
        out.extend(negative.into_iter().map(|(k, c)| (-representative(k), c)));
        if self.zeros > 0 {
            out.push((0.0, self.zeros));
        }
        out.extend(positive.into_iter().map(|(k, c)| (representative(k), c)));
        out
    }

    /// The value at rank `q * (n - 1)` (0 <= q <= 1), within
    /// [`QUANTILE_RELATIVE_ERROR`] of the exact one; `None` when empty.
    pub fn quantile(&self, q: f64) -> Option<f64> {
        let total = self.count();
        if total == 0 {
            return None;
        }
        #[allow(clippy::cast_precision_loss)]
        let rank = q.clamp(0.0, 1.0) * (total - 1) as f64;
        let mut seen = 0u64;
        let buckets = self.buckets();
        for (value, count) in &buckets {
            seen += count;
            #[allow(clippy::cast_precision_loss)]
            if seen as f64 > rank {
                return Some(*value);
            }
        }
        buckets.last().map(|b| b.0)
    }

    pub(crate) fn sorted_pairs(map: &FxMap<u32, u64>) -> Vec<(u32, u64)> {
        let mut pairs: Vec<(u32, u64)> = map.iter().map(|(k, c)| (*k, *c)).collect();
        pairs.sort_unstable();
        pairs
    }
}

fn bucket_key(value: f64) -> u32 {
    ((value.abs().to_bits()) >> DROPPED_BITS) as u32
}

/// The middle of a bucket's range of absolute values.
fn representative(key: u32) -> f64 {
    let low = f64::from_bits(u64::from(key) << DROPPED_BITS);
    let high = f64::from_bits(u64::from(key + 1) << DROPPED_BITS);
    if high.is_finite() {
        low + (high - low) / 2.0
    } else {
        low
    }
}

/// HyperLogLog with 2^12 one-byte registers: standard error 1.04 / 64 = 1.6%.
/// Registers merge by maximum, so the state is order-independent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HyperLogLog {
    pub(crate) registers: Vec<u8>,
}

pub(crate) const HLL_PRECISION: u32 = 12;
const HLL_REGISTERS: usize = 1 << HLL_PRECISION;

impl Default for HyperLogLog {
    fn default() -> Self {
        Self {
            registers: vec![0; HLL_REGISTERS],
        }
    }
}

impl HyperLogLog {
    pub(crate) fn add_hash(&mut self, hash: u64) {
        let index = (hash >> (64 - HLL_PRECISION)) as usize;
        let rest = (hash << HLL_PRECISION) | (1 << (HLL_PRECISION - 1));
        let rho = rest.leading_zeros() as u8 + 1;
        if self.registers[index] < rho {
            self.registers[index] = rho;
        }
    }

    pub(crate) fn merge(&mut self, other: &Self) {
        for (mine, theirs) in self.registers.iter_mut().zip(&other.registers) {
            *mine = (*mine).max(*theirs);
        }
    }

    #[allow(clippy::cast_precision_loss)]
    pub fn estimate(&self) -> f64 {
        let m = HLL_REGISTERS as f64;
        let alpha = 0.7213 / (1.0 + 1.079 / m);
        let mut sum = 0.0;
        let mut zeros = 0usize;
        for &r in &self.registers {
            sum += 1.0 / f64::from(1u32 << r.min(31));
            if r == 0 {
                zeros += 1;
            }
        }
        let raw = alpha * m * m / sum;
        if raw <= 2.5 * m && zeros > 0 {
            m * (m / zeros as f64).ln()
        } else {
            raw
        }
    }

    pub(crate) fn to_hex(&self) -> String {
        self.registers
            .iter()
            .fold(String::with_capacity(HLL_REGISTERS * 2), |mut s, r| {
                s.push(char::from_digit(u32::from(r >> 4), 16).unwrap_or('0'));
                s.push(char::from_digit(u32::from(r & 15), 16).unwrap_or('0'));
                s
            })
    }

    pub(crate) fn from_hex(text: &str) -> Option<Self> {
        if text.len() != HLL_REGISTERS * 2 {
            return None;
        }
        let registers = text
            .as_bytes()
            .chunks(2)
            .map(|pair| u8::from_str_radix(std::str::from_utf8(pair).ok()?, 16).ok())
            .collect::<Option<Vec<u8>>>()?;
        Some(Self { registers })
    }
}

/// A 64-bit hash with good avalanche (wyhash-style multiply-fold), defined
/// here so it is the same on every platform and in every release.
pub(crate) fn hash_bytes(seed: u64, bytes: &[u8]) -> u64 {
    const P0: u64 = 0xa076_1d64_78bd_642f;
    const P1: u64 = 0xe703_7ed1_a0b4_28db;
    let mut h = seed ^ P0;
    let mut chunks = bytes.chunks_exact(8);
    for chunk in &mut chunks {
        let mut word = [0u8; 8];
        word.copy_from_slice(chunk);
        h = fold(h ^ u64::from_le_bytes(word), P1);
    }
    let mut tail = [0u8; 8];
    tail[..chunks.remainder().len()].copy_from_slice(chunks.remainder());
    h = fold(h ^ u64::from_le_bytes(tail), P1 ^ bytes.len() as u64);
    fold(h, P0)
}

pub(crate) fn hash_u64(seed: u64, value: u64) -> u64 {
    const P0: u64 = 0xa076_1d64_78bd_642f;
    const P1: u64 = 0xe703_7ed1_a0b4_28db;
    fold(fold(seed ^ P0 ^ value, P1), P0)
}

fn fold(a: u64, b: u64) -> u64 {
    let product = u128::from(a) * u128::from(b);
    (product as u64) ^ ((product >> 64) as u64)
}
