//! The loop closes in storage: a full training publishes the model to the
//! store `artifacts.store` names, the registry and `release.yaml` point at
//! it, and a fresh clone fetches the same bytes with `ledger pull` and
//! `model get`; a corrupted object is refused with nothing written.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;

use crate::common;

use common::{run_json, trainyard};
use trainyard_testkit::git::{bare_remote, git, init_and_commit_all};

const MODEL: &str = "breast-cancer-classifier";

/// The example project with `artifacts.store` at `store`, committed on main,
/// with a bare remote `origin`.
fn project_with_store(parent: &Path, store: &Path) -> std::path::PathBuf {
    let dir = parent.join("project");
    common::copy_dir(&common::repo().join("examples/breast-cancer"), &dir);
    let manifest = dir.join("trainyard.yaml");
    let text = std::fs::read_to_string(&manifest).unwrap();
    std::fs::write(
        &manifest,
        format!("{text}\nartifacts:\n  store: file://{}\n", store.display()),
    )
    .unwrap();
    std::fs::write(dir.join(".gitignore"), ".trainyard/\n").unwrap();
    init_and_commit_all(&dir);
    bare_remote(parent, &dir);
    dir
}

fn json(dir: &Path, args: &[&str], code: i32) -> serde_json::Value {
    run_json(trainyard().current_dir(dir).args(args), code)
}

#[test]
fn a_fresh_clone_fetches_the_trained_model_from_the_store() {
    let temp = tempfile::tempdir().unwrap();
    let store = temp.path().join("store");
    let dir = project_with_store(temp.path(), &store);

    let trained = json(&dir, &["train", "--mode", "full"], 0);
    let run_id = trained["outputs"]["run-id"].as_str().unwrap().to_owned();
    let model_bytes =
        std::fs::read(dir.join(format!(".trainyard/runs/{run_id}/out/model.json"))).unwrap();

    // The deployable copy is in the store under the version it was registered as.
    let published = store.join(format!("models/{MODEL}/1/model.json"));
    assert_eq!(std::fs::read(&published).unwrap(), model_bytes);
    let run = json(&dir, &["runs", "show", &run_id], 0);
    let uri = run["data"]["model_uri"].as_str().unwrap().to_owned();
    assert!(uri.ends_with(&format!("models/{MODEL}/1/")), "{uri}");
    assert!(
        run["data"]["store"]
            .as_str()
            .unwrap()
            .starts_with("file://")
    );

    // A promotion writes the URI into the environment's desired state.
    json(
        &dir,
        &["promote", "--env", "dev", "--direct", "--no-push"],
        0,
    );
    let release = std::fs::read_to_string(dir.join("deploy/dev/release.yaml")).unwrap();
    assert!(release.contains(&format!("uri: {uri}")), "{release}");

    // A teammate's fresh clone: no .trainyard/ at all.
    json(&dir, &["ledger", "push"], 0);
    let clone = temp.path().join("clone");
    git(
        temp.path(),
        &[
            "clone",
            "-q",
            temp.path().join("remote.git").to_str().unwrap(),
            clone.to_str().unwrap(),
        ],
    );
    json(&clone, &["ledger", "pull"], 0);
    let fetched = json(
        &clone,
        &["model", "get", &format!("{MODEL}@challenger"), "-o", "got"],
        0,
    );
    assert_eq!(fetched["outputs"]["version"], "1");
    assert_eq!(
        std::fs::read(clone.join("got/model.json")).unwrap(),
        model_bytes
    );

    // A corrupted object is refused (exit 3) and nothing is written.
    let digest = run["data"]["artifacts"][0]["digest"].as_str().unwrap();
    let object = store.join(format!("blake3/{}/{digest}", &digest[..2]));
    let mut bytes = std::fs::read(&object).unwrap();
    bytes[0] ^= 0xff;
    std::fs::write(&object, bytes).unwrap();
    trainyard()
        .current_dir(&clone)
        .args(["model", "get", &format!("{MODEL}@1"), "-o", "corrupt"])
        .assert()
        .code(3)
        .stderr(predicates::str::contains("corrupt"));
    assert!(!clone.join("corrupt/model.json").exists());
}
