//! Making file creation and removal survive a crash: data is fsynced before a
//! file appears under its final name, and directory changes are fsynced.

use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::path::Path;

use crate::Error;

/// Suffix of files still being written; whatever carries it after a crash is
/// garbage.
pub(crate) const TMP_SUFFIX: &str = ".tmp";

pub(crate) fn sync_dir(dir: &Path) -> Result<(), Error> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(Error::io(dir))
}

/// Writes `bytes` to `path` so that after a crash `path` either does not
/// exist or holds all of `bytes`.
pub(crate) fn create_file(path: &Path, bytes: &[u8]) -> Result<(), Error> {
    let mut tmp_name = path.as_os_str().to_owned();
    tmp_name.push(TMP_SUFFIX);
    let tmp = Path::new(&tmp_name);
    let mut file = OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .open(tmp)
        .map_err(Error::io(tmp))?;
    file.write_all(bytes).map_err(Error::io(tmp))?;
    file.sync_all().map_err(Error::io(tmp))?;
    drop(file);
    fs::rename(tmp, path).map_err(Error::io(path))?;
    if let Some(dir) = path.parent() {
        sync_dir(dir)?;
    }
    Ok(())
}

/// Removes leftovers of interrupted `create_file` calls in `dir`.
pub(crate) fn remove_tmp_files(dir: &Path) -> Result<(), Error> {
    for entry in fs::read_dir(dir).map_err(Error::io(dir))? {
        let path = entry.map_err(Error::io(dir))?.path();
        if path.to_string_lossy().ends_with(TMP_SUFFIX) {
            fs::remove_file(&path).map_err(Error::io(&path))?;
        }
    }
    Ok(())
}
