//! Secrets at rest: registry passwords are sealed with XChaCha20-Poly1305 (an AEAD from the
//! RustCrypto crates) under the deployment's key before they reach Redis, and opened only to be
//! sent to an engine that pulls for their owner. The key comes from `CLEMENTINE_SECRETS_KEY`
//! (or a file); any text of 32 bytes or more, stretched to 256 bits with SHA-256.
//!
//! During a rotation the box also holds the previous key (`CLEMENTINE_SECRETS_PREVIOUS_KEY`):
//! it still opens what that key sealed, and seals only with the new one; `clementine secrets
//! rotate` re-seals the stored credentials so the previous key can go.

use chacha20poly1305::aead::{Aead, AeadCore, KeyInit, OsRng};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use sha2::{Digest, Sha256};

/// Seals and opens secrets with the deployment's key.
#[derive(Clone)]
pub struct SecretBox {
    cipher: XChaCha20Poly1305,
    /// The key before the last rotation: opens, never seals.
    previous: Option<XChaCha20Poly1305>,
}

/// A sealed secret could not be opened: another key, or damaged.
#[derive(Debug, thiserror::Error)]
#[error("a stored secret cannot be opened with this key")]
pub struct Unopenable;

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(text: &str) -> Option<Vec<u8>> {
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok())
        .collect()
}

impl SecretBox {
    pub fn new(key_text: &str) -> Self {
        Self {
            cipher: cipher(key_text),
            previous: None,
        }
    }

    /// Also opens what `key_text`, the key before a rotation, sealed.
    pub fn with_previous(mut self, key_text: Option<&str>) -> Self {
        self.previous = key_text.map(cipher);
        self
    }

    /// Whether the current key opens `sealed` (a rotation leaves these alone).
    pub fn is_current(&self, sealed: &str) -> bool {
        open_with(&self.cipher, sealed).is_ok()
    }

    /// `hex(nonce || ciphertext)`, a fresh random nonce each time.
    pub fn seal(&self, plaintext: &str) -> String {
        let nonce = XChaCha20Poly1305::generate_nonce(&mut OsRng);
        let sealed = (self.cipher.encrypt(&nonce, plaintext.as_bytes()))
            .expect("encryption into memory does not fail");
        format!("{}{}", hex(&nonce), hex(&sealed))
    }

    /// Opens with the current key, else the previous one.
    pub fn open(&self, sealed: &str) -> Result<String, Unopenable> {
        open_with(&self.cipher, sealed).or_else(|e| match &self.previous {
            Some(previous) => open_with(previous, sealed),
            None => Err(e),
        })
    }
}

fn cipher(key_text: &str) -> XChaCha20Poly1305 {
    XChaCha20Poly1305::new(&Sha256::digest(key_text.as_bytes()))
}

fn open_with(cipher: &XChaCha20Poly1305, sealed: &str) -> Result<String, Unopenable> {
    let bytes = unhex(sealed).ok_or(Unopenable)?;
    if bytes.len() < 24 {
        return Err(Unopenable);
    }
    let (nonce, ciphertext) = bytes.split_at(24);
    let nonce: [u8; 24] = nonce.try_into().map_err(|_| Unopenable)?;
    let plain = (cipher.decrypt(&XNonce::from(nonce), ciphertext)).map_err(|_| Unopenable)?;
    String::from_utf8(plain).map_err(|_| Unopenable)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_secrets_open_only_with_their_key() {
        let key = SecretBox::new("a key of thirty-two bytes or more!!");
        let sealed = key.seal("hunter2");
        assert!(!sealed.contains("hunter2"));
        assert_ne!(sealed, key.seal("hunter2"), "a fresh nonce each time");
        assert_eq!(key.open(&sealed).unwrap(), "hunter2");
        assert!(
            SecretBox::new("another key of thirty-two bytes!!!")
                .open(&sealed)
                .is_err()
        );
        assert!(key.open("zz").is_err());
        let mut damaged = sealed.clone();
        damaged.replace_range(60..61, if &sealed[60..61] == "0" { "1" } else { "0" });
        assert!(key.open(&damaged).is_err());
    }

    #[test]
    fn during_a_rotation_both_keys_open_and_only_the_new_one_seals() {
        let (old, new) = (
            "the old key of thirty-two bytes!!!",
            "the new key of thirty-two bytes!!!",
        );
        let sealed_before = SecretBox::new(old).seal("hunter2");
        let rotating = SecretBox::new(new).with_previous(Some(old));
        assert_eq!(rotating.open(&sealed_before).unwrap(), "hunter2");
        assert!(!rotating.is_current(&sealed_before));
        let sealed_after = rotating.seal("hunter2");
        assert!(rotating.is_current(&sealed_after));
        assert!(SecretBox::new(old).open(&sealed_after).is_err());
        assert_eq!(SecretBox::new(new).open(&sealed_after).unwrap(), "hunter2");
    }
}
