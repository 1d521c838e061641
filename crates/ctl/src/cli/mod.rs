//! etcdctl's command line: what it declares ([`spec`]), how flags hold
//! values and take them from the environment ([`flagset`]), how argv is
//! read ([`parse`]) and the usage text ([`usage`]).

pub mod flagset;
pub mod parse;
pub mod spec;
pub mod usage;
