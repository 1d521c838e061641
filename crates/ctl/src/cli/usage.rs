//! etcdctl's usage text (ctlv3/help.go's template): what `--help` prints and
//! what a flag error prints before the error.

use super::spec::{self, FlagSpec, Kind};
use crate::go::quote::quote;
use crate::go::tabwriter;
use crate::version;

/// The usage of the command at `path` (names below the root).
pub fn render(path: &[String]) -> String {
    render_with(path, true)
}

/// The usage with or without cobra's `--help` flag, which cobra only adds
/// to a command it runs (so the root usage that `help <unknown>` prints
/// lacks it).
pub fn render_with(path: &[String], with_help: bool) -> String {
    let Some(cmd) = spec::find(path) else {
        return String::new();
    };
    let is_root = path.is_empty();
    let leaf = path.last().map_or("etcdctl", String::as_str);
    let mut t = String::new();
    t.push_str("NAME:\n");
    let name = if is_root {
        "etcdctl".to_string()
    } else {
        path.join(" ")
    };
    t.push_str(&format!("\t{name} - {}\n", cmd.short));
    t.push_str("\nUSAGE:\n");
    let parent: Vec<&str> = std::iter::once("etcdctl")
        .chain(
            path.iter()
                .take(path.len().saturating_sub(1))
                .map(String::as_str),
        )
        .collect();
    let use_line = if is_root {
        format!("{} [flags]", cmd.use_line)
    } else {
        format!("{} {} [flags]", parent.join(" "), cmd.use_line)
    };
    t.push_str(&format!("\t{use_line}\n"));
    if is_root {
        t.push_str(&format!("\nVERSION:\n\t{}\n", version::ETCDCTL));
    }
    let subcommands: Vec<(&str, &str)> = spec::ETCDCTL_COMMANDS
        .iter()
        .filter_map(|(full, short)| {
            let prefix = path.join(" ");
            let rel = if prefix.is_empty() {
                Some(*full)
            } else {
                full.strip_prefix(prefix.as_str())
                    .and_then(|r| r.strip_prefix(' '))
            };
            rel.map(|r| (r, *short))
        })
        .collect();
    if !subcommands.is_empty() {
        t.push_str(&format!("\nAPI VERSION:\n\t{}\n", version::API));
        t.push_str("\n\nCOMMANDS:\n");
        for (rel, short) in &subcommands {
            t.push_str(&format!("\t{rel}\t{short}\n"));
        }
    }
    if !cmd.long.is_empty() {
        t.push_str("\nDESCRIPTION:\n");
        for line in cmd.long.trim_matches(['\n', '\t', ' ']).split('\n') {
            t.push_str(&format!("\t{line}\n"));
        }
    }
    t.push_str("\nOPTIONS:\n");
    let mut local = spec::local_flags(cmd);
    if !with_help {
        local.retain(|f| !std::ptr::eq(*f, &spec::HELP));
    }
    t.push_str(&flag_usages(&local, leaf));
    if !is_root {
        t.push_str("\nGLOBAL OPTIONS:\n");
        t.push_str(&flag_usages(&spec::inherited_flags(path), leaf));
    }
    t.push('\n');
    tabwriter::align(&t)
}

/// ctlv3's `etcdFlagUsages`: one line per flag, sorted by name.
fn flag_usages(flags: &[&FlagSpec], leaf: &str) -> String {
    let mut s = String::new();
    for f in flags.iter().filter(|f| !f.hidden) {
        match f.short {
            Some(c) => s.push_str(&format!("  -{c}, --{}", f.name)),
            None => s.push_str(&format!("      --{}", f.name)),
        }
        let default = if f.kind == Kind::String {
            quote(f.default.as_bytes())
        } else {
            f.default.to_string()
        };
        if f.kind == Kind::Bool {
            s.push_str(&format!("[={default}]"));
        } else {
            s.push_str(&format!("={default}"));
        }
        let usage = if std::ptr::eq(*f, &spec::HELP) {
            format!("{}{leaf}", f.usage)
        } else {
            f.usage.to_string()
        };
        s.push_str(&format!("\t{usage}\n"));
    }
    s
}

/// cobra's default usage template, which etcdctl's txn shows (on stderr)
/// when an op line has a bad flag: `use_line` under a nameless root, then
/// pflag's `FlagUsages` of the op's flags.
pub fn cobra_default(use_line: &str, flags: &[&FlagSpec]) -> String {
    let mut lines: Vec<(String, String)> = Vec::new();
    for f in flags.iter().filter(|f| !f.hidden) {
        let mut head = match f.short {
            Some(c) => format!("  -{c}, --{}", f.name),
            None => format!("      --{}", f.name),
        };
        let type_name = match f.kind {
            Kind::Bool | Kind::Discard => "",
            Kind::String => "string",
            Kind::Int64 => "int",
            Kind::Duration => "duration",
            Kind::StringSlice => "strings",
        };
        if !type_name.is_empty() {
            head.push(' ');
            head.push_str(type_name);
        }
        let usage = if std::ptr::eq(*f, &spec::HELP) {
            format!(
                "{}{}",
                f.usage,
                use_line.split(' ').next().unwrap_or_default()
            )
        } else {
            f.usage.to_string()
        };
        let zero = matches!(f.default, "" | "false" | "0" | "0s" | "[]");
        let tail = match (zero, f.kind) {
            (true, _) => String::new(),
            (false, Kind::String) => format!(" (default {})", quote(f.default.as_bytes())),
            (false, _) => format!(" (default {})", f.default),
        };
        lines.push((head, format!("{usage}{tail}")));
    }
    let width = lines.iter().map(|(h, _)| h.len()).max().unwrap_or(0);
    let mut usages = String::new();
    for (head, usage) in &lines {
        usages.push_str(&format!(
            "{head} {} {usage}\n",
            " ".repeat(width + 1 - head.len())
        ));
    }
    format!(
        "Usage:\n   {use_line} [flags]\n\nFlags:\n{}\n",
        usages.trim_end()
    )
}
