//! Reading `trainyard.yaml`: YAML errors become [`ConfigError`]s with a line,
//! a column, the key path, what was expected and, for a typo, the nearest key.

use std::collections::BTreeSet;
use std::path::Path;

use crate::diagnostic::{ConfigError, SourceSpan, nearest};
use crate::exit::StepError;

use super::{KeyPath, MANIFEST_VERSION, Manifest};

/// The manifest's file name, looked up in the working directory by default.
pub const MANIFEST_FILE: &str = "trainyard.yaml";

/// Reads and checks the manifest at `path`.
pub fn load(path: &Path) -> Result<Manifest, StepError> {
    let source = std::fs::read_to_string(path).map_err(|error| match error.kind() {
        std::io::ErrorKind::NotFound => StepError::from(
            ConfigError::new(path.display().to_string(), "manifest-missing", "no manifest here").with_help(
                "create trainyard.yaml (see docs/manifest.md), or point --manifest / TRAINYARD_MANIFEST at it",
            ),
        ),
        std::io::ErrorKind::InvalidData => StepError::from(ConfigError::new(
            path.display().to_string(),
            "manifest-encoding",
            "the manifest is not valid UTF-8",
        )),
        _ => StepError::io("reading", path, error),
    })?;
    Ok(parse(&source, &path.display().to_string())?)
}

/// Parses and checks manifest text; `file` names it in errors.
pub fn parse(source: &str, file: &str) -> Result<Manifest, ConfigError> {
    // Before serde sees the text: nesting (libyaml's cost grows with it), keys
    // given twice (serde keeps the last) and tags (serde ignores them).
    crate::yaml::check_strict_yaml(source).map_err(|error| error.to_config_error(file, source))?;
    let manifest: Manifest =
        serde_yaml_ng::from_str(source).map_err(|error| translate(&error, source, file))?;
    check(&manifest, source, file)?;
    Ok(manifest)
}

/// The message kinds serde produces; what comes before one of them is the key path.
const SERDE_MESSAGES: &[&str] = &[
    "unknown field",
    "unknown variant",
    "missing field",
    "duplicate field",
    "invalid type",
    "invalid value",
    "invalid length",
];

fn translate(error: &serde_yaml_ng::Error, source: &str, file: &str) -> ConfigError {
    let full = error.to_string();
    let span = error.location().map(|location| SourceSpan {
        line: u32::try_from(location.line()).unwrap_or(u32::MAX),
        column: u32::try_from(location.column()).unwrap_or(u32::MAX),
    });
    let without_location = match error.location() {
        Some(location) => full
            .strip_suffix(&format!(
                " at line {} column {}",
                location.line(),
                location.column()
            ))
            .unwrap_or(&full),
        None => &full,
    };
    let (key_path, message) = split_key_path(without_location);
    let mut config_error = describe(key_path, message, file);
    if let Some(span) = span {
        config_error = config_error.at(source, span);
    }
    config_error
}

fn split_key_path(text: &str) -> (Option<&str>, &str) {
    let start = SERDE_MESSAGES
        .iter()
        .filter_map(|kind| text.find(kind))
        .min();
    match start {
        Some(0) | None => (None, text),
        Some(index) => (
            Some(text[..index].trim_end_matches([':', ' '])),
            &text[index..],
        ),
    }
}

fn describe(key_path: Option<&str>, message: &str, file: &str) -> ConfigError {
    let within = key_path.map_or_else(
        || "at the top level".to_owned(),
        |path| format!("in `{path}`"),
    );
    let expected = backticked(message.split_once("expected").map_or("", |(_, rest)| rest));

    let error = if let Some(rest) = message.strip_prefix("unknown field ") {
        let given = backticked(rest).into_iter().next().unwrap_or_default();
        let error = ConfigError::new(
            file,
            "unknown-key",
            format!("unknown key `{given}` {within}"),
        );
        with_suggestion(error, &given, &expected, "key")
    } else if let Some(rest) = message.strip_prefix("unknown variant ") {
        let given = backticked(rest).into_iter().next().unwrap_or_default();
        let error = ConfigError::new(
            file,
            "unknown-value",
            format!("`{given}` is not an accepted value {within}"),
        );
        with_suggestion(error, &given, &expected, "value")
    } else if let Some(rest) = message.strip_prefix("missing field ") {
        let missing = backticked(rest).into_iter().next().unwrap_or_default();
        ConfigError::new(
            file,
            "missing-key",
            format!("missing required key `{missing}` {within}"),
        )
    } else if let Some(rest) = message.strip_prefix("invalid type: ") {
        let (found, wanted) = rest
            .split_once(", expected ")
            .unwrap_or((rest, "another type"));
        let subject =
            key_path.map_or_else(|| "the manifest".to_owned(), |path| format!("`{path}`"));
        ConfigError::new(
            file,
            "wrong-type",
            format!(
                "{subject} must be {}, found {}",
                plain_type(wanted),
                plain_found(found)
            ),
        )
    } else if message.starts_with("invalid value") || message.starts_with("invalid length") {
        let subject =
            key_path.map_or_else(|| "the manifest".to_owned(), |path| format!("`{path}`"));
        ConfigError::new(file, "wrong-value", format!("{subject}: {message}"))
    } else if message.starts_with("duplicate field") {
        ConfigError::new(file, "duplicate-key", format!("{message} {within}"))
    } else {
        ConfigError::new(file, "yaml-syntax", format!("not valid YAML: {message}"))
    };
    match key_path {
        Some(path) => error.with_key_path(path),
        None => error,
    }
}

fn with_suggestion(
    error: ConfigError,
    given: &str,
    expected: &[String],
    noun: &str,
) -> ConfigError {
    let accepted = expected
        .iter()
        .map(|key| format!("`{key}`"))
        .collect::<Vec<_>>()
        .join(", ");
    match nearest(given, expected.iter().map(String::as_str)) {
        Some(near) => error.with_help(format!(
            "did you mean `{near}`? accepted {noun}s: {accepted}"
        )),
        None if expected.is_empty() => error,
        None => error.with_help(format!("accepted {noun}s: {accepted}")),
    }
}

/// The words between backticks, in order.
fn backticked(text: &str) -> Vec<String> {
    text.split('`')
        .skip(1)
        .step_by(2)
        .map(str::to_owned)
        .collect()
}

fn plain_type(serde_name: &str) -> String {
    let name = serde_name.trim();
    let plain = match name {
        "u8" | "u16" | "u32" | "u64" | "u128" | "usize" => "a whole number of zero or more",
        "i8" | "i16" | "i32" | "i64" | "i128" | "isize" => "a whole number",
        "f32" | "f64" => "a number",
        "a boolean" | "bool" => "true or false",
        "a string" | "a borrowed string" => "a string",
        "a sequence" => "a list",
        "a map" => "a mapping of keys to values",
        _ if name.starts_with("struct ") => "a mapping of keys to values",
        _ if name.starts_with("enum ") => "one of the accepted values",
        _ => return name.to_owned(),
    };
    plain.to_owned()
}

fn plain_found(serde_found: &str) -> String {
    match serde_found {
        "sequence" => "a list".to_owned(),
        "map" => "a mapping".to_owned(),
        "unit value" => "nothing (an empty value)".to_owned(),
        other => format!("the {other}"),
    }
}

/// Rules a type cannot express: cross-references and value ranges.
#[allow(clippy::too_many_lines)] // one rule after the other
fn check(manifest: &Manifest, source: &str, file: &str) -> Result<(), ConfigError> {
    let fail = |path: &[&str], rule: &'static str, message: String| {
        ConfigError::new(file, rule, message).at_key(source, &KeyPath::new(path))
    };

    if manifest.version != MANIFEST_VERSION {
        return Err(fail(
            &["version"],
            "unsupported-version",
            format!(
                "manifest version {} is not supported; this trainyard reads version {MANIFEST_VERSION}",
                manifest.version
            ),
        ));
    }

    if let Err(why) = super::check_project_name(&manifest.project.name) {
        return Err(
            fail(&["project", "name"], "bad-project-name", why).with_help(super::PROJECT_NAME_RULE)
        );
    }

    // Names that become paths: refused here, before any step joins them to a folder.
    for name in manifest.datasets.keys() {
        if let Err(why) = super::check_dataset_name(name) {
            return Err(fail(&["datasets", name], "bad-dataset-name", why)
                .with_help(super::DATASET_NAME_RULE));
        }
    }
    if let Some(model) = &manifest.model
        && let Err(why) = super::check_model_name(&model.name)
    {
        return Err(
            fail(&["model", "name"], "bad-model-name", why).with_help(super::MODEL_NAME_RULE)
        );
    }
    for environment in &manifest.environments {
        if let Err(why) = super::check_environment_name(&environment.name) {
            let error = ConfigError::new(file, "bad-environment-name", why)
                .with_key_path("environments")
                .with_help(super::ENVIRONMENT_NAME_RULE);
            // The locator finds items by plain names; a name that is not one is found by its text.
            return Err(match name_line(source, &environment.name) {
                Some(span) => error.at(source, span),
                None => error.at_key(source, &KeyPath::new(&["environments"])),
            });
        }
    }
    if let Some(iac) = &manifest.iac
        && let Err(why) = super::check_output_dir(&iac.output_dir)
    {
        return Err(
            fail(&["iac", "output-dir"], "bad-output-dir", why).with_help(super::OUTPUT_DIR_RULE)
        );
    }

    let mut seen = BTreeSet::new();
    for environment in &manifest.environments {
        if !seen.insert(environment.name.as_str()) {
            return Err(fail(
                &["environments"],
                "duplicate-environment",
                format!("environment `{}` is declared twice", environment.name),
            ));
        }
    }

    for environment in &manifest.environments {
        if let Err(why) = environment.min_soak_duration() {
            return Err(ConfigError::new(
                file,
                "bad-min-soak",
                format!("`min-soak` of environment `{}`: {why}", environment.name),
            )
            .at_key(
                source,
                &KeyPath::environment(&environment.name).key("min-soak"),
            ));
        }
    }

    for (env_name, policy) in &manifest.gates {
        if manifest.environment(env_name).is_none() {
            let error = fail(
                &["gates", env_name],
                "unknown-environment",
                format!("gate `{env_name}` names no environment declared under `environments`"),
            );
            let names: Vec<&str> = manifest
                .environments
                .iter()
                .map(|env| env.name.as_str())
                .collect();
            return Err(match nearest(env_name, names.iter().copied()) {
                Some(near) => error.with_help(format!("did you mean `{near}`?")),
                None => error.with_help(format!("declared environments: {}", names.join(", "))),
            });
        }
        for rule in &policy.metrics {
            if let Err(why) = super::MetricThreshold::parse(rule) {
                return Err(fail(
                    &["gates", env_name, "metrics"],
                    "bad-metric-rule",
                    format!("`{rule}`: {why}"),
                ));
            }
        }
    }

    for (name, dataset) in &manifest.datasets {
        if let Some(sample) = &dataset.sample {
            let path = ["datasets", name.as_str(), "sample"];
            match (sample.fraction, sample.rows) {
                (Some(_), Some(_)) | (None, None) => {
                    return Err(fail(
                        &path,
                        "bad-sample",
                        "give exactly one of `fraction` or `rows`".to_owned(),
                    ));
                }
                (Some(fraction), None) if !(fraction > 0.0 && fraction <= 1.0) => {
                    return Err(fail(
                        &path,
                        "bad-sample",
                        format!("`fraction` must be in (0, 1], found {fraction}"),
                    ));
                }
                (None, Some(0)) => {
                    return Err(fail(
                        &path,
                        "bad-sample",
                        "`rows` must be at least 1".to_owned(),
                    ));
                }
                _ => {}
            }
            if sample.stratify && dataset.label.is_none() {
                return Err(fail(
                    &path,
                    "bad-sample",
                    "`stratify: true` needs the dataset's `label` column".to_owned(),
                ));
            }
        }
    }

    if let Some(artifacts) = &manifest.artifacts {
        check_store_url(
            crate::StoreUrl::parse(&artifacts.store).err(),
            &["artifacts", "store"],
            source,
            file,
        )?;
    }
    // A dataset in object storage: the same URL rules (no credential in it).
    for (name, dataset) in &manifest.datasets {
        if dataset.path.contains("://") {
            // `?` is also a glob character: `x.csv?sig=…` is a query (a SAS
            // token), which the plain parse refuses without echoing it.
            let query = dataset
                .path
                .split_once('?')
                .is_some_and(|(_, after)| after.contains(['=', '&']));
            let error = if query {
                crate::StoreUrl::parse(&dataset.path).err()
            } else {
                crate::StoreUrl::parse_with_glob(&dataset.path).err()
            };
            check_store_url(error, &["datasets", name, "path"], source, file)?;
        }
    }

    check_tracking(manifest, source, file)?;

    if let Some(train) = &manifest.train
        && let Err(broken) = train.check()
    {
        let path: Vec<&str> = broken.path.iter().map(String::as_str).collect();
        return Err(fail(&path, broken.rule, broken.message));
    }
    super::check_declared_metrics(manifest, source, file)
}

/// `backend: mlflow` needs a `uri` trainyard can reach (checked by every
/// step, since every step loads the manifest); a URI with a credential is
/// located but its line is not echoed.
fn check_tracking(manifest: &Manifest, source: &str, file: &str) -> Result<(), ConfigError> {
    let tracking = &manifest.tracking;
    if tracking.backend != super::TrackingBackend::Mlflow {
        return Ok(());
    }
    let Some(uri) = &tracking.uri else {
        return Err(ConfigError::new(
            file,
            "missing-tracking-uri",
            "`tracking.backend: mlflow` needs `tracking.uri`, the MLflow tracking server's address",
        )
        .at_key(source, &KeyPath::new(&["tracking", "backend"]))
        .with_help(super::TRACKING_URI_RULE));
    };
    let Err(why) = super::mlflow_endpoint(uri) else {
        return Ok(());
    };
    let mut error = ConfigError::new(file, "bad-tracking-uri", format!("`tracking.uri`: {why}"))
        .at_key(source, &KeyPath::new(&["tracking", "uri"]))
        .with_help(super::TRACKING_URI_RULE);
    if uri.contains('@') || uri.contains('?') {
        error.source_line = None;
    }
    Err(error)
}

/// The first `name: <name>` (plain or quoted) in `source`, at the name.
fn name_line(source: &str, name: &str) -> Option<SourceSpan> {
    let forms = [name.to_owned(), format!("\"{name}\""), format!("'{name}'")];
    source.lines().enumerate().find_map(|(index, line)| {
        let at = line.find("name:")?;
        let value = line[at + "name:".len()..].trim();
        let value = value
            .split(" #")
            .next()
            .unwrap_or(value)
            .trim_end_matches([',', '}'])
            .trim();
        forms.iter().any(|form| form == value).then(|| SourceSpan {
            line: u32::try_from(index + 1).unwrap_or(u32::MAX),
            column: u32::try_from(line[at..].find(name).map_or(at, |offset| at + offset) + 1)
                .unwrap_or(u32::MAX),
        })
    })
}

/// A store URL (`artifacts.store`, a dataset's `path`) must parse; a URL
/// carrying a credential is located but its line is not echoed.
fn check_store_url(
    error: Option<crate::StoreUrlError>,
    key: &[&str],
    source: &str,
    file: &str,
) -> Result<(), ConfigError> {
    let Some(error) = error else {
        return Ok(());
    };
    let mut config_error =
        ConfigError::new(file, "bad-store-url", error.to_string()).with_key_path(key.join("."));
    if let Some(help) = error.help {
        config_error = config_error.with_help(help);
    }
    if let Some(span) = super::locate::locate_nearest_key(source, key) {
        config_error = config_error.at(source, span);
        if error.has_secret {
            config_error.source_line = None;
        }
    }
    Err(config_error)
}

#[cfg(test)]
mod tests {
    use super::*;

    const VALID: &str = "version: 1\nproject:\n  name: demo\n";

    #[test]
    fn a_minimal_manifest_parses_with_defaults() {
        let manifest = parse(VALID, "trainyard.yaml").unwrap();
        assert_eq!(manifest.project.default_branch, "main");
        assert!(manifest.datasets.is_empty());
    }

    #[test]
    fn a_typo_names_line_column_and_nearest_key() {
        let source = "version: 1\nproject:\n  nmae: demo\n";
        let error = parse(source, "trainyard.yaml").unwrap_err();
        assert_eq!(error.rule, "unknown-key");
        assert_eq!(error.span, Some(SourceSpan { line: 3, column: 3 }));
        assert_eq!(error.message, "unknown key `nmae` in `project`");
        assert_eq!(
            error.help.as_deref(),
            Some("did you mean `name`? accepted keys: `name`, `description`, `default-branch`")
        );
    }

    #[test]
    fn a_wrong_type_names_the_key_and_the_expected_type() {
        let source = "version: 1\nproject:\n  name: demo\ndatasets:\n  train:\n    path: a.csv\n    sample:\n      rows: many\n";
        let error = parse(source, "trainyard.yaml").unwrap_err();
        assert_eq!(error.rule, "wrong-type");
        assert_eq!(error.span.unwrap().line, 8);
        assert_eq!(
            error.message,
            "`datasets.train.sample.rows` must be a whole number of zero or more, found the string \"many\""
        );
    }

    #[test]
    fn an_unknown_enum_value_suggests_the_nearest() {
        let source = "version: 1\nproject:\n  name: demo\ntracking:\n  backend: mlfow\n";
        let error = parse(source, "trainyard.yaml").unwrap_err();
        assert_eq!(error.rule, "unknown-value");
        assert!(error.help.unwrap().starts_with("did you mean `mlflow`?"));
    }

    #[test]
    fn a_gate_for_an_undeclared_environment_is_located() {
        let source = "version: 1\nproject:\n  name: demo\nenvironments:\n  - name: staging\ngates:\n  stagign:\n    metrics: [\"accuracy >= 0.9\"]\n";
        let error = parse(source, "trainyard.yaml").unwrap_err();
        assert_eq!(error.rule, "unknown-environment");
        assert_eq!(error.span, Some(SourceSpan { line: 7, column: 3 }));
        assert_eq!(error.help.as_deref(), Some("did you mean `staging`?"));
    }

    #[test]
    fn a_bad_metric_rule_is_rejected() {
        let source = "version: 1\nproject:\n  name: demo\nenvironments:\n  - name: prod\ngates:\n  prod:\n    metrics: [\"accuracy is great\"]\n";
        let error = parse(source, "trainyard.yaml").unwrap_err();
        assert_eq!(error.rule, "bad-metric-rule");
        assert_eq!(error.span.unwrap().line, 8);
    }

    #[test]
    fn syntax_errors_are_located() {
        let error = parse("version: 1\nproject: [\n", "trainyard.yaml").unwrap_err();
        assert!(error.span.is_some(), "{error:?}");
    }

    #[test]
    fn unsupported_version_is_explained() {
        let error = parse("version: 2\nproject:\n  name: demo\n", "trainyard.yaml").unwrap_err();
        assert_eq!(error.rule, "unsupported-version");
        assert_eq!(error.span.unwrap().line, 1);
    }

    #[test]
    fn a_dataset_url_with_a_credential_is_refused_at_load() {
        let source = "version: 1\nproject:\n  name: demo\ndatasets:\n  sales:\n    path: s3://key:SECRET@bucket/sales/*.csv\n";
        let error = parse(source, "trainyard.yaml").unwrap_err();
        assert_eq!(error.rule, "bad-store-url");
        assert_eq!(error.span.unwrap().line, 6);
        assert!(!format!("{error:?}").contains("SECRET"), "{error:?}");
        let source = "version: 1\nproject:\n  name: demo\ndatasets:\n  sales:\n    path: https://acct1.blob.core.windows.net/data/x.csv?sig=SECRET\n";
        let error = parse(source, "trainyard.yaml").unwrap_err();
        assert!(!format!("{error:?}").contains("SECRET"), "{error:?}");
        let fine = "version: 1\nproject:\n  name: demo\ndatasets:\n  sales:\n    path: az://data/sales/*.parquet\n";
        assert!(parse(fine, "trainyard.yaml").is_ok());
    }

    #[test]
    fn a_malformed_store_url_is_located_and_a_credential_never_echoed() {
        let source =
            "version: 1\nproject:\n  name: demo\nartifacts:\n  store: s3://My_Bucket/models\n";
        let error = parse(source, "trainyard.yaml").unwrap_err();
        assert_eq!(error.rule, "bad-store-url");
        assert_eq!(error.span, Some(SourceSpan { line: 5, column: 3 }));
        assert!(
            error.message.contains("not a bucket name"),
            "{}",
            error.message
        );
        assert_eq!(
            error.source_line.as_deref(),
            Some("  store: s3://My_Bucket/models")
        );

        let source = "version: 1\nproject:\n  name: demo\nartifacts:\n  store: https://acct1.blob.core.windows.net/m?sig=SECRET\n";
        let error = parse(source, "trainyard.yaml").unwrap_err();
        assert_eq!(error.span.unwrap().line, 5);
        assert!(!format!("{error:?}").contains("SECRET"), "{error:?}");

        let source = "version: 1\nproject:\n  name: demo\nartifacts:\n  store: az://models/team\n";
        let manifest = parse(source, "trainyard.yaml").unwrap();
        assert_eq!(
            manifest.artifacts.unwrap().store_url().unwrap().to_string(),
            "az://models/team"
        );
    }

    #[test]
    fn an_mlflow_backend_needs_a_reachable_uri_at_its_line() {
        let base = "version: 1\nproject:\n  name: demo\ntracking:\n  backend: mlflow\n";
        let error = parse(base, "trainyard.yaml").unwrap_err();
        assert_eq!(error.rule, "missing-tracking-uri");
        assert_eq!(error.span.map(|span| span.line), Some(5));

        let error = parse(&format!("{base}  uri: ./mlruns\n"), "trainyard.yaml").unwrap_err();
        assert_eq!(error.rule, "bad-tracking-uri");
        assert_eq!(error.span.map(|span| span.line), Some(6));

        let secret = format!("{base}  uri: https://me:s3cret@mlflow.example.com\n");
        let error = parse(&secret, "trainyard.yaml").unwrap_err();
        assert!(!format!("{error:?}").contains("s3cret"), "{error:?}");

        for uri in [
            "http://127.0.0.1:5000",
            "azureml://westeurope.api.azureml.ms/mlflow/v1.0/subscriptions/s/resourceGroups/g/providers/Microsoft.MachineLearningServices/workspaces/w",
        ] {
            let manifest = parse(&format!("{base}  uri: {uri}\n"), "trainyard.yaml").unwrap();
            assert_eq!(manifest.tracking.uri.as_deref(), Some(uri));
        }
        // The git backend ignores a uri (kept for switching back and forth).
        let git = "version: 1\nproject:\n  name: demo\ntracking:\n  backend: git\n  uri: x\n";
        assert!(parse(git, "trainyard.yaml").is_ok());
    }

    #[test]
    fn sample_needs_exactly_one_size() {
        let source = "version: 1\nproject:\n  name: demo\ndatasets:\n  d:\n    path: a.csv\n    sample:\n      seed: 1\n";
        let error = parse(source, "trainyard.yaml").unwrap_err();
        assert_eq!(error.rule, "bad-sample");
        assert_eq!(error.span.unwrap().line, 7);
    }

    #[test]
    fn a_dataset_given_twice_is_refused_at_the_second() {
        let source = "version: 1\nproject:\n  name: demo\ndatasets:\n  train:\n    path: a.csv\n  train:\n    path: b.csv\n";
        let error = parse(source, "trainyard.yaml").unwrap_err();
        assert_eq!(error.rule, "duplicate-key");
        assert_eq!(error.span, Some(SourceSpan { line: 7, column: 3 }));
        assert!(error.message.contains("`train`"), "{}", error.message);
        assert!(error.message.contains("line 5"), "{}", error.message);
    }

    #[test]
    fn tags_are_refused_at_their_line() {
        for (source, line) in [
            ("version: 1\nproject:\n  name: !!binary ZGVtbw==\n", 3),
            (
                "version: 1\nproject:\n  name: demo\n  description: !foo x\n",
                4,
            ),
        ] {
            let error = parse(source, "trainyard.yaml").unwrap_err();
            assert_eq!(error.rule, "yaml-tag", "{error}");
            assert_eq!(error.span.unwrap().line, line);
        }
    }

    #[test]
    fn deep_nesting_is_refused_quickly_with_its_place_and_the_limit() {
        // 200 KB of `[`: minutes in libyaml before the limit.
        let source = format!("version: 1\nproject: {}", "[".repeat(200_000));
        let error = parse(&source, "trainyard.yaml").unwrap_err();
        assert_eq!(error.rule, "too-deep");
        assert_eq!(error.span.unwrap().line, 2);
        assert!(error.message.contains("64"), "{}", error.message);
        assert!(
            error.to_string().starts_with("trainyard.yaml:2:"),
            "{error}"
        );
    }

    #[test]
    fn names_that_would_leave_the_project_are_refused_at_their_line() {
        let base = "version: 1\nproject:\n  name: demo\n";
        for (extra, rule, line) in [
            (
                "datasets:\n  ../../../x/pwn:\n    path: a.csv\n",
                "bad-dataset-name",
                5,
            ),
            (
                "datasets:\n  /abs/pwn:\n    path: a.csv\n",
                "bad-dataset-name",
                5,
            ),
            (
                "datasets:\n  ok:\n    path: a.csv\n  a/b:\n    path: b.csv\n",
                "bad-dataset-name",
                7,
            ),
            (
                "model:\n  name: ../../elsewhere/m\n  path: m.json\n",
                "bad-model-name",
                5,
            ),
            (
                "environments:\n  - name: dev\n  - name: ../prod\n",
                "bad-environment-name",
                6,
            ),
            (
                "environments:\n  - name: dev\niac:\n  targets: [terraform]\n  output-dir: ../elsewhere\n",
                "bad-output-dir",
                8,
            ),
            (
                "environments:\n  - name: dev\niac:\n  targets: [terraform]\n  output-dir: /srv/infra\n",
                "bad-output-dir",
                8,
            ),
            (
                "environments:\n  - name: dev\niac:\n  targets: [terraform]\n  output-dir: x/.GIT\n",
                "bad-output-dir",
                8,
            ),
        ] {
            let error = parse(&format!("{base}{extra}"), "trainyard.yaml").unwrap_err();
            assert_eq!(error.rule, rule, "{extra}");
            assert_eq!(
                error.span.map(|span| span.line),
                Some(line),
                "{extra}: {error}"
            );
        }
        for fine in [
            "datasets:\n  train_2024-v1:\n    path: a.csv\n",
            "environments:\n  - name: dev\niac:\n  targets: [terraform]\n  output-dir: ops/./infra/\n",
        ] {
            parse(&format!("{base}{fine}"), "trainyard.yaml").unwrap();
        }
    }

    #[test]
    fn the_project_name_follows_the_documented_rule() {
        for good in ["demo", "a", "breast-cancer", "m2-x", &"a".repeat(63)] {
            let source = format!("version: 1\nproject:\n  name: {good}\n");
            assert!(parse(&source, "trainyard.yaml").is_ok(), "{good}");
        }
        for bad in [
            "Demo",
            "2fast",
            "-x",
            "my_project",
            "a b",
            "\"\"",
            &"a".repeat(64),
            &"a".repeat(100_000),
            "é",
        ] {
            let source = format!("version: 1\nproject:\n  name: {bad}\n");
            let error = parse(&source, "trainyard.yaml").unwrap_err();
            assert_eq!(error.rule, "bad-project-name", "{bad}");
            assert_eq!(error.span.unwrap().line, 3, "{bad}");
            assert!(error.message.len() < 300, "{}", error.message);
        }
    }
}
