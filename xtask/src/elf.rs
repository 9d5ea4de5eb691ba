//! Reads section headers from ELF32 little-endian files to measure the kernel's size.
//!
//! Only what the size metrics need is parsed: the file header, the section
//! header table and the section name string table. Every offset is checked
//! against the file, so a damaged file gives an error, never a panic.

use std::path::Path;

use tessera_abi::elf::{u16_at, u32_at};

use crate::Result;

/// Section flag: writable at run time.
pub const SHF_WRITE: u32 = 0x1;
/// Section flag: occupies memory at run time.
pub const SHF_ALLOC: u32 = 0x2;
/// Section type: occupies no space in the file (e.g. `.bss`).
pub const SHT_NOBITS: u32 = 8;
/// The section holding the boot image, which the kernel size metrics leave out.
pub const BOOT_IMAGE_SECTION: &str = ".bootimage";

const ELF_HEADER_SIZE: usize = 52;
const SECTION_HEADER_SIZE: usize = 40;
const SHN_XINDEX: u16 = 0xffff;

/// One section header, as far as the size metrics need it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Section {
    /// Its name from the section name string table.
    pub name: String,
    /// `sh_type`.
    pub kind: u32,
    /// `sh_flags`.
    pub flags: u32,
    /// `sh_addr`: where it is in memory (0 for a section not loaded).
    pub address: u32,
    /// `sh_size` in bytes.
    pub size: u32,
}

/// The kernel's size metrics.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Sizes {
    /// Bytes the kernel image occupies in the loaded file: allocated
    /// sections with contents, without the boot image.
    pub image_bytes: u64,
    /// Bytes of writable static memory: allocated, writable sections
    /// (initialised or not), without the boot image.
    pub static_ram_bytes: u64,
}

/// The fields of one section header that this module reads.
struct RawSection {
    name: u32,
    kind: u32,
    flags: u32,
    address: u32,
    offset: u32,
    size: u32,
    link: u32,
}

fn raw_section(bytes: &[u8], table: usize, entsize: usize, index: usize) -> Result<RawSection> {
    let base = index
        .checked_mul(entsize)
        .and_then(|at| at.checked_add(table))
        .ok_or("section header table offset overflows")?;
    let field =
        |at: usize| u32_at(bytes, base + at).ok_or_else(|| format!("section header {index} lies outside the file"));
    Ok(RawSection {
        name: field(0)?,
        kind: field(4)?,
        flags: field(8)?,
        address: field(12)?,
        offset: field(16)?,
        size: field(20)?,
        link: field(24)?,
    })
}

/// The NUL-terminated string at `offset` in the string table `table`.
fn string_at(table: &[u8], offset: u32) -> Result<String> {
    let start = offset as usize;
    let tail = table.get(start..).ok_or_else(|| format!("section name offset {offset} lies outside the name table"))?;
    let len = tail
        .iter()
        .position(|&byte| byte == 0)
        .ok_or_else(|| format!("section name at offset {offset} is not NUL-terminated"))?;
    Ok(String::from_utf8_lossy(&tail[..len]).into_owned())
}

/// Every section header of the ELF32 little-endian file `bytes`, in table order.
pub fn sections(bytes: &[u8]) -> Result<Vec<Section>> {
    if bytes.len() < ELF_HEADER_SIZE {
        return Err(format!("file too short for an ELF header ({} bytes)", bytes.len()));
    }
    if bytes[0..4] != *b"\x7fELF" {
        return Err("not an ELF file (bad magic)".to_string());
    }
    if bytes[4] != 1 {
        return Err(format!("not a 32-bit ELF file (class {})", bytes[4]));
    }
    if bytes[5] != 1 {
        return Err(format!("not a little-endian ELF file (data encoding {})", bytes[5]));
    }
    let truncated = || "ELF header is truncated".to_string();
    let table = u32_at(bytes, 0x20).ok_or_else(truncated)? as usize;
    let entsize = u16_at(bytes, 0x2e).ok_or_else(truncated)? as usize;
    let mut count = u16_at(bytes, 0x30).ok_or_else(truncated)? as usize;
    let mut names_index = u16_at(bytes, 0x32).ok_or_else(truncated)?;
    if table == 0 {
        return Err("the ELF file has no section header table".to_string());
    }
    if entsize < SECTION_HEADER_SIZE {
        return Err(format!("section header entries are {entsize} bytes, expected at least 40"));
    }
    // Extended numbering: the real count and name table index live in
    // section header 0.
    let first = raw_section(bytes, table, entsize, 0)?;
    if count == 0 {
        count = first.size as usize;
    }
    if names_index == SHN_XINDEX {
        names_index = u16::try_from(first.link)
            .map_err(|_| format!("section name table index {} is out of range", first.link))?;
    }
    let table_end = count
        .checked_mul(entsize)
        .and_then(|size| size.checked_add(table))
        .ok_or("section header table size overflows")?;
    if table_end > bytes.len() {
        return Err(format!("section header table (offset {table}, {count} entries) runs past the end of the file"));
    }
    let names_index = names_index as usize;
    if names_index == 0 || names_index >= count {
        return Err(format!("section name table index {names_index} is not a section"));
    }
    let names = raw_section(bytes, table, entsize, names_index)?;
    if names.kind == SHT_NOBITS {
        return Err("the section name table has no contents".to_string());
    }
    let names_start = names.offset as usize;
    let names_table = names_start
        .checked_add(names.size as usize)
        .and_then(|end| bytes.get(names_start..end))
        .ok_or("section name table lies outside the file")?;
    (0..count)
        .map(|index| {
            let raw = raw_section(bytes, table, entsize, index)?;
            Ok(Section {
                name: string_at(names_table, raw.name)?,
                kind: raw.kind,
                flags: raw.flags,
                address: raw.address,
                size: raw.size,
            })
        })
        .collect()
}

/// The size metrics of a kernel with these sections.
pub fn kernel_sizes(sections: &[Section]) -> Sizes {
    let mut sizes = Sizes { image_bytes: 0, static_ram_bytes: 0 };
    for section in sections {
        if section.name == BOOT_IMAGE_SECTION || section.flags & SHF_ALLOC == 0 {
            continue;
        }
        if section.kind != SHT_NOBITS {
            sizes.image_bytes += u64::from(section.size);
        }
        if section.flags & SHF_WRITE != 0 {
            sizes.static_ram_bytes += u64::from(section.size);
        }
    }
    sizes
}

/// Reads the kernel ELF at `path` and measures it.
pub fn read_kernel_sizes(path: &Path) -> Result<Sizes> {
    let bytes = std::fs::read(path).map_err(|err| format!("cannot read {}: {err}", crate::show(path)))?;
    let sections =
        sections(&bytes).map_err(|err| format!("cannot read the sections of {}: {err}", crate::show(path)))?;
    Ok(kernel_sizes(&sections))
}

/// Program header type: a loadable segment.
const PT_LOAD: u32 = 1;
/// Program header flag: writable.
pub const PF_W: u32 = 2;
/// The size of an ELF32 program header.
const PROGRAM_HEADER_SIZE: usize = 32;

/// Program header flag: executable.
pub const PF_X: u32 = 1;

/// One loadable segment (`PT_LOAD`) as its program header says.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LoadSegment {
    /// `p_offset`: where its bytes are in the file.
    pub file_offset: u32,
    /// `p_vaddr`: where it runs.
    pub address: u32,
    /// `p_paddr`: where it is loaded (differs for data copied at reset).
    pub load_address: u32,
    pub file_size: u32,
    pub memory_size: u32,
    /// `p_flags` (`PF_X`, `PF_W`, read 4).
    pub flags: u32,
}

/// The entry point and the loadable segments (in table order) of the
/// ELF32 little-endian file `bytes`; a header outside the file is an error.
pub fn load_segments(bytes: &[u8]) -> Result<(u32, Vec<LoadSegment>)> {
    sections(bytes)?; // checks the header's magic, class and byte order
    let truncated = || "ELF header is truncated".to_string();
    let entry = u32_at(bytes, 0x18).ok_or_else(truncated)?;
    let table = u32_at(bytes, 0x1c).ok_or_else(truncated)? as usize;
    let entsize = u16_at(bytes, 0x2a).ok_or_else(truncated)? as usize;
    let count = u16_at(bytes, 0x2c).ok_or_else(truncated)? as usize;
    if entsize < PROGRAM_HEADER_SIZE {
        return Err(format!("program header entries are {entsize} bytes, expected at least 32"));
    }
    let mut segments = Vec::new();
    for index in 0..count {
        let at = index.checked_mul(entsize).and_then(|at| at.checked_add(table)).ok_or("program headers overflow")?;
        let field = |offset: usize| {
            u32_at(bytes, at + offset).ok_or_else(|| format!("program header {index} lies outside the file"))
        };
        if field(0)? != PT_LOAD {
            continue;
        }
        let segment = LoadSegment {
            file_offset: field(4)?,
            address: field(8)?,
            load_address: field(12)?,
            file_size: field(16)?,
            memory_size: field(20)?,
            flags: field(24)?,
        };
        if u64::from(segment.file_offset) + u64::from(segment.file_size) > bytes.len() as u64 {
            return Err(format!("the segment at {:#010x} lies outside the file", segment.address));
        }
        segments.push(segment);
    }
    Ok((entry, segments))
}

/// What the Pluton security server measures as the kernel: the kernel's
/// code and read-only data as loaded, that is, its first loadable segments
/// (by address) up to the first writable one or the first gap, each as its
/// file bytes zero-filled to its memory size (docs/pluton.md).
pub fn measured_kernel_code(bytes: &[u8]) -> Result<Vec<u8>> {
    let (_, mut loads) = load_segments(bytes)?;
    loads.sort_by_key(|load| load.address);
    let mut code = Vec::new();
    let mut next = None;
    for load in loads {
        if load.flags & PF_W != 0 || next.is_some_and(|next| next != load.address) {
            break;
        }
        // `load_segments` checked that the file bytes lie in the file.
        let offset = load.file_offset as usize;
        code.extend_from_slice(&bytes[offset..offset + load.file_size as usize]);
        code.resize(code.len() + load.memory_size.saturating_sub(load.file_size) as usize, 0);
        next = Some(load.address.wrapping_add(load.memory_size));
    }
    if code.is_empty() {
        return Err("the kernel ELF has no read-only loadable segment first".to_string());
    }
    Ok(code)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SHT_PROGBITS: u32 = 1;
    const SHT_STRTAB: u32 = 3;
    const SHF_EXECINSTR: u32 = 0x4;

    /// Builds a small ELF32 little-endian file with these sections (after
    /// the null section) plus `.shstrtab`.
    fn build_elf(sections: &[(&str, u32, u32, u32)]) -> Vec<u8> {
        let mut names = vec![0u8];
        let mut name_offsets = Vec::new();
        for (name, ..) in sections.iter().chain([(".shstrtab", 0, 0, 0)].iter()) {
            name_offsets.push(names.len() as u32);
            names.extend_from_slice(name.as_bytes());
            names.push(0);
        }
        let names_offset = ELF_HEADER_SIZE;
        let table = (names_offset + names.len()).next_multiple_of(4);
        let count = sections.len() + 2;

        let mut elf = vec![0u8; ELF_HEADER_SIZE];
        elf[0..4].copy_from_slice(b"\x7fELF");
        elf[4] = 1; // ELFCLASS32
        elf[5] = 1; // ELFDATA2LSB
        elf[6] = 1; // EV_CURRENT
        elf[0x10..0x12].copy_from_slice(&2u16.to_le_bytes()); // ET_EXEC
        elf[0x12..0x14].copy_from_slice(&40u16.to_le_bytes()); // EM_ARM
        elf[0x20..0x24].copy_from_slice(&(table as u32).to_le_bytes());
        elf[0x28..0x2a].copy_from_slice(&(ELF_HEADER_SIZE as u16).to_le_bytes());
        elf[0x2e..0x30].copy_from_slice(&(SECTION_HEADER_SIZE as u16).to_le_bytes());
        elf[0x30..0x32].copy_from_slice(&(count as u16).to_le_bytes());
        elf[0x32..0x34].copy_from_slice(&((count - 1) as u16).to_le_bytes());
        elf.extend_from_slice(&names);
        elf.resize(table, 0);

        let mut header = |name: u32, kind: u32, flags: u32, offset: u32, size: u32| {
            let mut raw = [0u8; SECTION_HEADER_SIZE];
            for (at, value) in [(0, name), (4, kind), (8, flags), (16, offset), (20, size)] {
                raw[at..at + 4].copy_from_slice(&value.to_le_bytes());
            }
            elf.extend_from_slice(&raw);
        };
        header(0, 0, 0, 0, 0);
        for (index, &(_, kind, flags, size)) in sections.iter().enumerate() {
            header(name_offsets[index], kind, flags, 0, size);
        }
        let names_name = name_offsets[sections.len()];
        header(names_name, SHT_STRTAB, 0, names_offset as u32, names.len() as u32);
        elf
    }

    fn kernel_like() -> Vec<u8> {
        build_elf(&[
            (".text", SHT_PROGBITS, SHF_ALLOC | SHF_EXECINSTR, 1000),
            (".rodata", SHT_PROGBITS, SHF_ALLOC, 200),
            (".bootimage", SHT_PROGBITS, SHF_ALLOC, 50_000),
            (".data", SHT_PROGBITS, SHF_ALLOC | SHF_WRITE, 16),
            (".bss", SHT_NOBITS, SHF_ALLOC | SHF_WRITE, 4096),
            (".debug_info", SHT_PROGBITS, 0, 7777),
            (".comment", SHT_PROGBITS, 0, 33),
        ])
    }

    #[test]
    fn reads_names_types_flags_and_sizes() {
        let sections = sections(&kernel_like()).unwrap();
        let names: Vec<&str> = sections.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(
            names,
            ["", ".text", ".rodata", ".bootimage", ".data", ".bss", ".debug_info", ".comment", ".shstrtab"]
        );
        assert_eq!(
            sections[5],
            Section { name: ".bss".into(), kind: SHT_NOBITS, flags: SHF_ALLOC | SHF_WRITE, address: 0, size: 4096 }
        );
    }

    #[test]
    fn kernel_sizes_skip_boot_image_and_non_alloc() {
        let sizes = kernel_sizes(&sections(&kernel_like()).unwrap());
        assert_eq!(sizes, Sizes { image_bytes: 1000 + 200 + 16, static_ram_bytes: 16 + 4096 });
    }

    #[test]
    fn rejects_wrong_files() {
        let good = kernel_like();
        assert!(sections(b"\x7fELF").unwrap_err().contains("too short"));
        let mut bad = good.clone();
        bad[0] = b'X';
        assert!(sections(&bad).unwrap_err().contains("magic"));
        let mut bad = good.clone();
        bad[4] = 2;
        assert!(sections(&bad).unwrap_err().contains("32-bit"));
        let mut bad = good.clone();
        bad[5] = 2;
        assert!(sections(&bad).unwrap_err().contains("little-endian"));
        let mut bad = good.clone();
        bad[0x30..0x32].copy_from_slice(&200u16.to_le_bytes());
        assert!(sections(&bad).unwrap_err().contains("past the end"));
        let mut bad = good.clone();
        bad[0x32..0x34].copy_from_slice(&0u16.to_le_bytes());
        assert!(sections(&bad).unwrap_err().contains("name table index"));
        // Point section 1's name far outside the string table.
        let table = u32_at(&good, 0x20).unwrap() as usize;
        let mut bad = good;
        let at = table + SECTION_HEADER_SIZE;
        bad[at..at + 4].copy_from_slice(&5000u32.to_le_bytes());
        assert!(sections(&bad).unwrap_err().contains("outside the name table"));
    }

    #[test]
    fn damaged_files_never_panic() {
        let good = kernel_like();
        for len in 0..good.len() {
            let _ = sections(&good[..len]);
        }
        let mut rng = tessera_testing::Rng::new(0x9e37_79b9_7f4a_7c15);
        for _ in 0..5000 {
            let mut bytes = good.clone();
            for _ in 0..4 {
                let state = rng.next_u64();
                let at = (state as usize) % bytes.len();
                bytes[at] = (state >> 40) as u8;
            }
            if let Ok(sections) = sections(&bytes) {
                let _ = kernel_sizes(&sections);
            }
        }
    }
}
