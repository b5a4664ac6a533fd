//! The stores against real servers started on 127.0.0.1 (Azurite for az://,
//! moto for s3://, a Docker distribution registry for oci://) and a local
//! folder (file:///), and read back by independent clients (kserve-storage,
//! oras). Each server is stopped by its pid when its test ends, pass or fail.
//!
//! The servers are the testkit's (`trainyard_testkit::servers`), shared with
//! the root tests that read datasets from them. Tools come from `.ci/test`:
//! tests/support/node_modules (Azurite), .venv (moto, kserve-storage, oras),
//! /usr/bin/docker-registry. Without one, a test is skipped on a developer's
//! machine and fails under CI (`CI=true`).

// Each test is one server's whole scenario, read top to bottom.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::too_many_lines)]

use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use trainyard_store::{
    ArtifactRef, ArtifactStore, Env, ModelRelease, ObjectStoreArtifacts, OciArtifacts, PART_SIZE,
    StoreError, StoreUrl,
};
use trainyard_testkit::servers::{AZURITE_KEY, Azurite, Moto, Registry, python};

// ---------------------------------------------------------------- support

/// Deterministic bytes (xorshift), so a large file is not all one value.
fn bytes(len: usize, seed: u64) -> Vec<u8> {
    let mut state = seed | 1;
    (0..len)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state.to_le_bytes()[0]
        })
        .collect()
}

/// A model folder: a small JSON file, a file larger than a part (multipart)
/// and a nested one.
struct Model {
    _temp: tempfile::TempDir,
    folder: PathBuf,
    files: Vec<(String, Vec<u8>)>,
}

fn model(seed: u64) -> Model {
    let temp = tempfile::tempdir().unwrap();
    let folder = temp.path().join("model");
    let files = vec![
        (
            "config.json".to_owned(),
            format!("{{\"seed\": {seed}}}").into_bytes(),
        ),
        ("sub/vocab.txt".to_owned(), bytes(4096, seed + 1)),
        (
            "weights.bin".to_owned(),
            bytes(PART_SIZE + (4 << 20), seed + 2),
        ),
    ];
    for (name, content) in &files {
        let path = folder.join(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, content).unwrap();
    }
    Model {
        _temp: temp,
        folder,
        files,
    }
}

fn release(model: &Model, version: &str) -> ModelRelease {
    ModelRelease::from_dir("churn", version, "run-1", "0123abcd", &model.folder).unwrap()
}

/// Every file under `folder`, as (relative path, bytes), sorted.
fn read_tree(folder: &Path) -> Vec<(String, Vec<u8>)> {
    fn walk(root: &Path, folder: &Path, out: &mut Vec<(String, Vec<u8>)>) {
        for entry in std::fs::read_dir(folder).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(root, &path, out);
            } else {
                let name = path
                    .strip_prefix(root)
                    .unwrap()
                    .to_string_lossy()
                    .replace('\\', "/");
                out.push((name, std::fs::read(&path).unwrap()));
            }
        }
    }
    let mut out = Vec::new();
    if folder.exists() {
        walk(folder, folder, &mut out);
    }
    out.sort();
    out
}

fn same_files(actual: &[(String, Vec<u8>)], expected: &[(String, Vec<u8>)]) {
    let names = |files: &[(String, Vec<u8>)]| {
        files
            .iter()
            .map(|(n, b)| (n.clone(), b.len()))
            .collect::<Vec<_>>()
    };
    assert_eq!(names(actual), names(expected));
    assert!(actual == expected, "same names and sizes, different bytes");
}

/// Yields `good` bytes of `content`, then fails (or, with `stall`, waits
/// for `stall` and then fails): an upload cut off midway.
struct Broken {
    content: io::Cursor<Vec<u8>>,
    good: u64,
    stall: Option<(PathBuf, Duration)>,
}

impl Read for Broken {
    fn read(&mut self, buffer: &mut [u8]) -> io::Result<usize> {
        let left = self.good.saturating_sub(self.content.position());
        if left == 0 {
            if let Some((marker, wait)) = self.stall.take() {
                std::fs::write(marker, b"").unwrap();
                std::thread::sleep(wait);
            }
            return Err(io::Error::other("the connection to the disk was cut"));
        }
        let len = buffer.len().min(usize::try_from(left).unwrap());
        self.content.read(&mut buffer[..len])
    }
}

fn raw_keys(store: &ObjectStoreArtifacts, below: &str) -> Vec<String> {
    use futures_util::StreamExt;
    let (raw, root) = store.raw();
    let prefix = object_store::path::Path::parse(if root.is_empty() {
        below.to_owned()
    } else {
        format!("{root}/{below}")
    })
    .unwrap();
    store.block_on(async {
        let mut keys: Vec<String> = raw
            .list(Some(&prefix))
            .map(|meta| meta.unwrap().location.to_string())
            .collect()
            .await;
        keys.sort();
        keys
    })
}

fn tamper(store: &ObjectStoreArtifacts, digest: &str) {
    use object_store::ObjectStoreExt;
    let (raw, _) = store.raw();
    let key = object_store::path::Path::parse(store.key_of(digest)).unwrap();
    store
        .block_on(raw.put(&key, b"tampered".to_vec().into()))
        .unwrap();
}

// ------------------------------------------------------- object storage

/// Everything an object store must do, against `store`.
fn exercise_object_store(store: &ObjectStoreArtifacts) -> (Model, Vec<ArtifactRef>, String) {
    let model = model(7);
    let work = tempfile::tempdir().unwrap();

    // put, exists, get: identical bytes, the large file in parts.
    let refs = store.put_dir(&model.folder).unwrap();
    assert_eq!(refs.len(), 3);
    assert_eq!(store.transfers().uploaded, 3);
    for (artifact, (name, content)) in refs.iter().zip(&model.files) {
        assert_eq!(&artifact.path, name);
        assert_eq!(artifact.digest, blake3::hash(content).to_hex().to_string());
        assert!(store.exists(&artifact.digest).unwrap());
        let out = work.path().join("get").join(name);
        store.get(&artifact.digest, &out).unwrap();
        assert!(std::fs::read(&out).unwrap() == *content, "{name} differs");
    }
    assert!(store.uri(&refs[0]).ends_with(&format!(
        "/blake3/{}/{}",
        &refs[0].digest[..2],
        refs[0].digest
    )));

    // Storing the same bytes again uploads nothing.
    let before = store.transfers();
    store.put_dir(&model.folder).unwrap();
    let after = store.transfers();
    assert_eq!(after.uploaded, before.uploaded, "nothing uploaded twice");
    assert_eq!(after.reused, before.reused + 3);
    assert_eq!(
        raw_keys(store, "blake3").len(),
        3,
        "{:?}",
        raw_keys(store, "blake3")
    );

    // A published model: the files under their names, copied server-side.
    let published = store.publish_model(&release(&model, "1")).unwrap();
    let uri = published.uri.clone().unwrap();
    assert!(uri.ends_with("/models/churn/1/"), "{uri}");
    assert_eq!(store.transfers().uploaded, before.uploaded);
    let names: Vec<String> = raw_keys(store, "models/churn/1")
        .into_iter()
        .map(|key| key.rsplit("models/churn/1/").next().unwrap().to_owned())
        .collect();
    assert_eq!(names, ["config.json", "sub/vocab.txt", "weights.bin"]);
    assert_eq!(published.files, refs);

    // get_all fetches a whole model, verified.
    store.get_all(&refs, &work.path().join("all")).unwrap();
    same_files(&read_tree(&work.path().join("all")), &model.files);

    // An upload cut off midway (after the first part) leaves nothing under its key.
    let weights = &model.files[2].1;
    let digest = blake3::hash(weights).to_hex().to_string();
    let fresh = bytes(weights.len(), 99);
    let fresh_digest = blake3::hash(&fresh).to_hex().to_string();
    let mut broken = Broken {
        content: io::Cursor::new(fresh.clone()),
        good: PART_SIZE as u64 + (1 << 20),
        stall: None,
    };
    let error = store
        .put_verified(
            "weights.bin",
            &mut broken,
            &fresh_digest,
            fresh.len() as u64,
        )
        .unwrap_err();
    assert!(matches!(error, StoreError::Io { .. }), "{error}");
    assert!(!store.exists(&fresh_digest).unwrap());
    // Bytes that do not hash to the claimed digest are not stored either.
    let mut wrong = io::Cursor::new(fresh.clone());
    let claimed = blake3::hash(b"something else").to_hex().to_string();
    let error = store
        .put_verified("weights.bin", &mut wrong, &claimed, fresh.len() as u64)
        .unwrap_err();
    assert!(matches!(error, StoreError::Changed { .. }), "{error}");
    assert!(!store.exists(&claimed).unwrap());
    assert_eq!(raw_keys(store, "blake3").len(), 3);

    // A corrupted object is refused and nothing is written.
    tamper(store, &digest);
    let out = work.path().join("corrupt/weights.bin");
    let error = store.get(&digest, &out).unwrap_err();
    assert!(matches!(error, StoreError::Corrupt { .. }), "{error}");
    assert!(!out.exists() && read_tree(&work.path().join("corrupt")).is_empty());
    let error = store
        .get_all(&refs, &work.path().join("partial"))
        .unwrap_err();
    assert!(matches!(error, StoreError::Corrupt { .. }), "{error}");
    assert!(
        read_tree(&work.path().join("partial")).is_empty(),
        "no file of a failed fetch"
    );
    // Storing the good bytes again replaces the damaged object.
    store
        .put("weights.bin", &model.folder.join("weights.bin"))
        .unwrap();
    store.get(&digest, &out).unwrap();
    assert!(std::fs::read(&out).unwrap() == *weights);

    let missing = blake3::hash(b"never stored").to_hex().to_string();
    assert!(matches!(
        store.get(&missing, &work.path().join("missing")),
        Err(StoreError::NotFound { .. })
    ));
    (model, refs, uri)
}

#[test]
fn a_file_url_store_keeps_objects_whole_verified_and_deduplicated() {
    let temp = tempfile::tempdir().unwrap();
    let url = format!("file://{}/store", temp.path().display());
    let store = ObjectStoreArtifacts::open(&StoreUrl::parse(&url).unwrap(), &Env::empty()).unwrap();
    let (_, _, uri) = exercise_object_store(&store);
    assert_eq!(uri, format!("{url}/models/churn/1/"));
    // No temporary file is left beside the objects.
    let leftovers = read_tree(&temp.path().join("store"))
        .into_iter()
        .filter(|(name, _)| !name.starts_with("blake3/") && !name.starts_with("models/"))
        .count();
    assert_eq!(leftovers, 0);
}

#[test]
fn azure_blob_storage_on_azurite() {
    let Some(azurite) = Azurite::start() else {
        return;
    };
    let Some(python) = python() else { return };
    let started = Instant::now();
    let endpoint = azurite.endpoint.clone();
    azurite.create_container("models");

    let env = Env::empty()
        .with("AZURE_STORAGE_ACCOUNT_NAME", "devstoreaccount1")
        .with("AZURE_STORAGE_ACCOUNT_KEY", AZURITE_KEY)
        .with("AZURE_STORAGE_ENDPOINT", &endpoint)
        .with("AZURE_ALLOW_HTTP", "true");
    let store = trainyard_store::ObjectStoreArtifacts::open(
        &StoreUrl::parse("az://models/team-a").unwrap(),
        &env,
    )
    .unwrap();
    let (model, _, uri) = exercise_object_store(&store);
    assert_eq!(uri, format!("{endpoint}/models/team-a/models/churn/1/"));

    // kserve-storage downloads the published folder. Its Azure path only
    // knows https://<account>.blob.core.windows.net; the one thing changed is
    // the account URL its parser returns, pointed at Azurite.
    let out = tempfile::tempdir().unwrap();
    let kserve_uri = uri.replace(&endpoint, "https://devstoreaccount1.blob.core.windows.net");
    let script = "import sys\nfrom kserve_storage import Storage\nparse = Storage._parse_azure_uri\ndef local(uri):\n    account, _, container, prefix = parse(uri)\n    return account, sys.argv[3], container, prefix\nStorage._parse_azure_uri = staticmethod(local)\nStorage.download(sys.argv[1], sys.argv[2])\n";
    let output = Command::new(&python)
        .args([
            "-c",
            script,
            &kserve_uri,
            &out.path().display().to_string(),
            &endpoint,
        ])
        .env("AZURE_STORAGE_ACCESS_KEY", AZURITE_KEY)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "kserve-storage: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    same_files(&read_tree(out.path()), &model.files);
    eprintln!("azure: {:.1} s", started.elapsed().as_secs_f64());
}

#[test]
fn s3_on_moto() {
    let Some(moto) = Moto::start() else {
        return;
    };
    let Some(python) = python() else { return };
    let started = Instant::now();
    let endpoint = moto.endpoint.clone();
    moto.create_bucket("models");

    let env = Env::empty()
        .with("AWS_ACCESS_KEY_ID", "testing")
        .with("AWS_SECRET_ACCESS_KEY", "testing")
        .with("AWS_REGION", "us-east-1")
        .with("AWS_ENDPOINT", &endpoint)
        .with("AWS_ALLOW_HTTP", "true");
    let url = StoreUrl::parse("s3://models/team-a").unwrap();
    let store = ObjectStoreArtifacts::open(&url, &env).unwrap();
    let (model, _, uri) = exercise_object_store(&store);
    assert_eq!(uri, "s3://models/team-a/models/churn/1/");

    // kserve-storage downloads the published prefix.
    let out = tempfile::tempdir().unwrap();
    let output = Command::new(&python)
        .args([
            "-c",
            "import sys\nfrom kserve_storage import Storage\nStorage.download(sys.argv[1], sys.argv[2])",
            &uri,
            &out.path().display().to_string(),
        ])
        .env("AWS_ENDPOINT_URL", &endpoint)
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("AWS_DEFAULT_REGION", "us-east-1")
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "kserve-storage: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    same_files(&read_tree(out.path()), &model.files);

    // A process killed in the middle of a multipart upload leaves nothing visible.
    let marker = tempfile::tempdir().unwrap();
    let marker = marker.path().join("first-part-sent");
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "killed_upload_child", "--nocapture"])
        .env("TRAINYARD_TEST_KILL_ENDPOINT", &endpoint)
        .env("TRAINYARD_TEST_KILL_MARKER", &marker)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    while !marker.exists() {
        if child.try_wait().unwrap().is_some() {
            let mut stderr = String::new();
            child
                .stderr
                .take()
                .unwrap()
                .read_to_string(&mut stderr)
                .unwrap();
            panic!("the uploading child ended early: {stderr}");
        }
        assert!(
            Instant::now() < deadline,
            "the child never sent its first part"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    // Give the first part time to reach the server, then kill by pid.
    std::thread::sleep(Duration::from_millis(500));
    child.kill().unwrap();
    child.wait().unwrap();
    let (content, digest) = killed_upload_content();
    assert!(
        !store.exists(&digest).unwrap(),
        "a killed upload is never visible"
    );
    assert_eq!(raw_keys(&store, "blake3").len(), 3);
    drop(content);
    eprintln!("s3: {:.1} s", started.elapsed().as_secs_f64());
}

fn killed_upload_content() -> (Vec<u8>, String) {
    let content = bytes(PART_SIZE * 2, 1234);
    let digest = blake3::hash(&content).to_hex().to_string();
    (content, digest)
}

/// Run by `s3_on_moto` as a child process that it kills mid-upload; does
/// nothing otherwise.
#[test]
fn killed_upload_child() {
    let (Ok(endpoint), Ok(marker)) = (
        std::env::var("TRAINYARD_TEST_KILL_ENDPOINT"),
        std::env::var("TRAINYARD_TEST_KILL_MARKER"),
    ) else {
        return;
    };
    let env = Env::empty()
        .with("AWS_ACCESS_KEY_ID", "testing")
        .with("AWS_SECRET_ACCESS_KEY", "testing")
        .with("AWS_REGION", "us-east-1")
        .with("AWS_ENDPOINT", endpoint)
        .with("AWS_ALLOW_HTTP", "true");
    let store =
        ObjectStoreArtifacts::open(&StoreUrl::parse("s3://models/team-a").unwrap(), &env).unwrap();
    let (content, digest) = killed_upload_content();
    let size = content.len() as u64;
    let mut source = Broken {
        content: io::Cursor::new(content),
        good: PART_SIZE as u64 + (1 << 20),
        stall: Some((PathBuf::from(marker), Duration::from_mins(1))),
    };
    let _ = store.put_verified("big.bin", &mut source, &digest, size);
}

// ------------------------------------------------------------ registries

#[test]
fn oci_artifacts_in_a_docker_distribution_registry() {
    let storage = tempfile::tempdir().unwrap();
    let Some(registry) = Registry::start(storage.path()) else {
        return;
    };
    let Some(python) = python() else { return };
    let started = Instant::now();
    let url = StoreUrl::parse(&format!("oci://{}/acme/churn", registry.address)).unwrap();
    let store = OciArtifacts::open(&url, &Env::empty()).unwrap();
    let model = model(11);
    let work = tempfile::tempdir().unwrap();

    // Publish: one artifact, tagged with the version, pinned by digest.
    let published = store.publish_model(&release(&model, "1")).unwrap();
    let manifest = published.manifest_digest.clone().unwrap();
    assert_eq!(
        published.uri.as_deref(),
        Some(store.manifest_uri(&manifest).as_str())
    );
    let blobs = storage.path().join("data/docker/registry/v2/blobs/sha256");
    let count_blobs = || {
        std::fs::read_dir(&blobs)
            .unwrap()
            .flat_map(|shard| std::fs::read_dir(shard.unwrap().path()).unwrap())
            .count()
    };
    let after_first = count_blobs();
    // 3 files + the empty config; manifests are blobs too (3 file tags + the model).
    assert_eq!(after_first, 3 + 1 + 4);

    // Pulled by tag and by digest: identical bytes, verified.
    store.pull_model("1", &work.path().join("by-tag")).unwrap();
    same_files(&read_tree(&work.path().join("by-tag")), &model.files);
    let files = store
        .pull_model(&manifest, &work.path().join("by-digest"))
        .unwrap();
    assert_eq!(files, published.files);
    same_files(&read_tree(&work.path().join("by-digest")), &model.files);
    // Each file by its BLAKE3 too (what the ledger records).
    for artifact in &published.files {
        assert!(store.exists(&artifact.digest).unwrap());
    }
    store
        .get_all(&published.files, &work.path().join("get-all"))
        .unwrap();
    same_files(&read_tree(&work.path().join("get-all")), &model.files);

    // The same files as version 2: only the new manifest is stored.
    store.publish_model(&release(&model, "2")).unwrap();
    assert_eq!(count_blobs(), after_first + 1, "no file uploaded twice");

    // oras pulls the artifact: same files, same bytes.
    let out = tempfile::tempdir().unwrap();
    let output = Command::new(&python)
        .args([
            "-c",
            "import sys, oras.client\nclient = oras.client.OrasClient(insecure=True)\nclient.pull(target=sys.argv[1], outdir=sys.argv[2])",
            &format!("{}/acme/churn:1", registry.address),
            &out.path().display().to_string(),
        ])
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "oras: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    same_files(&read_tree(out.path()), &model.files);

    // An upload cut off midway leaves no blob and no tag.
    let fresh = bytes(PART_SIZE, 5);
    let sha256 = format!("sha256:{}", sha256_hex(&fresh));
    let client = oci_client::Client::new(oci_client::client::ClientConfig {
        protocol: oci_client::client::ClientProtocol::Http,
        ..Default::default()
    });
    let image = oci_client::Reference::with_tag(
        registry.address.clone(),
        "acme/churn".to_owned(),
        "3".to_owned(),
    );
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let first = bytes::Bytes::copy_from_slice(&fresh[..5 << 20]);
    let chunks = futures_util::stream::iter(vec![
        Ok(first),
        Err(oci_client::errors::OciDistributionError::IoError(
            io::Error::other("killed"),
        )),
    ]);
    let pushed = runtime.block_on(client.push_blob_stream(&image, chunks, &sha256, None));
    assert!(pushed.is_err());
    assert!(
        !runtime
            .block_on(client.blob_exists(&image, &sha256))
            .unwrap()
    );
    assert_eq!(count_blobs(), after_first + 1);

    // A corrupted blob is refused and nothing is written.
    let weights = published
        .files
        .iter()
        .find(|f| f.path == "weights.bin")
        .unwrap();
    let weights_sha = format!("sha256:{}", sha256_hex(&model.files[2].1));
    let data = blobs
        .join(&weights_sha[7..9])
        .join(&weights_sha[7..])
        .join("data");
    let mut tampered = std::fs::read(&data).unwrap();
    tampered[1000] ^= 0xff;
    std::fs::write(&data, tampered).unwrap();
    let error = store
        .pull_model("1", &work.path().join("corrupt"))
        .unwrap_err();
    assert!(matches!(error, StoreError::Corrupt { .. }), "{error}");
    assert!(
        read_tree(&work.path().join("corrupt")).is_empty(),
        "nothing written"
    );
    let error = store
        .get(&weights.digest, &work.path().join("one/weights.bin"))
        .unwrap_err();
    assert!(matches!(error, StoreError::Corrupt { .. }), "{error}");
    assert!(!work.path().join("one/weights.bin").exists());
    eprintln!("oci: {:.1} s", started.elapsed().as_secs_f64());
}

fn sha256_hex(content: &[u8]) -> String {
    use sha2::Digest as _;
    use std::fmt::Write as _;
    sha2::Sha256::digest(content)
        .iter()
        .fold(String::new(), |mut text, byte| {
            write!(text, "{byte:02x}").unwrap();
            text
        })
}

// --------------------------------------------------------------- datasets

#[test]
fn datasets_are_listed_by_glob_and_streamed_from_s3() {
    let Some(moto) = Moto::start() else {
        return;
    };
    let endpoint = moto.endpoint.clone();
    moto.create_bucket("data");
    let env = Env::empty()
        .with("AWS_ACCESS_KEY_ID", "testing")
        .with("AWS_SECRET_ACCESS_KEY", "testing")
        .with("AWS_ENDPOINT", &endpoint)
        .with("AWS_ALLOW_HTTP", "true");
    // Objects written through a store rooted at the dataset's prefix.
    let writer =
        ObjectStoreArtifacts::open(&StoreUrl::parse("s3://data/sales").unwrap(), &env).unwrap();
    let (raw, _) = writer.raw();
    let big = bytes(3 << 20, 3);
    for (key, content) in [
        ("sales/2024/a.parquet", big.clone()),
        ("sales/2024/b.parquet", b"b".to_vec()),
        ("sales/2024/notes.txt", b"n".to_vec()),
        ("sales/2024/deep/c.parquet", b"c".to_vec()),
    ] {
        use object_store::ObjectStoreExt;
        writer
            .block_on(raw.put(
                &object_store::path::Path::parse(key).unwrap(),
                content.into(),
            ))
            .unwrap();
    }
    let dataset =
        trainyard_store::RemoteDataset::open("s3://data/sales/2024/*.parquet", &env).unwrap();
    let objects = dataset.list().unwrap();
    let keys: Vec<&str> = objects.iter().map(|o| o.key.as_str()).collect();
    assert_eq!(keys, ["a.parquet", "b.parquet"]);
    assert_eq!(objects[0].size, big.len() as u64);
    assert!(objects[0].etag.is_some());
    assert_eq!(objects[0].url, "s3://data/sales/2024/a.parquet");
    let mut read = Vec::new();
    dataset
        .reader(&objects[0])
        .unwrap()
        .read_to_end(&mut read)
        .unwrap();
    assert!(read == big);
    let deep = trainyard_store::RemoteDataset::open("s3://data/sales/**/*.parquet", &env).unwrap();
    assert_eq!(deep.list().unwrap().len(), 3);
    // A URL without a glob names one object, or every object below a prefix.
    let one = trainyard_store::RemoteDataset::open("s3://data/sales/2024/b.parquet", &env).unwrap();
    let listed = one.list().unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].url, "s3://data/sales/2024/b.parquet");
    let mut read = Vec::new();
    one.reader(&listed[0])
        .unwrap()
        .read_to_end(&mut read)
        .unwrap();
    assert_eq!(read, b"b");
    let prefix = trainyard_store::RemoteDataset::open("s3://data/sales/2024", &env).unwrap();
    assert_eq!(prefix.list().unwrap().len(), 4);
    let none = trainyard_store::RemoteDataset::open("s3://data/sales/2025", &env).unwrap();
    assert!(none.list().unwrap().is_empty());
}
