//! Charts packed as `.tgz` archives (as `helm package` writes them).

use std::io::Read;

use crate::chart::{Chart, ChartFile, LoadError, load_files};

/// Loads a chart from the bytes of a gzipped tar archive whose entries all
/// sit under one top directory (the chart's name).
pub fn load_archive(data: &[u8]) -> Result<Chart, LoadError> {
    let gz = flate2::read::GzDecoder::new(data);
    let mut tar = tar::Archive::new(gz);
    let bad = |e: std::io::Error| LoadError::Archive(format!("cannot read chart archive: {e}"));
    let mut files = Vec::new();
    for entry in tar.entries().map_err(bad)? {
        let mut entry = entry.map_err(bad)?;
        if !entry.header().entry_type().is_file() {
            continue;
        }
        let path = entry
            .path()
            .map_err(bad)?
            .to_string_lossy()
            .replace('\\', "/");
        let Some((_, rest)) = path.split_once('/') else {
            continue;
        };
        if rest.split('/').any(|p| p == "..") {
            return Err(LoadError::Archive(format!(
                "chart illegally references parent directory: {path}"
            )));
        }
        let mut data = Vec::new();
        entry.read_to_end(&mut data).map_err(bad)?;
        if data.starts_with(&[0xef, 0xbb, 0xbf]) {
            data.drain(..3);
        }
        files.push(ChartFile {
            name: rest.to_owned(),
            data,
        });
    }
    if files.is_empty() {
        return Err(LoadError::Archive("no files in chart archive".to_owned()));
    }
    load_files(files)
}
