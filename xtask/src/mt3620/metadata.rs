//! Azure Sphere image package metadata and its development signature
//! (docs/mt3620.md). A package is the file system image, padded to 4
//! bytes, then the metadata, then the signature:
//!
//! - metadata: a header (magic `4X4M` as the little-endian word
//!   0x4d345834, the section count), then each section as a 2-byte id, a
//!   2-byte length and its bytes, then the metadata's own length (a word,
//!   counting itself);
//! - signature: ECDSA P-256 over SHA-256 of everything before it, stored
//!   as r then s, 32 bytes each, big-endian.
//!
//! The sections written: Identity (`ID`: image type, component id, image
//! id), Signature (`SG`: the signing certificate's SHA-1 thumbprint and
//! the signing type), Debug (`DB`: build time, the name), Temporary Image
//! (`TP`: "under development") and ABI Depends (`ND`: none, a bare-metal
//! real-time app depends on no runtime). These are the layouts
//! Microsoft's `azuresphere-imagemetadata` library reads; `cargo xtask
//! test` checks our packages with it.

use p256::ecdsa::signature::Signer;
use p256::ecdsa::{Signature, SigningKey};

#[cfg(test)]
use crate::Result;

/// The metadata header's magic word (the bytes `4X4M`).
pub const MAGIC: u32 = 0x4d34_5834;
/// Section ids: two ASCII letters as a little-endian 16-bit word.
pub const IDENTITY: u16 = 0x4449;
pub const SIGNATURE: u16 = 0x4753;
pub const DEBUG: u16 = 0x4244;
pub const TEMPORARY_IMAGE: u16 = 0x5054;
pub const ABI_DEPENDS: u16 = 0x444e;
/// Image type "Applications" (user apps, real-time ones included).
pub const IMAGE_TYPE_APPLICATIONS: u16 = 10;
/// Signing type ECDSA P-256 with SHA-256.
pub const SIGNING_ECDSA_256: u32 = 1;
/// Temporary image flag: the image is under development.
pub const UNDER_DEVELOPMENT: u32 = 0x2;
/// The name field of the Debug section (a NUL always ends the name).
pub const DEBUG_NAME_BYTES: usize = 32;
/// The stored signature's size.
pub const SIGNATURE_BYTES: usize = 64;

/// A GUID as Azure Sphere stores it: the first three groups
/// little-endian, the last two as written (.NET's byte order).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Guid(pub [u8; 16]);

impl Guid {
    /// Parses `01234567-89ab-cdef-0123-456789abcdef` (dashes optional).
    #[cfg(test)]
    pub fn parse(text: &str) -> Result<Guid> {
        let hex: String = text.chars().filter(|&c| c != '-').collect();
        let bad = || format!("{text:?} is not a GUID (32 hexadecimal digits, as in a ComponentId)");
        if hex.len() != 32 || !hex.chars().all(|c| c.is_ascii_hexdigit()) {
            return Err(bad());
        }
        let mut written = [0u8; 16];
        for (index, byte) in written.iter_mut().enumerate() {
            *byte = u8::from_str_radix(&hex[index * 2..index * 2 + 2], 16).map_err(|_| bad())?;
        }
        Ok(Guid::from_written(written))
    }

    /// The stored form of a GUID whose bytes read `written` in its text.
    pub fn from_written(written: [u8; 16]) -> Guid {
        let mut stored = written;
        stored[0..4].reverse();
        stored[4..6].reverse();
        stored[6..8].reverse();
        Guid(stored)
    }

    /// Its text, lower case with dashes.
    pub fn text(&self) -> String {
        let mut written = self.0;
        written[0..4].reverse();
        written[4..6].reverse();
        written[6..8].reverse();
        let hex: String = written.iter().map(|byte| format!("{byte:02x}")).collect();
        format!("{}-{}-{}-{}-{}", &hex[0..8], &hex[8..12], &hex[12..16], &hex[16..20], &hex[20..])
    }
}

/// What the metadata says of an image.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Facts {
    /// The app's `ComponentId`.
    pub component_id: Guid,
    /// This build's id.
    pub image_id: Guid,
    /// The app's name (only the first 31 bytes are kept).
    pub name: String,
    /// When it was built, in seconds since 1970 (UTC).
    pub built: u64,
}

fn section(out: &mut Vec<u8>, id: u16, body: &[u8]) {
    out.extend_from_slice(&id.to_le_bytes());
    out.extend_from_slice(&(body.len() as u16).to_le_bytes());
    out.extend_from_slice(body);
}

/// The metadata block for `facts`, signed by the certificate with SHA-1
/// thumbprint `thumbprint`.
pub fn metadata(facts: &Facts, thumbprint: &[u8; 20]) -> Vec<u8> {
    let mut out = Vec::new();
    out.extend_from_slice(&MAGIC.to_le_bytes());
    out.extend_from_slice(&5u32.to_le_bytes());

    let mut identity = Vec::new();
    identity.extend_from_slice(&IMAGE_TYPE_APPLICATIONS.to_le_bytes());
    identity.extend_from_slice(&0u16.to_le_bytes());
    identity.extend_from_slice(&facts.component_id.0);
    identity.extend_from_slice(&facts.image_id.0);
    section(&mut out, IDENTITY, &identity);

    let mut signature = thumbprint.to_vec();
    signature.extend_from_slice(&SIGNING_ECDSA_256.to_le_bytes());
    section(&mut out, SIGNATURE, &signature);

    let mut debug = facts.built.to_le_bytes().to_vec();
    let mut name = [0u8; DEBUG_NAME_BYTES];
    let mut kept = facts.name.len().min(DEBUG_NAME_BYTES - 1);
    while !facts.name.is_char_boundary(kept) {
        kept -= 1;
    }
    name[..kept].copy_from_slice(&facts.name.as_bytes()[..kept]);
    debug.extend_from_slice(&name);
    section(&mut out, DEBUG, &debug);

    section(&mut out, TEMPORARY_IMAGE, &UNDER_DEVELOPMENT.to_le_bytes());
    section(&mut out, ABI_DEPENDS, &0u32.to_le_bytes());

    let length = out.len() as u32 + 4;
    out.extend_from_slice(&length.to_le_bytes());
    out
}

/// The package: `image` padded to 4 bytes, the metadata, and the
/// signature by `key` (whose certificate has thumbprint `thumbprint`).
pub fn package(image: &[u8], facts: &Facts, key: &SigningKey, thumbprint: &[u8; 20]) -> Vec<u8> {
    let mut out = image.to_vec();
    out.resize(image.len().div_ceil(4) * 4, 0);
    out.extend_from_slice(&metadata(facts, thumbprint));
    // RFC 6979 nonces: the same inputs give the same package.
    let signature: Signature = key.sign(&out);
    let stored = signature.to_bytes();
    debug_assert_eq!(stored.len(), SIGNATURE_BYTES);
    out.extend_from_slice(&stored);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use p256::ecdsa::signature::Verifier;
    use p256::ecdsa::VerifyingKey;

    fn facts() -> Facts {
        Facts {
            component_id: Guid::parse("42a26d76-7a31-4698-a0a4-4b6c039627b8").unwrap(),
            image_id: Guid::parse("00112233445566778899aabbccddeeff").unwrap(),
            name: "Tessera".to_string(),
            built: 1_796_000_000,
        }
    }

    fn word(bytes: &[u8], at: usize) -> u32 {
        u32::from_le_bytes(bytes[at..at + 4].try_into().unwrap())
    }

    #[test]
    fn guids_are_stored_in_dotnet_order() {
        let guid = Guid::parse("01234567-89AB-cdef-0123-456789abcdef").unwrap();
        assert_eq!(
            guid.0,
            [0x67, 0x45, 0x23, 0x01, 0xab, 0x89, 0xef, 0xcd, 1, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef]
        );
        assert_eq!(guid.text(), "01234567-89ab-cdef-0123-456789abcdef");
        for bad in ["0123", "01234567-89ab-cdef-0123-456789abcdeg", "01234567-89ab-cdef-0123-456789abcdef00"] {
            assert!(Guid::parse(bad).unwrap_err().contains("not a GUID"), "{bad}");
        }
    }

    #[test]
    fn the_metadata_walks_as_the_format_says() {
        let block = metadata(&facts(), &[0xa8; 20]);
        assert_eq!(word(&block, 0), MAGIC);
        assert_eq!(&block[0..4], b"4X4M");
        assert_eq!(word(&block, 4), 5);
        assert_eq!(word(&block, block.len() - 4) as usize, block.len());
        let mut at = 8;
        let mut seen = Vec::new();
        while at < block.len() - 4 {
            let id = u16::from_le_bytes([block[at], block[at + 1]]);
            let length = u16::from_le_bytes([block[at + 2], block[at + 3]]) as usize;
            seen.push((id, length));
            let body = &block[at + 4..at + 4 + length];
            match id {
                IDENTITY => {
                    assert_eq!(u16::from_le_bytes([body[0], body[1]]), 10);
                    assert_eq!(body[4..20], facts().component_id.0);
                    assert_eq!(body[20..36], facts().image_id.0);
                }
                SIGNATURE => assert_eq!((body[..20].to_vec(), word(body, 20)), (vec![0xa8; 20], 1)),
                DEBUG => {
                    assert_eq!(u64::from_le_bytes(body[..8].try_into().unwrap()), 1_796_000_000);
                    assert_eq!(&body[8..16], b"Tessera\0");
                }
                _ => {}
            }
            at += 4 + length;
        }
        assert_eq!(at, block.len() - 4);
        assert_eq!(seen, [(IDENTITY, 36), (SIGNATURE, 24), (DEBUG, 40), (TEMPORARY_IMAGE, 4), (ABI_DEPENDS, 4)]);
    }

    #[test]
    fn long_names_keep_31_bytes_and_whole_characters() {
        let mut long = facts();
        long.name = "A".repeat(30) + "é" + "tail";
        let block = metadata(&long, &[0; 20]);
        let debug = block.windows(2).position(|pair| pair == DEBUG.to_le_bytes()).unwrap();
        let name = &block[debug + 4 + 8..debug + 4 + 8 + DEBUG_NAME_BYTES];
        assert_eq!(&name[..30], "A".repeat(30).as_bytes());
        assert_eq!(name[30], 0, "the two-byte é does not fit in 31 bytes");
    }

    #[test]
    fn the_signature_covers_image_and_metadata() {
        let key = SigningKey::from_slice(&[7u8; 32]).unwrap();
        let image = vec![1u8, 2, 3, 4, 5];
        let package = package(&image, &facts(), &key, &[0; 20]);
        let (signed, stored) = package.split_at(package.len() - SIGNATURE_BYTES);
        assert_eq!(&signed[..5], &image[..]);
        assert_eq!(&signed[5..8], &[0, 0, 0], "the image is padded to 4 bytes");
        let signature = Signature::from_slice(stored).unwrap();
        VerifyingKey::from(&key).verify(signed, &signature).unwrap();
        let mut tampered = signed.to_vec();
        tampered[2] ^= 1;
        assert!(VerifyingKey::from(&key).verify(&tampered, &signature).is_err());
        assert_eq!(package, super::package(&image, &facts(), &key, &[0; 20]), "deterministic");
    }
}
