//! `trainyard iac render` and `iac check` end to end: every target of a
//! three-environment manifest (snapshots), Azure naming rules refused at render
//! time with the manifest line, drift found with its diff, user template overrides.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a test that cannot set up should stop loudly

use crate::common;

use std::fmt::Write as _;
use std::path::Path;

use common::{run_json, trainyard};

/// Three environments that differ in every per-environment value.
const MANIFEST: &str = include_str!("../fixtures/iac/trainyard.yaml");

fn project(manifest: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("trainyard.yaml"), manifest).unwrap();
    dir
}

fn render(dir: &Path, args: &[&str]) -> assert_cmd::assert::Assert {
    trainyard()
        .current_dir(dir)
        .args(["iac", "render"])
        .args(args)
        .assert()
}

fn check(dir: &Path, args: &[&str]) -> assert_cmd::assert::Assert {
    trainyard()
        .current_dir(dir)
        .args(["iac", "check"])
        .args(args)
        .assert()
}

/// Runs `iac render <args>` in `dir` and returns stderr; the exit code must be 2.
fn render_refused(dir: &Path, args: &[&str]) -> String {
    let assert = render(dir, args).code(2);
    String::from_utf8_lossy(&assert.get_output().stderr).into_owned()
}

/// kubernetes-validate (strict) on `files`.
fn kubernetes_validate<S: AsRef<std::ffi::OsStr>>(
    files: impl IntoIterator<Item = S>,
) -> std::process::Output {
    std::process::Command::new(venv_tool("kubernetes-validate"))
        .args(["--strict", "--quiet"])
        .args(files)
        .env("DO_NOT_TRACK", "1")
        .output()
        .unwrap()
}

/// Every file under `dir/sub`, as `==> path <==` sections, in path order.
fn tree(dir: &Path, sub: &str) -> String {
    let mut files = Vec::new();
    collect(&dir.join(sub), &mut files);
    files.sort();
    let mut text = String::new();
    for file in files {
        let relative = file
            .strip_prefix(dir)
            .unwrap()
            .to_string_lossy()
            .replace('\\', "/");
        let _ = write!(
            text,
            "==> {relative} <==\n{}\n",
            std::fs::read_to_string(&file).unwrap()
        );
    }
    text
}

fn collect(dir: &Path, files: &mut Vec<std::path::PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            collect(&path, files);
        } else {
            files.push(path);
        }
    }
}

#[test]
fn every_target_of_three_environments() {
    let dir = project(MANIFEST);
    render(dir.path(), &["--all"]).code(0);
    insta::assert_snapshot!("terraform", tree(dir.path(), "infra/terraform"));
    insta::assert_snapshot!("bicep", tree(dir.path(), "infra/bicep"));
    insta::assert_snapshot!(
        "kubernetes",
        tree(dir.path(), "infra/kubernetes") + &tree(dir.path(), "deploy")
    );
    insta::assert_snapshot!("azureml", tree(dir.path(), "infra/azureml"));

    // What was just written is what the manifest says.
    check(dir.path(), &[]).code(0);
}

#[test]
fn rendering_one_environment_and_target_touches_nothing_else() {
    let dir = project(MANIFEST);
    render(dir.path(), &["--env", "staging", "--target", "kubernetes"]).code(0);
    assert!(
        dir.path()
            .join("infra/kubernetes/staging/inferenceservice.yaml")
            .is_file()
    );
    assert!(
        dir.path()
            .join("deploy/staging/kustomization.yaml")
            .is_file()
    );
    assert!(!dir.path().join("infra/kubernetes/dev").exists());
    assert!(!dir.path().join("infra/terraform").exists());
}

#[test]
fn an_edited_file_is_drift_exit_1_with_the_diff() {
    let dir = project(MANIFEST);
    render(dir.path(), &["--all"]).code(0);
    let main_tf = dir.path().join("infra/terraform/prod/main.tf");
    let edited = std::fs::read_to_string(&main_tf).unwrap().replace(
        "max_node_count                       = 8",
        "max_node_count                       = 80",
    );
    std::fs::write(&main_tf, edited).unwrap();
    std::fs::remove_file(dir.path().join("infra/kubernetes/dev/networkpolicy.yaml")).unwrap();
    // A generated file of an environment that no longer exists.
    std::fs::create_dir_all(dir.path().join("infra/azureml/qa")).unwrap();
    std::fs::copy(
        dir.path().join("infra/azureml/dev/online-endpoint.yml"),
        dir.path().join("infra/azureml/qa/online-endpoint.yml"),
    )
    .unwrap();
    // Files a person or a tool wrote are not drift.
    std::fs::write(
        dir.path().join("infra/terraform/prod/terraform.tfvars"),
        "x = 1\n",
    )
    .unwrap();

    let report = run_json(
        trainyard().current_dir(dir.path()).args(["iac", "check"]),
        1,
    );
    let findings: Vec<(String, String)> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|finding| {
            (
                finding["rule"].as_str().unwrap().to_owned(),
                finding["location"]["file"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        findings,
        [
            (
                "iac/extra".to_owned(),
                "infra/azureml/qa/online-endpoint.yml".to_owned()
            ),
            (
                "iac/missing".to_owned(),
                "infra/kubernetes/dev/networkpolicy.yaml".to_owned()
            ),
            (
                "iac/drift".to_owned(),
                "infra/terraform/prod/main.tf".to_owned()
            ),
        ]
    );
    // The annotation lands on the edited line.
    let edited_line = std::fs::read_to_string(&main_tf)
        .unwrap()
        .lines()
        .position(|line| line.ends_with("= 80"))
        .unwrap()
        + 1;
    assert_eq!(report["findings"][2]["location"]["line"], edited_line);
    let summary = report["summary"].as_str().unwrap();
    assert!(
        summary
            .contains("--- a/infra/terraform/prod/main.tf\n+++ b/infra/terraform/prod/main.tf\n"),
        "{summary}"
    );
    assert!(summary.contains("-    max_node_count                       = 80\n+    max_node_count                       = 8\n"));

    // Rendering again repairs all three, and removes the stale file.
    render(dir.path(), &["--all"]).code(0);
    assert!(
        !dir.path()
            .join("infra/azureml/qa/online-endpoint.yml")
            .exists()
    );
    assert!(
        dir.path()
            .join("infra/terraform/prod/terraform.tfvars")
            .exists()
    );
    check(dir.path(), &[]).code(0);
}

#[test]
fn a_changed_manifest_is_drift_too() {
    let dir = project(MANIFEST);
    render(dir.path(), &["--all"]).code(0);
    std::fs::write(
        dir.path().join("trainyard.yaml"),
        MANIFEST.replace("max-nodes: 8", "max-nodes: 12"),
    )
    .unwrap();
    let assert = check(
        dir.path(),
        &["--env", "prod", "--target", "terraform,bicep"],
    )
    .code(1);
    let stdout = String::from_utf8_lossy(&assert.get_output().stdout);
    assert!(
        stdout.contains("error[iac/drift] infra/terraform/prod/main.tf"),
        "{stdout}"
    );
    assert!(
        stdout.contains("error[iac/drift] infra/bicep/prod/resources.bicep"),
        "{stdout}"
    );
    assert!(stdout.contains("+        maxNodeCount: 12"), "{stdout}");
}

/// Runs `iac render` on `manifest` and returns stderr; the exit code must be 2.
fn refused(manifest: &str) -> String {
    let dir = project(manifest);
    let stderr = render_refused(dir.path(), &["--all"]);
    assert!(!dir.path().join("infra").exists(), "nothing is written");
    stderr
}

fn with_prod(extra: &str) -> String {
    MANIFEST.replace(
        "    region: swedencentral\n",
        &format!("    region: swedencentral\n{extra}"),
    )
}

#[test]
fn a_storage_account_name_over_24_characters_is_refused_at_its_line() {
    let stderr = refused(&with_prod(
        "    names: { storage-account: stchurnmodelproduction001 }\n",
    ));
    insta::assert_snapshot!(stderr);
}

#[test]
fn bad_characters_are_refused_naming_the_rule() {
    let stderr = refused(&with_prod("    names:\n      key-vault: kv_churn_prod\n"));
    assert!(
        stderr.contains("key vault name `kv_churn_prod` contains `_`"),
        "{stderr}"
    );
    assert!(stderr.contains("Microsoft.KeyVault/vaults"), "{stderr}");
    assert!(stderr.contains("trainyard.yaml:27:7"), "{stderr}");

    let stderr = refused(&with_prod("    names: { container-registry: cr-churn }\n"));
    assert!(stderr.contains("contains `-`"), "{stderr}");
    let stderr = refused(&with_prod("    names: { online-endpoint: 1churn }\n"));
    assert!(stderr.contains("must start with a letter"), "{stderr}");
    let stderr = refused(&with_prod("    names: { key-vault: kv--churn }\n"));
    assert!(stderr.contains("consecutive hyphens"), "{stderr}");
}

#[test]
fn two_environments_with_one_global_name_collide() {
    let manifest = MANIFEST
        .replace(
            "  - name: staging\n",
            "  - name: staging\n    names: { storage-account: stchurnshared }\n",
        )
        .replace(
            "    region: swedencentral\n",
            "    region: swedencentral\n    names: { storage-account: stchurnshared }\n",
        );
    let stderr = refused(&manifest);
    assert!(
        stderr.contains("environments `staging` and `prod` both get the storage account name `stchurnshared`, which must be unique globally"),
        "{stderr}"
    );
    assert!(stderr.contains("trainyard.yaml:27:14"), "{stderr}");
}

#[test]
fn endpoint_names_collide_only_within_a_region() {
    // staging (westeurope) and dev (westeurope by default) share a region...
    let same_region = MANIFEST
        .replace(
            "  - name: dev\n",
            "  - name: dev\n    names: { online-endpoint: churn-api }\n",
        )
        .replace(
            "  - name: staging\n",
            "  - name: staging\n    names: { online-endpoint: churn-api }\n",
        );
    let stderr = refused(&same_region);
    assert!(
        stderr.contains("online endpoint name `churn-api`, which must be unique within its region"),
        "{stderr}"
    );

    // ...prod does not.
    let other_region = MANIFEST
        .replace(
            "  - name: dev\n",
            "  - name: dev\n    names: { online-endpoint: churn-api }\n",
        )
        .replace(
            "    region: swedencentral\n",
            "    region: swedencentral\n    names: { online-endpoint: churn-api }\n",
        );
    let dir = project(&other_region);
    render(dir.path(), &["--all", "--target", "azureml"]).code(0);
}

#[test]
fn a_long_project_name_still_renders_valid_unique_names() {
    let manifest = MANIFEST.replace(
        "name: churn-model",
        "name: customer-churn-prediction-for-the-retail-banking-division",
    );
    let dir = project(&manifest);
    let assert = render(
        dir.path(),
        &["--all", "--target", "terraform", "--format", "json"],
    )
    .code(0);
    let _ = assert;
    for env in ["dev", "staging", "prod"] {
        let main_tf =
            std::fs::read_to_string(dir.path().join(format!("infra/terraform/{env}/main.tf")))
                .unwrap();
        let storage = main_tf
            .lines()
            .skip_while(|line| !line.starts_with("resource \"azurerm_storage_account\""))
            .find(|line| line.trim_start().starts_with("name "))
            .unwrap();
        let name = storage.split('"').nth(1).unwrap();
        assert!(
            name.len() <= 24
                && name
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit()),
            "{name}"
        );
    }
}

#[test]
fn bad_values_are_refused_at_their_key() {
    let stderr = refused(
        &with_prod("    network: { address-space: 10.30.0.0/26 }\n")
            .replace("    network: { address-space: 10.30.0.0/16 }\n", ""),
    );
    assert!(stderr.contains("trainyard.yaml:26:16"), "{stderr}");
    assert!(
        stderr.contains("is not an IPv4 range of /22 or larger"),
        "{stderr}"
    );
    let stderr = refused(&MANIFEST.replace("cost-center: \"4711\"", "cost/center: \"4711\""));
    assert!(
        stderr.contains("tag name `cost/center` contains `/`"),
        "{stderr}"
    );
    let stderr = refused(&MANIFEST.replace(
        "readers: [5f0c3a55-2f4b-4c0e-8f64-9d1b2a7c6e01]",
        "readers: [alice@example.com]",
    ));
    assert!(
        stderr.contains("`alice@example.com` is not a Microsoft Entra object id"),
        "{stderr}"
    );
    assert!(stderr.contains("trainyard.yaml:23:7"), "{stderr}");
}

#[test]
fn a_template_in_the_repository_overrides_the_built_in_one() {
    let dir = project(MANIFEST);
    let overrides = dir.path().join("templates/iac/kubernetes");
    std::fs::create_dir_all(&overrides).unwrap();
    // A team's own service account: AKS workload identity for the storage initializer.
    std::fs::write(
        overrides.join("serviceaccount.yaml.j2"),
        "apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: [[ names.kubernetes_app ]]\n  namespace: [[ iac.namespace ]]\n  annotations:\n    azure.workload.identity/client-id: 00000000-0000-0000-0000-000000000000\n",
    )
    .unwrap();
    let assert = render(dir.path(), &["--env", "dev", "--target", "kubernetes"]).code(0);
    let stdout = String::from_utf8_lossy(&assert.get_output().stdout);
    assert!(
        stdout.contains("templates/iac/kubernetes/serviceaccount.yaml.j2"),
        "{stdout}"
    );
    let account =
        std::fs::read_to_string(dir.path().join("infra/kubernetes/dev/serviceaccount.yaml"))
            .unwrap();
    assert!(account.starts_with("# Generated by trainyard"), "{account}");
    assert!(account.contains("template templates/iac/kubernetes/serviceaccount.yaml.j2"));
    assert!(
        account.contains("azure.workload.identity/client-id"),
        "{account}"
    );
    assert!(account.contains("namespace: churn-model-dev"), "{account}");

    // An override that uses a value that does not exist is refused, naming file and line.
    std::fs::write(
        overrides.join("serviceaccount.yaml.j2"),
        "kind: ServiceAccount\nname: [[ iac.namspace ]]\n",
    )
    .unwrap();
    let stderr = render_refused(dir.path(), &["--env", "dev", "--target", "kubernetes"]);
    assert!(
        stderr.contains("templates/iac/kubernetes/serviceaccount.yaml.j2:2"),
        "{stderr}"
    );
    assert!(stderr.contains("undefined"), "{stderr}");
}

#[test]
fn unknown_environment_and_missing_section_are_usage_errors() {
    let dir = project(MANIFEST);
    let stderr = render_refused(dir.path(), &["--env", "prdo"]);
    assert!(stderr.contains("did you mean `prod`?"), "{stderr}");

    let stderr = render_refused(dir.path(), &[]);
    assert!(
        stderr.contains("`--env NAME` (repeatable) or `--all`"),
        "{stderr}"
    );

    // From a CI step: an action input, and a job-wide TRAINYARD_ENV that `--all` overrides.
    trainyard()
        .current_dir(dir.path())
        .env("INPUT_ALL", "true")
        .env("INPUT_TARGET", "azureml")
        .args(["iac", "render"])
        .assert()
        .code(0);
    assert!(
        dir.path()
            .join("infra/azureml/prod/train-job.yml")
            .is_file()
    );
    trainyard()
        .current_dir(dir.path())
        .env("TRAINYARD_ENV", "dev")
        .args(["iac", "check", "--target", "azureml"])
        .assert()
        .code(0);

    let dir = project("version: 1\nproject:\n  name: demo\nenvironments:\n  - name: dev\n");
    let stderr = render_refused(dir.path(), &["--all"]);
    assert!(stderr.contains("no `iac` section"), "{stderr}");
}

/// A Python tool `.ci/test` installs into `.venv`; missing is a failure, never a skip.
fn venv_tool(name: &str) -> std::path::PathBuf {
    let path = common::repo().join(".venv/bin").join(name);
    assert!(
        path.is_file(),
        "{} is missing: run `.ci/test` (or `.venv/bin/pip install -r tests/support/requirements.txt`) first",
        path.display()
    );
    path
}

fn yaml_files(dir: &Path, keep: impl Fn(&str) -> bool) -> Vec<String> {
    let mut files = Vec::new();
    collect(dir, &mut files);
    let mut names: Vec<String> = files
        .into_iter()
        .filter(|file| file.extension().is_some_and(|ext| ext == "yaml"))
        .map(|file| file.to_string_lossy().into_owned())
        .filter(|name| keep(name))
        .collect();
    names.sort();
    names
}

#[test]
fn kubernetes_manifests_validate_against_the_kubernetes_schemas() {
    let dir = project(MANIFEST);
    render(dir.path(), &["--all", "--target", "kubernetes"]).code(0);
    // Kustomizations are build instructions, not API objects; the custom
    // resources (InferenceService, Argo CD, Flux) are checked against their CRDs below.
    let files = yaml_files(&dir.path().join("infra/kubernetes"), |name| {
        !name.ends_with("kustomization.yaml")
            && !name.contains("/gitops/")
            && !name.ends_with("inferenceservice.yaml")
    });
    assert_eq!(
        files.len(),
        12,
        "four Kubernetes objects for each of three environments"
    );
    let output = kubernetes_validate(&files);
    assert!(
        output.status.success(),
        "kubernetes-validate refused the manifests:\n{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );

    // The validator does refuse a wrong manifest.
    let broken = dir.path().join("broken.yaml");
    let account =
        std::fs::read_to_string(dir.path().join("infra/kubernetes/prod/serviceaccount.yaml"))
            .unwrap();
    std::fs::write(
        &broken,
        account.replace(
            "automountServiceAccountToken: false",
            "automountServiceAccountToken: never",
        ),
    )
    .unwrap();
    let output = kubernetes_validate([&broken]);
    assert!(
        !output.status.success(),
        "a string where a boolean belongs must be refused"
    );
}

#[test]
fn kserve_argo_cd_and_flux_resources_validate_against_their_crds() {
    let dir = project(MANIFEST);
    render(dir.path(), &["--all", "--target", "kubernetes"]).code(0);
    let files = yaml_files(&dir.path().join("infra/kubernetes"), |name| {
        name.contains("/gitops/") || name.ends_with("inferenceservice.yaml")
    });
    let check = |files: &[String]| {
        std::process::Command::new(venv_tool("python"))
            .arg(common::repo().join("tests/support/validate_crds.py"))
            .arg(common::repo().join("tests/fixtures/crds"))
            .args(files)
            .output()
            .unwrap()
    };
    let output = check(&files);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(stdout.contains("9 custom resource(s) checked"), "{stdout}");

    // An unknown field and a malformed interval are refused, naming the field.
    let broken = dir.path().join("broken.yaml");
    let flux = std::fs::read_to_string(&files[1]).unwrap();
    assert!(flux.contains("kind: Kustomization"));
    std::fs::write(
        &broken,
        flux.replace("prune: true", "prune: true\n  pruneAll: true")
            .replace("interval: 5m", "interval: 5 minutes"),
    )
    .unwrap();
    let output = check(&[broken.to_string_lossy().into_owned()]);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(!output.status.success(), "{stdout}");
    assert!(stdout.contains("'pruneAll' was unexpected"), "{stdout}");
    assert!(stdout.contains("spec.interval"), "{stdout}");

    // KServe's schema is read as strictly: a misspelt field, a string count.
    let isvc = std::fs::read_to_string(&files[2]).unwrap();
    assert!(isvc.contains("kind: InferenceService"));
    std::fs::write(
        &broken,
        isvc.replace("minReplicas: 1", "minReplicas: one").replace(
            "      modelFormat:",
            "      storageURI: s3://x/\n      modelFormat:",
        ),
    )
    .unwrap();
    let output = check(&[broken.to_string_lossy().into_owned()]);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(!output.status.success(), "{stdout}");
    assert!(stdout.contains("'storageURI' was unexpected"), "{stdout}");
    assert!(stdout.contains("spec.predictor.minReplicas"), "{stdout}");
}

#[test]
fn the_example_renders_its_three_environments_and_checks_clean() {
    let example = common::example_project();
    let report = run_json(
        trainyard()
            .current_dir(example.path())
            .args(["iac", "render", "--all"]),
        0,
    );
    // Terraform and Bicep only: the quickstart keeps its models in the local
    // store, which no cluster can deploy from.
    assert_eq!(report["outputs"]["files"], "21", "{report}");
    assert!(!example.path().join("deploy").exists());
    // dev is public on purpose: its skips say so; prod is private and geo-replicated.
    let dev = std::fs::read_to_string(example.path().join("infra/terraform/dev/main.tf")).unwrap();
    assert!(dev.contains("#checkov:skip=CKV_AZURE_59:network.isolation is public"));
    let prod =
        std::fs::read_to_string(example.path().join("infra/terraform/prod/main.tf")).unwrap();
    assert!(!prod.contains("network.isolation is public"));
    assert!(prod.contains("georeplications {"));
    assert!(prod.contains("vm_size                       = \"Standard_DS4_v2\""));
    check(example.path(), &[]).code(0);
}

#[test]
fn azureml_yaml_loads_with_the_azure_ml_sdk() {
    let dir = project(MANIFEST);
    render(dir.path(), &["--all", "--target", "azureml"]).code(0);
    // The job's code folder and input file must exist for the loader.
    std::fs::create_dir_all(dir.path().join("data")).unwrap();
    std::fs::write(dir.path().join("data/customers.csv"), "id,churned\n1,0\n").unwrap();
    let mut files = Vec::new();
    collect(&dir.path().join("infra/azureml"), &mut files);
    files.sort();
    let run = |files: &[std::path::PathBuf]| {
        std::process::Command::new(venv_tool("python"))
            .arg(common::repo().join("tests/support/validate_azureml.py"))
            .args(files)
            .env("DO_NOT_TRACK", "1")
            .output()
            .unwrap()
    };
    let output = run(&files);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        stdout.contains("9 Azure ML file(s) loaded, 0 refused"),
        "{stdout}"
    );

    // The deployment takes its model from the release's uri and version, as
    // the documented `az ml online-deployment create --set model.path=… model.version=…` gives them.
    let uri = "https://stchurnmodels.blob.core.windows.net/models/churn/models/churn-classifier/3/";
    let deployment = dir.path().join("infra/azureml/prod/online-deployment.yml");
    let text = std::fs::read_to_string(&deployment).unwrap();
    assert!(
        text.contains("--set model.path=\"$(yq -r .uri deploy/prod/release.yaml)\""),
        "{text}"
    );
    let output = std::process::Command::new(venv_tool("python"))
        .arg(common::repo().join("tests/support/validate_azureml.py"))
        .args(["--set", &format!("model.path={uri}")])
        .args(["--set", "model.version=3"])
        .arg(&deployment)
        .env("DO_NOT_TRACK", "1")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{stdout}");
    assert!(
        stdout.contains(&format!(
            "ManagedOnlineDeployment (model churn-classifier version 3, path {uri})"
        )),
        "{stdout}"
    );

    // The loader does refuse a malformed deployment.
    let broken = dir.path().join("infra/azureml/prod/online-deployment.yml");
    let text = std::fs::read_to_string(&broken).unwrap();
    std::fs::write(
        &broken,
        text.replace("instance_count: 3", "instance_count: three"),
    )
    .unwrap();
    let output = run(&[broken]);
    assert!(
        !output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stdout)
    );
}

/// `kubectl kustomize deploy/<env>` in `dir`: its output, or its error.
fn kustomize(dir: &Path, env: &str) -> Result<String, String> {
    let output = std::process::Command::new(venv_tool("kubectl"))
        .arg("kustomize")
        .arg(dir.join("deploy").join(env))
        .output()
        .unwrap();
    if output.status.success() {
        Ok(String::from_utf8(output.stdout).unwrap())
    } else {
        Err(String::from_utf8_lossy(&output.stderr).into_owned())
    }
}

/// A release as `trainyard promote` writes it (the gate crate's own writer).
fn release_yaml(env: &str, version: u64, uri: Option<&str>) -> String {
    trainyard_gate::release::Release {
        environment: env.to_owned(),
        model: "churn-classifier".to_owned(),
        version,
        digest: "ab".repeat(32),
        uri: uri.map(str::to_owned),
        run: "20261125T121449.123Z-3fa9c1".to_owned(),
        commit: None,
        verdict: None,
        at: chrono::DateTime::from_timestamp(1_700_000_000, 0).unwrap(),
        by: "ci".to_owned(),
        kind: trainyard_gate::release::ReleaseKind::Promote,
        reason: None,
    }
    .to_yaml()
}

#[test]
fn the_release_uri_becomes_the_storage_uri_of_either_predictor() {
    let dir = project(MANIFEST);
    render(dir.path(), &["--all", "--target", "kubernetes"]).code(0);
    let release = dir.path().join("deploy/prod/release.yaml");
    let uri = "https://stchurnmodels.blob.core.windows.net/models/churn/models/churn-classifier/3/";
    std::fs::write(&release, release_yaml("prod", 3, Some(uri))).unwrap();
    let built = kustomize(dir.path(), "prod").unwrap();
    assert!(
        built.contains(&format!("      storageUri: {uri}\n")),
        "{built}"
    );
    assert!(
        built.contains("trainyard.dev/model-version: \"3\""),
        "{built}"
    );
    assert!(built.contains("namespace: churn-model-prod"), "{built}");
    assert!(
        !built.contains("kind: Release"),
        "kustomize drops the release:\n{built}"
    );

    // A custom container gets it as STORAGE_URI, where KServe's storage initializer looks.
    let custom = MANIFEST.replace(
        "predictor: { format: sklearn }",
        "predictor: { format: custom, image: \"ghcr.io/example/churn-server@sha256:0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c4b5a69788796a5b4c3d2e1f0\" }",
    );
    std::fs::write(dir.path().join("trainyard.yaml"), custom).unwrap();
    render(dir.path(), &["--all", "--target", "kubernetes"]).code(0);
    let built = kustomize(dir.path(), "prod").unwrap();
    assert!(
        built.contains(&format!(
            "      - name: STORAGE_URI\n        value: {uri}\n"
        )),
        "{built}"
    );
    assert!(
        built.contains("image: ghcr.io/example/churn-server@sha256:"),
        "{built}"
    );
    assert!(!built.contains("storageUri"), "{built}");

    // A release without a uri (a model kept on a runner) never builds into a deployment.
    std::fs::write(&release, release_yaml("prod", 4, None)).unwrap();
    let error = kustomize(dir.path(), "prod").unwrap_err();
    assert!(error.contains("fieldPath `uri` is missing"), "{error}");
}

#[test]
fn what_a_deployment_needs_is_refused_at_its_line_never_rendered_as_a_placeholder() {
    // An Azure store without its account: KServe reads only the https:// form.
    let stderr = refused(&MANIFEST.replace(
        "https://stchurnmodels.blob.core.windows.net/models/churn",
        "az://models/churn",
    ));
    assert!(stderr.contains("trainyard.yaml:41:3"), "{stderr}");
    assert!(stderr.contains("names no storage account"), "{stderr}");
    assert!(
        stderr.contains("https://<account>.blob.core.windows.net/<container>/<prefix>"),
        "{stderr}"
    );
    // No store at all: the model would stay on the runner.
    let without_store = MANIFEST.split("# Where train publishes").next().unwrap();
    let stderr = refused(without_store);
    assert!(stderr.contains("`artifacts.store` is not set"), "{stderr}");
    // The predictor and the repository Argo CD clones, each at its key.
    let stderr = refused(&MANIFEST.replace("    predictor: { format: sklearn }\n", ""));
    assert!(stderr.contains("trainyard.yaml:36:3"), "{stderr}");
    assert!(
        stderr.contains("iac.kubernetes.predictor.format"),
        "{stderr}"
    );
    let stderr = refused(&MANIFEST.replace("format: sklearn", "format: custom"));
    assert!(stderr.contains("trainyard.yaml:37:18"), "{stderr}");
    assert!(
        stderr.contains("`iac.kubernetes.predictor.image` is not set"),
        "{stderr}"
    );
    let stderr =
        refused(&MANIFEST.replace("    repo-url: https://github.com/example/churn.git\n", ""));
    assert!(stderr.contains("iac.kubernetes.repo-url"), "{stderr}");

    // `config check` refuses the same at the same line.
    let dir = project(&MANIFEST.replace(
        "https://stchurnmodels.blob.core.windows.net/models/churn",
        "az://models/churn",
    ));
    let assert = trainyard()
        .current_dir(dir.path())
        .args(["config", "check"])
        .assert()
        .code(2);
    let stderr = String::from_utf8_lossy(&assert.get_output().stderr);
    assert!(stderr.contains("trainyard.yaml:41:3"), "{stderr}");

    // And what renders names nothing that stands in for a value.
    let dir = project(MANIFEST);
    render(dir.path(), &["--all"]).code(0);
    let everything = tree(dir.path(), "infra") + &tree(dir.path(), "deploy");
    for placeholder in [
        "OWNER",
        "REPOSITORY",
        "example.com",
        "TODO",
        "CHANGEME",
        "-server:1",
    ] {
        assert!(
            !everything.contains(placeholder),
            "`{placeholder}` in the rendered files"
        );
    }
}

#[test]
fn config_check_names_a_misspelt_value_in_a_template_override_once() {
    let dir = project(MANIFEST);
    let overrides = dir.path().join("templates/iac/kubernetes");
    std::fs::create_dir_all(&overrides).unwrap();
    std::fs::write(
        overrides.join("serviceaccount.yaml.j2"),
        "kind: ServiceAccount\nmetadata:\n  name: [[ names.kubernetes_app ]]\n  namespace: [[ iac.namspace ]]\n  labels: { a: [[ iac.namspace ]] }\n",
    )
    .unwrap();
    let assert = trainyard()
        .current_dir(dir.path())
        .args(["config", "check"])
        .assert()
        .code(2);
    let stderr = String::from_utf8_lossy(&assert.get_output().stderr);
    assert!(
        stderr.contains("templates/iac/kubernetes/serviceaccount.yaml.j2:4:17"),
        "{stderr}"
    );
    assert!(stderr.contains("`iac.namspace` is undefined"), "{stderr}");
    assert!(stderr.contains("did you mean `iac.namespace`?"), "{stderr}");
    assert_eq!(stderr.matches("is undefined").count(), 1, "once: {stderr}");

    // iac render refuses it the same way, before writing anything.
    let stderr = render_refused(dir.path(), &["--all"]);
    assert!(stderr.contains("did you mean `iac.namespace`?"), "{stderr}");
    assert!(!dir.path().join("infra").exists());
}
