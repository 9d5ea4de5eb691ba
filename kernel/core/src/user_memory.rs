//! Bookkeeping of a process's user mappings and the checks that turn a user
//! pointer (an allegation) into a [`UserRange`] the kernel may touch.

use crate::Access;
use tessera_abi::layout::{PAGE_SIZE, USER_END};
use tessera_abi::Error;

/// Most distinct regions one address space may hold (24 at 8 bytes each
/// take the entry's room that 16 of `Region`'s 12 bytes did).
pub const MAX_REGIONS: usize = 24;

/// A page-aligned range `[start, end)` of user virtual addresses with one
/// set of access rights.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct Region {
    /// First address (page aligned).
    pub start: u32,
    /// One past the last address (page aligned, greater than `start`).
    pub end: u32,
    /// What User mode may do there.
    pub access: Access,
}

/// Why a region could not be added.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MapError {
    /// Start or end is not page aligned, or the region is empty.
    Unaligned,
    /// The region reaches the null page or the kernel's part of the space.
    OutsideUserSpace,
    /// The region overlaps one already mapped.
    Overlaps,
    /// The table of regions is full.
    TooManyRegions,
}

/// A region as the map keeps it: its start with its rights in the low bits
/// (free in a page-aligned address: `READ`, `WRITE`, `EXECUTE`), and its
/// end.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct Entry {
    start_access: u32,
    end: u32,
}

const READ: u32 = 1;
const WRITE: u32 = 2;
const EXECUTE: u32 = 4;
const PAGE_MASK: u32 = PAGE_SIZE as u32 - 1;

/// `access` as an entry's bits.
fn bits(access: Access) -> u32 {
    (u32::from(access.read) * READ) | (u32::from(access.write) * WRITE) | (u32::from(access.execute) * EXECUTE)
}

impl Entry {
    const UNUSED: Entry = Entry { start_access: 0, end: 0 };

    fn new(region: Region) -> Entry {
        Entry { start_access: region.start | bits(region.access), end: region.end }
    }

    fn start(self) -> u32 {
        self.start_access & !PAGE_MASK
    }

    fn region(self) -> Region {
        let bits = self.start_access;
        let access = Access { read: bits & READ != 0, write: bits & WRITE != 0, execute: bits & EXECUTE != 0 };
        Region { start: self.start(), end: self.end, access }
    }
}

/// The user part of one address space, as the kernel mapped it.
///
/// Invariant: the first `count` regions are disjoint, page aligned, inside
/// `[PAGE_SIZE, limit)` for the limit they were inserted under
/// ([`USER_END`] unless the platform's user addresses are physical), in
/// no particular order; the rest are unused (all zeros, so an empty map is
/// all zeros).
#[derive(Clone, Debug, Default)]
pub struct RegionMap {
    regions: [Entry; MAX_REGIONS],
    /// Regions in use (a `u32`, so the map is the same size on 32- and
    /// 64-bit machines: it lives in the process entry).
    count: u32,
}

/// A user address range the kernel has checked: every byte of it is mapped
/// in the current process with at least the rights asked for, and so lies
/// below the user address limit. Only [`RegionMap::check`] makes one.
///
/// An empty range names no memory: its address is whatever the caller
/// passed (possibly null or a kernel address) and must not be turned into a
/// pointer; test [`UserRange::is_empty`] first.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct UserRange {
    address: u32,
    len: u32,
}

impl UserRange {
    /// First address.
    pub fn address(&self) -> u32 {
        self.address
    }

    /// Length in bytes.
    pub fn len(&self) -> u32 {
        self.len
    }

    /// True if the range is empty.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

impl RegionMap {
    /// An empty map.
    pub const fn new() -> Self {
        RegionMap { regions: [Entry::UNUSED; MAX_REGIONS], count: 0 }
    }

    /// The entries in use.
    fn entries(&self) -> impl Iterator<Item = &Entry> {
        self.regions[..self.count as usize].iter()
    }

    /// The regions, in no particular order.
    pub fn regions(&self) -> impl Iterator<Item = Region> + '_ {
        self.entries().map(|entry| entry.region())
    }

    /// Number of regions.
    pub fn len(&self) -> usize {
        self.count as usize
    }

    /// True if nothing is mapped.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// Records a new region of a translated address space (below
    /// [`USER_END`]).
    pub fn insert(&mut self, region: Region) -> Result<(), MapError> {
        self.insert_below(region, USER_END as u32)
    }

    /// Records a new region, which must end at or below `limit`, the end of
    /// user addresses (the platform's `UserLayout::end`).
    pub fn insert_below(&mut self, region: Region, limit: u32) -> Result<(), MapError> {
        let page = PAGE_SIZE as u32;
        if !region.start.is_multiple_of(page) || !region.end.is_multiple_of(page) || region.start >= region.end {
            return Err(MapError::Unaligned);
        }
        if region.start < page || region.end > limit {
            return Err(MapError::OutsideUserSpace);
        }
        if self.entries().any(|r| r.start() < region.end && region.start < r.end) {
            return Err(MapError::Overlaps);
        }
        if self.count as usize == MAX_REGIONS {
            return Err(MapError::TooManyRegions);
        }
        self.regions[self.count as usize] = Entry::new(region);
        self.count += 1;
        Ok(())
    }

    /// Removes and returns the region starting at `start`.
    pub fn remove(&mut self, start: u32) -> Option<Region> {
        let at = self.entries().position(|r| r.start() == start)?;
        let region = self.regions[at].region();
        // The last entry takes its place: the order is of no account.
        self.count -= 1;
        let last = self.count as usize;
        self.regions[at] = self.regions[last];
        self.regions[last] = Entry::UNUSED;
        Some(region)
    }

    /// The entry holding `address`, if any.
    fn entry_at(&self, address: u32) -> Option<&Entry> {
        self.entries().find(|r| r.start() <= address && address < r.end)
    }

    /// The region holding `address`, if any.
    pub fn find(&self, address: u32) -> Option<Region> {
        self.entry_at(address).map(|entry| entry.region())
    }

    /// The rights of the region holding `address`, if any.
    pub fn access_at(&self, address: u32) -> Option<Access> {
        self.entry_at(address).map(|entry| entry.region().access)
    }

    /// Checks that `len` bytes at `address` are mapped with `needed` rights.
    ///
    /// A zero-length range is always valid (nothing will be touched). Errors:
    /// [`Error::AddressWraps`] if the range reaches or wraps past 4 GiB,
    /// [`Error::BadAddress`] if any byte is null-page, kernel, unmapped or
    /// lacks a right.
    pub fn check(&self, address: u32, len: u32, needed: Access) -> Result<UserRange, Error> {
        if len == 0 {
            return Ok(UserRange { address, len });
        }
        // Every region lies below the limit it was inserted under, so a
        // range covered by regions does too.
        let end = address.checked_add(len).ok_or(Error::AddressWraps)?;
        let (mut cursor, needed) = (address, bits(needed));
        while cursor < end {
            let entry = self.entry_at(cursor).ok_or(Error::BadAddress)?;
            if needed & !entry.start_access != 0 {
                return Err(Error::BadAddress);
            }
            cursor = entry.end;
        }
        Ok(UserRange { address, len })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map() -> RegionMap {
        let mut map = RegionMap::new();
        map.insert(Region { start: 0x10000, end: 0x12000, access: Access::READ_EXECUTE }).unwrap();
        map.insert(Region { start: 0x12000, end: 0x14000, access: Access::READ_WRITE }).unwrap();
        map.insert(Region { start: 0x20000, end: 0x21000, access: Access::READ }).unwrap();
        map
    }

    #[test]
    fn insert_rejects_bad_regions() {
        let mut map = map();
        let rw = Access::READ_WRITE;
        assert_eq!(map.insert(Region { start: 0x1001, end: 0x2000, access: rw }), Err(MapError::Unaligned));
        assert_eq!(map.insert(Region { start: 0x2000, end: 0x2000, access: rw }), Err(MapError::Unaligned));
        assert_eq!(map.insert(Region { start: 0, end: 0x1000, access: rw }), Err(MapError::OutsideUserSpace));
        assert_eq!(
            map.insert(Region { start: 0x3FFF_F000, end: 0x4000_1000, access: rw }),
            Err(MapError::OutsideUserSpace)
        );
        assert_eq!(map.insert(Region { start: 0x13000, end: 0x15000, access: rw }), Err(MapError::Overlaps));
        let mut starts: std::vec::Vec<u32> = map.regions().map(|r| r.start).collect();
        starts.sort();
        assert_eq!(starts, [0x10000, 0x12000, 0x20000]);
    }

    extern crate std;

    #[test]
    fn remove_keeps_order() {
        let mut map = map();
        assert_eq!(map.remove(0x12000).map(|r| r.end), Some(0x14000));
        assert_eq!(map.remove(0x12000), None);
        let mut starts: std::vec::Vec<u32> = map.regions().map(|r| r.start).collect();
        starts.sort();
        assert_eq!(starts, [0x10000, 0x20000]);
        assert_eq!(map.check(0x12000, 4, Access::READ), Err(Error::BadAddress));
        map.insert(Region { start: 0x12000, end: 0x13000, access: Access::READ }).unwrap();
        assert_eq!(map.len(), 3);
    }

    #[test]
    fn check_accepts_mapped_ranges() {
        let map = map();
        assert!(map.check(0x10000, 0x2000, Access::READ).is_ok());
        // Spans two adjacent regions that both allow reading.
        assert!(map.check(0x11ff0, 0x20, Access::READ).is_ok());
        assert!(map.check(0x12000, 0x2000, Access::READ_WRITE).is_ok());
        assert!(map.check(0, 0, Access::READ).is_ok());
    }

    #[test]
    fn check_rejects_each_bad_pointer() {
        let map = map();
        assert_eq!(map.check(0, 1, Access::READ), Err(Error::BadAddress));
        assert_eq!(map.check(0x4010_0000, 4, Access::READ), Err(Error::BadAddress));
        assert_eq!(map.check(0x3000_0000, 4, Access::READ), Err(Error::BadAddress));
        assert_eq!(map.check(0xFFFF_FF00, 0x200, Access::READ), Err(Error::AddressWraps));
        // Runs off the end of a mapping into a hole.
        assert_eq!(map.check(0x13ff0, 0x20, Access::READ), Err(Error::BadAddress));
        // Write to read-only and execute-only text.
        assert_eq!(map.check(0x10000, 4, Access::READ_WRITE), Err(Error::BadAddress));
        assert_eq!(map.check(0x20000, 4, Access::READ_WRITE), Err(Error::BadAddress));
        // Ends exactly at the kernel boundary from a mapped start is still bad.
        assert_eq!(map.check(0x3FFF_FFFF, 2, Access::READ), Err(Error::BadAddress));
    }
}
