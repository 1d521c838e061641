//! The entry point: etcd's HTTP handling in front of the gateway routes
//! (CORS, preflight, the `/v3beta/` alias, path cleaning), then the route.

use std::sync::Arc;

use api::{Cluster, Kv, Maintenance, Watch};
use bytes::Bytes;
use http::{Method, Request, Response, StatusCode};

use crate::body::JsonValues;
use crate::limits::Limits;
use crate::path;
use crate::reply::{self, GatewayBody};
use crate::routes::{self, Handler, Services};
use crate::streaming::Streaming;
use crate::unary::Unary;

/// etcd's JSON gateway over the service traits. Cheap to clone.
#[derive(Clone)]
pub struct Gateway {
    services: Arc<Services>,
    limits: Limits,
}

impl Gateway {
    pub fn new(
        kv: Arc<dyn Kv>,
        watch: Arc<dyn Watch>,
        maintenance: Arc<dyn Maintenance>,
        cluster: Arc<dyn Cluster>,
        limits: Limits,
    ) -> Self {
        Self {
            services: Arc::new(Services {
                kv,
                watch,
                maintenance,
                cluster,
            }),
            limits,
        }
    }

    /// Serves one request. A watch response body streams until the watch
    /// ends or the body is dropped; dropping it (the client went away)
    /// drops the watch.
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
        let mut values = JsonValues::new(req.into_body(), self.limits);
        match route.handler {
            Handler::Unary(serve) => {
                let first = match values.next().await {
                    Ok(first) => first,
                    Err(err) => return reply::error(&err.status()),
                };
                match serve(&self.services, Unary::new(first, self.limits)).await {
                    Ok(json) => reply::json(json),
                    Err(err) => reply::error(&err.status()),
                }
            }
            Handler::Stream(serve) => {
                serve(&self.services, Streaming::new(values, self.limits)).await
            }
        }
    }
}
