//! What etcdctl's cobra tree declares: every command this crate runs, its
//! use line, descriptions and flags, plus the names and one-line summaries of
//! all etcdctl 3.4 commands (the root help lists them and cobra resolves
//! prefixes and suggestions against them). Texts are etcdctl's, byte for
//! byte, because usage and error output quote them.

/// How pflag stores a flag's value, which decides parsing and how usage
/// shows the default.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Bool,
    String,
    StringSlice,
    Int64,
    Duration,
    /// Takes any value and keeps none (etcdctl's `discardValue`).
    Discard,
}

/// One flag as cobra declares it.
#[derive(Debug)]
pub struct FlagSpec {
    pub name: &'static str,
    pub short: Option<char>,
    pub kind: Kind,
    /// The default as pflag prints it (`DefValue`).
    pub default: &'static str,
    pub usage: &'static str,
    /// Left out of usage texts (cobra's `MarkHidden`).
    pub hidden: bool,
}

const fn flag(
    name: &'static str,
    kind: Kind,
    default: &'static str,
    usage: &'static str,
) -> FlagSpec {
    FlagSpec {
        name,
        short: None,
        kind,
        default,
        usage,
        hidden: false,
    }
}

/// A flag etcdctl 3.4 does not have but later versions do; accepted, yet
/// kept out of usage so the 3.4 texts stay byte-identical.
const fn hidden_flag(
    name: &'static str,
    kind: Kind,
    default: &'static str,
    usage: &'static str,
) -> FlagSpec {
    FlagSpec {
        name,
        short: None,
        kind,
        default,
        usage,
        hidden: true,
    }
}

const fn short_flag(
    name: &'static str,
    short: char,
    kind: Kind,
    default: &'static str,
    usage: &'static str,
) -> FlagSpec {
    FlagSpec {
        name,
        short: Some(short),
        kind,
        default,
        usage,
        hidden: false,
    }
}

/// etcdctl's persistent root flags.
pub static GLOBAL_FLAGS: &[FlagSpec] = &[
    flag(
        "cacert",
        Kind::String,
        "",
        "verify certificates of TLS-enabled secure servers using this CA bundle",
    ),
    flag(
        "cert",
        Kind::String,
        "",
        "identify secure client using this TLS certificate file",
    ),
    flag(
        "command-timeout",
        Kind::Duration,
        "5s",
        "timeout for short running command (excluding dial timeout)",
    ),
    flag(
        "debug",
        Kind::Bool,
        "false",
        "enable client-side debug logging",
    ),
    flag(
        "dial-timeout",
        Kind::Duration,
        "2s",
        "dial timeout for client connections",
    ),
    short_flag(
        "discovery-srv",
        'd',
        Kind::String,
        "",
        "domain name to query for SRV records describing cluster endpoints",
    ),
    flag(
        "discovery-srv-name",
        Kind::String,
        "",
        "service name to query when using DNS discovery",
    ),
    flag(
        "endpoints",
        Kind::StringSlice,
        "[127.0.0.1:2379]",
        "gRPC endpoints",
    ),
    flag(
        "hex",
        Kind::Bool,
        "false",
        "print byte strings as hex encoded strings",
    ),
    flag(
        "insecure-discovery",
        Kind::Bool,
        "true",
        "accept insecure SRV records describing cluster endpoints",
    ),
    flag(
        "insecure-skip-tls-verify",
        Kind::Bool,
        "false",
        "skip server certificate verification (CAUTION: this option should be enabled only for testing purposes)",
    ),
    flag(
        "insecure-transport",
        Kind::Bool,
        "true",
        "disable transport security for client connections",
    ),
    flag(
        "keepalive-time",
        Kind::Duration,
        "2s",
        "keepalive time for client connections",
    ),
    flag(
        "keepalive-timeout",
        Kind::Duration,
        "6s",
        "keepalive timeout for client connections",
    ),
    flag(
        "key",
        Kind::String,
        "",
        "identify secure client using this TLS key file",
    ),
    flag(
        "password",
        Kind::String,
        "",
        "password for authentication (if this option is used, --user option shouldn't include password)",
    ),
    flag(
        "user",
        Kind::String,
        "",
        "username[:password] for authentication (prompt if password is not supplied)",
    ),
    short_flag(
        "write-out",
        'w',
        Kind::String,
        "simple",
        "set the output format (fields, json, protobuf, simple, table)",
    ),
];

/// A command this crate runs (or a group holding such commands).
#[derive(Debug)]
pub struct CommandSpec {
    /// Names from below the root, e.g. `["endpoint", "status"]`.
    pub path: &'static [&'static str],
    /// cobra's `Use`.
    pub use_line: &'static str,
    pub short: &'static str,
    pub long: &'static str,
    /// Local flags other than `--help`.
    pub flags: &'static [FlagSpec],
    /// Flags this command passes down to its subcommands.
    pub persistent: &'static [FlagSpec],
    /// Whether it has a `Run` (groups such as `endpoint` do not).
    pub runnable: bool,
}

const PUT_LONG: &str = "
Puts the given key into the store.

When <value> begins with '-', <value> is interpreted as a flag.
Insert '--' for workaround:

$ put <key> -- <value>
$ put -- <key> <value>

If <value> isn't given as a command line argument and '--ignore-value' is not specified,
this command tries to read the value from standard input.

If <lease> isn't given as a command line argument and '--ignore-lease' is not specified,
this command tries to read the value from standard input.

For example,
$ cat file | put <key>
will store the content of the file to <key>.
";

const STATUS_LONG: &str = "When --write-out is set to simple, this command prints out comma-separated status lists for each endpoint.
The items in the lists are endpoint, ID, version, db size, is leader, is learner, raft term, raft index, raft applied index, errors.
";

pub static GET_FLAGS: &[FlagSpec] = &[
    flag(
        "consistency",
        Kind::String,
        "l",
        "Linearizable(l) or Serializable(s)",
    ),
    flag(
        "order",
        Kind::String,
        "",
        "Order of results; ASCEND or DESCEND (ASCEND by default)",
    ),
    flag(
        "sort-by",
        Kind::String,
        "",
        "Sort target; CREATE, KEY, MODIFY, VALUE, or VERSION",
    ),
    flag("limit", Kind::Int64, "0", "Maximum number of results"),
    flag(
        "prefix",
        Kind::Bool,
        "false",
        "Get keys with matching prefix",
    ),
    flag(
        "from-key",
        Kind::Bool,
        "false",
        "Get keys that are greater than or equal to the given key using byte compare",
    ),
    flag("rev", Kind::Int64, "0", "Specify the kv revision"),
    flag("keys-only", Kind::Bool, "false", "Get only the keys"),
    hidden_flag("count-only", Kind::Bool, "false", "Get only the count"),
    flag(
        "print-value-only",
        Kind::Bool,
        "false",
        "Only write values when using the \"simple\" output format",
    ),
];

pub static PUT_FLAGS: &[FlagSpec] = &[
    flag(
        "lease",
        Kind::String,
        "0",
        "lease ID (in hexadecimal) to attach to the key",
    ),
    flag(
        "prev-kv",
        Kind::Bool,
        "false",
        "return the previous key-value pair before modification",
    ),
    flag(
        "ignore-value",
        Kind::Bool,
        "false",
        "updates the key using its current value",
    ),
    flag(
        "ignore-lease",
        Kind::Bool,
        "false",
        "updates the key using its current lease",
    ),
];

pub static DEL_FLAGS: &[FlagSpec] = &[
    flag(
        "prefix",
        Kind::Bool,
        "false",
        "delete keys with matching prefix",
    ),
    flag(
        "prev-kv",
        Kind::Bool,
        "false",
        "return deleted key-value pairs",
    ),
    flag(
        "from-key",
        Kind::Bool,
        "false",
        "delete keys that are greater than or equal to the given key using byte compare",
    ),
];

static TXN_FLAGS: &[FlagSpec] = &[short_flag(
    "interactive",
    'i',
    Kind::Bool,
    "false",
    "Input transaction in interactive mode",
)];

static COMPACTION_FLAGS: &[FlagSpec] = &[flag(
    "physical",
    Kind::Bool,
    "false",
    "'true' to wait for compaction to physically remove all old revisions",
)];

static ENDPOINT_FLAGS: &[FlagSpec] = &[flag(
    "cluster",
    Kind::Bool,
    "false",
    "use all endpoints from the cluster member list",
)];

static HASHKV_FLAGS: &[FlagSpec] = &[flag(
    "rev",
    Kind::Int64,
    "0",
    "maximum revision to hash (default: all revisions)",
)];

/// `watch`'s own flags, which an interactive `watch` line is parsed against.
pub static WATCH_FLAGS: &[FlagSpec] = &[
    short_flag("interactive", 'i', Kind::Bool, "false", "Interactive mode"),
    flag(
        "prefix",
        Kind::Bool,
        "false",
        "Watch on a prefix if prefix is set",
    ),
    flag("rev", Kind::Int64, "0", "Revision to start watching"),
    flag(
        "prev-kv",
        Kind::Bool,
        "false",
        "get the previous key-value pair before the event happens",
    ),
];

/// Flags etcdctl adds to `watch`'s inherited set only while it reads the
/// environment, so `ETCDCTL_WATCH_KEY` and `ETCDCTL_WATCH_RANGE_END` count
/// as known variables.
pub static WATCH_ENV_FLAGS: &[FlagSpec] = &[
    flag("watch-key", Kind::Discard, "", ""),
    flag("watch-range-end", Kind::Discard, "", ""),
];

static TIMETOLIVE_FLAGS: &[FlagSpec] = &[flag(
    "keys",
    Kind::Bool,
    "false",
    "Get keys attached to this lease",
)];

static KEEP_ALIVE_FLAGS: &[FlagSpec] = &[flag(
    "once",
    Kind::Bool,
    "false",
    "Resets the keep-alive time to its original value and exits immediately",
)];

static ELECT_FLAGS: &[FlagSpec] = &[short_flag(
    "listen",
    'l',
    Kind::Bool,
    "false",
    "observation mode",
)];

static LOCK_FLAGS: &[FlagSpec] = &[flag("ttl", Kind::Int64, "10", "timeout for session")];

static MEMBER_ADD_FLAGS: &[FlagSpec] = &[
    flag(
        "peer-urls",
        Kind::String,
        "",
        "comma separated peer URLs for the new member.",
    ),
    flag(
        "learner",
        Kind::Bool,
        "false",
        "indicates if the new member is raft learner",
    ),
];

static MEMBER_UPDATE_FLAGS: &[FlagSpec] = &[flag(
    "peer-urls",
    Kind::String,
    "",
    "comma separated peer URLs for the updated member.",
)];

static MAKE_MIRROR_FLAGS: &[FlagSpec] = &[
    flag("prefix", Kind::String, "", "Key-value prefix to mirror"),
    flag(
        "dest-prefix",
        Kind::String,
        "",
        "destination prefix to mirror a prefix to a different prefix in the destination cluster",
    ),
    flag(
        "no-dest-prefix",
        Kind::Bool,
        "false",
        "mirror key-values to the root of the destination cluster",
    ),
    flag(
        "dest-cert",
        Kind::String,
        "",
        "Identify secure client using this TLS certificate file for the destination cluster",
    ),
    flag(
        "dest-key",
        Kind::String,
        "",
        "Identify secure client using this TLS key file",
    ),
    flag(
        "dest-cacert",
        Kind::String,
        "",
        "Verify certificates of TLS enabled secure servers using this CA bundle",
    ),
    flag(
        "dest-insecure-transport",
        Kind::Bool,
        "true",
        "Disable transport security for client connections",
    ),
];

const MEMBER_LIST_LONG: &str = "When --write-out is set to simple, this command prints out comma-separated member lists for each endpoint.
The items in the lists are ID, Status, Name, Peer Addrs, Client Addrs, Is Learner.
";

const MEMBER_PROMOTE_LONG: &str =
    "Promotes a non-voting learner member to a voting one in the cluster.
";

/// The root command.
pub static ROOT: CommandSpec = CommandSpec {
    path: &[],
    use_line: "etcdctl",
    short: "A simple command line client for etcd3.",
    long: "",
    flags: &[],
    persistent: GLOBAL_FLAGS,
    runnable: false,
};

/// The commands this crate implements.
pub static COMMANDS: &[CommandSpec] = &[
    CommandSpec {
        path: &["get"],
        use_line: "get [options] <key> [range_end]",
        short: "Gets the key or a range of keys",
        long: "",
        flags: GET_FLAGS,
        persistent: &[],
        runnable: true,
    },
    CommandSpec {
        path: &["put"],
        use_line: "put [options] <key> <value> (<value> can also be given from stdin)",
        short: "Puts the given key into the store",
        long: PUT_LONG,
        flags: PUT_FLAGS,
        persistent: &[],
        runnable: true,
    },
    CommandSpec {
        path: &["del"],
        use_line: "del [options] <key> [range_end]",
        short: "Removes the specified key or range of keys [key, range_end)",
        long: "",
        flags: DEL_FLAGS,
        persistent: &[],
        runnable: true,
    },
    CommandSpec {
        path: &["txn"],
        use_line: "txn [options]",
        short: "Txn processes all the requests in one transaction",
        long: "",
        flags: TXN_FLAGS,
        persistent: &[],
        runnable: true,
    },
    CommandSpec {
        path: &["compaction"],
        use_line: "compaction [options] <revision>",
        short: "Compacts the event history in etcd",
        long: "",
        flags: COMPACTION_FLAGS,
        persistent: &[],
        runnable: true,
    },
    CommandSpec {
        path: &["endpoint"],
        use_line: "endpoint <subcommand>",
        short: "Endpoint related commands",
        long: "",
        flags: &[],
        persistent: ENDPOINT_FLAGS,
        runnable: false,
    },
    CommandSpec {
        path: &["endpoint", "health"],
        use_line: "health",
        short: "Checks the healthiness of endpoints specified in `--endpoints` flag",
        long: "",
        flags: &[],
        persistent: &[],
        runnable: true,
    },
    CommandSpec {
        path: &["endpoint", "status"],
        use_line: "status",
        short: "Prints out the status of endpoints specified in `--endpoints` flag",
        long: STATUS_LONG,
        flags: &[],
        persistent: &[],
        runnable: true,
    },
    CommandSpec {
        path: &["endpoint", "hashkv"],
        use_line: "hashkv",
        short: "Prints the KV history hash for each endpoint in --endpoints",
        long: "",
        flags: &[],
        persistent: HASHKV_FLAGS,
        runnable: true,
    },
    CommandSpec {
        path: &["watch"],
        use_line: "watch [options] [key or prefix] [range_end] [--] [exec-command arg1 arg2 ...]",
        short: "Watches events stream on keys or prefixes",
        long: "",
        flags: WATCH_FLAGS,
        persistent: &[],
        runnable: true,
    },
    CommandSpec {
        path: &["lease"],
        use_line: "lease <subcommand>",
        short: "Lease related commands",
        long: "",
        flags: &[],
        persistent: &[],
        runnable: false,
    },
    CommandSpec {
        path: &["lease", "grant"],
        use_line: "grant <ttl>",
        short: "Creates leases",
        long: "",
        flags: &[],
        persistent: &[],
        runnable: true,
    },
    CommandSpec {
        path: &["lease", "revoke"],
        use_line: "revoke <leaseID>",
        short: "Revokes leases",
        long: "",
        flags: &[],
        persistent: &[],
        runnable: true,
    },
    CommandSpec {
        path: &["lease", "timetolive"],
        use_line: "timetolive <leaseID> [options]",
        short: "Get lease information",
        long: "",
        flags: TIMETOLIVE_FLAGS,
        persistent: &[],
        runnable: true,
    },
    CommandSpec {
        path: &["lease", "list"],
        use_line: "list",
        short: "List all active leases",
        long: "",
        flags: &[],
        persistent: &[],
        runnable: true,
    },
    CommandSpec {
        path: &["lease", "keep-alive"],
        use_line: "keep-alive [options] <leaseID>",
        short: "Keeps leases alive (renew)",
        long: "",
        flags: KEEP_ALIVE_FLAGS,
        persistent: &[],
        runnable: true,
    },
    CommandSpec {
        path: &["elect"],
        use_line: "elect <election-name> [proposal]",
        short: "Observes and participates in leader election",
        long: "",
        flags: ELECT_FLAGS,
        persistent: &[],
        runnable: true,
    },
    CommandSpec {
        path: &["lock"],
        use_line: "lock <lockname> [exec-command arg1 arg2 ...]",
        short: "Acquires a named lock",
        long: "",
        flags: LOCK_FLAGS,
        persistent: &[],
        runnable: true,
    },
    CommandSpec {
        path: &["member"],
        use_line: "member <subcommand>",
        short: "Membership related commands",
        long: "",
        flags: &[],
        persistent: &[],
        runnable: false,
    },
    CommandSpec {
        path: &["member", "add"],
        use_line: "add <memberName> [options]",
        short: "Adds a member into the cluster",
        long: "",
        flags: MEMBER_ADD_FLAGS,
        persistent: &[],
        runnable: true,
    },
    CommandSpec {
        path: &["member", "remove"],
        use_line: "remove <memberID>",
        short: "Removes a member from the cluster",
        long: "",
        flags: &[],
        persistent: &[],
        runnable: true,
    },
    CommandSpec {
        path: &["member", "update"],
        use_line: "update <memberID> [options]",
        short: "Updates a member in the cluster",
        long: "",
        flags: MEMBER_UPDATE_FLAGS,
        persistent: &[],
        runnable: true,
    },
    CommandSpec {
        path: &["member", "list"],
        use_line: "list",
        short: "Lists all members in the cluster",
        long: MEMBER_LIST_LONG,
        flags: &[],
        persistent: &[],
        runnable: true,
    },
    CommandSpec {
        path: &["member", "promote"],
        use_line: "promote <memberID>",
        short: "Promotes a non-voting member in the cluster",
        long: MEMBER_PROMOTE_LONG,
        flags: &[],
        persistent: &[],
        runnable: true,
    },
    CommandSpec {
        path: &["make-mirror"],
        use_line: "make-mirror [options] <destination>",
        short: "Makes a mirror at the destination etcd cluster",
        long: "",
        flags: MAKE_MIRROR_FLAGS,
        persistent: &[],
        runnable: true,
    },
    CommandSpec {
        path: &["move-leader"],
        use_line: "move-leader <transferee-member-id>",
        short: "Transfers leadership to another etcd cluster member.",
        long: "",
        flags: &[],
        persistent: &[],
        runnable: true,
    },
    CommandSpec {
        path: &["version"],
        use_line: "version",
        short: "Prints the version of etcdctl",
        long: "",
        flags: &[],
        persistent: &[],
        runnable: true,
    },
];

/// Every runnable etcdctl 3.4 command (cobra's sorted tree, flattened) with
/// its summary, as the root help lists them.
pub static ETCDCTL_COMMANDS: &[(&str, &str)] = &[
    ("alarm disarm", "Disarms all alarms"),
    ("alarm list", "Lists all alarms"),
    ("auth disable", "Disables authentication"),
    ("auth enable", "Enables authentication"),
    (
        "check datascale",
        "Check the memory usage of holding data for different workloads on a given server endpoint.",
    ),
    ("check perf", "Check the performance of the etcd cluster"),
    ("compaction", "Compacts the event history in etcd"),
    (
        "completion bash",
        "Generate the autocompletion script for bash",
    ),
    (
        "completion fish",
        "Generate the autocompletion script for fish",
    ),
    (
        "completion powershell",
        "Generate the autocompletion script for powershell",
    ),
    (
        "completion zsh",
        "Generate the autocompletion script for zsh",
    ),
    (
        "defrag",
        "Defragments the storage of the etcd members with given endpoints",
    ),
    (
        "del",
        "Removes the specified key or range of keys [key, range_end)",
    ),
    ("elect", "Observes and participates in leader election"),
    (
        "endpoint hashkv",
        "Prints the KV history hash for each endpoint in --endpoints",
    ),
    (
        "endpoint health",
        "Checks the healthiness of endpoints specified in `--endpoints` flag",
    ),
    (
        "endpoint status",
        "Prints out the status of endpoints specified in `--endpoints` flag",
    ),
    ("get", "Gets the key or a range of keys"),
    ("help", "Help about any command"),
    ("lease grant", "Creates leases"),
    ("lease keep-alive", "Keeps leases alive (renew)"),
    ("lease list", "List all active leases"),
    ("lease revoke", "Revokes leases"),
    ("lease timetolive", "Get lease information"),
    ("lock", "Acquires a named lock"),
    (
        "make-mirror",
        "Makes a mirror at the destination etcd cluster",
    ),
    ("member add", "Adds a member into the cluster"),
    ("member list", "Lists all members in the cluster"),
    (
        "member promote",
        "Promotes a non-voting member in the cluster",
    ),
    ("member remove", "Removes a member from the cluster"),
    ("member update", "Updates a member in the cluster"),
    ("migrate", "Migrates keys in a v2 store to a mvcc store"),
    (
        "move-leader",
        "Transfers leadership to another etcd cluster member.",
    ),
    ("put", "Puts the given key into the store"),
    ("role add", "Adds a new role"),
    ("role delete", "Deletes a role"),
    ("role get", "Gets detailed information of a role"),
    ("role grant-permission", "Grants a key to a role"),
    ("role list", "Lists all roles"),
    ("role revoke-permission", "Revokes a key from a role"),
    (
        "snapshot restore",
        "Restores an etcd member snapshot to an etcd directory",
    ),
    (
        "snapshot save",
        "Stores an etcd node backend snapshot to a given file",
    ),
    (
        "snapshot status",
        "Gets backend snapshot status of a given file",
    ),
    ("txn", "Txn processes all the requests in one transaction"),
    ("user add", "Adds a new user"),
    ("user delete", "Deletes a user"),
    ("user get", "Gets detailed information of a user"),
    ("user grant-role", "Grants a role to a user"),
    ("user list", "Lists all users"),
    ("user passwd", "Changes password of user"),
    ("user revoke-role", "Revokes a role from a user"),
    ("version", "Prints the version of etcdctl"),
    ("watch", "Watches events stream on keys or prefixes"),
];

/// etcdctl's top-level commands in the order it adds them, which is the
/// order cobra suggests them in (its own `help` is never suggested).
pub static SUGGESTION_ORDER: &[&str] = &[
    "get",
    "put",
    "del",
    "txn",
    "compaction",
    "alarm",
    "defrag",
    "endpoint",
    "move-leader",
    "watch",
    "version",
    "lease",
    "member",
    "snapshot",
    "make-mirror",
    "migrate",
    "lock",
    "elect",
    "auth",
    "user",
    "role",
    "check",
    "completion",
];

/// The spec of the command at `path`, if this crate has it.
pub fn find(path: &[String]) -> Option<&'static CommandSpec> {
    if path.is_empty() {
        return Some(&ROOT);
    }
    COMMANDS
        .iter()
        .find(|c| c.path.len() == path.len() && c.path.iter().zip(path).all(|(a, b)| a == b))
}

/// The direct children of the command at `path`, as cobra sorts them.
pub fn children(path: &[String]) -> Vec<&'static str> {
    let mut names: Vec<&'static str> = ETCDCTL_COMMANDS
        .iter()
        .filter_map(|(full, _)| {
            let parts: Vec<&str> = full.split(' ').collect();
            let prefix_matches =
                parts.len() > path.len() && parts.iter().zip(path).all(|(a, b)| *a == b.as_str());
            prefix_matches.then(|| parts[path.len()])
        })
        .collect();
    names.dedup();
    names
}

/// Flags a command inherits: the persistent flags of its ancestors.
pub fn inherited_flags(path: &[String]) -> Vec<&'static FlagSpec> {
    let mut flags: Vec<&'static FlagSpec> = GLOBAL_FLAGS.iter().collect();
    for depth in 1..path.len() {
        if let Some(parent) = find(&path[..depth]) {
            flags.extend(parent.persistent.iter());
        }
    }
    flags.sort_by_key(|f| f.name);
    flags
}

/// Flags a command owns: its own and its persistent ones, plus `--help`.
pub fn local_flags(spec: &'static CommandSpec) -> Vec<&'static FlagSpec> {
    let mut flags: Vec<&'static FlagSpec> =
        spec.flags.iter().chain(spec.persistent.iter()).collect();
    flags.push(&HELP);
    flags.sort_by_key(|f| f.name);
    flags
}

/// cobra's `--help`; its usage text names the command, so usage renders it
/// specially.
pub static HELP: FlagSpec = short_flag("help", 'h', Kind::Bool, "false", "help for ");
