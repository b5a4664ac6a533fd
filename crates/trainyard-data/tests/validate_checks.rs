//! Every check type, passing and failing, with the exact rows reported.
#![allow(clippy::unwrap_used)] // a test crate: a panic is a failed test

use trainyard_core::manifest::data::DataSchema;
use trainyard_data::read::{self, ReadOptions};
use trainyard_data::validate::{CheckResult, NoProfile, Validation, validate_files};

const DATA: &str = "\
id,age,name,city,score,start,end,day,flag
1,34,ann,paris,0.5,1,2,2024-01-01,true
2,-3,bob,lyon,0.7,5,4,2024-02-30,false
3,51,,paris,0.9,2,2,2024-03-01,maybe
3,200,dan,rome,12.5,3,9,2024-04-01,TRUE
5,40,eve_long_name,paris,0.1,,1,2024-05-01,0
";

fn validate(data: &str, schema: &str) -> Validation {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("d.csv"), data).unwrap();
    let schema: DataSchema = serde_yaml_ng::from_str(schema).unwrap();
    let inputs = read::resolve(dir.path(), "d.csv").unwrap();
    validate_files::<NoProfile>("d", inputs, &schema, "schema.yaml", ReadOptions::default())
        .unwrap()
        .0
}

fn check<'a>(validation: &'a Validation, rule: &str) -> &'a CheckResult {
    validation
        .checks
        .iter()
        .find(|c| c.rule == rule)
        .unwrap_or_else(|| panic!("no {rule} in {:#?}", validation.checks))
}

/// (line, column, value) of each offending row.
fn rows(result: &CheckResult) -> Vec<(u64, Option<u32>, Option<&str>)> {
    result
        .offenders
        .iter()
        .map(|o| (o.line, o.column, o.value.as_deref()))
        .collect()
}

#[test]
fn types_fail_on_the_values_that_are_not_of_the_type() {
    let v = validate(
        DATA,
        "columns:\n  - {name: id, type: integer}\n  - {name: day, type: date}\n  - {name: flag, type: boolean}\n  - {name: score, type: number}\n",
    );
    let types: Vec<_> = v.checks.iter().filter(|c| c.rule == "check/type").collect();
    assert!(types[0].passed);
    assert_eq!(rows(types[1]), vec![(3, Some(8), Some("2024-02-30"))]);
    assert_eq!(rows(types[2]), vec![(4, Some(9), Some("maybe"))]);
    assert!(types[3].passed);
}

#[test]
fn nullable_unique_min_max_exclusive() {
    let v = validate(
        DATA,
        "columns:\n  - {name: id, unique: true}\n  - {name: name, nullable: false}\n  - {name: age, type: integer, min: 0, max: 120}\n  - {name: score, min: 0.1, exclusive-min: true, max: 12.5, exclusive-max: true}\n",
    );
    assert_eq!(
        rows(check(&v, "check/unique")),
        vec![(5, Some(1), Some("3"))]
    );
    assert_eq!(
        check(&v, "check/unique").offenders[0].detail.as_deref(),
        Some("first seen at line 4")
    );
    assert_eq!(
        rows(check(&v, "check/not-null")),
        vec![(4, Some(3), Some(""))]
    );
    let mins: Vec<_> = v.checks.iter().filter(|c| c.rule == "check/min").collect();
    let maxes: Vec<_> = v.checks.iter().filter(|c| c.rule == "check/max").collect();
    assert_eq!(rows(mins[0]), vec![(3, Some(2), Some("-3"))]);
    assert_eq!(rows(maxes[0]), vec![(5, Some(2), Some("200"))]);
    assert_eq!(rows(mins[1]), vec![(6, Some(5), Some("0.1"))]);
    assert_eq!(rows(maxes[1]), vec![(5, Some(5), Some("12.5"))]);
    assert_eq!(mins[0].name, "age: >= 0");
    assert_eq!(mins[1].name, "score: > 0.1");
}

#[test]
fn length_pattern_enum() {
    let v = validate(
        DATA,
        "columns:\n  - {name: name, min-length: 3, max-length: 5}\n  - {name: city, pattern: '[a-z]{4,5}', enum: [paris, lyon]}\n",
    );
    let length = check(&v, "check/length");
    assert_eq!(rows(length), vec![(6, Some(3), Some("eve_long_name"))]);
    assert_eq!(length.offenders[0].detail.as_deref(), Some("length 13"));
    assert!(check(&v, "check/pattern").passed, "rome is 4 letters");
    assert_eq!(
        rows(check(&v, "check/enum")),
        vec![(5, Some(4), Some("rome"))]
    );
    let v = validate(DATA, "columns:\n  - {name: city, pattern: 'p.*'}\n");
    assert_eq!(
        rows(check(&v, "check/pattern")),
        vec![(3, Some(4), Some("lyon")), (5, Some(4), Some("rome"))]
    );
}

#[test]
fn mostly_tolerates_a_fraction_of_failures() {
    let strict = validate(DATA, "columns:\n  - {name: age, min: 0}\n");
    assert!(!check(&strict, "check/min").passed);
    let tolerant = validate(DATA, "columns:\n  - {name: age, min: 0, mostly: 0.8}\n");
    assert!(check(&tolerant, "check/min").passed);
    assert_eq!(check(&tolerant, "check/min").failed, 1);
    let too_strict = validate(DATA, "columns:\n  - {name: age, min: 0, mostly: 0.9}\n");
    assert!(!check(&too_strict, "check/min").passed);
}

#[test]
fn row_count_and_columns() {
    let v = validate(DATA, "rows: {min: 5, max: 5}\n");
    assert!(check(&v, "check/row-count").passed);
    let v = validate(DATA, "rows: {min: 6}\n");
    let rows_check = check(&v, "check/row-count");
    assert!(!rows_check.passed);
    assert_eq!(rows_check.observed, "5 rows");
    let v = validate(DATA, "columns:\n  - {name: missing}\n  - {name: id}\n");
    let present: Vec<_> = v
        .checks
        .iter()
        .filter(|c| c.rule == "check/required-column")
        .collect();
    assert_eq!(rows(present[0]), vec![(1, None, None)]);
    assert!(present[1].passed);
    let v = validate(
        DATA,
        "column-match: set\ncolumns:\n  - {name: id}\n  - {name: age}\n",
    );
    let columns = check(&v, "check/columns");
    assert_eq!(
        columns.offenders[0].detail.as_deref(),
        Some("unexpected: [name, city, score, start, end, day, flag]; missing: []")
    );
    let ordered = "column-match: exact\ncolumns: [{name: age}, {name: id}, {name: name}, {name: city}, {name: score}, {name: start}, {name: end}, {name: day}, {name: flag}]\n";
    let v = validate(DATA, ordered);
    assert_eq!(
        check(&v, "check/columns").offenders[0].detail.as_deref(),
        Some("the columns are in another order")
    );
    let v = validate(
        DATA,
        &ordered.replace("{name: age}, {name: id}", "{name: id}, {name: age}"),
    );
    assert!(check(&v, "check/columns").passed);
}

#[test]
fn mean_stddev_quantiles() {
    // score: 0.5, 0.7, 0.9, 12.5, 0.1 -> mean 2.94, sample stddev ~5.35, median 0.7
    let v = validate(
        DATA,
        "columns:\n  - name: score\n    mean: {min: 2.9, max: 3.0}\n    stddev: {max: 5.0}\n    quantiles: [{q: 0.5, min: 0.7, max: 0.7}, {q: 0.5, min: 0.8}]\n",
    );
    let mean = check(&v, "check/mean");
    assert!(mean.passed, "{mean:?}");
    assert!(mean.observed.starts_with("mean 2.94"));
    let stddev = check(&v, "check/stddev");
    assert!(!stddev.passed);
    assert!(
        stddev.observed.starts_with("stddev 5.35"),
        "{}",
        stddev.observed
    );
    let quantiles: Vec<_> = v
        .checks
        .iter()
        .filter(|c| c.rule == "check/quantile")
        .collect();
    assert!(quantiles[0].passed, "{:?}", quantiles[0]);
    assert!(!quantiles[1].passed);
}

#[test]
fn null_fraction() {
    let v = validate(
        DATA,
        "columns:\n  - {name: name, null-fraction: {max: 0.2}}\n  - {name: start, null-fraction: {max: 0.1}}\n",
    );
    let checks: Vec<_> = v
        .checks
        .iter()
        .filter(|c| c.rule == "check/null-fraction")
        .collect();
    assert!(checks[0].passed);
    assert!(!checks[1].passed);
    assert_eq!(checks[1].observed, "null fraction 0.2000 (1 of 5 rows)");
}

#[test]
fn relations_between_columns() {
    let v = validate(
        DATA,
        "relations:\n  - rule: end >= start\n  - rule: end > start\n    mostly: 0.5\n",
    );
    let relations: Vec<_> = v
        .checks
        .iter()
        .filter(|c| c.rule == "check/relation")
        .collect();
    assert_eq!(
        rows(relations[0]),
        vec![(3, Some(7), Some("end = 4, start = 5"))]
    );
    assert_eq!(
        relations[0].evaluated, 4,
        "the row with a null start is skipped"
    );
    assert!(relations[1].passed, "2 of 4 fail, mostly 0.5");
    assert_eq!(relations[1].failed, 2);
}

#[test]
fn compound_uniqueness() {
    let v = validate(DATA, "unique-together: [[city, flag], [id, city]]\n");
    let compound: Vec<_> = v
        .checks
        .iter()
        .filter(|c| c.rule == "check/unique-together")
        .collect();
    assert!(compound[0].passed);
    let v = validate(
        &format!("{DATA}6,1,x,paris,1,1,1,2024-01-01,true\n"),
        "unique-together: [[city, flag]]\n",
    );
    let compound = check(&v, "check/unique-together");
    assert_eq!(
        rows(compound),
        vec![(7, None, Some("city = paris, flag = true"))]
    );
}

#[test]
fn only_the_first_twenty_offenders_are_kept_in_line_order() {
    let mut data = String::from("x\n");
    for i in 0..100 {
        data.push_str(if i % 2 == 0 { "bad\n" } else { "1\n" });
    }
    let v = validate(&data, "columns: [{name: x, type: integer}]\n");
    let types = check(&v, "check/type");
    assert_eq!(types.failed, 50);
    let lines: Vec<u64> = types.offenders.iter().map(|o| o.line).collect();
    assert_eq!(lines, (0..20).map(|i| 2 + 2 * i).collect::<Vec<_>>());
    assert_eq!(types.observed, "50 of 100 failed (50.00%)");
}

#[test]
fn findings_point_at_file_line_and_column() {
    let v = validate(DATA, "columns:\n  - {name: age, min: 0}\n");
    let findings = v.findings();
    let located: Vec<String> = findings
        .iter()
        .map(|f| format!("{} {} {}", f.rule, f.location.as_ref().unwrap(), f.message))
        .collect();
    assert_eq!(
        located,
        [
            "check/min d.csv dataset `d`: check `age: >= 0` failed: 1 of 5 failed (20.00%)",
            "check/min d.csv:3:2 `age: >= 0`: value `-3`",
        ]
    );
}
