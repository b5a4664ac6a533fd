//! Where the data steps read a dataset from: the files a `datasets.<name>.path`
//! names in the project (a file, a folder, a glob), or the objects a store URL
//! names (`s3://bucket/sales/*.parquet`, `az://…`, `gs://…`), each as an
//! [`InputFile`] the readers, fingerprints and samples take alike. Credentials
//! come from the step's environment only (docs/storage.md).

use std::io::{self, Read};
use std::path::Path;
use std::sync::Arc;

use trainyard_core::StepError;
use trainyard_core::manifest::Dataset;
use trainyard_data::read::{self, ByteSource, InputFile};
use trainyard_store::{Env, RemoteDataset, RemoteObject};

use super::{Project, StepContext};

/// Resolves dataset paths for one project.
#[derive(Debug, Clone)]
pub struct DatasetFiles<'a> {
    root: &'a Path,
    manifest_file: &'a str,
    env: Env,
}

impl<'a> DatasetFiles<'a> {
    /// The project's datasets, objects in storage reached with the step's environment.
    pub fn new(project: &'a Project, context: &StepContext) -> Self {
        Self {
            root: &project.root,
            manifest_file: &project.manifest_file,
            env: super::store::store_env(context),
        }
    }

    /// Local files only under `root` (no credentials: quickstart's copy).
    pub fn local(root: &'a Path, manifest_file: &'a str) -> Self {
        Self {
            root,
            manifest_file,
            env: Env::empty(),
        }
    }

    /// The folder relative dataset paths and schema files start from.
    pub fn root(&self) -> &'a Path {
        self.root
    }

    /// The input files of dataset `name`, sorted. A path that names nothing
    /// is a configuration error at `datasets.<name>.path` (exit 2); a store
    /// that cannot be listed (a missing bucket, no network) is exit 3.
    pub fn inputs(&self, name: &str, dataset: &Dataset) -> Result<Vec<InputFile>, StepError> {
        if !is_store_url(&dataset.path) {
            return read::resolve(self.root, &dataset.path).map_err(|error| match error {
                StepError::Usage(_) => {
                    super::dataset_missing(self.manifest_file, name, &dataset.path)
                }
                StepError::Io { source, .. } if source.kind() == io::ErrorKind::NotFound => {
                    super::dataset_missing(self.manifest_file, name, &dataset.path)
                }
                other => other,
            });
        }
        let remote = Arc::new(RemoteDataset::open(&dataset.path, &self.env)?);
        let objects = remote.list().map_err(|error| {
            StepError::Environment(format!(
                "dataset `{name}`: {error} (does the bucket or container exist, and do the credentials in the environment reach it? see docs/storage.md)"
            ))
        })?;
        if objects.is_empty() {
            let shown = trainyard_store::redact(&dataset.path);
            return Err(super::dataset_missing(self.manifest_file, name, &shown));
        }
        Ok(objects
            .into_iter()
            .map(|object| {
                InputFile::from_source(Arc::new(StoredObject {
                    dataset: Arc::clone(&remote),
                    object,
                }))
            })
            .collect())
    }
}

/// Whether a dataset path is a store URL rather than a path in the project.
pub fn is_store_url(path: &str) -> bool {
    path.contains("://")
}

/// One object of a dataset in storage, as the readers see it.
#[derive(Debug)]
struct StoredObject {
    dataset: Arc<RemoteDataset>,
    object: RemoteObject,
}

impl ByteSource for StoredObject {
    fn name(&self) -> &str {
        &self.object.url
    }

    fn size(&self) -> u64 {
        self.object.size
    }

    fn version(&self) -> Option<&str> {
        // The ETag changes with the content everywhere; a version id where
        // the bucket keeps versions (and some services give no ETag).
        self.object
            .etag
            .as_deref()
            .or(self.object.version.as_deref())
    }

    fn open(&self) -> io::Result<Box<dyn Read + Send>> {
        self.dataset
            .reader(&self.object)
            .map(|reader| Box::new(reader) as Box<dyn Read + Send>)
            .map_err(io::Error::other)
    }
}
