//! The store on its own: open a file, write in batches, read, run a txn,
//! watch a prefix, then reopen and find everything again.
//!
//! `cargo run -p mvcc --example basic`

use api::pb::etcdserverpb::compare::{CompareResult, CompareTarget, TargetUnion};
use api::pb::etcdserverpb::request_op::Request;
use api::pb::etcdserverpb::{Compare, PutRequest, RangeRequest, RequestOp, TxnRequest};
use api::pb::mvccpb::event::EventType;
use mvcc::{Store, StoreOptions};

fn put(key: &str, value: &str) -> PutRequest {
    PutRequest {
        key: key.into(),
        value: value.into(),
        ..PutRequest::default()
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = std::env::temp_dir().join(format!("mvcc-example-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let path = dir.join("db");

    {
        let store = Store::open(&path, StoreOptions::default())?;
        let mut watch = store.watch_stream();
        let id = watch.watch(
            0,
            b"fruit/".to_vec(),
            b"fruit0".to_vec(),
            0,
            false,
            false,
            true,
        )?;

        // one batch, as an apply loop would group raft entries 1..=2
        let mut batch = store.write_batch()?;
        batch.put(&put("fruit/apple", "red"))?;
        batch.set_consistent_index(1);
        batch.put(&put("fruit/banana", "yellow"))?;
        batch.set_consistent_index(2);
        batch.commit(true)?;

        // swap the apple's color only if nobody changed it since revision 2
        let txn = TxnRequest {
            compare: vec![Compare {
                result: CompareResult::Equal as i32,
                target: CompareTarget::Mod as i32,
                key: b"fruit/apple".to_vec(),
                range_end: Vec::new(),
                target_union: Some(TargetUnion::ModRevision(2)),
            }],
            success: vec![RequestOp {
                request: Some(Request::RequestPut(put("fruit/apple", "green"))),
            }],
            failure: Vec::new(),
        };
        let mut batch = store.write_batch()?;
        let resp = batch.txn(&txn)?;
        batch.set_consistent_index(3);
        batch.commit(true)?;
        println!(
            "txn succeeded: {} at revision {}",
            resp.succeeded,
            store.current_revision()
        );

        let all = RangeRequest {
            key: b"fruit/".to_vec(),
            range_end: b"fruit0".to_vec(),
            ..RangeRequest::default()
        };
        for kv in store.range(&all)?.kvs {
            println!(
                "{} = {} (version {}, modified at {})",
                String::from_utf8_lossy(&kv.key),
                String::from_utf8_lossy(&kv.value),
                kv.version,
                kv.mod_revision
            );
        }

        while let Some(batch) = watch.recv().await {
            assert_eq!(batch.watch_id, id);
            for ev in &batch.events {
                let kv = ev.kv.clone().unwrap_or_default();
                let before = ev
                    .prev_kv
                    .as_ref()
                    .map(|p| String::from_utf8_lossy(&p.value).into_owned());
                println!(
                    "watch: {} {} = {} (was {:?})",
                    if ev.r#type == EventType::Put as i32 {
                        "PUT"
                    } else {
                        "DELETE"
                    },
                    String::from_utf8_lossy(&kv.key),
                    String::from_utf8_lossy(&kv.value),
                    before
                );
            }
            if batch.revision >= store.current_revision() {
                break;
            }
        }
    }

    let reopened = Store::open(&path, StoreOptions::default())?;
    println!(
        "reopened: revision {}, consistent index {}, hash {:08x}",
        reopened.current_revision(),
        reopened.consistent_index(),
        reopened.hash()?
    );
    drop(reopened);
    std::fs::remove_dir_all(&dir)?;
    Ok(())
}
