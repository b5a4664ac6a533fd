//! `trainyard site build`: the static site from a real repository's ledger
//! (runs, versions, promotions, a rollback), its escaping of hostile names,
//! its incremental writes, and (with Chromium) that every page loads, links
//! resolve, charts are drawn, and axe finds no serious accessibility issue.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use crate::common;
use crate::common::gate_fixture::Repo;
use trainyard_ledger::{Ledger, RunId};

const GATES: &str =
    "  staging:\n    metrics: [\"accuracy >= 0.9\"]\n  prod:\n    metrics: [\"accuracy >= 0.9\"]\n";

/// `site build -o DIR` in the repository; the report.
fn build(repo: &Repo, dir: &Path, extra: &[&str]) -> serde_json::Value {
    let mut args = vec!["site", "build", "-o", dir.to_str().unwrap()];
    args.extend_from_slice(extra);
    let (report, code) = repo.trainyard(&args);
    assert_eq!(code, 0, "{report:#}");
    report
}

fn read(dir: &Path, page: &str) -> String {
    // minijinja escapes `/` in text as `&#x2f;`, which a browser reads as `/`.
    std::fs::read_to_string(dir.join(page))
        .unwrap_or_else(|e| panic!("{page}: {e}"))
        .replace("&#x2f;", "/")
}

/// The overview's card of one environment.
fn card(overview: &str, environment: &str) -> String {
    let start = overview
        .find(&format!("id=\"env-{environment}\""))
        .unwrap_or_else(|| panic!("no card for {environment}:\n{overview}"));
    let rest = &overview[start..];
    rest[..rest.find("</article>").unwrap()].to_owned()
}

fn files(dir: &Path) -> BTreeMap<String, SystemTime> {
    let mut found = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(folder) = stack.pop() {
        for entry in std::fs::read_dir(&folder).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else {
                let name = path
                    .strip_prefix(dir)
                    .unwrap()
                    .to_string_lossy()
                    .into_owned();
                found.insert(name, path.metadata().unwrap().modified().unwrap());
            }
        }
    }
    found
}

#[test]
fn the_overview_names_each_environments_version_after_a_promote_and_a_rollback() {
    let repo = Repo::new(GATES);
    let site = tempfile::tempdir().unwrap();
    let dir = site.path().join("site");

    repo.train(&[("accuracy", 0.95)], 100, &[]);
    let (report, code) = repo.trainyard(&["promote", "--env", "staging", "--direct"]);
    assert_eq!(code, 0, "{report:#}");
    build(&repo, &dir, &[]);
    let overview = read(&dir, "index.html");
    let staging = card(&overview, "staging");
    assert!(staging.contains(">clf v1</a>"), "{staging}");
    assert!(staging.contains("promote by"), "{staging}");
    let prod = card(&overview, "prod");
    assert!(prod.contains("nothing deployed"), "{prod}");
    assert!(prod.contains("clf v1 waits at the prod gate"), "{prod}");

    repo.write("train.py", "# better\n");
    repo.commit_all("a better model");
    repo.train(&[("accuracy", 0.97)], 100, &[]);
    let (report, code) = repo.trainyard(&["promote", "--env", "staging", "--direct"]);
    assert_eq!(code, 0, "{report:#}");
    build(&repo, &dir, &[]);
    let staging = card(&read(&dir, "index.html"), "staging");
    assert!(staging.contains(">clf v2</a>"), "{staging}");

    let (report, code) = repo.trainyard(&[
        "rollback",
        "--env",
        "staging",
        "--reason",
        "v2 misreads new scanners",
        "--direct",
    ]);
    assert_eq!(code, 0, "{report:#}");
    build(&repo, &dir, &[]);
    let overview = read(&dir, "index.html");
    let staging = card(&overview, "staging");
    assert!(staging.contains(">clf v1</a>"), "{staging}");
    assert!(staging.contains("rollback by"), "{staging}");
    assert!(staging.contains("v2 misreads new scanners"), "{staging}");
    // The run that made v1, and the commit it was trained from.
    let run = repo.run_of(1);
    assert!(
        staging.contains(&format!("href=\"runs/{}.html\"", run.id)),
        "{staging}"
    );
    assert!(staging.contains(&run.git.commit[..7]), "{staging}");

    // The model page keeps every alias move and deployment: who, when, why.
    let model = read(&dir, "models/clf.html");
    assert!(model.contains("v2 misreads new scanners"), "{model}");
    assert_eq!(model.matches("<td>promote</td>").count(), 2, "{model}");
    assert_eq!(model.matches("<td>rollback</td>").count(), 1, "{model}");
    insta::assert_snapshot!("models_index", read(&dir, "models/index.html"));
}

#[test]
fn gate_verdicts_kept_by_a_job_show_on_the_model_page() {
    let repo = Repo::new(GATES);
    repo.train(&[("accuracy", 0.8)], 100, &[]);
    let reports = tempfile::tempdir().unwrap();
    let reports_dir = reports.path().to_str().unwrap();
    let (_, code) = repo.trainyard_with(
        &["gate", "--env", "staging"],
        &[("TRAINYARD_REPORTS_DIR", reports_dir)],
    );
    assert_eq!(code, 1, "accuracy 0.8 is below the staging gate's 0.9");
    let site = tempfile::tempdir().unwrap();
    build(&repo, site.path(), &["--reports-dir", reports_dir]);
    let model = read(site.path(), "models/clf.html");
    assert!(
        model.contains(">refused</span> staging: metric accuracy"),
        "{model}"
    );
}

#[test]
fn hostile_names_stay_text_on_every_page() {
    let repo = Repo::trained_once(GATES);
    let ledger = repo.ledger();
    let mut run = repo.run_of(1);
    run.id = RunId::new(chrono::Utc::now());
    run.git.branch = Some("<script>alert('branch')</script>".into());
    run.params = BTreeMap::from([(
        "<script>alert('param')</script>".to_owned(),
        serde_json::json!("<img src=x onerror=alert(1)>"),
    )]);
    run.metrics.insert("<script>m</script>".into(), 0.5);
    run.series
        .insert("<script>m</script>".into(), vec![(0, 1.0), (1, 0.5)]);
    run.ci.url = Some("javascript:alert(1)".into());
    ledger.append_run(&run).unwrap();
    // A profile whose column name is hostile.
    let mut profile = trainyard_data::profile::DatasetProfile::new(["<script>col</script>"]);
    for value in [1.0, 2.0, 2.5] {
        profile.columns[0].observe_number(value);
    }
    profile.rows = 3;
    std::fs::create_dir_all(repo.path().join(".trainyard/profiles")).unwrap();
    profile
        .save(&repo.path().join(".trainyard/profiles/biopsies.json"))
        .unwrap();

    let site = tempfile::tempdir().unwrap();
    build(&repo, site.path(), &[]);
    let pages = files(site.path());
    for page in pages
        .keys()
        .filter(|page| Path::new(page).extension().is_some_and(|e| e == "html"))
    {
        let html = read(site.path(), page);
        assert!(
            !html.contains("<script>"),
            "{page} holds a raw <script>:\n{html}"
        );
        assert!(!html.contains("<img"), "{page}");
        assert!(!html.contains("javascript:"), "{page}");
    }
    let run_page = read(site.path(), &format!("runs/{}.html", run.id));
    assert!(
        run_page.contains("&lt;script&gt;alert(&#x27;param&#x27;)&lt;/script&gt;"),
        "{run_page}"
    );
    assert!(
        run_page.contains("aria-label=\"&lt;script&gt;m&lt;/script&gt; per step\""),
        "{run_page}"
    );
    assert!(
        read(site.path(), "runs/index.html").contains("&lt;script&gt;alert(&#x27;branch&#x27;)")
    );
    assert!(read(site.path(), "data/biopsies.html").contains("&lt;script&gt;col&lt;/script&gt;"));
}

#[test]
fn a_second_build_rewrites_nothing_and_a_new_run_only_the_pages_that_show_it() {
    let repo = Repo::trained_once(GATES);
    repo.train(&[("accuracy", 0.96)], 100, &[]);
    // Without -o the site goes under .trainyard/site in the project.
    let (report, code) = repo.trainyard(&["site", "build"]);
    assert_eq!(code, 0, "{report:#}");
    let dir = repo.path().join(".trainyard/site");
    let first = files(&dir);
    assert_eq!(report["outputs"]["written"], first.len().to_string());

    let (report, _) = repo.trainyard(&["site", "build"]);
    assert_eq!(report["outputs"]["written"], "0", "{report:#}");
    assert_eq!(files(&dir), first, "no page was touched");

    let old_runs: Vec<String> = repo
        .ledger()
        .run_ids()
        .unwrap()
        .iter()
        .map(|id| format!("runs/{id}.html"))
        .collect();
    repo.train(&[("accuracy", 0.97)], 100, &[]);
    let new_run = repo.ledger().run_ids().unwrap().last().unwrap().to_string();
    let (report, _) = repo.trainyard(&["site", "build"]);
    let written: Vec<&str> = report["data"]["written"]
        .as_array()
        .unwrap()
        .iter()
        .map(|page| page.as_str().unwrap())
        .collect();
    let new_page = format!("runs/{new_run}.html");
    for page in [
        "index.html",
        "runs/index.html",
        new_page.as_str(),
        "models/clf.html",
    ] {
        assert!(written.contains(&page), "{page} not rewritten: {written:?}");
    }
    let after = files(&dir);
    for page in &old_runs {
        assert!(!written.contains(&page.as_str()), "{page} rewritten");
        assert_eq!(after[page], first[page], "{page} touched");
    }
    for page in ["assets/site.css", "assets/site.js"] {
        assert_eq!(after[page], first[page]);
    }
}

/// The site opened in a real headless Chromium: every page loads with no
/// console error and no request to another host, every link resolves,
/// charts are drawn, axe reports nothing serious on the main pages; the
/// screenshots for docs/steps/site.md (`UPDATE_SCREENSHOTS=1` writes them there).
#[test]
fn the_site_works_in_a_real_browser() {
    assert!(
        Path::new("/usr/bin/chromium").is_file(),
        "/usr/bin/chromium is missing: run `.ci/test` (it installs Debian's chromium)"
    );
    let script = common::repo().join("tests/support/site_check.mjs");
    common::support("playwright-core");
    let parent = tempfile::tempdir().unwrap();
    let project = parent.path().join("demo");
    // quickstart: an example project with runs (loss per step), versions,
    // promotions, a rollback and data profiles.
    common::trainyard()
        .arg("quickstart")
        .arg(&project)
        .assert()
        .code(0);
    let site = parent.path().join("site");
    let output = common::trainyard_process()
        .current_dir(&project)
        .args(["site", "build", "-o"])
        .arg(&site)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let shots: PathBuf = if std::env::var_os("UPDATE_SCREENSHOTS").is_some() {
        common::repo().join("docs/steps/site")
    } else {
        parent.path().join("shots")
    };
    let output = std::process::Command::new("node")
        .arg(&script)
        .arg(&site)
        .arg(&shots)
        .env("NODE_PATH", common::support(""))
        .output()
        .expect("node runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "the browser check failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let result: serde_json::Value = serde_json::from_str(stdout.lines().last().unwrap()).unwrap();
    let pages = result["pages"].as_u64().unwrap();
    assert!(pages >= 8, "{result:#}");
    assert!(result["charts"].as_u64().unwrap() > 0, "{result:#}");
    assert!(result["links"].as_u64().unwrap() > pages, "{result:#}");
    for shot in ["overview.png", "run.png", "data.png"] {
        assert!(shots.join(shot).is_file(), "{shot}");
    }
}
