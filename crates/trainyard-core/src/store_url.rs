//! Where artifacts (and datasets) are stored, as a URL: `az://`, `s3://`,
//! `gs://`, `file:///`, `oci://` or a folder in the project.
//!
//! This lives in core, not in the storage crate, because the manifest checks
//! `artifacts.store` when it is loaded and core must not build an HTTP stack.
//! Credentials never belong in the URL (trainyard.yaml is committed): a URL
//! with a password or a query (a SAS token) is refused, and [`redact`] keeps
//! them out of every message.

use std::fmt;
use std::path::PathBuf;

/// A parsed store URL. [`fmt::Display`] gives its canonical form, which never
/// holds a secret (none is accepted).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum StoreUrl {
    /// A folder on this machine: `file:///abs/path`, or a path relative to the project.
    Local { path: PathBuf },
    /// Azure Blob Storage or ADLS Gen2: `az://container/prefix` (the account
    /// from `AZURE_STORAGE_ACCOUNT_NAME`), `abfss://container@account.dfs.core.windows.net/prefix`
    /// or `https://account.blob.core.windows.net/container/prefix`.
    Azure {
        account: Option<String>,
        container: String,
        prefix: String,
    },
    /// Amazon S3 or an S3-compatible service (`AWS_ENDPOINT`): `s3://bucket/prefix`.
    S3 { bucket: String, prefix: String },
    /// Google Cloud Storage: `gs://bucket/prefix`.
    Gcs { bucket: String, prefix: String },
    /// An OCI registry: `oci://registry[:port]/repository`.
    Oci {
        registry: String,
        repository: String,
    },
}

/// Why a store URL was refused; `url` is the input with secrets removed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{url}` is not a store URL: {reason}")]
pub struct StoreUrlError {
    pub url: String,
    pub reason: String,
    /// What to write instead.
    pub help: Option<String>,
    /// The URL carried a credential (userinfo or a query such as a SAS token).
    pub has_secret: bool,
}

/// The schemes [`StoreUrl::parse`] accepts, for messages.
pub const SCHEMES: &str = "az://, abfs(s)://, https://<account>.blob.core.windows.net, s3://, gs://, file:///, oci:// or a folder in the project";

/// Characters that make a path segment a glob (datasets only).
const GLOB_CHARS: &[char] = &['*', '?', '[', '{'];

impl StoreUrl {
    /// Parses a store URL; see the variants for the accepted forms.
    pub fn parse(input: &str) -> Result<Self, StoreUrlError> {
        let input = input.trim();
        let fail = |reason: String, help: Option<&str>| StoreUrlError {
            url: redact(input),
            reason,
            help: help.map(str::to_owned),
            has_secret: false,
        };
        if input.is_empty() {
            return Err(fail(
                "it is empty".to_owned(),
                Some(
                    "write az://container/prefix, s3://bucket/prefix, gs://bucket/prefix, file:///path or oci://registry/repository",
                ),
            ));
        }
        let Some((scheme, rest)) = input.split_once("://") else {
            return local_path(input).map_err(|reason| fail(reason, None));
        };
        let scheme = scheme.to_ascii_lowercase();
        let (rest, query) = match rest.split_once(['?', '#']) {
            Some((before, after)) => (before, Some(after)),
            None => (rest, None),
        };
        let (authority, path) = rest.split_once('/').unwrap_or((rest, ""));
        let (userinfo, host) = match authority.rsplit_once('@') {
            Some((userinfo, host)) => (Some(userinfo), host),
            None => (None, authority),
        };
        // abfs(s)://container@account… uses the userinfo slot for the container: no secret.
        let abfs = matches!(scheme.as_str(), "abfs" | "abfss");
        let secret_userinfo = userinfo.is_some_and(|info| !abfs || info.contains(':'));
        if secret_userinfo || query.is_some_and(|query| !query.is_empty()) {
            return Err(StoreUrlError {
                url: redact(input),
                reason: "it carries a credential or a query; trainyard.yaml is committed, so credentials never go in it".to_owned(),
                help: Some(
                    "remove it and give the credential in the environment (AZURE_STORAGE_SAS_TOKEN, AWS_ACCESS_KEY_ID, GOOGLE_APPLICATION_CREDENTIALS, docker login …); see docs/storage.md".to_owned(),
                ),
                has_secret: true,
            });
        }
        let parsed = match scheme.as_str() {
            "file" => file_url(host, path),
            "az" | "azure" | "adl" => azure_container(host, path, None),
            "abfs" | "abfss" => {
                let Some(container) = userinfo else {
                    return Err(fail(
                        "abfs(s) URLs name the container before the account".to_owned(),
                        Some(
                            "write abfss://container@account.dfs.core.windows.net/prefix, or az://container/prefix",
                        ),
                    ));
                };
                let account = azure_account(host, ".dfs.core.windows.net")
                    .map_err(|reason| fail(reason, None))?;
                azure_container(container, path, Some(account))
            }
            "https" | "http" => {
                let account = azure_account(host, ".blob.core.windows.net")
                    .or_else(|_| azure_account(host, ".dfs.core.windows.net"))
                    .map_err(|_| {
                        fail(
                            "only Azure storage accounts are reached by https:// (<account>.blob.core.windows.net)".to_owned(),
                            Some("an S3-compatible service is s3://bucket/prefix with AWS_ENDPOINT set in the environment"),
                        )
                    })?;
                if scheme == "http" {
                    return Err(fail(
                        "Azure storage is reached over https://".to_owned(),
                        None,
                    ));
                }
                let (container, prefix) = path.split_once('/').unwrap_or((path, ""));
                azure_container(container, prefix, Some(account))
            }
            "s3" => s3_bucket(host).and_then(|bucket| {
                Ok(Self::S3 {
                    bucket,
                    prefix: prefix(path)?,
                })
            }),
            "gs" => gcs_bucket(host).and_then(|bucket| {
                Ok(Self::Gcs {
                    bucket,
                    prefix: prefix(path)?,
                })
            }),
            "oci" => oci(host, path),
            "s3a" | "s3n" => Err("use s3://bucket/prefix".to_owned()),
            "gcs" => Err("use gs://bucket/prefix".to_owned()),
            "wasb" | "wasbs" => Err("use az://container/prefix (wasb is retired)".to_owned()),
            other => Err(format!("unknown scheme `{other}://`; accepted: {SCHEMES}")),
        };
        parsed.map_err(|reason| fail(reason, None))
    }

    /// Splits a dataset URL such as `az://data/sales/*.parquet` into its
    /// store (up to the last segment without a glob) and the glob below it.
    pub fn parse_with_glob(input: &str) -> Result<(Self, Option<String>), StoreUrlError> {
        let trimmed = input.trim();
        let Some(index) = trimmed.find(GLOB_CHARS) else {
            return Ok((Self::parse(trimmed)?, None));
        };
        let cut = trimmed[..index].rfind('/').unwrap_or(0);
        let (root, pattern) = trimmed.split_at(cut);
        let pattern = pattern.trim_start_matches('/');
        if root.ends_with(':') || root.ends_with(":/") {
            // The glob is in the bucket or container name.
            return Err(StoreUrlError {
                url: redact(trimmed),
                reason: "a glob must come after the bucket or container".to_owned(),
                help: None,
                has_secret: false,
            });
        }
        Ok((Self::parse(root)?, Some(pattern.to_owned())))
    }

    /// The scheme, for messages and dispatch: `file`, `az`, `s3`, `gs` or `oci`.
    pub fn scheme(&self) -> &'static str {
        match self {
            Self::Local { .. } => "file",
            Self::Azure { .. } => "az",
            Self::S3 { .. } => "s3",
            Self::Gcs { .. } => "gs",
            Self::Oci { .. } => "oci",
        }
    }

    /// The key prefix inside the bucket or container (`""` for none, never a
    /// leading or trailing `/`); `None` for local folders and registries.
    pub fn prefix(&self) -> Option<&str> {
        match self {
            Self::Azure { prefix, .. } | Self::S3 { prefix, .. } | Self::Gcs { prefix, .. } => {
                Some(prefix)
            }
            Self::Local { .. } | Self::Oci { .. } => None,
        }
    }
}

impl fmt::Display for StoreUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let with_prefix = |f: &mut fmt::Formatter<'_>, head: &str, prefix: &str| {
            if prefix.is_empty() {
                write!(f, "{head}")
            } else {
                write!(f, "{head}/{prefix}")
            }
        };
        match self {
            Self::Local { path } if path.is_absolute() => write!(f, "file://{}", path.display()),
            Self::Local { path } => write!(f, "{}", path.display()),
            Self::Azure {
                account: Some(account),
                container,
                prefix,
            } => with_prefix(
                f,
                &format!("https://{account}.blob.core.windows.net/{container}"),
                prefix,
            ),
            Self::Azure {
                account: None,
                container,
                prefix,
            } => with_prefix(f, &format!("az://{container}"), prefix),
            Self::S3 { bucket, prefix } => with_prefix(f, &format!("s3://{bucket}"), prefix),
            Self::Gcs { bucket, prefix } => with_prefix(f, &format!("gs://{bucket}"), prefix),
            Self::Oci {
                registry,
                repository,
            } => write!(f, "oci://{registry}/{repository}"),
        }
    }
}

/// `url` without userinfo (`user:password@`) and without its query or
/// fragment (a SAS token), for messages and logs.
pub fn redact(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let (rest, had_query) = match rest.split_once(['?', '#']) {
        Some((before, _)) => (before, true),
        None => (rest, false),
    };
    let (authority, path) = match rest.find('/') {
        Some(index) => rest.split_at(index),
        None => (rest, ""),
    };
    let authority = match authority.rsplit_once('@') {
        Some((userinfo, host))
            if !matches!(scheme.to_ascii_lowercase().as_str(), "abfs" | "abfss")
                || userinfo.contains(':') =>
        {
            format!("***@{host}")
        }
        _ => authority.to_owned(),
    };
    let query = if had_query { "?***" } else { "" };
    format!("{scheme}://{authority}{path}{query}")
}

/// `text` with every URL in it passed through [`redact`]: for messages that
/// quote a URL or a tool's output (git's errors name the remote they failed
/// on, with its token). A URL runs from its scheme to the first space, quote,
/// bracket or backslash. The one redaction of everything trainyard prints.
pub fn redact_urls(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(index) = rest.find("://") {
        let before = &rest[..index];
        let scheme_start = before
            .char_indices()
            .rev()
            .find(|(_, c)| !(c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.')))
            .map_or(0, |(at, c)| at + c.len_utf8());
        let after = &rest[index + 3..];
        let length = after
            .find(|c: char| {
                c.is_whitespace()
                    || matches!(
                        c,
                        '\'' | '"'
                            | '`'
                            | '<'
                            | '>'
                            | '('
                            | ')'
                            | '['
                            | ']'
                            | '{'
                            | '}'
                            | '|'
                            | '\\'
                    )
            })
            .unwrap_or(after.len());
        let end = index + 3 + length;
        out.push_str(&rest[..scheme_start]);
        if scheme_start == index {
            // No scheme: not a URL.
            out.push_str(&rest[index..end]);
        } else {
            out.push_str(&redact(&rest[scheme_start..end]));
        }
        rest = &rest[end..];
    }
    out.push_str(rest);
    out
}

fn local_path(input: &str) -> Result<StoreUrl, String> {
    let path = PathBuf::from(input);
    if path.is_relative()
        && path
            .components()
            .any(|part| matches!(part, std::path::Component::ParentDir))
    {
        return Err(
            "a relative store folder must stay inside the project (no `..`); give an absolute file:/// URL for a folder elsewhere"
                .to_owned(),
        );
    }
    Ok(StoreUrl::Local { path })
}

fn file_url(host: &str, path: &str) -> Result<StoreUrl, String> {
    if !(host.is_empty() || host.eq_ignore_ascii_case("localhost")) {
        return Err(format!(
            "file URLs name a folder on this machine, not on `{host}`: write file:///absolute/path"
        ));
    }
    let path = path.trim_end_matches('/');
    if path.split('/').any(|part| part == "..") {
        return Err("the path must not contain `..`".to_owned());
    }
    Ok(StoreUrl::Local {
        path: PathBuf::from(format!("/{path}")),
    })
}

fn azure_account(host: &str, suffix: &str) -> Result<String, String> {
    let account = host
        .to_ascii_lowercase()
        .strip_suffix(suffix)
        .map(str::to_owned)
        .ok_or_else(|| format!("`{host}` is not <account>{suffix}"))?;
    if (3..=24).contains(&account.len())
        && account
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
    {
        Ok(account)
    } else {
        Err(format!(
            "`{account}` is not a storage account name (3 to 24 lower-case letters and digits)"
        ))
    }
}

fn azure_container(
    container: &str,
    path: &str,
    account: Option<String>,
) -> Result<StoreUrl, String> {
    let valid = (3..=63).contains(&container.len())
        && container
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && container.starts_with(|c: char| c.is_ascii_alphanumeric())
        && container.ends_with(|c: char| c.is_ascii_alphanumeric())
        && !container.contains("--");
    if !valid {
        return Err(if container.is_empty() {
            "the container is missing: write az://container/prefix".to_owned()
        } else {
            format!(
                "`{container}` is not a container name (3 to 63 lower-case letters, digits and single dashes)"
            )
        });
    }
    Ok(StoreUrl::Azure {
        account,
        container: container.to_owned(),
        prefix: prefix(path)?,
    })
}

fn s3_bucket(host: &str) -> Result<String, String> {
    bucket(host, 63, "s3://bucket/prefix", b"-.")
}

fn gcs_bucket(host: &str) -> Result<String, String> {
    bucket(host, 222, "gs://bucket/prefix", b"-._")
}

fn bucket(name: &str, max: usize, form: &str, punctuation: &[u8]) -> Result<String, String> {
    if name.is_empty() {
        return Err(format!("the bucket is missing: write {form}"));
    }
    let valid = (3..=max).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || punctuation.contains(&b))
        && name.starts_with(|c: char| c.is_ascii_alphanumeric())
        && name.ends_with(|c: char| c.is_ascii_alphanumeric());
    if valid {
        Ok(name.to_owned())
    } else {
        Err(format!(
            "`{name}` is not a bucket name (3 to {max} lower-case letters, digits, dashes and dots, starting and ending with a letter or digit)"
        ))
    }
}

/// The key prefix: `/`-separated segments without `.`/`..`, empty segments
/// dropped at the ends only.
fn prefix(path: &str) -> Result<String, String> {
    let trimmed = path.trim_matches('/');
    if trimmed.is_empty() {
        return Ok(String::new());
    }
    for segment in trimmed.split('/') {
        if segment.is_empty() {
            return Err(format!(
                "the prefix `{trimmed}` has an empty segment (`//`)"
            ));
        }
        if segment == "." || segment == ".." {
            return Err(format!(
                "the prefix `{trimmed}` must not contain `.` or `..` segments"
            ));
        }
        if segment.contains(GLOB_CHARS) {
            return Err(format!(
                "the prefix `{trimmed}` contains a glob; a store is a prefix, not a pattern"
            ));
        }
        if segment.chars().any(|c| c.is_control() || c == '\\') {
            return Err(format!(
                "the prefix `{trimmed}` contains a control character or a backslash"
            ));
        }
    }
    Ok(trimmed.to_owned())
}

fn oci(host: &str, path: &str) -> Result<StoreUrl, String> {
    let (name, port) = match host.rsplit_once(':') {
        Some((name, port)) => (name, Some(port)),
        None => (host, None),
    };
    let name_valid = !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.')
        && !name.starts_with(['-', '.']);
    let port_valid = port.is_none_or(|port| {
        !port.is_empty() && port.len() <= 5 && port.bytes().all(|b| b.is_ascii_digit())
    });
    if !name_valid || !port_valid {
        return Err(format!(
            "`{host}` is not a registry host (a name or address with an optional :port)"
        ));
    }
    let repository = path.trim_end_matches('/');
    if repository.is_empty() {
        return Err(
            "the repository is missing: write oci://registry/repository (e.g. oci://ghcr.io/acme/models)"
                .to_owned(),
        );
    }
    if let Some(index) = repository.find([':', '@']) {
        return Err(format!(
            "`{}` is a tag or digest; the store is the repository alone (the tag is the model version)",
            &repository[index..]
        ));
    }
    for component in repository.split('/') {
        if !oci_component(component) {
            return Err(format!(
                "`{component}` is not a repository path component (lower-case letters and digits, separated by `.`, `_`, `__` or dashes)"
            ));
        }
    }
    Ok(StoreUrl::Oci {
        registry: host.to_ascii_lowercase(),
        repository: repository.to_owned(),
    })
}

/// `[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*`, the OCI distribution spec's path component.
fn oci_component(component: &str) -> bool {
    let bytes = component.as_bytes();
    let alnum = |b: u8| b.is_ascii_lowercase() || b.is_ascii_digit();
    if bytes.is_empty() || !alnum(bytes[0]) || !alnum(bytes[bytes.len() - 1]) {
        return false;
    }
    let mut index = 0;
    while index < bytes.len() {
        if alnum(bytes[index]) {
            index += 1;
            continue;
        }
        let start = index;
        while index < bytes.len() && !alnum(bytes[index]) {
            index += 1;
        }
        let separator = &component[start..index];
        let dashes = separator.bytes().all(|b| b == b'-');
        if !(separator == "." || separator == "_" || separator == "__" || dashes) {
            return false;
        }
    }
    true
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn ok(input: &str) -> StoreUrl {
        StoreUrl::parse(input).unwrap_or_else(|error| panic!("{input}: {error}"))
    }

    fn reason(input: &str) -> String {
        StoreUrl::parse(input).unwrap_err().reason
    }

    #[test]
    fn every_accepted_form_parses_and_prints_canonically() {
        let cases = [
            ("az://models/team/a/", "az://models/team/a"),
            ("azure://models", "az://models"),
            (
                "abfss://models@acct1.dfs.core.windows.net/p",
                "https://acct1.blob.core.windows.net/models/p",
            ),
            (
                "https://acct1.blob.core.windows.net/models/p/q/",
                "https://acct1.blob.core.windows.net/models/p/q",
            ),
            ("s3://my-bucket.eu/prefix/x", "s3://my-bucket.eu/prefix/x"),
            ("gs://bucket_1/a", "gs://bucket_1/a"),
            ("file:///srv/models/", "file:///srv/models"),
            ("file://localhost/srv", "file:///srv"),
            (".trainyard/artifacts", ".trainyard/artifacts"),
            (
                "oci://127.0.0.1:5000/acme/models",
                "oci://127.0.0.1:5000/acme/models",
            ),
            (
                "oci://ghcr.io/acme/my_model-x",
                "oci://ghcr.io/acme/my_model-x",
            ),
        ];
        for (input, canonical) in cases {
            assert_eq!(ok(input).to_string(), canonical, "{input}");
        }
        assert_eq!(
            ok("az://models/team/a"),
            StoreUrl::Azure {
                account: None,
                container: "models".to_owned(),
                prefix: "team/a".to_owned()
            }
        );
        assert_eq!(ok("s3://b12/x").prefix(), Some("x"));
        assert_eq!(ok("oci://r/x").scheme(), "oci");
    }

    #[test]
    fn mistakes_get_a_reason_a_person_can_act_on() {
        assert!(reason("s3://").contains("bucket is missing"));
        assert!(reason("s3://My_Bucket/x").contains("not a bucket name"));
        assert!(reason("az://a/x").contains("not a container name"));
        assert!(reason("s3a://b12/x").contains("use s3://"));
        assert!(reason("ftp://host/x").contains("unknown scheme `ftp://`"));
        assert!(reason("s3://b12/a//b").contains("empty segment"));
        assert!(reason("s3://b12/a/../b").contains("`..`"));
        assert!(reason("oci://ghcr.io/acme/models:1").contains("tag or digest"));
        assert!(reason("oci://ghcr.io").contains("repository is missing"));
        assert!(reason("oci://ghcr.io/Acme").contains("not a repository path component"));
        assert!(reason("https://example.com/x").contains("only Azure"));
        assert!(reason("../elsewhere").contains("inside the project"));
        assert!(reason("file://server/share").contains("on this machine"));
        assert!(reason("abfss://acct1.dfs.core.windows.net/x").contains("container before"));
    }

    #[test]
    fn a_credential_in_the_url_is_refused_and_never_repeated() {
        for input in [
            "https://acct1.blob.core.windows.net/models?sv=2024&sig=SECRET",
            "s3://AKIA:SECRET@bucket/x",
            "oci://user:SECRET@ghcr.io/acme/models",
            "abfss://models:SECRET@acct1.dfs.core.windows.net/x",
        ] {
            let error = StoreUrl::parse(input).unwrap_err();
            assert!(error.has_secret, "{input}");
            assert!(!error.to_string().contains("SECRET"), "{error}");
            assert!(error.help.unwrap().contains("environment"));
        }
    }

    #[test]
    fn redact_removes_userinfo_and_queries_only() {
        assert_eq!(
            redact("https://a.blob.core.windows.net/c/p?sv=1&sig=x"),
            "https://a.blob.core.windows.net/c/p?***"
        );
        assert_eq!(redact("oci://u:p@ghcr.io/a"), "oci://***@ghcr.io/a");
        assert_eq!(
            redact("abfss://c@a.dfs.core.windows.net/p"),
            "abfss://c@a.dfs.core.windows.net/p"
        );
        assert_eq!(redact("s3://bucket/x"), "s3://bucket/x");
        assert_eq!(redact("data/a.csv"), "data/a.csv");
    }

    #[test]
    fn every_url_in_a_text_loses_its_userinfo_and_query() {
        let git = "fatal: unable to access 'https://x-access-token:ghs_SECRET@github.com/acme/churn.git/': The requested URL returned error: 403";
        assert_eq!(
            redact_urls(git),
            "fatal: unable to access 'https://***@github.com/acme/churn.git/': The requested URL returned error: 403"
        );
        assert_eq!(
            redact_urls("git push https://ghp_SECRET@h/r and (s3://b/x?sig=SECRET)\n"),
            "git push https://***@h/r and (s3://b/x?***)\n"
        );
        // Text without a URL, a lone `://`, non-ASCII before it: unchanged.
        for plain in ["no url here", "a :// b", "é://x", "ünïcode https://h/p ok"] {
            assert_eq!(redact_urls(plain), plain);
        }
        // Redacting twice changes nothing more.
        assert_eq!(redact_urls(&redact_urls(git)), redact_urls(git));
    }

    #[test]
    fn dataset_globs_split_at_the_last_plain_segment() {
        let (store, glob) = StoreUrl::parse_with_glob("az://data/sales/2024/*.parquet").unwrap();
        assert_eq!(store.to_string(), "az://data/sales/2024");
        assert_eq!(glob.as_deref(), Some("*.parquet"));
        let (store, glob) = StoreUrl::parse_with_glob("s3://b12/part-*/x.parquet").unwrap();
        assert_eq!(store.to_string(), "s3://b12");
        assert_eq!(glob.as_deref(), Some("part-*/x.parquet"));
        let (_, glob) = StoreUrl::parse_with_glob("gs://b12/one.parquet").unwrap();
        assert_eq!(glob, None);
        assert!(StoreUrl::parse_with_glob("s3://b*/x").is_err());
    }
}
