//! One comparison line: `target("key") op "value"`.

use api::pb::etcdserverpb::Compare;
use api::pb::etcdserverpb::compare::{CompareResult, CompareTarget, TargetUnion};

use crate::error::Error;
use crate::exit;
use crate::go::quote::quote;
use crate::go::scan::scan_compare;
use crate::go::strconv;

fn invalid(message: String) -> Error {
    Error::exit(exit::INVALID_INPUT, message)
}

/// clientv3's `Compare` checks the operator first and panics on others.
fn result_of(op: &str) -> Result<CompareResult, Error> {
    match op {
        "=" => Ok(CompareResult::Equal),
        "!=" => Ok(CompareResult::NotEqual),
        ">" => Ok(CompareResult::Greater),
        "<" => Ok(CompareResult::Less),
        _ => Err(Error::Panic("Unknown result op".to_string())),
    }
}

/// etcdctl's `parseCompare`.
pub fn parse_compare(line: &str) -> Result<Compare, Error> {
    let Some((target, rest)) = line.split_once('(') else {
        return Err(invalid(format!("malformed comparison: {line}")));
    };
    let s = scan_compare(rest);
    if s.filled != 3 {
        return Err(invalid(format!(
            "malformed comparison: {line}; got {target}({}) {} {}",
            quote(&s.key),
            s.op,
            quote(&s.value)
        )));
    }
    let number = || {
        strconv::parse_i64(&String::from_utf8_lossy(&s.value), 10)
            .map_err(|_| invalid(format!("invalid txn compare request: {line}")))
    };
    let (kind, union, key) = match target {
        "ver" | "version" => {
            let v = number()?;
            (CompareTarget::Version, TargetUnion::Version(v), s.key)
        }
        "c" | "create" => {
            let v = number()?;
            (CompareTarget::Create, TargetUnion::CreateRevision(v), s.key)
        }
        "m" | "mod" => {
            let v = number()?;
            (CompareTarget::Mod, TargetUnion::ModRevision(v), s.key)
        }
        "val" | "value" => (CompareTarget::Value, TargetUnion::Value(s.value), s.key),
        "lease" => {
            result_of(&s.op)?;
            // etcdctl 3.4 hands the lease comparison a string, which
            // clientv3 rejects with a panic.
            return Err(Error::Panic("bad value".to_string()));
        }
        _ => {
            return Err(invalid(format!(
                "malformed comparison: {line} (unknown target {target})"
            )));
        }
    };
    Ok(Compare {
        result: result_of(&s.op)? as i32,
        target: kind as i32,
        key,
        range_end: Vec::new(),
        target_union: Some(union),
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn message(r: Result<Compare, Error>) -> String {
        match r {
            Err(Error::Exit { code, message }) => {
                assert_eq!(code, exit::INVALID_INPUT);
                message
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn parses_each_target() {
        let c = parse_compare(r#"value("foo") = "bar""#).unwrap();
        assert_eq!(c.target, CompareTarget::Value as i32);
        assert_eq!(c.result, CompareResult::Equal as i32);
        assert_eq!(c.key, b"foo");
        assert_eq!(c.target_union, Some(TargetUnion::Value(b"bar".to_vec())));
        let c = parse_compare(r#"ver("k") > "3""#).unwrap();
        assert_eq!(
            (c.target, c.result),
            (CompareTarget::Version as i32, CompareResult::Greater as i32)
        );
        assert_eq!(c.target_union, Some(TargetUnion::Version(3)));
        let c = parse_compare(r#"c("k") != "0""#).unwrap();
        assert_eq!(c.target_union, Some(TargetUnion::CreateRevision(0)));
        let c = parse_compare(r#"mod("k\x41") < "10""#).unwrap();
        assert_eq!(
            (c.key.as_slice(), c.result),
            (&b"kA"[..], CompareResult::Less as i32)
        );
        assert_eq!(c.target_union, Some(TargetUnion::ModRevision(10)));
    }

    #[test]
    fn reports_malformed_lines_like_etcdctl() {
        assert_eq!(
            message(parse_compare("nonsense")),
            "malformed comparison: nonsense"
        );
        assert_eq!(
            message(parse_compare(r#"value("foo")="bar""#)),
            r#"malformed comparison: value("foo")="bar"; got value("foo")  """#
        );
        assert_eq!(
            message(parse_compare(r#"foo("k") = "v""#)),
            r#"malformed comparison: foo("k") = "v" (unknown target foo)"#
        );
        assert_eq!(
            message(parse_compare(r#"ver("k") = "x""#)),
            r#"invalid txn compare request: ver("k") = "x""#
        );
    }

    #[test]
    fn keeps_etcdctls_panics() {
        assert!(
            matches!(parse_compare(r#"value("k") == "v""#), Err(Error::Panic(m)) if m == "Unknown result op")
        );
        assert!(
            matches!(parse_compare(r#"lease("k") = "5""#), Err(Error::Panic(m)) if m == "bad value")
        );
    }
}
