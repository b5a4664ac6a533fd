//! Schema import (Great Expectations, Frictionless), the JUnit report and schema
//! inference, on the fixtures (two of them real datasets, see fixtures/validate/README.md).
#![allow(clippy::unwrap_used)] // a test crate: a panic is a failed test

use std::path::{Path, PathBuf};

use trainyard_core::Severity;
use trainyard_core::manifest::data::DataSchema;
use trainyard_data::read::{self, ReadOptions};
use trainyard_data::validate::{NoProfile, Validation, validate_files};
use trainyard_data::{infer, junit, schema};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/validate")
}

fn run(file: &str, schema: &DataSchema, options: ReadOptions) -> Validation {
    let inputs = read::resolve(&fixtures(), file).unwrap();
    validate_files::<NoProfile>(
        file.trim_end_matches(".csv"),
        inputs,
        schema,
        "schema",
        options,
    )
    .unwrap()
    .0
}

fn outcome(validation: &Validation) -> Vec<String> {
    validation
        .checks
        .iter()
        .map(|c| {
            format!(
                "{} {} | {} | {}",
                if c.passed { "pass" } else { "FAIL" },
                c.rule,
                c.name,
                c.observed
            )
        })
        .collect()
}

#[test]
fn great_expectations_suite_imports_and_reports_unsupported_expectations() {
    let loaded = schema::load(&fixtures().join("gx_suite.json"), "gx_suite.json").unwrap();
    let warnings: Vec<(&str, Severity, &str)> = loaded
        .warnings
        .iter()
        .map(|f| (f.rule.as_str(), f.severity, f.message.as_str()))
        .collect();
    assert_eq!(
        warnings,
        [(
            "schema/unsupported-expectation",
            Severity::Warning,
            "expectation `expect_column_kl_divergence_to_be_less_than` is not supported; it is not checked"
        )]
    );
    let validation = run("wine.csv", &loaded.schema, ReadOptions::default());
    insta::assert_snapshot!("gx_wine_outcome", outcome(&validation).join("\n"));
}

#[test]
fn frictionless_table_schema_imports_with_missing_values_and_primary_key() {
    let loaded = schema::load(&fixtures().join("table_schema.json"), "table_schema.json").unwrap();
    assert_eq!(
        loaded.null_values.as_deref(),
        Some(&[String::new(), "-".to_owned()][..])
    );
    assert_eq!(loaded.warnings.len(), 1);
    assert!(loaded.warnings[0].message.contains("type `geopoint`"));
    let mut options = ReadOptions::default();
    options.csv.null_values = loaded.null_values.clone();
    let validation = run("frictionless.csv", &loaded.schema, options);
    insta::assert_snapshot!("frictionless_outcome", outcome(&validation).join("\n"));
}

#[test]
fn junit_report_of_a_broken_file() {
    let schema: DataSchema = serde_yaml_ng::from_str(
        "columns:\n  - {name: id, type: integer, unique: true}\n  - {name: name, max-length: 5}\n  - {name: score, min: 0, max: 1}\n",
    )
    .unwrap();
    let validation = run("broken.csv", &schema, ReadOptions::default());
    insta::assert_snapshot!("junit_broken", junit::render(&[validation]));
}

#[test]
fn inferred_schema_of_the_real_datasets() {
    for name in ["breast_cancer.csv", "wine.csv"] {
        let inputs = read::resolve(&fixtures(), name).unwrap();
        let schema = infer::infer(inputs, ReadOptions::default()).unwrap();
        insta::assert_snapshot!(format!("infer_{name}"), infer::to_yaml(&schema));
        // The inferred schema validates the data it came from.
        let validation = run(name, &schema, ReadOptions::default());
        assert!(
            validation.passed(),
            "{:#?}",
            validation.failures().collect::<Vec<_>>()
        );
        assert!(validation.rows > 100);
    }
}
