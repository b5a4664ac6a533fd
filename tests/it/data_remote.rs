//! Datasets in object storage: a CSV and a Parquet dataset uploaded with the
//! clouds' own SDKs to moto (`s3://`) and Azurite (`az://`), read by
//! `data validate`, `fingerprint`, `drift` and `sample` exactly as their
//! local copies are, findings at `URL:LINE`; the ETag cache spares a second
//! download; a missing bucket or an empty glob is an error one can act on.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a test that cannot set up should stop loudly

use std::fmt::Write as _;
use std::path::Path;

use crate::common;

use common::{json_document, repo, trainyard};
use trainyard_testkit::servers::{Azurite, Moto};

/// `id,amount,city`: 60 rows; line 11 has a negative amount.
fn sales_csv() -> String {
    let mut text = String::from("id,amount,city\n");
    for id in 1..=60 {
        let amount = if id == 10 { -5.0 } else { f64::from(id) * 1.5 };
        let city = if id % 3 == 0 { "lyon" } else { "paris" };
        writeln!(text, "{id},{amount},{city}").unwrap();
    }
    text
}

const SALES_SCHEMA: &str = "    schema:
      columns:
        - { name: id, type: integer, nullable: false, unique: true }
        - { name: amount, type: number, min: 0 }
        - { name: city, type: categorical, enum: [paris, lyon] }
";

const ORDERS_SCHEMA: &str = "    schema:
      columns:
        - { name: id, type: integer, nullable: false, unique: true }
        - { name: amount, type: number, min: 0 }
        - { name: city, type: categorical, enum: [paris, lyon] }
";

/// A project with local copies (`sales-local`, `orders-local`) and the same
/// data at `base` (`s3://data` or `az://data`).
fn project(base: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("data")).unwrap();
    std::fs::write(dir.path().join("data/sales.csv"), sales_csv()).unwrap();
    std::fs::copy(
        repo().join("tests/fixtures/parquet/orders.parquet"),
        dir.path().join("data/orders.parquet"),
    )
    .unwrap();
    std::fs::write(
        dir.path().join("trainyard.yaml"),
        format!(
            "version: 1\nproject: {{ name: remote }}\ndatasets:\n  sales-local:\n    path: data/sales.csv\n{SALES_SCHEMA}  sales:\n    path: {base}/sales/*.csv\n{SALES_SCHEMA}  orders-local:\n    path: data/orders.parquet\n{ORDERS_SCHEMA}  orders:\n    path: {base}/orders/orders.parquet\n{ORDERS_SCHEMA}"
        ),
    )
    .unwrap();
    dir
}

/// `trainyard --format json ARGS` in `dir` with `env`: exit code and report.
fn run(dir: &Path, env: &[(String, String)], args: &[&str]) -> (i32, serde_json::Value) {
    let output = trainyard()
        .current_dir(dir)
        .envs(env.iter().map(|(k, v)| (k, v)))
        .args(["--format", "json"])
        .args(args)
        .output()
        .unwrap();
    let report = json_document(&output, &format!("trainyard {args:?}"));
    (output.status.code().expect("trainyard exited"), report)
}

/// `file:line message` of every located finding.
fn located(report: &serde_json::Value) -> Vec<String> {
    report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|f| {
            let location = f.get("location")?;
            Some(format!(
                "{}:{} {}",
                location["file"].as_str()?,
                location.get("line")?,
                f["message"].as_str()?
            ))
        })
        .collect()
}

/// A saved profile without the dataset's name (the only thing that differs).
fn profile(dir: &Path, name: &str) -> serde_json::Value {
    let mut profile: serde_json::Value = serde_json::from_slice(
        &std::fs::read(dir.join(format!(".trainyard/profiles/{name}.json"))).unwrap(),
    )
    .unwrap();
    profile.as_object_mut().unwrap().remove("dataset");
    profile
}

/// The whole story against one store: validate, fingerprint (cached, then
/// changed), drift and sample, each like the local copy.
#[allow(clippy::too_many_lines)] // one scenario, read top to bottom
fn remote_datasets_behave_like_local_ones(
    base: &str,
    env: &[(String, String)],
    upload: &dyn Fn(&str, &Path),
) {
    let dir = project(base);
    let root = dir.path();
    upload("sales/sales.csv", &root.join("data/sales.csv"));
    upload("orders/orders.parquet", &root.join("data/orders.parquet"));

    // validate: the same findings at the same lines, named by URL; the same profiles.
    let (code, report) = run(root, env, &["data", "validate"]);
    assert_eq!(code, 1, "{report:#}");
    let findings = located(&report);
    let local_sales = findings
        .iter()
        .filter(|f| f.starts_with("data/sales.csv:"))
        .map(|f| f.replacen("data/sales.csv", &format!("{base}/sales/sales.csv"), 1))
        .collect::<Vec<_>>();
    let remote_sales = findings
        .iter()
        .filter(|f| f.starts_with(&format!("{base}/sales/")))
        .cloned()
        .collect::<Vec<_>>();
    assert_eq!(
        remote_sales,
        [format!(
            "{base}/sales/sales.csv:11 `amount: >= 0`: value `-5`"
        )],
        "{findings:#?}"
    );
    assert_eq!(remote_sales, local_sales);
    let local_orders = findings
        .iter()
        .filter(|f| f.starts_with("data/orders.parquet:"))
        .map(|f| {
            f.replacen(
                "data/orders.parquet",
                &format!("{base}/orders/orders.parquet"),
                1,
            )
        })
        .collect::<Vec<_>>();
    let remote_orders = findings
        .iter()
        .filter(|f| f.starts_with(&format!("{base}/orders/")))
        .cloned()
        .collect::<Vec<_>>();
    assert!(!remote_orders.is_empty(), "{findings:#?}");
    assert_eq!(remote_orders, local_orders);
    assert_eq!(report["outputs"]["rows-sales"], "60");
    assert_eq!(report["outputs"]["rows-orders"], "300");
    assert_eq!(profile(root, "sales"), profile(root, "sales-local"));
    assert_eq!(profile(root, "orders"), profile(root, "orders-local"));

    // fingerprint: objects recorded by URL with the local files' digests.
    let (code, report) = run(root, env, &["data", "fingerprint"]);
    assert_eq!(code, 0, "{report:#}");
    let lock = std::fs::read_to_string(root.join("trainyard.lock")).unwrap();
    let digest_of = |lock: &str, path: &str| -> String {
        let at = lock
            .find(&format!("path: {path}\n"))
            .unwrap_or_else(|| panic!("{path} in {lock}"));
        let rest = &lock[at..];
        let start = rest.find("blake3: ").unwrap() + "blake3: ".len();
        rest[start..start + 64].to_owned()
    };
    let sales_url = format!("{base}/sales/sales.csv");
    assert_eq!(
        digest_of(&lock, &sales_url),
        digest_of(&lock, "data/sales.csv")
    );
    assert_eq!(
        digest_of(&lock, &format!("{base}/orders/orders.parquet")),
        digest_of(&lock, "data/orders.parquet")
    );
    // The ETag cache: an unchanged object is not read again. Plant a digest
    // in the cache; a re-run that trusts the cache reports it.
    let cache_path = root.join(".trainyard/cache/fingerprints.json");
    let mut cache: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&cache_path).unwrap()).unwrap();
    let entry = &mut cache["entries"][&sales_url];
    assert!(entry["version"].is_string(), "{cache:#}");
    let planted = "ab".repeat(32);
    entry["blake3"] = serde_json::Value::String(planted.clone());
    std::fs::write(&cache_path, serde_json::to_vec(&cache).unwrap()).unwrap();
    let (code, report) = run(root, env, &["data", "fingerprint"]);
    assert_eq!(code, 0, "{report:#}");
    let lock = std::fs::read_to_string(root.join("trainyard.lock")).unwrap();
    assert_eq!(
        digest_of(&lock, &sales_url),
        planted,
        "the cache was not used"
    );
    // A changed object (a new ETag) is read again.
    let changed = root.join("changed.csv");
    std::fs::write(&changed, sales_csv().replace("paris", "lyon")).unwrap();
    upload("sales/sales.csv", &changed);
    let (code, report) = run(root, env, &["data", "fingerprint", "--check"]);
    assert_eq!(code, 1, "{report:#}");
    let (code, report) = run(root, env, &["data", "fingerprint"]);
    assert_eq!(code, 0, "{report:#}");
    let lock = std::fs::read_to_string(root.join("trainyard.lock")).unwrap();
    assert_eq!(
        digest_of(&lock, &sales_url),
        trainyard_data::fingerprint::hash_file(&changed)
            .unwrap()
            .to_hex()
            .as_str()
    );
    upload("sales/sales.csv", &root.join("data/sales.csv"));

    // drift: the remote copy against the local one does not drift.
    let (code, report) = run(
        root,
        env,
        &[
            "data",
            "drift",
            "--reference",
            "orders-local",
            "--current",
            "orders",
        ],
    );
    assert_eq!(code, 0, "{report:#}");
    assert_eq!(report["outputs"]["drifted"], "false", "{report:#}");
    let (code, report) = run(
        root,
        env,
        &[
            "data",
            "drift",
            "--reference",
            "sales",
            "--current",
            "sales-local",
        ],
    );
    assert_eq!(code, 0, "{report:#}");

    // sample: the same bytes as the local copy's sample, in its format.
    for (remote, local, extension) in [
        ("sales", "sales-local", "csv"),
        ("orders", "orders-local", "parquet"),
    ] {
        for name in [remote, local] {
            let (code, report) = run(
                root,
                env,
                &["data", "sample", name, "--rows", "17", "--seed", "7"],
            );
            assert_eq!(code, 0, "{report:#}");
            assert_eq!(report["outputs"]["rows"], "17", "{report:#}");
        }
        let read = |name: &str| {
            std::fs::read(root.join(format!(".trainyard/samples/{name}.{extension}"))).unwrap()
        };
        assert!(read(remote) == read(local), "{remote}: the samples differ");
    }
}

/// A bucket that does not exist is exit 3 naming it; a glob that matches no
/// object is a configuration error at the dataset's path (exit 2).
fn missing_data_is_an_actionable_error(base: &str, env: &[(String, String)]) {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    std::fs::write(
        root.join("trainyard.yaml"),
        format!(
            "version: 1\nproject: {{ name: remote }}\ndatasets:\n  none:\n    path: {base}/sales/*.jsonl\n  gone:\n    path: {}/x/*.csv\n",
            base.replace("://data", "://no-such-bucket")
        ),
    )
    .unwrap();
    let output = trainyard()
        .current_dir(root)
        .envs(env.iter().map(|(k, v)| (k, v)))
        .args(["data", "validate", "none"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("matches no object"), "{stderr}");
    assert!(stderr.contains("dataset `none`"), "{stderr}");
    for step in [
        &["data", "validate", "gone"][..],
        &["data", "sample", "gone", "--rows", "1"],
    ] {
        let output = trainyard()
            .current_dir(root)
            .envs(env.iter().map(|(k, v)| (k, v)))
            .args(step)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(3), "{step:?}: {stderr}");
        assert!(stderr.contains("no-such-bucket"), "{stderr}");
        assert!(
            stderr.contains("does the bucket or container exist"),
            "{stderr}"
        );
    }
}

#[test]
fn datasets_in_s3_on_moto() {
    let Some(moto) = Moto::start() else { return };
    moto.create_bucket("data");
    let env = moto.env();
    remote_datasets_behave_like_local_ones("s3://data", &env, &|key, file| {
        moto.upload("data", key, file);
    });
    missing_data_is_an_actionable_error("s3://data", &env);
}

#[test]
fn datasets_in_azure_blob_storage_on_azurite() {
    let Some(azurite) = Azurite::start() else {
        return;
    };
    azurite.create_container("data");
    let env = azurite.env();
    remote_datasets_behave_like_local_ones("az://data", &env, &|key, file| {
        azurite.upload("data", key, file);
    });
    missing_data_is_an_actionable_error("az://data", &env);
}
