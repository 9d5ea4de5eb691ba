//! Reading a program's ELF file into a load plan: which bytes go where, with which rights.
//!
//! The kernel (for `init`) and the user-space loader (for every other
//! program) both use it, so it lives here rather than in either. The boot
//! image is outside input (built by xtask, but a later loader takes
//! packages from the network), so every field is checked and the parser
//! never panics.

use crate::layout::{MAX_IMAGE_BYTES, PAGE_SIZE, STACK_SIZE, STACK_TOP, USER_IMAGE_BASE};
use crate::Access;

/// Most loadable segments a program may have.
pub const MAX_SEGMENTS: usize = 6;

const PT_LOAD: u32 = 1;
const PF_X: u32 = 1;
const PF_W: u32 = 2;
/// Read flag; see `parse` for why it is not needed.
const PF_R: u32 = 4;

/// Why an ELF file cannot be loaded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ElfError {
    /// Too short for its headers.
    Truncated,
    /// Not a 32-bit little-endian ELF executable for Arm.
    NotArmExecutable,
    /// A program header table entry size other than 32.
    BadProgramHeaders,
    /// More than [`MAX_SEGMENTS`] loadable segments.
    TooManySegments,
    /// A segment's file bytes lie outside the file, or filesz > memsz.
    SegmentOutOfFile,
    /// A segment lies outside the program area (below the image base or
    /// reaching the stack guard), or wraps.
    SegmentOutOfRange,
    /// Two segments share a page.
    SegmentsOverlap,
    /// A segment is both writable and executable.
    WritableAndExecutable,
    /// The entry point is not in an executable segment.
    BadEntryPoint,
    /// The segments need more than `MAX_IMAGE_BYTES` of memory.
    TooLarge,
    /// No loadable segment.
    NoSegments,
}

/// One loadable segment, page-rounded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Segment {
    /// Virtual address of the first byte.
    pub address: u32,
    /// Bytes in memory (the tail past `file_size` is zero).
    pub memory_size: u32,
    /// Offset of the file bytes.
    pub file_offset: u32,
    /// Bytes copied from the file.
    pub file_size: u32,
    /// Rights of the pages.
    pub access: Access,
}

impl Segment {
    /// First page address.
    pub fn page_start(&self) -> u32 {
        self.address & !(PAGE_SIZE as u32 - 1)
    }

    /// One past the last page address.
    pub fn page_end(&self) -> u32 {
        // Cannot overflow: `parse_within` kept address + memory_size below
        // the last page.
        (self.address + self.memory_size).next_multiple_of(PAGE_SIZE as u32)
    }

    /// What a loader puts in the page at `page` (page aligned, in
    /// `page_start()..page_end()`): the file bytes `file` go `offset` bytes
    /// into the page; the rest of the page is zero. `file` is empty for a
    /// page past the segment's file bytes (its bss).
    #[inline(never)]
    pub fn page_contents(&self, page: u32) -> (usize, core::ops::Range<usize>) {
        let start = page.max(self.address);
        let end = (page + PAGE_SIZE as u32).min(self.address + self.file_size);
        if start >= end {
            return (0, 0..0);
        }
        let from = (self.file_offset + (start - self.address)) as usize;
        ((start - page) as usize, from..from + (end - start) as usize)
    }
}

/// What the loader must do to start a program.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LoadPlan {
    /// Entry point.
    pub entry: u32,
    segments: [Option<Segment>; MAX_SEGMENTS],
    count: usize,
}

impl LoadPlan {
    /// The loadable segments, sorted by address.
    pub fn segments(&self) -> impl Iterator<Item = &Segment> {
        self.segments[..self.count].iter().flatten()
    }
}

/// The little-endian `u16` at `offset`, if `bytes` holds it whole (ELF
/// fields; xtask's ELF reader uses it too).
pub fn u16_at(bytes: &[u8], offset: usize) -> Option<u16> {
    let b = bytes.get(offset..offset.checked_add(2)?)?;
    Some(u16::from_le_bytes([b[0], b[1]]))
}

/// The little-endian `u32` at `offset`, if `bytes` holds it whole.
pub fn u32_at(bytes: &[u8], offset: usize) -> Option<u32> {
    let b = bytes.get(offset..offset.checked_add(4)?)?;
    Some(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
}

/// Lowest address the stack guard page starts at; segments must end below it.
const PROGRAM_AREA_END: u32 = (STACK_TOP - STACK_SIZE - PAGE_SIZE) as u32;

/// Checks `file` and returns its load plan, for a translated address space
/// (`crate::layout`): segments from `USER_IMAGE_BASE` up to the stack's
/// guard page.
pub fn parse(file: &[u8]) -> Result<LoadPlan, ElfError> {
    parse_within(file, USER_IMAGE_BASE as u32, PROGRAM_AREA_END)
}

/// Checks `file` and returns its load plan, its segments lying in
/// `[start, end)` (an identity-mapped platform passes where user memory may
/// be; `end` at most `u32::MAX - PAGE_SIZE + 1`, so page ends cannot wrap).
pub fn parse_within(file: &[u8], start: u32, end: u32) -> Result<LoadPlan, ElfError> {
    let (area_start, area_end) = (start, end.min(!(PAGE_SIZE as u32 - 1)));
    if file.len() < 52 {
        return Err(ElfError::Truncated);
    }
    // Magic, ELFCLASS32, ELFDATA2LSB, EV_CURRENT.
    if file[0..4] != *b"\x7fELF" || file[4] != 1 || file[5] != 1 || file[6] != 1 {
        return Err(ElfError::NotArmExecutable);
    }
    let kind = u16_at(file, 16).ok_or(ElfError::Truncated)?;
    let machine = u16_at(file, 18).ok_or(ElfError::Truncated)?;
    if kind != 2 || machine != 40 {
        return Err(ElfError::NotArmExecutable);
    }
    let entry = u32_at(file, 24).ok_or(ElfError::Truncated)?;
    let header_offset = u32_at(file, 28).ok_or(ElfError::Truncated)? as usize;
    let header_size = u16_at(file, 42).ok_or(ElfError::Truncated)? as usize;
    let header_count = u16_at(file, 44).ok_or(ElfError::Truncated)? as usize;
    if header_size != 32 {
        return Err(ElfError::BadProgramHeaders);
    }
    let table_end = header_count.checked_mul(32).and_then(|n| n.checked_add(header_offset));
    if table_end.is_none_or(|end| end > file.len()) {
        return Err(ElfError::Truncated);
    }

    let mut plan = LoadPlan { entry, segments: [None; MAX_SEGMENTS], count: 0 };
    let mut total: u64 = 0;
    for index in 0..header_count {
        let at = header_offset + index * 32;
        let field = |n: usize| u32_at(file, at + 4 * n).ok_or(ElfError::Truncated);
        if field(0)? != PT_LOAD {
            continue;
        }
        let (offset, address, file_size, memory_size, flags) = (field(1)?, field(2)?, field(4)?, field(5)?, field(6)?);
        if memory_size == 0 {
            continue;
        }
        if file_size > memory_size || (offset as u64 + file_size as u64) > file.len() as u64 {
            return Err(ElfError::SegmentOutOfFile);
        }
        let end = address.checked_add(memory_size).ok_or(ElfError::SegmentOutOfRange)?;
        if address < area_start || end > area_end {
            return Err(ElfError::SegmentOutOfRange);
        }
        if flags & PF_W != 0 && flags & PF_X != 0 {
            return Err(ElfError::WritableAndExecutable);
        }
        // Armv7-A short descriptors cannot make a user page unreadable, so
        // every loaded segment is readable whatever its flags say.
        let access = Access { read: true, write: flags & PF_W != 0, execute: flags & PF_X != 0 };
        let segment = Segment { address, memory_size, file_offset: offset, file_size, access };
        if plan.segments().any(|s| s.page_start() < segment.page_end() && segment.page_start() < s.page_end()) {
            return Err(ElfError::SegmentsOverlap);
        }
        if plan.count == MAX_SEGMENTS {
            return Err(ElfError::TooManySegments);
        }
        total += (segment.page_end() - segment.page_start()) as u64;
        if total > MAX_IMAGE_BYTES as u64 {
            return Err(ElfError::TooLarge);
        }
        let position = plan.segments().take_while(|s| s.address < address).count();
        // One place up by swaps of disjoint halves, not `copy_within`
        // (which links a general `memmove` into the kernel for a few words).
        for i in (position..plan.count).rev() {
            let (low, high) = plan.segments.split_at_mut(i + 1);
            core::mem::swap(&mut low[i], &mut high[0]);
        }
        plan.segments[position] = Some(segment);
        plan.count += 1;
    }
    if plan.count == 0 {
        return Err(ElfError::NoSegments);
    }
    // Entry must be in an executable segment (Thumb entry points have bit 0 set).
    let entry_address = entry & !1;
    if !plan
        .segments()
        .any(|s| s.access.execute && s.address <= entry_address && entry_address < s.address + s.memory_size)
    {
        return Err(ElfError::BadEntryPoint);
    }
    Ok(plan)
}

/// Builds a minimal ELF file for tests and fuzzing seeds: `segments` are
/// (address, flags, file bytes, memory size).
pub fn build_test_elf(entry: u32, segments: &[(u32, u32, &[u8], u32)], out: &mut [u8]) -> usize {
    let headers = 52;
    let mut data = headers + 32 * segments.len();
    out[..4].copy_from_slice(b"\x7fELF");
    out[4] = 1;
    out[5] = 1;
    out[6] = 1;
    out[16..18].copy_from_slice(&2u16.to_le_bytes());
    out[18..20].copy_from_slice(&40u16.to_le_bytes());
    out[20..24].copy_from_slice(&1u32.to_le_bytes());
    out[24..28].copy_from_slice(&entry.to_le_bytes());
    out[28..32].copy_from_slice(&(headers as u32).to_le_bytes());
    out[40..42].copy_from_slice(&52u16.to_le_bytes());
    out[42..44].copy_from_slice(&32u16.to_le_bytes());
    out[44..46].copy_from_slice(&(segments.len() as u16).to_le_bytes());
    for (index, (address, flags, bytes, memory_size)) in segments.iter().enumerate() {
        let at = headers + index * 32;
        let words = [PT_LOAD, data as u32, *address, *address, bytes.len() as u32, *memory_size, *flags, 4096];
        for (n, word) in words.iter().enumerate() {
            out[at + 4 * n..at + 4 * n + 4].copy_from_slice(&word.to_le_bytes());
        }
        out[data..data + bytes.len()].copy_from_slice(bytes);
        data += bytes.len();
    }
    data
}

/// Segment flags for [`build_test_elf`]: read + execute.
pub const FLAGS_RX: u32 = PF_R | PF_X;
/// Segment flags for [`build_test_elf`]: read + write.
pub const FLAGS_RW: u32 = PF_R | PF_W;
/// Segment flags for [`build_test_elf`]: read + write + execute (refused).
pub const FLAGS_RWX: u32 = PF_R | PF_W | PF_X;

#[cfg(test)]
mod tests {
    use super::*;

    fn elf(entry: u32, segments: &[(u32, u32, &[u8], u32)]) -> ([u8; 4096], usize) {
        let mut out = [0u8; 4096];
        let len = build_test_elf(entry, segments, &mut out);
        (out, len)
    }

    #[test]
    fn parses_text_and_data() {
        let (file, len) = elf(0x10001, &[(0x12000, FLAGS_RW, b"data", 0x2000), (0x10000, FLAGS_RX, b"code", 4)]);
        let plan = parse(&file[..len]).unwrap();
        let segments: [Segment; 2] = {
            let mut it = plan.segments().copied();
            [it.next().unwrap(), it.next().unwrap()]
        };
        assert_eq!(segments[0].address, 0x10000);
        assert!(segments[0].access.execute);
        assert_eq!(segments[1].page_end(), 0x14000);
        assert!(segments[1].access.write && !segments[1].access.execute);
    }

    #[test]
    fn page_contents_place_file_bytes() {
        let segment = Segment {
            address: 0x10100,
            memory_size: 0x2000,
            file_offset: 0x40,
            file_size: 0x1000,
            access: Access::READ_WRITE,
        };
        // First page: from 0x100 into the page, up to the page's end.
        assert_eq!(segment.page_contents(0x10000), (0x100, 0x40..0x40 + 0xF00));
        // Second page: the rest of the file bytes, from its start.
        assert_eq!(segment.page_contents(0x11000), (0, 0x40 + 0xF00..0x40 + 0x1000));
        // Third page: bss only.
        assert_eq!(segment.page_contents(0x12000), (0, 0..0));
    }

    #[test]
    fn refuses_bad_files() {
        let (file, len) = elf(0x10000, &[(0x10000, FLAGS_RX, b"code", 4)]);
        assert!(parse(&file[..len]).is_ok());
        assert_eq!(parse(&file[..40]), Err(ElfError::Truncated));
        let mut bad = file;
        bad[18] = 3;
        assert_eq!(parse(&bad[..len]), Err(ElfError::NotArmExecutable));
        let (file, len) = elf(0x10000, &[(0x10000, FLAGS_RWX, b"code", 4)]);
        assert_eq!(parse(&file[..len]), Err(ElfError::WritableAndExecutable));
        let (file, len) = elf(0x20000, &[(0x10000, FLAGS_RX, b"code", 4)]);
        assert_eq!(parse(&file[..len]), Err(ElfError::BadEntryPoint));
        let (file, len) = elf(0x1000, &[(0x1000, FLAGS_RX, b"code", 4)]);
        assert_eq!(parse(&file[..len]), Err(ElfError::SegmentOutOfRange));
        let (file, len) = elf(0x10000, &[(0x10000, FLAGS_RX, b"code", 4), (0x10800, FLAGS_RW, b"d", 4)]);
        assert_eq!(parse(&file[..len]), Err(ElfError::SegmentsOverlap));
        let (file, len) = elf(0x10000, &[(0x10000, FLAGS_RX, b"code", 4), (0x3FFE_A000, FLAGS_RW, b"d", 0x1001)]);
        assert_eq!(parse(&file[..len]), Err(ElfError::SegmentOutOfRange));
        let (file, len) = elf(0x10000, &[(0x10000, FLAGS_RX, b"code", 4), (0xFFFF_F000, FLAGS_RW, b"d", 0x2000)]);
        assert_eq!(parse(&file[..len]), Err(ElfError::SegmentOutOfRange));
        let (file, len) = elf(0x10000, &[(0x10000, FLAGS_RX, b"code", 0x100_0000)]);
        assert_eq!(parse(&file[..len]), Err(ElfError::TooLarge));
    }

    #[test]
    fn an_identity_area_bounds_the_segments() {
        // Linked for SRAM at 0x2000_0000, where an Armv7-M board has it.
        let (file, len) = elf(0x2000_0001, &[(0x2000_0000, FLAGS_RX, b"code", 4), (0x2000_8000, FLAGS_RW, b"d", 4)]);
        assert!(parse_within(&file[..len], 0x2000_0000, 0x2001_0000).is_ok());
        assert_eq!(parse_within(&file[..len], 0x2000_1000, 0x2001_0000), Err(ElfError::SegmentOutOfRange));
        assert_eq!(parse_within(&file[..len], 0x2000_0000, 0x2000_8000), Err(ElfError::SegmentOutOfRange));
        // Above the translated layout's stack: only an identity area takes it.
        let (file, len) = elf(0x4000_0000, &[(0x4000_0000, FLAGS_RX, b"code", 4)]);
        assert_eq!(parse(&file[..len]), Err(ElfError::SegmentOutOfRange));
        assert!(parse_within(&file[..len], 0x1_0000, 0xE000_0000).is_ok());
        // The last page of the address space is never in an area: page ends
        // cannot wrap.
        let (file, len) = elf(0xFFFF_F000, &[(0xFFFF_F000, FLAGS_RX, b"code", 4)]);
        assert_eq!(parse_within(&file[..len], 0x1_0000, u32::MAX), Err(ElfError::SegmentOutOfRange));
    }
}
