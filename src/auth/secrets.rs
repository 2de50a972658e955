//! Secrets at rest: registry passwords are sealed with XChaCha20-Poly1305 (an AEAD from the
//! RustCrypto crates) under the deployment's key before they reach Redis, and opened only to be
//! sent to an engine that pulls for their owner. The key comes from `CLEMENTINE_SECRETS_KEY`
//! (or a file); any text of 32 bytes or more, stretched to 256 bits with SHA-256.

use chacha20poly1305::aead::{Aead, AeadCore, KeyInit, OsRng};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use sha2::{Digest, Sha256};

/// Seals and opens secrets with the deployment's key.
#[derive(Clone)]
pub struct SecretBox {
    cipher: XChaCha20Poly1305,
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
        let key = Sha256::digest(key_text.as_bytes());
        Self {
            cipher: XChaCha20Poly1305::new(&key),
        }
    }

    /// `hex(nonce || ciphertext)`, a fresh random nonce each time.
    pub fn seal(&self, plaintext: &str) -> String {
        let nonce = XChaCha20Poly1305::generate_nonce(&mut OsRng);
        let sealed = (self.cipher.encrypt(&nonce, plaintext.as_bytes()))
            .expect("encryption into memory does not fail");
        format!("{}{}", hex(&nonce), hex(&sealed))
    }

    pub fn open(&self, sealed: &str) -> Result<String, Unopenable> {
        let bytes = unhex(sealed).ok_or(Unopenable)?;
        if bytes.len() < 24 {
            return Err(Unopenable);
        }
        let (nonce, ciphertext) = bytes.split_at(24);
        let nonce: [u8; 24] = nonce.try_into().map_err(|_| Unopenable)?;
        let plain =
            (self.cipher.decrypt(&XNonce::from(nonce), ciphertext)).map_err(|_| Unopenable)?;
        String::from_utf8(plain).map_err(|_| Unopenable)
    }
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
}
