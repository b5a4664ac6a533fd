//! Measures CSV validation throughput with the profile fed in the same pass (what
//! `data validate` runs): generates a CSV of about `MB` megabytes (default
//! 200) with mixed columns and some nulls, then validates it against a schema.
//! `cargo run --release -p trainyard-data --example validate_profile_bench -- 200`

use std::io::Write as _;
use std::time::Instant;

use trainyard_core::manifest::data::DataSchema;
use trainyard_data::profile::DatasetProfile;
use trainyard_data::read::{self, ReadOptions};
use trainyard_data::validate::validate_files_timed;

#[allow(clippy::cast_precision_loss, clippy::cast_possible_truncation)] // a benchmark's arithmetic
fn main() -> Result<(), Box<dyn std::error::Error>> {
    let megabytes: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(200);
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("bench.csv");
    let mut out = std::io::BufWriter::new(std::fs::File::create(&path)?);
    writeln!(out, "id,age,score,city,flag,day,name,amount")?;
    let cities = ["paris", "lyon", "rome", "oslo", "lima"];
    let mut written = 0;
    let mut i: u64 = 0;
    let mut state: u64 = 42;
    while written < megabytes << 20 {
        state = state
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1);
        let r = state >> 33;
        let age = if r.is_multiple_of(50) {
            String::new()
        } else {
            (r % 90).to_string()
        };
        let line = format!(
            "{i},{age},{:.4},{},{},2024-{:02}-{:02},name_{},{}.{:02}\n",
            (r % 10_000) as f64 / 1000.0,
            cities[(r % 5) as usize],
            r.is_multiple_of(2),
            r % 12 + 1,
            r % 28 + 1,
            r % 100_000,
            r % 5000,
            r % 100
        );
        written += line.len();
        out.write_all(line.as_bytes())?;
        i += 1;
    }
    out.flush()?;
    drop(out);
    let full = "columns:
  - {name: id, type: integer, nullable: false, unique: true}
  - {name: age, type: integer, min: 0, max: 120, null-fraction: {max: 0.05}}
  - {name: score, type: number, min: 0, max: 10, mean: {min: 4, max: 6}}
  - {name: city, type: categorical, enum: [paris, lyon, rome, oslo, lima]}
  - {name: flag, type: boolean}
  - {name: day, type: date, min: '2024-01-01'}
  - {name: name, type: string, max-length: 20, pattern: 'name_[0-9]+'}
  - {name: amount, type: number, min: 0}
rows: {min: 1}
";
    // BENCH_SCHEMA=none: read and parse only; =no-unique: without the unique hash
    // set; =checks-only: every column `profile: false` (the checks alone).
    let text = match std::env::var("BENCH_SCHEMA").as_deref() {
        Ok("none") => String::new(),
        Ok("no-unique") => full.replace(", unique: true", ""),
        Ok("checks-only") => full
            .replace("}\n  -", ", profile: false}\n  -")
            .replace("}\nrows", ", profile: false}\nrows"),
        _ => full.to_owned(),
    };
    let schema: DataSchema = serde_yaml_ng::from_str(&text).unwrap_or_default();
    // BENCH_ROUNDS=0: generate only (the baseline to subtract from CPU time).
    let rounds: u32 = std::env::var("BENCH_ROUNDS")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(2);
    for round in 0..rounds {
        let inputs = read::resolve(dir.path(), "bench.csv")?;
        let start = Instant::now();
        let pass = validate_files_timed::<DatasetProfile>(
            "bench",
            inputs,
            &schema,
            "bench",
            ReadOptions::default(),
            false,
        )?;
        let (validation, profile) = (pass.validation, pass.profile);
        let seconds = start.elapsed().as_secs_f64();
        let mb = validation.bytes as f64 / 1e6;
        println!(
            "round {round}: {} rows, {mb:.0} MB in {seconds:.2} s = {:.0} MB/s on {} threads; passed: {}; {} columns profiled",
            validation.rows,
            mb / seconds,
            rayon::current_num_threads(),
            validation.passed(),
            profile.columns.len(),
        );
        println!("  phases: {:?}", pass.phases);
    }
    Ok(())
}
