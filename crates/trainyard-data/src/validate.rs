//! One pass over a dataset: every check evaluated, every value profiled, in parallel
//! over chunks on all cores, memory flat in the dataset's size. The result per check
//! becomes [`Finding`]s at `file:line:column`.

use std::fmt::Write as _;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use rayon::iter::{ParallelBridge, ParallelIterator};
use serde::Serialize;
use trainyard_core::manifest::Dataset;
use trainyard_core::manifest::data::DataSchema;
use trainyard_core::markdown::{self, Table};
use trainyard_core::{Finding, Location, StepError};

use crate::check::Plan;
use crate::check::keys::ShardKeys;
pub use crate::check::{Accumulator, CheckResult, ColumnSink, NoProfile, Offense, ProfileSink};
use crate::profile::DatasetProfile;
use crate::read::{self, Batch, Chunks, FileInfo, InputFile, ReadOptions, Shard};
use crate::schema;

/// The outcome of validating one dataset.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Validation {
    /// The dataset's name in the manifest.
    pub dataset: String,
    /// The files read, as shown in findings.
    pub files: Vec<String>,
    /// Rows read, malformed ones included.
    pub rows: u64,
    /// Bytes read (after decompression).
    pub bytes: u64,
    /// One result per check, in schema order; the first is `rows are well-formed`.
    pub checks: Vec<CheckResult>,
    /// Warnings met reading the schema (unsupported expectations, ...).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<Finding>,
}

impl Validation {
    /// Whether every check passed.
    pub fn passed(&self) -> bool {
        self.checks.iter().all(|check| check.passed)
    }

    /// The failed checks.
    pub fn failures(&self) -> impl Iterator<Item = &CheckResult> {
        self.checks.iter().filter(|check| !check.passed)
    }

    /// Findings: the schema's warnings; then for each failed check one finding that
    /// says what was observed, and one per offending row shown, at `file:line:column`.
    pub fn findings(&self) -> Vec<Finding> {
        let mut findings = self.warnings.clone();
        for check in self.failures() {
            let where_ = check
                .offenders
                .first()
                .map(|o| o.file.clone())
                .or_else(|| self.files.first().cloned())
                .unwrap_or_default();
            let more = if check.failed > check.offenders.len() as u64 && !check.offenders.is_empty()
            {
                format!("; the first {} are reported", check.offenders.len())
            } else {
                String::new()
            };
            findings.push(
                Finding::error(
                    check.rule,
                    format!(
                        "dataset `{}`: check `{}` failed: {}{more}",
                        self.dataset, check.name, check.observed
                    ),
                )
                .at(Location::file(where_)),
            );
            for offense in &check.offenders {
                findings.push(offense_finding(check, offense));
            }
        }
        findings
    }

    /// The dataset's line and a Markdown table of its checks, for the job summary.
    pub fn summary_markdown(&self) -> String {
        format!(
            "**{}**: {} rows in {} file(s), {} of {} checks passed\n\n{}",
            markdown::text(&self.dataset),
            self.rows,
            self.files.len(),
            self.checks.iter().filter(|c| c.passed).count(),
            self.checks.len(),
            checks_markdown(&self.checks)
        )
    }
}

/// Checks as a Markdown table (check, result, observed), for a job summary.
pub fn checks_markdown(checks: &[CheckResult]) -> String {
    let mut table = Table::new(["check", "result", "observed"]);
    for check in checks {
        table.row([
            markdown::code(&check.name),
            if check.passed { "pass" } else { "**fail**" }.to_owned(),
            markdown::cell(&check.observed),
        ]);
    }
    table.render()
}

/// The finding of one offending row, at `file:line:column`.
pub fn offense_finding(check: &CheckResult, offense: &Offense) -> Finding {
    let mut message = format!("`{}`", check.name);
    if let Some(value) = &offense.value {
        let _ = write!(message, ": value `{value}`");
    }
    if let Some(detail) = &offense.detail {
        let _ = write!(message, " ({detail})");
    }
    let line = u32::try_from(offense.line).unwrap_or(u32::MAX);
    Finding::error(offense.rule.unwrap_or(check.rule), message)
        .at(Location::file(offense.file.clone()).at(line, offense.column))
}

/// How to read a dataset, from its manifest entry; `null_values` from an imported
/// schema apply when the dataset sets none.
pub fn read_options(dataset: &Dataset, null_values: Option<Vec<String>>) -> ReadOptions {
    let mut csv = dataset.csv.clone().unwrap_or_default();
    if csv.null_values.is_none() {
        csv.null_values = null_values;
    }
    ReadOptions {
        format: dataset.format,
        csv,
        ..ReadOptions::default()
    }
}

/// Validates the dataset `name` of the manifest; `base` is the manifest's folder.
/// A dataset without a schema is still read: malformed rows are reported.
pub fn validate_dataset(
    name: &str,
    dataset: &Dataset,
    base: &Path,
) -> Result<Validation, StepError> {
    validate_dataset_with::<NoProfile>(name, dataset, base).map(|(validation, _)| validation)
}

/// [`validate_dataset`], feeding every value to a profile `P` in the same pass.
pub fn validate_dataset_with<P: ProfileSink>(
    name: &str,
    dataset: &Dataset,
    base: &Path,
) -> Result<(Validation, P), StepError> {
    validate_shard_with::<P>(name, dataset, base, None)
}

/// [`validate_dataset_with`] on one shard of the dataset's chunks. A shard checks
/// every row it reads; the checks over the whole dataset (row count, mean, stddev,
/// quantiles, null fraction) are left to `data merge`, which evaluates them on
/// the merged profile ([`aggregate_checks`]).
pub fn validate_shard_with<P: ProfileSink>(
    name: &str,
    dataset: &Dataset,
    base: &Path,
    shard: Option<Shard>,
) -> Result<(Validation, P), StepError> {
    let inputs = read::resolve(base, &dataset.path)?;
    validate_inputs_with::<P>(name, dataset, base, inputs, shard)
}

/// [`validate_shard_with`] on inputs already resolved (objects in storage, or
/// local files): `base` is still where the dataset's schema file is.
pub fn validate_inputs_with<P: ProfileSink>(
    name: &str,
    dataset: &Dataset,
    base: &Path,
    inputs: Vec<InputFile>,
    shard: Option<Shard>,
) -> Result<(Validation, P), StepError> {
    validate_inputs_keyed::<P>(name, dataset, base, inputs, shard)
        .map(|pass| (pass.validation, pass.profile))
}

/// [`validate_inputs_with`]; a shard also returns the distinct keys of its
/// `unique` and `unique-together` checks, for `data merge` to find duplicates
/// across shards ([`crate::check::keys`]).
pub fn validate_inputs_keyed<P: ProfileSink>(
    name: &str,
    dataset: &Dataset,
    base: &Path,
    inputs: Vec<InputFile>,
    shard: Option<Shard>,
) -> Result<Pass<P>, StepError> {
    let loaded = schema::for_dataset(dataset, base)?.unwrap_or_default();
    let schema_file = dataset
        .schema_file
        .as_deref()
        .unwrap_or(trainyard_core::manifest::MANIFEST_FILE);
    let mut options = read_options(dataset, loaded.null_values.clone());
    options.shard = shard;
    let schema = match shard {
        Some(_) => without_aggregates(&loaded.schema),
        None => loaded.schema,
    };
    let mut pass =
        validate_files_timed::<P>(name, inputs, &schema, schema_file, options, shard.is_some())?;
    pass.validation.warnings = loaded.warnings;
    Ok(pass)
}

/// The profile of a dataset, read as `data validate` reads it (its CSV options,
/// its declared column types) but without its checks: what `data drift` compares.
pub fn profile_dataset(dataset: &Dataset, base: &Path) -> Result<DatasetProfile, StepError> {
    profile_dataset_inputs(dataset, base, read::resolve(base, &dataset.path)?)
}

/// [`profile_dataset`] on inputs already resolved.
pub fn profile_dataset_inputs(
    dataset: &Dataset,
    base: &Path,
    inputs: Vec<InputFile>,
) -> Result<DatasetProfile, StepError> {
    let loaded = schema::for_dataset(dataset, base)?.unwrap_or_default();
    let types = DataSchema {
        columns: loaded
            .schema
            .columns
            .iter()
            .map(|column| trainyard_core::manifest::data::ColumnSchema {
                kind: column.kind,
                ..trainyard_core::manifest::data::ColumnSchema::named(column.name.clone())
            })
            .collect(),
        ..DataSchema::default()
    };
    let options = read_options(dataset, loaded.null_values);
    profile_files(inputs, &types, options)
}

/// The profile of files read with `options`, values typed by `schema`'s columns.
pub fn profile_files(
    inputs: Vec<InputFile>,
    schema: &DataSchema,
    options: ReadOptions,
) -> Result<DatasetProfile, StepError> {
    validate_files::<DatasetProfile>("", inputs, schema, "", options).map(|(_, profile)| profile)
}

/// The schema less its checks over the whole dataset.
pub fn without_aggregates(schema: &DataSchema) -> DataSchema {
    let mut schema = schema.clone();
    schema.rows = None;
    for column in &mut schema.columns {
        column.mean = None;
        column.stddev = None;
        column.quantiles.clear();
        column.null_fraction = None;
    }
    schema
}

/// The checks over the whole dataset (row count, mean, stddev, quantiles, null
/// fraction), evaluated on its profile: how `data merge` completes a sharded run.
/// Mean, stddev and null fraction are exact; quantiles come from the sketch
/// (within [`crate::profile::QUANTILE_RELATIVE_ERROR`]).
pub fn aggregate_checks(schema: &DataSchema, profile: &DatasetProfile) -> Vec<CheckResult> {
    let mut results = Vec::new();
    let result = |name: String, column: Option<&str>, rule, passed, observed: String, evaluated| {
        CheckResult {
            name,
            rule,
            column: column.map(str::to_owned),
            passed,
            observed,
            evaluated,
            failed: u64::from(!passed),
            offenders: Vec::new(),
        }
    };
    if let Some(range) = schema.rows {
        results.push(result(
            format!("row count {}", count_text(range.min, range.max)),
            None,
            "check/row-count",
            range.contains(profile.rows),
            format!("{} rows", profile.rows),
            profile.rows,
        ));
    }
    for column in &schema.columns {
        let name = column.name.as_str();
        let Some(stats) = profile.column(name) else {
            results.extend(unevaluable(column));
            continue;
        };
        if let Some(range) = column.mean {
            let (passed, observed) = match stats.mean() {
                Some(mean) => (range.contains(mean), format!("mean {mean}")),
                None => (false, "no numeric values".to_owned()),
            };
            results.push(result(
                format!("{name}: mean {}", range_text(range.min, range.max)),
                Some(name),
                "check/mean",
                passed,
                observed,
                stats.numbers(),
            ));
        }
        if let Some(range) = column.stddev {
            let (passed, observed) = match stats.std() {
                Some(sd) => (range.contains(sd), format!("stddev {sd}")),
                None => (false, "fewer than 2 numeric values".to_owned()),
            };
            results.push(result(
                format!("{name}: stddev {}", range_text(range.min, range.max)),
                Some(name),
                "check/stddev",
                passed,
                observed,
                stats.numbers(),
            ));
        }
        for bound in &column.quantiles {
            let (passed, observed) = match stats.quantile(bound.q) {
                Some(value) => (
                    bound.min.is_none_or(|min| value >= min)
                        && bound.max.is_none_or(|max| value <= max),
                    format!("quantile {} ~ {value} (sketch)", bound.q),
                ),
                None => (false, "no numeric values".to_owned()),
            };
            results.push(result(
                format!(
                    "{name}: quantile {} {}",
                    bound.q,
                    range_text(bound.min, bound.max)
                ),
                Some(name),
                "check/quantile",
                passed,
                observed,
                stats.numbers(),
            ));
        }
        if let Some(range) = column.null_fraction {
            let fraction = stats.null_fraction();
            results.push(result(
                format!("{name}: null fraction {}", range_text(range.min, range.max)),
                Some(name),
                "check/null-fraction",
                range.contains(fraction),
                format!(
                    "null fraction {fraction:.4} ({} of {} rows)",
                    stats.nulls(),
                    stats.count()
                ),
                stats.count(),
            ));
        }
    }
    results
}

/// The whole-dataset checks of a column no profile holds: failed, saying why
/// (nothing to evaluate them on, which must not pass in silence).
fn unevaluable(column: &trainyard_core::manifest::data::ColumnSchema) -> Vec<CheckResult> {
    let why = if column.profile {
        "the column is in no shard's profile (absent from the data)"
    } else {
        "the column is declared `profile: false`, so no shard profiled it"
    };
    whole_dataset_names(column)
        .into_iter()
        .map(|(name, rule)| CheckResult {
            name,
            rule,
            column: Some(column.name.clone()),
            passed: false,
            observed: why.to_owned(),
            evaluated: 0,
            failed: 1,
            offenders: Vec::new(),
        })
        .collect()
}

/// The name and rule of each whole-dataset check of `column`, as
/// [`aggregate_checks`] names them.
fn whole_dataset_names(
    column: &trainyard_core::manifest::data::ColumnSchema,
) -> Vec<(String, &'static str)> {
    let name = &column.name;
    let mut names = Vec::new();
    if let Some(range) = column.mean {
        names.push((
            format!("{name}: mean {}", range_text(range.min, range.max)),
            "check/mean",
        ));
    }
    if let Some(range) = column.stddev {
        names.push((
            format!("{name}: stddev {}", range_text(range.min, range.max)),
            "check/stddev",
        ));
    }
    for bound in &column.quantiles {
        names.push((
            format!(
                "{name}: quantile {} {}",
                bound.q,
                range_text(bound.min, bound.max)
            ),
            "check/quantile",
        ));
    }
    if let Some(range) = column.null_fraction {
        names.push((
            format!("{name}: null fraction {}", range_text(range.min, range.max)),
            "check/null-fraction",
        ));
    }
    names
}

fn count_text(min: Option<u64>, max: Option<u64>) -> String {
    match (min, max) {
        (Some(min), Some(max)) => format!("in [{min}, {max}]"),
        (Some(min), None) => format!(">= {min}"),
        (None, Some(max)) => format!("<= {max}"),
        (None, None) => "any".to_owned(),
    }
}

fn range_text(min: Option<f64>, max: Option<f64>) -> String {
    match (min, max) {
        (Some(min), Some(max)) => format!("in [{min}, {max}]"),
        (Some(min), None) => format!(">= {min}"),
        (None, Some(max)) => format!("<= {max}"),
        (None, None) => "any".to_owned(),
    }
}

/// Validates files against a schema; `schema_file` names the schema in errors.
pub fn validate_files<P: ProfileSink>(
    name: &str,
    inputs: Vec<InputFile>,
    schema: &DataSchema,
    schema_file: &str,
    options: ReadOptions,
) -> Result<(Validation, P), StepError> {
    validate_files_keyed::<P>(name, inputs, schema, schema_file, options, false)
        .map(|(validation, profile, _)| (validation, profile))
}

/// Where a validation pass spent its time, in seconds. `read`, `check` and
/// `profile` are elapsed time on the worker threads, summed (on 2 cores they
/// can add up to twice `wall`; on a busy machine they include waits for a core): `read` cuts, decompresses and parses the chunks;
/// `check` runs the row loops of declared columns (whose values feed the
/// profile in the same loop: that share is counted here), the checks across
/// columns and `unique`'s final merge; `profile` runs the row loops of the
/// columns only profiled and finishes the profile. `fingerprint` is the BLAKE3
/// digest on its own thread (set by the caller that computes it); `wall` is
/// the pass from its start to its results.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct Phases {
    pub read_seconds: f64,
    pub check_seconds: f64,
    pub profile_seconds: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fingerprint_seconds: Option<f64>,
    pub wall_seconds: f64,
}

/// What one validation pass gives.
#[derive(Debug)]
pub struct Pass<P> {
    pub validation: Validation,
    pub profile: P,
    /// A shard's distinct unique keys ([`crate::check::keys`]).
    pub keys: Option<ShardKeys>,
    pub phases: Phases,
}

/// [`validate_files`]; with `record_keys`, also the distinct keys of each
/// `unique` and `unique-together` check (what a shard keeps for `data merge`).
pub fn validate_files_keyed<P: ProfileSink>(
    name: &str,
    inputs: Vec<InputFile>,
    schema: &DataSchema,
    schema_file: &str,
    options: ReadOptions,
    record_keys: bool,
) -> Result<(Validation, P, Option<ShardKeys>), StepError> {
    validate_files_timed::<P>(name, inputs, schema, schema_file, options, record_keys)
        .map(|pass| (pass.validation, pass.profile, pass.keys))
}

/// [`validate_files_keyed`], with the time each phase took.
pub fn validate_files_timed<P: ProfileSink>(
    name: &str,
    inputs: Vec<InputFile>,
    schema: &DataSchema,
    schema_file: &str,
    options: ReadOptions,
    record_keys: bool,
) -> Result<Pass<P>, StepError> {
    let started = Instant::now();
    let mut plan = Plan::new(schema, schema_file)?;
    plan.record_keys = record_keys;
    let mut options = options;
    if options.numeric_columns.is_none() {
        options.numeric_columns = Some(plan.numeric_columns());
    }
    let read = ReadTime::default();
    let (accumulator, files, bytes) = run_timed(
        inputs,
        options,
        || Accumulator::<P>::new(&plan),
        |acc, batch| acc.absorb(&plan, batch),
        |a, b| a.merge(&plan, b),
        &read,
    )?;
    let rows = accumulator.rows();
    let (mut check_time, mut profile_time) = accumulator.times();
    let finishing = Instant::now();
    let (checks, mut profile, keys) =
        accumulator
            .finish_with_keys(&plan, &files)
            .map_err(|error| {
                StepError::io(
                    "using a temporary file (for `unique`) in",
                    std::env::temp_dir(),
                    error,
                )
            })?;
    check_time += finishing.elapsed();
    let finishing = Instant::now();
    let mut columns: Vec<&str> = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for file in &files {
        for column in &file.columns {
            if plan.profiles(column) && seen.insert(column.as_str()) {
                columns.push(column);
            }
        }
    }
    profile.finish(&columns, rows);
    if let Some(malformed) = checks.get(plan.malformed) {
        profile.malformed(malformed.failed, &malformed.offenders);
    }
    profile_time += finishing.elapsed();
    Ok(Pass {
        validation: Validation {
            dataset: name.to_owned(),
            files: files.iter().map(|f| f.display.clone()).collect(),
            rows,
            bytes,
            checks,
            warnings: Vec::new(),
        },
        profile,
        keys,
        phases: Phases {
            read_seconds: read.seconds(),
            check_seconds: check_time.as_secs_f64(),
            profile_seconds: profile_time.as_secs_f64(),
            fingerprint_seconds: None,
            wall_seconds: started.elapsed().as_secs_f64(),
        },
    })
}

/// The parallel pass shared by validation and inference: chunks are read in order
/// (one reader at a time), parsed and absorbed on all cores, one accumulator per
/// worker, merged at the end. Returns the accumulator, the files and the bytes read.
pub(crate) fn run<A: Send>(
    inputs: Vec<InputFile>,
    options: ReadOptions,
    init: impl Fn() -> A + Sync + Send,
    absorb: impl Fn(&mut A, &Batch) + Sync + Send,
    merge: impl Fn(&mut A, A) + Sync + Send,
) -> Result<(A, Vec<Arc<FileInfo>>, u64), StepError> {
    run_timed(inputs, options, init, absorb, merge, &ReadTime::default())
}

/// Nanoseconds of worker time spent reading: cutting chunks (and reading,
/// decompressing them) and parsing them into batches, summed over threads.
#[derive(Debug, Default)]
pub(crate) struct ReadTime {
    nanos: AtomicU64,
}

impl ReadTime {
    fn add(&self, time: Duration) {
        self.nanos.fetch_add(
            u64::try_from(time.as_nanos()).unwrap_or(u64::MAX),
            Ordering::Relaxed,
        );
    }

    fn seconds(&self) -> f64 {
        Duration::from_nanos(self.nanos.load(Ordering::Relaxed)).as_secs_f64()
    }
}

/// An iterator whose `next` calls are timed into a [`ReadTime`].
struct Timed<'a, I> {
    inner: I,
    time: &'a ReadTime,
}

impl<I: Iterator> Iterator for Timed<'_, I> {
    type Item = I::Item;
    fn next(&mut self) -> Option<I::Item> {
        let started = Instant::now();
        let item = self.inner.next();
        self.time.add(started.elapsed());
        item
    }
}

/// [`run`], adding the time spent reading and parsing (not absorbing) to `read`.
pub(crate) fn run_timed<A: Send>(
    inputs: Vec<InputFile>,
    options: ReadOptions,
    init: impl Fn() -> A + Sync + Send,
    absorb: impl Fn(&mut A, &Batch) + Sync + Send,
    merge: impl Fn(&mut A, A) + Sync + Send,
    read: &ReadTime,
) -> Result<(A, Vec<Arc<FileInfo>>, u64), StepError> {
    let shard = options.shard;
    let chunks = Chunks::new(inputs, options);
    let files = chunks.files();
    let bytes = AtomicU64::new(0);
    let accumulator = Timed {
        inner: chunks,
        time: read,
    }
    .enumerate()
    .filter(|(position, chunk)| chunk.is_err() || shard.is_none_or(|s| s.keeps(*position)))
    .map(|(_, chunk)| chunk)
    .par_bridge()
    .try_fold(&init, |mut acc, chunk| {
        let chunk = chunk?;
        let text = chunk.data.len() as u64;
        bytes.fetch_add(text, Ordering::Relaxed);
        let started = Instant::now();
        let mut absorbing = Duration::ZERO;
        read::parse_each(chunk, &mut |batch| {
            if text == 0 {
                // Parquet: count the bytes of the values as read.
                bytes.fetch_add(batch.bytes.len() as u64, Ordering::Relaxed);
            }
            let absorb_started = Instant::now();
            absorb(&mut acc, &batch);
            absorbing += absorb_started.elapsed();
        });
        read.add(started.elapsed().saturating_sub(absorbing));
        Ok::<A, StepError>(acc)
    })
    .try_reduce(&init, |mut a, b| {
        merge(&mut a, b);
        Ok(a)
    })?;
    let mut files = files.lock().map(|files| files.clone()).unwrap_or_default();
    files.sort_by_key(|f| f.index);
    Ok((accumulator, files, bytes.into_inner()))
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;

    /// A row written: file, line, id, and the `x,y` pair.
    type Row = (String, u64, String, String);

    /// The check results of `*.csv` in `dir`, read in small chunks (so several
    /// workers see parts of each file), with `spill_entries` values of a `unique`
    /// table kept in memory.
    fn check_results(dir: &Path, schema: &DataSchema, spill_entries: usize) -> Vec<CheckResult> {
        shard_results(dir, schema, spill_entries, None).0
    }

    /// [`check_results`] of one shard, with the keys it keeps.
    fn shard_results(
        dir: &Path,
        schema: &DataSchema,
        spill_entries: usize,
        shard: Option<Shard>,
    ) -> (Vec<CheckResult>, Option<ShardKeys>) {
        let mut plan = Plan::new(schema, "test").unwrap();
        plan.spill_entries = spill_entries;
        plan.record_keys = shard.is_some();
        let options = ReadOptions {
            chunk_size: 2048,
            shard,
            ..ReadOptions::default()
        };
        let inputs = read::resolve(dir, "*.csv").unwrap();
        let (accumulator, files, _) = run(
            inputs,
            options,
            || Accumulator::<NoProfile>::new(&plan),
            |acc, batch| acc.absorb(&plan, batch),
            |a, b| a.merge(&plan, b),
        )
        .unwrap();
        let (results, _, keys) = accumulator.finish_with_keys(&plan, &files).unwrap();
        (results, keys)
    }

    /// In 3 shards, what each finds within itself and the merge finds across
    /// them adds up to the `ids` and `pairs` duplicates of one pass, in memory
    /// or spilled, at the same places.
    fn shards_add_up_to_one_pass(
        dir: &Path,
        schema: &DataSchema,
        rows: &[Row],
        ids: usize,
        pairs: usize,
    ) {
        let mut across_by_budget = Vec::new();
        for budget in [usize::MAX, 50] {
            let mut within = [0, 0];
            let mut files = Vec::new();
            for index in 0..3 {
                let shard = Shard { index, count: 3 };
                let (results, keys) = shard_results(dir, schema, budget, Some(shard));
                within[0] += results
                    .iter()
                    .find(|c| c.rule == "check/unique")
                    .unwrap()
                    .failed;
                within[1] += results
                    .iter()
                    .find(|c| c.rule == "check/unique-together")
                    .unwrap()
                    .failed;
                let path = dir.join(format!("keys-{budget}-{index}.keys"));
                keys.unwrap().save(&path, None, &shard.to_string()).unwrap();
                files.push(crate::check::keys::KeysFile::open(&path).unwrap());
            }
            let across = crate::check::keys::duplicates_across(&files).unwrap();
            assert_eq!(across.len(), 2);
            assert!(across[0].failed > 0 && across[1].failed > 0);
            assert_eq!(within[0] + across[0].failed, ids as u64, "budget {budget}");
            assert_eq!(
                within[1] + across[1].failed,
                pairs as u64,
                "budget {budget}"
            );
            // Each reported place holds a duplicate of the value at the place it names.
            let value_at = |file: &str, line: u64| {
                rows.iter()
                    .find(|row| file.ends_with(&row.0) && row.1 == line)
                    .map(|row| row.2.clone())
                    .unwrap()
            };
            for offense in &across[0].offenders {
                let detail = offense.detail.as_deref().unwrap();
                let earliest = detail.split("same value as ").nth(1).unwrap();
                let (file, line) = earliest
                    .split_once(" in shard")
                    .unwrap()
                    .0
                    .rsplit_once(':')
                    .unwrap();
                assert_eq!(
                    value_at(&offense.file, offense.line),
                    value_at(file, line.parse().unwrap()),
                    "{detail}"
                );
            }
            across_by_budget.push(across);
        }
        assert_eq!(across_by_budget[0], across_by_budget[1]);
    }

    #[test]
    fn unique_checks_spilled_to_disk_find_what_memory_finds() {
        let dir = tempfile::tempdir().unwrap();
        // Random ids with repeats (within and across files), a few planted many times.
        let mut state = 0x9E37_79B9_7F4A_7C15_u64;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        let mut rows: Vec<Row> = Vec::new();
        for name in ["a.csv", "b.csv"] {
            let mut text = "id,x,y\n".to_owned();
            for line in 2..3_000_u64 {
                let id = if next() % 40 == 0 { 7 } else { next() % 5_000 };
                let (x, y) = (next() % 60, next() % 60);
                let (x, y) = (
                    x.to_string(),
                    if y == 0 { String::new() } else { y.to_string() },
                );
                let _ = writeln!(text, "{id},{x},{y}");
                rows.push((name.to_owned(), line, format!("{id}"), format!("{x},{y}")));
            }
            std::fs::write(dir.path().join(name), text).unwrap();
        }
        let schema: DataSchema = serde_yaml_ng::from_str(
            "columns: [{ name: id, unique: true }, { name: x }, { name: y }]\nunique-together: [[x, y]]",
        )
        .unwrap();
        // Every row but the first of its value fails, at its own place.
        let expected = |value: &dyn Fn(&Row) -> String| {
            let mut seen = HashSet::new();
            let mut failed: Vec<(String, u64)> = Vec::new();
            for row in &rows {
                if !seen.insert(value(row)) {
                    failed.push((row.0.clone(), row.1));
                }
            }
            failed
        };
        let ids = expected(&|row| row.2.clone());
        let pairs = expected(&|row| row.3.clone());

        shards_add_up_to_one_pass(dir.path(), &schema, &rows, ids.len(), pairs.len());

        let memory = check_results(dir.path(), &schema, usize::MAX);
        let spilled = check_results(dir.path(), &schema, 50);
        let places = |check: &CheckResult| {
            check
                .offenders
                .iter()
                .map(|o| (o.file.clone(), o.line))
                .collect::<Vec<_>>()
        };
        for results in [&memory, &spilled] {
            let unique = results.iter().find(|c| c.rule == "check/unique").unwrap();
            assert_eq!(unique.failed, ids.len() as u64);
            assert_eq!(places(unique), ids[..20]);
            let together = results
                .iter()
                .find(|c| c.rule == "check/unique-together")
                .unwrap();
            assert_eq!(together.failed, pairs.len() as u64);
            assert_eq!(places(together), pairs[..20]);
        }
        for (in_memory, on_disk) in memory.iter().zip(&spilled) {
            assert_eq!(
                (
                    &in_memory.name,
                    in_memory.passed,
                    in_memory.evaluated,
                    in_memory.failed
                ),
                (
                    &on_disk.name,
                    on_disk.passed,
                    on_disk.evaluated,
                    on_disk.failed
                )
            );
            assert_eq!(places(in_memory), places(on_disk));
        }
    }
}
