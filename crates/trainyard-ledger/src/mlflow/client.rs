//! MLflow's REST API 2.0 over HTTP: credentials, errors a person can act on,
//! and bounded retries of what a busy server answers (5xx, 429, SQLite's
//! "database is locked", MLflow's #4123) or a dropped connection.

use std::fmt;
use std::time::Duration;

use serde_json::Value;

use crate::LedgerError;

/// How many times a request is tried before the error is returned.
const ATTEMPTS: u32 = 10;
/// The first wait between attempts; it doubles each time, up to [`MAX_BACKOFF`].
const FIRST_BACKOFF: Duration = Duration::from_millis(100);
const MAX_BACKOFF: Duration = Duration::from_secs(5);

/// What MLflow's stores answer (as 400s) when busy or when concurrent writes
/// collide: SQLite's lock (MLflow's #4123), SQLAlchemy's connection pool
/// exhausted by many clients at once, and a unique key inserted by two
/// writers of the same run at once (SQLite, PostgreSQL, MySQL), which the
/// retry finds written.
const CONFLICTS: [&str; 5] = [
    "database is locked",
    "QueuePool limit of size",
    "UNIQUE constraint failed",
    "duplicate key value violates unique constraint",
    "Duplicate entry",
];

/// How trainyard signs in to the MLflow server, from the variables MLflow's
/// own client reads. Its `Debug` never shows a secret.
#[derive(Clone, Default, PartialEq, Eq)]
pub enum MlflowCredentials {
    /// No `Authorization` header (a server without authentication).
    #[default]
    None,
    /// `MLFLOW_TRACKING_TOKEN`: `Authorization: Bearer <token>`.
    Token(String),
    /// `MLFLOW_TRACKING_USERNAME` and `MLFLOW_TRACKING_PASSWORD`: HTTP basic authentication.
    Basic { username: String, password: String },
}

impl MlflowCredentials {
    /// The credentials the environment names through `get` (`std::env::var`
    /// in the binary): `MLFLOW_TRACKING_TOKEN` first, else
    /// `MLFLOW_TRACKING_USERNAME` with `MLFLOW_TRACKING_PASSWORD`; empty
    /// values count as unset.
    pub fn from_env(get: impl Fn(&str) -> Option<String>) -> Self {
        let get = |name: &str| get(name).filter(|value| !value.is_empty());
        if let Some(token) = get("MLFLOW_TRACKING_TOKEN") {
            return Self::Token(token);
        }
        match (
            get("MLFLOW_TRACKING_USERNAME"),
            get("MLFLOW_TRACKING_PASSWORD"),
        ) {
            (Some(username), password) => Self::Basic {
                username,
                password: password.unwrap_or_default(),
            },
            _ => Self::None,
        }
    }
}

impl fmt::Debug for MlflowCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::None => f.write_str("MlflowCredentials::None"),
            Self::Token(_) => f.write_str("MlflowCredentials::Token(***)"),
            // The user name is not a secret, and says which account is used.
            Self::Basic { username, .. } => f
                .debug_struct("MlflowCredentials::Basic")
                .field("username", username)
                .field("password", &"***")
                .finish(),
        }
    }
}

/// Whether a failed request may be sent again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Retry {
    /// Transient failures are retried with backoff.
    Transient,
    /// Sent once: the caller checks what happened before sending it again.
    Never,
}

/// A blocking MLflow REST client.
pub(crate) struct Client {
    http: reqwest::blocking::Client,
    /// `http(s)://host[:port][/prefix]`, without a trailing `/`.
    base: String,
    credentials: MlflowCredentials,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("server", &self.base)
            .field("credentials", &self.credentials)
            .finish_non_exhaustive()
    }
}

impl Client {
    pub(crate) fn new(uri: &str, credentials: MlflowCredentials) -> Result<Self, LedgerError> {
        let invalid = |reason: &str| LedgerError::MlflowUri {
            uri: trainyard_core::store_url::redact(uri),
            reason: reason.to_owned(),
        };
        let url = reqwest::Url::parse(uri).map_err(|error| invalid(&error.to_string()))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(invalid(
                "use the server's http:// or https:// address (`tracking.uri`)",
            ));
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(invalid(
                "credentials do not go in the URI (it is printed); set MLFLOW_TRACKING_TOKEN, or MLFLOW_TRACKING_USERNAME and MLFLOW_TRACKING_PASSWORD",
            ));
        }
        if url.query().is_some() || url.fragment().is_some() {
            return Err(invalid("remove the query (`?…`) and fragment (`#…`)"));
        }
        trainyard_store::install_crypto_provider();
        let http = reqwest::blocking::Client::builder()
            .connect_timeout(Duration::from_secs(10))
            .timeout(Duration::from_mins(2))
            .user_agent(concat!("trainyard/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|error| invalid(&format!("cannot build an HTTP client: {error}")))?;
        Ok(Self {
            http,
            base: url.as_str().trim_end_matches('/').to_owned(),
            credentials,
        })
    }

    /// The server's address, as messages show it (it holds no credentials).
    pub(crate) fn server(&self) -> &str {
        &self.base
    }

    /// `GET /api/2.0/mlflow/<endpoint>?<query>`.
    pub(crate) fn get(&self, endpoint: &str, query: &[(&str, &str)]) -> Result<Value, LedgerError> {
        let url = reqwest::Url::parse_with_params(&self.url(endpoint), query).map_err(|error| {
            LedgerError::MlflowUri {
                uri: self.base.clone(),
                reason: error.to_string(),
            }
        })?;
        self.send(endpoint, Retry::Transient, || self.http.get(url.clone()))
    }

    /// `POST /api/2.0/mlflow/<endpoint>` with a JSON body.
    pub(crate) fn post(
        &self,
        endpoint: &str,
        body: &Value,
        retry: Retry,
    ) -> Result<Value, LedgerError> {
        let url = self.url(endpoint);
        let body = body.to_string();
        self.send(endpoint, retry, || {
            self.http
                .post(&url)
                .header(reqwest::header::CONTENT_TYPE, "application/json")
                .body(body.clone())
        })
    }

    /// The address of REST endpoint `endpoint`.
    fn url(&self, endpoint: &str) -> String {
        format!("{}/api/2.0/mlflow/{endpoint}", self.base)
    }

    fn send(
        &self,
        endpoint: &str,
        retry: Retry,
        request: impl Fn() -> reqwest::blocking::RequestBuilder,
    ) -> Result<Value, LedgerError> {
        let mut attempt = 0;
        loop {
            attempt += 1;
            let failure = match self.authorize(request()).send() {
                Ok(response) => match self.answer(endpoint, response) {
                    Ok(value) => return Ok(value),
                    Err((error, transient)) => {
                        if !transient {
                            return Err(error);
                        }
                        error.to_string()
                    }
                },
                // Without the URL: reqwest's messages would repeat it, and it is in ours.
                Err(error) => error.without_url().to_string(),
            };
            if retry == Retry::Never || attempt >= ATTEMPTS {
                return Err(LedgerError::MlflowUnavailable {
                    server: self.base.clone(),
                    action: endpoint.to_owned(),
                    attempts: attempt,
                    message: failure,
                });
            }
            backoff(attempt);
        }
    }

    fn authorize(
        &self,
        request: reqwest::blocking::RequestBuilder,
    ) -> reqwest::blocking::RequestBuilder {
        match &self.credentials {
            MlflowCredentials::None => request,
            MlflowCredentials::Token(token) => request.bearer_auth(token),
            MlflowCredentials::Basic { username, password } => {
                request.basic_auth(username, Some(password))
            }
        }
    }

    /// The answer's JSON, or its error and whether it is worth retrying.
    fn answer(
        &self,
        endpoint: &str,
        response: reqwest::blocking::Response,
    ) -> Result<Value, (LedgerError, bool)> {
        let status = response.status();
        let text = response.text().map_err(|error| {
            (
                LedgerError::Mlflow {
                    server: self.base.clone(),
                    action: endpoint.to_owned(),
                    status: status.as_u16(),
                    code: String::new(),
                    message: format!("reading the answer: {}", error.without_url()),
                },
                true,
            )
        })?;
        if status.is_success() {
            if text.trim().is_empty() {
                return Ok(Value::Object(serde_json::Map::new()));
            }
            return serde_json::from_str(&text).map_err(|error| {
                (
                    LedgerError::MlflowCorrupt {
                        server: self.base.clone(),
                        message: format!("{endpoint} answered with invalid JSON: {error}"),
                    },
                    false,
                )
            });
        }
        if matches!(status.as_u16(), 401 | 403) {
            return Err((
                LedgerError::MlflowAuth {
                    server: self.base.clone(),
                    action: endpoint.to_owned(),
                    status: status.as_u16(),
                },
                false,
            ));
        }
        let parsed: Option<Value> = serde_json::from_str(&text).ok();
        let field = |name: &str| {
            parsed
                .as_ref()
                .and_then(|value| value.get(name))
                .and_then(Value::as_str)
                .map(str::to_owned)
        };
        let code = field("error_code").unwrap_or_default();
        let mut message = field("message").unwrap_or_else(|| text.trim().to_owned());
        if message.len() > 500 {
            let mut end = 500;
            while !message.is_char_boundary(end) {
                end -= 1;
            }
            message.truncate(end);
            message.push('…');
        }
        // "Already exists" is an answer (the caller reads it), not a collision to retry.
        let transient = code != "RESOURCE_ALREADY_EXISTS"
            && (status.is_server_error() || status.as_u16() == 429 || is_conflict(&message));
        Err((
            LedgerError::Mlflow {
                server: self.base.clone(),
                action: endpoint.to_owned(),
                status: status.as_u16(),
                code,
                message,
            },
            transient,
        ))
    }
}

/// Waits before attempt `attempt + 1`: exponential, capped, with jitter so
/// writers that collided do not collide again.
pub(crate) fn backoff(attempt: u32) {
    let base = FIRST_BACKOFF
        .saturating_mul(1 << attempt.saturating_sub(1).min(10))
        .min(MAX_BACKOFF);
    let jitter = u64::from_str_radix(&crate::id::random_hex(4), 16).unwrap_or(0);
    let millis = u64::try_from(base.as_millis()).unwrap_or(u64::MAX);
    std::thread::sleep(Duration::from_millis(
        millis / 2 + jitter % (millis / 2 + 1),
    ));
}

/// Whether MLflow's error `message` says concurrent writes collided (see [`CONFLICTS`]).
pub(crate) fn is_conflict(message: &str) -> bool {
    CONFLICTS.iter().any(|conflict| message.contains(conflict))
}

/// Whether `error` is MLflow's answer with error code `code`.
pub(crate) fn is_code(error: &LedgerError, code: &str) -> bool {
    matches!(error, LedgerError::Mlflow { code: found, .. } if found == code)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn env<'a>(vars: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
        |name| {
            vars.iter()
                .find(|(key, _)| *key == name)
                .map(|(_, value)| (*value).to_owned())
        }
    }

    #[test]
    fn credentials_come_from_mlflows_variables_token_first() {
        assert_eq!(
            MlflowCredentials::from_env(env(&[
                ("MLFLOW_TRACKING_TOKEN", "t0k3n"),
                ("MLFLOW_TRACKING_USERNAME", "ann"),
            ])),
            MlflowCredentials::Token("t0k3n".to_owned())
        );
        assert_eq!(
            MlflowCredentials::from_env(env(&[
                ("MLFLOW_TRACKING_TOKEN", ""),
                ("MLFLOW_TRACKING_USERNAME", "ann"),
                ("MLFLOW_TRACKING_PASSWORD", "s3cret"),
            ])),
            MlflowCredentials::Basic {
                username: "ann".to_owned(),
                password: "s3cret".to_owned()
            }
        );
        assert_eq!(
            MlflowCredentials::from_env(env(&[])),
            MlflowCredentials::None
        );
    }

    #[test]
    fn secrets_never_show_in_debug() {
        let token = MlflowCredentials::Token("t0k3n-secret".to_owned());
        let basic = MlflowCredentials::Basic {
            username: "ann".to_owned(),
            password: "pa55-secret".to_owned(),
        };
        for credentials in [token, basic] {
            let client = Client::new("https://mlflow.example.com/", credentials.clone()).unwrap();
            let shown = format!("{credentials:?} {client:?}");
            assert!(!shown.contains("secret"), "{shown}");
        }
    }

    /// A server on 127.0.0.1 answering `answers` in order (status, body), one
    /// connection each, and handing back each request's head.
    fn scripted(
        answers: Vec<(u16, &'static str)>,
    ) -> (String, std::thread::JoinHandle<Vec<String>>) {
        use std::io::{BufRead, BufReader, Read, Write};
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let handle = std::thread::spawn(move || {
            let mut heads = Vec::new();
            for (status, body) in answers {
                let (stream, _) = listener.accept().unwrap();
                let mut reader = BufReader::new(stream);
                let mut head = String::new();
                let mut length = 0;
                loop {
                    let mut line = String::new();
                    reader.read_line(&mut line).unwrap();
                    if let Some(value) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                        length = value.trim().parse().unwrap();
                    }
                    if line == "\r\n" {
                        break;
                    }
                    head.push_str(&line);
                }
                let mut request_body = vec![0; length];
                reader.read_exact(&mut request_body).unwrap();
                heads.push(head);
                write!(
                    reader.get_mut(),
                    "HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                )
                .unwrap();
            }
            heads
        });
        (url, handle)
    }

    #[test]
    fn a_locked_database_a_write_collision_or_a_5xx_is_retried_and_a_refusal_is_not() {
        let locked = r#"{"error_code": "INTERNAL_ERROR", "message": "(sqlite3.OperationalError) database is locked"}"#;
        let duplicate = r#"{"error_code": "BAD_REQUEST", "message": "(sqlite3.IntegrityError) UNIQUE constraint failed: params.key, params.run_uuid"}"#;
        let (url, server) = scripted(vec![
            (500, locked),
            (400, duplicate),
            (503, "Service Unavailable"),
            (200, r#"{"experiment_id": "7"}"#),
            (
                400,
                r#"{"error_code": "INVALID_PARAMETER_VALUE", "message": "bad name"}"#,
            ),
            (
                400,
                r#"{"error_code": "RESOURCE_ALREADY_EXISTS", "message": "Experiment(name=x) already exists. Error: (sqlite3.IntegrityError) UNIQUE constraint failed: experiments.name"}"#,
            ),
        ]);
        let client = Client::new(&url, MlflowCredentials::Token("t0k3n".to_owned())).unwrap();
        let answer = client
            .post(
                "experiments/create",
                &serde_json::json!({"name": "x"}),
                Retry::Transient,
            )
            .unwrap();
        assert_eq!(answer["experiment_id"], "7");
        let error = client
            .post(
                "experiments/create",
                &serde_json::json!({"name": "?"}),
                Retry::Transient,
            )
            .unwrap_err();
        assert!(is_code(&error, "INVALID_PARAMETER_VALUE"), "{error}");
        assert!(error.to_string().contains("bad name"), "{error}");
        // "Already exists" is an answer, though its message names a unique key.
        let exists = client
            .post(
                "experiments/create",
                &serde_json::json!({"name": "x"}),
                Retry::Transient,
            )
            .unwrap_err();
        assert!(is_code(&exists, "RESOURCE_ALREADY_EXISTS"), "{exists}");
        let heads = server.join().unwrap();
        assert_eq!(heads.len(), 6, "four tries, then one for each refusal");
        assert!(
            heads.iter().all(|head| head
                .to_ascii_lowercase()
                .contains("authorization: bearer t0k3n")),
            "{heads:?}"
        );
    }

    #[test]
    fn refused_credentials_say_which_variables_to_set_without_showing_them() {
        let (url, server) = scripted(vec![(401, "")]);
        let client =
            Client::new(&url, MlflowCredentials::Token("t0k3n-secret".to_owned())).unwrap();
        let error = client.get("experiments/search", &[]).unwrap_err();
        server.join().unwrap();
        let message = error.to_string();
        assert!(
            matches!(error, LedgerError::MlflowAuth { status: 401, .. }),
            "{message}"
        );
        assert!(message.contains("MLFLOW_TRACKING_TOKEN"), "{message}");
        assert!(!message.contains("secret"), "{message}");
        assert!(error.is_usage());
    }

    #[test]
    fn uris_with_credentials_or_other_schemes_are_refused_without_echoing_them() {
        let error = Client::new(
            "https://ann:pa55-secret@mlflow.example.com",
            MlflowCredentials::None,
        )
        .unwrap_err();
        let message = error.to_string();
        assert!(message.contains("MLFLOW_TRACKING_TOKEN"), "{message}");
        assert!(!message.contains("pa55-secret"), "{message}");
        assert!(error.is_usage());
        assert!(Client::new("file:///tmp/mlruns", MlflowCredentials::None).is_err());
        assert!(Client::new("databricks", MlflowCredentials::None).is_err());
    }
}
