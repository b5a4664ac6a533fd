//! The first places of the values of a unique column (or column group), by 64-bit
//! hash, in memory up to a budget and in sorted runs on disk beyond it.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::fs::File;
use std::hash::{BuildHasherDefault, Hasher};
use std::io::{self, BufReader, BufWriter, Read, Seek, SeekFrom, Write};

/// The u64 keys are already hashes: use them as they are.
#[derive(Debug, Default, Clone, Copy)]
struct Passthrough(u64);

impl Hasher for Passthrough {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &byte in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(byte);
        }
    }
    fn write_u64(&mut self, value: u64) {
        self.0 = value;
    }
}

/// A value's 64-bit hash -> where it was first seen, packed by [`pack`]: 16 bytes
/// an entry (a 128-bit hash and an unpacked place took 32).
type HashSeen = HashMap<u64, u64, BuildHasherDefault<Passthrough>>;

/// Lines are kept in 40 bits (10^12 lines), the file's index in the other 24
/// (16 million files); beyond, they saturate. Packed places compare as
/// `(file, line)` pairs do.
const LINE_BITS: u32 = 40;

fn pack(file: u32, line: u64) -> u64 {
    (u64::from(file).min((1 << (64 - LINE_BITS)) - 1) << LINE_BITS) | line.min((1 << LINE_BITS) - 1)
}

#[allow(clippy::cast_possible_truncation)] // the file index has 24 bits
pub(super) fn unpack(place: u64) -> (u32, u64) {
    ((place >> LINE_BITS) as u32, place & ((1 << LINE_BITS) - 1))
}

/// A `(file, line)` place.
pub(super) type Place = (u32, u64);

/// How many values the [`Seen`]s of one unique column keep in memory, over all
/// worker threads, before each writes its own to a sorted run on disk. On 2
/// threads: 16 parts of about 106k entries per thread, which fit tables of 2^17
/// buckets (17 bytes a bucket), so about 72 MB per unique column.
const SPILL_ENTRIES: usize = 3_400_000;

/// The budget of one [`Seen`] when `threads` workers each fill one.
pub(super) fn spill_entries(threads: usize) -> usize {
    (SPILL_ENTRIES / threads.max(1)).max(1 << 16)
}

pub(super) const PARTS: usize = 16;

/// The part of a hash: middle bits, as the table uses the low bits for the bucket
/// and the top ones for its tags.
#[allow(clippy::cast_possible_truncation)] // four bits
fn part(hash: u64) -> usize {
    (hash >> 32) as usize % PARTS
}

/// Bytes of one `(hash, place)` entry in a run.
pub(super) const ENTRY_BYTES: u64 = 16;

/// One spilled table: every part's entries sorted by `(hash, place)`, part after
/// part, in an unnamed temporary file (removed when closed).
#[derive(Debug)]
pub(super) struct Run {
    pub(super) file: File,
    /// Per part: the byte offset of its entries and how many there are.
    pub(super) parts: [(u64, u64); PARTS],
}

/// Writes the entries of a [`Run`] part after part, each part's in order.
struct RunWriter {
    out: BufWriter<File>,
    parts: [(u64, u64); PARTS],
    offset: u64,
}

impl RunWriter {
    fn new() -> io::Result<Self> {
        Ok(Self {
            out: BufWriter::with_capacity(1 << 16, tempfile::tempfile()?),
            parts: [(0, 0); PARTS],
            offset: 0,
        })
    }

    /// Adds an entry to `part` (parts come in order, entries sorted within one).
    fn push(&mut self, part: usize, hash: u64, place: u64) -> io::Result<()> {
        if self.parts[part].1 == 0 {
            self.parts[part].0 = self.offset;
        }
        self.out.write_all(&hash.to_le_bytes())?;
        self.out.write_all(&place.to_le_bytes())?;
        self.parts[part].1 += 1;
        self.offset += ENTRY_BYTES;
        Ok(())
    }

    fn finish(self) -> io::Result<Run> {
        let file = self
            .out
            .into_inner()
            .map_err(io::IntoInnerError::into_error)?;
        let mut parts = self.parts;
        // An empty part starts where the entries before it end.
        let mut end = 0;
        for part in &mut parts {
            if part.1 == 0 {
                part.0 = end;
            }
            end = part.0 + part.1 * ENTRY_BYTES;
        }
        Ok(Run { file, parts })
    }
}

/// The first places of the values of a unique column (or column group), by 64-bit
/// hash: a duplicate is a value whose hash was seen. Two distinct values collide
/// with probability about n^2 / 2^65 for n values (6 million: 1 in a million),
/// and a collision can only report a duplicate that is not one, never hide one.
///
/// Workers' tables are not merged into one (that would grow the largest while the
/// others still exist): merging keeps the list, and [`Seen::settle`] looks the
/// values of each table up in the ones before it at the end. Each table is split
/// in [`PARTS`] by bits of the hash, so growing one (old and new buckets both
/// live for a moment) costs a sixteenth of the table, not half of it again.
///
/// Past a budget of entries the tables are written, sorted, to a run on disk and
/// cleared; a duplicate of a value already spilled is then found at the end by
/// merging the runs and the tables (and reported by place, without its text).
#[derive(Debug, Default)]
pub(super) struct Seen {
    own: Vec<HashSeen>,
    /// Entries in `own`.
    own_len: usize,
    others: Vec<Vec<HashSeen>>,
    runs: Vec<Run>,
    /// The first failure to write a run; the tables then stay in memory.
    spill_error: Option<io::Error>,
}

impl Seen {
    /// Records the value's place; for a value seen before (since the last spill),
    /// the later and the earlier place (the earliest stays recorded).
    /// `budget` is how many entries stay in memory before a spill.
    #[inline]
    pub(super) fn insert(
        &mut self,
        hash: u64,
        file: u32,
        line: u64,
        budget: usize,
    ) -> Option<(Place, Place)> {
        let key = pack(file, line);
        if self.own.is_empty() {
            self.own = vec![HashSeen::default(); PARTS];
        }
        if self.own_len >= budget && self.spill_error.is_none() {
            self.spill();
        }
        match self.own[part(hash)].entry(hash) {
            std::collections::hash_map::Entry::Vacant(slot) => {
                slot.insert(key);
                self.own_len += 1;
                None
            }
            std::collections::hash_map::Entry::Occupied(mut slot) => {
                let first = slot.get_mut();
                // (Before, `(*first, replace(first, key))` named the later place twice.)
                let (later, earlier) = if key >= *first {
                    (key, *first)
                } else {
                    (std::mem::replace(first, key), key)
                };
                Some((unpack(later), unpack(earlier)))
            }
        }
    }

    /// Writes the tables to a run and clears them (keeping their buckets); on an
    /// I/O error they stay as they are and no more spills are tried.
    #[cold]
    fn spill(&mut self) {
        match write_run(&self.own) {
            Ok(run) => {
                self.runs.push(run);
                self.own.iter_mut().for_each(HashSeen::clear);
                self.own_len = 0;
            }
            Err(error) => self.spill_error = Some(error),
        }
    }

    pub(super) fn merge(&mut self, other: Self) {
        self.others.push(other.own);
        self.others.extend(other.others);
        self.runs.extend(other.runs);
        if self.spill_error.is_none() {
            self.spill_error = other.spill_error;
        }
    }

    /// Finds the duplicates left: values seen by more than one worker, or again
    /// after a spill. Each place but the earliest of such a value is reported
    /// (its text is not kept, only its hash) as `(later, earliest)`.
    #[cfg(test)]
    pub(super) fn settle(self, report: impl FnMut(Place, Place)) -> io::Result<()> {
        self.settle_recording(report, false).map(drop)
    }

    /// [`Self::settle`]; with `record`, also returns every distinct hash with its
    /// earliest place, sorted part by part: what a shard keeps for `data merge`
    /// to find duplicates across shards.
    pub(super) fn settle_recording(
        self,
        mut report: impl FnMut(Place, Place),
        record: bool,
    ) -> io::Result<Option<Run>> {
        if let Some(error) = self.spill_error {
            return Err(error);
        }
        let mut keys = if record {
            Some(RunWriter::new()?)
        } else {
            None
        };
        let mut workers = self.others;
        workers.push(self.own);
        workers.retain(|tables| !tables.is_empty());
        // Part by part, each freed when done.
        let mut parts: Vec<Vec<HashSeen>> = (0..PARTS).map(|_| Vec::new()).collect();
        for tables in workers {
            for (index, table) in tables.into_iter().enumerate() {
                parts[index % PARTS].push(table);
            }
        }
        for (index, tables) in parts.into_iter().enumerate() {
            if self.runs.is_empty() {
                settle_part(&mut tables_mut(tables, index, keys.as_mut())?, &mut report);
            } else {
                merge_part(index, tables, &self.runs, &mut report, keys.as_mut())?;
            }
        }
        keys.map(RunWriter::finish).transpose()
    }
}

/// The tables of part `index`; with `keys`, their distinct hashes, each with its
/// earliest place, are written to it first (sorted by hash).
fn tables_mut(
    tables: Vec<HashSeen>,
    index: usize,
    keys: Option<&mut RunWriter>,
) -> io::Result<Vec<HashSeen>> {
    if let Some(keys) = keys {
        let mut entries: Vec<(u64, u64)> = tables
            .iter()
            .flat_map(|table| table.iter().map(|(&hash, &place)| (hash, place)))
            .collect();
        entries.sort_unstable();
        entries.dedup_by_key(|entry| entry.0);
        for (hash, place) in entries {
            keys.push(index, hash, place)?;
        }
    }
    Ok(tables)
}

fn write_run(tables: &[HashSeen]) -> io::Result<Run> {
    let file = tempfile::tempfile()?;
    let mut parts = [(0, 0); PARTS];
    let mut out = BufWriter::with_capacity(1 << 16, &file);
    let mut entries: Vec<(u64, u64)> = Vec::new();
    let mut offset = 0;
    for (index, table) in tables.iter().enumerate() {
        entries.clear();
        entries.extend(table.iter().map(|(&hash, &place)| (hash, place)));
        entries.sort_unstable();
        for (hash, place) in &entries {
            out.write_all(&hash.to_le_bytes())?;
            out.write_all(&place.to_le_bytes())?;
        }
        let count = entries.len() as u64;
        parts[index] = (offset, count);
        offset += count * ENTRY_BYTES;
    }
    out.flush()?;
    drop(out);
    Ok(Run { file, parts })
}

/// [`Seen::settle`] for one part, all in memory: the workers' tables of the same hashes.
fn settle_part(tables: &mut Vec<HashSeen>, report: &mut impl FnMut(Place, Place)) {
    tables.retain(|table| !table.is_empty());
    // The largest first: most lookups end in it.
    tables.sort_by_key(|table| Reverse(table.len()));
    for index in 1..tables.len() {
        let (before, rest) = tables.split_at_mut(index);
        for (hash, &key) in &rest[0] {
            let Some(first) = before.iter_mut().find_map(|table| table.get_mut(hash)) else {
                continue;
            };
            let (later, earlier) = if key >= *first {
                (key, *first)
            } else {
                (std::mem::replace(first, key), key)
            };
            report(unpack(later), unpack(earlier));
        }
    }
}

/// Sorted `(hash, place)` entries of one part: a table's, or a run's on disk.
enum Source<'a> {
    Memory(std::vec::IntoIter<(u64, u64)>),
    Disk(BufReader<io::Take<&'a File>>),
}

impl Source<'_> {
    fn next(&mut self) -> io::Result<Option<(u64, u64)>> {
        match self {
            Self::Memory(entries) => Ok(entries.next()),
            Self::Disk(reader) => {
                let mut entry = [0; 16];
                match reader.read_exact(&mut entry) {
                    Ok(()) => {
                        let (hash, place) = entry.split_at(8);
                        let word =
                            |bytes: &[u8]| u64::from_le_bytes(bytes.try_into().unwrap_or_default());
                        Ok(Some((word(hash), word(place))))
                    }
                    Err(error) if error.kind() == io::ErrorKind::UnexpectedEof => Ok(None),
                    Err(error) => Err(error),
                }
            }
        }
    }
}

/// [`Seen::settle`] for one part with runs on disk: a k-way merge of the runs and
/// the tables by `(hash, place)`; in each group of equal hashes the first entry is
/// the earliest place and every other one a duplicate. (Duplicates within one
/// table were reported when inserted: a table keeps one entry per hash.)
fn merge_part(
    index: usize,
    tables: Vec<HashSeen>,
    runs: &[Run],
    report: &mut impl FnMut(Place, Place),
    mut keys: Option<&mut RunWriter>,
) -> io::Result<()> {
    let mut sources = Vec::with_capacity(tables.len() + runs.len());
    for table in tables {
        let mut entries: Vec<(u64, u64)> = table.into_iter().collect();
        entries.sort_unstable();
        sources.push(Source::Memory(entries.into_iter()));
    }
    for run in runs {
        let (offset, count) = run.parts[index];
        let mut file = &run.file;
        file.seek(SeekFrom::Start(offset))?;
        sources.push(Source::Disk(BufReader::with_capacity(
            1 << 16,
            file.take(count * ENTRY_BYTES),
        )));
    }
    let mut heap = BinaryHeap::with_capacity(sources.len());
    for (position, source) in sources.iter_mut().enumerate() {
        if let Some((hash, place)) = source.next()? {
            heap.push(Reverse((hash, place, position)));
        }
    }
    let mut group: Option<(u64, u64)> = None;
    while let Some(Reverse((hash, place, position))) = heap.pop() {
        match group {
            Some((group_hash, earliest)) if group_hash == hash => {
                report(unpack(place), unpack(earliest));
            }
            _ => {
                group = Some((hash, place));
                if let Some(keys) = keys.as_mut() {
                    keys.push(index, hash, place)?;
                }
            }
        }
        if let Some((hash, place)) = sources[position].next()? {
            heap.push(Reverse((hash, place, position)));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A small deterministic generator (xorshift), so failures reproduce.
    struct Random(u64);

    impl Random {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }
    }

    /// Every place but the first of each value, sorted, from the values in place order.
    fn expected(values: &[(Place, u64)]) -> Vec<Place> {
        let mut sorted: Vec<(u64, Place)> = values.iter().map(|&(p, v)| (v, p)).collect();
        sorted.sort_unstable();
        let mut duplicates: Vec<Place> = sorted
            .windows(2)
            .filter(|pair| pair[0].0 == pair[1].0)
            .map(|pair| pair[1].1)
            .collect();
        duplicates.sort_unstable();
        duplicates
    }

    /// Feeds `values` in chunks to `workers` tables round robin (chunks arrive in
    /// any order, as with threads), merges them, and returns every reported
    /// duplicate's place with its earliest place, sorted.
    fn run(
        values: &[(Place, u64)],
        workers: usize,
        chunk: usize,
        budget: usize,
    ) -> Vec<(Place, Place)> {
        let mut seens: Vec<Seen> = (0..workers).map(|_| Seen::default()).collect();
        let mut reported = Vec::new();
        let mut chunks: Vec<&[(Place, u64)]> = values.chunks(chunk).collect();
        // A fixed shuffle of the chunks.
        let mut random = Random(0x9E37_79B9_7F4A_7C15);
        for i in (1..chunks.len()).rev() {
            let j = usize::try_from(random.next() % (i as u64 + 1)).unwrap();
            chunks.swap(i, j);
        }
        for (number, chunk) in chunks.iter().enumerate() {
            let seen = &mut seens[number % workers];
            for &((file, line), value) in *chunk {
                if let Some(pair) = seen.insert(value, file, line, budget) {
                    reported.push(pair);
                }
            }
        }
        let spilled: usize = seens.iter().map(|seen| seen.runs.len()).sum();
        assert_eq!(spilled > 0, budget < usize::MAX, "spilled {spilled} runs");
        let mut all = seens.pop().unwrap();
        for seen in seens {
            all.merge(seen);
        }
        all.settle(|later, earlier| reported.push((later, earlier)))
            .unwrap();
        reported.sort_unstable();
        reported
    }

    #[test]
    fn spilled_runs_find_the_same_duplicates_as_memory() {
        let mut random = Random(12345);
        // 3 files, random values from a range that makes about a third repeat,
        // and a few values planted many times.
        let mut values = Vec::new();
        for file in 0..3_u32 {
            for line in 2..4_000_u64 {
                let value = if random.next().is_multiple_of(50) {
                    7 + random.next() % 3
                } else {
                    random.next() % 9_000
                };
                // Values are hashes: spread them over the parts.
                values.push(((file, line), value.wrapping_mul(0x9E37_79B9_7F4A_7C15)));
            }
        }
        let want = expected(&values);
        assert!(want.len() > 1_000);
        for (workers, chunk) in [(1, 5_000), (2, 700), (3, 333)] {
            let memory = run(&values, workers, chunk, usize::MAX);
            let spilled = run(&values, workers, chunk, 100);
            let places = |pairs: &[(Place, Place)]| {
                let mut places: Vec<Place> = pairs.iter().map(|pair| pair.0).collect();
                places.sort_unstable();
                places
            };
            // Every duplicate counted once, at the same places.
            assert_eq!(places(&memory), want, "memory, {workers} workers");
            assert_eq!(places(&spilled), want, "spilled, {workers} workers");
            // Each reported earlier place holds the same value, before the later one.
            let value_at: HashMap<Place, u64> = values.iter().copied().collect();
            for (later, earlier) in &spilled {
                assert!(earlier < later);
                assert_eq!(value_at[earlier], value_at[later]);
            }
        }
    }

    #[test]
    fn places_pack_in_file_line_order() {
        assert!(pack(0, 1 << 39) < pack(1, 0));
        assert_eq!(unpack(pack(3, 42)), (3, 42));
        assert_eq!(unpack(pack(1 << 30, 1 << 50)).1, (1 << LINE_BITS) - 1);
    }
}
