//! `cargo +nightly fuzz run csv`: arbitrary bytes as a `.csv` file, validated,
//! profiled and compared (see common.rs).
#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "common.rs"]
mod common;

fuzz_target!(|bytes: &[u8]| common::run("input.csv", bytes));
