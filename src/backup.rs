//! `clementine backup FILE` and `clementine restore [--force] FILE`: one deployment's keys as a
//! JSON file of Redis `DUMP` payloads (see `store::backup` for how the snapshot stays
//! consistent).
//!
//! The file names its format, the schema version it was taken at and the time; restore refuses
//! a schema newer than this binary knows, and a deployment that already holds keys unless
//! forced. Registry credentials stay sealed and password hashes stay hashes, but the file holds
//! everything an attacker would want from Redis: it is written readable by its owner only.

use std::io::Write;
use std::path::Path;

use crate::store::{DumpedKey, Store};

const FORMAT: &str = "clementine-backup/1";

#[derive(serde::Serialize, serde::Deserialize)]
struct Backup {
    format: String,
    prefix: String,
    schema: u32,
    taken: String,
    keys: Vec<DumpedKey>,
}

/// Writes the snapshot to `file`.
pub async fn backup(store: &Store, file: &Path) -> Result<(), String> {
    let schema = store.schema_version().await.map_err(|e| e.to_string())?;
    let keys = store.dump_all().await.map_err(|e| e.to_string())?;
    let snapshot = Backup {
        format: FORMAT.into(),
        prefix: store.keys().prefix().to_string(),
        schema,
        taken: crate::time::rfc3339_ms(crate::time::now_ms()),
        keys,
    };
    let text = serde_json::to_vec(&snapshot).map_err(|e| e.to_string())?;
    let cannot = |e: std::io::Error| format!("cannot write {}: {e}", file.display());
    let mut out = owner_only(file).map_err(cannot)?;
    out.write_all(&text).map_err(cannot)?;
    println!(
        "backed up {} keys of {} at schema {schema} to {}",
        snapshot.keys.len(),
        snapshot.prefix,
        file.display()
    );
    Ok(())
}

fn owner_only(file: &Path) -> std::io::Result<std::fs::File> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options.open(file)
}

/// Loads the snapshot in `file`; refuses a deployment holding keys unless `force`.
pub async fn restore(store: &Store, file: &Path, force: bool) -> Result<(), String> {
    let text = std::fs::read(file).map_err(|e| format!("cannot read {}: {e}", file.display()))?;
    let snapshot: Backup = serde_json::from_slice(&text)
        .map_err(|e| format!("{} is not a clementine backup: {e}", file.display()))?;
    if snapshot.format != FORMAT {
        return Err(format!(
            "{} is format {:?}, not {FORMAT}",
            file.display(),
            snapshot.format
        ));
    }
    let known = crate::store::migrations::latest_version();
    if snapshot.schema > known {
        return Err(format!(
            "the backup is at schema version {}, newer than this binary's {known}: restore it with a newer clementine",
            snapshot.schema
        ));
    }
    let prefix = store.keys().prefix();
    if store.holds_anything().await.map_err(|e| e.to_string())? {
        if !force {
            return Err(format!(
                "the deployment already holds keys under {prefix}: restore into an empty one, or pass --force to replace them"
            ));
        }
        store.delete_all().await.map_err(|e| e.to_string())?;
    }
    store
        .restore_all(&snapshot.keys)
        .await
        .map_err(|e| e.to_string())?;
    println!(
        "restored {} keys taken from {} at {} into {prefix}; run `clementine migrate` if this binary is newer",
        snapshot.keys.len(),
        snapshot.prefix,
        snapshot.taken
    );
    Ok(())
}
