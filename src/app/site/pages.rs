//! The site's pages from [`Inputs`]: view structs of plain strings (numbers
//! and dates formatted here, once), rendered by the compiled-in templates with
//! HTML auto-escaping. Only the SVG charts go in unescaped, and they hold no
//! text from data (see `charts`).

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use minijinja::{Environment, Value};
use serde::Serialize;
use trainyard_core::markdown::{MISSING, metric, short_commit, short_digest};
use trainyard_core::store_url::redact_urls;
use trainyard_core::{Conclusion, StepError};
use trainyard_gate::Verdict;
use trainyard_ledger::{CHALLENGER, CHAMPION, RunRecord, Timestamp};

use super::charts::{self, CHAMPION_COLOUR, Line, RUN_COLOUR};
use super::{Inputs, ModelHistory, Page, TEMPLATES, file_name};

/// The metric columns the runs table shows at most (a run page has them all).
const TABLE_METRICS: usize = 8;
/// How many recent runs the overview lists.
const RECENT_RUNS: usize = 10;
/// How many runs a dataset page's data history lists.
const DATA_HISTORY: usize = 50;

/// Every page and static file of the site, each handed to `put` as soon as
/// it is rendered (10,000 run pages are never held at once).
pub fn render(
    inputs: &Inputs,
    put: &mut dyn FnMut(Page) -> Result<(), StepError>,
) -> Result<(), StepError> {
    let env = environment()?;
    let site = Site::new(inputs);
    for file in TEMPLATES
        .get_dir("assets")
        .map(|dir| dir.files().collect::<Vec<_>>())
        .unwrap_or_default()
    {
        put(Page {
            path: file.path().to_string_lossy().replace('\\', "/"),
            bytes: file.contents().to_vec(),
        })?;
    }
    let project = site.project.clone();
    let page = |template: &str, path: String, title: String, section: &str, body: Value| {
        let depth = path.matches('/').count();
        let context = minijinja::context! {
            root => "../".repeat(depth),
            title => title,
            section => section,
            project => &project,
            page => body,
        };
        render_one(&env, template, &context).map(|html| Page {
            path,
            bytes: html.into_bytes(),
        })
    };
    put(page(
        "overview.html",
        "index.html".into(),
        "Overview".into(),
        "overview",
        Value::from(minijinja::value::Serde(site.overview())),
    )?)?;
    put(page(
        "runs.html",
        "runs/index.html".into(),
        "Runs".into(),
        "runs",
        Value::from(minijinja::value::Serde(site.runs_table())),
    )?)?;
    for run in &inputs.runs {
        put(page(
            "run.html",
            run_path(run.id.as_str()),
            format!("Run {}", run.id),
            "runs",
            Value::from(minijinja::value::Serde(site.run_page(run))),
        )?)?;
    }
    put(page(
        "models.html",
        "models/index.html".into(),
        "Models".into(),
        "models",
        Value::from(minijinja::value::Serde(site.models_index())),
    )?)?;
    for model in &inputs.models {
        put(page(
            "model.html",
            format!("models/{}.html", file_name(&model.name)),
            format!("Model {}", model.name),
            "models",
            Value::from(minijinja::value::Serde(site.model_page(model))),
        )?)?;
    }
    let datasets = site.dataset_names();
    put(page(
        "data.html",
        "data/index.html".into(),
        "Data".into(),
        "data",
        Value::from(minijinja::value::Serde(site.data_index(&datasets))),
    )?)?;
    for name in &datasets {
        put(page(
            "dataset.html",
            format!("data/{}.html", file_name(name)),
            format!("Dataset {name}"),
            "data",
            Value::from(minijinja::value::Serde(site.dataset_page(name))),
        )?)?;
    }
    Ok(())
}

fn environment() -> Result<Environment<'static>, StepError> {
    let mut env = Environment::new();
    // Auto-escaping by name: every template is `.html`.
    env.set_auto_escape_callback(|_| minijinja::AutoEscape::Html);
    env.set_undefined_behavior(minijinja::UndefinedBehavior::Strict);
    for file in TEMPLATES.files() {
        let name = file.path().to_string_lossy().into_owned();
        let source = file.contents_utf8().unwrap_or_default().to_owned();
        env.add_template_owned(name, source)
            .map_err(|error| template_error(&error))?;
    }
    Ok(env)
}

fn render_one(env: &Environment<'_>, template: &str, context: &Value) -> Result<String, StepError> {
    env.get_template(template)
        .and_then(|template| template.render(context))
        .map_err(|error| template_error(&error))
}

/// A built-in template that does not render is trainyard's bug, not the user's.
fn template_error(error: &minijinja::Error) -> StepError {
    let mut message = format!("the site's built-in template failed: {error}");
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        let _ = write!(message, ": {cause}");
        source = cause.source();
    }
    StepError::Environment(message)
}

fn run_path(id: &str) -> String {
    format!("runs/{}.html", file_name(id))
}

fn date(at: &Timestamp) -> String {
    at.format("%Y-%m-%d %H:%M UTC").to_string()
}

/// A link target only for http(s): a recorded URL never becomes `javascript:`.
fn web_link(url: Option<&str>) -> Option<String> {
    url.filter(|url| url.starts_with("https://") || url.starts_with("http://"))
        .map(redact_urls)
}

/// The inputs with the lookups every page needs.
struct Site<'a> {
    inputs: &'a Inputs,
    project: String,
    runs_by_id: BTreeMap<&'a str, &'a RunRecord>,
    /// The champion of the manifest's model (else the only model): its version and run.
    champion: Option<(u64, &'a RunRecord)>,
}

impl<'a> Site<'a> {
    fn new(inputs: &'a Inputs) -> Self {
        let runs_by_id: BTreeMap<&str, &RunRecord> = inputs
            .runs
            .iter()
            .map(|run| (run.id.as_str(), run))
            .collect();
        let model = inputs
            .model
            .as_deref()
            .and_then(|name| inputs.models.iter().find(|m| m.name == name))
            .or_else(|| inputs.models.first());
        let champion = model.and_then(|model| {
            let version = *model.aliases.get(CHAMPION)?;
            let record = model.versions.iter().find(|v| v.version == version)?;
            Some((version, *runs_by_id.get(record.run_id.as_str())?))
        });
        Self {
            inputs,
            project: inputs.project.clone().unwrap_or_default(),
            runs_by_id,
            champion,
        }
    }

    fn run_link(&self, id: &str) -> RunLink {
        RunLink {
            id: id.to_owned(),
            href: self
                .runs_by_id
                .contains_key(id)
                .then(|| format!("runs/{}.html", file_name(id))),
        }
    }

    fn model_of(&self, name: &str) -> Option<&'a ModelHistory> {
        self.inputs.models.iter().find(|m| m.name == name)
    }

    fn overview(&self) -> Overview {
        let mut upstream: Option<(String, u64)> = self
            .inputs
            .model
            .as_deref()
            .or_else(|| self.inputs.models.first().map(|m| m.name.as_str()))
            .and_then(|name| {
                let version = *self.model_of(name)?.aliases.get(CHALLENGER)?;
                Some((name.to_owned(), version))
            });
        let mut environments = Vec::new();
        for name in &self.inputs.environments {
            let history = self
                .inputs
                .deployments
                .get(name)
                .map_or(&[][..], Vec::as_slice);
            let current = history.last();
            let deployed = current.map(|d| {
                let run = self.runs_by_id.get(d.run_id.as_str());
                Deployed {
                    model: d.model.clone(),
                    version: d.version,
                    model_href: format!("models/{}.html", file_name(&d.model)),
                    since: date(&d.at),
                    run: self.run_link(d.run_id.as_str()),
                    trained_from: run.map(|run| short_commit(&run.git.commit).to_owned()),
                    release_commit: short_commit(&d.commit).to_owned(),
                    kind: d.kind.to_string(),
                    actor: d.actor.clone(),
                    reason: d.reason.clone(),
                }
            });
            // What the previous environment runs (the challenger, first) waits
            // at this environment's gate until it is deployed here.
            let waiting = upstream.as_ref().and_then(|(model, version)| {
                let here = current.filter(|d| &d.model == model).map(|d| d.version);
                let ever_here = history
                    .iter()
                    .any(|d| &d.model == model && d.version == *version);
                (here != Some(*version) && !ever_here)
                    .then(|| format!("{model} v{version} waits at the {name} gate"))
            });
            if let Some(d) = current {
                upstream = Some((d.model.clone(), d.version));
            }
            environments.push(EnvironmentView {
                name: name.clone(),
                deployed,
                waiting,
                moves: history.len(),
            });
        }
        let monitoring = self
            .inputs
            .reports
            .iter()
            .rev()
            .find(|report| report.step == "data drift")
            .map(|report| ReportLine {
                step: report.step.clone(),
                verdict: conclusion(report.conclusion),
                title: redact_urls(&report.title),
            });
        let recent = self
            .inputs
            .runs
            .iter()
            .rev()
            .take(RECENT_RUNS)
            .map(|run| Self::run_row(run, &[]))
            .collect();
        Overview {
            environments,
            monitoring,
            recent,
            runs: self.inputs.runs.len(),
            models: self.inputs.models.len(),
        }
    }

    fn metric_columns(&self) -> Vec<String> {
        let mut seen = BTreeSet::new();
        let mut columns = Vec::new();
        // The newest runs' metrics first: the ones people compare now.
        for run in self.inputs.runs.iter().rev() {
            for name in run.metrics.keys() {
                if columns.len() < TABLE_METRICS && seen.insert(name.as_str()) {
                    columns.push(name.clone());
                }
            }
            if columns.len() == TABLE_METRICS {
                break;
            }
        }
        columns.sort();
        columns
    }

    fn run_row(run: &RunRecord, columns: &[String]) -> RunRow {
        RunRow {
            id: run.id.to_string(),
            href: run_path(run.id.as_str()),
            started: date(&run.started_at),
            branch: run.git.branch.clone().unwrap_or_else(|| MISSING.to_owned()),
            mode: run.mode.to_string(),
            outcome: run.outcome.to_string(),
            succeeded: run.outcome.is_success(),
            commit: short_commit(&run.git.commit).to_owned(),
            metrics: columns
                .iter()
                .map(|name| run.metrics.get(name).map(|v| metric(*v)))
                .collect(),
        }
    }

    fn runs_table(&self) -> RunsTable {
        let columns = self.metric_columns();
        RunsTable {
            rows: self
                .inputs
                .runs
                .iter()
                .rev()
                .map(|run| Self::run_row(run, &columns))
                .collect(),
            columns,
        }
    }

    fn run_page(&self, run: &RunRecord) -> RunPage {
        let champion = self.champion.filter(|(_, champion)| champion.id != run.id);
        let mut metrics = Vec::new();
        let mut charts = Vec::new();
        let names: BTreeSet<&String> = run.metrics.keys().chain(run.series.keys()).collect();
        for name in names {
            let value = run.metrics.get(name).copied();
            let champion_value = champion.and_then(|(_, c)| c.metrics.get(name).copied());
            metrics.push(MetricRow {
                name: name.clone(),
                value: value.map_or_else(|| MISSING.to_owned(), metric),
                champion: champion_value.map(metric),
                delta: value
                    .zip(champion_value)
                    .map(|(v, c)| trainyard_core::markdown::delta(v - c)),
                steps: run.series.get(name).map_or(0, Vec::len),
            });
            let mut lines = Vec::new();
            if let Some(points) = run.series.get(name) {
                lines.push(Line {
                    points,
                    colour: RUN_COLOUR,
                });
                if let Some(points) = champion.and_then(|(_, c)| c.series.get(name)) {
                    lines.push(Line {
                        points,
                        colour: CHAMPION_COLOUR,
                    });
                }
            }
            let series = charts::series(name, &lines);
            let against = value
                .zip(champion_value)
                .and_then(|(v, c)| charts::against_champion(name, v, c));
            if series.is_some() || against.is_some() {
                charts.push(ChartView {
                    name: name.clone(),
                    with_champion: lines.len() > 1,
                    series: series.map(Value::from_safe_string),
                    against: against.map(Value::from_safe_string),
                });
            }
        }
        // Learning curves first: they are what people come to a run page for.
        charts.sort_by_key(|chart| chart.series.is_none());
        RunPage {
            id: run.id.to_string(),
            project: run.project.clone(),
            mode: run.mode.to_string(),
            outcome: run.outcome.to_string(),
            succeeded: run.outcome.is_success(),
            started: date(&run.started_at),
            duration: format!("{:.1} s", run.duration.as_secs_f64()),
            commit: run.git.commit.clone(),
            dirty: run.git.dirty,
            branch: run.git.branch.clone(),
            ci: format!(
                "{} {}",
                run.ci.host,
                run.ci.event.as_deref().unwrap_or_default()
            )
            .trim()
            .to_owned(),
            ci_url: web_link(run.ci.url.as_deref()),
            command: redact_urls(&run.command.join(" ")),
            params: run
                .params
                .iter()
                .map(|(name, value)| {
                    let text = match value {
                        serde_json::Value::String(text) => text.clone(),
                        other => other.to_string(),
                    };
                    (name.clone(), redact_urls(&text))
                })
                .collect(),
            datasets: run
                .datasets
                .iter()
                .map(|(name, digest)| DatasetLink {
                    name: name.clone(),
                    href: format!("data/{}.html", file_name(name)),
                    digest: short_digest(digest).to_owned(),
                })
                .collect(),
            artifacts: run
                .artifacts
                .iter()
                .map(|a| ArtifactView {
                    path: a.path.clone(),
                    digest: short_digest(&a.digest).to_owned(),
                    size: a.size,
                })
                .collect(),
            model_uri: run.model_uri.as_deref().map(redact_urls),
            champion: champion.map(|(version, c)| ChampionView {
                version,
                run: self.run_link(c.id.as_str()),
            }),
            metrics,
            charts,
        }
    }

    fn models_index(&self) -> ModelsIndex {
        ModelsIndex {
            models: self
                .inputs
                .models
                .iter()
                .map(|m| ModelLine {
                    name: m.name.clone(),
                    href: format!("models/{}.html", file_name(&m.name)),
                    versions: m.versions.len(),
                    aliases: m
                        .aliases
                        .iter()
                        .map(|(alias, version)| format!("{alias} → v{version}"))
                        .collect(),
                })
                .collect(),
        }
    }

    #[allow(clippy::too_many_lines)] // one page's tables, each a few lines
    fn model_page(&self, model: &ModelHistory) -> ModelPage {
        let verdicts: Vec<(u64, VerdictRow)> = self
            .inputs
            .reports
            .iter()
            .filter_map(|report| {
                let verdict: Verdict = serde_json::from_value(report.data.clone()?).ok()?;
                (verdict.model == model.name).then_some(verdict)
            })
            .map(|verdict| {
                (
                    verdict.version,
                    VerdictRow {
                        environment: verdict.environment.clone(),
                        passed: verdict.passed,
                        detail: if verdict.passed {
                            format!("{} rule(s) passed", verdict.rules.len())
                        } else {
                            verdict
                                .failures()
                                .map(|rule| {
                                    format!(
                                        "{} {}: {} (needs {})",
                                        rule.rule, rule.subject, rule.observed, rule.required
                                    )
                                })
                                .collect::<Vec<_>>()
                                .join("; ")
                        },
                        source: "kept gate report".into(),
                    },
                )
            })
            .chain(
                self.inputs
                    .deployments
                    .iter()
                    .flat_map(|(env, history)| history.iter().map(move |d| (env, d)))
                    .filter(|(_, d)| d.model == model.name)
                    .filter_map(|(env, d)| {
                        let digest = d.verdict_digest.as_deref()?;
                        Some((
                            d.version,
                            VerdictRow {
                                environment: env.clone(),
                                passed: true,
                                detail: format!(
                                    "verdict {} let it in ({}, {})",
                                    short_digest(digest.trim_start_matches("blake3:")),
                                    d.kind,
                                    date(&d.at)
                                ),
                                source: "deployment record".into(),
                            },
                        ))
                    }),
            )
            .collect();
        let versions = model
            .versions
            .iter()
            .rev()
            .map(|v| VersionRow {
                version: v.version,
                run: self.run_link(v.run_id.as_str()),
                registered: date(&v.registered_at),
                aliases: v.aliases.join(", "),
                tags: v
                    .tags
                    .iter()
                    .map(|(k, value)| format!("{k}={value}"))
                    .collect::<Vec<_>>()
                    .join(", "),
                digest: short_digest(&v.artifact.digest).to_owned(),
                verdicts: verdicts
                    .iter()
                    .filter(|(version, _)| *version == v.version)
                    .map(|(_, row)| row.clone())
                    .collect(),
            })
            .collect();
        let moves = model
            .moves
            .iter()
            .rev()
            .map(|m| MoveRow {
                alias: m.alias.clone(),
                from: m.previous.map(|v| format!("v{v}")),
                to: format!("v{}", m.version),
                actor: m.actor.clone(),
                at: date(&m.at),
                reason: m.reason.clone(),
            })
            .collect();
        let tags = model
            .tags
            .iter()
            .rev()
            .map(|t| MoveRow {
                alias: format!("{}={}", t.key, t.value),
                from: None,
                to: format!("v{}", t.version),
                actor: t.actor.clone(),
                at: date(&t.at),
                reason: t.reason.clone(),
            })
            .collect();
        let deployments = self
            .inputs
            .environments
            .iter()
            .map(|env| EnvironmentHistory {
                name: env.clone(),
                moves: self
                    .inputs
                    .deployments
                    .get(env)
                    .map_or(&[][..], Vec::as_slice)
                    .iter()
                    .rev()
                    .filter(|d| d.model == model.name)
                    .map(|d| MoveRow {
                        alias: d.kind.to_string(),
                        from: None,
                        to: format!("v{}", d.version),
                        actor: d.actor.clone(),
                        at: date(&d.at),
                        reason: d.reason.clone(),
                    })
                    .collect(),
            })
            .filter(|history: &EnvironmentHistory| !history.moves.is_empty())
            .collect();
        ModelPage {
            name: model.name.clone(),
            versions,
            moves,
            tags,
            deployments,
        }
    }

    /// Datasets with a saved profile or named by a run, sorted.
    fn dataset_names(&self) -> Vec<String> {
        let mut names: BTreeSet<String> = self.inputs.profiles.keys().cloned().collect();
        for run in &self.inputs.runs {
            names.extend(run.datasets.keys().cloned());
        }
        names.into_iter().collect()
    }

    fn data_index(&self, names: &[String]) -> DataIndex {
        DataIndex {
            datasets: names
                .iter()
                .map(|name| {
                    let profile = self.inputs.profiles.get(name);
                    let latest = self
                        .inputs
                        .runs
                        .iter()
                        .rev()
                        .find_map(|run| run.datasets.get(name));
                    DatasetLine {
                        name: name.clone(),
                        href: format!("data/{}.html", file_name(name)),
                        rows: profile.map(|p| p.rows),
                        columns: profile.map(|p| p.columns.len()),
                        digest: latest.map(|d| short_digest(d).to_owned()),
                    }
                })
                .collect(),
            drift: self.drift_reports(None),
        }
    }

    fn drift_reports(&self, dataset: Option<&str>) -> Vec<ReportLine> {
        self.inputs
            .reports
            .iter()
            .rev()
            .filter(|report| report.step == "data drift")
            .filter(|report| dataset.is_none_or(|name| report.title.contains(name)))
            .map(|report| ReportLine {
                step: report.step.clone(),
                verdict: conclusion(report.conclusion),
                title: redact_urls(&report.title),
            })
            .collect()
    }

    fn dataset_page(&self, name: &str) -> DatasetPage {
        let profile = self.inputs.profiles.get(name).map(|profile| ProfileView {
            rows: profile.rows,
            columns: profile
                .columns
                .iter()
                .map(|column| {
                    let histogram = column
                        .is_numeric()
                        .then(|| {
                            charts::histogram(
                                column.name(),
                                &column.sketch().buckets(),
                                column.min()?,
                                column.max()?,
                            )
                        })
                        .flatten();
                    #[allow(clippy::cast_precision_loss)]
                    ColumnView {
                        name: column.name().to_owned(),
                        kind: if column.is_numeric() {
                            "number"
                        } else if column.texts() > 0 {
                            "text"
                        } else if column.booleans() > 0 {
                            "boolean"
                        } else {
                            "empty"
                        }
                        .to_owned(),
                        null_rate: format!("{:.1} %", column.null_fraction() * 100.0),
                        null_percent: (column.null_fraction() * 100.0).round(),
                        distinct: format!(
                            "{}{}",
                            if column.distinct_is_exact() {
                                ""
                            } else {
                                "≈"
                            },
                            column.distinct()
                        ),
                        min: column.min().map(metric),
                        max: column.max().map(metric),
                        mean: column.mean().map(metric),
                        histogram: histogram.map(Value::from_safe_string),
                        top: if column.is_numeric() {
                            Vec::new()
                        } else {
                            column
                                .top_values(5)
                                .unwrap_or_default()
                                .into_iter()
                                .map(|(value, count)| {
                                    let text = match value {
                                        trainyard_data::profile::Value::Number(n) => metric(n),
                                        trainyard_data::profile::Value::Text(t) => t,
                                    };
                                    (text, count)
                                })
                                .collect()
                        },
                    }
                })
                .collect(),
        });
        // The data each recent run trained on, and where it changed.
        let mut history: Vec<DataVersion> = Vec::new();
        let mut previous: Option<&str> = None;
        for run in &self.inputs.runs {
            if let Some(digest) = run.datasets.get(name) {
                history.push(DataVersion {
                    run: self.run_link(run.id.as_str()),
                    started: date(&run.started_at),
                    digest: short_digest(digest).to_owned(),
                    changed: previous.is_some_and(|p| p != digest),
                });
                previous = Some(digest);
            }
        }
        let versions = history
            .iter()
            .map(|v| v.digest.as_str())
            .collect::<BTreeSet<_>>()
            .len();
        let history = history.into_iter().rev().take(DATA_HISTORY).collect();
        DatasetPage {
            name: name.to_owned(),
            profile,
            history,
            versions,
            drift: self.drift_reports(Some(name)),
        }
    }
}

fn conclusion(conclusion: Conclusion) -> String {
    match conclusion {
        Conclusion::Success => "passed",
        Conclusion::Failure => "failed",
        Conclusion::Neutral => "neutral",
    }
    .to_owned()
}

#[derive(Serialize)]
struct RunLink {
    id: String,
    href: Option<String>,
}

#[derive(Serialize)]
struct Overview {
    environments: Vec<EnvironmentView>,
    monitoring: Option<ReportLine>,
    recent: Vec<RunRow>,
    runs: usize,
    models: usize,
}

#[derive(Serialize)]
struct EnvironmentView {
    name: String,
    deployed: Option<Deployed>,
    waiting: Option<String>,
    moves: usize,
}

#[derive(Serialize)]
struct Deployed {
    model: String,
    version: u64,
    model_href: String,
    since: String,
    run: RunLink,
    trained_from: Option<String>,
    release_commit: String,
    kind: String,
    actor: String,
    reason: String,
}

#[derive(Serialize)]
struct ReportLine {
    step: String,
    verdict: String,
    title: String,
}

#[derive(Serialize)]
struct RunsTable {
    columns: Vec<String>,
    rows: Vec<RunRow>,
}

#[derive(Serialize)]
struct RunRow {
    id: String,
    href: String,
    started: String,
    branch: String,
    mode: String,
    outcome: String,
    succeeded: bool,
    commit: String,
    metrics: Vec<Option<String>>,
}

#[derive(Serialize)]
struct RunPage {
    id: String,
    project: String,
    mode: String,
    outcome: String,
    succeeded: bool,
    started: String,
    duration: String,
    commit: String,
    dirty: bool,
    branch: Option<String>,
    ci: String,
    ci_url: Option<String>,
    command: String,
    params: Vec<(String, String)>,
    datasets: Vec<DatasetLink>,
    artifacts: Vec<ArtifactView>,
    model_uri: Option<String>,
    champion: Option<ChampionView>,
    metrics: Vec<MetricRow>,
    charts: Vec<ChartView>,
}

#[derive(Serialize)]
struct ChampionView {
    version: u64,
    run: RunLink,
}

#[derive(Serialize)]
struct MetricRow {
    name: String,
    value: String,
    champion: Option<String>,
    delta: Option<String>,
    steps: usize,
}

#[derive(Serialize)]
struct ChartView {
    name: String,
    with_champion: bool,
    series: Option<Value>,
    against: Option<Value>,
}

#[derive(Serialize)]
struct DatasetLink {
    name: String,
    href: String,
    digest: String,
}

#[derive(Serialize)]
struct ArtifactView {
    path: String,
    digest: String,
    size: u64,
}

#[derive(Serialize)]
struct ModelsIndex {
    models: Vec<ModelLine>,
}

#[derive(Serialize)]
struct ModelLine {
    name: String,
    href: String,
    versions: usize,
    aliases: Vec<String>,
}

#[derive(Serialize)]
struct ModelPage {
    name: String,
    versions: Vec<VersionRow>,
    moves: Vec<MoveRow>,
    tags: Vec<MoveRow>,
    deployments: Vec<EnvironmentHistory>,
}

#[derive(Serialize)]
struct VersionRow {
    version: u64,
    run: RunLink,
    registered: String,
    aliases: String,
    tags: String,
    digest: String,
    verdicts: Vec<VerdictRow>,
}

#[derive(Serialize, Clone)]
struct VerdictRow {
    environment: String,
    passed: bool,
    detail: String,
    source: String,
}

#[derive(Serialize)]
struct MoveRow {
    alias: String,
    from: Option<String>,
    to: String,
    actor: String,
    at: String,
    reason: String,
}

#[derive(Serialize)]
struct EnvironmentHistory {
    name: String,
    moves: Vec<MoveRow>,
}

#[derive(Serialize)]
struct DataIndex {
    datasets: Vec<DatasetLine>,
    drift: Vec<ReportLine>,
}

#[derive(Serialize)]
struct DatasetLine {
    name: String,
    href: String,
    rows: Option<u64>,
    columns: Option<usize>,
    digest: Option<String>,
}

#[derive(Serialize)]
struct DatasetPage {
    name: String,
    profile: Option<ProfileView>,
    history: Vec<DataVersion>,
    versions: usize,
    drift: Vec<ReportLine>,
}

#[derive(Serialize)]
struct ProfileView {
    rows: u64,
    columns: Vec<ColumnView>,
}

#[derive(Serialize)]
struct ColumnView {
    name: String,
    kind: String,
    null_rate: String,
    null_percent: f64,
    distinct: String,
    min: Option<String>,
    max: Option<String>,
    mean: Option<String>,
    histogram: Option<Value>,
    top: Vec<(String, u64)>,
}

#[derive(Serialize)]
struct DataVersion {
    run: RunLink,
    started: String,
    digest: String,
    changed: bool,
}
