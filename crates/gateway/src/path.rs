//! Request paths as etcd's HTTP stack treats them before the gateway's
//! routes are consulted: Go decodes percent escapes, etcd rewrites the
//! `/v3beta/` alias to `/v3/`, and Go's `ServeMux` redirects (301) any path
//! that is not in clean form, and `/v3` to `/v3/`.

/// The percent-decoded path; `None` for a malformed escape, which Go's
/// server refuses before any handler runs.
pub(crate) fn decode(raw: &str) -> Option<Vec<u8>> {
    let bytes = raw.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut at = 0;
    while at < bytes.len() {
        if bytes[at] == b'%' {
            let hex = bytes.get(at + 1..at + 3)?;
            let hex = std::str::from_utf8(hex).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            at += 3;
        } else {
            out.push(bytes[at]);
            at += 1;
        }
    }
    Some(out)
}

/// etcd serves every `/v3/` route under `/v3beta/` too.
pub(crate) fn alias(mut path: Vec<u8>) -> Vec<u8> {
    if path.starts_with(b"/v3beta/") {
        path.splice(..b"/v3beta/".len(), b"/v3/".iter().copied());
    }
    path
}

/// Where Go's `ServeMux` sends a client instead of serving `path`.
pub(crate) fn redirect(path: &[u8], query: Option<&str>) -> Option<String> {
    let clean = clean(path);
    let target = if clean == b"/v3" {
        b"/v3/".to_vec()
    } else if clean != path {
        clean
    } else {
        return None;
    };
    let mut location = escape(&target);
    if let Some(query) = query.filter(|q| !q.is_empty()) {
        location.push('?');
        location.push_str(query);
    }
    Some(location)
}

/// Go's `cleanPath`: `path.Clean`, keeping a trailing slash.
fn clean(path: &[u8]) -> Vec<u8> {
    let mut parts: Vec<&[u8]> = Vec::new();
    for part in path.split(|&c| c == b'/') {
        match part {
            b"" | b"." => {}
            b".." => {
                parts.pop();
            }
            part => parts.push(part),
        }
    }
    let mut out = Vec::with_capacity(path.len() + 1);
    for part in &parts {
        out.push(b'/');
        out.extend_from_slice(part);
    }
    if out.is_empty() || (path.ends_with(b"/") && !parts.is_empty()) {
        out.push(b'/');
    }
    out
}

/// A path written back into a URL as Go's `url.URL.String` writes it.
fn escape(path: &[u8]) -> String {
    let mut out = String::with_capacity(path.len());
    for &c in path {
        if c.is_ascii_alphanumeric()
            || matches!(
                c,
                b'-' | b'_'
                    | b'.'
                    | b'~'
                    | b'$'
                    | b'&'
                    | b'+'
                    | b','
                    | b'/'
                    | b':'
                    | b';'
                    | b'='
                    | b'@'
            )
        {
            out.push(char::from(c));
        } else {
            out.push_str(&format!("%{c:02X}"));
        }
    }
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn redirect_of(path: &str, query: Option<&str>) -> Option<String> {
        redirect(&alias(decode(path).unwrap()), query)
    }

    #[test]
    fn decoding() {
        assert_eq!(decode("/v3/kv/%72ange").unwrap(), b"/v3/kv/range");
        assert_eq!(decode("/v3%2Fkv/range").unwrap(), b"/v3/kv/range");
        assert_eq!(decode("/a%00").unwrap(), b"/a\0");
        assert!(decode("/v3/kv/%zz").is_none());
        assert!(decode("/v3/kv/%7").is_none());
    }

    #[test]
    fn alias_rewrites_only_the_prefix() {
        assert_eq!(alias(b"/v3beta/kv/range".to_vec()), b"/v3/kv/range");
        assert_eq!(alias(b"/v3beta".to_vec()), b"/v3beta");
        assert_eq!(alias(b"/v3beta/v3beta/x".to_vec()), b"/v3/v3beta/x");
        assert_eq!(alias(b"/v3/v3beta/x".to_vec()), b"/v3/v3beta/x");
    }

    #[test]
    fn redirects_match_etcd() {
        // Each answer was read from etcd 3.4.
        assert_eq!(
            redirect_of("/v3//kv/range", None).as_deref(),
            Some("/v3/kv/range")
        );
        assert_eq!(
            redirect_of("/v3/./kv/range", None).as_deref(),
            Some("/v3/kv/range")
        );
        assert_eq!(
            redirect_of("/v3beta/../v3/kv/range", None).as_deref(),
            Some("/v3/kv/range")
        );
        assert_eq!(
            redirect_of("/v3beta//kv/range", None).as_deref(),
            Some("/v3/kv/range")
        );
        assert_eq!(
            redirect_of("/v3//kv/range", Some("a=b")).as_deref(),
            Some("/v3/kv/range?a=b")
        );
        assert_eq!(redirect_of("/v3", None).as_deref(), Some("/v3/"));
        assert_eq!(redirect_of("/v3/kv/range", Some("x=1")), None);
        assert_eq!(redirect_of("/v3/kv/range/", None), None);
        assert_eq!(redirect_of("/v3/", None), None);
        assert_eq!(redirect_of("/v3beta", None), None);
        assert_eq!(redirect_of("/", None), None);
        assert_eq!(redirect_of("/a/../../b/", None).as_deref(), Some("/b/"));
        assert_eq!(redirect_of("/a%20b//c", None).as_deref(), Some("/a%20b/c"));
    }
}
