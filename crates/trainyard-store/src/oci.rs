//! Models in an OCI registry (ACR, GHCR, Harbor, a Docker distribution), as
//! artifacts following the ORAS conventions, through `oci-client`.
//!
//! - A model version is one manifest (`artifactType`
//!   [`MODEL_ARTIFACT_TYPE`], the empty config), tagged with the version, with
//!   one layer per file: its media type, `org.opencontainers.image.title` =
//!   the file's path (what `oras pull` names the file) and
//!   `dev.trainyard.blake3` = its BLAKE3; manifest annotations record the run,
//!   commit, model name and version.
//! - Every file is also reachable by its BLAKE3 (the ledger's digest): a
//!   one-layer manifest ([`FILE_ARTIFACT_TYPE`]) tagged `blake3-<digest>`.
//!   Layers are blobs addressed by SHA-256, so a file shared by versions is
//!   uploaded once.
//!
//! Downloads are checked against SHA-256 (the registry's address) and BLAKE3
//! (trainyard's) before the file is renamed into place.
//!
//! Credentials come from the environment, never from trainyard.yaml:
//! `TRAINYARD_OCI_USERNAME` + `TRAINYARD_OCI_PASSWORD`, else the registry's
//! entry in the Docker config (`$DOCKER_CONFIG/config.json` or
//! `~/.docker/config.json`, `auths.<registry>.auth`), else anonymous. Plain
//! HTTP is used only for a registry on the loopback address (127.0.0.1,
//! localhost, [::1]) or when `TRAINYARD_OCI_PLAIN_HTTP=true`.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use base64::Engine as _;
use futures_util::StreamExt;
use oci_client::client::{ClientConfig, ClientProtocol};
use oci_client::errors::OciDistributionError;
use oci_client::secrets::RegistryAuth;
use oci_client::{Client, Reference};
use serde_json::{Value, json};
use sha2::Digest as _;
use trainyard_core::StoreUrl;

use crate::StoreError;
use crate::artifact::{
    ArtifactRef, ArtifactStore, ModelRelease, PublishedModel, persist, safe_relative,
    temporary_beside, validate_digest,
};
use crate::env::Env;
use crate::runtime::Runtime;

/// The `artifactType` of a model version's manifest.
pub const MODEL_ARTIFACT_TYPE: &str = "application/vnd.trainyard.model.v1+json";
/// The `artifactType` of a single file's manifest (tag `blake3-<digest>`).
pub const FILE_ARTIFACT_TYPE: &str = "application/vnd.trainyard.file.v1+json";
/// The manifest annotation holding a layer's BLAKE3.
pub const BLAKE3_ANNOTATION: &str = "dev.trainyard.blake3";
const TITLE: &str = "org.opencontainers.image.title";
const MANIFEST_MEDIA_TYPE: &str = "application/vnd.oci.image.manifest.v1+json";
/// The OCI 1.1 empty config, `{}`, that artifacts without a config carry.
const EMPTY_CONFIG_TYPE: &str = "application/vnd.oci.empty.v1+json";
const EMPTY_CONFIG: &[u8] = b"{}";
const READ_CHUNK: usize = 1 << 20;

/// A stored layer: what a manifest needs to name it.
#[derive(Debug, Clone)]
struct Layer {
    artifact: ArtifactRef,
    sha256: String,
    media_type: &'static str,
}

/// An [`ArtifactStore`] in an OCI registry; see the module documentation.
pub struct OciArtifacts {
    client: Client,
    auth: RegistryAuth,
    registry: String,
    repository: String,
    runtime: Runtime,
}

impl std::fmt::Debug for OciArtifacts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let auth = match self.auth {
            RegistryAuth::Anonymous => "anonymous",
            _ => "credentials from the environment",
        };
        f.debug_struct("OciArtifacts")
            .field("registry", &self.registry)
            .field("repository", &self.repository)
            .field("auth", &auth)
            .finish_non_exhaustive()
    }
}

impl OciArtifacts {
    /// Opens the repository at `url` (`oci://registry[:port]/repository`).
    pub fn open(url: &StoreUrl, env: &Env) -> Result<Self, StoreError> {
        let StoreUrl::Oci {
            registry,
            repository,
        } = url
        else {
            return Err(StoreError::Config {
                store: url.to_string(),
                message: "not an oci:// URL".to_owned(),
            });
        };
        let runtime = Runtime::new(&url.to_string())?;
        let host = registry
            .rsplit_once(':')
            .map_or(registry.as_str(), |(host, _)| host);
        let loopback = matches!(host, "127.0.0.1" | "localhost" | "[::1]");
        let protocol = if loopback || env.flag("TRAINYARD_OCI_PLAIN_HTTP") {
            ClientProtocol::HttpsExcept(vec![registry.clone()])
        } else {
            ClientProtocol::Https
        };
        let client = Client::try_from(ClientConfig {
            protocol,
            // A cross-host redirect never gets our credentials, but a model
            // push should not wait on many uploads at once either.
            max_concurrent_upload: 2,
            ..ClientConfig::default()
        })
        .map_err(|error| StoreError::Config {
            store: url.to_string(),
            message: format!("cannot build the registry client: {error}"),
        })?;
        Ok(Self {
            client,
            auth: credentials(registry, env),
            registry: registry.clone(),
            repository: repository.clone(),
            runtime,
        })
    }

    fn reference(&self, tag: &str) -> Reference {
        Reference::with_tag(
            self.registry.clone(),
            self.repository.clone(),
            tag.to_owned(),
        )
    }

    fn by_digest(&self, digest: &str) -> Reference {
        Reference::with_digest(
            self.registry.clone(),
            self.repository.clone(),
            digest.to_owned(),
        )
    }

    fn error(&self, action: &'static str, what: &str, source: OciDistributionError) -> StoreError {
        StoreError::Registry {
            action,
            location: format!("oci://{}/{}{what}", self.registry, self.repository),
            source,
        }
    }

    /// The pinned reference of a pushed manifest: `oci://registry/repository@sha256:…`.
    pub fn manifest_uri(&self, manifest_digest: &str) -> String {
        format!(
            "oci://{}/{}@{manifest_digest}",
            self.registry, self.repository
        )
    }

    /// Downloads the model version `reference` (a tag such as `3`, or a
    /// manifest digest `sha256:…`) into `folder`: every file is checked
    /// against SHA-256 and BLAKE3 first, and none is written unless all are.
    pub fn pull_model(
        &self,
        reference: &str,
        folder: &Path,
    ) -> Result<Vec<ArtifactRef>, StoreError> {
        let image = if reference.starts_with("sha256:") {
            self.by_digest(reference)
        } else {
            self.reference(reference)
        };
        self.runtime.block_on(async {
            let manifest = self.manifest(&image, reference).await?;
            let layers = layers(&manifest, MODEL_ARTIFACT_TYPE)
                .map_err(|reason| self.not_ours(reference, reason))?;
            let mut staged = Vec::with_capacity(layers.len());
            for layer in &layers {
                let destination = folder.join(safe_relative(&layer.artifact.path)?);
                let temporary = self.download(&image, layer, &destination).await?;
                staged.push((temporary, destination));
            }
            for (temporary, destination) in staged {
                persist(temporary, &destination)?;
            }
            Ok(layers.into_iter().map(|layer| layer.artifact).collect())
        })
    }

    async fn manifest(&self, image: &Reference, what: &str) -> Result<Value, StoreError> {
        let (body, digest) = self
            .client
            .pull_manifest_raw(image, &self.auth, &[MANIFEST_MEDIA_TYPE])
            .await
            .map_err(|error| self.error("reading the manifest of", &format!(":{what}"), error))?;
        let actual = format!("sha256:{}", hex(&sha2::Sha256::digest(&body)));
        if actual != digest {
            return Err(StoreError::Corrupt {
                digest,
                actual,
                location: format!("oci://{}/{}:{what}", self.registry, self.repository),
            });
        }
        serde_json::from_slice(&body).map_err(|error| self.not_ours(what, error.to_string()))
    }

    fn not_ours(&self, what: &str, reason: impl Into<String>) -> StoreError {
        StoreError::NotAnArtifact {
            location: format!("oci://{}/{}:{what}", self.registry, self.repository),
            reason: reason.into(),
        }
    }

    /// Streams a layer into a temporary file beside `destination`, checked
    /// against both digests; the caller renames it into place.
    async fn download(
        &self,
        image: &Reference,
        layer: &Layer,
        destination: &Path,
    ) -> Result<tempfile::NamedTempFile, StoreError> {
        let location = format!("@{}", layer.sha256);
        let corrupt = |actual: String| StoreError::Corrupt {
            digest: layer.artifact.digest.clone(),
            actual,
            location: format!(
                "oci://{}/{}@{}",
                self.registry, self.repository, layer.sha256
            ),
        };
        let mut stream = self
            .client
            .pull_blob_stream(image, layer.sha256.as_str())
            .await
            .map_err(|error| self.error("downloading", &location, error))?
            .stream;
        let mut temporary = temporary_beside(destination)?;
        let mut blake3 = blake3::Hasher::new();
        let mut sha256 = sha2::Sha256::new();
        while let Some(chunk) = stream.next().await {
            let chunk = match chunk {
                Ok(chunk) => chunk,
                // oci-client checks SHA-256 as the stream ends.
                Err(error)
                    if error
                        .get_ref()
                        .and_then(|inner| inner.downcast_ref::<oci_client::errors::DigestError>())
                        .is_some() =>
                {
                    return Err(corrupt(format!("a SHA-256 other than {}", layer.sha256)));
                }
                Err(error) => {
                    return Err(self.error("downloading", &location, error.into()));
                }
            };
            blake3.update(&chunk);
            sha256.update(&chunk);
            temporary
                .write_all(&chunk)
                .map_err(|e| StoreError::io("writing", temporary.path(), e))?;
        }
        let actual_sha = format!("sha256:{}", hex(&sha256.finalize()));
        if actual_sha != layer.sha256 {
            return Err(corrupt(actual_sha));
        }
        let actual = blake3.finalize().to_hex().to_string();
        if actual != layer.artifact.digest {
            return Err(corrupt(actual));
        }
        Ok(temporary)
    }

    /// Uploads `file` as a blob unless the registry has it, and tags its
    /// one-layer manifest `blake3-<digest>` unless that tag exists.
    async fn put_file(&self, path: &str, file: &Path) -> Result<Layer, StoreError> {
        let (digest, sha256, size) = hash_file(file)?;
        let layer = Layer {
            artifact: ArtifactRef {
                path: path.to_owned(),
                digest: digest.clone(),
                size,
            },
            sha256: sha256.clone(),
            media_type: media_type(path),
        };
        let tag = format!("blake3-{digest}");
        if self.tag_exists(&tag).await? {
            return Ok(layer);
        }
        self.push_blob(file, &sha256, size).await?;
        self.push_empty_config().await?;
        let manifest = manifest_json(
            FILE_ARTIFACT_TYPE,
            std::slice::from_ref(&layer),
            &BTreeMap::new(),
        );
        self.push_manifest(&tag, &manifest).await?;
        Ok(layer)
    }

    async fn tag_exists(&self, tag: &str) -> Result<bool, StoreError> {
        match self
            .client
            .fetch_manifest_digest(&self.reference(tag), &self.auth)
            .await
        {
            Ok(_) => Ok(true),
            Err(
                OciDistributionError::ImageManifestNotFoundError(_)
                | OciDistributionError::ServerError { code: 404, .. },
            ) => Ok(false),
            Err(OciDistributionError::RegistryError { envelope, .. })
                if envelope.errors.iter().any(|error| {
                    matches!(
                        error.code,
                        oci_client::errors::OciErrorCode::ManifestUnknown
                            | oci_client::errors::OciErrorCode::NameUnknown
                    )
                }) =>
            {
                Ok(false)
            }
            Err(error) => Err(self.error("checking", &format!(":{tag}"), error)),
        }
    }

    async fn push_blob(&self, file: &Path, sha256: &str, size: u64) -> Result<(), StoreError> {
        let image = self.reference("latest");
        let location = format!("@{sha256}");
        let exists = self
            .client
            .blob_exists(&image, sha256)
            .await
            .map_err(|error| self.error("checking", &location, error))?;
        if exists {
            return Ok(());
        }
        let reader = File::open(file).map_err(|e| StoreError::io("opening", file, e))?;
        // Read in chunks as the client sends them: memory stays flat, and the
        // registry refuses the blob if the bytes no longer hash to `sha256`.
        let stream = futures_util::stream::unfold(reader, |mut reader| async move {
            let mut buffer = vec![0_u8; READ_CHUNK];
            match reader.read(&mut buffer) {
                Ok(0) => None,
                Ok(read) => {
                    buffer.truncate(read);
                    Some((Ok(bytes::Bytes::from(buffer)), reader))
                }
                Err(error) => Some((Err(OciDistributionError::IoError(error)), reader)),
            }
        });
        if size == 0 {
            self.client
                .push_blob(&image, bytes::Bytes::new(), sha256)
                .await
                .map_err(|error| self.error("uploading", &location, error))?;
        } else {
            self.client
                .push_blob_stream(&image, stream, sha256, Some(size))
                .await
                .map_err(|error| self.error("uploading", &location, error))?;
        }
        Ok(())
    }

    async fn push_empty_config(&self) -> Result<(), StoreError> {
        let digest = format!("sha256:{}", hex(&sha2::Sha256::digest(EMPTY_CONFIG)));
        let image = self.reference("latest");
        let exists = self
            .client
            .blob_exists(&image, &digest)
            .await
            .map_err(|error| self.error("checking", &format!("@{digest}"), error))?;
        if !exists {
            self.client
                .push_blob(&image, EMPTY_CONFIG, &digest)
                .await
                .map_err(|error| self.error("uploading", &format!("@{digest}"), error))?;
        }
        Ok(())
    }

    /// Pushes `manifest` exactly as serialized (its digest is ours to know)
    /// under `tag`, returning the manifest's digest.
    async fn push_manifest(&self, tag: &str, manifest: &Value) -> Result<String, StoreError> {
        let body = serde_json::to_vec(manifest).map_err(|error| StoreError::Config {
            store: self.location(),
            message: format!("cannot serialize a manifest: {error}"),
        })?;
        let digest = format!("sha256:{}", hex(&sha2::Sha256::digest(&body)));
        self.client
            .push_manifest_raw(&self.reference(tag), body, http_header(MANIFEST_MEDIA_TYPE))
            .await
            .map_err(|error| self.error("pushing the manifest", &format!(":{tag}"), error))?;
        Ok(digest)
    }
}

fn http_header(value: &'static str) -> reqwest::header::HeaderValue {
    reqwest::header::HeaderValue::from_static(value)
}

impl ArtifactStore for OciArtifacts {
    fn put(&self, path: &str, file: &Path) -> Result<ArtifactRef, StoreError> {
        self.runtime
            .block_on(self.put_file(path, file))
            .map(|layer| layer.artifact)
    }

    fn get(&self, digest: &str, destination: &Path) -> Result<(), StoreError> {
        validate_digest(digest)?;
        let tag = format!("blake3-{digest}");
        self.runtime.block_on(async {
            if !self.tag_exists(&tag).await? {
                return Err(StoreError::NotFound {
                    digest: digest.to_owned(),
                    store: self.location(),
                });
            }
            let image = self.reference(&tag);
            let manifest = self.manifest(&image, &tag).await?;
            let mut layers = layers(&manifest, FILE_ARTIFACT_TYPE)
                .map_err(|reason| self.not_ours(&tag, reason))?;
            let Some(layer) = layers.pop().filter(|layer| layer.artifact.digest == digest) else {
                return Err(self.not_ours(&tag, "its layer is not the file with this digest"));
            };
            let temporary = self.download(&image, &layer, destination).await?;
            persist(temporary, destination)
        })
    }

    fn exists(&self, digest: &str) -> Result<bool, StoreError> {
        validate_digest(digest)?;
        self.runtime
            .block_on(self.tag_exists(&format!("blake3-{digest}")))
    }

    fn location(&self) -> String {
        format!("oci://{}/{}", self.registry, self.repository)
    }

    fn uri(&self, artifact: &ArtifactRef) -> String {
        format!("{}:blake3-{}", self.location(), artifact.digest)
    }

    /// Pushes the model as one artifact tagged with its version (see the
    /// module documentation); [`PublishedModel::uri`] pins it by digest.
    fn publish_model(&self, release: &ModelRelease) -> Result<PublishedModel, StoreError> {
        if !valid_tag(&release.version) {
            return Err(StoreError::Config {
                store: self.location(),
                message: format!(
                    "the version `{}` cannot be an OCI tag (letters, digits, `_`, `.`, `-`; at most 128)",
                    release.version
                ),
            });
        }
        self.runtime.block_on(async {
            let mut layers = Vec::with_capacity(release.files.len());
            for (name, file) in &release.files {
                safe_relative(name)?;
                layers.push(self.put_file(name, file).await?);
            }
            let mut annotations = BTreeMap::new();
            annotations.insert("org.opencontainers.image.title", release.name.clone());
            annotations.insert("org.opencontainers.image.version", release.version.clone());
            annotations.insert("org.opencontainers.image.revision", release.commit.clone());
            annotations.insert("dev.trainyard.model", release.name.clone());
            annotations.insert("dev.trainyard.version", release.version.clone());
            annotations.insert("dev.trainyard.run", release.run.clone());
            let manifest = manifest_json(MODEL_ARTIFACT_TYPE, &layers, &annotations);
            let digest = self.push_manifest(&release.version, &manifest).await?;
            Ok(PublishedModel {
                uri: Some(self.manifest_uri(&digest)),
                files: layers.into_iter().map(|layer| layer.artifact).collect(),
                manifest_digest: Some(digest),
            })
        })
    }
}

/// BLAKE3, SHA-256 and size of a file in one read.
fn hash_file(file: &Path) -> Result<(String, String, u64), StoreError> {
    let mut reader = File::open(file).map_err(|e| StoreError::io("opening", file, e))?;
    let mut blake3 = blake3::Hasher::new();
    let mut sha256 = sha2::Sha256::new();
    let mut buffer = vec![0_u8; READ_CHUNK];
    let mut size = 0_u64;
    loop {
        let read = match reader.read(&mut buffer) {
            Ok(0) => break,
            Ok(read) => read,
            Err(error) if error.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(error) => return Err(StoreError::io("reading", file, error)),
        };
        blake3.update(&buffer[..read]);
        sha256.update(&buffer[..read]);
        size += read as u64;
    }
    Ok((
        blake3.finalize().to_hex().to_string(),
        format!("sha256:{}", hex(&sha256.finalize())),
        size,
    ))
}

fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    bytes
        .iter()
        .fold(String::with_capacity(64), |mut text, byte| {
            let _ = write!(text, "{byte:02x}");
            text
        })
}

fn manifest_json(
    artifact_type: &str,
    layers: &[Layer],
    annotations: &BTreeMap<&str, String>,
) -> Value {
    let empty_digest = format!("sha256:{}", hex(&sha2::Sha256::digest(EMPTY_CONFIG)));
    let layers: Vec<Value> = layers
        .iter()
        .map(|layer| {
            json!({
                "mediaType": layer.media_type,
                "digest": layer.sha256,
                "size": layer.artifact.size,
                "annotations": {
                    TITLE: layer.artifact.path,
                    BLAKE3_ANNOTATION: layer.artifact.digest,
                },
            })
        })
        .collect();
    let mut manifest = json!({
        "schemaVersion": 2,
        "mediaType": MANIFEST_MEDIA_TYPE,
        "artifactType": artifact_type,
        "config": {
            "mediaType": EMPTY_CONFIG_TYPE,
            "digest": empty_digest,
            "size": EMPTY_CONFIG.len(),
            "data": "e30=",
        },
        "layers": layers,
    });
    if !annotations.is_empty() {
        manifest["annotations"] = json!(annotations);
    }
    manifest
}

/// The layers of a manifest of `artifact_type`, each with its file name and BLAKE3.
fn layers(manifest: &Value, artifact_type: &str) -> Result<Vec<Layer>, String> {
    if manifest["artifactType"].as_str() != Some(artifact_type) {
        return Err(format!(
            "its artifactType is {}, not {artifact_type}",
            manifest["artifactType"]
        ));
    }
    let Some(entries) = manifest["layers"].as_array() else {
        return Err("it has no layers".to_owned());
    };
    entries
        .iter()
        .map(|entry| {
            let text = |key: &str| entry[key].as_str().map(str::to_owned);
            let annotation = |key: &str| entry["annotations"][key].as_str().map(str::to_owned);
            let (Some(sha256), Some(size), Some(path), Some(digest)) = (
                text("digest"),
                entry["size"].as_u64(),
                annotation(TITLE),
                annotation(BLAKE3_ANNOTATION),
            ) else {
                return Err("a layer lacks its digest, size, title or BLAKE3 annotation".to_owned());
            };
            validate_digest(&digest).map_err(|error| error.to_string())?;
            Ok(Layer {
                media_type: media_type(&path),
                artifact: ArtifactRef { path, digest, size },
                sha256,
            })
        })
        .collect()
}

/// A layer's media type from the file's extension (ORAS records one per file).
fn media_type(path: &str) -> &'static str {
    let extension = path
        .rsplit_once('.')
        .map(|(_, extension)| extension.to_ascii_lowercase());
    match extension.as_deref() {
        Some("json") => "application/json",
        Some("yaml" | "yml") => "application/yaml",
        Some("txt" | "md") => "text/plain",
        Some("onnx") => "application/vnd.onnx",
        Some("csv") => "text/csv",
        Some("parquet") => "application/vnd.apache.parquet",
        Some("tar") => "application/x-tar",
        Some("gz" | "tgz") => "application/gzip",
        Some("zip") => "application/zip",
        _ => "application/octet-stream",
    }
}

fn valid_tag(tag: &str) -> bool {
    !tag.is_empty()
        && tag.len() <= 128
        && tag.starts_with(|c: char| c.is_ascii_alphanumeric() || c == '_')
        && tag
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'))
}

/// Registry credentials from the environment; see the module documentation.
fn credentials(registry: &str, env: &Env) -> RegistryAuth {
    if let (Some(user), Some(password)) = (
        env.get("TRAINYARD_OCI_USERNAME"),
        env.get("TRAINYARD_OCI_PASSWORD"),
    ) {
        return RegistryAuth::Basic(user.to_owned(), password.to_owned());
    }
    let config = env
        .get("DOCKER_CONFIG")
        .map(|folder| PathBuf::from(folder).join("config.json"))
        .or_else(|| {
            env.get("HOME")
                .map(|home| PathBuf::from(home).join(".docker/config.json"))
        });
    config
        .and_then(|path| std::fs::read(path).ok())
        .and_then(|text| serde_json::from_slice::<Value>(&text).ok())
        .and_then(|config| docker_auth(&config, registry))
        .unwrap_or(RegistryAuth::Anonymous)
}

fn docker_auth(config: &Value, registry: &str) -> Option<RegistryAuth> {
    let auths = config["auths"].as_object()?;
    let entry = auths.iter().find_map(|(key, entry)| {
        let host = key
            .trim_start_matches("https://")
            .trim_start_matches("http://")
            .split('/')
            .next()
            .unwrap_or("");
        (host == registry).then_some(entry)
    })?;
    if let (Some(user), Some(password)) = (entry["username"].as_str(), entry["password"].as_str()) {
        return Some(RegistryAuth::Basic(user.to_owned(), password.to_owned()));
    }
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(entry["auth"].as_str()?)
        .ok()?;
    let (user, password) = std::str::from_utf8(&decoded).ok()?.split_once(':')?;
    Some(RegistryAuth::Basic(user.to_owned(), password.to_owned()))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn credentials_come_from_variables_then_the_docker_config() {
        let temp = tempfile::tempdir().unwrap();
        std::fs::write(
            temp.path().join("config.json"),
            r#"{"auths": {"https://ghcr.io": {"auth": "dXNlcjpzZWNyZXQ="}}}"#,
        )
        .unwrap();
        let env = Env::empty().with("DOCKER_CONFIG", temp.path().display().to_string());
        assert!(matches!(
            credentials("ghcr.io", &env),
            RegistryAuth::Basic(user, password) if user == "user" && password == "secret"
        ));
        assert!(matches!(
            credentials("acr.io", &env),
            RegistryAuth::Anonymous
        ));
        let env = env
            .with("TRAINYARD_OCI_USERNAME", "bot")
            .with("TRAINYARD_OCI_PASSWORD", "token");
        assert!(matches!(
            credentials("acr.io", &env),
            RegistryAuth::Basic(user, _) if user == "bot"
        ));
    }

    #[test]
    fn manifests_round_trip_their_layers() {
        let layer = Layer {
            artifact: ArtifactRef {
                path: "model/weights.onnx".to_owned(),
                digest: "a".repeat(64),
                size: 3,
            },
            sha256: format!("sha256:{}", "b".repeat(64)),
            media_type: media_type("model/weights.onnx"),
        };
        let manifest = manifest_json(MODEL_ARTIFACT_TYPE, &[layer], &BTreeMap::new());
        assert_eq!(manifest["layers"][0]["mediaType"], "application/vnd.onnx");
        let read = layers(&manifest, MODEL_ARTIFACT_TYPE).unwrap();
        assert_eq!(read[0].artifact.path, "model/weights.onnx");
        assert!(layers(&manifest, FILE_ARTIFACT_TYPE).is_err());
        assert!(valid_tag("3") && valid_tag("v1.2-rc_1") && !valid_tag("-x") && !valid_tag("a/b"));
    }
}
