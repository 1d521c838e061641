//! Malformed bodies and etcd's answers to them. `data/etcd_decode_errors.jsonl`
//! holds `[path, body, status, answer]` rows recorded from etcd 3.4.23's
//! gateway for randomly damaged range, put, txn and watch requests, one
//! row per distinct error; the gateway must answer each the same way.

#![allow(clippy::unwrap_used)]

mod support;

use gateway::Limits;
use support::{Fake, answer, post};

#[tokio::test]
async fn answers_match_recorded_etcd_answers() {
    let corpus = include_str!("data/etcd_decode_errors.jsonl");
    let fake = Fake::new();
    let gw = fake.gateway(Limits::default());
    let mut checked = 0;
    for line in corpus.lines() {
        let (path, body, status, want): (String, String, u16, String) =
            serde_json::from_str(line).unwrap();
        let (got_status, content_type, got) = answer(&gw, post(&path, &body)).await;
        assert_eq!(
            (got_status, got.as_str()),
            (status, want.as_str()),
            "{path} {body:?}"
        );
        assert_eq!(content_type, "application/json");
        checked += 1;
    }
    assert!(checked > 300, "the corpus is all there");
    assert!(
        fake.calls().is_empty(),
        "no malformed request reached the service"
    );
}
