//! Key-range arithmetic clientv3 does for `--prefix`.

/// The end of the range holding every key that starts with `key`: the key
/// with its last byte below 0xff incremented and the rest dropped, or
/// `"\0"` (everything after) when there is no such byte.
pub fn prefix_end(key: &[u8]) -> Vec<u8> {
    let mut end = key.to_vec();
    while let Some(last) = end.pop() {
        if last < 0xff {
            end.push(last + 1);
            return end;
        }
    }
    vec![0]
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn increments_the_last_byte_below_ff() {
        assert_eq!(prefix_end(b"foo"), b"fop");
        assert_eq!(prefix_end(b"a\xff"), b"b");
        assert_eq!(prefix_end(b"\xff\xff"), vec![0]);
    }
}
