//! Hiding what differs between two runs that behave the same: the text
//! around a varying value stays, the value becomes a placeholder.

/// A kind of value that varies for a reason other than behaviour. Every
/// step gets log timestamps and clientv3's random client ids masked; a step
/// opts into these.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mask {
    /// Measured durations (endpoint health's `took`).
    Durations,
    /// Database sizes (endpoint status's `dbSize`, `dbSizeInUse`, `DB
    /// SIZE`): they follow the storage engine's page layout.
    DbSize,
}

/// Replaces each occurrence of `start` + a value up to (not including)
/// `end` with `start` + `placeholder` + `end`.
fn mask_between(text: &str, start: &str, end: char, placeholder: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find(start) {
        out.push_str(&rest[..i + start.len()]);
        rest = &rest[i + start.len()..];
        let stop = rest.find(end).unwrap_or(rest.len());
        out.push_str(placeholder);
        rest = &rest[stop..];
    }
    out.push_str(rest);
    out
}

/// Replaces the digits right after each `start` with `placeholder`.
fn mask_number_after(text: &str, start: &str, placeholder: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find(start) {
        out.push_str(&rest[..i + start.len()]);
        rest = &rest[i + start.len()..];
        let digits = rest
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(rest.len());
        if digits > 0 {
            out.push_str(placeholder);
        }
        rest = &rest[digits..];
    }
    out.push_str(rest);
    out
}

fn is_capnslog_stamp(line: &str) -> bool {
    let b = line.as_bytes();
    b.len() > 27
        && b[4] == b'-'
        && b[7] == b'-'
        && b[10] == b' '
        && b[13] == b':'
        && b[19] == b'.'
        && b[26] == b' '
        && b[..4].iter().all(u8::is_ascii_digit)
}

/// Whether `word` reads as a Go duration such as `1.2ms` or `1m3.5s`.
fn is_duration(word: &str) -> bool {
    let units = ["ns", "µs", "us", "ms", "s", "m", "h"];
    let mut rest = word;
    let mut any = false;
    while !rest.is_empty() {
        let digits = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        if digits == 0 {
            return false;
        }
        rest = &rest[digits..];
        let Some(unit) = units.iter().find(|u| rest.starts_with(*u)) else {
            return false;
        };
        rest = &rest[unit.len()..];
        any = true;
    }
    any
}

fn mask_durations(line: &str) -> String {
    let words: Vec<String> = line
        .split(' ')
        .map(|w| {
            let bare = w.trim_matches(|c| c == '"' || c == ',' || c == '}' || c == ']');
            if is_duration(bare) {
                w.replace(bare, "<dur>")
            } else {
                w.to_string()
            }
        })
        .collect();
    mask_between(&words.join(" "), "\"took\":\"", '"', "<dur>")
}

/// Whether `word` is a number as go-humanize prints one (`74`, `9.8`).
fn is_size_number(word: &str) -> bool {
    !word.is_empty() && word.chars().all(|c| c.is_ascii_digit() || c == '.')
}

/// Sizes as go-humanize prints them in the simple and table formats
/// (`20 kB`, `1.2 MB`), then the JSON and fields formats' byte counts.
fn mask_db_sizes(line: &str) -> String {
    let units = ["B", "kB", "MB", "GB", "TB", "PB", "EB"];
    let words: Vec<&str> = line.split(' ').collect();
    let mut out: Vec<String> = Vec::with_capacity(words.len());
    let mut i = 0;
    while i < words.len() {
        let unit = words.get(i + 1).map(|w| w.trim_end_matches(','));
        if is_size_number(words[i]) && unit.is_some_and(|u| units.contains(&u)) {
            let comma = if words[i + 1].ends_with(',') { "," } else { "" };
            out.push(format!("<size>{comma}"));
            i += 2;
        } else {
            out.push(words[i].to_string());
            i += 1;
        }
    }
    let line = out.join(" ");
    let line = mask_number_after(&line, "\"dbSize\":", "<size>");
    let line = mask_number_after(&line, "\"dbSizeInUse\":", "<size>");
    mask_number_after(&line, "\"DBSize\" : ", "<size>")
}

/// A masked value changes a table column's width: squeeze runs of padding
/// and border dashes so only the cells' text is compared.
fn squeeze_table_line(line: &str) -> String {
    if !(line.starts_with('+') || line.starts_with('|')) {
        return line.to_string();
    }
    let mut squeezed = String::new();
    for c in line.chars() {
        if (c == ' ' || c == '-') && squeezed.ends_with(c) {
            continue;
        }
        squeezed.push(c);
    }
    squeezed
}

/// Hides what differs between two otherwise identical runs: zap and
/// capnslog timestamps and clientv3's random client ids always, plus what
/// `masks` name. Output that is not UTF-8 (the protobuf format) is compared
/// byte for byte, shown with escapes.
pub fn mask(bytes: &[u8], masks: &[Mask]) -> String {
    let Ok(text) = std::str::from_utf8(bytes) else {
        return bytes.escape_ascii().to_string();
    };
    let text = mask_between(text, "\"ts\":\"", '"', "<ts>");
    let text = mask_between(&text, "endpoint://client-", '/', "<id>");
    text.split('\n')
        .map(|line| {
            let mut line = if is_capnslog_stamp(line) {
                format!("<ts>{}", &line[26..])
            } else {
                line.to_string()
            };
            for m in masks {
                line = match m {
                    Mask::Durations => mask_durations(&line),
                    Mask::DbSize => mask_db_sizes(&line),
                };
            }
            if masks.is_empty() {
                line
            } else {
                squeeze_table_line(&line)
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_timestamps_ids_and_durations() {
        let log = br#"{"level":"warn","ts":"2026-11-24T01:09:32.957Z","target":"endpoint://client-3025dfcd-0f74-46b2-bbf3-567c6a366481/127.0.0.1:1"}"#;
        assert_eq!(
            mask(log, &[]),
            r#"{"level":"warn","ts":"<ts>","target":"endpoint://client-<id>/127.0.0.1:1"}"#
        );
        let warn = b"2026-11-24 01:10:56.914819 W | pkg/flags: unrecognized environment variable ETCDCTL_FOO=1";
        assert_eq!(
            mask(warn, &[]),
            "<ts> W | pkg/flags: unrecognized environment variable ETCDCTL_FOO=1"
        );
        let health =
            b"127.0.0.1:1 is healthy: successfully committed proposal: took = 1.032209ms\n";
        assert_eq!(
            mask(health, &[Mask::Durations]),
            "127.0.0.1:1 is healthy: successfully committed proposal: took = <dur>\n"
        );
        assert_eq!(
            mask(health, &[]),
            String::from_utf8_lossy(health),
            "durations stay unless asked for"
        );
        assert!(is_duration("795.977\u{b5}s") && is_duration("1m30.5s") && !is_duration("true"));
    }

    #[test]
    fn masks_db_sizes_in_every_format() {
        let simple = b"127.0.0.1:1, 8e9e05c52164694d, 3.4.23, 20 kB, true, false, 2, 4, 4, \n";
        assert_eq!(
            mask(simple, &[Mask::DbSize]),
            "127.0.0.1:1, 8e9e05c52164694d, 3.4.23, <size>, true, false, 2, 4, 4, \n"
        );
        let json =
            br#"{"version":"3.4.23","dbSize":20480,"leader":1,"raftIndex":4,"dbSizeInUse":16384}"#;
        assert_eq!(
            mask(json, &[Mask::DbSize]),
            r#"{"version":"3.4.23","dbSize":<size>,"leader":1,"raftIndex":4,"dbSizeInUse":<size>}"#
        );
        assert_eq!(
            mask(b"\"DBSize\" : 73728\n\"Leader\" : 1", &[Mask::DbSize]),
            "\"DBSize\" : <size>\n\"Leader\" : 1"
        );
        let small = mask(b"| 127.0.0.1:1 |  9.8 kB |  4 |", &[Mask::DbSize]);
        let large = mask(b"| 127.0.0.1:1 | 1.2 MB |  4 |", &[Mask::DbSize]);
        assert_eq!(small, "| 127.0.0.1:1 | <size> | 4 |");
        assert_eq!(small, large);
        let other = mask(b"| 127.0.0.1:1 | 1.2 MB |  5 |", &[Mask::DbSize]);
        assert_ne!(small, other, "the other cells still count");
    }

    #[test]
    fn compares_binary_output_byte_for_byte() {
        let a = mask(&[0x0a, 0xff, 0x01], &[]);
        let b = mask(&[0x0a, 0xfe, 0x01], &[]);
        assert_ne!(a, b);
        assert_eq!(a, "\\n\\xff\\x01");
    }
}
