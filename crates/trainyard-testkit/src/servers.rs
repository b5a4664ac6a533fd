//! Real servers on 127.0.0.1 for tests, each stopped by its own pid when
//! dropped, pass or fail: any server ([`Server::start`]: Azurite, a Docker
//! distribution registry in `trainyard-store`'s tests) and moto's S3 server
//! with a bucket ([`moto_s3`]; `.venv/bin/moto_server`, from `.ci/test`).

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A port nothing listens on now.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A server process, killed by its own pid when dropped.
#[derive(Debug)]
pub struct Server {
    name: &'static str,
    child: Child,
    pub port: u16,
}

impl Server {
    /// Starts `command` and waits (up to 30 s) until `port` takes connections.
    pub fn start(name: &'static str, command: &mut Command, port: u16) -> Self {
        let child = command
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|error| panic!("starting {name}: {error}"));
        let mut server = Self { name, child, port };
        let deadline = Instant::now() + Duration::from_secs(30);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            if let Some(status) = server.child.try_wait().unwrap() {
                panic!("{name} exited before it listened: {status}");
            }
            assert!(
                Instant::now() < deadline,
                "{name} did not listen on {port} within 30 s"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        server
    }

    /// `http://127.0.0.1:<port>`.
    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        // Child::kill signals this pid only.
        if let Err(error) = self.child.kill() {
            eprintln!("stopping {}: {error}", self.name);
        }
        let _ = self.child.wait();
    }
}

/// moto's S3 server (`moto_server` at `executable`) with the bucket `bucket` created.
pub fn moto_s3(executable: &Path, bucket: &str) -> Server {
    let port = free_port();
    let server = Server::start(
        "moto",
        Command::new(executable).args(["-H", "127.0.0.1", "-p", &port.to_string()]),
        port,
    );
    // moto takes an unsigned request to create a bucket.
    let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
    write!(
        stream,
        "PUT /{bucket} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    server
}

/// The variables an S3 client needs to reach `server` with moto's test keys,
/// both as `object_store` (trainyard) and as boto3 (KServe) name them.
pub fn moto_env(server: &Server) -> Vec<(&'static str, String)> {
    let endpoint = server.endpoint();
    vec![
        ("AWS_ACCESS_KEY_ID", "testing".to_owned()),
        ("AWS_SECRET_ACCESS_KEY", "testing".to_owned()),
        ("AWS_REGION", "us-east-1".to_owned()),
        ("AWS_DEFAULT_REGION", "us-east-1".to_owned()),
        ("AWS_ENDPOINT", endpoint.clone()),
        ("AWS_ALLOW_HTTP", "true".to_owned()),
        ("AWS_ENDPOINT_URL", endpoint),
    ]
}
