//! Each rule of a [`GatePolicy`] judged against the [`Evidence`].

use std::collections::BTreeMap;
use std::path::Path;

use trainyard_core::manifest::{
    ByteSize, DataCheck, Direction, FairnessRule, GatePolicy, LatencyBudget, MetricThreshold,
    NonRegression, TestsRule,
};

use crate::evidence::{CheckState, CommitChecks, Evidence, PromotionOrder};
use crate::verdict::{RuleOutcome, Verdict, short};
use crate::{GateError, junit, tags};

/// Judges every rule of `policy`. A rule that cannot be judged (a report
/// missing, a metric not recorded) fails with a reason: a gate fails closed.
/// Errors are only for what stops the judging itself (the repository is unreadable).
pub fn evaluate(policy: &GatePolicy, evidence: &Evidence<'_>) -> Result<Verdict, GateError> {
    let mut rules = Vec::new();
    if let Some(order) = &evidence.order {
        rules.push(promotion_order(order, evidence));
    }
    for text in &policy.metrics {
        rules.push(metric_threshold(text, evidence));
    }
    for rule in &policy.non_regression {
        rules.push(non_regression(rule, evidence));
    }
    for rule in &policy.fairness {
        rules.push(fairness(rule, evidence));
    }
    if let Some(tests) = &policy.tests {
        rules.extend(test_reports(tests, &evidence.root));
    }
    if let Some(limit) = policy.max_artifact_size {
        rules.push(artifact_size(limit, evidence));
    }
    if let Some(budget) = &policy.latency {
        rules.push(latency(budget, evidence));
    }
    if let Some(pattern) = &policy.require_tag {
        rules.extend(release_tag(pattern, policy.require_signed_tag, evidence)?);
    }
    for (key, value) in &policy.model_tags {
        rules.push(model_tag(key, value, evidence));
    }
    for check in &policy.require_data {
        rules.push(data_check(*check, evidence));
    }
    for name in &policy.checks {
        rules.push(commit_check(name, evidence));
    }
    let candidate = &evidence.candidate;
    Ok(Verdict {
        environment: evidence.environment.clone(),
        model: candidate.model.clone(),
        version: candidate.version,
        run: candidate.run.clone(),
        commit: candidate.commit.clone(),
        policy: evidence.policy_source.clone(),
        policy_branch: evidence.policy_branch.clone(),
        passed: rules.iter().all(|rule| rule.passed),
        rules,
    })
}

/// A number as people read it: no trailing zeros, at most 6 decimals. Not
/// `markdown::metric` (4): a gate judges at a threshold, and a value just
/// under it (0.89996 against `>= 0.9`) must not read as equal to it.
fn number(value: f64) -> String {
    let text = format!("{value:.6}");
    let text = text.trim_end_matches('0').trim_end_matches('.');
    if text == "-0" {
        "0".to_owned()
    } else {
        text.to_owned()
    }
}

fn metric_threshold(text: &str, evidence: &Evidence<'_>) -> RuleOutcome {
    let rule = match MetricThreshold::parse(text) {
        Ok(rule) => rule,
        Err(why) => {
            return RuleOutcome::fail(
                "metric",
                text,
                "-",
                text,
                format!("the rule `{text}` is not understood: {why}"),
            );
        }
    };
    let required = format!("{} {}", rule.comparison.symbol(), number(rule.value));
    let candidate = &evidence.candidate;
    match candidate.metrics.get(&rule.metric) {
        None => RuleOutcome::fail(
            "metric",
            &rule.metric,
            "not recorded",
            required,
            format!(
                "run {} recorded no `{}` metric; recorded: {}",
                candidate.run,
                rule.metric,
                names(candidate.metrics.keys())
            ),
        ),
        Some(&observed) if rule.comparison.holds(observed, rule.value) => {
            RuleOutcome::pass("metric", &rule.metric, number(observed), required)
        }
        Some(&observed) => RuleOutcome::fail(
            "metric",
            &rule.metric,
            number(observed),
            &required,
            format!(
                "{} is {}, but {} requires {} {required}",
                rule.metric,
                number(observed),
                evidence.environment,
                rule.metric
            ),
        ),
    }
}

/// The version must have been deployed to the environment before (and, with
/// its `min-soak`, stayed there that long), unless the order was skipped on purpose.
fn promotion_order(order: &PromotionOrder, evidence: &Evidence<'_>) -> RuleOutcome {
    let previous = &order.previous;
    let required = match order.min_soak {
        Some(soak) => format!("in {previous} for {}", duration(soak)),
        None => format!("deployed to {previous}"),
    };
    let candidate = &evidence.candidate;
    let who = format!("{} v{}", candidate.model, candidate.version);
    let observed = match order.stayed {
        None => "never deployed".to_owned(),
        Some(stayed) => format!("in {previous} for {}", duration(stayed)),
    };
    if let Some(why) = &order.skipped {
        return RuleOutcome::pass(
            "order",
            previous,
            format!("{observed}; order skipped: {why}"),
            required,
        );
    }
    let hint = format!(
        "promote it to {previous} first, or, for a hotfix, `trainyard promote --env {} --skip-order --reason \"…\"`",
        evidence.environment
    );
    match (order.stayed, order.min_soak) {
        (None, _) => RuleOutcome::fail(
            "order",
            previous,
            observed,
            required,
            format!("{who} was never deployed to {previous}; {hint}"),
        ),
        (Some(stayed), Some(soak)) if stayed < soak => {
            // To the minute above: "wait 21h more", not 20h59m.
            let wait = soak.saturating_sub(stayed).as_secs();
            let wait = if wait >= 60 {
                wait.div_ceil(60) * 60
            } else {
                wait
            };
            RuleOutcome::fail(
                "order",
                previous,
                observed,
                required,
                format!(
                    "{who} has been in {previous} for {} of {}; wait {} more, or, for a hotfix, `trainyard promote --env {} --skip-order --reason \"…\"`",
                    duration(stayed),
                    duration(soak),
                    duration(std::time::Duration::from_secs(wait)),
                    evidence.environment
                ),
            )
        }
        (Some(_), _) => RuleOutcome::pass("order", previous, observed, required),
    }
}

/// A duration as people say it, to the minute: `3h`, `1h30m`, `48h`, `45m`, `20s`.
pub fn duration(value: std::time::Duration) -> String {
    let seconds = value.as_secs();
    if seconds < 60 {
        return format!("{seconds}s");
    }
    let minutes = seconds / 60;
    let (hours, minutes) = (minutes / 60, minutes % 60);
    match (hours, minutes) {
        (0, minutes) => format!("{minutes}m"),
        (hours, 0) => format!("{hours}h"),
        (hours, minutes) => format!("{hours}h{minutes}m"),
    }
}

fn names<'a>(names: impl Iterator<Item = &'a String>) -> String {
    let names: Vec<&str> = names.map(String::as_str).collect();
    if names.is_empty() {
        "none".to_owned()
    } else {
        names.join(", ")
    }
}

fn non_regression(rule: &NonRegression, evidence: &Evidence<'_>) -> RuleOutcome {
    let metric = &rule.metric;
    let candidate = &evidence.candidate;
    let Some(direction) = evidence.directions.get(metric).copied() else {
        return RuleOutcome::fail(
            "non-regression",
            metric,
            "-",
            "a direction",
            format!(
                "`{metric}` has no direction: declare it under `model.metrics` (maximize or minimize)"
            ),
        );
    };
    let Some(champion) = &evidence.champion else {
        return RuleOutcome::pass(
            "non-regression",
            metric,
            "no champion yet",
            "not worse than the champion",
        );
    };
    let (Some(&observed), Some(&best)) =
        (candidate.metrics.get(metric), champion.metrics.get(metric))
    else {
        let who = if candidate.metrics.contains_key(metric) {
            format!("champion v{}", champion.version)
        } else {
            format!("run {}", candidate.run)
        };
        return RuleOutcome::fail(
            "non-regression",
            metric,
            "not recorded",
            "not worse than the champion",
            format!("{who} recorded no `{metric}` metric, so the two cannot be compared"),
        );
    };
    // How much worse the candidate is; negative means better.
    let worse_by = match direction {
        Direction::Maximize => best - observed,
        Direction::Minimize => observed - best,
    };
    let (sign, bound) = match direction {
        Direction::Maximize => (">=", best - rule.tolerance),
        Direction::Minimize => ("<=", best + rule.tolerance),
    };
    let required = format!(
        "{sign} {} (champion v{} {} ± {})",
        number(bound),
        champion.version,
        number(best),
        number(rule.tolerance)
    );
    // A small epsilon keeps `0.93 - 0.01` from refusing exactly 0.92.
    if worse_by <= rule.tolerance + 1e-12 {
        RuleOutcome::pass("non-regression", metric, number(observed), required)
    } else {
        RuleOutcome::fail(
            "non-regression",
            metric,
            number(observed),
            required,
            format!(
                "{metric} is {} — {} worse than champion v{} ({}); the tolerance is {}",
                number(observed),
                number(worse_by),
                champion.version,
                number(best),
                number(rule.tolerance)
            ),
        )
    }
}

fn fairness(rule: &FairnessRule, evidence: &Evidence<'_>) -> RuleOutcome {
    let subject = format!("{} across {}", rule.metric, rule.column);
    let required = format!("gap <= {}", number(rule.max_gap));
    let fail = |observed: &str, why: String| {
        RuleOutcome::fail("fairness", &subject, observed, &required, why)
    };
    let groups = match read_groups(rule, evidence) {
        Ok(groups) => groups,
        Err((observed, why)) => return fail(observed, why),
    };
    let Some(column) = groups.get(&rule.column) else {
        return fail(
            "missing",
            format!(
                "{} has no column `{}`; it has: {}",
                rule.file,
                rule.column,
                names(groups.keys())
            ),
        );
    };
    let values: Vec<(&String, f64)> = column
        .iter()
        .filter_map(|(group, metrics)| metrics.get(&rule.metric).map(|value| (group, *value)))
        .collect();
    if values.len() < 2 {
        return fail(
            "missing",
            format!(
                "{} holds `{}` for {} group(s) of `{}`; a gap needs at least two",
                rule.file,
                rule.metric,
                values.len(),
                rule.column
            ),
        );
    }
    let lowest = values.iter().copied().fold(
        values[0],
        |low, item| if item.1 < low.1 { item } else { low },
    );
    let highest = values.iter().copied().fold(
        values[0],
        |high, item| if item.1 > high.1 { item } else { high },
    );
    let gap = highest.1 - lowest.1;
    let observed = format!(
        "{} ({} {}, {} {})",
        number(gap),
        lowest.0,
        number(lowest.1),
        highest.0,
        number(highest.1)
    );
    if gap <= rule.max_gap + 1e-12 {
        RuleOutcome::pass("fairness", &subject, observed, &required)
    } else {
        fail(
            &observed,
            format!(
                "{} differs by {} across `{}` ({} {}, {} {}); the bound is {}",
                rule.metric,
                number(gap),
                rule.column,
                lowest.0,
                number(lowest.1),
                highest.0,
                number(highest.1),
                number(rule.max_gap)
            ),
        )
    }
}

/// Per-group metrics: `{COLUMN: {GROUP: {METRIC: VALUE}}}`.
type Groups = BTreeMap<String, BTreeMap<String, BTreeMap<String, f64>>>;

/// The fairness file: the run's artifact of that path, else the file beside the manifest.
/// `Err((observed, why))` when it cannot be read.
fn read_groups(
    rule: &FairnessRule,
    evidence: &Evidence<'_>,
) -> Result<Groups, (&'static str, String)> {
    let bytes = match (evidence.artifacts)(&rule.file) {
        Some(Ok(bytes)) => bytes,
        Some(Err(why)) => return Err(("unreadable", format!("{}: {why}", rule.file))),
        None => {
            let path = evidence.root.join(&rule.file);
            std::fs::read(&path).map_err(|error| {
                (
                    "missing",
                    format!(
                        "no per-group metrics file {}: run {} has no such artifact and {} cannot be read ({error})",
                        rule.file,
                        evidence.candidate.run,
                        path.display()
                    ),
                )
            })?
        }
    };
    serde_json::from_slice(&bytes).map_err(|error| {
        (
            "unreadable",
            format!(
                "{} is not shaped {{COLUMN: {{GROUP: {{METRIC: NUMBER}}}}}}: {error}",
                rule.file
            ),
        )
    })
}

fn test_reports(rule: &TestsRule, root: &Path) -> Vec<RuleOutcome> {
    let mut outcomes = Vec::new();
    let mut total = junit::Counts::default();
    let mut files = 0_usize;
    for pattern in &rule.junit {
        // The folder is taken literally (it may hold `[` or `*`); only the pattern globs.
        let full = Path::new(&glob::Pattern::escape(&root.to_string_lossy())).join(pattern);
        let matches: Vec<_> = match glob::glob(&full.to_string_lossy()) {
            Ok(paths) => paths
                .filter_map(Result::ok)
                .filter(|path| path.is_file())
                .collect(),
            Err(error) => {
                outcomes.push(RuleOutcome::fail(
                    "tests",
                    pattern,
                    "-",
                    "JUnit reports",
                    format!("`{pattern}` is not a glob: {error}"),
                ));
                continue;
            }
        };
        if matches.is_empty() {
            outcomes.push(RuleOutcome::fail(
                "tests",
                pattern,
                "no file",
                "JUnit reports, all green",
                format!(
                    "no file matches `{pattern}` under {}: run the tests with JUnit output there before the gate",
                    root.display()
                ),
            ));
            continue;
        }
        for path in matches {
            files += 1;
            let (outcome, counts) = junit_file(&path, root);
            total += counts;
            outcomes.push(outcome);
        }
    }
    if let Some(min) = rule.min_count {
        let observed = format!("{} tests in {files} file(s)", total.tests);
        if total.tests >= min {
            outcomes.push(RuleOutcome::pass(
                "tests",
                "count",
                observed,
                format!(">= {min}"),
            ));
        } else {
            outcomes.push(RuleOutcome::fail(
                "tests",
                "count",
                observed,
                format!(">= {min}"),
                format!(
                    "only {} test(s) ran; the gate requires at least {min}",
                    total.tests
                ),
            ));
        }
    }
    outcomes
}

/// One JUnit file judged; its counts (zero when unreadable) for the total.
fn junit_file(path: &Path, root: &Path) -> (RuleOutcome, junit::Counts) {
    let shown = path
        .strip_prefix(root)
        .unwrap_or(path)
        .display()
        .to_string();
    let counts = std::fs::read_to_string(path)
        .map_err(|error| error.to_string())
        .and_then(|xml| junit::count(&xml));
    let required = "0 failures, 0 errors";
    match counts {
        Err(why) => (
            RuleOutcome::fail(
                "tests",
                &shown,
                "unreadable",
                required,
                format!("{shown}: {why}"),
            ),
            junit::Counts::default(),
        ),
        Ok(counts) => {
            let observed = format!(
                "{} tests, {} failures, {} errors",
                counts.tests, counts.failures, counts.errors
            );
            let outcome = if counts.failures + counts.errors == 0 {
                RuleOutcome::pass("tests", &shown, observed, required)
            } else {
                RuleOutcome::fail(
                    "tests",
                    &shown,
                    observed,
                    required,
                    format!(
                        "{shown}: {} of {} tests failed and {} errored",
                        counts.failures, counts.tests, counts.errors
                    ),
                )
            };
            (outcome, counts)
        }
    }
}

fn artifact_size(limit: ByteSize, evidence: &Evidence<'_>) -> RuleOutcome {
    let required = format!("<= {limit}");
    match evidence.candidate.artifact_size {
        None => RuleOutcome::fail(
            "artifact-size",
            "model",
            "unknown",
            required,
            format!(
                "{} v{} was registered without an artifact, so its size is unknown",
                evidence.candidate.model, evidence.candidate.version
            ),
        ),
        Some(size) if size <= limit.bytes() => RuleOutcome::pass(
            "artifact-size",
            "model",
            ByteSize(size).to_string(),
            required,
        ),
        Some(size) => RuleOutcome::fail(
            "artifact-size",
            "model",
            ByteSize(size).to_string(),
            required,
            format!(
                "the model artifact is {} ({size} bytes); {} serves at most {limit}",
                ByteSize(size),
                evidence.environment
            ),
        ),
    }
}

fn latency(budget: &LatencyBudget, evidence: &Evidence<'_>) -> RuleOutcome {
    let required = format!("<= {} ms", number(budget.max_ms));
    match evidence.candidate.metrics.get(&budget.metric) {
        None => RuleOutcome::fail(
            "latency",
            &budget.metric,
            "not measured",
            required,
            format!(
                "run {} recorded no `{}` metric: measure the model's latency in training and report it in milliseconds",
                evidence.candidate.run, budget.metric
            ),
        ),
        Some(&observed) if observed <= budget.max_ms => RuleOutcome::pass(
            "latency",
            &budget.metric,
            format!("{} ms", number(observed)),
            required,
        ),
        Some(&observed) => RuleOutcome::fail(
            "latency",
            &budget.metric,
            format!("{} ms", number(observed)),
            required,
            format!(
                "{} is {} ms; the budget of {} is {} ms",
                budget.metric,
                number(observed),
                evidence.environment,
                number(budget.max_ms)
            ),
        ),
    }
}

fn release_tag(
    pattern: &str,
    signed: bool,
    evidence: &Evidence<'_>,
) -> Result<Vec<RuleOutcome>, GateError> {
    let required = format!("a tag matching `{pattern}`");
    let fail =
        |observed: &str, why: String| RuleOutcome::fail("tag", pattern, observed, &required, why);
    let Some(commit) = &evidence.candidate.commit else {
        return Ok(vec![fail(
            "no commit",
            format!(
                "run {} recorded no commit, so no tag can vouch for it",
                evidence.candidate.run
            ),
        )]);
    };
    let Some(repository) = &evidence.repository else {
        return Ok(vec![fail(
            "no repository",
            "the project is not in a git repository".to_owned(),
        )]);
    };
    let glob = match glob::Pattern::new(pattern) {
        Ok(glob) => glob,
        Err(error) => {
            return Ok(vec![fail(
                "-",
                format!("`{pattern}` is not a glob: {error}"),
            )]);
        }
    };
    let on_commit = tags::tags_on(repository, commit)?;
    let matching: Vec<&tags::TagOnCommit> = on_commit
        .iter()
        .filter(|tag| glob.matches(&tag.name))
        .collect();
    let Some(first) = matching.first() else {
        let present: Vec<&str> = on_commit.iter().map(|tag| tag.name.as_str()).collect();
        return Ok(vec![fail(
            if present.is_empty() {
                "no tag"
            } else {
                "no matching tag"
            },
            format!(
                "commit {} carries no tag matching `{pattern}` (its tags: {}); tag the release, e.g. `git tag -a v1.0.0 {} -m v1.0.0 && git push origin v1.0.0`",
                short(commit),
                if present.is_empty() {
                    "none".to_owned()
                } else {
                    present.join(", ")
                },
                short(commit)
            ),
        )]);
    };
    let shown: Vec<&str> = matching.iter().map(|tag| tag.name.as_str()).collect();
    let mut outcomes = vec![RuleOutcome::pass(
        "tag",
        pattern,
        shown.join(", "),
        &required,
    )];
    if signed {
        let mut reasons = Vec::new();
        for tag in &matching {
            if !tag.annotated {
                reasons.push(format!(
                    "{} is a lightweight tag and cannot carry a signature",
                    tag.name
                ));
                continue;
            }
            match tags::verify_signature(repository, &tag.name)? {
                Ok(()) => {
                    outcomes.push(RuleOutcome::pass(
                        "signed-tag",
                        &tag.name,
                        "good signature",
                        "a verified signature",
                    ));
                    return Ok(outcomes);
                }
                Err(why) => reasons.push(format!("{}: {why}", tag.name)),
            }
        }
        outcomes.push(RuleOutcome::fail(
            "signed-tag",
            first.name.clone(),
            "no verified signature",
            "a verified signature",
            format!(
                "no tag matching `{pattern}` on {} has a signature git accepts ({}); sign it with `git tag -s`",
                short(commit),
                reasons.join("; ")
            ),
        ));
    }
    Ok(outcomes)
}

fn model_tag(key: &str, value: &str, evidence: &Evidence<'_>) -> RuleOutcome {
    let candidate = &evidence.candidate;
    let required = format!("{key}={value}");
    match candidate.tags.get(key) {
        Some(found) if found == value => {
            RuleOutcome::pass("model-tag", key, format!("{key}={found}"), required)
        }
        Some(found) => RuleOutcome::fail(
            "model-tag",
            key,
            format!("{key}={found}"),
            &required,
            format!(
                "{} v{} is tagged {key}={found}; {} requires {required}",
                candidate.model, candidate.version, evidence.environment
            ),
        ),
        None => RuleOutcome::fail(
            "model-tag",
            key,
            "absent",
            &required,
            format!(
                "{} v{} has no `{key}` tag; {} requires {required} (set by whoever may approve it)",
                candidate.model, candidate.version, evidence.environment
            ),
        ),
    }
}

fn data_check(check: DataCheck, evidence: &Evidence<'_>) -> RuleOutcome {
    let name = check.name();
    let run = &evidence.candidate.run;
    match evidence.candidate.data_checks.get(&check) {
        Some(Ok(())) => RuleOutcome::pass("data", name, "passed", "passed"),
        Some(Err(why)) => RuleOutcome::fail("data", name, "failed", "passed", why.clone()),
        None => RuleOutcome::fail(
            "data",
            name,
            "no report",
            "passed",
            format!(
                "no data {name} report was given for run {run}: save `trainyard data {} --format json` \
                 from the training job and pass it with --data-report",
                match check {
                    DataCheck::Validation => "validate",
                    DataCheck::Drift => "drift",
                }
            ),
        ),
    }
}

/// A named check run or commit status on the trained commit must have succeeded.
fn commit_check(name: &str, evidence: &Evidence<'_>) -> RuleOutcome {
    const REQUIRED: &str = "success";
    let fail =
        |observed: &str, why: String| RuleOutcome::fail("check", name, observed, REQUIRED, why);
    let Some(commit) = evidence.candidate.commit.as_deref() else {
        return fail(
            "unknown",
            format!(
                "check `{name}` cannot be verified: run {} recorded no commit",
                evidence.candidate.run
            ),
        );
    };
    let commit = short(commit);
    let (source, results) = match &evidence.candidate.checks {
        CommitChecks::Unavailable(why) => {
            return fail(
                "unknown",
                format!("check `{name}` on commit {commit} cannot be verified: {why}"),
            );
        }
        CommitChecks::Read { source, results } => (source, results),
    };
    let Some(reports) = results.get(name).filter(|reports| !reports.is_empty()) else {
        return fail(
            "missing",
            format!(
                "no check run or commit status `{name}` was reported on commit {commit} ({source}); reported: {}",
                names(results.keys())
            ),
        );
    };
    if let Some(conclusion) = reports.iter().find_map(|report| match report {
        CheckState::Failed(conclusion) => Some(conclusion),
        _ => None,
    }) {
        return fail(
            conclusion,
            format!("check `{name}` on commit {commit} concluded `{conclusion}`; it must succeed"),
        );
    }
    if let Some(status) = reports.iter().find_map(|report| match report {
        CheckState::Pending(status) => Some(status),
        _ => None,
    }) {
        return fail(
            status,
            format!(
                "check `{name}` on commit {commit} is still `{status}`; wait for it to finish, then run the gate again"
            ),
        );
    }
    RuleOutcome::pass("check", name, REQUIRED, REQUIRED)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn junit_globs_work_under_a_folder_with_glob_characters() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("proj [v2]*");
        std::fs::create_dir_all(root.join("reports")).unwrap();
        std::fs::write(
            root.join("reports/unit.xml"),
            "<testsuite><testcase name=\"a\"/></testsuite>",
        )
        .unwrap();
        let no_artifacts = |_: &str| None;
        let evidence = Evidence {
            environment: "staging".into(),
            candidate: crate::Candidate::default(),
            champion: None,
            order: None,
            directions: BTreeMap::new(),
            root,
            repository: None,
            policy_source: "main@0:trainyard.yaml".into(),
            policy_branch: None,
            artifacts: &no_artifacts,
        };
        let rule = TestsRule {
            junit: vec!["reports/*.xml".into()],
            min_count: Some(1),
        };
        let outcomes = test_reports(&rule, &evidence.root);
        assert!(
            outcomes.iter().all(|outcome| outcome.passed),
            "{outcomes:?}"
        );
        assert_eq!(outcomes[0].subject, "reports/unit.xml");
    }

    fn judged(order: PromotionOrder) -> RuleOutcome {
        let no_artifacts = |_: &str| None;
        let evidence = Evidence {
            environment: "prod".into(),
            candidate: crate::Candidate {
                model: "clf".into(),
                version: 3,
                ..crate::Candidate::default()
            },
            champion: None,
            order: Some(order),
            directions: BTreeMap::new(),
            root: ".".into(),
            repository: None,
            policy_source: "main@0:trainyard.yaml".into(),
            policy_branch: None,
            artifacts: &no_artifacts,
        };
        let verdict = evaluate(&GatePolicy::default(), &evidence).unwrap();
        assert_eq!(verdict.rules.len(), 1);
        verdict.rules[0].clone()
    }

    #[test]
    fn the_promotion_order_says_what_is_missing() {
        let hour = std::time::Duration::from_hours(1);
        let order = PromotionOrder {
            previous: "staging".into(),
            min_soak: Some(24 * hour),
            stayed: None,
            skipped: None,
        };
        let never = judged(order.clone());
        assert!(!never.passed);
        assert_eq!(never.observed, "never deployed");
        assert_eq!(never.required, "in staging for 24h");
        assert!(
            never
                .reason
                .unwrap()
                .starts_with("clf v3 was never deployed to staging")
        );
        let short = judged(PromotionOrder {
            stayed: Some(3 * hour),
            ..order.clone()
        });
        assert!(!short.passed);
        assert!(
            short
                .reason
                .unwrap()
                .starts_with("clf v3 has been in staging for 3h of 24h; wait 21h more"),
        );
        let soaked = judged(PromotionOrder {
            stayed: Some(25 * hour),
            ..order.clone()
        });
        assert!(soaked.passed, "{soaked:?}");
        assert_eq!(soaked.observed, "in staging for 25h");
        let skipped = judged(PromotionOrder {
            skipped: Some("hotfix CVE-1".into()),
            ..order
        });
        assert!(skipped.passed);
        assert_eq!(
            skipped.observed,
            "never deployed; order skipped: hotfix CVE-1"
        );
        let no_soak = judged(PromotionOrder {
            previous: "dev".into(),
            min_soak: None,
            stayed: Some(std::time::Duration::from_secs(5)),
            skipped: None,
        });
        assert!(no_soak.passed);
        assert_eq!(no_soak.required, "deployed to dev");
    }

    #[test]
    fn durations_read_well() {
        let d = std::time::Duration::from_secs;
        assert_eq!(duration(d(20)), "20s");
        assert_eq!(duration(d(3 * 3600)), "3h");
        assert_eq!(duration(d(90 * 60)), "1h30m");
        assert_eq!(duration(d(24 * 3600 + 60)), "24h1m");
    }

    #[test]
    fn numbers_read_well() {
        assert_eq!(number(0.930_000_1), "0.93");
        assert_eq!(number(12.0), "12");
        assert_eq!(number(-0.0), "0");
    }
}
