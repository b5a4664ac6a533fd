//! Schema values outside their range are refused with a message a person reads
//! (values as written, not as Rust shows them), from every kind of schema file.
#![allow(clippy::unwrap_used)] // a test crate: a panic is a failed test

use trainyard_core::StepError;
use trainyard_core::manifest::data::DataSchema;
use trainyard_data::profile::DatasetProfile;
use trainyard_data::read::{self, ReadOptions};
use trainyard_data::schema;
use trainyard_data::validate::{NoProfile, validate_files};

fn message(error: StepError) -> String {
    match error {
        StepError::Config(config) => {
            assert_eq!(config.rule, "bad-schema");
            config.to_string()
        }
        other => panic!("not a configuration error: {other}"),
    }
}

/// The error of validating a one-row file against `schema` (YAML).
fn plan_error(schema: &str) -> String {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("a.csv"), "x,d\n1,2020-01-01\n").unwrap();
    let schema: DataSchema = serde_yaml_ng::from_str(schema).unwrap();
    let inputs = read::resolve(dir.path(), "a.csv").unwrap();
    message(
        validate_files::<NoProfile>("t", inputs, &schema, "schema.yaml", ReadOptions::default())
            .unwrap_err(),
    )
}

fn gx(expectation: &str) -> String {
    let suite = format!("{{\"expectations\": [{expectation}]}}");
    message(schema::parse(&suite, "suite.json").unwrap_err())
}

#[test]
fn great_expectations_quantiles_and_mostly_outside_0_1_are_refused() {
    for q in ["2", "-1", "\"half\""] {
        let text = gx(&format!(
            "{{\"expectation_type\": \"expect_column_quantile_values_to_be_between\", \"kwargs\": {{\"column\": \"x\", \"quantile_ranges\": {{\"quantiles\": [{q}], \"value_ranges\": [[0, 1]]}}}}}}"
        ));
        assert!(
            text.contains("suite.json") && text.contains("[0, 1]"),
            "{text}"
        );
        assert!(text.contains(q.trim_matches('"')), "{text}");
    }
    for mostly in ["5", "-0.5", "\"most\""] {
        let text = gx(&format!(
            "{{\"expectation_type\": \"expect_column_values_to_not_be_null\", \"kwargs\": {{\"column\": \"x\", \"mostly\": {mostly}}}}}"
        ));
        assert!(
            text.contains("`mostly`") && text.contains("[0, 1]"),
            "{text}"
        );
    }
    // In range: accepted.
    let ok = "{\"expectations\": [{\"expectation_type\": \"expect_column_values_to_be_unique\", \"kwargs\": {\"column\": \"x\", \"mostly\": 0.9}}]}";
    assert!(schema::parse(ok, "suite.json").is_ok());
}

#[test]
fn trainyard_schemas_with_quantiles_or_mostly_outside_0_1_are_refused() {
    let text = plan_error("columns: [{ name: x, quantiles: [{ q: 2, max: 5 }] }]");
    assert!(
        text.contains("schema.yaml") && text.contains("quantile 2") && text.contains("[0, 1]"),
        "{text}"
    );
    let text = plan_error("columns: [{ name: x, mostly: 5, min: 0 }]");
    assert!(
        text.contains("`mostly` 5") && text.contains("[0, 1]"),
        "{text}"
    );
    let text = plan_error("columns: [{ name: x }]\nrelations: [{ rule: x > d, mostly: -1 }]");
    assert!(text.contains("`mostly` -1"), "{text}");
}

#[test]
fn messages_show_values_as_written() {
    let text = plan_error("columns: [{ name: d, type: date, min: '2020-13-45' }]");
    assert!(text.contains("`2020-13-45`"), "{text}");
    assert!(!text.contains("Text("), "{text}");
    let mut a = DatasetProfile::new(["x", "y"]);
    let error = a
        .merge(&DatasetProfile::new(["x", "z"]))
        .unwrap_err()
        .to_string();
    assert!(!error.contains('"') && !error.contains('['), "{error}");
    assert!(error.contains("x, y") && error.contains("x, z"), "{error}");
}
