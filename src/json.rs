//! JSON reading that names the path of the first bad field (`labels[2]: invalid type ...`), for
//! request bodies and the config file alike.

use serde::de::DeserializeOwned;

/// Reads JSON; on failure says where (`body` when the problem is the document as a whole).
pub fn from_slice_naming_field<T: DeserializeOwned>(data: &[u8]) -> Result<T, String> {
    let de = &mut serde_json::Deserializer::from_slice(data);
    serde_path_to_error::deserialize(de).map_err(|e| {
        let path = e.path().to_string();
        let at = if path == "." || path == "?" {
            "body".to_string()
        } else {
            path
        };
        format!("{at}: {}", e.into_inner())
    })
}
