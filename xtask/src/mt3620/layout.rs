//! The memory layout check of an M-profile kernel ELF against its board's
//! description (docs/mt3620.md, "Packaging and flashing"): the entry point
//! is the vector table at the start of code memory, where the core boots;
//! every loadable segment lies in code memory or RAM; what runs from code
//! memory is read-only and aligned as the board requires (32 bytes in the
//! MT3620's flash, in memory and in the file); data the board's loader
//! writes runs where it is loaded; room is left for the stack below the
//! kernel's pool under the program slots (at RAM's top on a board without
//! slots).
//! Every error names the sections involved and the limit.

use tessera_board::armv7m::{Board, DataLoad};

use crate::elf::{LoadSegment, Section, PF_W, PF_X, SHF_ALLOC};

/// The least stack the kernel gets between its static data and RAM's top.
pub const MIN_STACK_BYTES: u64 = 4096;

/// What a good layout uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Usage {
    /// Bytes of code memory the segments occupy (data copied at reset
    /// included).
    pub code_bytes: u64,
    /// Bytes of RAM for data and BSS.
    pub ram_bytes: u64,
    /// Bytes left for the stack (below the program slots' pool, or at
    /// RAM's top).
    pub stack_bytes: u64,
}

/// A range of addresses with a name for messages.
struct Area {
    what: String,
    start: u64,
    end: u64,
}

impl Area {
    fn contains(&self, start: u64, end: u64) -> bool {
        self.start <= start && end <= self.end
    }
}

/// The names of the allocated sections inside `[start, end)`, for messages.
fn names_in(sections: &[Section], start: u64, end: u64) -> String {
    let names: Vec<&str> = sections
        .iter()
        .filter(|section| section.flags & SHF_ALLOC != 0 && section.size > 0)
        .filter(|section| start <= u64::from(section.address) && u64::from(section.address) < end.max(start + 1))
        .map(|section| section.name.as_str())
        .collect();
    if names.is_empty() {
        format!("the segment at {start:#010x}")
    } else {
        format!("section{} {}", if names.len() > 1 { "s" } else { "" }, names.join(", "))
    }
}

/// Checks the layout of an ELF with entry point `entry`, loadable
/// `segments` and `sections` against `board`; returns what it uses, or
/// every problem found.
pub fn check(board: &Board, entry: u32, segments: &[LoadSegment], sections: &[Section]) -> Result<Usage, Vec<String>> {
    let memory = &board.memory;
    let code = Area {
        what: format!("code memory ({} KiB at {:#010x})", memory.code_bytes / 1024, memory.code_base),
        start: u64::from(memory.code_base),
        end: u64::from(memory.code_base) + u64::from(memory.code_bytes),
    };
    let ram = Area {
        what: format!("RAM ({} KiB at {:#010x})", memory.ram_bytes / 1024, memory.ram_base),
        start: u64::from(memory.ram_base),
        end: u64::from(memory.ram_base) + u64::from(memory.ram_bytes),
    };
    let align = u64::from(memory.code_align);
    let mut problems = Vec::new();

    let vectors = sections.iter().find(|section| section.name == ".vectors" && section.flags & SHF_ALLOC != 0);
    if u64::from(entry) != code.start || vectors.is_none_or(|vectors| u64::from(vectors.address) != code.start) {
        problems.push(format!(
            "the entry point {entry:#010x} is not the vector table (section .vectors) at the start of {}, where the core boots",
            code.what
        ));
    }

    let mut usage = Usage { code_bytes: 0, ram_bytes: 0, stack_bytes: 0 };
    // The first code segment's distance from its place in the file: every
    // other must keep it, so one window of the file maps all of them.
    let mut window: Option<(i64, String)> = None;
    let mut ram_top: Option<(u64, String)> = None;
    for segment in segments.iter().filter(|segment| segment.memory_size > 0) {
        let start = u64::from(segment.address);
        let end = start + u64::from(segment.memory_size);
        let names = names_in(sections, start, end);
        if code.contains(start, end) {
            usage.code_bytes += end - start;
            if segment.flags & PF_W != 0 {
                problems.push(format!("{names} is writable but lies in {}, which is read-only at run time", code.what));
            }
            let delta = start as i64 - i64::from(segment.file_offset);
            match &window {
                None => window = Some((delta, names.clone())),
                Some((first, first_names)) if *first != delta => problems.push(format!(
                    "{names} is {delta:#x} bytes from its place in the file but {first_names} {first:#x}: \
                     code memory must be one window of the file (link with --no-rosegment)"
                )),
                Some(_) => {}
            }
            if start % align != 0 || u64::from(segment.file_offset) % align != 0 {
                problems.push(format!(
                    "{names} at {start:#010x} (file offset {:#x}) is not {align}-byte aligned in memory and in the file, \
                     as code run in place from {} must be",
                    segment.file_offset, code.what
                ));
            }
        } else if ram.contains(start, end) {
            usage.ram_bytes += end - start;
            if segment.flags & PF_X != 0 {
                problems.push(format!(
                    "{names} is executable but lies in {}, which the kernel keeps execute-never",
                    ram.what
                ));
            }
            let load = u64::from(segment.load_address);
            match memory.data_loaded_by {
                DataLoad::Loader if load != start => problems.push(format!(
                    "{names} is loaded at {load:#010x} but runs at {start:#010x}; this board's loader writes data where it runs"
                )),
                DataLoad::Kernel if segment.file_size > 0 && load != start => {
                    let load_end = load + u64::from(segment.file_size);
                    if code.contains(load, load_end) {
                        usage.code_bytes += load_end - load;
                    } else {
                        problems.push(format!(
                            "the initial contents of {names} are loaded at {load:#010x}..{load_end:#010x}, outside {}",
                            code.what
                        ));
                    }
                }
                _ => {}
            }
            if ram_top.as_ref().is_none_or(|(top, _)| end > *top) {
                ram_top = Some((end, names));
            }
        } else {
            let limit = if code.contains(start, start + 1) {
                format!("past the end of {} at {:#010x}", code.what, code.end)
            } else if ram.contains(start, start + 1) {
                format!("past the end of {} at {:#010x}", ram.what, ram.end)
            } else {
                format!("outside {} and {}", code.what, ram.what)
            };
            problems.push(format!("{names} ({start:#010x}..{end:#010x}) lies {limit}"));
        }
    }

    let (top, below) = ram_top.unwrap_or((ram.start, "nothing".to_string()));
    // The stack grows down from RAM's top, or, on a board with program
    // slots, from below the kernel's pool under them (link.x).
    let (stack_top, limit) = match board.programs {
        Some(programs) => (
            u64::from(programs.base) - u64::from(board.kernel_pool_bytes),
            format!("the kernel's pool below the program slots ({:#010x})", programs.base),
        ),
        None => (ram.end, format!("the top of {}", ram.what)),
    };
    usage.stack_bytes = stack_top.saturating_sub(top);
    if usage.stack_bytes < MIN_STACK_BYTES {
        problems.push(format!(
            "the stack has {} bytes between the end of {below} ({top:#010x}) and {limit}; it needs at least {MIN_STACK_BYTES}",
            usage.stack_bytes
        ));
    }
    if problems.is_empty() {
        Ok(usage)
    } else {
        Err(problems)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::elf::SHT_NOBITS;

    const SHT_PROGBITS: u32 = 1;
    const SHF_WRITE: u32 = 1;
    const SHF_EXECINSTR: u32 = 4;

    fn section(name: &str, address: u32, size: u32, flags: u32) -> Section {
        let kind = if name == ".bss" { SHT_NOBITS } else { SHT_PROGBITS };
        Section { name: name.to_string(), kind, flags: SHF_ALLOC | flags, address, size }
    }

    fn segment(file_offset: u32, address: u32, size: u32, flags: u32) -> LoadSegment {
        LoadSegment { file_offset, address, load_address: address, file_size: size, memory_size: size, flags }
    }

    /// The shape of the MT3620 build: vectors, text, rodata in flash; data
    /// and BSS in TCM.
    fn mt3620_layout() -> (u32, Vec<LoadSegment>, Vec<Section>) {
        let segments = vec![
            segment(0x400, 0x1000_0000, 0x1d0, 4),
            segment(0x5e0, 0x1000_01e0, 0x1a20, 5),
            segment(0x2000, 0x1000_1c00, 0x55b, 4),
            segment(0x20000, 0x0010_0000, 4, 6),
            LoadSegment { file_size: 0, ..segment(0x20400, 0x0010_0400, 0x808, 6) },
        ];
        let sections = vec![
            section(".vectors", 0x1000_0000, 0x1d0, 0),
            section(".text", 0x1000_01e0, 0x15d4, SHF_EXECINSTR),
            section(".user_text", 0x1000_1800, 0x400, SHF_EXECINSTR),
            section(".rodata", 0x1000_1c00, 0x55b, 0),
            section(".data", 0x0010_0000, 4, SHF_WRITE),
            section(".user_stacks", 0x0010_0400, 0x800, SHF_WRITE),
            section(".bss", 0x0010_0c00, 8, SHF_WRITE),
            section(".comment", 0, 0x40, 0),
        ];
        (0x1000_0000, segments, sections)
    }

    fn board() -> Board {
        Board::load("mt3620").unwrap()
    }

    fn problems(entry: u32, segments: &[LoadSegment], sections: &[Section]) -> String {
        check(&board(), entry, segments, sections).unwrap_err().join("\n")
    }

    #[test]
    fn the_mt3620_shape_passes_and_is_measured() {
        let (entry, segments, sections) = mt3620_layout();
        let usage = check(&board(), entry, &segments, &sections).unwrap();
        assert_eq!(usage.code_bytes, 0x1d0 + 0x1a20 + 0x55b);
        assert_eq!(usage.ram_bytes, 4 + 0x808);
        // From the end of BSS to the kernel's 8 KiB pool below the
        // program slots at 0x00108000.
        assert_eq!(usage.stack_bytes, 0x0010_6000 - 0x0010_0c08);
    }

    #[test]
    fn an_entry_point_other_than_the_vector_table_is_refused() {
        let (_, segments, sections) = mt3620_layout();
        let message = problems(0x1000_01e1, &segments, &sections);
        assert!(message.contains("not the vector table (section .vectors)"), "{message}");
    }

    #[test]
    fn code_out_of_alignment_names_the_section_and_the_alignment() {
        let (entry, mut segments, sections) = mt3620_layout();
        segments[1].file_offset += 8;
        let message = problems(entry, &segments, &sections);
        assert!(message.contains("sections .text, .user_text at 0x100001e0 (file offset 0x5e8)"), "{message}");
        assert!(message.contains("not 32-byte aligned"), "{message}");
    }

    #[test]
    fn code_segments_must_be_one_window_of_the_file() {
        let (entry, mut segments, sections) = mt3620_layout();
        segments[1].file_offset += 0x260;
        let message = problems(entry, &segments, &sections);
        assert!(
            message.contains("sections .text, .user_text is 0xffff9a0 bytes from its place in the file but section .vectors 0xffffc00"),
            "{message}"
        );
    }

    #[test]
    fn data_past_ram_names_the_limit() {
        let (entry, mut segments, mut sections) = mt3620_layout();
        segments[4].memory_size = 192 * 1024;
        sections[6].size = 192 * 1024 - 0x800;
        let message = problems(entry, &segments, &sections);
        assert!(message.contains("sections .user_stacks, .bss"), "{message}");
        assert!(message.contains("past the end of RAM (192 KiB at 0x00100000) at 0x00130000"), "{message}");
    }

    #[test]
    fn a_segment_nowhere_described_is_refused() {
        let (entry, mut segments, sections) = mt3620_layout();
        segments.push(segment(0x30000, 0x2200_0000, 0x100, 6));
        let message = problems(entry, &segments, &sections);
        assert!(
            message.contains("the segment at 0x22000000 (0x22000000..0x22000100) lies outside code memory"),
            "{message}"
        );
    }

    #[test]
    fn writable_flash_executable_ram_and_moved_data_are_refused() {
        let (entry, mut segments, sections) = mt3620_layout();
        segments[2].flags |= PF_W;
        segments[4].flags |= PF_X;
        segments[3].load_address = 0x1000_2200;
        let message = problems(entry, &segments, &sections);
        assert!(message.contains("section .rodata is writable"), "{message}");
        assert!(message.contains("executable but lies in RAM"), "{message}");
        assert!(message.contains("section .data is loaded at 0x10002200 but runs at 0x00100000"), "{message}");
    }

    #[test]
    fn too_little_stack_is_refused() {
        let (entry, mut segments, sections) = mt3620_layout();
        segments[4].memory_size = 0x6000 - 0x400 - 100;
        let message = problems(entry, &segments, &sections);
        assert!(message.contains("the stack has 100 bytes"), "{message}");
        assert!(message.contains("the kernel's pool below the program slots (0x00108000)"), "{message}");
        assert!(message.contains("at least 4096"), "{message}");
    }

    #[test]
    fn the_mps2_board_copies_data_from_code_memory() {
        let board = Board::load("mps2-an386").unwrap();
        let segments = [
            segment(0x10000, 0, 0x100, 4),
            segment(0x10100, 0x100, 0x1b00, 5),
            LoadSegment { load_address: 0x2138, ..segment(0x20000, 0x2000_0000, 4, 6) },
        ];
        let sections = [section(".vectors", 0, 0x100, 0), section(".data", 0x2000_0000, 4, SHF_WRITE)];
        let usage = check(&board, 0, &segments, &sections).unwrap();
        assert_eq!(usage.code_bytes, 0x100 + 0x1b00 + 4);
        let moved = [segments[0], segments[1], LoadSegment { load_address: 0x2000_1000, ..segments[2] }];
        let message = check(&board, 0, &moved, &sections).unwrap_err().join("\n");
        assert!(message.contains("initial contents of section .data are loaded at 0x20001000"), "{message}");
    }
}
