//! The boot image: the user programs xtask packs beside the kernel.
//!
//! Layout (all integers little-endian `u32`):
//!
//! ```text
//! offset 0   magic  = MAGIC ("TSRA")
//!        4   version = VERSION
//!        8   count  = number of entries
//!        12  total  = size of the whole image in bytes
//!        16  entries: count x { name: [u8; NAME_MAX] (zero padded),
//!                               offset: u32, size: u32 }
//!        ..  files, each at its entry's offset
//! ```
//!
//! A file's first four bytes say what it is: `\x7fELF` a program (init and
//! the system servers, loaded as they are), `TPKG` a signed app package
//! ([`crate::package`]; `init` verifies it before loading its ELF), `TKEY`
//! the list of public keys packages must be signed with (the entry called
//! `trusted-keys`). The kernel only ever looks up `init`, by name.
//!
//! [`BootImage::parse`] checks every field, so the kernel can trust what it
//! returns: every entry's bytes lie inside the image and every name is
//! non-empty printable ASCII without spaces (what a process name may be:
//! the kernel checks it byte by byte, so it needs no UTF-8 decoder).

use crate::NAME_MAX;

/// First four bytes of a boot image.
pub const MAGIC: [u8; 4] = *b"TSRA";
/// Format version this code reads and writes.
pub const VERSION: u32 = 1;
/// Size of the fixed header.
pub const HEADER_SIZE: usize = 16;
/// Size of one directory entry.
pub const ENTRY_SIZE: usize = NAME_MAX + 8;
/// Most programs one image may hold.
pub const MAX_ENTRIES: usize = 64;

/// Why a boot image was rejected.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BootImageError {
    /// Shorter than its header or directory.
    Truncated,
    /// Does not start with [`MAGIC`].
    BadMagic,
    /// A version this code does not read.
    UnsupportedVersion(u32),
    /// More than [`MAX_ENTRIES`] programs.
    TooManyEntries(u32),
    /// The header's total size disagrees with the bytes given.
    SizeMismatch,
    /// Entry `n` has a name that is empty, not printable ASCII without
    /// spaces, or not zero padded.
    BadName(usize),
    /// Entry `n`'s bytes lie outside the image.
    EntryOutOfBounds(usize),
}

impl BootImageError {
    /// What is wrong, in a few words (for a log line with no room for the
    /// numbers; `Display` gives them).
    pub const fn reason(self) -> &'static str {
        match self {
            BootImageError::Truncated => "truncated",
            BootImageError::BadMagic => "no boot image magic",
            BootImageError::UnsupportedVersion(_) => "unsupported version",
            BootImageError::TooManyEntries(_) => "too many programs",
            BootImageError::SizeMismatch => "size disagrees with its header",
            BootImageError::BadName(_) => "a bad program name",
            BootImageError::EntryOutOfBounds(_) => "a program outside the image",
        }
    }
}

impl core::fmt::Display for BootImageError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match *self {
            BootImageError::Truncated => f.write_str("shorter than its header or directory"),
            BootImageError::BadMagic => f.write_str("no boot image magic"),
            BootImageError::UnsupportedVersion(version) => write!(f, "unsupported version {version}"),
            BootImageError::TooManyEntries(count) => write!(f, "{count} programs, more than {MAX_ENTRIES}"),
            BootImageError::SizeMismatch => f.write_str("its size disagrees with its header"),
            BootImageError::BadName(entry) => write!(f, "entry {entry} has a bad name"),
            BootImageError::EntryOutOfBounds(entry) => write!(f, "entry {entry} lies outside the image"),
        }
    }
}

/// A checked view of a boot image.
#[derive(Clone, Copy, Debug)]
pub struct BootImage<'a> {
    bytes: &'a [u8],
    count: usize,
}

/// One program in a boot image.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Program<'a> {
    /// Its name, as `Spawn` names it.
    pub name: &'a str,
    /// Its ELF file.
    pub elf: &'a [u8],
}

fn read_u32(bytes: &[u8], offset: usize) -> Option<u32> {
    let end = offset.checked_add(4)?;
    let word = bytes.get(offset..end)?;
    Some(u32::from_le_bytes([word[0], word[1], word[2], word[3]]))
}

/// The name in a directory entry's name field, checked: non-empty
/// printable ASCII without spaces, zero padded.
fn entry_name_bytes(raw: &[u8]) -> Option<&[u8]> {
    let len = raw.iter().position(|&b| b == 0).unwrap_or(raw.len());
    let (name, padding) = raw.split_at(len);
    (valid_name(name) && padding.iter().all(|&b| b == 0)).then_some(name)
}

/// True if `name` may name a boot-image entry: 1 to `NAME_MAX` bytes of
/// printable ASCII without spaces.
pub fn valid_name(name: &[u8]) -> bool {
    !name.is_empty() && name.len() <= NAME_MAX && name.iter().all(u8::is_ascii_graphic)
}

fn entry_name(raw: &[u8]) -> Option<&str> {
    core::str::from_utf8(entry_name_bytes(raw)?).ok()
}

/// The size a boot image's header declares, if `bytes` starts with one: a
/// loader that mapped whole pages trims its view to this before `parse`.
pub fn declared_size(bytes: &[u8]) -> Option<usize> {
    if bytes.len() < HEADER_SIZE || bytes[0..4] != MAGIC {
        return None;
    }
    read_u32(bytes, 12).map(|total| total as usize)
}

impl<'a> BootImage<'a> {
    /// Checks `bytes` and returns a view of it.
    pub fn parse(bytes: &'a [u8]) -> Result<Self, BootImageError> {
        if bytes.len() < HEADER_SIZE {
            return Err(BootImageError::Truncated);
        }
        if bytes[0..4] != MAGIC {
            return Err(BootImageError::BadMagic);
        }
        let version = read_u32(bytes, 4).ok_or(BootImageError::Truncated)?;
        if version != VERSION {
            return Err(BootImageError::UnsupportedVersion(version));
        }
        let count = read_u32(bytes, 8).ok_or(BootImageError::Truncated)?;
        if count as usize > MAX_ENTRIES {
            return Err(BootImageError::TooManyEntries(count));
        }
        let total = read_u32(bytes, 12).ok_or(BootImageError::Truncated)? as usize;
        if total != bytes.len() {
            return Err(BootImageError::SizeMismatch);
        }
        let count = count as usize;
        if bytes.len() < HEADER_SIZE + count * ENTRY_SIZE {
            return Err(BootImageError::Truncated);
        }
        let image = BootImage { bytes, count };
        for index in 0..count {
            let base = HEADER_SIZE + index * ENTRY_SIZE;
            entry_name_bytes(&bytes[base..base + NAME_MAX]).ok_or(BootImageError::BadName(index))?;
            image.entry_bytes(index).ok_or(BootImageError::EntryOutOfBounds(index))?;
        }
        Ok(image)
    }

    fn entry_bytes(&self, index: usize) -> Option<&'a [u8]> {
        let base = HEADER_SIZE + index * ENTRY_SIZE + NAME_MAX;
        let offset = read_u32(self.bytes, base)? as usize;
        let size = read_u32(self.bytes, base + 4)? as usize;
        self.bytes.get(offset..offset.checked_add(size)?)
    }

    /// The whole image.
    pub fn as_bytes(&self) -> &'a [u8] {
        self.bytes
    }

    /// Number of programs.
    pub fn len(&self) -> usize {
        self.count
    }

    /// True if the image holds no programs.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// Program `index`, if `index < len()`.
    pub fn get(&self, index: usize) -> Option<Program<'a>> {
        if index >= self.count {
            return None;
        }
        let base = HEADER_SIZE + index * ENTRY_SIZE;
        // Both were checked by `parse`; `?` keeps this total anyway.
        let name = entry_name(&self.bytes[base..base + NAME_MAX])?;
        let elf = self.entry_bytes(index)?;
        Some(Program { name, elf })
    }

    /// The program called `name`. Compares the directory's name fields
    /// as bytes (`parse` checked them all), decoding only the one found.
    pub fn find(&self, name: &str) -> Option<Program<'a>> {
        self.index_of(name).and_then(|index| self.get(index))
    }

    /// The bytes of the program called `name`, without decoding any name
    /// (what the kernel needs: it has no UTF-8 decoder).
    pub fn elf(&self, name: &str) -> Option<&'a [u8]> {
        self.index_of(name).and_then(|index| self.entry_bytes(index))
    }

    fn index_of(&self, name: &str) -> Option<usize> {
        let name = name.as_bytes();
        (0..self.count).find(|&index| {
            let base = HEADER_SIZE + index * ENTRY_SIZE;
            let field = &self.bytes[base..base + NAME_MAX];
            field.get(..name.len()) == Some(name) && field.get(name.len()).is_none_or(|&b| b == 0)
        })
    }

    /// All programs, in directory order.
    pub fn iter(&self) -> impl Iterator<Item = Program<'a>> + '_ {
        (0..self.count).filter_map(move |index| self.get(index))
    }
}

/// Size of the image [`write`] makes from programs with these ELF sizes.
pub fn image_size(elf_sizes: impl Iterator<Item = usize>) -> usize {
    let mut count = 0;
    let mut data = 0;
    for size in elf_sizes {
        count += 1;
        data += size.next_multiple_of(ENTRY_ALIGN);
    }
    (HEADER_SIZE + count * ENTRY_SIZE).next_multiple_of(ENTRY_ALIGN) + data
}

/// Where [`write`] starts each entry's bytes: on a 4 KiB boundary from the
/// image's start, so that a kernel can map a program's read-only pages
/// where they lie in an image that is itself page-aligned instead of
/// copying them (the parser does not require it).
pub const ENTRY_ALIGN: usize = 4096;

/// Why [`write`] could not pack an image.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PackError {
    /// Program `n`'s name is empty, too long or contains a zero byte.
    BadName(usize),
    /// More than [`MAX_ENTRIES`] programs.
    TooManyEntries,
    /// `out` is not exactly [`image_size`] bytes.
    WrongBufferSize,
    /// The image would be 4 GiB or more.
    TooLarge,
}

/// Packs `programs` (name, ELF bytes) into `out`, which must be exactly
/// [`image_size`] bytes long. Each ELF starts [`ENTRY_ALIGN`]-aligned.
pub fn write(programs: &[(&str, &[u8])], out: &mut [u8]) -> Result<(), PackError> {
    if programs.len() > MAX_ENTRIES {
        return Err(PackError::TooManyEntries);
    }
    if out.len() != image_size(programs.iter().map(|(_, elf)| elf.len())) {
        return Err(PackError::WrongBufferSize);
    }
    let total = u32::try_from(out.len()).map_err(|_| PackError::TooLarge)?;
    out.fill(0);
    out[0..4].copy_from_slice(&MAGIC);
    out[4..8].copy_from_slice(&VERSION.to_le_bytes());
    out[8..12].copy_from_slice(&(programs.len() as u32).to_le_bytes());
    out[12..16].copy_from_slice(&total.to_le_bytes());
    let mut data_offset = (HEADER_SIZE + programs.len() * ENTRY_SIZE).next_multiple_of(ENTRY_ALIGN);
    for (index, (name, elf)) in programs.iter().enumerate() {
        if !valid_name(name.as_bytes()) {
            return Err(PackError::BadName(index));
        }
        let base = HEADER_SIZE + index * ENTRY_SIZE;
        out[base..base + name.len()].copy_from_slice(name.as_bytes());
        out[base + NAME_MAX..base + NAME_MAX + 4].copy_from_slice(&(data_offset as u32).to_le_bytes());
        out[base + NAME_MAX + 4..base + NAME_MAX + 8].copy_from_slice(&(elf.len() as u32).to_le_bytes());
        out[data_offset..data_offset + elf.len()].copy_from_slice(elf);
        data_offset += elf.len().next_multiple_of(ENTRY_ALIGN);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    extern crate std;
    use super::*;
    use std::vec;

    #[test]
    fn errors_read_as_sentences() {
        use std::string::ToString;
        assert_eq!(BootImageError::UnsupportedVersion(3).to_string(), "unsupported version 3");
        assert_eq!(BootImageError::TooManyEntries(65).to_string(), "65 programs, more than 64");
        assert_eq!(BootImageError::BadName(2).to_string(), "entry 2 has a bad name");
        assert_eq!(BootImageError::Truncated.to_string(), "shorter than its header or directory");
    }

    fn pack(programs: &[(&str, &[u8])]) -> std::vec::Vec<u8> {
        let mut out = vec![0; image_size(programs.iter().map(|(_, e)| e.len()))];
        write(programs, &mut out).unwrap();
        out
    }

    #[test]
    fn round_trip() {
        let image = pack(&[("init", b"\x7fELFabc"), ("hello", b"12345")]);
        let parsed = BootImage::parse(&image).unwrap();
        assert_eq!(parsed.len(), 2);
        assert_eq!(parsed.get(0).unwrap().name, "init");
        assert_eq!(parsed.get(0).unwrap().elf, b"\x7fELFabc");
        assert_eq!(parsed.find("hello").unwrap().elf, b"12345");
        assert!(parsed.find("nobody").is_none());
    }

    #[test]
    fn entries_start_on_their_alignment() {
        let image = pack(&[("init", b"\x7fELFabc"), ("hello", &[7; 5000]), ("zz", b"12345")]);
        let parsed = BootImage::parse(&image).unwrap();
        for entry in parsed.iter() {
            let offset = entry.elf.as_ptr() as usize - image.as_ptr() as usize;
            assert_eq!(offset % ENTRY_ALIGN, 0, "{}", entry.name);
        }
        assert_eq!(image.len() % ENTRY_ALIGN, 0);
    }

    #[test]
    fn declared_size_trims_padding() {
        let mut image = pack(&[("init", b"abcd")]);
        let size = image.len();
        image.resize(size + 4096, 0);
        assert_eq!(declared_size(&image), Some(size));
        assert!(BootImage::parse(&image).is_err());
        assert!(BootImage::parse(&image[..size]).is_ok());
        assert_eq!(declared_size(b"XXXX0000000000000000"), None);
    }

    #[test]
    fn rejects_damage() {
        let image = pack(&[("init", b"abcd")]);
        assert_eq!(BootImage::parse(&image[..10]).unwrap_err(), BootImageError::Truncated);
        let mut bad = image.clone();
        bad[0] = b'X';
        assert_eq!(BootImage::parse(&bad).unwrap_err(), BootImageError::BadMagic);
        let mut bad = image.clone();
        bad.push(0);
        assert_eq!(BootImage::parse(&bad).unwrap_err(), BootImageError::SizeMismatch);
        let mut bad = image.clone();
        let size_field = HEADER_SIZE + NAME_MAX + 4;
        bad[size_field..size_field + 4].copy_from_slice(&(image.len() as u32).to_le_bytes());
        assert_eq!(BootImage::parse(&bad).unwrap_err(), BootImageError::EntryOutOfBounds(0));
        let mut bad = image;
        bad[HEADER_SIZE] = 0;
        assert_eq!(BootImage::parse(&bad).unwrap_err(), BootImageError::BadName(0));
    }

    #[test]
    fn rejects_bad_names() {
        let mut out = vec![0; image_size([4].into_iter())];
        assert_eq!(write(&[("", b"abcd")], &mut out), Err(PackError::BadName(0)));
        let long = "x".repeat(NAME_MAX + 1);
        assert_eq!(write(&[(&long, b"abcd")], &mut out), Err(PackError::BadName(0)));
        // Only printable ASCII without spaces: what a process name may be,
        // and what the kernel can check without a UTF-8 decoder.
        for name in ["two words", "tab\there", "caf\u{e9}", "nul\0"] {
            assert_eq!(write(&[(name, b"abcd")], &mut out), Err(PackError::BadName(0)), "{name:?}");
        }
        assert_eq!(write(&[("net-d_2.x~!", b"abcd")], &mut out), Ok(()));
        // The same rule when reading: a name field with a space, a control
        // byte or a byte above 0x7e is refused.
        for byte in [b' ', b'\n', 0x7f, 0xc3] {
            let mut bad = pack(&[("init", b"abcd")]);
            bad[HEADER_SIZE + 1] = byte;
            assert_eq!(BootImage::parse(&bad).unwrap_err(), BootImageError::BadName(0), "{byte:#x}");
        }
    }

    #[test]
    fn elf_finds_a_programs_bytes_by_name() {
        let image = pack(&[("init", b"first"), ("netd", b"second")]);
        let image = BootImage::parse(&image).unwrap();
        assert_eq!(image.elf("netd"), Some(&b"second"[..]));
        assert_eq!(image.elf("init"), Some(&b"first"[..]));
        assert_eq!(image.elf("ini"), None);
        assert_eq!(image.elf("initd"), None);
        assert_eq!(image.find("netd").map(|program| program.name), Some("netd"));
    }

    /// Any byte string parses to a view whose entries all lie inside it, or
    /// to an error; it never panics.
    #[test]
    fn arbitrary_bytes_never_panic() {
        let mut rng = tessera_testing::Rng::new(0x1234_5678_9abc_def0);
        let seed = pack(&[("init", b"\x7fELF0000"), ("b", b"zz")]);
        for round in 0..20_000 {
            let mut bytes = seed.clone();
            for _ in 0..(round % 8) + 1 {
                let state = rng.next_u64();
                let at = (state as usize) % bytes.len();
                bytes[at] = (state >> 32) as u8;
            }
            if round % 5 == 0 {
                bytes.truncate((rng.next_u64() as usize) % (bytes.len() + 1));
            }
            if let Ok(image) = BootImage::parse(&bytes) {
                for program in image.iter() {
                    assert!(!program.name.is_empty());
                }
                assert_eq!(image.iter().count(), image.len());
            }
        }
    }
}
