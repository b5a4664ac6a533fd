//! `trainyard init [--template NAME] [--define key=value …] [--list] DIR`:
//! a new ML project from one of the scaffolds compiled into the binary
//! (`scaffolds/`), rendered by `trainyard_scaffold` to the files
//! cargo-generate writes for the same template and values. Everything is
//! rendered in memory first; nothing is written when a file exists already
//! or a path would leave DIR. A new (or empty) DIR becomes a git repository
//! with the project as its first commit, so `trainyard train` records from
//! commit one.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::path::Path;

use include_dir::{Dir, include_dir};
use trainyard_core::markdown::{self, cell, code};
use trainyard_core::{Conclusion, Finding, Report, StepError};
use trainyard_scaffold::{Description, Template, Values};

use super::Step;
use crate::app::StepContext;
use crate::requests::InitRequest;

const STEP: &str = Step::Init.name();

/// The scaffolds, compiled in: each folder of `scaffolds/` is a template.
static SCAFFOLDS: Dir<'static> = include_dir!("$CARGO_MANIFEST_DIR/scaffolds");

/// The template `init` renders when `--template` is not given.
pub const DEFAULT_TEMPLATE: &str = "realtime-classifier";

pub fn run(request: &InitRequest, context: &StepContext) -> Result<Report, StepError> {
    let templates = match &request.template_dir {
        Some(folder) => vec![template_from_disk(folder)?],
        None => compiled_templates(),
    };
    if request.list {
        return list(&templates);
    }
    let dir = request.dir.as_deref().ok_or_else(|| {
        StepError::Usage("give the new project's folder: trainyard init DIR".into())
    })?;
    let template = choose(&templates, request)?;
    let dir = std::path::absolute(dir).map_err(|error| StepError::io("resolving", dir, error))?;

    let project_name = project_name(request, &dir)?;
    let (authors, username) = authors(context);
    let values = Values {
        project_name: project_name.clone(),
        definitions: request.defines.clone(),
        authors,
        username,
        within_cargo_project: dir
            .ancestors()
            .any(|folder| folder.join("Cargo.toml").exists()),
    };
    let project = trainyard_scaffold::render(template, &values)
        .map_err(|error| StepError::Usage(error.to_string()))?;

    let fresh = check_destination(&dir, &project)?;
    write_project(&dir, &project)?;
    let mut report = Report::new(
        STEP,
        Conclusion::Success,
        format!(
            "project `{project_name}` created in {} from template `{}` ({} files)",
            dir.display(),
            template.name,
            project.files.len()
        ),
    )
    .with_output("dir", dir.display().to_string())
    .with_output("template", template.name.clone())
    .with_output("files", project.files.len().to_string());
    for warning in &project.warnings {
        report.push_finding(Finding::warning("scaffold-render", warning.clone()));
    }
    if fresh {
        let branch = trainyard_core::manifest::parse(
            &String::from_utf8_lossy(
                project
                    .files
                    .get(trainyard_core::manifest::MANIFEST_FILE)
                    .map_or(&[][..], Vec::as_slice),
            ),
            trainyard_core::manifest::MANIFEST_FILE,
        )
        .map_or_else(
            |_| "main".to_owned(),
            |manifest| manifest.project.default_branch,
        );
        let commit = crate::app::git::init_with_first_commit(
            &dir,
            &branch,
            &format!(
                "New project {project_name} from the trainyard template {}",
                template.name
            ),
        )?;
        report = report
            .with_output("commit", commit.clone())
            .with_output("branch", branch.clone());
        report.summary = format!(
            "A git repository on {} with the project as its first commit ({}).\n\n",
            markdown::code_in_text(&branch),
            markdown::code_in_text(markdown::short_commit(&commit))
        );
    }
    let shown = dir.display().to_string();
    let _ = write!(
        report.summary,
        "Start here:\n\n{}",
        markdown::fenced(
            "sh",
            &format!("cd {shown}\ntrainyard config check\ntrainyard data validate\n")
        )
    );
    Ok(report)
}

/// The compiled-in templates, by folder name.
fn compiled_templates() -> Vec<Template> {
    SCAFFOLDS
        .dirs()
        .map(|folder| {
            let name = folder.path().to_string_lossy().into_owned();
            let mut template = Template {
                name: name.clone(),
                ..Template::default()
            };
            collect(folder, Path::new(&name), &mut template);
            template
        })
        .collect()
}

fn collect(folder: &Dir<'_>, base: &Path, template: &mut Template) {
    for entry in folder.entries() {
        let relative = entry
            .path()
            .strip_prefix(base)
            .unwrap_or(entry.path())
            .to_string_lossy()
            .replace('\\', "/");
        match entry {
            include_dir::DirEntry::Dir(dir) => {
                template.dirs.insert(relative);
                collect(dir, base, template);
            }
            include_dir::DirEntry::File(file) => {
                template.files.insert(relative, file.contents().to_vec());
            }
        }
    }
}

/// A template folder on disk, read as cargo-generate reads one: `.git`
/// skipped, symbolic links skipped (never followed).
fn template_from_disk(folder: &Path) -> Result<Template, StepError> {
    fn walk(folder: &Path, relative: &str, template: &mut Template) -> Result<(), StepError> {
        let entries =
            std::fs::read_dir(folder).map_err(|error| StepError::io("reading", folder, error))?;
        for entry in entries {
            let entry = entry.map_err(|error| StepError::io("reading", folder, error))?;
            let name = entry.file_name().to_string_lossy().into_owned();
            let path = entry.path();
            let kind = entry
                .file_type()
                .map_err(|error| StepError::io("reading", &path, error))?;
            let child = if relative.is_empty() {
                name.clone()
            } else {
                format!("{relative}/{name}")
            };
            if kind.is_dir() {
                if name == ".git" {
                    continue;
                }
                template.dirs.insert(child.clone());
                walk(&path, &child, template)?;
            } else if kind.is_file() {
                let bytes =
                    std::fs::read(&path).map_err(|error| StepError::io("reading", &path, error))?;
                template.files.insert(child, bytes);
            }
        }
        Ok(())
    }
    if !folder.is_dir() {
        return Err(StepError::Usage(format!(
            "--template-dir {}: not a folder",
            folder.display()
        )));
    }
    let name = std::path::absolute(folder)
        .ok()
        .and_then(|path| {
            path.file_name()
                .map(|name| name.to_string_lossy().into_owned())
        })
        .unwrap_or_else(|| folder.display().to_string());
    let mut template = Template {
        name,
        ..Template::default()
    };
    walk(folder, "", &mut template)?;
    Ok(template)
}

/// The template asked for: a name among the compiled-in ones, never a path.
fn choose<'a>(templates: &'a [Template], request: &InitRequest) -> Result<&'a Template, StepError> {
    let names: Vec<&str> = templates
        .iter()
        .map(|template| template.name.as_str())
        .collect();
    if request.template_dir.is_some() {
        return templates
            .first()
            .ok_or_else(|| StepError::Usage("no template in --template-dir".into()));
    }
    let wanted = request.template.as_deref().unwrap_or(DEFAULT_TEMPLATE);
    if let Some(template) = templates.iter().find(|template| template.name == wanted) {
        return Ok(template);
    }
    let why = if wanted.contains(['/', '\\']) || wanted == ".." || wanted == "." {
        "a template is named, not a path (for a template folder on disk, use --template-dir)"
            .to_owned()
    } else {
        trainyard_core::diagnostic::nearest(wanted, names.iter().copied())
            .map(|near| format!("did you mean `{near}`?"))
            .unwrap_or_default()
    };
    Err(StepError::Usage(format!(
        "no template `{wanted}`{}; the templates: {} (trainyard init --list)",
        if why.is_empty() {
            String::new()
        } else {
            format!(": {why}")
        },
        if names.is_empty() {
            "none".to_owned()
        } else {
            names.join(", ")
        }
    )))
}

/// `--define project-name=…` (the last one), else DIR's last component; the manifest's rule.
fn project_name(request: &InitRequest, dir: &Path) -> Result<String, StepError> {
    let mut defined = None;
    for definition in &request.defines {
        let (key, value) = trainyard_scaffold::parse_definition(definition)
            .map_err(|error| StepError::Usage(error.to_string()))?;
        if key == "project-name" {
            defined = Some(value);
        }
    }
    let name = match defined {
        Some(name) => name,
        None => dir
            .file_name()
            .map(|name| name.to_string_lossy().into_owned())
            .ok_or_else(|| {
                StepError::Usage(format!(
                    "{} has no last component to name the project; give --define project-name=…",
                    dir.display()
                ))
            })?,
    };
    trainyard_scaffold::check_project_name(&name).map_err(|error| {
        StepError::Usage(format!(
            "{error} (the name is DIR's last component unless --define project-name=… gives it)"
        ))
    })?;
    Ok(name)
}

/// `authors` and `username` as cargo-generate finds them: the variables
/// cargo reads, else git's configured identity, else the login name.
fn authors(context: &StepContext) -> (String, String) {
    let env = |names: &[&str]| {
        names
            .iter()
            .find_map(|name| context.env.get(name).map(str::to_owned))
    };
    let git_config = |key: &str| crate::app::git::git(Path::new("."), &["config", key]);
    let name = env(&["CARGO_NAME", "GIT_AUTHOR_NAME", "GIT_COMMITTER_NAME"])
        .or_else(|| git_config("user.name"))
        .or_else(|| env(&["USER", "USERNAME", "NAME"]))
        .unwrap_or_default()
        .trim()
        .to_owned();
    let email = env(&["CARGO_EMAIL", "GIT_AUTHOR_EMAIL", "GIT_COMMITTER_EMAIL"])
        .or_else(|| git_config("user.email"))
        .or_else(|| env(&["EMAIL"]))
        .map(|email| {
            let email = email.trim();
            email
                .strip_prefix('<')
                .and_then(|inner| inner.strip_suffix('>'))
                .unwrap_or(email)
                .to_owned()
        });
    let authors = match email {
        Some(email) => format!("{name} <{email}>"),
        None => name.clone(),
    };
    (authors, name)
}

/// Checks every write before the first: DIR is not a link or a file, no
/// path leaves it or passes a link, no file exists. Returns whether DIR is
/// new or empty (it then gets a git repository).
fn check_destination(dir: &Path, project: &trainyard_scaffold::Project) -> Result<bool, StepError> {
    let fresh = match std::fs::symlink_metadata(dir) {
        Ok(meta) if meta.file_type().is_symlink() => {
            return Err(StepError::Usage(format!(
                "{} is a symbolic link; give the project's real folder (trainyard does not write through links)",
                dir.display()
            )));
        }
        Ok(meta) if !meta.is_dir() => {
            return Err(StepError::Usage(format!(
                "{} is not a folder",
                dir.display()
            )));
        }
        Ok(_) => std::fs::read_dir(dir)
            .map_err(|error| StepError::io("reading", dir, error))?
            .next()
            .is_none(),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => true,
        Err(error) => return Err(StepError::io("reading", dir, error)),
    };
    let mut existing = Vec::new();
    for relative in project.files.keys().chain(project.dirs.iter()) {
        let target = trainyard_core::fs::resolve_within(dir, Path::new(relative))
            .map_err(|error| StepError::Usage(format!("{error} (nothing was written)")))?;
        if project.files.contains_key(relative) && std::fs::symlink_metadata(&target).is_ok() {
            existing.push(relative.as_str());
        }
    }
    if !existing.is_empty() {
        let shown: Vec<&str> = existing.iter().take(10).copied().collect();
        return Err(StepError::Usage(format!(
            "{} of the template's files exist in {} already ({}{}); init never overwrites: nothing was written",
            existing.len(),
            dir.display(),
            shown.join(", "),
            if existing.len() > shown.len() {
                ", …"
            } else {
                ""
            }
        )));
    }
    Ok(fresh)
}

/// Writes the folders, then the files, each through `trainyard_core::fs`.
fn write_project(dir: &Path, project: &trainyard_scaffold::Project) -> Result<(), StepError> {
    std::fs::create_dir_all(dir).map_err(|error| StepError::io("creating", dir, error))?;
    let refused = |error: trainyard_core::fs::ContainmentError| {
        if error.is_refusal() {
            StepError::Usage(error.to_string())
        } else {
            StepError::Environment(error.to_string())
        }
    };
    for folder in &project.dirs {
        trainyard_core::fs::create_dir_within(dir, Path::new(folder)).map_err(refused)?;
    }
    let _deferred = crate::app::interrupt::defer();
    for (relative, bytes) in &project.files {
        trainyard_core::fs::write_atomic_within(dir, Path::new(relative), bytes)
            .map_err(refused)?;
    }
    Ok(())
}

/// `--list`: each template, what it is, and its placeholders.
fn list(templates: &[Template]) -> Result<Report, StepError> {
    let described: Vec<Description> = templates
        .iter()
        .map(Template::describe)
        .collect::<Result<_, _>>()
        .map_err(|error| StepError::Usage(error.to_string()))?;
    let mut summary = String::from(
        "| template | description | placeholder | default | allowed |\n|---|---|---|---|---|\n",
    );
    let mut data = Vec::new();
    for template in &described {
        let mut rows = vec![format!(
            "| {} | {} | {} | DIR's name | lower-case letters, digits and dashes, starting with a letter |",
            code(&template.name),
            cell(&template.description),
            code("project-name"),
        )];
        let mut placeholders = BTreeMap::new();
        for placeholder in &template.placeholders {
            let allowed = match (
                &placeholder.choices,
                placeholder.pattern(),
                placeholder.kind,
            ) {
                (Some(choices), _, _) => choices
                    .iter()
                    .map(|choice| code(choice))
                    .collect::<Vec<_>>()
                    .join(", "),
                (None, Some(pattern), _) => format!("matches {}", code(pattern)),
                (None, None, trainyard_scaffold::PlaceholderKind::Bool) => {
                    format!("{}, {}", code("true"), code("false"))
                }
                (None, None, _) => "any text".to_owned(),
            };
            rows.push(format!(
                "| | {} | {} | {} | {} |",
                cell(&placeholder.prompt),
                code(&placeholder.name),
                placeholder.default.as_deref().map_or_else(
                    || "(required)".to_owned(),
                    |default| {
                        if default.is_empty() {
                            "(empty)".to_owned()
                        } else {
                            code(default)
                        }
                    }
                ),
                allowed
            ));
            placeholders.insert(
                placeholder.name.clone(),
                serde_json::json!({
                    "type": placeholder.kind.name(),
                    "prompt": placeholder.prompt,
                    "default": placeholder.default,
                    "choices": placeholder.choices,
                    "regex": placeholder.pattern(),
                }),
            );
        }
        summary.push_str(&rows.join("\n"));
        summary.push('\n');
        data.push(serde_json::json!({
            "name": template.name,
            "description": template.description,
            "placeholders": placeholders,
        }));
    }
    let title = format!("{} template(s)", described.len());
    Ok(Report::new(STEP, Conclusion::Success, title)
        .with_summary(summary)
        .with_data(serde_json::Value::Array(data)))
}
