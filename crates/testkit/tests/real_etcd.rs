//! testkit against the real etcd: a member restarted with [`Member::fresh`]
//! keeps its ports and ids but not its data, and two runs of the same steps
//! on two fresh members agree once masked.

#![allow(clippy::unwrap_used)]

use testkit::{
    Mask, Member, Spec, Step, assert_all_same, etcd_binary, etcdctl_binary, record, run,
};

/// The number after `"field":` in a JSON text.
fn json_number(text: &str, field: &str) -> u64 {
    let start = text.find(&format!("\"{field}\":")).unwrap() + field.len() + 3;
    let digits: String = text[start..]
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    digits.parse().unwrap()
}

#[test]
fn fresh_keeps_ports_and_ids_but_not_data() {
    let etcdctl = etcdctl_binary();
    let spec = Spec::on_free_ports().name("kit").token("kit-token");
    let etcd = Member::start(&etcd_binary(), &spec, &etcdctl);
    let endpoint = etcd.endpoint();
    let put = run(&etcdctl, &endpoint, &Step::words("put k v"));
    assert_eq!(put.code, Some(0), "{put:?}");
    let status = Step::words("endpoint status -w json");
    let before = String::from_utf8(run(&etcdctl, &endpoint, &status).stdout).unwrap();

    let etcd = etcd.fresh();
    assert_eq!(etcd.endpoint(), endpoint);
    assert!(etcd.log().contains("name = kit"), "{}", etcd.log());
    let get = run(&etcdctl, &endpoint, &Step::words("get k"));
    assert_eq!((get.code, get.stdout), (Some(0), Vec::new()));
    let after = String::from_utf8(run(&etcdctl, &endpoint, &status).stdout).unwrap();
    for id in ["member_id", "cluster_id"] {
        assert_eq!(json_number(&before, id), json_number(&after, id), "{id}");
    }
    assert_eq!(json_number(&before, "revision"), 2);
    assert_eq!(json_number(&after, "revision"), 1);
}

#[test]
fn two_fresh_members_agree_once_masked() {
    let etcdctl = etcdctl_binary();
    let steps = vec![
        Step::words("put a 1"),
        Step::words("put a 2 --prev-kv -w json"),
        Step::words("get a -w json"),
        Step::words("endpoint status -w table").masked(Mask::DbSize),
        Step::words("endpoint status -w json").masked(Mask::DbSize),
        Step::words("endpoint hashkv -w json"),
        Step::words("endpoint health -w table").timed(),
        Step::words("get a --rev=1000"),
    ];
    let etcd = Member::start(&etcd_binary(), &Spec::on_free_ports(), &etcdctl);
    let first = record(&etcdctl, &etcd.endpoint(), &steps);
    let etcd = etcd.fresh();
    let second = record(&etcdctl, &etcd.endpoint(), &steps);
    assert_eq!(first[7].code, Some(1), "errors are recorded too");
    assert_all_same(&steps, &first, &second);
}
