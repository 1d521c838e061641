//! Generated protobuf modules, one per proto package.

#![allow(clippy::all, clippy::pedantic, missing_docs)]

pub mod mvccpb {
    include!(concat!(env!("OUT_DIR"), "/mvccpb.rs"));
    include!(concat!(env!("OUT_DIR"), "/mvccpb.serde.rs"));
}

pub mod authpb {
    include!(concat!(env!("OUT_DIR"), "/authpb.rs"));
    include!(concat!(env!("OUT_DIR"), "/authpb.serde.rs"));
}

pub mod membershippb {
    include!(concat!(env!("OUT_DIR"), "/membershippb.rs"));
    include!(concat!(env!("OUT_DIR"), "/membershippb.serde.rs"));
}

pub mod etcdserverpb {
    include!(concat!(env!("OUT_DIR"), "/etcdserverpb.rs"));
    include!(concat!(env!("OUT_DIR"), "/etcdserverpb.serde.rs"));
}

pub mod v3electionpb {
    include!(concat!(env!("OUT_DIR"), "/v3electionpb.rs"));
    include!(concat!(env!("OUT_DIR"), "/v3electionpb.serde.rs"));
}

pub mod v3lockpb {
    include!(concat!(env!("OUT_DIR"), "/v3lockpb.rs"));
    include!(concat!(env!("OUT_DIR"), "/v3lockpb.serde.rs"));
}
