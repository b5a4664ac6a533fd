//! Profiles: shard-and-merge equals the one-pass profile bit for bit, the
//! sketches stay within their documented error, save/load round-trips.

#![allow(
    clippy::unwrap_used,
    clippy::cast_precision_loss,
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss
)] // test helpers and generators

use trainyard_data::profile::{ColumnProfile, DatasetProfile, QUANTILE_RELATIVE_ERROR, Value};

/// A small deterministic generator (SplitMix64), so tests need no crate.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

#[derive(Clone)]
enum Cell {
    Null,
    Number(f64),
    Text(String),
    Bool(bool),
}

const COLUMNS: [&str; 6] = ["wide", "small_ints", "category", "ids", "mixed", "flag"];

fn random_rows(n: usize, seed: u64) -> Vec<Vec<Cell>> {
    let mut rng = Rng(seed);
    (0..n)
        .map(|i| {
            let exponent = rng.below(40) as i32 - 20;
            let wide = (rng.unit() - 0.5) * 10f64.powi(exponent);
            let small = rng.below(7) as f64;
            let category = ["red", "green", "blue", "ünïcode"][rng.below(4) as usize].to_owned();
            let id = format!("id-{}", rng.next());
            let mixed = match rng.below(4) {
                0 => Cell::Null,
                1 => Cell::Number(1e9 + rng.unit()),
                2 => Cell::Number(f64::NAN),
                _ => Cell::Text(format!("t{}", i % 13)),
            };
            vec![
                if rng.below(10) == 0 {
                    Cell::Null
                } else {
                    Cell::Number(wide)
                },
                Cell::Number(small),
                Cell::Text(category),
                Cell::Text(id),
                mixed,
                Cell::Bool(rng.below(3) == 0),
            ]
        })
        .collect()
}

fn profile(rows: &[Vec<Cell>]) -> DatasetProfile {
    let mut profile = DatasetProfile::new(COLUMNS);
    for row in rows {
        profile.rows += 1;
        for (column, cell) in profile.columns.iter_mut().zip(row) {
            match cell {
                Cell::Null => column.observe_null(),
                Cell::Number(n) => column.observe_number(*n),
                Cell::Text(t) => column.observe_text(t),
                Cell::Bool(b) => column.observe_bool(*b),
            }
        }
    }
    profile
}

#[test]
fn shards_merged_in_any_order_equal_the_one_pass_profile_bit_for_bit() {
    let rows = random_rows(20_000, 7);
    let one_pass = profile(&rows).to_json();

    let mut rng = Rng(99);
    for attempt in 0..5 {
        // Random shard boundaries.
        let shards = 2 + rng.below(6) as usize;
        let mut cuts: Vec<usize> = (0..shards - 1)
            .map(|_| rng.below(rows.len() as u64) as usize)
            .collect();
        cuts.push(0);
        cuts.push(rows.len());
        cuts.sort_unstable();
        let mut parts: Vec<DatasetProfile> = cuts
            .windows(2)
            .map(|w| profile(&rows[w[0]..w[1]]))
            .collect();
        // Merge in a shuffled order, through a save/load round-trip for some.
        for i in (1..parts.len()).rev() {
            parts.swap(i, rng.below(i as u64 + 1) as usize);
        }
        let dir = tempfile::tempdir().unwrap();
        let mut merged = DatasetProfile::new(COLUMNS);
        for (i, part) in parts.iter().enumerate() {
            if (i + attempt) % 2 == 0 {
                let path = dir.path().join(format!("shard-{i}.json"));
                part.save(&path).unwrap();
                merged.merge(&DatasetProfile::load(&path).unwrap()).unwrap();
            } else {
                merged.merge(part).unwrap();
            }
        }
        assert_eq!(
            merged.to_json(),
            one_pass,
            "attempt {attempt} with {shards} shards"
        );
    }

    // Rows in a completely different order give the same profile too.
    let mut shuffled = rows.clone();
    for i in (1..shuffled.len()).rev() {
        shuffled.swap(i, rng.below(i as u64 + 1) as usize);
    }
    assert_eq!(profile(&shuffled).to_json(), one_pass);
}

#[test]
fn merging_different_columns_is_an_error() {
    let mut a = DatasetProfile::new(["a", "b"]);
    let b = DatasetProfile::new(["a", "c"]);
    assert!(a.merge(&b).is_err());
}

#[test]
fn quantiles_are_within_the_sketch_bound() {
    let n = 100_000u64;
    let mut rng = Rng(3);
    let mut values: Vec<f64> = (1..=n).map(|i| i as f64 * 0.37 - 5000.0).collect();
    for i in (1..values.len()).rev() {
        values.swap(i, rng.below(i as u64 + 1) as usize);
    }
    let mut column = ColumnProfile::new("x");
    for &v in &values {
        column.observe_number(v);
    }
    values.sort_by(f64::total_cmp);
    for q in [0.0, 0.01, 0.1, 0.25, 0.5, 0.75, 0.9, 0.99, 1.0] {
        let exact = values[(q * (n - 1) as f64).floor() as usize];
        let estimate = column.quantile(q).unwrap();
        let error = ((estimate - exact) / exact).abs();
        assert!(
            error <= QUANTILE_RELATIVE_ERROR,
            "q={q}: {estimate} vs {exact} ({error})"
        );
    }
}

#[test]
fn distinct_estimate_is_within_hyperloglog_error() {
    let mut column = ColumnProfile::new("id");
    for i in 0..100_000u64 {
        column.observe_text(&format!("user-{i}"));
        column.observe_text(&format!("user-{}", i / 2)); // duplicates do not count
    }
    assert!(column.is_high_cardinality());
    let estimate = column.distinct() as f64;
    // Standard error 1.04/sqrt(4096) = 1.6%; 3 sigma.
    assert!((estimate / 100_000.0 - 1.0).abs() < 0.049, "{estimate}");

    let mut numbers = ColumnProfile::new("n");
    (0..100_000).for_each(|i| numbers.observe_number(f64::from(i) * 1.5));
    let estimate = numbers.distinct() as f64;
    assert!((estimate / 100_000.0 - 1.0).abs() < 0.049, "{estimate}");
}

#[test]
fn exact_counts_below_the_cap_and_mean_variance_without_cancellation() {
    let mut column = ColumnProfile::new("x");
    // Large offset, small spread: naive sum-of-squares would lose everything.
    for v in [1e9 + 4.0, 1e9 + 7.0, 1e9 + 13.0, 1e9 + 16.0] {
        column.observe_number(v);
    }
    column.observe_null();
    assert_eq!(column.mean(), Some(1e9 + 10.0));
    assert_eq!(column.variance(), Some(30.0));
    assert_eq!(column.variance_population(), Some(22.5));
    assert_eq!(column.distinct(), 4);
    assert!(column.distinct_is_exact());
    assert_eq!(column.nulls(), 1);
    assert_eq!(column.count(), 5);
    assert_eq!(column.top_values(1).unwrap()[0].1, 1);
}

#[test]
fn wine_profile_matches_numpy() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/sample/wine.csv"
    );
    let mut reader = csv::Reader::from_path(path).unwrap();
    let headers: Vec<String> = reader
        .headers()
        .unwrap()
        .iter()
        .map(str::to_owned)
        .collect();
    let mut profile = DatasetProfile::new(headers.clone());
    for record in reader.records() {
        let record = record.unwrap();
        profile.rows += 1;
        for (column, field) in profile.columns.iter_mut().zip(record.iter()) {
            match field.parse::<f64>() {
                Ok(n) => column.observe_number(n),
                Err(_) => column.observe_text(field),
            }
        }
    }
    assert_eq!(profile.rows, 178);
    let alcohol = profile.column("alcohol").unwrap();
    // numpy: a.mean(), a.std(ddof=1)
    assert!((alcohol.mean().unwrap() - 13.000_617_977_528_09).abs() < 1e-12);
    assert!((alcohol.std().unwrap() - 0.811_826_538_005_857_5).abs() < 1e-12);
    assert_eq!(alcohol.min(), Some(11.03));
    assert_eq!(alcohol.max(), Some(14.83));
    let proline = profile.column("proline").unwrap();
    assert!((proline.mean().unwrap() - 746.893_258_426_966_3).abs() < 1e-9);
    assert!((proline.std().unwrap() - 314.907_474_276_849_1).abs() < 1e-9);
    let cultivar = profile.column("cultivar").unwrap();
    assert_eq!(
        cultivar.value_counts().unwrap(),
        vec![
            (Value::Text("class_1".into()), 71),
            (Value::Text("class_0".into()), 59),
            (Value::Text("class_2".into()), 48)
        ]
    );
}
