//! Times drift on 1M rows x 50 numeric columns (reference and current), the
//! issue's target (< 1 s). Run: `cargo run --release -p trainyard-data --example drift_bench`.

#![allow(clippy::cast_precision_loss)] // a measurement script

use std::time::Instant;

use trainyard_data::drift::{ColumnData, ColumnPair, DriftOptions, drift};

fn main() {
    let rows = 1_000_000usize;
    let mut state = 0x1234_5678_9abc_def0u64;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state >> 11) as f64 / (1u64 << 53) as f64
    };
    let columns: Vec<ColumnPair> = (0..50)
        .map(|c| {
            let shift = if c % 5 == 0 { 0.2 } else { 0.0 };
            ColumnPair {
                name: format!("c{c}"),
                reference: ColumnData::Numeric((0..rows).map(|_| next() * 10.0).collect()),
                current: ColumnData::Numeric((0..rows).map(|_| next() * 10.0 + shift).collect()),
            }
        })
        .collect();
    let start = Instant::now();
    let report = drift(columns, &DriftOptions::default());
    let elapsed = start.elapsed();
    println!(
        "drift 1M rows x 50 columns: {:.3} s on {} threads; {} columns drifted",
        elapsed.as_secs_f64(),
        rayon::current_num_threads(),
        report.drifted_columns
    );
}
