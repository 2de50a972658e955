//! `clementine audit export DIR`: the tree as static files in the C2SP `tlog-tiles` layout, so
//! that any tlog client can serve or check them without clementine:
//!
//! - `checkpoint`: the latest signed checkpoint; `checkpoints/<size>`: every earlier one;
//! - `key`: the verifier key (`name+id+key`);
//! - `tile/<L>/<N>[.p/<W>]`: hash tiles of height 8 for the latest checkpoint's tree;
//! - `tile/entries/<N>[.p/<W>]`: entry bundles, each entry's leaf bytes after a big-endian
//!   16-bit length (bundles whose entries retention trimmed are left out).

use std::collections::HashMap;
use std::path::Path;

use tlog_tiles::Tile;

use super::leaf::{id_bytes, leaf_bytes};
use super::note::{Verifier, size_of};
use super::{Known, Planner, TreeError};
use crate::store::Store;

/// Tile height, as C2SP `tlog-tiles` fixes it.
const HEIGHT: u8 = 8;

/// What was written.
#[derive(Debug, Default)]
pub struct Exported {
    pub size: u64,
    pub checkpoints: usize,
    pub tiles: usize,
    pub bundles: usize,
}

fn write(dir: &Path, path: &str, bytes: &[u8]) -> Result<(), TreeError> {
    let file = dir.join(path);
    let io = |e: std::io::Error| TreeError::Io(format!("{}: {e}", file.display()));
    if let Some(parent) = file.parent() {
        std::fs::create_dir_all(parent).map_err(io)?;
    }
    std::fs::write(&file, bytes).map_err(io)
}

/// A tile's path in the C2SP layout (tlog's paths name the height too).
fn c2sp_path(tile: &Tile) -> String {
    tile.path().replacen(&format!("tile/{HEIGHT}/"), "tile/", 1)
}

/// Writes the latest checkpoint's tree, its entries and every checkpoint into `dir`.
pub async fn export(store: &Store, verifier: &Verifier, dir: &Path) -> Result<Exported, TreeError> {
    let notes = store.tlog_checkpoints().await?;
    let Some(latest) = notes.last() else {
        return Err(TreeError::Io("no checkpoint has been signed yet".into()));
    };
    let size = (verifier.open(latest)).map_err(TreeError::Key)?.size;
    write(dir, "checkpoint", latest.as_bytes())?;
    for note in &notes {
        let at = size_of(note).unwrap_or_default();
        write(dir, &format!("checkpoints/{at}"), note.as_bytes())?;
    }
    write(dir, "key", format!("{}\n", verifier.key()).as_bytes())?;
    let mut done = Exported {
        size,
        checkpoints: notes.len(),
        ..Exported::default()
    };
    for tile in Tile::new_tiles(HEIGHT, 0, size) {
        let planner = Planner::default();
        tile.read_data(&planner)?;
        let known = Known::fetch(store, &planner.indexes()).await?;
        write(dir, &c2sp_path(&tile), &tile.read_data(&known)?)?;
        done.tiles += 1;
        if tile.level() == 0 && bundle(store, dir, &tile).await? {
            done.bundles += 1;
        }
    }
    Ok(done)
}

/// The entry bundle beside a level-0 tile; `false` when retention trimmed its entries.
async fn bundle(store: &Store, dir: &Path, tile: &Tile) -> Result<bool, TreeError> {
    let first = tile.level_index() << HEIGHT;
    let ids = store
        .tlog_ids(first, first + u64::from(tile.width()))
        .await?;
    let ids: Vec<&[u8]> = ids.chunks_exact(16).collect();
    let (Some(low), Some(high)) = (ids.first(), ids.last()) else {
        return Ok(false);
    };
    let (low, high) = (super::leaf::id_text(low), super::leaf::id_text(high));
    let entries = store
        .events_range(&low, &high, usize::MAX >> 1, false)
        .await?;
    let by_id: HashMap<[u8; 16], _> = (entries.iter())
        .filter_map(|(id, fields)| Some((id_bytes(id)?, (id, fields))))
        .collect();
    let mut bytes = Vec::new();
    for id in ids {
        let Some((id, fields)) = by_id.get(id) else {
            return Ok(false);
        };
        let leaf = leaf_bytes(id, fields);
        let Ok(len) = u16::try_from(leaf.len()) else {
            return Ok(false); // Longer than a bundle can hold: left out, as trimmed ones are.
        };
        bytes.extend_from_slice(&len.to_be_bytes());
        bytes.extend_from_slice(&leaf);
    }
    let mut data = *tile;
    data.set_is_data();
    let path = c2sp_path(&data).replacen("tile/data/", "tile/entries/", 1);
    write(dir, &path, &bytes)?;
    Ok(true)
}
