//! The Armv7-M MPU (PMSAv7), as the M-profile kernel programs it
//! (docs/mt3620.md, "What the MPU can and cannot isolate").
//!
//! A [`Region`] is a power of two from 32 bytes to 4 GiB, based at a
//! multiple of its size; from 256 bytes up it has eight equal subregions
//! that can each be switched off. [`Region::encode`] gives its `MPU_RBAR`
//! and `MPU_RASR` values: the unprivileged rights (read-only or read and
//! write; execute unless execute-never), the privileged ones always read
//! and write (the kernel copies into its processes' memory; where no
//! region matches, it has the default map), and the memory type.
//!
//! A [`RegionTable`] is a process's address space on the M4: the pages the
//! portable kernel maps (4 KiB, as on the A7) gathered into at most
//! [`REGIONS`] regions. Each region covers one naturally aligned 32 KiB
//! window, one 4 KiB page per subregion, all with the same rights and
//! memory type; a page joins the region of its window with its rights, or
//! takes a free region. So a process can have up to eight windows, or
//! fewer with mixed rights in one window; the ninth is refused
//! ([`MapError::NoRegionFree`]), the M4's version of the A7's mapping limit.
//! A whole frame of 64 KiB or more, naturally aligned (as `Retype` makes
//! them), is mapped as one region of its own size
//! ([`RegionTable::map_block`]), so a large mapping (the boot image `init`
//! reads, a big heap) costs one region, not one per 32 KiB.
//! Unprivileged code cannot be denied reads on a region it may use, so, as
//! on the A7, every mapped page is readable.

use crate::pagetable::MemoryType;
use crate::Access;

/// MPU regions on a Cortex-M4.
pub const REGIONS: usize = 8;
/// The page the portable kernel maps.
pub const PAGE_BYTES: u32 = 4096;
/// A page-level region's window: eight pages, one per subregion.
pub const WINDOW_BYTES: u32 = 8 * PAGE_BYTES;
/// log2 of [`WINDOW_BYTES`].
const WINDOW_LOG2: u8 = WINDOW_BYTES.trailing_zeros() as u8;
/// The smallest block [`RegionTable::map_block`] gives a region of its own.
pub const BLOCK_MIN_BYTES: u32 = 2 * WINDOW_BYTES;
/// Where [`RegionTable::words`] keeps a block's size (4 bits, log2 minus
/// [`WINDOW_LOG2`]; 0 for a window): bits 11-14, below any window's base
/// (a multiple of 32 KiB).
const WORD_SIZE_SHIFT: u32 = 11;
/// The largest block: its size must fit those 4 bits.
const BLOCK_MAX_BYTES: u32 = 1 << 30;

/// `MPU_RBAR`: the region number field is valid.
const RBAR_VALID: u32 = 1 << 4;
/// `MPU_RASR` fields.
const RASR_ENABLE: u32 = 1;
const RASR_XN: u32 = 1 << 28;
const AP_SHIFT: u32 = 24;
/// Privileged read and write; unprivileged read only, or read and write.
const AP_USER_READ: u32 = 0b010;
const AP_USER_READ_WRITE: u32 = 0b011;
/// Normal memory, write-back (TEX 000, C, B); shareable device (TEX 000,
/// B, S).
const NORMAL: u32 = (1 << 17) | (1 << 16);
const DEVICE: u32 = (1 << 18) | (1 << 16);

/// Why a region cannot be made.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RegionError {
    /// Not a power of two from 32 bytes up.
    BadSize,
    /// The base is not a multiple of the size.
    Misaligned,
    /// Subregions switched off on a region under 256 bytes, which has none.
    NoSubregions,
}

/// One MPU region.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Region {
    base: u32,
    /// log2 of the size, 5 (32 bytes) to 32 (4 GiB).
    size_log2: u8,
    /// Bit `i`: subregion `i` is on (all on below 256 bytes).
    subregions: u8,
    access: Access,
    memory: MemoryType,
}

impl Region {
    /// A region of `bytes` at `base`, every subregion on. Device memory is
    /// never executable; every region is readable.
    pub fn new(base: u32, bytes: u64, access: Access, memory: MemoryType) -> Result<Region, RegionError> {
        if !bytes.is_power_of_two() || !(32..=1 << 32).contains(&bytes) {
            return Err(RegionError::BadSize);
        }
        if !u64::from(base).is_multiple_of(bytes) {
            return Err(RegionError::Misaligned);
        }
        let access =
            Access { read: true, write: access.write, execute: access.execute && memory == MemoryType::Normal };
        Ok(Region { base, size_log2: bytes.trailing_zeros() as u8, subregions: 0xff, access, memory })
    }

    /// The same region with only the subregions in `mask` on.
    pub fn with_subregions(self, mask: u8) -> Result<Region, RegionError> {
        if self.size_log2 < 8 && mask != 0xff {
            return Err(RegionError::NoSubregions);
        }
        Ok(Region { subregions: mask, ..self })
    }

    /// Its first address.
    pub fn base(&self) -> u32 {
        self.base
    }

    /// Its size in bytes.
    pub fn bytes(&self) -> u64 {
        1 << self.size_log2
    }

    /// The rights unprivileged code has in it (always readable).
    pub fn access(&self) -> Access {
        self.access
    }

    /// Whether `address` is in an enabled part of it.
    pub fn contains(&self, address: u32) -> bool {
        let offset = u64::from(address.wrapping_sub(self.base));
        if u64::from(address) < u64::from(self.base) || offset >= self.bytes() {
            return false;
        }
        let subregion = (offset >> (self.size_log2.saturating_sub(3))) as u32;
        self.size_log2 < 8 || self.subregions & (1 << subregion) != 0
    }

    /// `MPU_RBAR` and `MPU_RASR` for it as region `number` (0 to 15).
    pub fn encode(&self, number: u8) -> (u32, u32) {
        let rbar = self.base | RBAR_VALID | u32::from(number & 0xf);
        let ap = if self.access.write { AP_USER_READ_WRITE } else { AP_USER_READ };
        let xn = if self.access.execute { 0 } else { RASR_XN };
        let memory = match self.memory {
            MemoryType::Normal => NORMAL,
            MemoryType::Device => DEVICE,
        };
        let disabled = if self.size_log2 < 8 { 0 } else { u32::from(!self.subregions) };
        let size = u32::from(self.size_log2 - 1);
        let rasr = xn | (ap << AP_SHIFT) | memory | (disabled << 8) | (size << 1) | RASR_ENABLE;
        (rbar, rasr)
    }
}

/// Why a page cannot be mapped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MapError {
    /// The address is not a multiple of 4 KiB.
    Misaligned,
    /// The page is mapped already.
    AlreadyMapped,
    /// Every region is in use for other windows or other rights.
    NoRegionFree,
}

/// A process's MPU regions, built page by page (see the module's
/// description).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RegionTable {
    regions: [Option<Region>; REGIONS],
}

impl Default for RegionTable {
    fn default() -> RegionTable {
        RegionTable::new()
    }
}

impl RegionTable {
    /// No page mapped.
    pub const fn new() -> RegionTable {
        RegionTable { regions: [None; REGIONS] }
    }

    /// The rights and memory type a page gets (readable always, device
    /// memory never executable).
    fn effective(access: Access, memory: MemoryType) -> Access {
        Access { read: true, write: access.write, execute: access.execute && memory == MemoryType::Normal }
    }

    /// Whether `region` is a block (a whole frame of its own size) rather
    /// than a window of pages.
    fn is_block(region: &Region) -> bool {
        region.size_log2 > WINDOW_LOG2
    }

    /// The region mapping the page at `address`, if any, and the page's
    /// subregion in it (`None` in a block).
    fn find(&self, address: u32) -> Option<(usize, Option<u8>)> {
        let subregion = ((address % WINDOW_BYTES) / PAGE_BYTES) as u8;
        self.regions.iter().enumerate().find_map(|(index, region)| {
            let region = region.as_ref()?;
            if RegionTable::is_block(region) {
                return region.contains(address).then_some((index, None));
            }
            (region.base == address - address % WINDOW_BYTES && region.subregions & (1 << subregion) != 0)
                .then_some((index, Some(subregion)))
        })
    }

    /// Maps the 4 KiB page at `address` with `access` (made readable) and
    /// `memory`.
    pub fn map_page(&mut self, address: u32, access: Access, memory: MemoryType) -> Result<(), MapError> {
        if !address.is_multiple_of(PAGE_BYTES) {
            return Err(MapError::Misaligned);
        }
        if self.find(address).is_some() {
            return Err(MapError::AlreadyMapped);
        }
        let window = address - address % WINDOW_BYTES;
        let bit = 1u8 << ((address % WINDOW_BYTES) / PAGE_BYTES);
        let access = RegionTable::effective(access, memory);
        let same = self.regions.iter_mut().flatten().find(|region| {
            !RegionTable::is_block(region)
                && region.base == window
                && region.access == access
                && region.memory == memory
        });
        if let Some(region) = same {
            region.subregions |= bit;
            return Ok(());
        }
        let free = self.regions.iter_mut().find(|region| region.is_none()).ok_or(MapError::NoRegionFree)?;
        let region = Region::new(window, u64::from(WINDOW_BYTES), access, memory)
            .and_then(|region| region.with_subregions(bit))
            .expect("a 32 KiB window is a valid region");
        *free = Some(region);
        Ok(())
    }

    /// Maps the frame of `bytes` at `address` with `access` (made
    /// readable) and `memory`: one region of its own if it is a block (a
    /// power of two of at least [`BLOCK_MIN_BYTES`], based at a multiple of
    /// its size), else page by page. Nothing is mapped on an error.
    pub fn map_block(&mut self, address: u32, bytes: u32, access: Access, memory: MemoryType) -> Result<(), MapError> {
        if !address.is_multiple_of(PAGE_BYTES) || !bytes.is_multiple_of(PAGE_BYTES) {
            return Err(MapError::Misaligned);
        }
        let block = (BLOCK_MIN_BYTES..=BLOCK_MAX_BYTES).contains(&bytes)
            && bytes.is_power_of_two()
            && address.is_multiple_of(bytes);
        if !block {
            for offset in (0..bytes).step_by(PAGE_BYTES as usize) {
                if let Err(error) = self.map_page(address + offset, access, memory) {
                    for done in (0..offset).step_by(PAGE_BYTES as usize) {
                        self.unmap_page(address + done);
                    }
                    return Err(error);
                }
            }
            return Ok(());
        }
        let end = u64::from(address) + u64::from(bytes);
        let overlaps = self.regions.iter().flatten().any(|region| {
            let (start, stop) = (u64::from(region.base), u64::from(region.base) + region.bytes());
            start < end
                && u64::from(address) < stop
                && (RegionTable::is_block(region)
                    || (0..8u64).any(|page| {
                        let at = start + page * u64::from(PAGE_BYTES);
                        region.subregions & (1 << page) != 0 && u64::from(address) <= at && at < end
                    }))
        });
        if overlaps {
            return Err(MapError::AlreadyMapped);
        }
        let free = self.regions.iter_mut().find(|region| region.is_none()).ok_or(MapError::NoRegionFree)?;
        let access = RegionTable::effective(access, memory);
        *free = Some(Region::new(address, u64::from(bytes), access, memory).expect("a block is a valid region"));
        Ok(())
    }

    /// Unmaps the frame of `bytes` at `address` that [`map_block`](Self::map_block)
    /// mapped; false if none of it was mapped.
    pub fn unmap_block(&mut self, address: u32, bytes: u32) -> bool {
        let block = self.regions.iter_mut().find(|region| {
            region.is_some_and(|region| {
                RegionTable::is_block(&region) && region.base == address && region.bytes() == u64::from(bytes)
            })
        });
        if let Some(slot) = block {
            *slot = None;
            return true;
        }
        let mut any = false;
        for offset in (0..bytes).step_by(PAGE_BYTES as usize) {
            any |= self.unmap_page(address + offset);
        }
        any
    }

    /// Unmaps the page at `address`; false if it was not mapped. A region
    /// left with no page is freed; a page of a block takes the whole block
    /// with it (a block is mapped and unmapped as one frame).
    pub fn unmap_page(&mut self, address: u32) -> bool {
        let Some((index, subregion)) = self.find(address - address % PAGE_BYTES) else { return false };
        let slot = &mut self.regions[index];
        match (slot.as_mut(), subregion) {
            (Some(region), Some(subregion)) => {
                region.subregions &= !(1 << subregion);
                if region.subregions == 0 {
                    *slot = None;
                }
            }
            _ => *slot = None,
        }
        true
    }

    /// The rights and memory type of the page holding `address`, if mapped.
    pub fn lookup(&self, address: u32) -> Option<(Access, MemoryType)> {
        let (index, _) = self.find(address - address % PAGE_BYTES)?;
        self.regions[index].map(|region| (region.access, region.memory))
    }

    /// The table as one word per region, for keeping in a process object:
    /// the window's base, the pages on (bits 0-7), write (bit 8), execute
    /// (bit 9), device memory (bit 10) and, for a block, its size (bits
    /// 11-14: log2 of the size minus 15; 0 for a window). A free region is
    /// 0, so zeroed memory reads back as an empty table.
    pub fn words(&self) -> [u32; REGIONS] {
        let mut out = [0; REGIONS];
        for (word, region) in out.iter_mut().zip(&self.regions) {
            if let Some(region) = region {
                *word = region.base
                    | u32::from(region.subregions)
                    | (u32::from(region.access.write) << 8)
                    | (u32::from(region.access.execute) << 9)
                    | (u32::from(region.memory == MemoryType::Device) << 10)
                    | (u32::from(region.size_log2 - WINDOW_LOG2) << WORD_SIZE_SHIFT);
            }
        }
        out
    }

    /// The table [`RegionTable::words`] gave (a word with no page on is a
    /// free region; bits it does not define are ignored).
    pub fn from_words(words: &[u32; REGIONS]) -> RegionTable {
        let mut table = RegionTable::new();
        for (slot, &word) in table.regions.iter_mut().zip(words) {
            let subregions = word as u8;
            if subregions == 0 {
                continue;
            }
            let memory = if word & (1 << 10) != 0 { MemoryType::Device } else { MemoryType::Normal };
            let access = Access { read: true, write: word & (1 << 8) != 0, execute: word & (1 << 9) != 0 };
            let size_log2 = WINDOW_LOG2 + ((word >> WORD_SIZE_SHIFT) & 0xf) as u8;
            let size = 1u64 << size_log2;
            *slot = Some(Region {
                base: (u64::from(word) & !(size - 1)) as u32,
                size_log2,
                subregions,
                access: RegionTable::effective(access, memory),
                memory,
            });
        }
        table
    }

    /// Every mapped page's address, with its memory type (a region's
    /// pages in turn).
    pub fn pages(&self) -> impl Iterator<Item = (u32, MemoryType)> + '_ {
        self.regions.iter().flatten().flat_map(|region| {
            let block = RegionTable::is_block(region);
            let count = if block { (region.bytes() / u64::from(PAGE_BYTES)) as u32 } else { 8 };
            (0..count)
                .filter(move |&page| block || region.subregions & (1 << page) != 0)
                .map(move |page| (region.base + page * PAGE_BYTES, region.memory))
        })
    }

    /// How many regions are in use.
    pub fn regions_used(&self) -> usize {
        self.regions.iter().flatten().count()
    }

    /// The `MPU_RBAR`/`MPU_RASR` pairs for regions 0 to 7; an unused
    /// region's `RASR` is 0 (off).
    pub fn registers(&self) -> [(u32, u32); REGIONS] {
        let mut out = [(0, 0); REGIONS];
        for (number, (pair, region)) in out.iter_mut().zip(&self.regions).enumerate() {
            *pair = match region {
                Some(region) => region.encode(number as u8),
                None => (RBAR_VALID | number as u32, 0),
            };
        }
        out
    }
}

#[cfg(test)]
mod tests {
    extern crate std;
    use std::collections::BTreeMap;
    use std::vec::Vec;

    use tessera_testing::Rng;

    use super::*;

    /// What unprivileged code may do at `address` under these register
    /// values, read as the Armv7-M Architecture Reference Manual describes
    /// the MPU (B3.5), independently of the encoder: the highest-numbered
    /// enabled region whose enabled subregion holds the address decides;
    /// none, no access. (read, write, execute, device)
    fn hardware(registers: &[(u32, u32)], address: u32) -> Option<(bool, bool, bool, bool)> {
        let mut found = None;
        for &(rbar, rasr) in registers {
            if rasr & 1 == 0 {
                continue;
            }
            let size_log2 = ((rasr >> 1) & 0x1f) + 1;
            let size = 1u64 << size_log2;
            let base = u64::from(rbar) & !(size - 1) & 0xffff_ffe0;
            let offset = u64::from(address).wrapping_sub(base);
            if u64::from(address) < base || offset >= size {
                continue;
            }
            if size_log2 >= 8 && (rasr >> 8) & (1 << (offset / (size / 8))) != 0 {
                continue;
            }
            let (read, write) = match (rasr >> 24) & 0b111 {
                0b010 | 0b110 | 0b111 => (true, false),
                0b011 => (true, true),
                _ => (false, false),
            };
            let execute = read && rasr & (1 << 28) == 0;
            let (tex, c, b) = ((rasr >> 19) & 0b111, rasr & (1 << 17) != 0, rasr & (1 << 16) != 0);
            let device = tex == 0 && !c && b;
            found = Some((read, write, execute, device));
        }
        found
    }

    fn rights(access: Access, memory: MemoryType) -> (bool, bool, bool, bool) {
        let device = memory == MemoryType::Device;
        (true, access.write, access.execute && !device, device)
    }

    #[test]
    fn a_region_encodes_as_the_manual_says() {
        let code = Region::new(0x1000_0000, 1024, Access::READ_EXECUTE, MemoryType::Normal).unwrap();
        let (rbar, rasr) = code.encode(0);
        assert_eq!(rbar, 0x1000_0010);
        // AP 010, TEX 000 C B, SIZE 9 (1 KiB), enabled, executable.
        assert_eq!(rasr, (0b010 << 24) | (1 << 17) | (1 << 16) | (9 << 1) | 1);
        let uart =
            Region::new(0x4000_4000, 4096, Access { read: true, write: true, execute: true }, MemoryType::Device)
                .unwrap();
        let (rbar, rasr) = uart.encode(3);
        assert_eq!(rbar, 0x4000_4013);
        assert_eq!(rasr, (1 << 28) | (0b011 << 24) | (1 << 18) | (1 << 16) | (11 << 1) | 1, "devices never execute");
        assert_eq!(hardware(&[uart.encode(3)], 0x4000_4ffc), Some((true, true, false, true)));
        assert_eq!(hardware(&[uart.encode(3)], 0x4000_5000), None);
    }

    #[test]
    fn bad_regions_are_refused() {
        let region = |base, bytes| Region::new(base, bytes, Access::READ, MemoryType::Normal);
        assert_eq!(region(0, 16), Err(RegionError::BadSize));
        assert_eq!(region(0, 48), Err(RegionError::BadSize));
        assert_eq!(region(0, 1 << 33), Err(RegionError::BadSize));
        assert_eq!(region(0x400, 2048), Err(RegionError::Misaligned));
        assert_eq!(region(0, 128).unwrap().with_subregions(0x0f), Err(RegionError::NoSubregions));
        assert!(region(0, 1 << 32).is_ok());
        let half = region(0x2000_0000, 2048).unwrap().with_subregions(0x0f).unwrap();
        assert!(half.contains(0x2000_03ff) && !half.contains(0x2000_0400) && !half.contains(0x1fff_fffc));
    }

    #[test]
    fn zeroed_words_are_an_empty_table() {
        assert_eq!(RegionTable::from_words(&[0; REGIONS]), RegionTable::new());
        assert_eq!(RegionTable::new().words(), [0; REGIONS]);
        let mut table = RegionTable::new();
        table.map_page(0x0010_3000, Access::READ_EXECUTE, MemoryType::Normal).unwrap();
        table.map_page(0x4000_4000, Access::READ_EXECUTE, MemoryType::Device).unwrap();
        assert_eq!(table.words()[..2], [0x0010_0000 | 0b1000 | (1 << 9), 0x4000_0000 | 0b10000 | (1 << 10)]);
    }

    #[test]
    fn pages_share_a_window_region_until_rights_differ() {
        let mut table = RegionTable::new();
        for page in 0..8 {
            table.map_page(0x2000_8000 + page * PAGE_BYTES, Access::READ_WRITE, MemoryType::Normal).unwrap();
        }
        assert_eq!(table.regions_used(), 1);
        assert_eq!(table.registers()[0].1 >> 8 & 0xff, 0, "all eight subregions on");
        table.unmap_page(0x2000_a000);
        table.map_page(0x2000_a000, Access::READ_EXECUTE, MemoryType::Normal).unwrap();
        assert_eq!(table.regions_used(), 2);
        assert_eq!(table.lookup(0x2000_a123), Some((Access::READ_EXECUTE, MemoryType::Normal)));
        assert_eq!(table.map_page(0x2000_a000, Access::READ, MemoryType::Normal), Err(MapError::AlreadyMapped));
        assert_eq!(table.map_page(0x2000_a800, Access::READ, MemoryType::Normal), Err(MapError::Misaligned));
        for window in 2..8 {
            table.map_page(window * WINDOW_BYTES, Access::READ, MemoryType::Normal).unwrap();
        }
        assert_eq!(table.map_page(8 * WINDOW_BYTES, Access::READ, MemoryType::Normal), Err(MapError::NoRegionFree));
        // A page of a window with a region of its rights still fits.
        table.map_page(2 * WINDOW_BYTES + PAGE_BYTES, Access::READ, MemoryType::Normal).unwrap();
        assert!(table.unmap_page(2 * WINDOW_BYTES));
        assert!(table.unmap_page(2 * WINDOW_BYTES + PAGE_BYTES));
        assert!(!table.unmap_page(2 * WINDOW_BYTES));
        table.map_page(8 * WINDOW_BYTES, Access::READ, MemoryType::Normal).unwrap();
    }

    #[test]
    fn a_large_aligned_frame_is_one_region() {
        let mut table = RegionTable::new();
        table.map_block(0x2010_0000, 64 * 1024, Access::READ_EXECUTE, MemoryType::Normal).unwrap();
        table.map_block(0x2040_0000, 1024 * 1024, Access::READ, MemoryType::Normal).unwrap();
        assert_eq!(table.regions_used(), 2);
        assert_eq!(table.lookup(0x204f_fffc), Some((Access::READ, MemoryType::Normal)));
        assert_eq!(table.pages().count(), 16 + 256);
        assert_eq!(RegionTable::from_words(&table.words()), table);
        // Overlaps are refused whichever way round.
        assert_eq!(table.map_page(0x2010_8000, Access::READ, MemoryType::Normal), Err(MapError::AlreadyMapped));
        table.map_page(0x2012_1000, Access::READ, MemoryType::Normal).unwrap();
        let overlapping = table.map_block(0x2012_0000, 64 * 1024, Access::READ, MemoryType::Normal);
        assert_eq!(overlapping, Err(MapError::AlreadyMapped));
        // Not a block (unaligned or small): page by page, undone on a refusal.
        table.map_block(0x2000_8000, 64 * 1024, Access::READ, MemoryType::Normal).unwrap();
        assert_eq!(table.regions_used(), 5);
        let before = table;
        let spread = table.map_block(0x3000_0000, 128 * 1024 + 4096, Access::READ, MemoryType::Device);
        assert_eq!(spread, Err(MapError::NoRegionFree));
        assert_eq!(table, before);
        assert!(table.unmap_block(0x2040_0000, 1024 * 1024));
        assert!(!table.unmap_block(0x2040_0000, 1024 * 1024));
        assert!(table.unmap_block(0x2000_8000, 64 * 1024));
        assert_eq!(table.regions_used(), 2);
        // A page of a block takes the block with it.
        assert!(table.unmap_page(0x2010_3000));
        assert_eq!(table.lookup(0x2010_0000), None);
        assert_eq!(
            table.map_block(0x2010_0000, 64 * 1024 + 1, Access::READ, MemoryType::Normal),
            Err(MapError::Misaligned)
        );
    }

    /// Random maps and unmaps of pages and frames (some of them blocks)
    /// over 16 windows: after each, what the registers give unprivileged
    /// code (read as the hardware does) is exactly the pages mapped, with
    /// their rights, and a refusal for want of a region happens only when
    /// all eight are in use and none fits.
    #[test]
    fn the_registers_grant_exactly_the_mapped_pages() {
        let kinds = [
            (Access::READ, MemoryType::Normal),
            (Access::READ_WRITE, MemoryType::Normal),
            (Access::READ_EXECUTE, MemoryType::Normal),
            (Access::READ_WRITE, MemoryType::Device),
        ];
        let pages = 16 * 8;
        let base = 0x2000_0000u32;
        let mut blocks_mapped = 0;
        for seed in 1..=40 {
            let mut rng = Rng::new(seed);
            let mut table = RegionTable::new();
            let mut model: BTreeMap<u32, (Access, MemoryType)> = BTreeMap::new();
            // The frames mapped whole with `map_block`, as (address, bytes).
            let mut frames: Vec<(u32, u32)> = Vec::new();
            for _ in 0..300 {
                let page = base + rng.below(pages) as u32 * PAGE_BYTES;
                let (access, memory) = kinds[rng.below(kinds.len())];
                let effective = (RegionTable::effective(access, memory), memory);
                match rng.below(7) {
                    0 | 1 => {
                        // A page: one of a block takes its frame with it.
                        let block = frames
                            .iter()
                            .position(|&(at, bytes)| bytes >= BLOCK_MIN_BYTES && at <= page && page < at + bytes);
                        let removed = match block {
                            Some(index) => {
                                let (at, bytes) = frames.remove(index);
                                (at..at + bytes).step_by(PAGE_BYTES as usize).for_each(|p| {
                                    model.remove(&p);
                                });
                                true
                            }
                            None => model.remove(&page).is_some(),
                        };
                        assert_eq!(table.unmap_page(page + rng.below(4096) as u32), removed, "seed {seed}");
                    }
                    2 if !frames.is_empty() => {
                        let (at, bytes) = frames.remove(rng.below(frames.len()));
                        let any = (at..at + bytes).step_by(PAGE_BYTES as usize).any(|p| model.contains_key(&p));
                        (at..at + bytes).step_by(PAGE_BYTES as usize).for_each(|p| {
                            model.remove(&p);
                        });
                        assert_eq!(table.unmap_block(at, bytes), any, "seed {seed}");
                    }
                    3 | 4 => {
                        // A frame: 8 KiB to 128 KiB, at a multiple of its size.
                        let bytes = PAGE_BYTES << (1 + rng.below(5));
                        let at = base + rng.below((pages as u32 * PAGE_BYTES / bytes) as usize) as u32 * bytes;
                        let before = table;
                        let taken = (at..at + bytes).step_by(PAGE_BYTES as usize).any(|p| model.contains_key(&p));
                        match table.map_block(at, bytes, access, memory) {
                            Ok(()) => {
                                assert!(!taken, "seed {seed}: {at:#x} mapped over a mapping");
                                (at..at + bytes).step_by(PAGE_BYTES as usize).for_each(|p| {
                                    model.insert(p, effective);
                                });
                                frames.retain(|&(other, size)| other + size <= at || at + bytes <= other);
                                frames.push((at, bytes));
                                blocks_mapped += usize::from(bytes >= BLOCK_MIN_BYTES);
                            }
                            Err(MapError::AlreadyMapped) => {
                                assert!(taken, "seed {seed}");
                                assert_eq!(table, before);
                            }
                            Err(MapError::NoRegionFree) => {
                                assert!(!taken || bytes < BLOCK_MIN_BYTES, "seed {seed}");
                                assert_eq!(table, before);
                            }
                            Err(MapError::Misaligned) => unreachable!("frames are aligned"),
                        }
                    }
                    _ => {
                        let before = table;
                        match table.map_page(page, access, memory) {
                            Ok(()) => {
                                assert!(model.insert(page, effective).is_none());
                            }
                            Err(MapError::AlreadyMapped) => assert!(model.contains_key(&page)),
                            Err(MapError::NoRegionFree) => {
                                assert_eq!(before.regions_used(), REGIONS);
                                assert_eq!(table, before);
                                // And no window region had the page's window, rights and type.
                                let window = page - page % WINDOW_BYTES;
                                let fits = before.regions.iter().flatten().any(|region| {
                                    !RegionTable::is_block(region)
                                        && region.base == window
                                        && (region.access, region.memory) == effective
                                });
                                assert!(!fits, "seed {seed}: {page:#x} was refused though a region fits it");
                            }
                            Err(MapError::Misaligned) => unreachable!("pages are aligned"),
                        }
                    }
                }
                let registers = table.registers();
                let sample: Vec<u32> = (0..pages as u32).map(|page| base + page * PAGE_BYTES).collect();
                for &page in &sample {
                    let expected = model.get(&page).map(|&(access, memory)| rights(access, memory));
                    for address in [page, page + 0x7fc, page + PAGE_BYTES - 4] {
                        assert_eq!(hardware(&registers, address), expected, "seed {seed}, {address:#x}");
                        assert_eq!(table.lookup(address), model.get(&page).copied(), "seed {seed}, {address:#x}");
                    }
                }
                assert_eq!(RegionTable::from_words(&table.words()), table, "seed {seed}");
                let mut listed: Vec<(u32, MemoryType)> = table.pages().collect();
                listed.sort_unstable_by_key(|&(page, _)| page);
                let expected: Vec<(u32, MemoryType)> =
                    model.iter().map(|(&page, &(_, memory))| (page, memory)).collect();
                assert_eq!(listed, expected, "seed {seed}");
                assert_eq!(hardware(&registers, base - 4), None);
                assert_eq!(hardware(&registers, base + pages as u32 * PAGE_BYTES), None);
            }
        }
        assert!(blocks_mapped > 40, "only {blocks_mapped} blocks were mapped");
    }
}
