//! The parts of Go's encoding/json that etcdctl's `-w json` output shows:
//! HTML-safe string escaping, base64 for byte slices, and struct fields
//! tagged `omitempty` that vanish when zero.

use base64::Engine as _;

/// Appends `s` as a JSON string the way `json.Marshal` writes it (Go 1.19:
/// `<`, `>`, `&`, control characters and U+2028/U+2029 as `\u00XX`).
pub fn push_str(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '<' | '>' | '&' => out.push_str(&format!("\\u{:04x}", u32::from(c))),
            c if u32::from(c) < 0x20 => out.push_str(&format!("\\u{:04x}", u32::from(c))),
            '\u{2028}' => out.push_str("\\u2028"),
            '\u{2029}' => out.push_str("\\u2029"),
            c => out.push(c),
        }
    }
    out.push('"');
}

/// Appends `s` as zap's JSON encoder writes a string (no HTML escaping).
pub fn push_zap_str(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if u32::from(c) < 0x20 => out.push_str(&format!("\\u{:04x}", u32::from(c))),
            c => out.push(c),
        }
    }
    out.push('"');
}

/// Writes one JSON object field by field.
pub struct Object<'a> {
    out: &'a mut String,
    empty: bool,
}

impl<'a> Object<'a> {
    pub fn open(out: &'a mut String) -> Self {
        out.push('{');
        Object { out, empty: true }
    }

    pub fn close(self) {
        self.out.push('}');
    }

    /// Starts a field and returns the buffer to write its value to.
    pub fn field(&mut self, name: &str) -> &mut String {
        if !self.empty {
            self.out.push(',');
        }
        self.empty = false;
        push_str(self.out, name);
        self.out.push(':');
        self.out
    }

    /// An integer field tagged `omitempty`.
    pub fn int<T: Into<i128>>(&mut self, name: &str, v: T) {
        let v = v.into();
        if v != 0 {
            let s = v.to_string();
            self.field(name).push_str(&s);
        }
    }

    /// An integer field without `omitempty`.
    pub fn int_always<T: Into<i128>>(&mut self, name: &str, v: T) {
        let s = v.into().to_string();
        self.field(name).push_str(&s);
    }

    /// A bool field tagged `omitempty`.
    pub fn flag(&mut self, name: &str, v: bool) {
        if v {
            self.field(name).push_str("true");
        }
    }

    /// A bool field without `omitempty`.
    pub fn bool_always(&mut self, name: &str, v: bool) {
        let text = if v { "true" } else { "false" };
        self.field(name).push_str(text);
    }

    /// A `[]byte` field tagged `omitempty`: base64.
    pub fn bytes(&mut self, name: &str, v: &[u8]) {
        if !v.is_empty() {
            let b64 = base64::engine::general_purpose::STANDARD.encode(v);
            push_str(self.field(name), &b64);
        }
    }

    /// A string field tagged `omitempty`.
    pub fn string(&mut self, name: &str, v: &str) {
        if !v.is_empty() {
            push_str(self.field(name), v);
        }
    }

    /// A string field without `omitempty`.
    pub fn string_always(&mut self, name: &str, v: &str) {
        push_str(self.field(name), v);
    }

    /// A `[]string` field tagged `omitempty`.
    pub fn strings(&mut self, name: &str, v: &[String]) {
        if v.is_empty() {
            return;
        }
        let out = self.field(name);
        out.push('[');
        for (i, s) in v.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            push_str(out, s);
        }
        out.push(']');
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn escapes_like_go() {
        let mut s = String::new();
        push_str(&mut s, "a<b>&\"\\\n\u{1}\u{2028}é");
        assert_eq!(s, r#""a\u003cb\u003e\u0026\"\\\n\u0001\u2028é""#);
    }

    #[test]
    fn omits_empty_fields() {
        let mut s = String::new();
        let mut o = Object::open(&mut s);
        o.int("zero", 0i64);
        o.int("n", 5u64);
        o.flag("no", false);
        o.bytes("key", b"foo");
        o.bool_always("health", false);
        o.close();
        assert_eq!(s, r#"{"n":5,"key":"Zm9v","health":false}"#);
    }
}
