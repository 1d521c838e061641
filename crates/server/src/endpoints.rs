//! The plain HTTP endpoints etcd serves next to the API: `/health`,
//! `/version` and `/metrics`, with etcd's bodies.

use std::sync::Arc;
use std::time::Duration;

use api::Kv;
use api::pb::etcdserverpb::RangeRequest;
use bytes::Bytes;
use etcdserver::EtcdServer;
use http::{Method, Response, StatusCode, header};
use http_body_util::Full;
use prometheus_client::registry::Registry;

pub struct Endpoints {
    pub server: EtcdServer,
    pub registry: Arc<Registry>,
}

fn json(status: StatusCode, body: String) -> Response<Full<Bytes>> {
    let mut resp = Response::new(Full::new(Bytes::from(body)));
    *resp.status_mut() = status;
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static("application/json"),
    );
    resp
}

fn method_not_allowed() -> Response<Full<Bytes>> {
    let mut resp = Response::new(Full::new(Bytes::from_static(b"Method Not Allowed\n")));
    *resp.status_mut() = StatusCode::METHOD_NOT_ALLOWED;
    resp
}

impl Endpoints {
    /// The answer for `path`, or None if it is not one of these endpoints.
    pub async fn serve(&self, method: &Method, path: &str) -> Option<Response<Full<Bytes>>> {
        match path {
            "/health" => Some(self.health(method).await),
            "/version" => Some(self.version(method)),
            "/metrics" => Some(self.metrics()),
            _ => None,
        }
    }

    /// Healthy means: a leader exists and a linearizable read succeeds soon.
    async fn health(&self, method: &Method) -> Response<Full<Bytes>> {
        if method != Method::GET {
            return method_not_allowed();
        }
        let healthy = self.server.has_leader() && {
            let probe = RangeRequest {
                key: b"health".to_vec(),
                limit: 1,
                keys_only: true,
                ..Default::default()
            };
            matches!(
                tokio::time::timeout(Duration::from_secs(1), self.server.range(probe)).await,
                Ok(Ok(_))
            )
        };
        if healthy {
            json(StatusCode::OK, r#"{"health":"true"}"#.into())
        } else {
            json(
                StatusCode::SERVICE_UNAVAILABLE,
                r#"{"health":"false"}"#.into(),
            )
        }
    }

    fn version(&self, method: &Method) -> Response<Full<Bytes>> {
        if method != Method::GET {
            return method_not_allowed();
        }
        let cluster = self
            .server
            .cluster_version()
            .unwrap_or_else(|| "not_decided".into());
        // etcd's key order: server first.
        let body = format!(
            r#"{{"etcdserver":{},"etcdcluster":{}}}"#,
            serde_json::Value::from(etcdserver::SERVER_VERSION),
            serde_json::Value::from(cluster)
        );
        json(StatusCode::OK, body)
    }

    fn metrics(&self) -> Response<Full<Bytes>> {
        let mut text = String::new();
        if let Err(err) = prometheus_client::encoding::text::encode(&mut text, &self.registry) {
            let mut resp = Response::new(Full::new(Bytes::from(format!(
                "cannot encode metrics: {err}\n"
            ))));
            *resp.status_mut() = StatusCode::INTERNAL_SERVER_ERROR;
            return resp;
        }
        let mut resp = Response::new(Full::new(Bytes::from(text)));
        resp.headers_mut().insert(
            header::CONTENT_TYPE,
            header::HeaderValue::from_static(
                "application/openmetrics-text; version=1.0.0; charset=utf-8",
            ),
        );
        resp
    }
}
