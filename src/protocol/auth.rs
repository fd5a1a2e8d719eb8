//! Peer authentication with a shared key (`--key-file`): each side's hello carries a random
//! 16-byte nonce and the auth bit; after the hellos, each side sends an auth message whose
//! body is `HMAC-SHA256(key, "pistream-auth-v1" || own nonce || peer nonce)` and checks the
//! peer's the same way with the nonces swapped. The order of the nonces makes a reflected
//! MAC useless, and fresh nonces make a replayed one useless. No frame flows before both
//! MACs are checked.

use hmac::{Hmac, Mac};
use sha2::Sha256;

pub const AUTH_LEN: usize = 32;
const LABEL: &[u8] = b"pistream-auth-v1";

fn mac(key: &[u8], first: &[u8; 16], second: &[u8; 16]) -> Hmac<Sha256> {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes keys of any length");
    mac.update(LABEL);
    mac.update(first);
    mac.update(second);
    mac
}

/// The MAC this side sends.
pub fn auth_tag(key: &[u8], own_nonce: &[u8; 16], peer_nonce: &[u8; 16]) -> [u8; AUTH_LEN] {
    mac(key, own_nonce, peer_nonce).finalize().into_bytes().into()
}

/// Whether the peer's MAC proves it holds the key (constant-time comparison).
pub fn verify_peer_tag(key: &[u8], own_nonce: &[u8; 16], peer_nonce: &[u8; 16], tag: &[u8]) -> bool {
    own_nonce != peer_nonce && mac(key, peer_nonce, own_nonce).verify_slice(tag).is_ok()
}

/// A fresh random nonce from the operating system.
pub fn fresh_nonce() -> [u8; 16] {
    let mut nonce = [0u8; 16];
    getrandom::fill(&mut nonce).expect("the OS random number generator failed");
    nonce
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_side_verifies_the_others_tag_and_not_its_own() {
        let (a, b) = (fresh_nonce(), fresh_nonce());
        let key = b"correct horse battery staple";
        let tag_a = auth_tag(key, &a, &b);
        assert!(verify_peer_tag(key, &b, &a, &tag_a), "b accepts a's tag");
        assert!(!verify_peer_tag(key, &a, &b, &tag_a), "a reflected tag is refused");
        assert!(!verify_peer_tag(b"wrong key", &b, &a, &tag_a), "another key is refused");
        assert!(!verify_peer_tag(key, &a, &a, &auth_tag(key, &a, &a)), "a copied nonce is refused");
        assert_ne!(fresh_nonce(), fresh_nonce());
    }
}
