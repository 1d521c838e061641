//! Go's text/tabwriter as etcdctl's usage output configures it (minwidth 0,
//! tabwidth 8, padding 1, padding with tabs): tab-terminated cells in
//! adjacent lines form a column, and each column is padded with tabs to the
//! next multiple of 8 past its widest cell.

const TAB_WIDTH: usize = 8;
const PADDING: usize = 1;

struct Line<'a> {
    cells: Vec<&'a str>,
}

impl Line<'_> {
    /// Cells terminated by a tab (all but the trailing text).
    fn terminated(&self) -> usize {
        self.cells.len() - 1
    }
}

/// Aligns `text` into columns.
pub fn align(text: &str) -> String {
    let lines: Vec<Line<'_>> = text
        .split('\n')
        .map(|l| Line {
            cells: l.split('\t').collect(),
        })
        .collect();
    let mut out = String::with_capacity(text.len() * 2);
    let mut widths = Vec::new();
    format_block(&lines, 0, lines.len(), &mut widths, &mut out);
    out
}

fn format_block(
    lines: &[Line<'_>],
    line0: usize,
    line1: usize,
    widths: &mut Vec<usize>,
    out: &mut String,
) {
    let column = widths.len();
    let mut start = line0;
    let mut this = line0;
    while this < line1 {
        if column >= lines[this].terminated() {
            this += 1;
            continue;
        }
        write_lines(lines, start, this, widths, out);
        start = this;
        let mut width = 0;
        while this < line1 && column < lines[this].terminated() {
            width = width.max(lines[this].cells[column].chars().count() + PADDING);
            this += 1;
        }
        widths.push(width);
        format_block(lines, start, this, widths, out);
        widths.pop();
        start = this;
    }
    write_lines(lines, start, line1, widths, out);
}

fn write_lines(lines: &[Line<'_>], line0: usize, line1: usize, widths: &[usize], out: &mut String) {
    for (i, line) in lines.iter().enumerate().take(line1).skip(line0) {
        for (j, cell) in line.cells.iter().enumerate() {
            out.push_str(cell);
            if j < line.terminated() && j < widths.len() {
                let cell_width = widths[j].div_ceil(TAB_WIDTH) * TAB_WIDTH;
                let pad = cell_width - cell.chars().count();
                out.push_str(&"\t".repeat(pad.div_ceil(TAB_WIDTH)));
            }
        }
        if i + 1 < lines.len() {
            out.push('\n');
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn pads_columns_with_tabs() {
        let text =
            "  -h, --help[=false]\thelp for del\n      --prefix[=false]\tx\n\nOPTIONS:\n\tname\n";
        assert_eq!(
            align(text),
            "  -h, --help[=false]\thelp for del\n      --prefix[=false]\tx\n\nOPTIONS:\n\tname\n"
        );
    }

    #[test]
    fn blocks_break_at_lines_without_cells() {
        let text = "a\tb\nlonger-than-eight-chars\tc\nplain\nx\ty\n";
        assert_eq!(
            align(text),
            "a\t\t\tb\nlonger-than-eight-chars\tc\nplain\nx\ty\n"
        );
    }
}
