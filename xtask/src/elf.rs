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
    let (raw, names_table) = raw_sections(bytes)?;
    raw.iter()
        .map(|raw| {
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

/// Section type: a symbol table.
const SHT_SYMTAB: u32 = 2;
/// Size of one ELF32 symbol.
const SYMBOL_SIZE: usize = 16;

/// The names of the symbols in `bytes`'s symbol table (none if it has no
/// `.symtab`: a stripped file).
pub fn symbol_names(bytes: &[u8]) -> Result<Vec<String>> {
    let (raw, _) = raw_sections(bytes)?;
    let Some(table) = raw.iter().find(|section| section.kind == SHT_SYMTAB) else {
        return Ok(Vec::new());
    };
    let contents = |section: &RawSection| {
        let start = section.offset as usize;
        start
            .checked_add(section.size as usize)
            .and_then(|end| bytes.get(start..end))
            .ok_or_else(|| format!("section at offset {start} lies outside the file"))
    };
    let strings = raw.get(table.link as usize).ok_or("the symbol table's string table is not a section")?;
    let (symbols, strings) = (contents(table)?, contents(strings)?);
    symbols
        .chunks_exact(SYMBOL_SIZE)
        .map(|symbol| string_at(strings, u32::from_le_bytes([symbol[0], symbol[1], symbol[2], symbol[3]])))
        .collect()
}

/// The raw section headers of `bytes` and its section name table.
fn raw_sections(bytes: &[u8]) -> Result<(Vec<RawSection>, &[u8])> {
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
    let raw = (0..count).map(|index| raw_section(bytes, table, entsize, index)).collect::<Result<Vec<_>>>()?;
    Ok((raw, names_table))
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
/// code and read-only data as loaded, from the start of `.text` to the end
/// of `.rodata` (the kernel's `__text_start`..`__rodata_end`, which
/// `linker/kernel.ld` pads to pages), read from the loadable segments
/// that cover it, zero-filled where a segment's memory outruns its file
/// bytes (docs/pluton.md). What follows in memory (the boot image, measured
/// on its own, or data) is not part of it, whether or not the kernel has a
/// `.data` section between them.
pub fn measured_kernel_code(bytes: &[u8]) -> Result<Vec<u8>> {
    let sections = sections(bytes)?;
    let find = |name: &str| {
        sections.iter().find(|section| section.name == name).ok_or_else(|| format!("the kernel ELF has no {name}"))
    };
    let (text, rodata) = (find(".text")?, find(".rodata")?);
    let (start, end) = (text.address, rodata.address.checked_add(rodata.size).ok_or(".rodata wraps")?);
    if start >= end {
        return Err(format!(".rodata ({:#010x}) does not follow .text ({start:#010x})", rodata.address));
    }
    let (_, loads) = load_segments(bytes)?;
    let mut code = vec![0u8; (end - start) as usize];
    let mut covered = 0u64;
    for load in loads {
        let load_end = u64::from(load.address) + u64::from(load.memory_size);
        let (from, to) = (u64::from(load.address.max(start)), load_end.min(u64::from(end)));
        if from >= to {
            continue;
        }
        // The file bytes in it (`load_segments` checked that they lie in
        // the file); the rest stays zero.
        let file_end = u64::from(load.address) + u64::from(load.file_size);
        let copied = to.min(file_end).saturating_sub(from) as usize;
        let source = load.file_offset as usize + (from - u64::from(load.address)) as usize;
        let target = (from - u64::from(start)) as usize;
        code[target..target + copied].copy_from_slice(&bytes[source..source + copied]);
        covered += to - from;
    }
    if covered != u64::from(end - start) {
        return Err(format!(
            "no loadable segments cover the kernel's code and read-only data {start:#010x}..{end:#010x}"
        ));
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
    fn reads_symbol_names_through_the_symbol_tables_string_table() {
        // A symbol table whose strings are the section names (its link
        // points at `.shstrtab`, index 3): symbols named "", ".text" and
        // ".symtab".
        let mut elf = build_elf(&[(".text", SHT_PROGBITS, SHF_ALLOC, 0), (".symtab", SHT_SYMTAB, 0, 0)]);
        assert_eq!(symbol_names(&elf).unwrap(), Vec::<String>::new(), "an empty table");
        let mut symbols = Vec::new();
        for name in [0u32, 1, 7] {
            symbols.extend_from_slice(&name.to_le_bytes());
            symbols.extend_from_slice(&[0; SYMBOL_SIZE - 4]);
        }
        let (offset, table) = (elf.len() as u32, u32_at(&elf, 0x20).unwrap() as usize);
        elf.extend_from_slice(&symbols);
        let header = table + 2 * SECTION_HEADER_SIZE;
        for (at, value) in [(16, offset), (20, symbols.len() as u32), (24, 3)] {
            elf[header + at..header + at + 4].copy_from_slice(&value.to_le_bytes());
        }
        assert_eq!(symbol_names(&elf).unwrap(), ["", ".text", ".symtab"]);
        // A link that names no section is an error, not a panic.
        elf[header + 24..header + 28].copy_from_slice(&9u32.to_le_bytes());
        assert!(symbol_names(&elf).is_err());
        // A file without a symbol table (stripped) has no names.
        assert!(symbol_names(&kernel_like()).unwrap().is_empty());
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
