//! The entry point: etcd's HTTP handling in front of the gateway routes
//! (CORS, preflight, the `/v3beta/` alias, path cleaning), then the route.

use std::sync::Arc;

use bytes::Bytes;
use http::{Method, Request, Response, StatusCode};
use http_body_util::BodyExt;
use tokio::sync::Semaphore;

use crate::body::JsonValues;
use crate::limits::Limits;
use crate::path;
use crate::reply::{self, GatewayBody};
use crate::routes::{self, Handler};
use crate::services::Services;
use crate::streaming::Streaming;
use crate::unary::{self, Unary};

/// etcd's JSON gateway over the service traits. Cheap to clone.
#[derive(Clone)]
pub struct Gateway {
    services: Arc<Services>,
    limits: Limits,
    /// One permit per call in flight (see `Limits::max_concurrent_streams`).
    streams: Arc<Semaphore>,
}

impl Gateway {
    pub fn new(services: Services, limits: Limits) -> Self {
        let permits = usize::try_from(limits.max_concurrent_streams)
            .unwrap_or(usize::MAX)
            .min(Semaphore::MAX_PERMITS);
        Self {
            services: Arc::new(services),
            limits,
            streams: Arc::new(Semaphore::new(permits)),
        }
    }

    /// Serves one request. A streaming response body (watch, keepalive,
    /// observe) streams until the service's stream ends or the body is
    /// dropped; dropping it (the client went away) drops the service's
    /// stream.
    pub async fn handle<B>(&self, req: Request<B>) -> Response<GatewayBody>
    where
        B: http_body::Body<Data = Bytes> + Send + 'static,
        B::Error: std::fmt::Display,
    {
        let Some(decoded) = path::decode(req.uri().path()) else {
            return reply::unparsable_request();
        };
        let mut resp = if req.method() == Method::OPTIONS {
            reply::preflight()
        } else {
            let path = path::alias(decoded);
            match path::redirect(&path, req.uri().query()) {
                Some(location) => reply::redirect(&location, req.method()),
                None => self.route(req, &path).await,
            }
        };
        reply::add_cors(resp.headers_mut());
        resp
    }

    async fn route<B>(&self, req: Request<B>, path: &[u8]) -> Response<GatewayBody>
    where
        B: http_body::Body<Data = Bytes> + Send + 'static,
        B::Error: std::fmt::Display,
    {
        if !path.starts_with(b"/v3/") {
            return reply::text(StatusCode::NOT_FOUND, "404 page not found");
        }
        let Some(route) = routes::find(path) else {
            return reply::text(StatusCode::NOT_FOUND, "Not Found");
        };
        if req.method() != Method::POST {
            return reply::text(StatusCode::METHOD_NOT_ALLOWED, "Method Not Allowed");
        }
        // The semaphore is never closed, so acquiring cannot fail.
        let Ok(permit) = Arc::clone(&self.streams).acquire_owned().await else {
            return reply::text(StatusCode::SERVICE_UNAVAILABLE, "Service Unavailable");
        };
        let mut values = JsonValues::new(req.into_body(), self.limits);
        match route.handler {
            Handler::Unary(serve) => {
                let first = match values.next().await {
                    Ok(first) => first,
                    Err(err) => return reply::error(&err.status()),
                };
                let call = serve(&self.services, Unary::new(first, self.limits));
                match unary::unless_hung_up(call, values.drain()).await {
                    Ok(json) => reply::json(json),
                    Err(err) => reply::error(&err.status()),
                }
            }
            Handler::Stream(serve) => {
                let resp = serve(&self.services, Streaming::new(values, self.limits)).await;
                // A stream holds its permit until its body is dropped.
                resp.map(|body| {
                    body.map_frame(move |frame| {
                        let _held = &permit;
                        frame
                    })
                    .boxed_unsync()
                })
            }
        }
    }
}
