//! The table olekukonko/tablewriter draws for etcdctl's `table` format, with
//! the settings etcdctl uses: borders, a centred upper-case header, cells
//! aligned right, and cells wider than 30 columns word-wrapped.

use unicode_width::UnicodeWidthStr;

const MAX_WIDTH: usize = 30;

fn width(s: &str) -> usize {
    UnicodeWidthStr::width(s)
}

/// tablewriter's `Title`: `_` and most `.` become spaces, then upper case.
fn title(name: &str) -> String {
    let chars: Vec<char> = name.chars().collect();
    let is_num_or_space = |c: char| c.is_ascii_digit() || c == ' ';
    let mapped: String = chars
        .iter()
        .enumerate()
        .map(|(i, &c)| match c {
            '_' => ' ',
            '.' if (i != 0 && !is_num_or_space(chars[i - 1]))
                || (i + 1 != chars.len() && !is_num_or_space(chars[i + 1])) =>
            {
                ' '
            }
            c => c,
        })
        .collect();
    let trimmed = mapped.trim();
    if trimmed.is_empty() && !name.is_empty() {
        return " ".to_string();
    }
    trimmed.to_uppercase()
}

/// Breaks words into lines of at most `limit` columns with the least
/// squared slack (tablewriter's `WrapWords`).
fn wrap_words(words: &[&str], limit: usize) -> Vec<String> {
    const PENALTY: i64 = 100_000;
    let n = words.len();
    let mut length = vec![vec![0i64; n]; n];
    for i in 0..n {
        length[i][i] = width(words[i]) as i64;
        for j in i + 1..n {
            length[i][j] = length[i][j - 1] + 1 + width(words[j]) as i64;
        }
    }
    let limit = limit as i64;
    let mut cost = vec![i64::from(i32::MAX); n];
    let mut next_break = vec![0usize; n];
    for i in (0..n).rev() {
        if length[i][n - 1] <= limit {
            cost[i] = 0;
            next_break[i] = n;
        } else {
            for j in i + 1..n {
                let d = limit - length[i][j - 1];
                let mut c = d * d + cost[j];
                if length[i][j - 1] > limit {
                    c += PENALTY;
                }
                if c < cost[i] {
                    cost[i] = c;
                    next_break[i] = j;
                }
            }
        }
    }
    let mut lines = Vec::new();
    let mut i = 0;
    while i < n {
        let j = next_break[i].max(i + 1);
        lines.push(words[i..j].join(" "));
        i = j;
    }
    lines
}

/// A cell's lines after wrapping, and its widest line.
fn cell_lines(text: &str) -> (Vec<String>, usize) {
    let raw: Vec<&str> = text.split('\n').collect();
    let widest = raw
        .iter()
        .map(|l| width(l))
        .max()
        .unwrap_or(0)
        .min(MAX_WIDTH);
    let joined = raw.join(" ");
    let words: Vec<&str> = joined.split(' ').collect();
    let limit = words.iter().map(|w| width(w)).fold(widest, usize::max);
    let lines = wrap_words(&words, limit);
    let new_widest = lines.iter().map(|l| width(l)).fold(widest, usize::max);
    (lines, new_widest)
}

fn pad_center(s: &str, w: usize) -> String {
    let gap = w.saturating_sub(width(s));
    let left = gap / 2;
    format!("{}{s}{}", " ".repeat(left), " ".repeat(gap - left))
}

fn pad_left(s: &str, w: usize) -> String {
    format!("{}{s}", " ".repeat(w.saturating_sub(width(s))))
}

/// Renders `header` and `rows` as etcdctl prints them.
pub fn render(header: &[&str], rows: &[Vec<String>]) -> String {
    let mut widths = vec![0usize; header.len()];
    let fit = |col: usize, w: usize, widths: &mut Vec<usize>| {
        if col >= widths.len() {
            widths.resize(col + 1, 0);
        }
        widths[col] = widths[col].max(w);
    };
    let head: Vec<Vec<String>> = header
        .iter()
        .enumerate()
        .map(|(i, h)| {
            let (lines, w) = cell_lines(h);
            fit(i, w, &mut widths);
            lines
        })
        .collect();
    let body: Vec<Vec<Vec<String>>> = rows
        .iter()
        .map(|row| {
            row.iter()
                .enumerate()
                .map(|(i, c)| {
                    let (lines, w) = cell_lines(c);
                    fit(i, w, &mut widths);
                    lines
                })
                .collect()
        })
        .collect();
    let mut out = String::new();
    let rule: String = std::iter::once("+".to_string())
        .chain(widths.iter().map(|w| format!("{}+", "-".repeat(w + 2))))
        .collect();
    out.push_str(&rule);
    out.push('\n');
    let head_height = head.iter().map(Vec::len).max().unwrap_or(0);
    for x in 0..head_height {
        out.push('|');
        for (y, w) in widths.iter().enumerate() {
            let text = head
                .get(y)
                .and_then(|l| l.get(x))
                .map_or("", String::as_str);
            out.push_str(&format!(" {} |", pad_center(&title(text), *w)));
        }
        out.push('\n');
    }
    out.push_str(&rule);
    out.push('\n');
    for row in &body {
        let height = row.iter().map(Vec::len).max().unwrap_or(0);
        for x in 0..height {
            for (y, cell) in row.iter().enumerate() {
                let text = cell.get(x).map_or("  ", String::as_str);
                out.push_str(&format!("| {} ", pad_left(text, widths[y])));
            }
            out.push_str("|\n");
        }
    }
    out.push_str(&rule);
    out.push('\n');
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn draws_etcdctl_hashkv_table() {
        let t = render(
            &["endpoint", "hash"],
            &[vec!["127.0.0.1:23790".into(), "2020292994".into()]],
        );
        assert_eq!(
            t,
            "+-----------------+------------+\n\
             |    ENDPOINT     |    HASH    |\n\
             +-----------------+------------+\n\
             | 127.0.0.1:23790 | 2020292994 |\n\
             +-----------------+------------+\n"
        );
    }

    #[test]
    fn empty_cells_and_titles() {
        let t = render(
            &["took", "error"],
            &[vec!["933.176µs".into(), String::new()]],
        );
        assert_eq!(
            t,
            "+-----------+-------+\n\
             |   TOOK    | ERROR |\n\
             +-----------+-------+\n\
             | 933.176µs |       |\n\
             +-----------+-------+\n"
        );
        assert_eq!(title("db_size"), "DB SIZE");
        assert_eq!(title("v1.2"), "V1.2");
    }

    #[test]
    fn wraps_long_cells_at_thirty_columns() {
        let long = "etcdserver: mvcc: database space exceeded, alarm: NOSPACE";
        let t = render(&["errors"], &[vec![long.into()]]);
        let lines: Vec<&str> = t.lines().collect();
        assert!(lines.len() > 5, "{t}");
        assert!(lines.iter().all(|l| width(l) <= 34), "{t}");
    }
}
