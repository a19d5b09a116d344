//! Pinpoint's `GetEndpoint` and `GetJourney`, served from fixed data on 127.0.0.1.
//!
//! moto 5.2.6 has no route for these two operations (it returns 404 with an HTML page), and a
//! packaged function binary cannot take an `aws-smithy-mocks` client. Tests that run a binary
//! point only its Pinpoint client here (`AWS_ENDPOINT_URL_PINPOINT`, which the SDK reads for
//! that one service) and everything else at the emulator. The responses have the shapes the
//! Pinpoint API reference documents: the endpoint or journey object is the whole body, and an
//! unknown id gets 404 with the `NotFoundException` error type.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use hyper::body::Bytes;
use hyper::{Method, Request, StatusCode};
use serde_json::{Value, json};

use crate::http_server::{LocalServer, Reply, reply};

/// Endpoints and journeys by id, and the paths requested so far.
#[derive(Default)]
struct Directory {
    endpoints: HashMap<String, Value>,
    journeys: HashMap<String, Value>,
    requests: Vec<String>,
}

/// A local server for Pinpoint's endpoint and journey reads.
pub struct PinpointApi {
    directory: Arc<Mutex<Directory>>,
    server: LocalServer,
}

impl PinpointApi {
    /// Serves the endpoints of a Pinpoint endpoint export (JSON lines with `Id`,
    /// `ApplicationId` and `User`, the same members as a `GetEndpoint` response) and journeys
    /// given as `(application id, journey id, name)`.
    pub async fn start(endpoint_export: &str, journeys: &[(&str, &str, &str)]) -> PinpointApi {
        let mut directory = Directory::default();
        for line in endpoint_export
            .lines()
            .filter(|line| !line.trim().is_empty())
        {
            let endpoint: Value = serde_json::from_str(line)
                .unwrap_or_else(|error| panic!("endpoint export line {line:?}: {error}"));
            let app = endpoint["ApplicationId"].as_str().unwrap_or_default();
            let id = endpoint["Id"].as_str().unwrap_or_default();
            directory.endpoints.insert(format!("{app}/{id}"), endpoint);
        }
        for (app, id, name) in journeys {
            let journey = json!({
                "Id": id,
                "ApplicationId": app,
                "Name": name,
                "State": "ACTIVE",
                "CreationDate": "2026-01-01T00:00:00.000Z",
                "LastModifiedDate": "2026-01-01T00:00:00.000Z",
            });
            directory.journeys.insert(format!("{app}/{id}"), journey);
        }

        let directory = Arc::new(Mutex::new(directory));
        let handler_directory = Arc::clone(&directory);
        let server = LocalServer::start(move |request| {
            let directory = Arc::clone(&handler_directory);
            async move { route(&directory, &request) }
        })
        .await;
        PinpointApi { directory, server }
    }

    /// Base URL, for `AWS_ENDPOINT_URL_PINPOINT`.
    pub fn endpoint_url(&self) -> String {
        format!("http://{}", self.server.address())
    }

    /// Returns the request paths served so far, in order.
    pub fn requests(&self) -> Vec<String> {
        self.directory
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .requests
            .clone()
    }
}

fn route(directory: &Mutex<Directory>, request: &Request<Bytes>) -> Reply {
    let path = request.uri().path().to_owned();
    let mut directory = directory
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    directory.requests.push(path.clone());

    let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    let found = match (request.method(), segments.as_slice()) {
        (&Method::GET, ["v1", "apps", app, "endpoints", id]) => {
            directory.endpoints.get(&format!("{app}/{id}"))
        }
        (&Method::GET, ["v1", "apps", app, "journeys", id]) => {
            directory.journeys.get(&format!("{app}/{id}"))
        }
        _ => None,
    };

    match found {
        Some(body) => reply(StatusCode::OK, &body.to_string()),
        None => {
            let mut response = reply(
                StatusCode::NOT_FOUND,
                r#"{"Message":"Resource not found","RequestID":"00000000-0000-4000-8000-000000000000"}"#,
            );
            response.headers_mut().insert(
                "x-amzn-ErrorType",
                hyper::header::HeaderValue::from_static("NotFoundException"),
            );
            response
        }
    }
}
