//! The per-thread state of a validation pass, fed batch by batch, merged in any order.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use trainyard_core::manifest::data::{ColumnMatch, ColumnType};
use xxhash_rust::xxh3::{Xxh3, xxh3_64};

use super::keys::{CheckKeys, ShardKeys};
use super::unique::Seen;
use super::{CheckResult, ColumnPlan, MAX_OFFENDERS, Offense, Plan};
use crate::read::{Batch, FileInfo};
use crate::schema::{Value, parse_integer, parse_number, read_value};

// A child module: the typed path updates this module's private state.
#[path = "typed.rs"]
mod typed;

/// Where the statistics half plugs in: every value the validation pass reads is also
/// given to a per-column profile. One sink is made per worker thread and merged.
///
/// `crate::profile::DatasetProfile` implements it; [`NoProfile`] is the pass alone.
pub trait ProfileSink: Send + Sized {
    /// `false` only for [`NoProfile`]: values of undeclared columns are then skipped.
    const ACTIVE: bool = true;
    type Column: ColumnSink;
    /// An empty profile.
    fn empty() -> Self;
    /// Adds a column named `name`, which the profile does not have yet, and
    /// returns its index for [`Self::column_at`]. The validation pass keeps its
    /// own index of names, so finding a column costs no search by name.
    fn add_column(&mut self, name: &str) -> usize;
    /// The column at `index` (from [`Self::add_column`]).
    fn column_at(&mut self, index: usize) -> &mut Self::Column;
    /// Each column's index and name, after a [`Self::merge`].
    fn column_names(&self, each: &mut dyn FnMut(usize, &str));
    /// Adds another thread's profile to this one.
    fn merge(&mut self, other: Self);
    /// Called once at the end with every column of every file read (in file order)
    /// and the rows read, so the result does not depend on which worker saw what.
    fn finish(&mut self, _columns: &[&str], _rows: u64) {}
    /// Called once at the end with the count of malformed rows and the first
    /// ones reported (what the profile's readers say about the rows it lacks).
    fn malformed(&mut self, _count: u64, _first: &[super::Offense]) {}
}

/// One column's profile: told every value once.
pub trait ColumnSink {
    fn observe_null(&mut self);
    fn observe_number(&mut self, value: f64);
    fn observe_text(&mut self, value: &str);
}

/// No profile: the validation pass alone.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoProfile;

impl ProfileSink for NoProfile {
    const ACTIVE: bool = false;
    type Column = Self;
    fn empty() -> Self {
        Self
    }
    fn add_column(&mut self, _name: &str) -> usize {
        0
    }
    fn column_at(&mut self, _index: usize) -> &mut Self {
        self
    }
    fn column_names(&self, _each: &mut dyn FnMut(usize, &str)) {}
    fn merge(&mut self, _other: Self) {}
}

impl ColumnSink for NoProfile {
    #[inline]
    fn observe_null(&mut self) {}
    #[inline]
    fn observe_number(&mut self, _value: f64) {}
    #[inline]
    fn observe_text(&mut self, _value: &str) {}
}

#[derive(Debug, Clone)]
struct RawOffense {
    file: u32,
    line: u64,
    column: Option<u32>,
    value: Option<String>,
    detail: Option<String>,
    rule: Option<&'static str>,
}

#[derive(Debug, Clone, Default)]
struct CheckAcc {
    evaluated: u64,
    failed: u64,
    offenders: Vec<RawOffense>,
}

impl CheckAcc {
    /// Counts a failure at `file:line`; builds the offense only if it is among the first.
    #[inline]
    fn fail(&mut self, file: u32, line: u64, make: impl FnOnce() -> RawOffense) {
        self.failed += 1;
        if self.offenders.len() < MAX_OFFENDERS {
            self.offenders.push(make());
            return;
        }
        let (worst, key) = self
            .offenders
            .iter()
            .enumerate()
            .map(|(index, o)| (index, (o.file, o.line)))
            .max_by_key(|(_, key)| *key)
            .unwrap_or((0, (0, 0)));
        if (file, line) < key {
            self.offenders[worst] = make();
        }
    }

    fn merge(&mut self, other: Self) {
        self.evaluated += other.evaluated;
        self.failed += other.failed;
        self.offenders.extend(other.offenders);
        self.offenders.sort_by_key(|o| (o.file, o.line, o.column));
        self.offenders.truncate(MAX_OFFENDERS);
    }
}

/// Streaming mean and variance (Welford), mergeable (Chan et al.).
#[derive(Debug, Clone, Copy, Default)]
struct Moments {
    count: u64,
    mean: f64,
    m2: f64,
}

impl Moments {
    #[inline]
    #[allow(clippy::cast_precision_loss)]
    fn push(&mut self, value: f64) {
        self.count += 1;
        let delta = value - self.mean;
        self.mean += delta / self.count as f64;
        self.m2 += delta * (value - self.mean);
    }

    #[allow(clippy::cast_precision_loss)]
    fn merge(&mut self, other: Self) {
        if other.count == 0 {
            return;
        }
        if self.count == 0 {
            *self = other;
            return;
        }
        let count = self.count + other.count;
        let delta = other.mean - self.mean;
        let (a, b, n) = (self.count as f64, other.count as f64, count as f64);
        self.mean += delta * b / n;
        self.m2 += other.m2 + delta * delta * a * b / n;
        self.count = count;
    }

    #[allow(clippy::cast_precision_loss)]
    fn stddev(&self) -> Option<f64> {
        (self.count > 1).then(|| (self.m2 / (self.count - 1) as f64).sqrt())
    }
}

#[derive(Debug, Default)]
struct ColumnAcc {
    rows: u64,
    nulls: u64,
    moments: Moments,
    /// Per quantile bound: values below its min, values at or below its max.
    quantiles: Vec<(u64, u64)>,
    seen: Seen,
}

/// The state of a validation pass on one thread.
#[derive(Debug)]
pub struct Accumulator<P = NoProfile> {
    checks: Vec<CheckAcc>,
    columns: Vec<ColumnAcc>,
    compounds: Vec<Seen>,
    rows: u64,
    /// The profile fed by the same pass.
    pub profile: P,
    /// The profile's index of each column name met (this accumulator is the
    /// only one adding columns to its profile, and re-reads them after a merge).
    profile_index: HashMap<String, usize>,
    /// Where the columns of the last file seen go (usually the next batch's).
    layout: Option<Layout>,
    /// Time in the row loops of declared columns and across columns.
    check_time: Duration,
    /// Time in the row loops of columns only profiled.
    profile_time: Duration,
}

/// Where the columns of one file go, worked out once per file (and worker):
/// finding them by name in each batch cost columns x declared columns.
#[derive(Debug)]
struct Layout {
    file: u32,
    /// Per physical column: the declared column checked on it (the last
    /// declaration of its name), if any.
    declared: Vec<Option<usize>>,
    /// Per physical column: its column in the profile.
    profile: Vec<usize>,
}

fn lossy(bytes: &[u8]) -> String {
    const LIMIT: usize = 200;
    let text = String::from_utf8_lossy(&bytes[..bytes.len().min(LIMIT)]);
    if bytes.len() > LIMIT {
        format!("{text}...")
    } else {
        text.into_owned()
    }
}

fn column_number(index: usize) -> Option<u32> {
    u32::try_from(index + 1).ok()
}

impl<P: ProfileSink> Accumulator<P> {
    pub fn new(plan: &Plan) -> Self {
        Self {
            checks: vec![CheckAcc::default(); plan.checks.len()],
            columns: plan
                .columns
                .iter()
                .map(|column| ColumnAcc {
                    quantiles: vec![(0, 0); column.quantiles.len()],
                    ..ColumnAcc::default()
                })
                .collect(),
            compounds: (0..plan.compounds.len()).map(|_| Seen::default()).collect(),
            rows: 0,
            profile: P::empty(),
            profile_index: HashMap::new(),
            layout: None,
            check_time: Duration::ZERO,
            profile_time: Duration::ZERO,
        }
    }

    /// The layout of `file`: the cached one, or worked out with one hash lookup
    /// per column (the first column of a name is the one checked).
    fn layout(&mut self, plan: &Plan, file: &FileInfo) -> Layout {
        if let Some(layout) = self.layout.take()
            && layout.file == file.index
            && layout.declared.len() == file.columns.len()
        {
            return layout;
        }
        let mut first: HashMap<&str, usize> = HashMap::with_capacity(file.columns.len());
        for (physical, name) in file.columns.iter().enumerate() {
            first.entry(name.as_str()).or_insert(physical);
        }
        let mut declared = vec![None; file.columns.len()];
        for (index, column) in plan.columns.iter().enumerate() {
            if let Some(&physical) = first.get(column.name.as_str()) {
                declared[physical] = Some(index);
            }
        }
        let profile = if P::ACTIVE {
            file.columns
                .iter()
                .map(|name| {
                    if let Some(&index) = self.profile_index.get(name) {
                        index
                    } else if !plan.profiles(name) {
                        UNPROFILED
                    } else {
                        let index = self.profile.add_column(name);
                        self.profile_index.insert(name.clone(), index);
                        index
                    }
                })
                .collect()
        } else {
            Vec::new()
        };
        Layout {
            file: file.index,
            declared,
            profile,
        }
    }

    /// Checks every row of a batch, column by column, and profiles every value.
    #[allow(clippy::too_many_lines)]
    pub fn absorb(&mut self, plan: &Plan, batch: &Batch) {
        let file = &batch.file;
        let file_index = file.index;
        self.rows += batch.rows_read;
        let malformed = &mut self.checks[plan.malformed];
        for issue in &batch.issues {
            malformed.fail(file_index, issue.line, || RawOffense {
                file: file_index,
                line: issue.line,
                column: issue.column,
                value: None,
                detail: Some(issue.kind.to_string()),
                rule: Some(issue.kind.rule()),
            });
        }
        // A batch without a well-formed row (its only rows malformed, a Parquet row
        // group that could not be decoded) has no fields: nothing to check per
        // column or per row. Its `columns` is still the file's width, so the row
        // loops below, which step through `fields` by it, must not see it.
        if batch.rows() == 0 {
            return;
        }
        let position = |name: &str| file.columns.iter().position(|c| c == name);
        let layout = self.layout(plan, file);
        // Per physical column, its numbers when the reader gave them as numbers.
        let mut numbers_at: Vec<Option<&crate::read::NumberColumn>> = Vec::new();
        if !batch.numbers.is_empty() {
            numbers_at.resize(batch.columns, None);
            for numbers in &batch.numbers {
                if let Some(slot) = numbers_at.get_mut(numbers.column) {
                    slot.get_or_insert(numbers);
                }
            }
        }
        let rows = batch.rows();
        let width = batch.columns;
        // The profile takes text values as `&str`: one UTF-8 check for the batch,
        // per field only when the batch is not valid UTF-8.
        let text = if P::ACTIVE {
            std::str::from_utf8(&batch.bytes).ok()
        } else {
            None
        };
        for (physical, declared) in layout.declared.iter().enumerate().take(width) {
            // `None`: a column declared `profile: false`.
            let profile_at = layout
                .profile
                .get(physical)
                .copied()
                .filter(|&at| at != UNPROFILED);
            let column_number = column_number(physical);
            let Some(index) = *declared else {
                if !P::ACTIVE {
                    continue;
                }
                let Some(at) = profile_at else {
                    continue;
                };
                let started = Instant::now();
                let profile = self.profile.column_at(at);
                for row in 0..rows {
                    match batch.fields[row * width + physical].get(&batch.bytes) {
                        None => profile.observe_null(),
                        Some(bytes) if file.nulls.contains(bytes) => profile.observe_null(),
                        Some(bytes) => observe_untyped(profile, bytes, text, &batch.bytes),
                    }
                }
                self.profile_time += started.elapsed();
                continue;
            };
            let plan_column = &plan.columns[index];
            let acc = &mut self.columns[index];
            acc.rows += rows as u64;
            let pass = DeclaredPass {
                plan,
                plan_column,
                acc,
                checks: &mut self.checks,
                batch,
                numbers: numbers_at.get(physical).copied().flatten(),
                physical,
                column_number,
            };
            let started = Instant::now();
            match profile_at {
                Some(at) => pass.run::<P>(self.profile.column_at(at), text),
                None => pass.run::<NoProfile>(&mut NoProfile, None),
            }
            self.check_time += started.elapsed();
        }
        self.layout = Some(layout);
        let started = Instant::now();
        self.absorb_rows(plan, batch, &position);
        self.check_time += started.elapsed();
    }

    /// Time spent checking (declared columns' row loops, checks across columns)
    /// and profiling (columns only profiled), over the batches absorbed.
    pub fn times(&self) -> (Duration, Duration) {
        (self.check_time, self.profile_time)
    }

    /// Relations and compound uniqueness: checks across the columns of a row.
    #[allow(clippy::too_many_lines)]
    fn absorb_rows(
        &mut self,
        plan: &Plan,
        batch: &Batch,
        position: &dyn Fn(&str) -> Option<usize>,
    ) {
        let file = &batch.file;
        let width = batch.columns;
        let get = |row: usize, physical: usize| {
            batch.fields[row * width + physical]
                .get(&batch.bytes)
                .filter(|bytes| !file.nulls.contains(bytes))
        };
        for relation in &plan.relations {
            let (Some(left), Some(right)) = (position(&relation.left), position(&relation.right))
            else {
                continue;
            };
            let kind = |name: &str| {
                plan.columns
                    .iter()
                    .find(|c| c.name == name)
                    .and_then(|c| c.kind)
            };
            let (left_kind, right_kind) = (kind(&relation.left), kind(&relation.right));
            let acc = &mut self.checks[relation.check];
            for row in 0..batch.rows() {
                let (Some(a), Some(b)) = (get(row, left), get(row, right)) else {
                    continue;
                };
                acc.evaluated += 1;
                let number = |kind, bytes| match read_value(kind, bytes) {
                    Some(Value::Number(x)) => Some(x),
                    _ => parse_number(bytes),
                };
                let ordering = match (number(left_kind, a), number(right_kind, b)) {
                    (Some(x), Some(y)) => x.partial_cmp(&y),
                    _ => Some(a.cmp(b)),
                };
                if !ordering.is_some_and(|o| relation.op.holds(o)) {
                    let line = batch.lines[row];
                    acc.fail(file.index, line, || RawOffense {
                        file: file.index,
                        line,
                        column: column_number(left),
                        value: Some(format!(
                            "{} = {}, {} = {}",
                            relation.left,
                            lossy(a),
                            relation.right,
                            lossy(b)
                        )),
                        detail: None,
                        rule: None,
                    });
                }
            }
        }
        for (compound, seen) in plan.compounds.iter().zip(&mut self.compounds) {
            let physical: Vec<Option<usize>> =
                compound.columns.iter().map(|name| position(name)).collect();
            if physical.iter().any(Option::is_none) {
                continue;
            }
            let acc = &mut self.checks[compound.check];
            for row in 0..batch.rows() {
                let values: Vec<Option<&[u8]>> =
                    physical.iter().flatten().map(|&p| get(row, p)).collect();
                if values.iter().all(Option::is_none) {
                    continue;
                }
                acc.evaluated += 1;
                let mut hasher = Xxh3::new();
                for value in &values {
                    match value {
                        None => hasher.update(&[0]),
                        Some(bytes) => {
                            hasher.update(&[1]);
                            hasher.update(&(bytes.len() as u64).to_le_bytes());
                            hasher.update(bytes);
                        }
                    }
                }
                let line = batch.lines[row];
                if let Some((later, earlier)) =
                    seen.insert(hasher.digest(), file.index, line, plan.spill_entries)
                {
                    acc.fail(later.0, later.1, || RawOffense {
                        file: later.0,
                        line: later.1,
                        column: None,
                        value: Some(
                            compound
                                .columns
                                .iter()
                                .zip(&values)
                                .map(|(name, v)| {
                                    format!(
                                        "{name} = {}",
                                        v.map_or_else(|| "null".to_owned(), lossy)
                                    )
                                })
                                .collect::<Vec<_>>()
                                .join(", "),
                        ),
                        detail: Some(format!("first seen at line {}", earlier.1)),
                        rule: None,
                    });
                }
            }
        }
    }

    /// Adds another thread's accumulator to this one.
    pub fn merge(&mut self, plan: &Plan, other: Self) {
        for (mine, theirs) in self.checks.iter_mut().zip(other.checks) {
            mine.merge(theirs);
        }
        for ((mine, theirs), column) in self
            .columns
            .iter_mut()
            .zip(other.columns)
            .zip(&plan.columns)
        {
            mine.rows += theirs.rows;
            mine.nulls += theirs.nulls;
            mine.moments.merge(theirs.moments);
            for (a, b) in mine.quantiles.iter_mut().zip(theirs.quantiles) {
                a.0 += b.0;
                a.1 += b.1;
            }
            if column.unique.is_some() {
                mine.seen.merge(theirs.seen);
            }
        }
        for (mine, theirs) in self.compounds.iter_mut().zip(other.compounds) {
            mine.merge(theirs);
        }
        self.rows += other.rows;
        self.check_time += other.check_time;
        self.profile_time += other.profile_time;
        let started = Instant::now();
        self.profile.merge(other.profile);
        // The merged profile may have new columns, at new indices.
        self.layout = None;
        let index = &mut self.profile_index;
        index.clear();
        self.profile.column_names(&mut |at, name| {
            index.insert(name.to_owned(), at);
        });
        self.profile_time += started.elapsed();
    }

    /// The rows read (malformed ones included).
    pub fn rows(&self) -> u64 {
        self.rows
    }

    /// The result of every check, in plan order. `files` are all files read.
    /// Fails only when `unique`'s temporary files cannot be written or read.
    pub fn finish(
        self,
        plan: &Plan,
        files: &[Arc<FileInfo>],
    ) -> std::io::Result<(Vec<CheckResult>, P)> {
        self.finish_with_keys(plan, files)
            .map(|(checks, profile, _)| (checks, profile))
    }

    /// [`Self::finish`], with each unique check's distinct keys when the plan
    /// records them (a shard's pass).
    #[allow(clippy::too_many_lines, clippy::cast_precision_loss)]
    pub fn finish_with_keys(
        mut self,
        plan: &Plan,
        files: &[Arc<FileInfo>],
    ) -> std::io::Result<(Vec<CheckResult>, P, Option<ShardKeys>)> {
        let rows = self.rows;
        let mut keys = plan.record_keys.then(|| ShardKeys {
            files: files.iter().map(|file| file.display.clone()).collect(),
            checks: Vec::new(),
        });
        // Values seen by several workers or spilled; the tables are freed here.
        for (column, acc) in plan.columns.iter().zip(&mut self.columns) {
            let seen = std::mem::take(&mut acc.seen);
            if let Some(check) = column.unique {
                let run = seen.settle_recording(
                    duplicate_reporter(&mut self.checks[check]),
                    keys.is_some(),
                )?;
                if let (Some(keys), Some(run)) = (keys.as_mut(), run) {
                    keys.checks.push(CheckKeys {
                        name: plan.checks[check].name.clone(),
                        rule: plan.checks[check].rule,
                        column: Some(column.name.clone()),
                        run,
                    });
                }
            }
        }
        for (compound, seen) in plan
            .compounds
            .iter()
            .zip(std::mem::take(&mut self.compounds))
        {
            let run = seen.settle_recording(
                duplicate_reporter(&mut self.checks[compound.check]),
                keys.is_some(),
            )?;
            if let (Some(keys), Some(run)) = (keys.as_mut(), run) {
                keys.checks.push(CheckKeys {
                    name: plan.checks[compound.check].name.clone(),
                    rule: plan.checks[compound.check].rule,
                    column: None,
                    run,
                });
            }
        }
        // Per-value checks look at non-null values (not-null: all rows).
        for (column, acc) in plan.columns.iter().zip(&self.columns) {
            let values = acc.rows - acc.nulls;
            let per_value = [
                column.type_check,
                column.min.map(|m| m.0),
                column.max.map(|m| m.0),
                column.length.map(|m| m.0),
                column.pattern.as_ref().map(|m| m.0),
                column.allowed.as_ref().map(|m| m.0),
                column.unique,
            ];
            for check in per_value.into_iter().flatten() {
                self.checks[check].evaluated = values;
            }
            if let Some(check) = column.not_null {
                self.checks[check].evaluated = acc.rows;
            }
        }
        self.checks[plan.malformed].evaluated = rows;
        let mut observed: Vec<Option<(bool, String)>> = vec![None; plan.checks.len()];
        if let Some((check, range)) = plan.rows {
            self.checks[check].evaluated = rows;
            observed[check] = Some((range.contains(rows), format!("{rows} rows")));
        }
        // Columns: present in each file, and matching the declared set or list.
        let declared: Vec<&str> = plan.columns.iter().map(|c| c.name.as_str()).collect();
        let present: Vec<std::collections::HashSet<&str>> =
            if plan.columns.iter().any(|c| c.required.is_some()) {
                files
                    .iter()
                    .map(|file| file.columns.iter().map(String::as_str).collect())
                    .collect()
            } else {
                Vec::new()
            };
        for column in &plan.columns {
            if let Some(check) = column.required {
                let acc = &mut self.checks[check];
                for (file, present) in files.iter().zip(&present) {
                    acc.evaluated += 1;
                    if !present.contains(column.name.as_str()) {
                        let line = file.header_line.unwrap_or(1);
                        acc.fail(file.index, line, || RawOffense {
                            file: file.index,
                            line,
                            column: None,
                            value: None,
                            detail: Some(format!(
                                "no column `{}` in {}",
                                column.name, file.display
                            )),
                            rule: None,
                        });
                    }
                }
            }
        }
        if let Some((check, how)) = plan.column_match {
            let acc = &mut self.checks[check];
            for file in files {
                acc.evaluated += 1;
                let found: Vec<&str> = file.columns.iter().map(String::as_str).collect();
                let ok = if how == ColumnMatch::Exact {
                    found == declared
                } else {
                    {
                        let mut a = found.clone();
                        let mut b = declared.clone();
                        a.sort_unstable();
                        b.sort_unstable();
                        a == b
                    }
                };
                if !ok {
                    let line = file.header_line.unwrap_or(1);
                    let declared_set: std::collections::HashSet<&str> =
                        declared.iter().copied().collect();
                    let found_set: std::collections::HashSet<&str> =
                        found.iter().copied().collect();
                    let extra: Vec<&str> = found
                        .iter()
                        .filter(|c| !declared_set.contains(*c))
                        .copied()
                        .collect();
                    let missing: Vec<&str> = declared
                        .iter()
                        .filter(|c| !found_set.contains(*c))
                        .copied()
                        .collect();
                    let detail = if extra.is_empty() && missing.is_empty() {
                        "the columns are in another order".to_owned()
                    } else {
                        format!(
                            "unexpected: [{}]; missing: [{}]",
                            extra.join(", "),
                            missing.join(", ")
                        )
                    };
                    acc.fail(file.index, line, || RawOffense {
                        file: file.index,
                        line,
                        column: None,
                        value: Some(found.join(",")),
                        detail: Some(detail),
                        rule: None,
                    });
                }
            }
        }
        // Aggregates.
        for (column, acc) in plan.columns.iter().zip(&self.columns) {
            let moments = acc.moments;
            if let Some((check, range)) = column.mean {
                self.checks[check].evaluated = moments.count;
                observed[check] = Some(if moments.count == 0 {
                    (false, "no numeric values".to_owned())
                } else {
                    (
                        range.contains(moments.mean),
                        format!("mean {}", moments.mean),
                    )
                });
            }
            if let Some((check, range)) = column.stddev {
                self.checks[check].evaluated = moments.count;
                observed[check] = Some(match moments.stddev() {
                    None => (false, "fewer than 2 numeric values".to_owned()),
                    Some(sd) => (range.contains(sd), format!("stddev {sd}")),
                });
            }
            for ((check, bound), (below, at_most)) in column.quantiles.iter().zip(&acc.quantiles) {
                let n = moments.count.max(acc.rows - acc.nulls);
                self.checks[*check].evaluated = n;
                let need = bound.q * n as f64;
                // The lower q-quantile is >= min iff fewer than q*n values are below min,
                // and <= max iff at least q*n values are at or below max.
                let low_ok = bound.min.is_none() || (*below as f64) < need;
                let high_ok = bound.max.is_none() || (*at_most as f64) >= need;
                let mut text = Vec::new();
                if bound.min.is_some() {
                    text.push(format!(
                        "{:.4} of values below the min",
                        *below as f64 / n.max(1) as f64
                    ));
                }
                if bound.max.is_some() {
                    text.push(format!(
                        "{:.4} at or below the max",
                        *at_most as f64 / n.max(1) as f64
                    ));
                }
                observed[*check] = Some((n > 0 && low_ok && high_ok, text.join(", ")));
            }
            if let Some((check, range)) = column.null_fraction {
                let fraction = if acc.rows == 0 {
                    0.0
                } else {
                    acc.nulls as f64 / acc.rows as f64
                };
                self.checks[check].evaluated = acc.rows;
                self.checks[check].failed = acc.nulls;
                observed[check] = Some((
                    range.contains(fraction),
                    format!(
                        "null fraction {fraction:.4} ({} of {} rows)",
                        acc.nulls, acc.rows
                    ),
                ));
            }
        }
        let names: Vec<&str> = files.iter().map(|f| f.display.as_str()).collect();
        let results = plan
            .checks
            .iter()
            .zip(self.checks)
            .zip(observed)
            .map(|((spec, acc), observed)| {
                let (passed, observed) = observed.unwrap_or_else(|| {
                    let fraction = if acc.evaluated == 0 {
                        0.0
                    } else {
                        acc.failed as f64 / acc.evaluated as f64
                    };
                    let passed = match spec.mostly {
                        Some(mostly) => fraction <= 1.0 - mostly + 1e-12,
                        None => acc.failed == 0,
                    };
                    (
                        passed,
                        format!(
                            "{} of {} failed ({:.2}%)",
                            acc.failed,
                            acc.evaluated,
                            fraction * 100.0
                        ),
                    )
                });
                let mut offenders = acc.offenders;
                offenders.sort_by_key(|o| (o.file, o.line, o.column));
                CheckResult {
                    name: spec.name.clone(),
                    rule: spec.rule,
                    column: spec.column.clone(),
                    passed,
                    observed,
                    evaluated: acc.evaluated,
                    failed: acc.failed,
                    offenders: offenders
                        .into_iter()
                        .map(|o| Offense {
                            file: names
                                .get(o.file as usize)
                                .map_or_else(String::new, |n| (*n).to_owned()),
                            line: o.line,
                            column: o.column,
                            value: o.value,
                            detail: o.detail,
                            rule: o.rule,
                        })
                        .collect(),
                }
            })
            .collect();
        Ok((results, self.profile, keys))
    }
}

/// Reports a duplicate found at the end: its place and the earliest place of its
/// value (the value itself is not kept).
fn duplicate_reporter(check: &mut CheckAcc) -> impl FnMut((u32, u64), (u32, u64)) + '_ {
    move |later, earlier| {
        check.fail(later.0, later.1, || RawOffense {
            file: later.0,
            line: later.1,
            column: None,
            value: None,
            detail: Some(format!("same value as line {}", earlier.1)),
            rule: None,
        });
    }
}

#[inline]
fn observe_untyped<C: ColumnSink>(profile: &mut C, bytes: &[u8], text: Option<&str>, all: &[u8]) {
    match parse_number(bytes) {
        Some(number) => profile.observe_number(number),
        None => profile.observe_text(text_of(text, all, bytes)),
    }
}

/// A field of a batch as text: sliced from the batch's text when the whole batch
/// is valid UTF-8, else checked alone (`""` when it is not UTF-8).
#[inline]
fn text_of<'a>(text: Option<&'a str>, all: &'a [u8], field: &'a [u8]) -> &'a str {
    text.and_then(|text| {
        let start = field.as_ptr().addr().wrapping_sub(all.as_ptr().addr());
        text.get(start..start + field.len())
    })
    .or_else(|| std::str::from_utf8(field).ok())
    .unwrap_or_default()
}

/// How a column of a kind reads its values and shows them to the profile.
trait ReadAs {
    /// Numbers read go to the profile as numbers (the rest as text).
    const NUMERIC: bool = false;
    /// Untyped: the profile sees what the value looks like.
    const UNTYPED: bool = false;
    fn read(bytes: &[u8]) -> Option<Value<'_>>;
}

struct ReadUntyped;
struct ReadText;
struct ReadInteger;
struct ReadNumber;
struct ReadBoolean;
struct ReadDate;
struct ReadDatetime;

impl ReadAs for ReadUntyped {
    const UNTYPED: bool = true;
    #[inline]
    fn read(bytes: &[u8]) -> Option<Value<'_>> {
        Some(Value::Text(bytes))
    }
}

impl ReadAs for ReadText {
    #[inline]
    fn read(bytes: &[u8]) -> Option<Value<'_>> {
        Some(Value::Text(bytes))
    }
}

impl ReadAs for ReadInteger {
    const NUMERIC: bool = true;
    #[inline]
    fn read(bytes: &[u8]) -> Option<Value<'_>> {
        parse_integer(bytes).map(Value::Number)
    }
}

impl ReadAs for ReadNumber {
    const NUMERIC: bool = true;
    #[inline]
    fn read(bytes: &[u8]) -> Option<Value<'_>> {
        parse_number(bytes).map(Value::Number)
    }
}

impl ReadAs for ReadBoolean {
    #[inline]
    fn read(bytes: &[u8]) -> Option<Value<'_>> {
        read_value(Some(ColumnType::Boolean), bytes)
    }
}

impl ReadAs for ReadDate {
    #[inline]
    fn read(bytes: &[u8]) -> Option<Value<'_>> {
        read_value(Some(ColumnType::Date), bytes)
    }
}

impl ReadAs for ReadDatetime {
    #[inline]
    fn read(bytes: &[u8]) -> Option<Value<'_>> {
        read_value(Some(ColumnType::Datetime), bytes)
    }
}

/// One declared column of one batch: what its row loop needs.
/// The profile index of a column declared `profile: false` (in a [`Layout`]).
const UNPROFILED: usize = usize::MAX;

/// One declared column of a batch, before the profile it feeds is chosen.
struct DeclaredPass<'a> {
    plan: &'a Plan,
    plan_column: &'a ColumnPlan,
    acc: &'a mut ColumnAcc,
    checks: &'a mut [CheckAcc],
    batch: &'a Batch,
    numbers: Option<&'a crate::read::NumberColumn>,
    physical: usize,
    column_number: Option<u32>,
}

impl DeclaredPass<'_> {
    /// Checks every value and feeds `profile` (of a `Q`).
    #[inline]
    fn run<Q: ProfileSink>(self, profile: &mut Q::Column, text: Option<&str>) {
        let Self {
            plan,
            plan_column,
            acc,
            checks,
            batch,
            numbers,
            physical,
            column_number,
        } = self;
        if let Some(numbers) = numbers
            && typed::reads_numbers(plan_column)
        {
            typed::NumberPass::<Q> {
                plan: plan_column,
                acc,
                checks,
                profile,
                batch,
                numbers,
                column_number,
                spill_entries: plan.spill_entries,
            }
            .run();
            return;
        }
        let column = ColumnPass {
            plan: plan_column,
            acc,
            checks,
            profile,
            batch,
            physical,
            column_number,
            text,
            spill_entries: plan.spill_entries,
        };
        // One row loop per kind of value, its parser inlined.
        match plan_column.kind {
            None => column.run::<Q, ReadUntyped>(),
            Some(ColumnType::String | ColumnType::Categorical) => {
                column.run::<Q, ReadText>();
            }
            Some(ColumnType::Integer) => column.run::<Q, ReadInteger>(),
            Some(ColumnType::Number) => column.run::<Q, ReadNumber>(),
            Some(ColumnType::Boolean) => column.run::<Q, ReadBoolean>(),
            Some(ColumnType::Date) => column.run::<Q, ReadDate>(),
            Some(ColumnType::Datetime) => column.run::<Q, ReadDatetime>(),
        }
    }
}

struct ColumnPass<'a, C> {
    plan: &'a ColumnPlan,
    acc: &'a mut ColumnAcc,
    checks: &'a mut [CheckAcc],
    profile: &'a mut C,
    batch: &'a Batch,
    physical: usize,
    column_number: Option<u32>,
    /// The batch's bytes as text, when valid UTF-8 (and a profile is fed).
    text: Option<&'a str>,
    spill_entries: usize,
}

impl<C: ColumnSink> ColumnPass<'_, C> {
    /// Checks and profiles every value of the column in the batch.
    fn run<P: ProfileSink<Column = C>, R: ReadAs>(self) {
        let Self {
            plan: plan_column,
            acc,
            checks,
            profile,
            batch,
            physical,
            column_number,
            text,
            spill_entries,
        } = self;
        let file = &batch.file;
        let file_index = file.index;
        let needs_number = plan_column.needs_number();
        let fields = batch.fields[physical..].iter().step_by(batch.columns);
        for (field, &line) in fields.zip(&batch.lines) {
            let field = field.get(&batch.bytes);
            let bytes = match field {
                Some(bytes) if !file.nulls.contains(bytes) => bytes,
                _ => {
                    acc.nulls += 1;
                    profile.observe_null();
                    if let Some(check) = plan_column.not_null {
                        checks[check].fail(file_index, line, || RawOffense {
                            file: file_index,
                            line,
                            column: column_number,
                            value: field.map(lossy),
                            detail: None,
                            rule: None,
                        });
                    }
                    continue;
                }
            };
            let offense = |detail: Option<String>| RawOffense {
                file: file_index,
                line,
                column: column_number,
                value: Some(lossy(bytes)),
                detail,
                rule: None,
            };
            let value = R::read(bytes);
            if P::ACTIVE {
                match value {
                    Some(Value::Number(number)) if R::NUMERIC => profile.observe_number(number),
                    _ if R::UNTYPED => {
                        observe_untyped(profile, bytes, text, &batch.bytes);
                    }
                    _ => profile.observe_text(text_of(text, &batch.bytes, bytes)),
                }
            }
            let Some(value) = value else {
                if let Some(check) = plan_column.type_check {
                    checks[check].fail(file_index, line, || offense(None));
                }
                continue;
            };
            if needs_number {
                let number = match value {
                    Value::Number(number) => Some(number),
                    Value::Text(text) => parse_number(text),
                };
                match number {
                    Some(number) => {
                        check_number(
                            plan_column,
                            acc,
                            checks,
                            number,
                            (file_index, line),
                            offense,
                        );
                    }
                    None => {
                        for (check, _, _) in
                            [plan_column.min, plan_column.max].into_iter().flatten()
                        {
                            checks[check].fail(file_index, line, || {
                                offense(Some("not a number".to_owned()))
                            });
                        }
                    }
                }
            }
            check_text(
                plan_column,
                acc,
                checks,
                bytes,
                (file_index, line, column_number),
                spill_entries,
                offense,
            );
        }
    }
}

/// The checks of a value read as a number: its bounds, and the moments and
/// quantile counts the checks over the whole dataset need. Shared by the text
/// and the typed (Parquet) row loops; `offense` builds a failure's report.
#[inline]
fn check_number(
    plan: &ColumnPlan,
    acc: &mut ColumnAcc,
    checks: &mut [CheckAcc],
    number: f64,
    (file, line): (u32, u64),
    offense: impl Fn(Option<String>) -> RawOffense,
) {
    if let Some((check, bound, exclusive)) = plan.min
        && !(number > bound || (!exclusive && number >= bound))
    {
        checks[check].fail(file, line, || offense(None));
    }
    if let Some((check, bound, exclusive)) = plan.max
        && !(number < bound || (!exclusive && number <= bound))
    {
        checks[check].fail(file, line, || offense(None));
    }
    if plan.needs_moments() {
        acc.moments.push(number);
    }
    for ((_, bound), counts) in plan.quantiles.iter().zip(&mut acc.quantiles) {
        if bound.min.is_some_and(|min| number < min) {
            counts.0 += 1;
        }
        if bound.max.is_some_and(|max| number <= max) {
            counts.1 += 1;
        }
    }
}

/// The checks of a value's text: length, pattern, enum and uniqueness. Shared by
/// the text and the typed (Parquet) row loops; `offense` builds a failure's report.
#[inline]
fn check_text(
    plan: &ColumnPlan,
    acc: &mut ColumnAcc,
    checks: &mut [CheckAcc],
    bytes: &[u8],
    (file, line, column): (u32, u64, Option<u32>),
    spill_entries: usize,
    offense: impl Fn(Option<String>) -> RawOffense,
) {
    if let Some((check, low, high)) = plan.length {
        let length = bytes.iter().filter(|&&b| (b & 0xC0) != 0x80).count() as u64;
        if length < low || length > high {
            checks[check].fail(file, line, || offense(Some(format!("length {length}"))));
        }
    }
    if let Some((check, regex)) = &plan.pattern
        && !regex.is_match(bytes)
    {
        checks[*check].fail(file, line, || offense(None));
    }
    if let Some((check, allowed)) = &plan.allowed
        && !allowed.contains(bytes)
    {
        checks[*check].fail(file, line, || offense(None));
    }
    if let Some(check) = plan.unique
        && let Some((later, earlier)) = acc.seen.insert(xxh3_64(bytes), file, line, spill_entries)
    {
        checks[check].fail(later.0, later.1, || RawOffense {
            file: later.0,
            line: later.1,
            column,
            value: Some(lossy(bytes)),
            detail: Some(format!("first seen at line {}", earlier.1)),
            rule: None,
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn moments_merge_like_one_pass() {
        let values = [1.0, 2.0, 4.0, 8.0, 16.0];
        let mut whole = Moments::default();
        for v in values {
            whole.push(v);
        }
        let (mut a, mut b) = (Moments::default(), Moments::default());
        values[..2].iter().for_each(|v| a.push(*v));
        values[2..].iter().for_each(|v| b.push(*v));
        a.merge(b);
        assert!((a.mean - whole.mean).abs() < 1e-12);
        assert!((a.stddev().unwrap() - whole.stddev().unwrap()).abs() < 1e-12);
    }
}
