//! The part of Go's `net/url.Parse` that decides whether a URL parses, and
//! etcd's `types.NewURLs` on top of it, which clientv3 runs on peer URLs
//! before `MemberAdd` and `MemberUpdate` so a bad one never reaches the
//! cluster. Error texts are Go's.

use super::quote::quote;

/// What `url.Parse` finds in a URL, as far as `NewURLs` looks.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Url {
    pub scheme: String,
    pub host: String,
    pub path: String,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    Host,
    Zone,
    Path,
    UserPassword,
    Fragment,
}

fn is_hex(c: u8) -> bool {
    c.is_ascii_hexdigit()
}

fn unhex(c: u8) -> u8 {
    match c {
        b'0'..=b'9' => c - b'0',
        b'a'..=b'f' => c - b'a' + 10,
        b'A'..=b'F' => c - b'A' + 10,
        _ => 0,
    }
}

fn escape_error(s: &[u8]) -> String {
    format!("invalid URL escape {}", quote(s))
}

/// Whether a host byte needs escaping (`shouldEscape` for host and zone).
fn host_byte_needs_escape(c: u8) -> bool {
    !(c.is_ascii_alphanumeric() || b"!$&'()*+,;=:[]<>\"-_.~".contains(&c))
}

/// `unescape`, kept to its checks: the decoded text is never needed.
fn check_escapes(s: &[u8], mode: Mode) -> Result<(), String> {
    let mut i = 0;
    while i < s.len() {
        match s[i] {
            b'%' => {
                if i + 2 >= s.len() || !is_hex(s[i + 1]) || !is_hex(s[i + 2]) {
                    let rest = &s[i..];
                    return Err(escape_error(&rest[..rest.len().min(3)]));
                }
                let code = &s[i..i + 3];
                if mode == Mode::Host && unhex(s[i + 1]) < 8 && code != b"%25" {
                    return Err(escape_error(code));
                }
                if mode == Mode::Zone {
                    let v = unhex(s[i + 1]) << 4 | unhex(s[i + 2]);
                    if code != b"%25" && v != b' ' && host_byte_needs_escape(v) {
                        return Err(escape_error(code));
                    }
                }
                i += 3;
            }
            c => {
                if matches!(mode, Mode::Host | Mode::Zone) && c < 0x80 && host_byte_needs_escape(c)
                {
                    return Err(format!(
                        "invalid character {} in host name",
                        quote(&s[i..=i])
                    ));
                }
                i += 1;
            }
        }
    }
    Ok(())
}

fn valid_optional_port(port: &str) -> bool {
    match port.strip_prefix(':') {
        None => port.is_empty(),
        Some(digits) => digits.bytes().all(|b| b.is_ascii_digit()),
    }
}

fn parse_host(host: &str) -> Result<(), String> {
    if host.starts_with('[') {
        let Some(i) = host.rfind(']') else {
            return Err("missing ']' in host".to_string());
        };
        let colon_port = &host[i + 1..];
        if !valid_optional_port(colon_port) {
            return Err(format!(
                "invalid port {} after host",
                quote(colon_port.as_bytes())
            ));
        }
        if let Some(zone) = host[..i].find("%25") {
            check_escapes(&host.as_bytes()[..zone], Mode::Host)?;
            check_escapes(&host.as_bytes()[zone..i], Mode::Zone)?;
            return check_escapes(&host.as_bytes()[i..], Mode::Host);
        }
    } else if let Some(i) = host.rfind(':') {
        let colon_port = &host[i..];
        if !valid_optional_port(colon_port) {
            return Err(format!(
                "invalid port {} after host",
                quote(colon_port.as_bytes())
            ));
        }
    }
    check_escapes(host.as_bytes(), Mode::Host)
}

fn valid_userinfo(s: &str) -> bool {
    s.chars()
        .all(|c| c.is_ascii_alphanumeric() || "-._:~!$&'()*+,;=%@".contains(c))
}

fn parse_authority(authority: &str) -> Result<String, String> {
    let (user, host) = match authority.rfind('@') {
        Some(i) => (Some(&authority[..i]), &authority[i + 1..]),
        None => (None, authority),
    };
    parse_host(host)?;
    if let Some(user) = user {
        if !valid_userinfo(user) {
            return Err("net/url: invalid userinfo".to_string());
        }
        for part in user.splitn(2, ':') {
            check_escapes(part.as_bytes(), Mode::UserPassword)?;
        }
    }
    Ok(host.to_string())
}

/// `getScheme`: the scheme and the rest, or no scheme at all.
fn split_scheme(raw: &str) -> Result<(&str, &str), String> {
    for (i, c) in raw.bytes().enumerate() {
        match c {
            b'a'..=b'z' | b'A'..=b'Z' => {}
            b'0'..=b'9' | b'+' | b'-' | b'.' if i == 0 => return Ok(("", raw)),
            b'0'..=b'9' | b'+' | b'-' | b'.' => {}
            b':' if i == 0 => return Err("missing protocol scheme".to_string()),
            b':' => return Ok((&raw[..i], &raw[i + 1..])),
            _ => return Ok(("", raw)),
        }
    }
    Ok(("", raw))
}

fn parse_inner(raw: &str) -> Result<Url, String> {
    if raw.bytes().any(|b| b < 0x20 || b == 0x7f) {
        return Err("net/url: invalid control character in URL".to_string());
    }
    let mut url = Url::default();
    if raw == "*" {
        url.path = "*".to_string();
        return Ok(url);
    }
    let (scheme, rest) = split_scheme(raw)?;
    url.scheme = scheme.to_ascii_lowercase();
    let mut rest = if rest.ends_with('?') && rest.matches('?').count() == 1 {
        &rest[..rest.len() - 1]
    } else {
        rest.split_once('?').map_or(rest, |(before, _)| before)
    };
    if !rest.starts_with('/') {
        if !url.scheme.is_empty() {
            // An opaque URL (`http:foo`): no host, no path.
            return Ok(url);
        }
        let segment = rest.split('/').next().unwrap_or_default();
        if segment.contains(':') {
            return Err("first path segment in URL cannot contain colon".to_string());
        }
    }
    if (!url.scheme.is_empty() || !rest.starts_with("///")) && rest.starts_with("//") {
        let after = &rest[2..];
        let (authority, path) = match after.find('/') {
            Some(i) => (&after[..i], &after[i..]),
            None => (after, ""),
        };
        url.host = parse_authority(authority)?;
        rest = path;
    }
    check_escapes(rest.as_bytes(), Mode::Path)?;
    url.path = rest.to_string();
    Ok(url)
}

/// `url.Parse`, its error wrapped as Go's `*url.Error` prints: naming the
/// URL without its fragment, unless the fragment is what failed.
pub fn parse(raw: &str) -> Result<Url, String> {
    let (body, fragment) = match raw.split_once('#') {
        Some((body, fragment)) => (body, Some(fragment)),
        None => (raw, None),
    };
    let wrap = |url: &str, e: String| format!("parse {}: {e}", quote(url.as_bytes()));
    let url = parse_inner(body).map_err(|e| wrap(body, e))?;
    if let Some(fragment) = fragment {
        check_escapes(fragment.as_bytes(), Mode::Fragment).map_err(|e| wrap(raw, e))?;
    }
    Ok(url)
}

/// `net.SplitHostPort`, kept to whether it succeeds.
fn splits_host_port(hostport: &str) -> bool {
    let (j, k) = if hostport.starts_with('[') {
        let Some(end) = hostport.find(']') else {
            return false;
        };
        if hostport.as_bytes().get(end + 1) != Some(&b':') {
            return false;
        }
        if hostport.rfind(':') != Some(end + 1) {
            return false;
        }
        (1, end + 1)
    } else {
        let Some(i) = hostport.rfind(':') else {
            return false;
        };
        if hostport[..i].contains(':') {
            return false;
        }
        (0, 0)
    };
    !hostport[j..].contains('[') && !hostport[k..].contains(']')
}

/// etcd's `types.NewURLs`: every URL (spaces trimmed) must parse, use a
/// scheme etcd serves, name a `host:port` and carry no path.
pub fn check_urls(urls: &[String]) -> Result<(), String> {
    if urls.is_empty() {
        return Err("no valid URLs given".to_string());
    }
    for raw in urls {
        let raw = raw.trim();
        let url = parse(raw)?;
        if !matches!(url.scheme.as_str(), "http" | "https" | "unix" | "unixs") {
            return Err(format!(
                "URL scheme must be http, https, unix, or unixs: {raw}"
            ));
        }
        if !splits_host_port(&url.host) {
            return Err(format!(
                "URL address does not have the form \"host:port\": {raw}"
            ));
        }
        if !url.path.is_empty() {
            return Err(format!("URL must not contain a path: {raw}"));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(url: &str) -> Result<(), String> {
        check_urls(&[url.to_string()])
    }

    #[test]
    fn accepts_what_etcd_accepts() {
        for ok in [
            "http://127.0.0.1:2380",
            " https://a:1 ",
            "HTTP://a:1",
            "unix://a:1",
            "http://[::1]:1",
            "http://u@a:1",
            "http://a:1?q",
        ] {
            assert_eq!(check(ok), Ok(()), "{ok}");
        }
    }

    #[test]
    fn rejects_with_go_texts() {
        let cases = [
            ("http://[::1", "parse \"http://[::1\": missing ']' in host"),
            (
                "http://a:b",
                "parse \"http://a:b\": invalid port \":b\" after host",
            ),
            (
                "http://a b:1",
                "parse \"http://a b:1\": invalid character \" \" in host name",
            ),
            ("http://a:1/p", "URL must not contain a path: http://a:1/p"),
            (
                "http://a:1#f%zz",
                "parse \"http://a:1#f%zz\": invalid URL escape \"%zz\"",
            ),
            (":x", "parse \":x\": missing protocol scheme"),
            ("", "URL scheme must be http, https, unix, or unixs: "),
            (
                "http:foo",
                "URL address does not have the form \"host:port\": http:foo",
            ),
            (
                "http://a%zz:1",
                "parse \"http://a%zz:1\": invalid URL escape \"%zz\"",
            ),
            (
                "http://a:1%",
                "parse \"http://a:1%\": invalid port \":1%\" after host",
            ),
            (
                "1http://a:1",
                "parse \"1http://a:1\": first path segment in URL cannot contain colon",
            ),
            (
                "a:b/c",
                "URL scheme must be http, https, unix, or unixs: a:b/c",
            ),
            (
                "http://a",
                "URL address does not have the form \"host:port\": http://a",
            ),
            (
                "http://[::1]",
                "URL address does not have the form \"host:port\": http://[::1]",
            ),
            (
                "http://[::1]x:1",
                "parse \"http://[::1]x:1\": invalid port \"x:1\" after host",
            ),
            (
                "http://a:1\u{1}",
                "parse \"http://a:1\\x01\": net/url: invalid control character in URL",
            ),
            (
                "http://a:b#x",
                "parse \"http://a:b\": invalid port \":b\" after host",
            ),
            (
                "http://a:1:2",
                "URL address does not have the form \"host:port\": http://a:1:2",
            ),
            (
                "http://[a]:1]",
                "URL address does not have the form \"host:port\": http://[a]:1]",
            ),
        ];
        for (url, want) in cases {
            assert_eq!(check(url), Err(want.to_string()), "{url}");
        }
        assert_eq!(check_urls(&[]), Err("no valid URLs given".to_string()));
    }
}
