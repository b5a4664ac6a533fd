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

/// A fast, deterministic hasher for in-memory maps: each 64-bit word is folded
/// in with a full 64x64->128 multiply (both halves xored), so entropy in the high
/// bits of a key (the exponent and leading mantissa bits of a double, the last
/// bytes of a short text) reaches the low bits the table indexes by. FxHash's
/// plain multiply did not: `0.0, 1.0, 2.0, ...` all landed in one bucket.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct MixHasher(u64);

const MIX: u64 = 0x9e37_79b9_7f4a_7c15;

impl Hasher for MixHasher {
    #[inline]
    fn finish(&self) -> u64 {
        self.0
    }
    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for chunk in &mut chunks {
            let mut word = [0u8; 8];
            word.copy_from_slice(chunk);
            self.write_u64(u64::from_le_bytes(word));
        }
        let mut tail = [0u8; 8];
        tail[..chunks.remainder().len()].copy_from_slice(chunks.remainder());
        self.write_u64(u64::from_le_bytes(tail) ^ ((bytes.len() as u64) << 56));
    }
    #[inline]
    fn write_u8(&mut self, value: u8) {
        self.write_u64(u64::from(value));
    }
    #[inline]
    fn write_u64(&mut self, value: u64) {
        self.0 = fold(self.0 ^ value, MIX);
    }
    #[inline]
    fn write_u128(&mut self, value: u128) {
        self.write_u64(value as u64);
        self.write_u64((value >> 64) as u64);
    }
    #[inline]
    fn write_u32(&mut self, value: u32) {
        self.write_u64(u64::from(value));
    }
    #[inline]
    fn write_usize(&mut self, value: usize) {
        self.write_u64(value as u64);
    }
}

pub(crate) type MixBuild = BuildHasherDefault<MixHasher>;
pub(crate) type MixMap<K, V> = HashMap<K, V, MixBuild>;

/// Counters per binade: the top 7 mantissa bits pick one.
const SUBBUCKETS: usize = 1 << (52 - DROPPED_BITS);
/// Sign and exponent: the top 12 bits of a double.
const HEADS: usize = 1 << 12;

/// The 128 bucket counters of one sign and binary exponent.
#[derive(Debug, Clone)]
struct Binade {
    head: u16,
    counts: [u64; SUBBUCKETS],
}

/// A log-linear histogram in the spirit of DDSketch: every value lands in a
/// bucket determined by its bits, so the state is a multiset of bucket counts
/// and merging is addition, independent of order.
///
/// The counters are dense per binade (allocated the first time a value of that
/// sign and exponent is seen): a value's bucket is found by two array lookups,
/// not a hash map probe. The buckets are the same as keying a map by
/// `|value|.to_bits() >> 45` (that key is what the saved profile holds).
///
/// Values are not counted one by one as they come: their bucket keys wait in a
/// short buffer and are counted [`PENDING`] at a time. Counting a random
/// bucket misses the cache; in a tight loop many such misses overlap, between
/// the parsing and checking of other cells they did not. Every read counts the
/// waiting keys first ([`Self::settled`]).
#[derive(Debug, Clone, Default)]
pub struct QuantileSketch {
    zeros: u64,
    /// By sign and exponent (`bits >> 52`): 1 + the index in `binades`, 0 for none yet.
    slots: Vec<u16>,
    binades: Vec<Binade>,
    /// Keys (`bits >> 45`, sign included) of values added but not counted yet.
    pending: Vec<u32>,
}

/// Keys that wait before they are counted.
const PENDING: usize = 256;

impl PartialEq for QuantileSketch {
    fn eq(&self, other: &Self) -> bool {
        self.zeros() == other.zeros()
            && self.positive_pairs() == other.positive_pairs()
            && self.negative_pairs() == other.negative_pairs()
    }
}

impl Eq for QuantileSketch {}

impl QuantileSketch {
    #[inline]
    pub(crate) fn add(&mut self, value: f64) {
        if value == 0.0 {
            self.zeros += 1;
            return;
        }
        if self.pending.len() >= PENDING {
            self.count_pending();
        }
        self.pending.push((value.to_bits() >> DROPPED_BITS) as u32);
    }

    /// Counts the keys waiting in `pending`.
    fn count_pending(&mut self) {
        let mut pending = std::mem::take(&mut self.pending);
        for &key in &pending {
            let counts = self.counters((key >> 7) as usize);
            counts[key as usize % SUBBUCKETS] += 1;
        }
        pending.clear();
        self.pending = pending;
    }

    /// This sketch with every waiting key counted.
    fn settled(&self) -> std::borrow::Cow<'_, Self> {
        if self.pending.is_empty() {
            std::borrow::Cow::Borrowed(self)
        } else {
            let mut settled = self.clone();
            settled.count_pending();
            std::borrow::Cow::Owned(settled)
        }
    }

    /// Values equal to zero.
    pub(crate) fn zeros(&self) -> u64 {
        self.zeros
    }

    /// Adds `count` copies of a finite value.
    #[inline]
    pub(crate) fn add_times(&mut self, value: f64, count: u64) {
        if value == 0.0 {
            self.zeros += count;
            return;
        }
        let bits = value.to_bits();
        let counts = self.counters((bits >> 52) as usize);
        counts[((bits >> DROPPED_BITS) as usize) % SUBBUCKETS] += count;
    }

    /// The counters of a sign and exponent, allocated on first use.
    #[inline]
    fn counters(&mut self, head: usize) -> &mut [u64; SUBBUCKETS] {
        if self.slots.is_empty() {
            self.slots = vec![0; HEADS];
        }
        let head = head % HEADS;
        let mut slot = self.slots[head];
        if slot == 0 {
            self.binades.push(Binade {
                head: head as u16,
                counts: [0; SUBBUCKETS],
            });
            slot = self.binades.len() as u16;
            self.slots[head] = slot;
        }
        &mut self.binades[usize::from(slot) - 1].counts
    }

    pub(crate) fn merge(&mut self, other: &Self) {
        self.zeros += other.zeros;
        for &key in &other.pending {
            self.counters((key >> 7) as usize)[key as usize % SUBBUCKETS] += 1;
        }
        for binade in &other.binades {
            let counts = self.counters(usize::from(binade.head));
            for (mine, theirs) in counts.iter_mut().zip(&binade.counts) {
                *mine += theirs;
            }
        }
    }

    pub fn count(&self) -> u64 {
        self.zeros
            + self.pending.len() as u64
            + self
                .binades
                .iter()
                .map(|b| b.counts.iter().sum::<u64>())
                .sum::<u64>()
    }

    /// The buckets in ascending order of value: (representative value, count).
    pub fn buckets(&self) -> Vec<(f64, u64)> {
        let mut negative = self.negative_pairs();
        negative.reverse();
        let positive = self.positive_pairs();
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

    /// `(key, count)` of the non-empty buckets of positive values, by key.
    pub(crate) fn positive_pairs(&self) -> Vec<(u32, u64)> {
        self.pairs(false)
    }

    /// `(key, count)` of the non-empty buckets of negative values, by key of
    /// the absolute value.
    pub(crate) fn negative_pairs(&self) -> Vec<(u32, u64)> {
        self.pairs(true)
    }

    fn pairs(&self, negative: bool) -> Vec<(u32, u64)> {
        let sign = if negative { HEADS / 2 } else { 0 };
        let mut pairs: Vec<(u32, u64)> = self
            .settled()
            .binades
            .iter()
            .filter(|b| usize::from(b.head) & (HEADS / 2) == sign)
            .flat_map(|b| {
                let exponent = u32::from(b.head) & (HEADS as u32 / 2 - 1);
                b.counts
                    .iter()
                    .enumerate()
                    .filter(|(_, c)| **c > 0)
                    .map(move |(sub, c)| ((exponent << 7) | sub as u32, *c))
            })
            .collect();
        pairs.sort_unstable();
        pairs
    }

    /// The sketch with these buckets (keys as [`Self::positive_pairs`] gives
    /// them); `None` for a key no double has.
    pub(crate) fn from_pairs(
        zeros: u64,
        positive: &[(u32, u64)],
        negative: &[(u32, u64)],
    ) -> Option<Self> {
        let mut sketch = Self {
            zeros,
            ..Self::default()
        };
        for (pairs, sign) in [(positive, 0), (negative, HEADS / 2)] {
            for &(key, count) in pairs {
                let exponent = (key >> 7) as usize;
                if exponent >= HEADS / 2 {
                    return None;
                }
                sketch.counters(sign | exponent)[key as usize % SUBBUCKETS] += count;
            }
        }
        Some(sketch)
    }
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
///
/// While few registers are set they are kept as a short list of (register,
/// value): a column with a handful of distinct values costs bytes, not 4 KB
/// (for 100,000 columns, 400 MB per copy of a profile). Past [`SPARSE_MAX`]
/// registers the array is allocated. Both forms read, save and compare as the
/// same registers.
#[derive(Debug, Clone, Default)]
pub struct HyperLogLog {
    /// All the registers, or empty while the sparse form is used.
    pub(crate) registers: Vec<u8>,
    /// The non-zero registers while there are at most [`SPARSE_MAX`].
    sparse: Vec<(u16, u8)>,
}

pub(crate) const HLL_PRECISION: u32 = 12;
const HLL_REGISTERS: usize = 1 << HLL_PRECISION;
/// Registers kept as a list at most (3 bytes each, searched linearly).
const SPARSE_MAX: usize = 64;

impl PartialEq for HyperLogLog {
    fn eq(&self, other: &Self) -> bool {
        self.dense()[..] == other.dense()[..]
    }
}

impl Eq for HyperLogLog {}

impl HyperLogLog {
    #[inline]
    pub(crate) fn add_hash(&mut self, hash: u64) {
        let index = (hash >> (64 - HLL_PRECISION)) as usize;
        let rest = (hash << HLL_PRECISION) | (1 << (HLL_PRECISION - 1));
        let rho = rest.leading_zeros() as u8 + 1;
        if self.registers.is_empty() {
            self.add_sparse(index, rho);
            return;
        }
        // A maximum, not a branch: whether a register grows is unpredictable.
        self.registers[index] = self.registers[index].max(rho);
    }

    #[inline(never)]
    fn add_sparse(&mut self, index: usize, rho: u8) {
        #[allow(clippy::cast_possible_truncation)] // index < 2^12
        let key = index as u16;
        if let Some((_, value)) = self.sparse.iter_mut().find(|(at, _)| *at == key) {
            *value = (*value).max(rho);
            return;
        }
        match self.sparse.len() {
            len if len < SPARSE_MAX => self.sparse.push((key, rho)),
            _ => {
                self.registers = self.dense().into_owned();
                self.sparse = Vec::new();
                self.registers[index] = self.registers[index].max(rho);
            }
        }
    }

    /// Every register.
    fn dense(&self) -> std::borrow::Cow<'_, [u8]> {
        if !self.registers.is_empty() {
            return std::borrow::Cow::Borrowed(&self.registers);
        }
        let mut registers = vec![0; HLL_REGISTERS];
        for &(index, value) in &self.sparse {
            registers[usize::from(index)] = value;
        }
        std::borrow::Cow::Owned(registers)
    }

    pub(crate) fn merge(&mut self, other: &Self) {
        if self.registers.is_empty() && other.registers.is_empty() {
            for &(index, value) in &other.sparse {
                let index = usize::from(index);
                // The list may turn into the array on the way.
                if self.registers.is_empty() {
                    self.add_sparse(index, value);
                } else {
                    self.registers[index] = self.registers[index].max(value);
                }
            }
            return;
        }
        if self.registers.is_empty() {
            self.registers = self.dense().into_owned();
            self.sparse = Vec::new();
        }
        for (mine, theirs) in self.registers.iter_mut().zip(other.dense().iter()) {
            *mine = (*mine).max(*theirs);
        }
    }

    #[allow(clippy::cast_precision_loss)]
    pub fn estimate(&self) -> f64 {
        let m = HLL_REGISTERS as f64;
        let alpha = 0.7213 / (1.0 + 1.079 / m);
        let mut sum = 0.0;
        let mut zeros = 0usize;
        for &r in self.dense().iter() {
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
        self.dense()
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
        let set = registers.iter().filter(|&&r| r != 0).count();
        if set > SPARSE_MAX {
            return Some(Self {
                registers,
                sparse: Vec::new(),
            });
        }
        let sparse = (0_u16..).zip(registers).filter(|(_, r)| *r != 0).collect();
        Some(Self {
            registers: Vec::new(),
            sparse,
        })
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
    h = fold(h ^ load_tail(chunks.remainder()), P1 ^ bytes.len() as u64);
    fold(h, P0)
}

/// Up to 7 bytes as a little-endian word, zero above them: the same word as
/// copying them into a zeroed `[u8; 8]`, built from two (possibly overlapping)
/// loads instead of a variable-length copy (a `memcpy` call per short value).
/// Where the loads overlap they hold the same bytes, so or-ing them is exact.
#[inline]
fn load_tail(tail: &[u8]) -> u64 {
    let length = tail.len();
    match length {
        0 => 0,
        1..=3 => {
            u64::from(tail[0])
                | u64::from(tail[length / 2]) << (8 * (length / 2))
                | u64::from(tail[length - 1]) << (8 * (length - 1))
        }
        _ => {
            let first = u32::from_le_bytes([tail[0], tail[1], tail[2], tail[3]]);
            let last = &tail[length - 4..];
            let last = u32::from_le_bytes([last[0], last[1], last[2], last[3]]);
            u64::from(first) | u64::from(last) << (8 * (length - 4))
        }
    }
}

#[inline]
pub(crate) fn hash_u64(seed: u64, value: u64) -> u64 {
    const P0: u64 = 0xa076_1d64_78bd_642f;
    const P1: u64 = 0xe703_7ed1_a0b4_28db;
    fold(fold(seed ^ P0 ^ value, P1), P0)
}

#[inline]
fn fold(a: u64, b: u64) -> u64 {
    let product = u128::from(a) * u128::from(b);
    (product as u64) ^ ((product >> 64) as u64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    /// Zeros, positive and negative `(key, count)` pairs.
    type Buckets = (u64, Vec<(u32, u64)>, Vec<(u32, u64)>);

    /// The sketch as it was: a map keyed by `|value|.to_bits() >> 45`, per sign.
    fn reference(values: &[f64]) -> Buckets {
        let mut zeros = 0;
        let mut positive = BTreeMap::new();
        let mut negative = BTreeMap::new();
        for &v in values {
            if v == 0.0 {
                zeros += 1;
                continue;
            }
            let key = (v.abs().to_bits() >> DROPPED_BITS) as u32;
            let store = if v < 0.0 {
                &mut negative
            } else {
                &mut positive
            };
            *store.entry(key).or_insert(0) += 1;
        }
        (
            zeros,
            positive.into_iter().collect(),
            negative.into_iter().collect(),
        )
    }

    /// `hash_bytes` as it was written first (the tail copied into a buffer):
    /// saved profiles hold HyperLogLog registers, so its values must not change.
    fn hash_bytes_reference(seed: u64, bytes: &[u8]) -> u64 {
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

    #[test]
    fn hash_bytes_is_unchanged_for_every_length_and_byte() {
        let mut state = 5u64;
        for length in 0..=40usize {
            for fill in [0u8, 0x01, 0x7f, 0x80, 0xff, 0xa5] {
                let bytes: Vec<u8> = (0..length)
                    .map(|_| {
                        state = state
                            .wrapping_mul(6_364_136_223_846_793_005)
                            .wrapping_add(1_442_695_040_888_963_407);
                        fill ^ (state >> 56) as u8
                    })
                    .collect();
                for seed in [0, 0x7472_6169_6e79_6172] {
                    assert_eq!(
                        hash_bytes(seed, &bytes),
                        hash_bytes_reference(seed, &bytes),
                        "length {length}"
                    );
                }
                // A lone byte in each place, the others zero (the or-ed loads).
                for at in 0..length {
                    let mut one = vec![0u8; length];
                    one[at] = fill | 1;
                    assert_eq!(hash_bytes(1, &one), hash_bytes_reference(1, &one));
                }
            }
        }
    }

    #[test]
    fn dense_buckets_equal_the_keyed_map_in_any_chunking() {
        let mut state = 17u64;
        let mut next = || {
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            state
        };
        let values: Vec<f64> = (0..30_000)
            .map(|i| match i % 5 {
                0 => 0.0,
                1 => f64::from_bits(next() % (2047 << 52)) * if i % 2 == 0 { 1.0 } else { -1.0 },
                2 => f64::from_bits(next() % (1 << 52)), // subnormal
                _ => (next() % 20_000) as f64 / 7.0 - 1000.0,
            })
            .collect();
        let (zeros, positive, negative) = reference(&values);
        let mut merged = QuantileSketch::default();
        for chunk in values.chunks(977).rev() {
            let mut part = QuantileSketch::default();
            for &v in chunk {
                part.add(v);
            }
            merged.merge(&part);
        }
        assert_eq!(merged.zeros, zeros);
        assert_eq!(merged.positive_pairs(), positive);
        assert_eq!(merged.negative_pairs(), negative);
        assert_eq!(merged.count(), values.len() as u64);
        // One sketch fed every value, keys still waiting: reads count them.
        let mut one = QuantileSketch::default();
        for &v in &values {
            one.add(v);
        }
        assert!(!one.pending.is_empty());
        assert_eq!(one.positive_pairs(), positive);
        assert_eq!(one.negative_pairs(), negative);
        assert_eq!(one.count(), values.len() as u64);
        assert_eq!(one, merged);
        let loaded = QuantileSketch::from_pairs(zeros, &positive, &negative).unwrap();
        assert_eq!(loaded, merged);
        assert!(QuantileSketch::from_pairs(0, &[(1 << 18, 1)], &[]).is_none());
    }

    #[test]
    fn sparse_registers_read_save_and_merge_as_the_full_array() {
        let mut rng = crate::profile::TestRng(7);
        for count in [0_usize, 1, 10, SPARSE_MAX, SPARSE_MAX + 1, 300, 5000] {
            let hashes: Vec<u64> = (0..count).map(|_| rng.next()).collect();
            // The reference: the full array from the start.
            let mut full = HyperLogLog {
                registers: vec![0; HLL_REGISTERS],
                sparse: Vec::new(),
            };
            let mut one = HyperLogLog::default();
            for &hash in &hashes {
                full.add_hash(hash);
                one.add_hash(hash);
            }
            assert_eq!(one.to_hex(), full.to_hex(), "{count}");
            assert_eq!(one.estimate().to_bits(), full.estimate().to_bits());
            // Merged from pieces of every size, in both forms.
            let mut merged = HyperLogLog::default();
            for piece in hashes.chunks(1 + count / 7) {
                let mut part = HyperLogLog::default();
                for &hash in piece {
                    part.add_hash(hash);
                }
                merged.merge(&part);
            }
            assert_eq!(merged.to_hex(), full.to_hex(), "{count}");
            assert_eq!(merged, full);
            let loaded = HyperLogLog::from_hex(&full.to_hex()).unwrap();
            assert_eq!(loaded, full);
            let set = full.registers.iter().filter(|&&r| r != 0).count();
            assert_eq!(loaded.registers.is_empty(), set <= SPARSE_MAX);
        }
    }
}
