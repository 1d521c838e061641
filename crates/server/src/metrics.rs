//! `/metrics`: etcd's metric names for what this server has, read at scrape
//! time from the server's and the store's counters, plus the gRPC counters
//! the rpc layer keeps.

use std::sync::atomic::Ordering;

use etcdserver::EtcdServer;
use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric};
use prometheus_client::metrics::MetricType;
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::registry::Registry;

#[derive(Debug)]
struct ServerCollector {
    server: EtcdServer,
}

fn gauge(encoder: &mut DescriptorEncoder, name: &str, help: &str, value: i64) -> std::fmt::Result {
    let metric = ConstGauge::new(value);
    metric.encode(encoder.encode_descriptor(name, help, None, MetricType::Gauge)?)
}

fn counter(
    encoder: &mut DescriptorEncoder,
    name: &str,
    help: &str,
    value: u64,
) -> std::fmt::Result {
    let metric = ConstCounter::new(value);
    metric.encode(encoder.encode_descriptor(name, help, None, MetricType::Counter)?)
}

fn labelled_gauge(
    encoder: &mut DescriptorEncoder,
    name: &str,
    help: &str,
    label: (&str, &str),
) -> std::fmt::Result {
    let mut family = encoder.encode_descriptor(name, help, None, MetricType::Gauge)?;
    let labels = [(label.0.to_string(), label.1.to_string())];
    ConstGauge::new(1).encode(family.encode_family(&labels)?)
}

fn signed(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

impl Collector for ServerCollector {
    fn encode(&self, mut encoder: DescriptorEncoder) -> std::fmt::Result {
        let s = &self.server;
        let raft = s.raft_status();
        let c = s.counters();
        let store = s.store().counters();
        let e = &mut encoder;
        labelled_gauge(
            e,
            "etcd_server_version",
            "Which version is running. 1 for 'server_version' label with current version.",
            ("server_version", etcdserver::SERVER_VERSION),
        )?;
        if s.cluster_version().is_some() {
            labelled_gauge(
                e,
                "etcd_cluster_version",
                "Which version is running. 1 for 'cluster_version' label with current cluster version",
                ("cluster_version", etcdserver::API_VERSION),
            )?;
        }
        gauge(
            e,
            "etcd_server_has_leader",
            "Whether or not a leader exists. 1 is existence, 0 is not.",
            i64::from(raft.leader_id != 0),
        )?;
        gauge(
            e,
            "etcd_server_is_leader",
            "Whether or not this member is a leader. 1 if is, 0 otherwise.",
            i64::from(raft.leader_id == s.member_id()),
        )?;
        counter(
            e,
            "etcd_server_leader_changes_seen",
            "The number of leader changes seen.",
            c.leader_changes_seen.load(Ordering::Relaxed),
        )?;
        gauge(
            e,
            "etcd_server_proposals_committed_total",
            "The total number of consensus proposals committed.",
            signed(c.proposals_committed.load(Ordering::Relaxed)),
        )?;
        gauge(
            e,
            "etcd_server_proposals_applied_total",
            "The total number of consensus proposals applied.",
            signed(c.proposals_applied.load(Ordering::Relaxed)),
        )?;
        gauge(
            e,
            "etcd_server_proposals_pending",
            "The current number of pending proposals to commit.",
            signed(c.proposals_pending.load(Ordering::Relaxed)),
        )?;
        counter(
            e,
            "etcd_server_proposals_failed",
            "The total number of failed proposals seen.",
            c.proposals_failed.load(Ordering::Relaxed),
        )?;
        let id = format!("{:x}", s.member_id());
        labelled_gauge(
            e,
            "etcd_server_id",
            "Server or member ID in hexadecimal format. 1 for 'server_id' label with current ID.",
            ("server_id", &id),
        )?;
        counter(
            e,
            "etcd_mvcc_put",
            "Total number of puts seen by this member.",
            store.put_total,
        )?;
        counter(
            e,
            "etcd_mvcc_delete",
            "Total number of deletes seen by this member.",
            store.delete_total,
        )?;
        counter(
            e,
            "etcd_mvcc_range",
            "Total number of ranges seen by this member.",
            store.range_total,
        )?;
        counter(
            e,
            "etcd_mvcc_txn",
            "Total number of txns seen by this member.",
            store.txn_total,
        )?;
        gauge(
            e,
            "etcd_debugging_mvcc_keys_total",
            "Total number of keys.",
            signed(store.keys_total),
        )?;
        gauge(
            e,
            "etcd_mvcc_db_total_size_in_bytes",
            "Total size of the underlying database physically allocated in bytes.",
            signed(s.store().db_size()),
        )?;
        gauge(
            e,
            "etcd_mvcc_db_total_size_in_use_in_bytes",
            "Total size of the underlying database logically in use in bytes.",
            signed(s.store().db_size_in_use()),
        )?;
        gauge(
            e,
            "etcd_debugging_mvcc_db_total_size_in_bytes",
            "Total size of the underlying database physically allocated in bytes.",
            signed(s.store().db_size()),
        )?;
        gauge(
            e,
            "etcd_debugging_mvcc_current_revision",
            "The current revision of store.",
            s.store().current_revision(),
        )?;
        gauge(
            e,
            "etcd_debugging_mvcc_compact_revision",
            "The revision of the last compaction in store.",
            s.store().compact_revision(),
        )?;
        Ok(())
    }
}

/// The registry behind `/metrics`.
pub fn registry(server: &EtcdServer, grpc: &rpc::GrpcMetrics) -> Registry {
    let mut registry = Registry::default();
    registry.register_collector(Box::new(ServerCollector {
        server: server.clone(),
    }));
    grpc.register(&mut registry);
    registry
}
