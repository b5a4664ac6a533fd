#![allow(clippy::unwrap_used)]
use super::*;
use pretty_assertions::assert_eq;

fn template(files: &[(&str, &str)]) -> Template {
    let mut template = Template {
        name: "t".into(),
        ..Template::default()
    };
    for (path, text) in files {
        template
            .files
            .insert((*path).into(), text.as_bytes().to_vec());
        let mut dir = parent(path);
        while let Some(folder) = dir {
            template.dirs.insert(folder.into());
            dir = parent(folder);
        }
    }
    template
}

fn values(definitions: &[&str]) -> Values {
    Values {
        project_name: "demo".into(),
        definitions: definitions.iter().map(|d| (*d).to_owned()).collect(),
        ..Values::default()
    }
}

const CONFIG: &str = r#"
[template]
description = "a demo"
exclude = ["raw/*"]

[placeholders]
ci = { type = "string", prompt = "CI?", choices = ["github", "azure-devops", "both"], default = "github" }
serve = { type = "bool", prompt = "Serve?", default = true }
port = { type = "string", prompt = "Port?", regex = "^[0-9]+$", default = "8080" }

[conditional.'ci == "github"']
ignore = ["azure"]
"#;

fn text(project: &Project, path: &str) -> String {
    String::from_utf8(project.files[path].clone()).unwrap()
}

#[test]
fn renders_contents_names_conditionals_and_liquid_suffixes() {
    let template = template(&[
        ("cargo-generate.toml", CONFIG),
        (
            "README.md.liquid",
            "# {{project-name}} on {{ci}}{% if serve %}, port {{port}}{% endif %}\n",
        ),
        ("README.md", "shadowed by the .liquid file"),
        (
            "src/{{crate_name}}/__init__.py",
            "name = '{{ project-name | upcase }}'\n",
        ),
        ("azure/pipeline.yml", "x"),
        ("raw/workflow.yml", "${{ github.sha }}"),
    ]);
    let project = render(&template, &values(&["serve=false", "port = 9000"])).unwrap();
    assert_eq!(
        project.files.keys().collect::<Vec<_>>(),
        ["README.md", "raw/workflow.yml", "src/demo/__init__.py"]
    );
    assert_eq!(text(&project, "README.md"), "# demo on github\n");
    assert_eq!(text(&project, "src/demo/__init__.py"), "name = 'DEMO'\n");
    assert_eq!(text(&project, "raw/workflow.yml"), "${{ github.sha }}");
    assert!(project.warnings.is_empty(), "{:?}", project.warnings);
    assert!(project.dirs.contains("src/demo") && !project.dirs.contains("azure"));
}

#[test]
fn values_are_checked_as_cargo_generate_checks_them() {
    let template = template(&[("cargo-generate.toml", CONFIG)]);
    let error = |definitions: &[&str]| {
        render(&template, &values(definitions))
            .unwrap_err()
            .to_string()
    };
    assert!(error(&["ci=gitlab"]).contains("one of github, azure-devops, both"));
    assert!(error(&["serve=yes"]).contains("`true` or `false`"));
    assert!(error(&["port=80a"]).contains("must match `^[0-9]+$`"));
    assert!(error(&["srve=true"]).contains("did you mean `serve`?"));
    assert!(error(&["=x"]).contains("is not `key=value`"));
    assert!(render(&template, &values(&["serve=TRUE"])).is_ok());
}

#[test]
fn a_value_that_would_leave_the_folder_is_refused() {
    let template = template(&[
        (
            "cargo-generate.toml",
            "[placeholders]\nmodule = { prompt = \"m\", default = \"m\" }\n",
        ),
        ("{{module}}/x.py", ""),
    ]);
    for bad in ["..", "../../etc", "/etc", "a/b"] {
        let error = render(&template, &values(&[&format!("module={bad}")])).unwrap_err();
        assert!(
            matches!(error, ScaffoldError::FileName { .. }),
            "{bad}: {error}"
        );
    }
}

#[test]
fn an_undefined_value_renders_empty_and_broken_liquid_stays_as_is() {
    let template = template(&[
        ("a.txt", "[{{ nothing }}]"),
        ("b.txt", "{% if %}"),
        ("c.txt", "[{{ nothing }}]{{ project-name }}"),
    ]);
    let project = render(&template, &values(&[])).unwrap();
    assert_eq!(text(&project, "a.txt"), "[]");
    assert_eq!(text(&project, "b.txt"), "{% if %}");
    assert_eq!(text(&project, "c.txt"), "[]demo");
    assert_eq!(project.warnings.len(), 2, "{:?}", project.warnings);
}

#[test]
fn project_names_follow_the_manifest_and_stay_as_cargo_generate_keeps_them() {
    assert!(check_project_name("churn-model-2").is_ok());
    for bad in [
        "Churn",
        "churn_model",
        "churn--model",
        "churn-",
        "2churn",
        "",
    ] {
        assert!(check_project_name(bad).is_err(), "{bad}");
    }
}

#[test]
fn unsupported_template_features_are_refused() {
    for config in [
        "[hooks]\npre = [\"x.rhai\"]\n",
        "[placeholders]\nx = { type = \"array\", prompt = \"x\" }\n",
        "[conditional.'x > 1']\nignore = []\n",
    ] {
        let template = template(&[("cargo-generate.toml", config)]);
        assert!(render(&template, &values(&[])).is_err(), "{config}");
    }
}

#[test]
fn cargo_generate_only_filters_are_refused_not_left_unrendered() {
    let template = template(&[("a.py", "import {{ project-name | snake_case }}\n")]);
    let error = render(&template, &values(&[])).unwrap_err().to_string();
    assert!(
        error.contains("cargo-generate's own filters (a.py (`snake_case`))"),
        "{error}"
    );
}
