//! The loop closes in the cluster's terms: train publishes a model to an S3
//! store (moto's real server on 127.0.0.1), a promotion writes its `uri` into
//! `deploy/<env>/release.yaml` and nothing else, kustomize (what Argo CD and
//! Flux run) builds an InferenceService whose `storageUri` is that uri, and
//! KServe's own storage initializer (`kserve-storage`) downloads the same
//! bytes from it. Twice, so the second promotion is seen to move it.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::common;

use common::{run_json, trainyard};
use trainyard_testkit::git::{bare_remote, git, init_and_commit_all};
use trainyard_testkit::servers;

const MODEL: &str = "breast-cancer-classifier";

/// A Python tool `.ci/test` installs into `.venv`; missing is a failure, never a skip.
fn venv_tool(name: &str) -> PathBuf {
    let path = common::repo().join(".venv/bin").join(name);
    assert!(
        path.is_file(),
        "{} is missing: run `.ci/test` (or `.venv/bin/pip install -r tests/support/requirements.txt`) first",
        path.display()
    );
    path
}

/// The example project deploying to Kubernetes from `store`, committed on
/// main with a bare remote `origin`.
fn project(parent: &Path, store: &str) -> PathBuf {
    let dir = parent.join("project");
    common::copy_dir(&common::repo().join("examples/breast-cancer"), &dir);
    let manifest = dir.join("trainyard.yaml");
    let text = std::fs::read_to_string(&manifest).unwrap();
    let without_iac = text.split("\niac:\n").next().unwrap();
    std::fs::write(
        &manifest,
        format!(
            "{without_iac}\niac:\n  targets: [kubernetes]\n  kubernetes:\n    predictor: {{ format: sklearn }}\n    repo-url: https://github.com/trainyard/breast-cancer.git\nartifacts:\n  store: {store}\n"
        ),
    )
    .unwrap();
    std::fs::write(dir.join(".gitignore"), ".trainyard/\n").unwrap();
    init_and_commit_all(&dir);
    bare_remote(parent, &dir);
    dir
}

/// `kubectl kustomize deploy/<env>`: what Argo CD and Flux apply.
fn kustomize(dir: &Path, env: &str) -> String {
    let output = Command::new(venv_tool("kubectl"))
        .arg("kustomize")
        .arg(dir.join("deploy").join(env))
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "kustomize could not build deploy/{env}:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap()
}

/// The value of the first `key: value` line under `key` (indentation ignored).
fn field<'a>(text: &'a str, key: &str) -> Option<&'a str> {
    text.lines()
        .find_map(|line| line.trim_start().strip_prefix(&format!("{key}: ")))
        .map(|value| value.trim_matches('"'))
}

#[test]
fn a_promotion_moves_the_inference_service_to_the_model_in_the_store() {
    let moto = servers::Moto::start().expect("moto is installed by .ci/test");
    moto.create_bucket("models");
    let aws = moto.env();
    let temp = tempfile::tempdir().unwrap();
    let dir = project(temp.path(), "s3://models/breast-cancer");
    let run = |args: &[&str], code: i32| {
        let mut command = trainyard();
        command.current_dir(&dir).args(args);
        for (name, value) in &aws {
            command.env(name, value);
        }
        run_json(&mut command, code)
    };

    run(&["iac", "render", "--all"], 0);
    git(&dir, &["add", "--all"]);
    git(&dir, &["commit", "-qm", "render the infrastructure"]);
    let rendered =
        std::fs::read_to_string(dir.join("infra/kubernetes/dev/inferenceservice.yaml")).unwrap();
    assert!(
        field(&rendered, "storageUri").is_none(),
        "the base names no model; the release does:\n{rendered}"
    );

    for version in 1..=2_u64 {
        if version == 2 {
            // Another seed, another model: the second version's bytes differ.
            let manifest = dir.join("trainyard.yaml");
            let text = std::fs::read_to_string(&manifest).unwrap().replace(
                "--out, \"{{ output_dir }}\"]",
                "--out, \"{{ output_dir }}\", --seed, \"7\"]",
            );
            std::fs::write(&manifest, text).unwrap();
            git(&dir, &["commit", "-qam", "another seed"]);
        }
        let trained = run(&["train", "--mode", "full"], 0);
        let run_id = trained["outputs"]["run-id"].as_str().unwrap().to_owned();
        let model_bytes =
            std::fs::read(dir.join(format!(".trainyard/runs/{run_id}/out/model.json"))).unwrap();

        let before = git(&dir, &["rev-parse", "HEAD"]);
        run(&["promote", "--env", "dev", "--direct", "--no-push"], 0);
        let changed = git(
            &dir,
            &["diff", "--name-only", &format!("{}..HEAD", before.trim())],
        );
        assert_eq!(
            changed.trim(),
            "deploy/dev/release.yaml",
            "a promotion changes release.yaml alone"
        );
        let release = std::fs::read_to_string(dir.join("deploy/dev/release.yaml")).unwrap();
        let uri = field(&release, "uri").unwrap().to_owned();
        assert_eq!(
            uri,
            format!("s3://models/breast-cancer/models/{MODEL}/{version}/")
        );

        // What the GitOps controller applies points at it, and the release itself is not applied.
        let built = kustomize(&dir, "dev");
        assert_eq!(field(&built, "storageUri"), Some(uri.as_str()), "{built}");
        assert_eq!(
            field(&built, "trainyard.dev/model-version"),
            Some(version.to_string().as_str())
        );
        assert!(!built.contains("kind: Release"), "{built}");
        let stream = temp.path().join(format!("built-{version}.yaml"));
        std::fs::write(&stream, &built).unwrap();
        let crds = Command::new(venv_tool("python"))
            .arg(common::repo().join("tests/support/validate_crds.py"))
            .arg(common::repo().join("tests/fixtures/crds"))
            .arg(&stream)
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&crds.stdout);
        assert!(crds.status.success(), "{stdout}");
        assert!(stdout.contains("1 custom resource(s) checked"), "{stdout}");

        // KServe's storage initializer fetches exactly the trained bytes from it.
        let fetched = temp.path().join(format!("mnt-models-{version}"));
        let mut download = Command::new(venv_tool("python"));
        download
            .args([
                "-c",
                "import sys\nfrom kserve_storage import Storage\nStorage.download(sys.argv[1], sys.argv[2])",
                &uri,
            ])
            .arg(&fetched)
            .env("DO_NOT_TRACK", "1");
        for (name, value) in &aws {
            download.env(name, value);
        }
        let output = download.output().unwrap();
        assert!(
            output.status.success(),
            "kserve-storage: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        assert_eq!(
            std::fs::read(fetched.join("model.json")).unwrap(),
            model_bytes,
            "version {version}"
        );
    }
}
