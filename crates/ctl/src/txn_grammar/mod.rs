//! etcdctl's txn language, as its `txn` command reads it from stdin: three
//! sections (comparisons, success ops, failure ops), each a run of lines
//! ended by an empty line. A comparison is `target("key") op "value"` with
//! targets `ver`/`version`, `c`/`create`, `m`/`mod`, `val`/`value` and
//! `lease`; an op is a `get`, `put` or `del` command line with its flags,
//! split into words the way etcdctl's `argify` does. Quirks of etcdctl 3.4
//! (a single-quoted word is cut by the number of words, a lease comparison
//! and an unknown operator panic) are kept, since scripts see them.

mod argify;
mod compare;
mod request;

pub use argify::argify;
pub use compare::parse_compare;
pub use request::parse_request;
