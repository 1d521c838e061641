//! The `protobuf` format: the response's wire encoding, raw.

use crate::error::Error;
use crate::io::Io;

pub fn print(io: &mut Io<'_>, message: &impl prost::Message) -> Result<(), Error> {
    io.write(&message.encode_to_vec());
    Ok(())
}
