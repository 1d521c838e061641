//! The snapshot dump format: every table of one read transaction as a
//! stream a leader sends to a member that is far behind, and which that
//! member turns back into a database file.
//!
//! Layout (integers big-endian):
//! - header: the magic `mvccdump`, the format version (u32, now 1);
//! - per table, in name order: the byte 1, the name's length (u8) and the
//!   name, the number of rows (u64), then each row as key length (u32),
//!   key, value length (u32), value, in key order;
//! - the byte 0, then the CRC-32C (u32) of every byte before it.
//!
//! Nothing follows the checksum. Both sides stream: a writer holds one row
//! at a time, a reader one row plus what the database buffers between its
//! interim commits. A reader learns the dump was damaged only at its end,
//! so it writes into a database nobody uses yet and the caller discards
//! that on an error.

use std::collections::HashSet;
use std::io::{BufReader, BufWriter, ErrorKind, Read, Write};

use crc::Digest;
use redb::{
    Database, Durability, ReadTransaction, ReadableTable, ReadableTableMetadata, TableDefinition,
    TableHandle,
};

use crate::Error;
use crate::hash::CASTAGNOLI;
use crate::tables::{ALL, Bytes, CONSISTENT_INDEX, META, decode_index};

const MAGIC: &[u8; 8] = b"mvccdump";
const VERSION: u32 = 1;
const TABLE: u8 = 1;
const END: u8 = 0;
/// Rows a reader inserts between interim commits are bounded by this many
/// bytes, so a large dump never sits in the database's write buffer whole.
const COMMIT_BYTES: usize = 64 << 20;
const BUFFER_BYTES: usize = 64 << 10;

fn write_failed(err: std::io::Error) -> Error {
    Error::Storage(format!("writing the snapshot: {err}"))
}

fn read_failed(err: std::io::Error) -> Error {
    if err.kind() == ErrorKind::UnexpectedEof {
        Error::Corrupt("the snapshot is truncated".into())
    } else {
        Error::Storage(format!("reading the snapshot: {err}"))
    }
}

fn damaged(why: impl std::fmt::Display) -> Error {
    Error::Corrupt(format!("damaged snapshot: {why}"))
}

/// Writes every table of `txn` to `out`; returns the consistent index the
/// dump carries.
pub(crate) fn write(txn: &ReadTransaction, out: &mut dyn Write) -> Result<u64, Error> {
    let consistent_index = {
        let meta = txn.open_table(META).map_err(Error::storage)?;
        match meta.get(CONSISTENT_INDEX).map_err(Error::storage)? {
            Some(v) => decode_index(v.value())?,
            None => 0,
        }
    };
    let mut w = HashingWriter {
        inner: BufWriter::with_capacity(BUFFER_BYTES, out),
        digest: CASTAGNOLI.digest(),
    };
    w.put(MAGIC)?;
    w.put(&VERSION.to_be_bytes())?;
    for definition in ALL {
        let table = txn.open_table(definition).map_err(Error::storage)?;
        let name = definition.name().as_bytes();
        let name_len =
            u8::try_from(name.len()).map_err(|_| Error::Storage("table name too long".into()))?;
        w.put(&[TABLE, name_len])?;
        w.put(name)?;
        w.put(&table.len().map_err(Error::storage)?.to_be_bytes())?;
        for entry in table.iter().map_err(Error::storage)? {
            let (k, v) = entry.map_err(Error::storage)?;
            w.put_field(k.value())?;
            w.put_field(v.value())?;
        }
    }
    w.put(&[END])?;
    let crc = w.digest.finalize();
    w.inner
        .write_all(&crc.to_be_bytes())
        .map_err(write_failed)?;
    w.inner.flush().map_err(write_failed)?;
    Ok(consistent_index)
}

struct HashingWriter<W: Write> {
    inner: W,
    digest: Digest<'static, u32>,
}

impl<W: Write> HashingWriter<W> {
    fn put(&mut self, bytes: &[u8]) -> Result<(), Error> {
        self.digest.update(bytes);
        self.inner.write_all(bytes).map_err(write_failed)
    }

    /// A length-prefixed key or value.
    fn put_field(&mut self, bytes: &[u8]) -> Result<(), Error> {
        let len = u32::try_from(bytes.len())
            .map_err(|_| Error::Storage(format!("a row of {} bytes", bytes.len())))?;
        self.put(&len.to_be_bytes())?;
        self.put(bytes)
    }
}

/// Reads a whole dump into `db`, a new database with every table and no
/// rows. The rows are committed without waiting for the disk; the caller
/// makes them durable once the dump proved whole.
pub(crate) fn read(dump: &mut dyn Read, db: &Database) -> Result<(), Error> {
    let mut r = HashingReader {
        inner: BufReader::with_capacity(BUFFER_BYTES, dump),
        digest: CASTAGNOLI.digest(),
    };
    let mut magic = [0; 8];
    r.take(&mut magic)?;
    if &magic != MAGIC {
        return Err(damaged("it does not start like a snapshot"));
    }
    let version = r.u32()?;
    if version != VERSION {
        return Err(damaged(format!("format version {version} is unknown")));
    }
    let mut seen = HashSet::new();
    loop {
        match r.u8()? {
            END => break,
            TABLE => {
                let definition = r.table_name()?;
                if !seen.insert(definition.name().to_owned()) {
                    return Err(damaged(format!("table {} twice", definition.name())));
                }
                let rows = r.u64()?;
                r.rows(db, definition, rows)?;
            }
            other => return Err(damaged(format!("unknown section {other}"))),
        }
    }
    let expected = r.digest.finalize();
    let mut stored = [0; 4];
    r.inner.read_exact(&mut stored).map_err(read_failed)?;
    if u32::from_be_bytes(stored) != expected {
        return Err(damaged("checksum mismatch"));
    }
    let mut extra = [0; 1];
    match r.inner.read(&mut extra) {
        Ok(0) => Ok(()),
        Ok(_) => Err(damaged("data after the checksum")),
        Err(err) => Err(read_failed(err)),
    }
}

struct HashingReader<R: Read> {
    inner: R,
    digest: Digest<'static, u32>,
}

impl<R: Read> HashingReader<R> {
    fn take(&mut self, buf: &mut [u8]) -> Result<(), Error> {
        self.inner.read_exact(buf).map_err(read_failed)?;
        self.digest.update(buf);
        Ok(())
    }

    fn u8(&mut self) -> Result<u8, Error> {
        let mut raw = [0; 1];
        self.take(&mut raw)?;
        Ok(raw[0])
    }

    fn u32(&mut self) -> Result<u32, Error> {
        let mut raw = [0; 4];
        self.take(&mut raw)?;
        Ok(u32::from_be_bytes(raw))
    }

    fn u64(&mut self) -> Result<u64, Error> {
        let mut raw = [0; 8];
        self.take(&mut raw)?;
        Ok(u64::from_be_bytes(raw))
    }

    /// A length-prefixed key or value into `into`. The buffer grows with
    /// the bytes that arrive, so a damaged length costs no more memory
    /// than the dump has left.
    fn field(&mut self, into: &mut Vec<u8>) -> Result<(), Error> {
        let len = u64::from(self.u32()?);
        into.clear();
        let got = (&mut self.inner)
            .take(len)
            .read_to_end(into)
            .map_err(read_failed)?;
        if got as u64 != len {
            return Err(read_failed(ErrorKind::UnexpectedEof.into()));
        }
        self.digest.update(into);
        Ok(())
    }

    fn table_name(&mut self) -> Result<TableDefinition<'static, Bytes, Bytes>, Error> {
        let mut name = vec![0; usize::from(self.u8()?)];
        self.take(&mut name)?;
        ALL.into_iter()
            .find(|d| d.name().as_bytes() == name.as_slice())
            .ok_or_else(|| damaged(format!("unknown table {}", String::from_utf8_lossy(&name))))
    }

    /// `rows` rows of one table, committed every `COMMIT_BYTES`.
    fn rows(
        &mut self,
        db: &Database,
        definition: TableDefinition<'static, Bytes, Bytes>,
        mut rows: u64,
    ) -> Result<(), Error> {
        let (mut key, mut value) = (Vec::new(), Vec::new());
        while rows > 0 {
            let mut txn = db.begin_write().map_err(Error::storage)?;
            txn.set_durability(Durability::None)
                .map_err(|e| Error::Storage(e.to_string()))?;
            {
                let mut table = txn.open_table(definition).map_err(Error::storage)?;
                let mut bytes = 0;
                while rows > 0 && bytes < COMMIT_BYTES {
                    self.field(&mut key)?;
                    self.field(&mut value)?;
                    table
                        .insert(key.as_slice(), value.as_slice())
                        .map_err(Error::storage)?;
                    bytes += key.len() + value.len();
                    rows -= 1;
                }
            }
            txn.commit().map_err(Error::storage)?;
        }
        Ok(())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use redb::ReadableDatabase;

    use super::*;
    use crate::restore::create_database;
    use crate::tables::{KV, MEMBERS};

    fn new_db(dir: &tempfile::TempDir, name: &str) -> Database {
        create_database(&dir.path().join(name), 1 << 20).unwrap()
    }

    /// `body` with its checksum, as a writer ends a dump.
    fn sealed(body: &[u8]) -> Vec<u8> {
        let mut out = body.to_vec();
        out.extend_from_slice(&CASTAGNOLI.checksum(body).to_be_bytes());
        out
    }

    fn header() -> Vec<u8> {
        let mut out = MAGIC.to_vec();
        out.extend_from_slice(&VERSION.to_be_bytes());
        out
    }

    fn table(name: &str, rows: &[(&[u8], &[u8])]) -> Vec<u8> {
        let mut out = vec![TABLE, name.len() as u8];
        out.extend_from_slice(name.as_bytes());
        out.extend_from_slice(&(rows.len() as u64).to_be_bytes());
        for (k, v) in rows {
            out.extend_from_slice(&(k.len() as u32).to_be_bytes());
            out.extend_from_slice(k);
            out.extend_from_slice(&(v.len() as u32).to_be_bytes());
            out.extend_from_slice(v);
        }
        out
    }

    type Rows = Vec<(Vec<u8>, Vec<u8>)>;

    /// Reads `bytes` into a new database; its `members` rows.
    fn read_new(bytes: &[u8]) -> Result<Rows, Error> {
        let dir = tempfile::tempdir().unwrap();
        let db = new_db(&dir, "db");
        read(&mut &bytes[..], &db)?;
        let txn = db.begin_read().unwrap();
        let members = txn.open_table(MEMBERS).unwrap();
        Ok(members
            .iter()
            .unwrap()
            .map(|e| {
                let (k, v) = e.unwrap();
                (k.value().to_vec(), v.value().to_vec())
            })
            .collect())
    }

    fn damage(bytes: &[u8]) -> String {
        match read_new(bytes) {
            Err(Error::Corrupt(reason)) => reason,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_dump_reads_back_row_for_row() {
        let dir = tempfile::tempdir().unwrap();
        let source = new_db(&dir, "source");
        let txn = source.begin_write().unwrap();
        {
            let mut kv = txn.open_table(KV).unwrap();
            for i in 0u32..500 {
                kv.insert(i.to_be_bytes().as_slice(), vec![7; i as usize].as_slice())
                    .unwrap();
            }
            let mut meta = txn.open_table(META).unwrap();
            meta.insert(CONSISTENT_INDEX, 33u64.to_be_bytes().as_slice())
                .unwrap();
        }
        txn.commit().unwrap();
        let mut bytes = Vec::new();
        let index = write(&source.begin_read().unwrap(), &mut bytes).unwrap();
        assert_eq!(index, 33);

        let copy = new_db(&dir, "copy");
        read(&mut bytes.as_slice(), &copy).unwrap();
        let (a, b) = (source.begin_read().unwrap(), copy.begin_read().unwrap());
        for definition in ALL {
            let rows = |txn: &ReadTransaction| -> Rows {
                let table = txn.open_table(definition).unwrap();
                table
                    .iter()
                    .unwrap()
                    .map(|e| {
                        let (k, v) = e.unwrap();
                        (k.value().to_vec(), v.value().to_vec())
                    })
                    .collect()
            };
            assert_eq!(rows(&a), rows(&b), "{}", definition.name());
        }
        assert_eq!(b.open_table(KV).unwrap().len().unwrap(), 500);
    }

    #[test]
    fn tables_may_be_left_out_but_not_repeated_or_unknown() {
        let member: &[(&[u8], &[u8])] = &[(&[0, 0, 0, 0, 0, 0, 0, 1], b"one")];
        let mut body = header();
        body.extend(table("members", member));
        body.push(END);
        assert_eq!(
            read_new(&sealed(&body)).unwrap(),
            vec![(1u64.to_be_bytes().to_vec(), b"one".to_vec())]
        );

        let mut twice = header();
        twice.extend(table("members", member));
        twice.extend(table("members", member));
        twice.push(END);
        assert!(damage(&sealed(&twice)).contains("table members twice"));

        let mut unknown = header();
        unknown.extend(table("auth", &[]));
        unknown.push(END);
        assert!(damage(&sealed(&unknown)).contains("unknown table auth"));

        let mut section = header();
        section.push(9);
        assert!(damage(&sealed(&section)).contains("unknown section 9"));
    }

    #[test]
    fn foreign_and_future_dumps_are_refused() {
        let mut future = MAGIC.to_vec();
        future.extend_from_slice(&2u32.to_be_bytes());
        future.push(END);
        assert!(damage(&sealed(&future)).contains("format version 2"));
        let mut foreign = b"SQLite f".to_vec();
        foreign.extend_from_slice(&VERSION.to_be_bytes());
        foreign.push(END);
        assert!(damage(&sealed(&foreign)).contains("does not start like a snapshot"));
        assert!(damage(b"").contains("truncated"));
    }

    #[test]
    fn a_row_longer_than_the_dump_is_truncation() {
        let mut body = header();
        body.extend_from_slice(&[TABLE, 7]);
        body.extend_from_slice(b"members");
        body.extend_from_slice(&1u64.to_be_bytes());
        body.extend_from_slice(&u32::MAX.to_be_bytes());
        body.extend_from_slice(b"short");
        assert!(damage(&body).contains("truncated"));
    }
}
