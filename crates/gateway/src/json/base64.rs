//! Padded standard base64 as Go's `encoding/base64.StdEncoding` decodes it:
//! line breaks are skipped anywhere, padding is required, and a failure
//! names the offending input byte (`illegal base64 data at input byte 4`),
//! which etcd's gateway passes on to the client.

/// Decodes `src`, or returns Go's error text.
pub(crate) fn decode_std(src: &[u8]) -> Result<Vec<u8>, String> {
    let mut out = Vec::with_capacity(src.len() / 4 * 3);
    let mut at = 0;
    while at < src.len() {
        at = decode_quantum(src, at, &mut out).map_err(corrupt)?;
    }
    Ok(out)
}

fn corrupt(offset: usize) -> String {
    format!("illegal base64 data at input byte {offset}")
}

fn sextet(c: u8) -> Option<u8> {
    match c {
        b'A'..=b'Z' => Some(c - b'A'),
        b'a'..=b'z' => Some(c - b'a' + 26),
        b'0'..=b'9' => Some(c - b'0' + 52),
        b'+' => Some(62),
        b'/' => Some(63),
        _ => None,
    }
}

fn is_newline(c: u8) -> bool {
    c == b'\n' || c == b'\r'
}

/// Decodes one group of up to four symbols starting at `at`; returns where
/// the next group starts, or the offset Go reports.
fn decode_quantum(src: &[u8], mut at: usize, out: &mut Vec<u8>) -> Result<usize, usize> {
    let mut group = [0u8; 4];
    let mut len = 0;
    while len < 4 {
        let Some(&c) = src.get(at) else {
            // Input ends inside a group: padding was required.
            return if len == 0 { Ok(at) } else { Err(at - len) };
        };
        at += 1;
        if let Some(v) = sextet(c) {
            group[len] = v;
            len += 1;
            continue;
        }
        if is_newline(c) {
            continue;
        }
        if c != b'=' || len < 2 {
            return Err(at - 1);
        }
        if len == 2 {
            // Two symbols need "==": find the second '='.
            while src.get(at).copied().is_some_and(is_newline) {
                at += 1;
            }
            match src.get(at) {
                None => return Err(src.len()),
                Some(b'=') => at += 1,
                Some(_) => return Err(at - 1),
            }
        }
        while src.get(at).copied().is_some_and(is_newline) {
            at += 1;
        }
        if at < src.len() {
            return Err(at);
        }
        break;
    }
    let value = u32::from(group[0]) << 18
        | u32::from(group[1]) << 12
        | u32::from(group[2]) << 6
        | u32::from(group[3]);
    let bytes = value.to_be_bytes();
    out.extend_from_slice(&bytes[1..len]);
    Ok(at)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn decodes_valid_input() {
        assert_eq!(decode_std(b"").unwrap(), b"");
        assert_eq!(decode_std(b"Zm9v").unwrap(), b"foo");
        assert_eq!(decode_std(b"Zm9vYg==").unwrap(), b"foob");
        assert_eq!(decode_std(b"Zm9vYmE=").unwrap(), b"fooba");
        assert_eq!(decode_std(b"Zm\n9v\r\n").unwrap(), b"foo");
        assert_eq!(decode_std(b"Zm9vYg=\n=").unwrap(), b"foob");
        assert_eq!(decode_std(b"+/+/").unwrap(), [0xfb, 0xff, 0xbf]);
    }

    #[test]
    fn errors_carry_gos_offsets() {
        // Offsets checked against etcd's gateway and Go's decoder.
        let cases: &[(&[u8], usize)] = &[
            (b"!!", 0),
            (b"Zm9", 0),
            (b"Zm=v", 2),
            (b"Zm9v\\n", 4),
            (b"Z", 0),
            (b"Zm9vY", 4),
            (b"Zg=", 3),
            (b"Zg=x", 2),
            (b"Zg==x", 4),
            (b"Z===", 1),
            (b"=", 0),
            (b"Zm9v-_", 4),
        ];
        for (src, offset) in cases {
            assert_eq!(
                decode_std(src).unwrap_err(),
                format!("illegal base64 data at input byte {offset}"),
                "{}",
                String::from_utf8_lossy(src)
            );
        }
    }
}
