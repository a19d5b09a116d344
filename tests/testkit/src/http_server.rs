//! A small HTTP/1.1 server on a free port of 127.0.0.1, for the local services of the tests.

use std::future::Future;
use std::net::SocketAddr;

use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

/// A response of a local service.
pub type Reply = Response<Full<Bytes>>;

/// A server task that stops when the value is dropped.
pub struct LocalServer {
    address: SocketAddr,
    task: JoinHandle<()>,
}

impl LocalServer {
    /// Binds a free port and serves every request with `handler`, which receives the request
    /// with its whole body already read.
    pub async fn start<H, F>(handler: H) -> LocalServer
    where
        H: Fn(Request<Bytes>) -> F + Clone + Send + Sync + 'static,
        F: Future<Output = Reply> + Send + 'static,
    {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind a free port on 127.0.0.1");
        let address = listener.local_addr().expect("local address");

        let task = tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    continue;
                };
                let handler = handler.clone();
                tokio::spawn(async move {
                    let service = service_fn(move |request: Request<Incoming>| {
                        let handler = handler.clone();
                        async move {
                            let (parts, body) = request.into_parts();
                            let body = match body.collect().await {
                                Ok(collected) => collected.to_bytes(),
                                Err(error) => {
                                    return Ok::<_, hyper::Error>(reply(
                                        StatusCode::BAD_REQUEST,
                                        &format!("failed to read the request body: {error}"),
                                    ));
                                }
                            };
                            Ok(handler(Request::from_parts(parts, body)).await)
                        }
                    });
                    // A connection that the client drops mid-request ends here; the next one
                    // is served as usual.
                    let _ = http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });

        LocalServer { address, task }
    }

    /// Returns the `host:port` the server listens on.
    pub fn address(&self) -> SocketAddr {
        self.address
    }
}

impl Drop for LocalServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Builds a response with a JSON or text body.
pub fn reply(status: StatusCode, body: &str) -> Reply {
    Response::builder()
        .status(status)
        .header("Content-Type", "application/json")
        .body(Full::new(Bytes::from(body.to_owned())))
        .expect("a response with a valid status and header")
}
