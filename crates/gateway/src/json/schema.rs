//! The etcd message descriptors compiled from `proto/` by build.rs: field
//! names in both spellings, kinds, oneofs and enum names, which request
//! decoding walks.

use std::sync::OnceLock;

use prost_reflect::{DescriptorPool, MessageDescriptor};

static DESCRIPTOR_SET: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/etcd_descriptor.bin"));

fn pool() -> Result<&'static DescriptorPool, String> {
    static POOL: OnceLock<Result<DescriptorPool, String>> = OnceLock::new();
    POOL.get_or_init(|| DescriptorPool::decode(DESCRIPTOR_SET).map_err(|e| e.to_string()))
        .as_ref()
        .map_err(Clone::clone)
}

/// The descriptor of a message by full protobuf name
/// (`etcdserverpb.RangeRequest`).
pub(crate) fn message(full_name: &str) -> Result<MessageDescriptor, String> {
    pool()?
        .get_message_by_name(full_name)
        .ok_or_else(|| format!("no descriptor for message {full_name}"))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn etcd_messages_are_known() {
        let range = message("etcdserverpb.RangeRequest").unwrap();
        let sort = range.get_field_by_name("sort_order").unwrap();
        assert_eq!(sort.json_name(), "sortOrder");
        assert!(message("etcdserverpb.NoSuchThing").is_err());
    }

    /// Request decoding does not handle map fields, since etcd's protocol
    /// has none; this fails if a proto change brings one in.
    #[test]
    fn no_message_has_map_fields() {
        let pool = pool().unwrap();
        for msg in pool.all_messages() {
            for field in msg.fields() {
                assert!(
                    !field.is_map(),
                    "{} has map field {}",
                    msg.full_name(),
                    field.name()
                );
            }
        }
    }
}
