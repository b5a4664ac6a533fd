//! Servers for tests, started on 127.0.0.1 and stopped by their own pid when
//! dropped, pass or fail: Azurite (npm) for `az://`, moto's server (PyPI
//! `moto[server]`) for `s3://`, a Docker distribution registry (Debian
//! `docker-registry`) for `oci://`, and an MLflow tracking server (PyPI
//! `mlflow`) for the MLflow ledger.
//!
//! Tools come from `.ci/test`: tests/support/node_modules (Azurite), .venv
//! (moto, the Azure and AWS Python SDKs), /usr/bin/docker-registry. Without
//! one, `start` answers `None` and the test is skipped on a developer's
//! machine; under CI (`CI=true`) a missing tool fails the test instead.
//! Objects are uploaded with the clouds' own Python SDKs, so what trainyard
//! reads was written by an independent client.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The workspace's root folder.
pub fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// `path` if it exists; otherwise `None` (the test is skipped), except under
/// CI, where a missing tool fails the test.
pub fn tool(path: &Path) -> Option<PathBuf> {
    if path.exists() {
        return Some(path.to_path_buf());
    }
    assert!(
        std::env::var("CI").map_or(true, |ci| ci != "true"),
        "{} is missing under CI: .ci/test installs it",
        path.display()
    );
    eprintln!(
        "skipped: {} is missing (run .ci/test to install it)",
        path.display()
    );
    None
}

/// The project's Python (`.venv/bin/python`), with moto and the SDKs.
pub fn python() -> Option<PathBuf> {
    tool(&repo().join(".venv/bin/python"))
}

/// A port nothing listens on now.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A server process, killed by its own pid when dropped (with the processes
/// it started, for a server started with [`Server::start_group`]).
#[derive(Debug)]
pub struct Server {
    name: &'static str,
    child: Child,
    /// Whether the server leads its own process group (its pid is the group's id).
    group: bool,
}

impl Server {
    /// Starts `command` and waits (30 s at most) until it listens on `port`.
    pub fn start(name: &'static str, command: &mut Command, port: u16) -> Self {
        Self::spawn(name, command, port, false, Duration::from_secs(30))
    }

    /// [`Self::start`] for a server that starts workers of its own (mlflow
    /// runs uvicorn): it leads a new process group, killed whole when
    /// dropped. It may take `wait` to listen (Python servers start slowly
    /// on a loaded machine).
    pub fn start_group(
        name: &'static str,
        command: &mut Command,
        port: u16,
        wait: Duration,
    ) -> Self {
        std::os::unix::process::CommandExt::process_group(&mut *command, 0);
        Self::spawn(name, command, port, true, wait)
    }

    fn spawn(
        name: &'static str,
        command: &mut Command,
        port: u16,
        group: bool,
        wait: Duration,
    ) -> Self {
        let child = command
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|error| panic!("starting {name}: {error}"));
        let mut server = Self { name, child, group };
        let deadline = Instant::now() + wait;
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            if let Some(status) = server.child.try_wait().unwrap() {
                panic!("{name} exited before it listened: {status}");
            }
            assert!(
                Instant::now() < deadline,
                "{name} did not listen on {port} within {} s",
                wait.as_secs()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        server
    }

    /// The server's process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if self.group {
            // The group this server leads, by its id: the server and its workers.
            let _ = Command::new("kill")
                .args(["-KILL", "--", &format!("-{}", self.child.id())])
                .status();
        }
        // Child::kill signals this pid only.
        if let Err(error) = self.child.kill() {
            eprintln!("stopping {}: {error}", self.name);
        }
        let _ = self.child.wait();
    }
}

/// Runs a Python script with arguments and extra variables; panics with its
/// stderr when it fails.
fn run_python(python: &Path, script: &str, args: &[&str], env: &[(String, String)]) {
    python_output(python, script, args, env);
}

/// [`run_python`], answering what the script printed.
fn python_output(python: &Path, script: &str, args: &[&str], env: &[(String, String)]) -> String {
    let output = Command::new(python)
        .arg("-c")
        .arg(script)
        .args(args)
        .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "python: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// Azurite's well-known development account.
pub const AZURITE_ACCOUNT: &str = "devstoreaccount1";
/// Azurite's well-known development key (public, not a secret).
pub const AZURITE_KEY: &str =
    "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";

/// Azurite's blob service, in memory.
#[derive(Debug)]
pub struct Azurite {
    _server: Server,
    python: PathBuf,
    /// `http://127.0.0.1:PORT/devstoreaccount1`
    pub endpoint: String,
}

impl Azurite {
    /// Starts Azurite, or `None` when it is not installed (see the module doc).
    pub fn start() -> Option<Self> {
        let azurite = tool(&repo().join("tests/support/node_modules/.bin/azurite-blob"))?;
        let python = python()?;
        let port = free_port();
        let server = Server::start(
            "azurite",
            Command::new(azurite).args([
                "--blobHost",
                "127.0.0.1",
                "--blobPort",
                &port.to_string(),
                "--inMemoryPersistence",
                "--skipApiVersionCheck",
                "--loose",
                "--silent",
            ]),
            port,
        );
        Some(Self {
            _server: server,
            python,
            endpoint: format!("http://127.0.0.1:{port}/{AZURITE_ACCOUNT}"),
        })
    }

    /// The connection string the Azure SDKs take.
    pub fn connection_string(&self) -> String {
        format!(
            "DefaultEndpointsProtocol=http;AccountName={AZURITE_ACCOUNT};AccountKey={AZURITE_KEY};BlobEndpoint={};",
            self.endpoint
        )
    }

    /// The variables trainyard reads to reach this Azurite (docs/storage.md).
    pub fn env(&self) -> Vec<(String, String)> {
        [
            ("AZURE_STORAGE_ACCOUNT_NAME", AZURITE_ACCOUNT),
            ("AZURE_STORAGE_ACCOUNT_KEY", AZURITE_KEY),
            ("AZURE_STORAGE_ENDPOINT", self.endpoint.as_str()),
            ("AZURE_ALLOW_HTTP", "true"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect()
    }

    /// Creates a container with azure-storage-blob.
    pub fn create_container(&self, container: &str) {
        run_python(
            &self.python,
            "import sys\nfrom azure.storage.blob import BlobServiceClient\nBlobServiceClient.from_connection_string(sys.argv[1]).create_container(sys.argv[2])",
            &[&self.connection_string(), container],
            &[],
        );
    }

    /// Uploads `file` as `container/key` with azure-storage-blob (overwriting).
    pub fn upload(&self, container: &str, key: &str, file: &Path) {
        run_python(
            &self.python,
            "import sys\nfrom azure.storage.blob import BlobServiceClient\nc = BlobServiceClient.from_connection_string(sys.argv[1]).get_blob_client(sys.argv[2], sys.argv[3])\nwith open(sys.argv[4], 'rb') as f:\n    c.upload_blob(f, overwrite=True)",
            &[
                &self.connection_string(),
                container,
                key,
                &file.display().to_string(),
            ],
            &[],
        );
    }
}

/// moto's S3 server, in memory.
#[derive(Debug)]
pub struct Moto {
    _server: Server,
    python: PathBuf,
    port: u16,
    /// `http://127.0.0.1:PORT`
    pub endpoint: String,
}

impl Moto {
    /// Starts moto, or `None` when it is not installed (see the module doc).
    pub fn start() -> Option<Self> {
        let moto = tool(&repo().join(".venv/bin/moto_server"))?;
        let python = python()?;
        let port = free_port();
        let server = Server::start(
            "moto",
            Command::new(moto).args(["-H", "127.0.0.1", "-p", &port.to_string()]),
            port,
        );
        Some(Self {
            _server: server,
            python,
            port,
            endpoint: format!("http://127.0.0.1:{port}"),
        })
    }

    /// The variables trainyard (docs/storage.md) and boto3 read to reach this moto.
    pub fn env(&self) -> Vec<(String, String)> {
        [
            ("AWS_ACCESS_KEY_ID", "testing"),
            ("AWS_SECRET_ACCESS_KEY", "testing"),
            ("AWS_REGION", "us-east-1"),
            ("AWS_ENDPOINT", self.endpoint.as_str()),
            ("AWS_ALLOW_HTTP", "true"),
            // The same for boto3 (kserve-storage, the benches' SDK runs).
            ("AWS_DEFAULT_REGION", "us-east-1"),
            ("AWS_ENDPOINT_URL", self.endpoint.as_str()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect()
    }

    /// Creates a bucket (moto takes an unsigned request).
    pub fn create_bucket(&self, bucket: &str) {
        let port = self.port;
        let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
        write!(
            stream,
            "PUT /{bucket} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
        )
        .unwrap();
        let mut answer = String::new();
        stream.read_to_string(&mut answer).unwrap();
        assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    }

    /// Uploads `file` as `bucket/key` with boto3.
    pub fn upload(&self, bucket: &str, key: &str, file: &Path) {
        let env = [
            ("AWS_ACCESS_KEY_ID", "testing"),
            ("AWS_SECRET_ACCESS_KEY", "testing"),
            ("AWS_DEFAULT_REGION", "us-east-1"),
        ]
        .map(|(k, v)| (k.to_owned(), v.to_owned()));
        run_python(
            &self.python,
            "import sys, boto3\nboto3.client('s3', endpoint_url=sys.argv[1]).upload_file(sys.argv[4], sys.argv[2], sys.argv[3])",
            &[&self.endpoint, bucket, key, &file.display().to_string()],
            &env,
        );
    }
}

/// A Docker distribution registry storing in `root`.
#[derive(Debug)]
pub struct Registry {
    _server: Server,
    /// `127.0.0.1:PORT`
    pub address: String,
}

impl Registry {
    /// Starts `/usr/bin/docker-registry` with its storage in `root`, or
    /// `None` when it is not installed (see the module doc).
    pub fn start(root: &Path) -> Option<Self> {
        let registry = tool(Path::new("/usr/bin/docker-registry"))?;
        let port = free_port();
        let config = root.join("config.yml");
        std::fs::write(
            &config,
            format!(
                "version: 0.1\nlog:\n  level: error\n  accesslog:\n    disabled: true\nstorage:\n  filesystem:\n    rootdirectory: {}\n  delete:\n    enabled: true\nhttp:\n  addr: 127.0.0.1:{port}\n",
                root.join("data").display()
            ),
        )
        .unwrap();
        let server = Server::start(
            "docker-registry",
            Command::new(registry).arg("serve").arg(&config),
            port,
        );
        Some(Self {
            _server: server,
            address: format!("127.0.0.1:{port}"),
        })
    }
}

/// An MLflow tracking server: SQLite backend store and proxied artifacts
/// (`--serve-artifacts`) in `root`, telemetry off.
#[derive(Debug)]
pub struct Mlflow {
    _server: Server,
    python: PathBuf,
    /// `http://127.0.0.1:PORT`
    pub uri: String,
}

/// How long mlflow may take to start: its imports take seconds, minutes on
/// a loaded shared machine.
const MLFLOW_START: Duration = Duration::from_mins(5);

/// The variables that keep MLflow (server and Python client) offline.
const MLFLOW_OFFLINE: [(&str, &str); 3] = [
    ("DO_NOT_TRACK", "true"),
    ("MLFLOW_DISABLE_TELEMETRY", "true"),
    // No background job runner (huey consumers): nothing here uses it.
    ("MLFLOW_SERVER_ENABLE_JOB_EXECUTION", "false"),
];

impl Mlflow {
    /// Starts `.venv/bin/mlflow server` with its database and artifacts in
    /// `root` and waits (5 minutes at most) until `/health` answers, or `None`
    /// when mlflow is not installed (see the module doc).
    pub fn start(root: &Path) -> Option<Self> {
        let mlflow = tool(&repo().join(".venv/bin/mlflow"))?;
        let python = python()?;
        let port = free_port();
        let mut command = Command::new(mlflow);
        command
            .arg("server")
            .arg("--backend-store-uri")
            .arg(format!("sqlite:///{}", root.join("mlflow.db").display()))
            .arg("--serve-artifacts")
            .arg("--artifacts-destination")
            .arg(root.join("artifacts"))
            .args(["--host", "127.0.0.1", "--port", &port.to_string()])
            // Two workers: requests really run in parallel (and SQLite locks).
            .args(["--workers", "2"])
            .envs(MLFLOW_OFFLINE)
            .env_remove("MLFLOW_TRACKING_URI")
            .current_dir(root);
        let server = Server::start_group("mlflow", &mut command, port, MLFLOW_START);
        let deadline = Instant::now() + MLFLOW_START;
        while !http_ok(port, "/health") {
            assert!(
                Instant::now() < deadline,
                "mlflow did not answer /health on {port} within {} s",
                MLFLOW_START.as_secs()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        Some(Self {
            _server: server,
            python,
            uri: format!("http://127.0.0.1:{port}"),
        })
    }

    /// Runs `script` with the project's Python, `MLFLOW_TRACKING_URI` set to
    /// this server (MLflow's own client reads it), and answers its output.
    pub fn python(&self, script: &str, args: &[&str]) -> String {
        let mut env: Vec<(String, String)> = MLFLOW_OFFLINE
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        env.push(("MLFLOW_TRACKING_URI".to_owned(), self.uri.clone()));
        python_output(&self.python, script, args, &env)
    }
}

/// Whether `GET path` on 127.0.0.1:`port` answers 200.
fn http_ok(port: u16, path: &str) -> bool {
    let Ok(mut stream) = TcpStream::connect(("127.0.0.1", port)) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
    if write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n"
    )
    .is_err()
    {
        return false;
    }
    let mut answer = String::new();
    let _ = stream.read_to_string(&mut answer);
    answer.starts_with("HTTP/1.1 200") || answer.starts_with("HTTP/1.0 200")
}
