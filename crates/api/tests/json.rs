//! The protobuf-JSON produced for the gateway must look like etcd's
//! grpc-gateway output: original field names, 64-bit integers as strings,
//! bytes as base64, default fields left out.

use api::pb::etcdserverpb::{PutRequest, PutResponse, ResponseHeader, TxnRequest};

#[test]
fn response_uses_original_names_and_string_integers() {
    let resp = PutResponse {
        header: Some(ResponseHeader {
            cluster_id: 14841639068965178418,
            member_id: 10276657743932975437,
            revision: 2,
            raft_term: 2,
        }),
        prev_kv: None,
    };
    let json = serde_json::to_string(&resp).unwrap();
    assert_eq!(
        json,
        r#"{"header":{"cluster_id":"14841639068965178418","member_id":"10276657743932975437","revision":"2","raft_term":"2"}}"#
    );
}

#[test]
fn request_accepts_base64_and_both_name_styles() {
    let a: PutRequest =
        serde_json::from_str(r#"{"key":"bXlrZXk=","value":"dGhpcyBpcyBhd2Vzb21l","prev_kv":true}"#)
            .unwrap();
    let b: PutRequest =
        serde_json::from_str(r#"{"key":"bXlrZXk=","value":"dGhpcyBpcyBhd2Vzb21l","prevKv":true}"#)
            .unwrap();
    assert_eq!(a, b);
    assert_eq!(a.key, b"mykey");
    assert!(a.prev_kv);
}

#[test]
fn txn_enums_accept_names_and_numbers() {
    let by_name: TxnRequest = serde_json::from_str(
        r#"{"compare":[{"result":"EQUAL","target":"CREATE","key":"Zm9v","create_revision":"0"}],
            "success":[{"request_put":{"key":"Zm9v","value":"YmFy"}}]}"#,
    )
    .unwrap();
    let by_number: TxnRequest = serde_json::from_str(
        r#"{"compare":[{"result":0,"target":1,"key":"Zm9v","create_revision":0}],
            "success":[{"requestPut":{"key":"Zm9v","value":"YmFy"}}]}"#,
    )
    .unwrap();
    assert_eq!(by_name, by_number);
}
