//! etcdctl's txn language as `ctl txn` reads it from stdin: every line goes
//! through the word splitter, the comparison parser and the op parser.
//! None may panic (etcdctl's own panics are reported as `Error::Panic`
//! values), and a line without quotes or backslashes splits on blanks.

#![no_main]

use ctl::txn_grammar::{argify, parse_compare, parse_request};
use libfuzzer_sys::fuzz_target;

/// RE2's `\s`, which etcdctl's word pattern splits on.
fn is_re_space(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\n' | '\x0c' | '\r')
}

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    for raw in text.split('\n') {
        let line = raw.trim();
        if line.is_empty() {
            continue;
        }
        if let Ok(words) = argify(line)
            && !line.contains(['"', '\'', '\\'])
        {
            let plain: Vec<&[u8]> = line
                .split(is_re_space)
                .filter(|w| !w.is_empty())
                .map(str::as_bytes)
                .collect();
            assert_eq!(words, plain, "{line:?}");
        }
        let _ = parse_compare(line);
        let _ = parse_request(line, &mut std::io::empty());
    }
});
