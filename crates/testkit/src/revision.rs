//! The store's revision as clients saw it: every acknowledged put got a
//! revision of its own, and a put that started after another one was
//! acknowledged got a higher one.

use crate::history::{History, Operation};

/// Checks the revisions of a history's acknowledged puts: none shared by
/// two puts (on any keys), and none lower than that of a put acknowledged
/// before it was invoked. The error names the offending pair.
pub fn check_revisions(history: &History) -> Result<(), String> {
    let mut puts: Vec<(&Operation, i64)> = history
        .acknowledged_puts()
        .map(|(op, _, revision)| (op, revision))
        .collect();
    puts.sort_by_key(|&(_, revision)| revision);
    if let Some(pair) = puts.windows(2).find(|w| w[0].1 == w[1].1) {
        return Err(format!(
            "revision {} acknowledged twice:\n  {}\n  {}",
            pair[0].1, pair[0].0, pair[1].0
        ));
    }
    let mut by_return = puts.clone();
    by_return.sort_by_key(|(op, _)| op.ret);
    puts.sort_by_key(|(op, _)| op.call);
    // Sweep in invocation order, folding in every put acknowledged before
    // the current invocation and keeping the highest revision among them.
    let mut done = by_return.iter().peekable();
    let mut highest: Option<(&Operation, i64)> = None;
    for &(op, revision) in &puts {
        while let Some(&(earlier, r)) = done.next_if(|(e, _)| e.ret < op.call) {
            if highest.is_none_or(|(_, h)| r > h) {
                highest = Some((earlier, r));
            }
        }
        if let Some((earlier, r)) = highest.filter(|&(_, r)| r >= revision) {
            return Err(format!(
                "revision {revision} is not above revision {r} acknowledged before it was invoked:\n  {earlier}\n  {op}"
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::history::{Action, Reply};

    fn put(key: &str, call: u64, ret: u64, revision: i64) -> Operation {
        Operation {
            client: 0,
            key: key.to_string(),
            action: Action::Put(format!("v{revision}")),
            call,
            ret,
            reply: Reply::Written { revision },
        }
    }

    #[test]
    fn distinct_revisions_in_real_time_order_pass() {
        let h = History::new(vec![
            put("a", 0, 10, 3),
            put("b", 1, 5, 2),
            put("a", 11, 12, 4),
            put("c", 6, 20, 5),
        ]);
        assert_eq!(check_revisions(&h), Ok(()));
    }

    #[test]
    fn a_reused_revision_fails_even_on_other_keys() {
        let h = History::new(vec![put("a", 0, 1, 2), put("b", 2, 3, 2)]);
        let e = check_revisions(&h).unwrap_err();
        assert!(e.starts_with("revision 2 acknowledged twice"), "{e}");
    }

    #[test]
    fn a_revision_going_back_in_real_time_fails() {
        let h = History::new(vec![
            put("a", 0, 1, 5),
            put("b", 2, 3, 6),
            put("c", 4, 5, 4),
        ]);
        let e = check_revisions(&h).unwrap_err();
        assert!(e.contains("revision 4 is not above revision 6"), "{e}");
        let failed_ones_do_not_count = History::new(vec![Operation {
            reply: Reply::Unknown,
            ..put("a", 0, 1, 9)
        }]);
        assert_eq!(check_revisions(&failed_ones_do_not_count), Ok(()));
    }
}
