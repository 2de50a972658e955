//! Checkpoints: the C2SP `tlog-checkpoint` text (origin, size, root) inside a C2SP
//! `signed-note`, signed with an Ed25519 key in the note formats of `golang.org/x/mod/sumdb/note`
//! (`PRIVATE+KEY+name+id+key` to sign, `name+id+key` to verify). The key's name is the
//! checkpoint's origin: the deployment's name.

use base64::Engine;
use signed_note::{Note, StandardSigner, StandardVerifier, VerifierList};
use tlog_tiles::Hash;

use super::TreeError;

/// A checkpoint's contents once its signature is checked.
#[derive(Debug, Clone, PartialEq)]
pub struct Checkpoint {
    pub size: u64,
    pub root: Hash,
}

/// Signs checkpoints.
pub struct Signer {
    origin: String,
    signer: StandardSigner,
    verifier_key: String,
}

fn key_error(e: impl std::fmt::Display) -> TreeError {
    TreeError::Key(e.to_string())
}

impl Signer {
    /// From a signer key (`PRIVATE+KEY+name+id+key`); the origin is its name.
    pub fn new(skey: &str) -> Result<Self, TreeError> {
        let skey = skey.trim();
        let signer = StandardSigner::new(skey).map_err(key_error)?;
        let parts: Vec<&str> = skey.splitn(5, '+').collect();
        let [_, _, name, _, key] = parts[..] else {
            return Err(key_error("not PRIVATE+KEY+name+id+key"));
        };
        let bytes = (base64::engine::general_purpose::STANDARD.decode(key)).map_err(key_error)?;
        let seed: [u8; 32] = (bytes.get(1..33))
            .and_then(|b| b.try_into().ok())
            .ok_or_else(|| key_error("not an Ed25519 key"))?;
        let public = ed25519_dalek::SigningKey::from_bytes(&seed).verifying_key();
        Ok(Self {
            origin: name.to_string(),
            signer,
            verifier_key: signed_note::new_ed25519_verifier_key(name, &public),
        })
    }

    /// A new signer key for `origin` (which must hold no spaces or `+`).
    pub fn generate(origin: &str) -> Result<String, TreeError> {
        if !signed_note::is_key_name_valid(origin) {
            return Err(key_error(format!("{origin:?} cannot name a key")));
        }
        let mut rng = chacha20poly1305::aead::OsRng;
        Ok(signed_note::generate_key(&mut rng, origin).0)
    }

    /// The verifier key, `name+id+key`, for whoever checks the checkpoints.
    pub fn verifier_key(&self) -> &str {
        &self.verifier_key
    }

    pub fn origin(&self) -> &str {
        &self.origin
    }

    /// The signed note of the checkpoint of a tree of `size` leaves with this root.
    pub fn sign(&self, size: u64, root: &Hash) -> Result<String, TreeError> {
        let text = tlog_tiles::Checkpoint::new(&self.origin, size, *root, "")
            .map_err(key_error)?
            .to_bytes();
        let mut note = Note::new(&text, &[]).map_err(key_error)?;
        note.add_sigs(&[&self.signer]).map_err(key_error)?;
        String::from_utf8(note.to_bytes()).map_err(key_error)
    }

    /// A verifier for this signer's checkpoints.
    pub fn verifier(&self) -> Result<Verifier, TreeError> {
        Verifier::new(&self.verifier_key)
    }
}

/// Opens checkpoints signed by one key.
pub struct Verifier {
    origin: String,
    key: String,
}

impl Verifier {
    pub fn new(vkey: &str) -> Result<Self, TreeError> {
        let vkey = vkey.trim();
        StandardVerifier::new(vkey).map_err(key_error)?;
        let origin = vkey.split('+').next().unwrap_or_default().to_string();
        Ok(Self {
            origin,
            key: vkey.to_string(),
        })
    }

    /// The key, `name+id+key`.
    pub fn key(&self) -> &str {
        &self.key
    }

    /// The checkpoint in `note`, if the key signed it and it is this origin's.
    pub fn open(&self, note: &str) -> Result<Checkpoint, String> {
        let verifier = StandardVerifier::new(&self.key).map_err(|e| e.to_string())?;
        let list = VerifierList::new(vec![Box::new(verifier)]);
        let note = Note::from_bytes(note.as_bytes()).map_err(|e| e.to_string())?;
        note.verify(&list).map_err(|e| e.to_string())?;
        let checkpoint =
            tlog_tiles::Checkpoint::from_bytes(note.text()).map_err(|e| e.to_string())?;
        if checkpoint.origin() != self.origin {
            return Err(format!(
                "origin {:?}, not {:?}",
                checkpoint.origin(),
                self.origin
            ));
        }
        Ok(Checkpoint {
            size: checkpoint.size(),
            root: *checkpoint.hash(),
        })
    }
}

/// The tree size a checkpoint note states (its second line), unverified.
pub fn size_of(note: &str) -> Option<u64> {
    note.lines().nth(1)?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checkpoints_open_with_their_key_only() {
        let signer = Signer::new(&Signer::generate("clementine.test/audit").unwrap()).unwrap();
        let root = tlog_tiles::record_hash(b"x");
        let note = signer.sign(7, &root).unwrap();
        assert!(note.starts_with("clementine.test/audit\n7\n"), "{note}");
        assert_eq!(size_of(&note), Some(7));
        let opened = signer.verifier().unwrap().open(&note).unwrap();
        assert_eq!(opened, Checkpoint { size: 7, root });
        let other = Signer::new(&Signer::generate("clementine.test/audit").unwrap()).unwrap();
        assert!(other.verifier().unwrap().open(&note).is_err());
        let forged = note.replacen("\n7\n", "\n8\n", 1);
        assert!(signer.verifier().unwrap().open(&forged).is_err());
    }
}
