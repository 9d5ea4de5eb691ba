//! Writes ASXipFS images: the read-only, execute-in-place file system of
//! Azure Sphere image packages (docs/mt3620.md). Its on-disk layout is
//! cramfs's: a 64-byte superblock, the root's inode, then every
//! directory's entries (inodes of 12 bytes, each followed by its name
//! padded to 4 bytes), then the files' contents. Unlike cramfs nothing is
//! compressed: each file's bytes start on a 4 KiB page of their own, so
//! the loader can map them in place, and each file is marked for that
//! with the sticky bit, as cramfs's execute-in-place patches do.

use std::collections::BTreeMap;

use crate::Result;

/// The superblock's magic number (cramfs's).
pub const MAGIC: u32 = 0x28cd_3d45;
/// The superblock's signature bytes.
pub const SIGNATURE: &[u8; 16] = b"Compressed ROMFS";
/// Flags: the file system ID is version 2 (it carries a CRC, edition,
/// block and file counts), and directories are sorted by name.
pub const FLAGS: u32 = 0x1 | 0x2;
/// Where file contents are aligned (a page, for mapping in place).
pub const PAGE: usize = 4096;
/// The superblock's size; the root's inode follows it.
pub const SUPERBLOCK_BYTES: usize = 64;
/// An inode's size without its name.
pub const INODE_BYTES: usize = 12;
/// The longest name an inode holds (a 6-bit count of 4-byte words).
pub const MAX_NAME_BYTES: usize = 63 * 4;
/// The largest file, and the most bytes of entries one directory may have
/// (a 24-bit size).
pub const MAX_FILE_BYTES: usize = (1 << 24) - 1;
/// The largest image: offsets are 26-bit counts of 4-byte words.
pub const MAX_IMAGE_BYTES: usize = 1 << 28;

/// `st_mode` bits.
const S_IFDIR: u32 = 0o040000;
const S_IFREG: u32 = 0o100000;
const S_ISVTX: u32 = 0o001000;

/// One file to put in the image.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct File {
    /// Its path from the root, `/`-separated (`bin/app`).
    pub path: String,
    pub bytes: Vec<u8>,
    /// Whether it may be executed (mode 0755, else 0644).
    pub executable: bool,
}

/// A directory being laid out: its entries by name.
#[derive(Default)]
struct Directory {
    entries: BTreeMap<String, Entry>,
}

enum Entry {
    Directory(Directory),
    /// Index into the file list.
    File(usize),
}

/// The CRC-32 of zlib and cramfs (IEEE 802.3, reflected).
pub fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = 0xffff_ffffu32;
    for &byte in bytes {
        crc ^= u32::from(byte);
        for _ in 0..8 {
            crc = if crc & 1 != 0 { (crc >> 1) ^ 0xedb8_8320 } else { crc >> 1 };
        }
    }
    !crc
}

/// The three words of an inode.
fn inode(mode: u32, size: usize, name_bytes: usize, offset: usize) -> [u8; INODE_BYTES] {
    let words = [
        mode & 0xffff,             // uid 0
        size as u32 & 0x00ff_ffff, // gid 0
        ((name_bytes / 4) as u32 & 0x3f) | (((offset / 4) as u32) << 6),
    ];
    let mut out = [0; INODE_BYTES];
    for (index, word) in words.iter().enumerate() {
        out[index * 4..index * 4 + 4].copy_from_slice(&word.to_le_bytes());
    }
    out
}

fn padded_name(name: &str) -> usize {
    name.len().div_ceil(4) * 4
}

/// The bytes a directory's entries take (inodes and padded names).
fn entries_bytes(directory: &Directory) -> usize {
    directory.entries.keys().map(|name| INODE_BYTES + padded_name(name)).sum()
}

/// Builds an image named `volume` (at most 16 bytes) holding `files`.
pub fn build(volume: &str, files: &[File]) -> Result<Vec<u8>> {
    if volume.len() > 16 {
        return Err(format!("the volume name {volume:?} is longer than 16 bytes"));
    }
    let mut root = Directory::default();
    for (index, file) in files.iter().enumerate() {
        if file.bytes.len() > MAX_FILE_BYTES {
            return Err(format!(
                "{} is {} bytes; ASXipFS holds files up to {MAX_FILE_BYTES} bytes",
                file.path,
                file.bytes.len()
            ));
        }
        let parts: Vec<&str> = file.path.split('/').collect();
        if parts.iter().any(|part| part.is_empty() || *part == "." || *part == ".." || part.contains('\0')) {
            return Err(format!("{:?} is not a relative path of plain names", file.path));
        }
        let mut directory = &mut root;
        for (depth, part) in parts.iter().enumerate() {
            if part.len() > MAX_NAME_BYTES {
                return Err(format!("the name {part:?} in {} is longer than {MAX_NAME_BYTES} bytes", file.path));
            }
            let twice = || format!("{} is given twice, or both as a file and a directory", file.path);
            if depth + 1 == parts.len() {
                if directory.entries.insert(part.to_string(), Entry::File(index)).is_some() {
                    return Err(twice());
                }
            } else {
                let entry =
                    directory.entries.entry(part.to_string()).or_insert_with(|| Entry::Directory(Directory::default()));
                directory = match entry {
                    Entry::Directory(inner) => inner,
                    Entry::File(_) => return Err(twice()),
                };
            }
        }
    }

    // Metadata: the root's entries right after its inode, then each
    // directory's entries, breadth first, with file contents after all of
    // it on pages of their own.
    let mut order: Vec<&Directory> = vec![&root];
    let mut at = 0;
    while at < order.len() {
        let directory = order[at];
        order.extend(directory.entries.values().filter_map(|entry| match entry {
            Entry::Directory(inner) => Some(inner),
            Entry::File(_) => None,
        }));
        at += 1;
    }
    let mut entries_at = Vec::with_capacity(order.len());
    let mut offset = SUPERBLOCK_BYTES + INODE_BYTES;
    for directory in &order {
        entries_at.push(offset);
        offset += entries_bytes(directory);
    }
    let mut data_at = vec![0usize; files.len()];
    let mut data_end = offset.div_ceil(PAGE) * PAGE;
    for (index, file) in files.iter().enumerate() {
        if !file.bytes.is_empty() {
            data_at[index] = data_end;
            data_end += file.bytes.len().div_ceil(PAGE) * PAGE;
        }
    }
    let size = data_end;
    if size >= MAX_IMAGE_BYTES {
        return Err(format!("the image would be {size} bytes; ASXipFS offsets reach {MAX_IMAGE_BYTES}"));
    }
    if let Some(directory) = order.iter().find(|directory| entries_bytes(directory) > MAX_FILE_BYTES) {
        return Err(format!(
            "a directory's entries take {} bytes; ASXipFS sizes reach {MAX_FILE_BYTES}",
            entries_bytes(directory)
        ));
    }

    let mut image = vec![0u8; size];
    let root_bytes = entries_bytes(&root);
    let root_offset = if root_bytes == 0 { 0 } else { entries_at[0] };
    image[SUPERBLOCK_BYTES..SUPERBLOCK_BYTES + INODE_BYTES].copy_from_slice(&inode(
        S_IFDIR | 0o755,
        root_bytes,
        0,
        root_offset,
    ));
    // Directories are numbered in `order`; a directory's children that are
    // directories come later in it, in the same order as its entries.
    let mut next_directory = 1;
    let mut inodes = 1;
    for (number, directory) in order.iter().enumerate() {
        let mut at = entries_at[number];
        for (name, entry) in &directory.entries {
            let node = match entry {
                Entry::Directory(inner) => {
                    let bytes = entries_bytes(inner);
                    let offset = if bytes == 0 { 0 } else { entries_at[next_directory] };
                    next_directory += 1;
                    inode(S_IFDIR | 0o755, bytes, padded_name(name), offset)
                }
                Entry::File(index) => {
                    let file = &files[*index];
                    let permissions = if file.executable { 0o755 } else { 0o644 };
                    inode(S_IFREG | S_ISVTX | permissions, file.bytes.len(), padded_name(name), data_at[*index])
                }
            };
            image[at..at + INODE_BYTES].copy_from_slice(&node);
            image[at + INODE_BYTES..at + INODE_BYTES + name.len()].copy_from_slice(name.as_bytes());
            at += INODE_BYTES + padded_name(name);
            inodes += 1;
        }
    }
    for (index, file) in files.iter().enumerate() {
        image[data_at[index]..data_at[index] + file.bytes.len()].copy_from_slice(&file.bytes);
    }

    // The superblock; the CRC covers the whole image with its own field zero.
    let data_pages = (size - offset.div_ceil(PAGE) * PAGE) / PAGE;
    let words = [MAGIC, size as u32, FLAGS, 0];
    for (index, word) in words.iter().enumerate() {
        image[index * 4..index * 4 + 4].copy_from_slice(&word.to_le_bytes());
    }
    image[16..32].copy_from_slice(SIGNATURE);
    // fsid: crc (below), edition 0, blocks, files.
    image[36..40].copy_from_slice(&0u32.to_le_bytes());
    image[40..44].copy_from_slice(&(data_pages as u32).to_le_bytes());
    image[44..48].copy_from_slice(&(inodes as u32).to_le_bytes());
    image[48..48 + volume.len()].copy_from_slice(volume.as_bytes());
    let crc = crc32(&image);
    image[32..36].copy_from_slice(&crc.to_le_bytes());
    Ok(image)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn word(image: &[u8], at: usize) -> u32 {
        u32::from_le_bytes(image[at..at + 4].try_into().unwrap())
    }

    /// An inode as (mode, size, name, offset of contents or entries, its
    /// end), read back the way a mounting kernel does.
    fn read_inode(image: &[u8], at: usize) -> (u32, usize, String, usize, usize) {
        let mode = word(image, at) & 0xffff;
        let size = (word(image, at + 4) & 0xff_ffff) as usize;
        let third = word(image, at + 8);
        let name_bytes = ((third & 0x3f) * 4) as usize;
        let offset = ((third >> 6) * 4) as usize;
        let name = &image[at + INODE_BYTES..at + INODE_BYTES + name_bytes];
        let name = String::from_utf8(name.iter().copied().take_while(|&b| b != 0).collect()).unwrap();
        (mode, size, name, offset, at + INODE_BYTES + name_bytes)
    }

    /// Every file under the directory whose entries are at `offset`.
    fn walk(image: &[u8], offset: usize, bytes: usize, prefix: &str, out: &mut Vec<(String, u32, Vec<u8>)>) {
        let mut at = offset;
        let mut previous = String::new();
        while at < offset + bytes {
            let (mode, size, name, content, end) = read_inode(image, at);
            assert!(name > previous, "entries are sorted: {previous} then {name}");
            previous = name.clone();
            let path = format!("{prefix}{name}");
            if mode & S_IFDIR != 0 {
                walk(image, content, size, &format!("{path}/"), out);
            } else {
                assert_eq!(content % PAGE, 0, "{path}'s contents start on a page");
                out.push((path, mode, image[content..content + size].to_vec()));
            }
            at = end;
        }
    }

    fn app_files() -> Vec<File> {
        vec![
            File { path: "bin/app".into(), bytes: vec![0x7f, b'E', b'L', b'F', 1, 2, 3], executable: true },
            File { path: "app_manifest.json".into(), bytes: b"{\"Name\": \"Tessera\"}".to_vec(), executable: false },
        ]
    }

    #[test]
    fn crc32_matches_the_standard_check_value() {
        assert_eq!(crc32(b"123456789"), 0xcbf4_3926);
        assert_eq!(crc32(b""), 0);
    }

    #[test]
    fn an_image_reads_back_as_written() {
        let files = app_files();
        let image = build("Tessera", &files).unwrap();
        assert_eq!(word(&image, 0), MAGIC);
        assert_eq!(word(&image, 4) as usize, image.len());
        assert_eq!(image.len() % PAGE, 0);
        assert_eq!(word(&image, 8), FLAGS);
        assert_eq!(&image[16..32], SIGNATURE);
        assert_eq!(word(&image, 44), 4, "root, app_manifest.json, bin, bin/app");
        assert_eq!(word(&image, 40), 2, "two pages of contents");
        assert_eq!(&image[48..55], b"Tessera");
        let mut zeroed = image.clone();
        zeroed[32..36].fill(0);
        assert_eq!(word(&image, 32), crc32(&zeroed));

        let (mode, size, name, offset, end) = read_inode(&image, SUPERBLOCK_BYTES);
        assert_eq!((mode, name.as_str(), offset, end), (S_IFDIR | 0o755, "", 76, 76));
        let mut found = Vec::new();
        walk(&image, offset, size, "", &mut found);
        assert_eq!(found.len(), 2);
        assert_eq!(found[0], ("app_manifest.json".into(), S_IFREG | S_ISVTX | 0o644, files[1].bytes.clone()));
        assert_eq!(found[1], ("bin/app".into(), S_IFREG | S_ISVTX | 0o755, files[0].bytes.clone()));
    }

    #[test]
    fn a_change_anywhere_changes_the_crc() {
        let image = build("Tessera", &app_files()).unwrap();
        let mut files = app_files();
        files[0].bytes[6] ^= 1;
        let other = build("Tessera", &files).unwrap();
        assert_ne!(word(&image, 32), word(&other, 32));
    }

    #[test]
    fn bad_inputs_are_refused_by_name() {
        let file = |path: &str, bytes: usize| File { path: path.into(), bytes: vec![0; bytes], executable: false };
        let cases = [
            (vec![file("a/../b", 1)], "plain names"),
            (vec![file("/abs", 1)], "plain names"),
            (vec![file(&"n".repeat(253), 1)], "longer than 252"),
            (vec![file("big", MAX_FILE_BYTES + 1)], "holds files up to 16777215 bytes"),
            (vec![file("nul\0name", 1)], "plain names"),
            ((0..17).map(|n| file(&format!("f{n}"), MAX_FILE_BYTES)).collect(), "offsets reach"),
            (vec![file("x", 1), file("x", 2)], "given twice"),
            (vec![file("x", 1), file("x/y", 2)], "given twice"),
        ];
        for (files, expected) in cases {
            let error = build("v", &files).unwrap_err();
            assert!(error.contains(expected), "{expected}: {error}");
        }
        assert!(build("a volume name too long", &[]).unwrap_err().contains("16 bytes"));
    }

    #[test]
    fn an_empty_file_has_no_contents_offset() {
        let image = build("v", &[File { path: "empty".into(), bytes: vec![], executable: false }]).unwrap();
        let (_, size, _, offset, _) = read_inode(&image, SUPERBLOCK_BYTES);
        let (_, file_size, name, content, _) = read_inode(&image, offset);
        assert_eq!((size, name.as_str(), file_size, content), (INODE_BYTES + 8, "empty", 0, 0));
        assert_eq!(image.len(), PAGE);
    }
}
