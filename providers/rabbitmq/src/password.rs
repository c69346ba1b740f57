//! User passwords as RabbitMQ stores them: a random 4-byte salt followed by
//! the hash of the salt and the password, in base64
//! (`rabbit_password_hashing_sha256`, the server's default). The hash is
//! computed here and sent as `password_hash`, so the password never reaches
//! the server, its logs or its definitions export.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use sha2::{Digest, Sha256, Sha512};

/// The hashing algorithm the provider uses.
pub(super) const ALGORITHM: &str = "rabbit_password_hashing_sha256";

/// A salted hash of `password` with a fresh salt.
pub(super) fn hash(password: &str) -> String {
    hash_with_salt(rand::random::<[u8; 4]>(), password)
}

fn hash_with_salt(salt: [u8; 4], password: &str) -> String {
    let digest = Sha256::new().chain_update(salt).chain_update(password.as_bytes()).finalize();
    let mut bytes = salt.to_vec();
    bytes.extend_from_slice(&digest);
    STANDARD.encode(bytes)
}

/// Whether the server's `password_hash` (made with `algorithm`) is a hash
/// of `password`; `None` when that cannot be told (an algorithm the
/// provider does not know, or a hash it cannot read).
pub(super) fn matches(algorithm: &str, stored: &str, password: &str) -> Option<bool> {
    let bytes = STANDARD.decode(stored).ok()?;
    if bytes.is_empty() {
        // A user without a password.
        return Some(false);
    }
    if bytes.len() < 4 {
        return None;
    }
    let (salt, digest) = bytes.split_at(4);
    let computed: Vec<u8> = match algorithm {
        "rabbit_password_hashing_sha256" => {
            Sha256::new().chain_update(salt).chain_update(password.as_bytes()).finalize().to_vec()
        }
        "rabbit_password_hashing_sha512" => {
            Sha512::new().chain_update(salt).chain_update(password.as_bytes()).finalize().to_vec()
        }
        _ => return None,
    };
    Some(computed == digest)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_are_salted_and_verifiable() {
        let first = hash("s3cret");
        assert_ne!(first, hash("s3cret"), "a fresh salt each time");
        assert_eq!(matches(ALGORITHM, &first, "s3cret"), Some(true));
        assert_eq!(matches(ALGORITHM, &first, "other"), Some(false));
        assert_eq!(matches("rabbit_password_hashing_md5", &first, "s3cret"), None);
        assert_eq!(matches(ALGORITHM, "", "s3cret"), Some(false));
    }

    #[test]
    fn the_layout_is_salt_then_digest() {
        // RabbitMQ's documented example layout: salt ++ sha256(salt ++ password).
        let text = hash_with_salt([0x90, 0x8d, 0xc6, 0x0a], "test12");
        let bytes = STANDARD.decode(&text).unwrap();
        assert_eq!(bytes.len(), 36);
        assert_eq!(&bytes[..4], &[0x90, 0x8d, 0xc6, 0x0a]);
        let digest = Sha256::digest([&[0x90u8, 0x8d, 0xc6, 0x0a][..], b"test12"].concat());
        assert_eq!(&bytes[4..], digest.as_slice());
    }
}
