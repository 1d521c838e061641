//! Request bodies through the JSON gateway, for every route it serves. The
//! first input byte picks the route (and whether it is reached through the
//! `/v3beta/` alias); the rest is the body. The services accept whatever
//! they are handed, so a unary call must end in 200 (decoded) or 400 (Go's
//! decode error): a 500 means the decoder produced a message it could not
//! hand over. Watch bodies are drained to the end; they must not panic.

#![no_main]

use std::sync::Arc;

use api::pb::etcdserverpb::{
    AlarmRequest, AlarmResponse, CompactionRequest, CompactionResponse, DefragmentRequest,
    DefragmentResponse, DeleteRangeRequest, DeleteRangeResponse, HashKvRequest, HashKvResponse,
    HashRequest, HashResponse, MemberListRequest, MemberListResponse, PutRequest, PutResponse,
    RangeRequest, RangeResponse, StatusRequest, StatusResponse, TxnRequest, TxnResponse,
    WatchRequest, WatchResponse,
};
use api::{Cluster, Error, Kv, Maintenance, RequestStream, ResponseStream, Watch};
use bytes::Bytes;
use futures::StreamExt;
use futures::executor::block_on;
use gateway::{Gateway, Limits, Services};
use http::StatusCode;
use http_body_util::{BodyExt, Full};
use libfuzzer_sys::fuzz_target;

/// The gateway's route table (pinned by its `paths_are_etcds` test).
const ROUTES: &[&str] = &[
    "/v3/kv/range",
    "/v3/kv/put",
    "/v3/kv/deleterange",
    "/v3/kv/txn",
    "/v3/kv/compaction",
    "/v3/watch",
    "/v3/cluster/member/list",
    "/v3/maintenance/alarm",
    "/v3/maintenance/status",
    "/v3/maintenance/defragment",
    "/v3/maintenance/hash",
];

/// Every service, answering every call with an empty success.
struct Accept;

#[async_trait::async_trait]
impl Kv for Accept {
    async fn range(&self, _: RangeRequest) -> Result<RangeResponse, Error> {
        Ok(RangeResponse::default())
    }
    async fn put(&self, _: PutRequest) -> Result<PutResponse, Error> {
        Ok(PutResponse::default())
    }
    async fn delete_range(&self, _: DeleteRangeRequest) -> Result<DeleteRangeResponse, Error> {
        Ok(DeleteRangeResponse::default())
    }
    async fn txn(&self, _: TxnRequest) -> Result<TxnResponse, Error> {
        Ok(TxnResponse::default())
    }
    async fn compact(&self, _: CompactionRequest) -> Result<CompactionResponse, Error> {
        Ok(CompactionResponse::default())
    }
}

#[async_trait::async_trait]
impl Watch for Accept {
    async fn watch(&self, requests: RequestStream<WatchRequest>) -> ResponseStream<WatchResponse> {
        // Reading every request makes the gateway decode every value.
        let _: Vec<WatchRequest> = requests.collect().await;
        Box::pin(futures::stream::empty())
    }
}

#[async_trait::async_trait]
impl Maintenance for Accept {
    async fn alarm(&self, _: AlarmRequest) -> Result<AlarmResponse, Error> {
        Ok(AlarmResponse::default())
    }
    async fn status(&self, _: StatusRequest) -> Result<StatusResponse, Error> {
        Ok(StatusResponse::default())
    }
    async fn defragment(&self, _: DefragmentRequest) -> Result<DefragmentResponse, Error> {
        Ok(DefragmentResponse::default())
    }
    async fn hash(&self, _: HashRequest) -> Result<HashResponse, Error> {
        Ok(HashResponse::default())
    }
    async fn hash_kv(&self, _: HashKvRequest) -> Result<HashKvResponse, Error> {
        Ok(HashKvResponse::default())
    }
}

#[async_trait::async_trait]
impl Cluster for Accept {
    async fn member_list(&self, _: MemberListRequest) -> Result<MemberListResponse, Error> {
        Ok(MemberListResponse::default())
    }
}

fn gateway() -> Gateway {
    let accept = Arc::new(Accept);
    Gateway::new(
        Services {
            kv: accept.clone(),
            watch: accept.clone(),
            maintenance: accept.clone(),
            cluster: accept,
            lease: None,
            election: None,
            lock: None,
        },
        Limits::default(),
    )
}

fuzz_target!(|data: &[u8]| {
    let Some((&pick, body)) = data.split_first() else {
        return;
    };
    let route = ROUTES[usize::from(pick) % ROUTES.len()];
    let path = if usize::from(pick) / ROUTES.len() % 2 == 1 {
        route.replacen("/v3/", "/v3beta/", 1)
    } else {
        route.to_owned()
    };
    let Ok(req) = http::Request::post(path).body(Full::new(Bytes::copy_from_slice(body))) else {
        return;
    };
    let resp = block_on(gateway().handle(req));
    let status = resp.status();
    let Ok(collected) = block_on(resp.into_body().collect()) else {
        panic!("response body failed");
    };
    let text = collected.to_bytes();
    if route != "/v3/watch" {
        assert!(
            status == StatusCode::OK || status == StatusCode::BAD_REQUEST,
            "{route}: {status} {}",
            String::from_utf8_lossy(&text)
        );
    }
});
