//! A named volume as clementine shows it.

use poem_openapi::Object;

/// A named volume on one engine.
#[derive(Debug, Clone, PartialEq, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct Volume {
    /// The name its owner gave it (what `volumes` entries and `DELETE .../volume/{name}` use);
    /// for a volume clementine did not make, its engine-side name.
    pub name: String,
    /// The engine that holds it: volumes stay where they were made.
    pub engine: String,
    /// Docker's name for it (admins address volumes by this name).
    pub engine_name: String,
    /// The clementine user who owns it; absent for volumes clementine did not make.
    pub owner: Option<String>,
    /// When the engine made it (RFC 3339), when it says.
    pub created: Option<String>,
    /// The owner's own labels on it (clementine's are not shown).
    #[oai(default, skip_serializing_if_is_empty)]
    pub labels: std::collections::BTreeMap<String, String>,
}

/// The caller's volumes on every engine they may use, and the engines that did not answer.
#[derive(Debug, Clone, PartialEq, Object)]
pub struct VolumeList {
    pub volumes: Vec<Volume>,
    pub failed: Vec<super::EngineFailure>,
}
