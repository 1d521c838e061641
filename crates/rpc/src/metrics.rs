//! The go-grpc-prometheus counters etcd exports (`grpc_server_started_total`,
//! `grpc_server_handled_total`, message counts), with the same label names
//! and values, so dashboards written for etcd keep working.

use std::sync::Arc;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::registry::Registry;
use tonic::Code;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct CallLabels {
    grpc_method: String,
    grpc_service: String,
    grpc_type: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct HandledLabels {
    grpc_code: String,
    grpc_method: String,
    grpc_service: String,
    grpc_type: String,
}

/// How a method streams, in go-grpc-prometheus's words.
#[derive(Clone, Copy, Debug)]
pub enum CallType {
    Unary,
    BidiStream,
    ServerStream,
}

impl CallType {
    fn label(self) -> &'static str {
        match self {
            CallType::Unary => "unary",
            CallType::BidiStream => "bidi_stream",
            CallType::ServerStream => "server_stream",
        }
    }
}

/// One method of one service, e.g. `("etcdserverpb.KV", "Put", Unary)`.
#[derive(Clone, Copy, Debug)]
pub struct Method {
    pub service: &'static str,
    pub name: &'static str,
    pub kind: CallType,
}

#[derive(Clone, Default)]
pub struct GrpcMetrics {
    inner: Arc<Families>,
}

#[derive(Default)]
struct Families {
    started: Family<CallLabels, Counter>,
    handled: Family<HandledLabels, Counter>,
    received: Family<CallLabels, Counter>,
    sent: Family<CallLabels, Counter>,
}

impl GrpcMetrics {
    pub fn register(&self, registry: &mut Registry) {
        registry.register(
            "grpc_server_started",
            "Total number of RPCs started on the server.",
            self.inner.started.clone(),
        );
        registry.register(
            "grpc_server_handled",
            "Total number of RPCs completed on the server, regardless of success or failure.",
            self.inner.handled.clone(),
        );
        registry.register(
            "grpc_server_msg_received",
            "Total number of RPC stream messages received on the server.",
            self.inner.received.clone(),
        );
        registry.register(
            "grpc_server_msg_sent",
            "Total number of gRPC stream messages sent by the server.",
            self.inner.sent.clone(),
        );
    }

    fn labels(m: Method) -> CallLabels {
        CallLabels {
            grpc_method: m.name.to_string(),
            grpc_service: m.service.to_string(),
            grpc_type: m.kind.label().to_string(),
        }
    }

    pub fn started(&self, m: Method) {
        self.inner.started.get_or_create(&Self::labels(m)).inc();
    }

    pub fn received(&self, m: Method) {
        self.inner.received.get_or_create(&Self::labels(m)).inc();
    }

    pub fn sent(&self, m: Method) {
        self.inner.sent.get_or_create(&Self::labels(m)).inc();
    }

    pub fn handled(&self, m: Method, code: Code) {
        let labels = HandledLabels {
            grpc_code: api::grpc_code_name(code).to_string(),
            grpc_method: m.name.to_string(),
            grpc_service: m.service.to_string(),
            grpc_type: m.kind.label().to_string(),
        };
        self.inner.handled.get_or_create(&labels).inc();
    }
}

/// Records how a call ended. A call dropped before it reported an outcome
/// (the client went away) counts as Canceled, as grpc-go reports it.
pub struct CallGuard {
    metrics: GrpcMetrics,
    method: Method,
    outcome: Option<Code>,
}

impl CallGuard {
    pub fn start(metrics: &GrpcMetrics, method: Method) -> Self {
        metrics.started(method);
        CallGuard {
            metrics: metrics.clone(),
            method,
            outcome: None,
        }
    }

    pub fn finish(&mut self, code: Code) {
        self.outcome = Some(code);
    }

    pub fn sent(&self) {
        self.metrics.sent(self.method);
    }
}

impl Drop for CallGuard {
    fn drop(&mut self) {
        let code = self.outcome.unwrap_or(Code::Cancelled);
        self.metrics.handled(self.method, code);
    }
}

/// A response stream that reports its messages and its end to a
/// [`CallGuard`]: an error ends the call with that code, the end of the
/// stream with OK, and dropping it early with Canceled.
pub struct Counted<S> {
    inner: S,
    guard: CallGuard,
}

impl<S> Counted<S> {
    pub fn new(inner: S, guard: CallGuard) -> Self {
        Counted { inner, guard }
    }
}

impl<S, T> futures::Stream for Counted<S>
where
    S: futures::Stream<Item = Result<T, tonic::Status>> + Unpin,
{
    type Item = Result<T, tonic::Status>;

    fn poll_next(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Self::Item>> {
        use std::task::Poll;
        let this = &mut *self;
        match std::pin::Pin::new(&mut this.inner).poll_next(cx) {
            Poll::Ready(Some(Ok(item))) => {
                this.guard.sent();
                Poll::Ready(Some(Ok(item)))
            }
            Poll::Ready(Some(Err(status))) => {
                this.guard.finish(status.code());
                Poll::Ready(Some(Err(status)))
            }
            Poll::Ready(None) => {
                if this.guard.outcome.is_none() {
                    this.guard.finish(Code::Ok);
                }
                Poll::Ready(None)
            }
            Poll::Pending => Poll::Pending,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use prometheus_client::encoding::text::encode;

    #[test]
    fn dropped_stream_counts_as_canceled() {
        let metrics = GrpcMetrics::default();
        let mut registry = Registry::default();
        metrics.register(&mut registry);
        let watch = Method {
            service: "etcdserverpb.Watch",
            name: "Watch",
            kind: CallType::BidiStream,
        };
        drop(CallGuard::start(&metrics, watch));
        let put = Method {
            service: "etcdserverpb.KV",
            name: "Put",
            kind: CallType::Unary,
        };
        let mut call = CallGuard::start(&metrics, put);
        call.finish(Code::Ok);
        drop(call);

        let mut text = String::new();
        encode(&mut text, &registry).unwrap();
        assert!(text.contains(
            r#"grpc_server_handled_total{grpc_code="Canceled",grpc_method="Watch",grpc_service="etcdserverpb.Watch",grpc_type="bidi_stream"} 1"#
        ), "{text}");
        assert!(text.contains(
            r#"grpc_server_handled_total{grpc_code="OK",grpc_method="Put",grpc_service="etcdserverpb.KV",grpc_type="unary"} 1"#
        ), "{text}");
    }
}
