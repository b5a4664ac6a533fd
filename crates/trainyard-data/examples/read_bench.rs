//! Times the CSV reader alone on one thread: cutting a file into chunks (`cut`), or
//! cutting and parsing every chunk (`parse`). Quote the CPU time of each (`/usr/bin/time`).
//! `cargo run --release -p trainyard-data --example read_bench -- cut|parse FILE`

#![allow(clippy::expect_used, clippy::cast_precision_loss)] // a measurement script

use std::path::Path;
use std::time::Instant;

use trainyard_data::read::{self, Chunks, ReadOptions};

fn main() {
    let usage = "usage: read_bench cut|parse FILE";
    let parse = std::env::args().nth(1).expect(usage) == "parse";
    let file = std::env::args().nth(2).expect(usage);
    let path = Path::new(&file);
    let base = path.parent().unwrap_or(Path::new("."));
    let name = path.file_name().expect("a file").to_string_lossy();
    let inputs = || read::resolve(base, &name).expect("input");

    if parse {
        return parse_all(&inputs);
    }
    let start = Instant::now();
    let (mut chunks, mut bytes) = (0u64, 0u64);
    for chunk in Chunks::new(inputs(), ReadOptions::default()) {
        let chunk = chunk.expect("chunk");
        chunks += 1;
        bytes += chunk.data.len() as u64;
    }
    let cut = start.elapsed().as_secs_f64();
    println!(
        "cut:        {cut:.3} s  {:.0} MB/s  ({chunks} chunks)",
        bytes as f64 / cut / 1e6
    );
}

fn parse_all(inputs: &dyn Fn() -> Vec<read::InputFile>) {
    let start = Instant::now();
    let mut bytes = 0u64;
    let (mut rows, mut fields, mut issues) = (0u64, 0u64, 0u64);
    for chunk in Chunks::new(inputs(), ReadOptions::default()) {
        let chunk = chunk.expect("chunk");
        bytes += chunk.data.len() as u64;
        let batch = read::parse(chunk);
        rows += batch.rows() as u64;
        fields += batch.fields.len() as u64;
        issues += batch.issues.len() as u64;
    }
    let all = start.elapsed().as_secs_f64();
    println!(
        "cut+parse:  {all:.3} s  {:.0} MB/s  ({rows} rows, {fields} fields, {issues} issues)",
        bytes as f64 / all / 1e6
    );
}
