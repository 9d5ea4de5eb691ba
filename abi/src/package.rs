//! Image packages: an app's ELF and binary manifest, signed, in one file.
//!
//! xtask packs every app into an image package; the loader (in user space)
//! parses it with [`Package::parse`], checks its signature against the keys
//! the boot image trusts with [`verify`] (cargo feature `verify`), and only
//! then reads the manifest and loads the ELF. `docs/packages.md` describes
//! the signing keys and what the loader logs.
//!
//! # Layout
//!
//! All integers are little-endian `u32`. Offsets count from the first byte
//! of the package.
//!
//! ```text
//! offset 0   magic               = MAGIC ("TPKG")
//!        4   version             = VERSION
//!        8   header_size         = HEADER_SIZE (64)
//!        12  signature_algorithm = 1 (Ed25519, RFC 8032)
//!        16  key_id: [u8; 8]     first 8 bytes of SHA-256 of the public key
//!        24  manifest_offset     = HEADER_SIZE
//!        28  manifest_size       > 0
//!        32  elf_offset          = manifest end rounded up to ELF_ALIGNMENT
//!        36  elf_size            > 0
//!        40  signature_offset    = ELF end rounded up to SIGNATURE_ALIGNMENT
//!        44  signature_size      = SIGNATURE_SIZE (64)
//!        48  total_size          = signature_offset + signature_size
//!        52  reserved: [u8; 12]  zero
//!        64  manifest            (binary manifest, opaque here:
//!                                 `abi/src/manifest.rs` defines it)
//!        ..  zero padding up to elf_offset
//!  elf_offset  ELF file
//!        ..  zero padding up to signature_offset
//!  signature_offset  signature: [u8; 64] over bytes 0..signature_offset
//! ```
//!
//! The signature covers everything before it: the header (key id
//! included) and both sections with their padding. The magic and version at
//! its start keep a package signature from being valid as anything else.
//!
//! The ELF starts on a page boundary ([`ELF_ALIGNMENT`]): if the package
//! itself lies page aligned in memory, every `PT_LOAD` segment of the ELF
//! (whose file offset is congruent to its address modulo the page size) lies
//! page aligned too, so a loader can use the ELF in place and could map
//! read-only segments straight from the package instead of copying them.
//! The price is up to 4 KiB of zero padding per package.
//!
//! The layout is canonical: version 1 allows exactly one place for each
//! section and zero bytes everywhere else, so encoding the parts of a parsed
//! package gives back the same bytes. A new field or a different layout
//! takes a new version; a reader refuses versions it does not know rather
//! than ignoring fields that might matter.
//!
//! # Trusted keys
//!
//! The boot image carries the public keys it trusts as a small list,
//! [`TrustedKeys`]:
//!
//! ```text
//! offset 0   magic   = TRUSTED_KEYS_MAGIC ("TKEY")
//!        4   version = TRUSTED_KEYS_VERSION
//!        8   count   (at most MAX_TRUSTED_KEYS)
//!        12  count x { key_id: [u8; 8], public_key: [u8; 32] (Ed25519) }
//! ```
//!
//! # What the parsers promise
//!
//! [`Package::parse`] and [`TrustedKeys::parse`] check every field, bound,
//! alignment and padding byte, refuse trailing bytes, and return a typed
//! error (with a [`Display`](core::fmt::Display) message for the log)
//! instead of panicking, whatever the input.

// Without the `verify` feature the documentation still names `verify` and
// its helpers, which then do not exist.
#![cfg_attr(not(feature = "verify"), allow(rustdoc::broken_intra_doc_links))]

use core::fmt;

/// First four bytes of an image package.
pub const MAGIC: [u8; 4] = *b"TPKG";
/// Package format version this code reads and writes.
pub const VERSION: u32 = 1;
/// Size of the package header.
pub const HEADER_SIZE: usize = 64;
/// The ELF section starts at a multiple of this many bytes (one page).
pub const ELF_ALIGNMENT: usize = crate::layout::PAGE_SIZE;
/// The signature starts at a multiple of this many bytes.
pub const SIGNATURE_ALIGNMENT: usize = 4;
/// Size of an Ed25519 signature.
pub const SIGNATURE_SIZE: usize = 64;
/// Size of an Ed25519 public key.
pub const PUBLIC_KEY_SIZE: usize = 32;
/// Size of a key id.
pub const KEY_ID_SIZE: usize = 8;

/// First four bytes of a trusted-keys list.
pub const TRUSTED_KEYS_MAGIC: [u8; 4] = *b"TKEY";
/// Trusted-keys list version this code reads and writes.
pub const TRUSTED_KEYS_VERSION: u32 = 1;
/// Size of the trusted-keys list header.
pub const TRUSTED_KEYS_HEADER_SIZE: usize = 12;
/// Size of one trusted key in the list.
pub const TRUSTED_KEY_SIZE: usize = KEY_ID_SIZE + PUBLIC_KEY_SIZE;
/// Most keys one trusted-keys list may hold.
pub const MAX_TRUSTED_KEYS: usize = 16;

// Header field offsets.
const VERSION_AT: usize = 4;
const HEADER_SIZE_AT: usize = 8;
const ALGORITHM_AT: usize = 12;
const KEY_ID_AT: usize = 16;
const MANIFEST_OFFSET_AT: usize = 24;
const MANIFEST_SIZE_AT: usize = 28;
const ELF_OFFSET_AT: usize = 32;
const ELF_SIZE_AT: usize = 36;
const SIGNATURE_OFFSET_AT: usize = 40;
const SIGNATURE_SIZE_AT: usize = 44;
const TOTAL_SIZE_AT: usize = 48;
const RESERVED_AT: usize = 52;

/// Names a signing key: the first 8 bytes of the SHA-256 digest of its
/// public key ([`key_id_of`]). Displayed as 16 lowercase hex digits.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct KeyId(pub [u8; KEY_ID_SIZE]);

impl fmt::Display for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for byte in self.0 {
            write!(f, "{byte:02x}")?;
        }
        Ok(())
    }
}

/// The signature scheme of a package (header field `signature_algorithm`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u32)]
pub enum SignatureAlgorithm {
    /// Ed25519 (RFC 8032, pure, no pre-hash), checked with the strict rules
    /// that refuse small-order keys and malleable signatures.
    Ed25519 = 1,
}

impl SignatureAlgorithm {
    /// The algorithm with header code `code`, if this code knows it.
    pub const fn from_code(code: u32) -> Option<SignatureAlgorithm> {
        match code {
            1 => Some(SignatureAlgorithm::Ed25519),
            _ => None,
        }
    }

    /// Its name in log lines.
    pub const fn name(self) -> &'static str {
        match self {
            SignatureAlgorithm::Ed25519 => "Ed25519",
        }
    }
}

/// A part of a package whose place the header gives.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Section {
    /// The binary manifest.
    Manifest,
    /// The ELF file.
    Elf,
    /// The signature.
    Signature,
}

impl Section {
    /// Its name in error messages.
    pub const fn name(self) -> &'static str {
        match self {
            Section::Manifest => "manifest",
            Section::Elf => "ELF",
            Section::Signature => "signature",
        }
    }
}

/// Why [`Package::parse`] refused a package. Checked in this order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PackageError {
    /// Shorter than the header, or than the size the header declares.
    Truncated {
        /// Bytes the package needs (the header size, or `total_size`).
        needed: usize,
        /// Bytes given.
        actual: usize,
    },
    /// Does not start with [`MAGIC`]: not an image package.
    BadMagic,
    /// A format version this code does not read.
    UnsupportedVersion(u32),
    /// `header_size` is not [`HEADER_SIZE`].
    BadHeaderSize(u32),
    /// More bytes follow the signature than `total_size` allows.
    TrailingBytes {
        /// The size the header declares.
        declared: usize,
        /// Bytes given.
        actual: usize,
    },
    /// A `signature_algorithm` this code does not know.
    UnsupportedAlgorithm(u32),
    /// The reserved header bytes are not all zero.
    ReservedNotZero,
    /// A section has size zero (the manifest and the ELF are required).
    EmptySection(Section),
    /// The ELF does not start at a multiple of [`ELF_ALIGNMENT`].
    MisalignedElf(u32),
    /// A section's offset or size is not what this version's layout puts
    /// there (or reaches past the end of the package).
    SectionOutOfPlace(Section),
    /// A padding byte is not zero.
    NonZeroPadding {
        /// Offset of the first non-zero padding byte.
        offset: usize,
    },
}

impl fmt::Display for PackageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            PackageError::Truncated { needed, actual } => {
                write!(f, "truncated: needs {needed} bytes, has {actual}")
            }
            PackageError::BadMagic => write!(f, "not an image package (bad magic)"),
            PackageError::UnsupportedVersion(version) => {
                write!(f, "unsupported package version {version} (this loader reads {VERSION})")
            }
            PackageError::BadHeaderSize(size) => write!(f, "bad header size {size} (expected {HEADER_SIZE})"),
            PackageError::TrailingBytes { declared, actual } => {
                write!(
                    f,
                    "{} bytes after the signature (package is {declared} bytes, got {actual})",
                    actual.saturating_sub(declared)
                )
            }
            PackageError::UnsupportedAlgorithm(code) => write!(f, "unsupported signature algorithm {code}"),
            PackageError::ReservedNotZero => write!(f, "reserved header bytes are not zero"),
            PackageError::EmptySection(section) => write!(f, "empty {} section", section.name()),
            PackageError::MisalignedElf(offset) => {
                write!(f, "ELF section at {offset:#x} is not {ELF_ALIGNMENT}-byte aligned")
            }
            PackageError::SectionOutOfPlace(section) => {
                write!(f, "{} section is not where the layout puts it", section.name())
            }
            PackageError::NonZeroPadding { offset } => write!(f, "non-zero padding byte at offset {offset:#x}"),
        }
    }
}

/// The header of a parsed package, every field as stored.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Header {
    /// Format version ([`VERSION`]).
    pub version: u32,
    /// Header size ([`HEADER_SIZE`]).
    pub header_size: u32,
    /// Signature scheme.
    pub algorithm: SignatureAlgorithm,
    /// Which key signed the package.
    pub key_id: KeyId,
    /// Where the manifest starts.
    pub manifest_offset: u32,
    /// Manifest size in bytes.
    pub manifest_size: u32,
    /// Where the ELF starts (a multiple of [`ELF_ALIGNMENT`]).
    pub elf_offset: u32,
    /// ELF size in bytes.
    pub elf_size: u32,
    /// Where the signature starts: the number of signed bytes.
    pub signature_offset: u32,
    /// Signature size in bytes.
    pub signature_size: u32,
    /// Size of the whole package.
    pub total_size: u32,
}

/// Where each part of a package goes, for given section sizes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Layout {
    manifest_offset: usize,
    manifest_end: usize,
    elf_offset: usize,
    elf_end: usize,
    signature_offset: usize,
    total_size: usize,
}

impl Layout {
    /// The canonical layout, or `None` if the package would not fit in a
    /// `u32` (or, on the target, in the address space).
    fn for_sizes(elf_size: usize, manifest_size: usize) -> Option<Layout> {
        let manifest_offset = HEADER_SIZE;
        let manifest_end = manifest_offset.checked_add(manifest_size)?;
        let elf_offset = manifest_end.checked_next_multiple_of(ELF_ALIGNMENT)?;
        let elf_end = elf_offset.checked_add(elf_size)?;
        let signature_offset = elf_end.checked_next_multiple_of(SIGNATURE_ALIGNMENT)?;
        let total_size = signature_offset.checked_add(SIGNATURE_SIZE)?;
        u32::try_from(total_size).ok()?;
        Some(Layout { manifest_offset, manifest_end, elf_offset, elf_end, signature_offset, total_size })
    }
}

fn read_u32(bytes: &[u8], offset: usize) -> u32 {
    // Callers read only inside the checked header; zero keeps this total.
    match bytes.get(offset..offset + 4) {
        Some(&[a, b, c, d]) => u32::from_le_bytes([a, b, c, d]),
        _ => 0,
    }
}

fn read_array<const N: usize>(bytes: &[u8], offset: usize) -> [u8; N] {
    let mut out = [0; N];
    if let Some(source) = bytes.get(offset..offset + N) {
        out.copy_from_slice(source);
    }
    out
}

fn write_u32(out: &mut [u8], offset: usize, value: u32) {
    out[offset..offset + 4].copy_from_slice(&value.to_le_bytes());
}

/// The first non-zero byte of `bytes[start..end]`, as an offset into `bytes`.
fn first_non_zero(bytes: &[u8], start: usize, end: usize) -> Option<usize> {
    let padding = bytes.get(start..end)?;
    padding.iter().position(|&byte| byte != 0).map(|index| start + index)
}

/// The size a package's header declares, if `bytes` starts with a package
/// header: a loader that was handed whole pages trims its view to this
/// before [`Package::parse`].
pub fn declared_size(bytes: &[u8]) -> Option<usize> {
    if bytes.len() < HEADER_SIZE || bytes[0..4] != MAGIC {
        return None;
    }
    Some(read_u32(bytes, TOTAL_SIZE_AT) as usize)
}

/// A checked, zero-copy view of an image package. Parsing does not check
/// the signature: call [`verify`] (or use [`parse_and_verify`]) before
/// trusting anything in it.
#[derive(Clone, Copy, Debug)]
pub struct Package<'a> {
    bytes: &'a [u8],
    header: Header,
    manifest: &'a [u8],
    elf: &'a [u8],
    signed: &'a [u8],
    signature: &'a [u8; SIGNATURE_SIZE],
}

impl<'a> Package<'a> {
    /// Checks `bytes` (the whole package and nothing else) and returns a
    /// view of it. See [`PackageError`] for the checks, in order.
    pub fn parse(bytes: &'a [u8]) -> Result<Package<'a>, PackageError> {
        let actual = bytes.len();
        if actual < HEADER_SIZE {
            return Err(PackageError::Truncated { needed: HEADER_SIZE, actual });
        }
        if bytes[0..4] != MAGIC {
            return Err(PackageError::BadMagic);
        }
        let version = read_u32(bytes, VERSION_AT);
        if version != VERSION {
            return Err(PackageError::UnsupportedVersion(version));
        }
        let header_size = read_u32(bytes, HEADER_SIZE_AT);
        if header_size as usize != HEADER_SIZE {
            return Err(PackageError::BadHeaderSize(header_size));
        }
        let total_size = read_u32(bytes, TOTAL_SIZE_AT);
        let declared = total_size as usize;
        if declared > actual {
            return Err(PackageError::Truncated { needed: declared, actual });
        }
        if declared < actual {
            return Err(PackageError::TrailingBytes { declared, actual });
        }
        let algorithm_code = read_u32(bytes, ALGORITHM_AT);
        let algorithm =
            SignatureAlgorithm::from_code(algorithm_code).ok_or(PackageError::UnsupportedAlgorithm(algorithm_code))?;
        if bytes[RESERVED_AT..HEADER_SIZE].iter().any(|&byte| byte != 0) {
            return Err(PackageError::ReservedNotZero);
        }

        let header = Header {
            version,
            header_size,
            algorithm,
            key_id: KeyId(read_array(bytes, KEY_ID_AT)),
            manifest_offset: read_u32(bytes, MANIFEST_OFFSET_AT),
            manifest_size: read_u32(bytes, MANIFEST_SIZE_AT),
            elf_offset: read_u32(bytes, ELF_OFFSET_AT),
            elf_size: read_u32(bytes, ELF_SIZE_AT),
            signature_offset: read_u32(bytes, SIGNATURE_OFFSET_AT),
            signature_size: read_u32(bytes, SIGNATURE_SIZE_AT),
            total_size,
        };
        if header.manifest_size == 0 {
            return Err(PackageError::EmptySection(Section::Manifest));
        }
        if header.elf_size == 0 {
            return Err(PackageError::EmptySection(Section::Elf));
        }
        if !(header.elf_offset as usize).is_multiple_of(ELF_ALIGNMENT) {
            return Err(PackageError::MisalignedElf(header.elf_offset));
        }
        let layout = Layout::for_sizes(header.elf_size as usize, header.manifest_size as usize)
            .ok_or(PackageError::SectionOutOfPlace(Section::Elf))?;
        if header.manifest_offset as usize != layout.manifest_offset {
            return Err(PackageError::SectionOutOfPlace(Section::Manifest));
        }
        if header.elf_offset as usize != layout.elf_offset {
            return Err(PackageError::SectionOutOfPlace(Section::Elf));
        }
        if header.signature_offset as usize != layout.signature_offset
            || header.signature_size as usize != SIGNATURE_SIZE
            || layout.total_size != declared
        {
            return Err(PackageError::SectionOutOfPlace(Section::Signature));
        }
        for (start, end) in [(layout.manifest_end, layout.elf_offset), (layout.elf_end, layout.signature_offset)] {
            if let Some(offset) = first_non_zero(bytes, start, end) {
                return Err(PackageError::NonZeroPadding { offset });
            }
        }

        // Every range lies inside `bytes`: `layout.total_size == bytes.len()`
        // and the layout's offsets increase. `get` keeps this total anyway.
        let out_of_place = PackageError::SectionOutOfPlace;
        let manifest = bytes.get(layout.manifest_offset..layout.manifest_end).ok_or(out_of_place(Section::Manifest))?;
        let elf = bytes.get(layout.elf_offset..layout.elf_end).ok_or(out_of_place(Section::Elf))?;
        let (signed, signature) =
            bytes.split_at_checked(layout.signature_offset).ok_or(out_of_place(Section::Signature))?;
        let signature = <&[u8; SIGNATURE_SIZE]>::try_from(signature).map_err(|_| out_of_place(Section::Signature))?;
        Ok(Package { bytes, header, manifest, elf, signed, signature })
    }

    /// The header fields.
    pub fn header(&self) -> &Header {
        &self.header
    }

    /// The whole package.
    pub fn as_bytes(&self) -> &'a [u8] {
        self.bytes
    }

    /// The bytes the signature covers: everything before it.
    pub fn signed_bytes(&self) -> &'a [u8] {
        self.signed
    }

    /// The signature.
    pub fn signature(&self) -> &'a [u8; SIGNATURE_SIZE] {
        self.signature
    }

    /// Which key signed the package (as the package claims).
    pub fn key_id(&self) -> KeyId {
        self.header.key_id
    }

    /// The signature scheme.
    pub fn algorithm(&self) -> SignatureAlgorithm {
        self.header.algorithm
    }

    /// The ELF file. It starts at offset [`Header::elf_offset`], a multiple
    /// of [`ELF_ALIGNMENT`] from the start of the package.
    pub fn elf(&self) -> &'a [u8] {
        self.elf
    }

    /// The binary manifest (see `abi/src/manifest.rs` for its encoding).
    pub fn manifest(&self) -> &'a [u8] {
        self.manifest
    }
}

/// Something that signs packages: the development key in xtask, a signing
/// service, a hardware key. [`write`](fn@write) calls it once, with the bytes the
/// signature covers.
pub trait PackageSigner {
    /// The id of the key that signs.
    fn key_id(&self) -> KeyId;

    /// The Ed25519 signature of `signed_bytes`.
    fn sign(&self, signed_bytes: &[u8]) -> [u8; SIGNATURE_SIZE];
}

/// An Ed25519 secret key held in memory signs packages directly (xtask's
/// development key, the tests).
#[cfg(feature = "verify")]
impl PackageSigner for ed25519_dalek::SigningKey {
    fn key_id(&self) -> KeyId {
        key_id_of(self.verifying_key().as_bytes())
    }

    fn sign(&self, signed_bytes: &[u8]) -> [u8; SIGNATURE_SIZE] {
        ed25519_dalek::Signer::sign(self, signed_bytes).to_bytes()
    }
}

/// Why [`write`](fn@write) or [`write_trusted_keys`] could not encode.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BuildError {
    /// A required section (manifest or ELF) is empty.
    EmptySection(Section),
    /// The package would be 4 GiB or larger.
    TooLarge,
    /// The output buffer is smaller than the encoding.
    BufferTooSmall {
        /// Bytes the encoding needs.
        needed: usize,
    },
    /// More than [`MAX_TRUSTED_KEYS`] keys.
    TooManyKeys,
    /// Two trusted keys have the same key id.
    DuplicateKeyId(KeyId),
}

impl fmt::Display for BuildError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            BuildError::EmptySection(section) => write!(f, "the {} section is empty", section.name()),
            BuildError::TooLarge => write!(f, "the package would be 4 GiB or larger"),
            BuildError::BufferTooSmall { needed } => write!(f, "the output buffer is smaller than {needed} bytes"),
            BuildError::TooManyKeys => write!(f, "more than {MAX_TRUSTED_KEYS} trusted keys"),
            BuildError::DuplicateKeyId(key_id) => write!(f, "two trusted keys have key id {key_id}"),
        }
    }
}

/// Size of the package [`write`](fn@write) makes from an ELF of `elf_size` bytes and
/// a manifest of `manifest_size` bytes, or `None` if it would not fit in a
/// `u32`.
pub fn package_size(elf_size: usize, manifest_size: usize) -> Option<usize> {
    Layout::for_sizes(elf_size, manifest_size).map(|layout| layout.total_size)
}

/// Packs `elf` and `manifest` into `out` (at least [`package_size`] bytes),
/// signed by `signer`, and returns the package size: the package is
/// `&out[..size]`.
pub fn write(elf: &[u8], manifest: &[u8], signer: &impl PackageSigner, out: &mut [u8]) -> Result<usize, BuildError> {
    if manifest.is_empty() {
        return Err(BuildError::EmptySection(Section::Manifest));
    }
    if elf.is_empty() {
        return Err(BuildError::EmptySection(Section::Elf));
    }
    let layout = Layout::for_sizes(elf.len(), manifest.len()).ok_or(BuildError::TooLarge)?;
    let out = out.get_mut(..layout.total_size).ok_or(BuildError::BufferTooSmall { needed: layout.total_size })?;
    out.fill(0);
    out[0..4].copy_from_slice(&MAGIC);
    // `for_sizes` checked that the total, and so every offset, fits in u32.
    let fields = [
        (VERSION_AT, VERSION),
        (HEADER_SIZE_AT, HEADER_SIZE as u32),
        (ALGORITHM_AT, SignatureAlgorithm::Ed25519 as u32),
        (MANIFEST_OFFSET_AT, layout.manifest_offset as u32),
        (MANIFEST_SIZE_AT, manifest.len() as u32),
        (ELF_OFFSET_AT, layout.elf_offset as u32),
        (ELF_SIZE_AT, elf.len() as u32),
        (SIGNATURE_OFFSET_AT, layout.signature_offset as u32),
        (SIGNATURE_SIZE_AT, SIGNATURE_SIZE as u32),
        (TOTAL_SIZE_AT, layout.total_size as u32),
    ];
    for (offset, value) in fields {
        write_u32(out, offset, value);
    }
    out[KEY_ID_AT..KEY_ID_AT + KEY_ID_SIZE].copy_from_slice(&signer.key_id().0);
    out[layout.manifest_offset..layout.manifest_end].copy_from_slice(manifest);
    out[layout.elf_offset..layout.elf_end].copy_from_slice(elf);
    let (signed, signature) = out.split_at_mut(layout.signature_offset);
    signature.copy_from_slice(&signer.sign(signed));
    Ok(layout.total_size)
}

/// A public key the boot image trusts to sign packages.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TrustedKey {
    /// Its key id, as packages it signed name it ([`key_id_of`] the key).
    pub key_id: KeyId,
    /// The Ed25519 public key (compressed Edwards point, RFC 8032).
    pub public_key: [u8; PUBLIC_KEY_SIZE],
}

impl TrustedKey {
    /// A trusted key with the key id [`key_id_of`] gives.
    #[cfg(feature = "verify")]
    pub fn new(public_key: [u8; PUBLIC_KEY_SIZE]) -> TrustedKey {
        TrustedKey { key_id: key_id_of(&public_key), public_key }
    }
}

/// The key id of an Ed25519 public key: the first 8 bytes of its SHA-256
/// digest.
#[cfg(feature = "verify")]
pub fn key_id_of(public_key: &[u8; PUBLIC_KEY_SIZE]) -> KeyId {
    use sha2::Digest;
    let digest = sha2::Sha256::digest(public_key);
    let mut key_id = [0; KEY_ID_SIZE];
    key_id.copy_from_slice(&digest[..KEY_ID_SIZE]);
    KeyId(key_id)
}

/// A set of trusted keys [`verify`] looks signing keys up in: a slice or
/// array of [`TrustedKey`], or a [`TrustedKeys`] list from the boot image.
pub trait TrustedKeySet {
    /// The trusted key with id `key_id`, if there is one.
    fn find(&self, key_id: KeyId) -> Option<TrustedKey>;
}

impl TrustedKeySet for [TrustedKey] {
    fn find(&self, key_id: KeyId) -> Option<TrustedKey> {
        self.iter().find(|key| key.key_id == key_id).copied()
    }
}

impl<const N: usize> TrustedKeySet for [TrustedKey; N] {
    fn find(&self, key_id: KeyId) -> Option<TrustedKey> {
        self[..].find(key_id)
    }
}

/// Why [`TrustedKeys::parse`] refused a trusted-keys list.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TrustedKeysError {
    /// Shorter than its header or than its keys.
    Truncated,
    /// Does not start with [`TRUSTED_KEYS_MAGIC`].
    BadMagic,
    /// A version this code does not read.
    UnsupportedVersion(u32),
    /// More than [`MAX_TRUSTED_KEYS`] keys.
    TooManyKeys(u32),
    /// Bytes follow the last key.
    TrailingBytes,
    /// Key `n` has the same key id as an earlier key.
    DuplicateKeyId(usize),
}

impl fmt::Display for TrustedKeysError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            TrustedKeysError::Truncated => write!(f, "trusted-keys list is truncated"),
            TrustedKeysError::BadMagic => write!(f, "not a trusted-keys list (bad magic)"),
            TrustedKeysError::UnsupportedVersion(version) => {
                write!(f, "unsupported trusted-keys version {version} (this loader reads {TRUSTED_KEYS_VERSION})")
            }
            TrustedKeysError::TooManyKeys(count) => {
                write!(f, "{count} trusted keys (at most {MAX_TRUSTED_KEYS})")
            }
            TrustedKeysError::TrailingBytes => write!(f, "bytes after the last trusted key"),
            TrustedKeysError::DuplicateKeyId(index) => write!(f, "trusted key {index} repeats an earlier key id"),
        }
    }
}

/// A checked, zero-copy view of a trusted-keys list.
#[derive(Clone, Copy, Debug)]
pub struct TrustedKeys<'a> {
    bytes: &'a [u8],
    count: usize,
}

impl<'a> TrustedKeys<'a> {
    /// Checks `bytes` (the whole list and nothing else).
    pub fn parse(bytes: &'a [u8]) -> Result<TrustedKeys<'a>, TrustedKeysError> {
        if bytes.len() < TRUSTED_KEYS_HEADER_SIZE {
            return Err(TrustedKeysError::Truncated);
        }
        if bytes[0..4] != TRUSTED_KEYS_MAGIC {
            return Err(TrustedKeysError::BadMagic);
        }
        let version = read_u32(bytes, 4);
        if version != TRUSTED_KEYS_VERSION {
            return Err(TrustedKeysError::UnsupportedVersion(version));
        }
        let count = read_u32(bytes, 8);
        if count as usize > MAX_TRUSTED_KEYS {
            return Err(TrustedKeysError::TooManyKeys(count));
        }
        let count = count as usize;
        let size = TRUSTED_KEYS_HEADER_SIZE + count * TRUSTED_KEY_SIZE;
        if bytes.len() < size {
            return Err(TrustedKeysError::Truncated);
        }
        if bytes.len() > size {
            return Err(TrustedKeysError::TrailingBytes);
        }
        let keys = TrustedKeys { bytes, count };
        for index in 1..count {
            let key_id = keys.key_at(index).key_id;
            if (0..index).any(|earlier| keys.key_at(earlier).key_id == key_id) {
                return Err(TrustedKeysError::DuplicateKeyId(index));
            }
        }
        Ok(keys)
    }

    fn key_at(&self, index: usize) -> TrustedKey {
        let base = TRUSTED_KEYS_HEADER_SIZE + index * TRUSTED_KEY_SIZE;
        TrustedKey {
            key_id: KeyId(read_array(self.bytes, base)),
            public_key: read_array(self.bytes, base + KEY_ID_SIZE),
        }
    }

    /// Number of keys.
    pub fn len(&self) -> usize {
        self.count
    }

    /// True if the list trusts no key at all.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// Key `index`, if `index < len()`.
    pub fn get(&self, index: usize) -> Option<TrustedKey> {
        (index < self.count).then(|| self.key_at(index))
    }

    /// All keys, in list order.
    pub fn iter(&self) -> impl Iterator<Item = TrustedKey> + '_ {
        (0..self.count).map(move |index| self.key_at(index))
    }
}

impl TrustedKeySet for TrustedKeys<'_> {
    fn find(&self, key_id: KeyId) -> Option<TrustedKey> {
        self.iter().find(|key| key.key_id == key_id)
    }
}

/// Size of the trusted-keys list [`write_trusted_keys`] makes from `count`
/// keys.
pub const fn trusted_keys_size(count: usize) -> usize {
    TRUSTED_KEYS_HEADER_SIZE + count * TRUSTED_KEY_SIZE
}

/// Encodes `keys` into `out` (at least [`trusted_keys_size`] bytes) and
/// returns the list's size.
pub fn write_trusted_keys(keys: &[TrustedKey], out: &mut [u8]) -> Result<usize, BuildError> {
    if keys.len() > MAX_TRUSTED_KEYS {
        return Err(BuildError::TooManyKeys);
    }
    for (index, key) in keys.iter().enumerate() {
        if keys[..index].iter().any(|earlier| earlier.key_id == key.key_id) {
            return Err(BuildError::DuplicateKeyId(key.key_id));
        }
    }
    let size = trusted_keys_size(keys.len());
    let out = out.get_mut(..size).ok_or(BuildError::BufferTooSmall { needed: size })?;
    out[0..4].copy_from_slice(&TRUSTED_KEYS_MAGIC);
    write_u32(out, 4, TRUSTED_KEYS_VERSION);
    write_u32(out, 8, keys.len() as u32);
    for (index, key) in keys.iter().enumerate() {
        let base = TRUSTED_KEYS_HEADER_SIZE + index * TRUSTED_KEY_SIZE;
        out[base..base + KEY_ID_SIZE].copy_from_slice(&key.key_id.0);
        out[base + KEY_ID_SIZE..base + TRUSTED_KEY_SIZE].copy_from_slice(&key.public_key);
    }
    Ok(size)
}

/// Why [`verify`] refused a package.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum VerifyError {
    /// The signature is all zero bytes: the package was never signed.
    Unsigned,
    /// No trusted key has the package's key id.
    UnknownKey(KeyId),
    /// The trusted key with this id is not a valid Ed25519 public key.
    BadTrustedKey(KeyId),
    /// The signature does not match the signed bytes and the key: the
    /// package was changed after signing, or signed by another key with a
    /// colliding key id.
    BadSignature(KeyId),
}

impl fmt::Display for VerifyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            VerifyError::Unsigned => write!(f, "package is not signed"),
            VerifyError::UnknownKey(key_id) => write!(f, "signed by key {key_id}, which this device does not trust"),
            VerifyError::BadTrustedKey(key_id) => write!(f, "trusted key {key_id} is not a valid Ed25519 public key"),
            VerifyError::BadSignature(key_id) => {
                write!(f, "signature does not match key {key_id} (package tampered with?)")
            }
        }
    }
}

impl VerifyError {
    /// Three words that carry the error over IPC (the Pluton security
    /// server verifies packages for `init`): the kind (1 unsigned, 2
    /// unknown key, 3 bad trusted key, 4 bad signature), then the key id's
    /// 8 bytes little-endian (zeros for an unsigned package).
    pub fn to_words(&self) -> [u32; 3] {
        let (kind, key) = match *self {
            VerifyError::Unsigned => (1, KeyId([0; KEY_ID_SIZE])),
            VerifyError::UnknownKey(key) => (2, key),
            VerifyError::BadTrustedKey(key) => (3, key),
            VerifyError::BadSignature(key) => (4, key),
        };
        let low = u32::from_le_bytes([key.0[0], key.0[1], key.0[2], key.0[3]]);
        let high = u32::from_le_bytes([key.0[4], key.0[5], key.0[6], key.0[7]]);
        [kind, low, high]
    }

    /// The error [`VerifyError::to_words`] made, if the words are one.
    pub fn from_words(words: [u32; 3]) -> Option<VerifyError> {
        let mut key = [0; KEY_ID_SIZE];
        key[..4].copy_from_slice(&words[1].to_le_bytes());
        key[4..].copy_from_slice(&words[2].to_le_bytes());
        let key = KeyId(key);
        match words[0] {
            1 => Some(VerifyError::Unsigned),
            2 => Some(VerifyError::UnknownKey(key)),
            3 => Some(VerifyError::BadTrustedKey(key)),
            4 => Some(VerifyError::BadSignature(key)),
            _ => None,
        }
    }
}

/// Checks that `package` was signed by one of the `trusted` keys and not
/// changed since: looks the package's key id up, then checks the Ed25519
/// signature over [`Package::signed_bytes`] with the strict rules (no
/// small-order keys or `R` values, canonical `s`).
#[cfg(feature = "verify")]
pub fn verify<K: TrustedKeySet + ?Sized>(package: &Package<'_>, trusted: &K) -> Result<(), VerifyError> {
    let signature = package.signature();
    if signature.iter().all(|&byte| byte == 0) {
        return Err(VerifyError::Unsigned);
    }
    let key_id = package.key_id();
    let key = trusted.find(key_id).ok_or(VerifyError::UnknownKey(key_id))?;
    match package.algorithm() {
        SignatureAlgorithm::Ed25519 => {
            let public_key = ed25519_dalek::VerifyingKey::from_bytes(&key.public_key)
                .map_err(|_| VerifyError::BadTrustedKey(key_id))?;
            let signature = ed25519_dalek::Signature::from_bytes(signature);
            public_key.verify_strict(package.signed_bytes(), &signature).map_err(|_| VerifyError::BadSignature(key_id))
        }
    }
}

/// Why [`parse_and_verify`] refused a package.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Refused {
    /// The package could not be decoded.
    Malformed(PackageError),
    /// The package decoded but its signature does not hold.
    Untrusted(VerifyError),
}

impl fmt::Display for Refused {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Refused::Malformed(error) => write!(f, "malformed package: {error}"),
            Refused::Untrusted(error) => write!(f, "untrusted package: {error}"),
        }
    }
}

/// [`Package::parse`] then [`verify`]: what a loader calls before it looks
/// at the manifest or the ELF. The error's `Display` is the log line's
/// reason, e.g. `untrusted package: signed by key 0123456789abcdef, which
/// this device does not trust`.
#[cfg(feature = "verify")]
pub fn parse_and_verify<'a, K: TrustedKeySet + ?Sized>(bytes: &'a [u8], trusted: &K) -> Result<Package<'a>, Refused> {
    let package = Package::parse(bytes).map_err(Refused::Malformed)?;
    verify(&package, trusted).map_err(Refused::Untrusted)?;
    Ok(package)
}

#[cfg(test)]
mod tests {
    extern crate std;
    use super::*;
    use std::vec;
    use std::vec::Vec;

    #[test]
    fn verify_errors_travel_in_three_words() {
        let key = KeyId([1, 2, 3, 4, 5, 6, 7, 8]);
        for error in [
            VerifyError::Unsigned,
            VerifyError::UnknownKey(key),
            VerifyError::BadTrustedKey(key),
            VerifyError::BadSignature(key),
        ] {
            assert_eq!(VerifyError::from_words(error.to_words()), Some(error));
        }
        assert_eq!(VerifyError::from_words([0, 0, 0]), None);
        assert_eq!(VerifyError::from_words([5, 0, 0]), None);
    }

    /// A signer that "signs" with a fixed pattern: enough for layout tests.
    struct PatternSigner;

    impl PackageSigner for PatternSigner {
        fn key_id(&self) -> KeyId {
            KeyId(*b"keyid-01")
        }

        fn sign(&self, signed_bytes: &[u8]) -> [u8; SIGNATURE_SIZE] {
            let mut signature = [0xA5; SIGNATURE_SIZE];
            signature[0] = signed_bytes.len() as u8;
            signature
        }
    }

    fn pack(elf: &[u8], manifest: &[u8]) -> Vec<u8> {
        let mut out = vec![0; package_size(elf.len(), manifest.len()).unwrap()];
        let size = write(elf, manifest, &PatternSigner, &mut out).unwrap();
        assert_eq!(size, out.len());
        out
    }

    #[test]
    fn round_trip() {
        let package = pack(b"\x7fELF program", b"manifest");
        let parsed = Package::parse(&package).unwrap();
        assert_eq!(parsed.elf(), b"\x7fELF program");
        assert_eq!(parsed.manifest(), b"manifest");
        assert_eq!(parsed.key_id(), KeyId(*b"keyid-01"));
        assert_eq!(parsed.algorithm(), SignatureAlgorithm::Ed25519);
        assert_eq!(parsed.header().elf_offset as usize, ELF_ALIGNMENT);
        assert_eq!(parsed.signed_bytes().len(), ELF_ALIGNMENT + 12);
        assert_eq!(parsed.signature(), &PatternSigner.sign(parsed.signed_bytes()));
        assert_eq!(declared_size(&package), Some(package.len()));
        assert_eq!(package.len(), ELF_ALIGNMENT + 12 + SIGNATURE_SIZE);
    }

    #[test]
    fn layout_rounds_sections_up() {
        // A manifest that fills the first page pushes the ELF to the next.
        let manifest = vec![1; ELF_ALIGNMENT - HEADER_SIZE + 1];
        let package = pack(b"abc", &manifest);
        let parsed = Package::parse(&package).unwrap();
        assert_eq!(parsed.header().elf_offset as usize, 2 * ELF_ALIGNMENT);
        assert_eq!(parsed.header().signature_offset as usize, 2 * ELF_ALIGNMENT + 4);
        let exact = vec![1; ELF_ALIGNMENT - HEADER_SIZE];
        assert_eq!(package_size(4, exact.len()), Some(ELF_ALIGNMENT + 4 + SIGNATURE_SIZE));
        assert_eq!(package_size(usize::MAX - 10, 1), None);
        assert_eq!(package_size(u32::MAX as usize, 1), None);
    }

    #[test]
    fn write_refuses_bad_input() {
        let mut out = vec![0; 2 * ELF_ALIGNMENT];
        assert_eq!(write(b"", b"m", &PatternSigner, &mut out), Err(BuildError::EmptySection(Section::Elf)));
        assert_eq!(write(b"e", b"", &PatternSigner, &mut out), Err(BuildError::EmptySection(Section::Manifest)));
        let needed = package_size(1, 1).unwrap();
        assert_eq!(write(b"e", b"m", &PatternSigner, &mut out[..10]), Err(BuildError::BufferTooSmall { needed }));
    }

    fn with_field(package: &[u8], offset: usize, value: u32) -> Vec<u8> {
        let mut changed = package.to_vec();
        write_u32(&mut changed, offset, value);
        changed
    }

    #[test]
    fn rejects_damage_with_the_right_error() {
        let package = pack(b"\x7fELF", b"manifest");
        let parse = |bytes: &[u8]| Package::parse(bytes).map(|_| ()).unwrap_err();
        assert_eq!(parse(&package[..10]), PackageError::Truncated { needed: HEADER_SIZE, actual: 10 });
        let short = package.len() - 1;
        assert_eq!(parse(&package[..short]), PackageError::Truncated { needed: package.len(), actual: short });
        let mut long = package.clone();
        long.push(0);
        assert_eq!(parse(&long), PackageError::TrailingBytes { declared: package.len(), actual: package.len() + 1 });
        let mut bad = package.clone();
        bad[0] = b'X';
        assert_eq!(parse(&bad), PackageError::BadMagic);
        assert_eq!(parse(&with_field(&package, VERSION_AT, 2)), PackageError::UnsupportedVersion(2));
        assert_eq!(parse(&with_field(&package, HEADER_SIZE_AT, 68)), PackageError::BadHeaderSize(68));
        assert_eq!(parse(&with_field(&package, ALGORITHM_AT, 2)), PackageError::UnsupportedAlgorithm(2));
        assert_eq!(parse(&with_field(&package, RESERVED_AT + 8, 1)), PackageError::ReservedNotZero);
        assert_eq!(parse(&with_field(&package, MANIFEST_SIZE_AT, 0)), PackageError::EmptySection(Section::Manifest));
        assert_eq!(parse(&with_field(&package, ELF_SIZE_AT, 0)), PackageError::EmptySection(Section::Elf));
        assert_eq!(parse(&with_field(&package, ELF_OFFSET_AT, 4100)), PackageError::MisalignedElf(4100));
        assert_eq!(parse(&with_field(&package, ELF_OFFSET_AT, 8192)), PackageError::SectionOutOfPlace(Section::Elf));
        assert_eq!(
            parse(&with_field(&package, MANIFEST_OFFSET_AT, 68)),
            PackageError::SectionOutOfPlace(Section::Manifest)
        );
        assert_eq!(
            parse(&with_field(&package, MANIFEST_SIZE_AT, ELF_ALIGNMENT as u32)),
            PackageError::SectionOutOfPlace(Section::Elf)
        );
        assert_eq!(
            parse(&with_field(&package, SIGNATURE_OFFSET_AT, ELF_ALIGNMENT as u32 + 8)),
            PackageError::SectionOutOfPlace(Section::Signature)
        );
        // A manifest size that still ends inside the padding keeps the
        // layout: only the signature (which covers the header) catches it.
        let longer = with_field(&package, MANIFEST_SIZE_AT, 9);
        assert_eq!(Package::parse(&longer).unwrap().manifest(), b"manifest\0");
        assert_eq!(parse(&with_field(&package, ELF_SIZE_AT, u32::MAX)), PackageError::SectionOutOfPlace(Section::Elf));
        assert_eq!(
            parse(&with_field(&package, SIGNATURE_SIZE_AT, 32)),
            PackageError::SectionOutOfPlace(Section::Signature)
        );
        let mut bad = package.clone();
        bad[HEADER_SIZE + 8] = 1;
        assert_eq!(parse(&bad), PackageError::NonZeroPadding { offset: HEADER_SIZE + 8 });
        let mut bad = package.clone();
        bad[ELF_ALIGNMENT + 4] = 1;
        // The ELF is 4 bytes, so the signature follows at once: this is it.
        assert!(Package::parse(&bad).is_ok());
        let odd = pack(b"\x7fELF!", b"manifest");
        let mut bad = odd.clone();
        bad[ELF_ALIGNMENT + 6] = 1;
        assert_eq!(parse(&bad), PackageError::NonZeroPadding { offset: ELF_ALIGNMENT + 6 });
    }

    #[test]
    fn error_messages_read_well() {
        use std::string::ToString;
        assert_eq!(PackageError::BadMagic.to_string(), "not an image package (bad magic)");
        assert_eq!(
            PackageError::TrailingBytes { declared: 10, actual: 12 }.to_string(),
            "2 bytes after the signature (package is 10 bytes, got 12)"
        );
        let key_id = KeyId([0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef]);
        assert_eq!(key_id.to_string(), "0123456789abcdef");
        assert_eq!(
            Refused::Untrusted(VerifyError::UnknownKey(key_id)).to_string(),
            "untrusted package: signed by key 0123456789abcdef, which this device does not trust"
        );
        assert_eq!(
            Refused::Malformed(PackageError::MisalignedElf(4100)).to_string(),
            "malformed package: ELF section at 0x1004 is not 4096-byte aligned"
        );
    }

    fn key(seed: u8) -> TrustedKey {
        TrustedKey { key_id: KeyId([seed; KEY_ID_SIZE]), public_key: [seed.wrapping_add(1); PUBLIC_KEY_SIZE] }
    }

    fn encode_keys(keys: &[TrustedKey]) -> Vec<u8> {
        let mut out = vec![0; trusted_keys_size(keys.len())];
        assert_eq!(write_trusted_keys(keys, &mut out), Ok(out.len()));
        out
    }

    #[test]
    fn trusted_keys_round_trip() {
        let keys = [key(1), key(2), key(3)];
        let list = encode_keys(&keys);
        let parsed = TrustedKeys::parse(&list).unwrap();
        assert_eq!(parsed.len(), 3);
        assert!(parsed.iter().eq(keys.iter().copied()));
        assert_eq!(parsed.find(KeyId([2; 8])), Some(key(2)));
        assert_eq!(parsed.find(KeyId([9; 8])), None);
        assert_eq!(parsed.get(3), None);
        assert_eq!(keys.find(KeyId([3; 8])), Some(key(3)));
        assert!(TrustedKeys::parse(&encode_keys(&[])).unwrap().is_empty());
    }

    #[test]
    fn trusted_keys_refuse_damage() {
        let list = encode_keys(&[key(1), key(2)]);
        assert_eq!(TrustedKeys::parse(&list[..5]).unwrap_err(), TrustedKeysError::Truncated);
        assert_eq!(TrustedKeys::parse(&list[..list.len() - 1]).unwrap_err(), TrustedKeysError::Truncated);
        let mut long = list.clone();
        long.push(0);
        assert_eq!(TrustedKeys::parse(&long).unwrap_err(), TrustedKeysError::TrailingBytes);
        let mut bad = list.clone();
        bad[1] = 0;
        assert_eq!(TrustedKeys::parse(&bad).unwrap_err(), TrustedKeysError::BadMagic);
        assert_eq!(TrustedKeys::parse(&with_field(&list, 4, 7)).unwrap_err(), TrustedKeysError::UnsupportedVersion(7));
        assert_eq!(TrustedKeys::parse(&with_field(&list, 8, 17)).unwrap_err(), TrustedKeysError::TooManyKeys(17));
        let mut duplicate = list.clone();
        duplicate.copy_within(12..20, 52);
        assert_eq!(TrustedKeys::parse(&duplicate).unwrap_err(), TrustedKeysError::DuplicateKeyId(1));
        let mut out = [0; 512];
        assert_eq!(write_trusted_keys(&[key(1), key(1)], &mut out), Err(BuildError::DuplicateKeyId(KeyId([1; 8]))));
        assert_eq!(write_trusted_keys(&[key(0); 17], &mut out), Err(BuildError::TooManyKeys));
        assert_eq!(write_trusted_keys(&[key(1)], &mut out[..20]), Err(BuildError::BufferTooSmall { needed: 52 }));
    }

    #[cfg(feature = "verify")]
    mod signatures {
        use super::*;
        use ed25519_dalek::SigningKey;
        use std::string::ToString;

        fn signer(seed: u8) -> SigningKey {
            SigningKey::from_bytes(&[seed; 32])
        }

        fn trusted(signer: &SigningKey) -> TrustedKey {
            TrustedKey::new(signer.verifying_key().to_bytes())
        }

        fn signed(signer: &SigningKey) -> Vec<u8> {
            let mut out = vec![0; package_size(8, 4).unwrap()];
            write(b"\x7fELFelf!", b"mani", signer, &mut out).unwrap();
            out
        }

        #[test]
        fn key_id_is_a_sha256_prefix() {
            // SHA-256 of 32 zero bytes is 66687aadf862bd77...
            assert_eq!(key_id_of(&[0; 32]).to_string(), "66687aadf862bd77");
        }

        #[test]
        fn accepts_a_trusted_signature() {
            let signer = signer(1);
            let package = signed(&signer);
            let parsed = Package::parse(&package).unwrap();
            assert_eq!(verify(&parsed, &[trusted(&signer)]), Ok(()));
            let list = encode_keys(&[trusted(&self::signer(2)), trusted(&signer)]);
            let keys = TrustedKeys::parse(&list).unwrap();
            assert_eq!(parse_and_verify(&package, &keys).unwrap().elf(), b"\x7fELFelf!");
        }

        #[test]
        fn refuses_unknown_keys_and_tampering() {
            let signer = signer(1);
            let other = self::signer(2);
            let package = signed(&signer);
            let parsed = Package::parse(&package).unwrap();
            let key_id = parsed.key_id();
            assert_eq!(verify(&parsed, &[trusted(&other)]), Err(VerifyError::UnknownKey(key_id)));
            assert_eq!(verify(&parsed, &[] as &[TrustedKey]), Err(VerifyError::UnknownKey(key_id)));
            // The other key under this key's id: the signature does not hold.
            let impostor = TrustedKey { key_id, public_key: trusted(&other).public_key };
            assert_eq!(verify(&parsed, &[impostor]), Err(VerifyError::BadSignature(key_id)));
            // Not a curve point (y = 2 has no x on edwards25519).
            let mut not_a_point = [0; PUBLIC_KEY_SIZE];
            not_a_point[0] = 2;
            let broken = TrustedKey { key_id, public_key: not_a_point };
            assert_eq!(verify(&parsed, &[broken]), Err(VerifyError::BadTrustedKey(key_id)));

            let mut tampered = package.clone();
            tampered[ELF_ALIGNMENT + 5] ^= 1;
            let parsed = Package::parse(&tampered).unwrap();
            assert_eq!(verify(&parsed, &[trusted(&signer)]), Err(VerifyError::BadSignature(key_id)));

            let mut unsigned = package.clone();
            let signature_at = unsigned.len() - SIGNATURE_SIZE;
            unsigned[signature_at..].fill(0);
            assert_eq!(
                parse_and_verify(&unsigned, &[trusted(&signer)]).unwrap_err(),
                Refused::Untrusted(VerifyError::Unsigned)
            );
        }
    }
}
