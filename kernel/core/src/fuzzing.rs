//! Fuzz bodies: each function takes arbitrary bytes, drives one parser or
//! data structure with them and panics only if an invariant is broken.
//!
//! The same functions run under libFuzzer (`kernel/core/fuzz`, nightly
//! `cargo fuzz`) and under plain `cargo test` (`kernel/core/tests/properties.rs`
//! feeds them generated and mutated inputs), so a crash found by either is
//! replayed by the other.
//!
//! The bytes are read front to back by a small cursor; once they run out
//! every read yields zero, so any input, however short, is a complete case.
//! Several reads are "shaped" (an address near an existing region, a length
//! near a limit) so that random bytes reach the interesting branches often;
//! a shaping byte can always also select a raw `u32`, so no value is out of
//! reach.
//!
//! The checks compare against independent oracles written here (a fixed-size
//! model of the regions, a restatement of the syscall argument rules, a
//! re-read of the ELF program headers) rather than against the code under
//! test. Nothing here allocates: the crate is `no_std` without `alloc`.

use crate::elf::{self, LoadPlan, MAX_SEGMENTS};
use crate::syscall::{self, Call, Message};
use crate::user_memory::{MapError, Region, RegionMap, MAX_REGIONS};
use crate::Access;
use tessera_abi::bootimage::{self, BootImage, MAX_ENTRIES};
use tessera_abi::layout::{MAX_IMAGE_BYTES, PAGE_SIZE, STACK_SIZE, STACK_TOP, USER_END, USER_IMAGE_BASE};
use tessera_abi::{Error, Handle, ObjectType, Rights, Syscall, DEBUG_WRITE_MAX, NAME_MAX, PRIORITY_LEVELS};

const PAGE: u32 = PAGE_SIZE as u32;
/// Where program segments must end: the bottom of the stack guard page.
const PROGRAM_AREA_END: u32 = (STACK_TOP - STACK_SIZE - PAGE_SIZE) as u32;
/// Most operations one [`region_map_operations`] input performs.
const MAX_OPERATIONS: usize = 512;
/// Ranges up to this long are checked byte by byte against the model.
const BYTEWISE_LIMIT: u32 = 256;

/// Front-to-back reader over the fuzz input.
struct Input<'a> {
    bytes: &'a [u8],
}

impl<'a> Input<'a> {
    fn new(bytes: &'a [u8]) -> Self {
        Input { bytes }
    }

    fn is_empty(&self) -> bool {
        self.bytes.is_empty()
    }

    fn byte(&mut self) -> u8 {
        match self.bytes.split_first() {
            Some((&first, rest)) => {
                self.bytes = rest;
                first
            }
            None => 0,
        }
    }

    fn half(&mut self) -> u16 {
        u16::from_le_bytes([self.byte(), self.byte()])
    }

    fn word(&mut self) -> u32 {
        u32::from_le_bytes([self.byte(), self.byte(), self.byte(), self.byte()])
    }

    /// Access rights from the low three bits of a byte.
    fn access(&mut self) -> Access {
        let bits = self.byte();
        Access { read: bits & 1 != 0, write: bits & 2 != 0, execute: bits & 4 != 0 }
    }

    /// A region to insert: mostly page-aligned and clustered in the first
    /// MiB (so regions touch and overlap), often a single page, sometimes at
    /// the top of user space, misaligned, empty or entirely raw.
    fn region(&mut self) -> Region {
        let shape = self.byte();
        let (start, end) = match shape % 8 {
            0 => (self.word(), self.word()),
            1 => {
                let start = USER_END as u32 - PAGE * (u32::from(self.byte() % 32) + 1);
                let end = match self.byte() % 4 {
                    0 => USER_END as u32 + PAGE,
                    1 => start + PAGE,
                    _ => USER_END as u32,
                };
                (start, end)
            }
            2 | 3 => {
                // One page: many of these fit before the table fills up.
                let start = PAGE * u32::from(self.byte());
                (start, start + PAGE)
            }
            _ => {
                let start = PAGE * u32::from(self.byte());
                let end = start + PAGE * u32::from(self.byte() % 17);
                match shape >> 5 {
                    0 => (start + 0x800, end),
                    1 => (start, end + 1),
                    _ => (start, end),
                }
            }
        };
        Region { start, end, access: self.access() }
    }

    /// A user address: mostly inside the region cluster, sometimes just
    /// below `USER_END`, sometimes raw.
    fn address(&mut self) -> u32 {
        match self.byte() % 4 {
            0 => self.word(),
            1 => USER_END as u32 - u32::from(self.half() % 0x3000),
            _ => PAGE * u32::from(self.byte()) + u32::from(self.half() % PAGE as u16),
        }
    }

    /// A user address: half the time near a region of `model` (from 32
    /// bytes before it to 32 bytes past its end), otherwise as [`Input::address`].
    fn address_near(&mut self, model: &Model) -> u32 {
        let regions = model.regions();
        if self.byte() & 1 == 0 || regions.is_empty() {
            return self.address();
        }
        let region = regions[usize::from(self.byte()) % regions.len()];
        let span = (region.end.wrapping_sub(region.start)).saturating_add(64);
        region.start.wrapping_sub(32).wrapping_add(u32::from(self.half()) % span.max(1))
    }

    /// A length: zero, small, at a syscall limit (plus -1, 0 or 1), a few
    /// pages or raw.
    fn length(&mut self) -> u32 {
        match self.byte() % 7 {
            0 => self.word(),
            1 => 0,
            2 => u32::from(self.byte() % 32),
            3 => u32::from(self.byte()),
            4 => {
                let limit = if self.byte() & 1 == 0 { DEBUG_WRITE_MAX } else { NAME_MAX };
                limit as u32 + u32::from(self.byte() % 3) - 1
            }
            5 => u32::from(self.half() % 1100),
            _ => u32::from(self.half() % 0x4000),
        }
    }

    /// A length for a range at `address`: a quarter of the time one that
    /// ends at the end of the region holding it (plus -1, 0 or 1), otherwise
    /// as [`Input::length`].
    fn length_at(&mut self, address: u32, model: &Model) -> u32 {
        match model.holding(address) {
            Some(region) if self.byte() & 3 == 0 => (region.end - address - 1).wrapping_add(u32::from(self.byte() % 3)),
            _ => self.length(),
        }
    }
}

/// What the regions of a [`RegionMap`] should be: the regions inserted so far
/// in insertion order, kept apart from the map under test.
struct Model {
    regions: [Region; MAX_REGIONS],
    count: usize,
}

impl Model {
    const EMPTY: Region = Region { start: 0, end: 0, access: Access { read: false, write: false, execute: false } };

    fn new() -> Self {
        Model { regions: [Self::EMPTY; MAX_REGIONS], count: 0 }
    }

    fn regions(&self) -> &[Region] {
        &self.regions[..self.count]
    }

    /// What `RegionMap::insert` must answer for `region`.
    fn expected_insert(&self, region: &Region) -> Result<(), MapError> {
        if !region.start.is_multiple_of(PAGE) || !region.end.is_multiple_of(PAGE) || region.start >= region.end {
            Err(MapError::Unaligned)
        } else if region.start < PAGE || region.end as usize > USER_END {
            Err(MapError::OutsideUserSpace)
        } else if self.regions().iter().any(|r| r.start < region.end && region.start < r.end) {
            Err(MapError::Overlaps)
        } else if self.count == MAX_REGIONS {
            Err(MapError::TooManyRegions)
        } else {
            Ok(())
        }
    }

    /// Inserts into both the model and `map` and checks they agree.
    fn insert(&mut self, map: &mut RegionMap, region: Region) {
        let expected = self.expected_insert(&region);
        let actual = map.insert(region);
        assert_eq!(actual, expected, "insert {region:?} into {:?}", self.regions());
        if actual.is_ok() {
            self.regions[self.count] = region;
            self.count += 1;
        }
    }

    /// The region holding `address`, found without the map.
    fn holding(&self, address: u32) -> Option<&Region> {
        self.regions().iter().find(|r| r.start <= address && address < r.end)
    }

    fn allows(&self, address: u32, needed: Access) -> bool {
        self.holding(address).is_some_and(|r| r.access.allows(needed))
    }

    /// True if every byte of `[address, end)` lies in a region allowing
    /// `needed`: byte by byte for short ranges, region by region otherwise.
    fn covers(&self, address: u32, end: u32, needed: Access) -> bool {
        if end - address <= BYTEWISE_LIMIT {
            return (address..end).all(|byte| self.allows(byte, needed));
        }
        let mut cursor = address;
        while cursor < end {
            match self.holding(cursor) {
                Some(region) if region.access.allows(needed) => cursor = region.end,
                _ => return false,
            }
        }
        true
    }

    /// Checks `RegionMap::check(address, len, needed)` against the model.
    fn check(&self, map: &RegionMap, address: u32, len: u32, needed: Access) {
        let actual = map.check(address, len, needed);
        if let Ok(range) = actual {
            assert_eq!((range.address(), range.len()), (address, len), "check returned another range");
            assert_eq!(range.is_empty(), len == 0);
        }
        if len == 0 {
            // Documented: a zero-length range is always valid.
            assert!(actual.is_ok(), "empty range at {address:#x} refused: {actual:?}");
            return;
        }
        let end = u64::from(address) + u64::from(len);
        if end > 1 << 32 {
            assert_eq!(actual, Err(Error::AddressWraps), "{address:#x}+{len:#x} wraps");
            return;
        }
        if end == 1 << 32 {
            // Ends exactly at 4 GiB: not representable, kernel memory either way.
            assert!(
                matches!(actual, Err(Error::AddressWraps | Error::BadAddress)),
                "{address:#x}+{len:#x}: {actual:?}"
            );
            return;
        }
        let end = end as u32;
        if end as usize > USER_END {
            assert_eq!(actual, Err(Error::BadAddress), "{address:#x}+{len:#x} reaches the kernel");
            return;
        }
        match actual {
            Ok(_) => assert!(
                self.covers(address, end, needed),
                "check accepted {address:#x}+{len:#x} {needed:?} not covered by {:?}",
                self.regions()
            ),
            Err(Error::BadAddress) => assert!(
                !self.covers(address, end, needed),
                "check refused {address:#x}+{len:#x} {needed:?} covered by {:?}",
                self.regions()
            ),
            Err(other) => panic!("check {address:#x}+{len:#x}: unexpected {other:?}"),
        }
    }

    /// Checks the map's own invariant and that it holds exactly the model's regions.
    fn assert_matches(&self, map: &RegionMap) {
        assert_eq!(map.len(), self.count);
        assert_eq!(map.regions().count(), self.count);
        assert_eq!(map.is_empty(), self.count == 0);
        // In no particular order: sorted here to see that none overlap.
        let mut regions = [Region::default(); MAX_REGIONS];
        for (slot, region) in regions.iter_mut().zip(map.regions()) {
            *slot = region;
        }
        let regions = &mut regions[..self.count];
        regions.sort_unstable_by_key(|region| region.start);
        let mut previous_end = PAGE;
        for &region in regions.iter() {
            assert!(region.start.is_multiple_of(PAGE) && region.end.is_multiple_of(PAGE), "unaligned {region:?}");
            assert!(previous_end <= region.start && region.start < region.end, "overlapping {region:?}");
            assert!(region.end as usize <= USER_END, "{region:?} reaches the kernel");
            assert!(self.regions().contains(&region), "{region:?} was never inserted");
            previous_end = region.end;
        }
        for address in [0, PAGE, USER_END as u32 - PAGE] {
            self.find(map, address);
        }
    }

    /// Checks `RegionMap::find(address)` against the model.
    fn find(&self, map: &RegionMap, address: u32) {
        assert_eq!(map.find(address), self.holding(address).copied(), "find {address:#x}");
    }
}

/// The documented argument rules of each syscall, restated.
fn expected_decode(number: u32, args: [u32; 7]) -> Result<Call, Error> {
    let Some(syscall) = Syscall::from_number(number) else {
        return Err(Error::UnknownSyscall);
    };
    assert_eq!(syscall as u32, number, "from_number({number}) gave {syscall:?}");
    Ok(match syscall {
        Syscall::Null => Call::Null,
        Syscall::DebugWrite if args[1] as usize > DEBUG_WRITE_MAX => return Err(Error::TooLong),
        Syscall::DebugWrite => Call::DebugWrite { address: args[0], len: args[1] },
        Syscall::Yield => Call::Yield,
        Syscall::Sleep => Call::Sleep { micros: args[0] },
        Syscall::Exit => Call::Exit { code: args[0] },
        Syscall::Wait => Call::Wait { process: args[0], timeout_micros: args[1] },
        Syscall::Shutdown => Call::Shutdown { power: Handle(args[0]), status: args[1] },
        Syscall::Uptime => Call::Uptime,
        Syscall::ExitRecord if args[0] & 3 != 0 => return Err(Error::InvalidArgument),
        Syscall::ExitRecord => Call::ExitRecord { address: args[0] },
        Syscall::CapInfo => Call::CapInfo { handle: Handle(args[0]) },
        Syscall::CapObject => Call::CapObject { handle: Handle(args[0]) },
        Syscall::CapDelete => Call::CapDelete { handle: Handle(args[0]) },
        Syscall::CapRevoke => Call::CapRevoke { handle: Handle(args[0]) },
        Syscall::Unmap => Call::Unmap { handle: Handle(args[0]) },
        Syscall::CapMove if args[2] & !0x3FF != 0 => return Err(Error::InvalidArgument),
        Syscall::CapMove => Call::CapMove {
            handle: Handle(args[0]),
            process: Handle(args[1]),
            rights: Rights::from_bits_retain(args[2]),
        },
        // Messages: at most two capabilities (bits 16..18 of the info
        // word), and bits 18..32 reserved.
        Syscall::Send | Syscall::Call | Syscall::Reply | Syscall::ReplyReceive
            if (args[1] >> 16) & 3 == 3 || args[1] >> 18 != 0 =>
        {
            return Err(Error::InvalidArgument)
        }
        Syscall::Send | Syscall::Call => Call::Send {
            endpoint: Handle(args[0]),
            message: Message { info: args[1], words: [args[2], args[3], args[4], args[5]] },
            call: number == 21,
            timeout: args[6],
        },
        Syscall::Reply => {
            Call::Reply { message: Message { info: args[1], words: [args[2], args[3], args[4], args[5]] } }
        }
        Syscall::ReplyReceive => Call::ReplyReceive {
            endpoint: Handle(args[0]),
            message: Message { info: args[1], words: [args[2], args[3], args[4], args[5]] },
            timeout: args[6],
        },
        // Every timeout is r1, r2 or r12 as it is: microseconds, 0 no wait,
        // u32::MAX forever.
        Syscall::Receive => Call::Receive { endpoint: Handle(args[0]), timeout: args[1] },
        Syscall::Signal => Call::Signal { notification: Handle(args[0]), bits: args[1] },
        Syscall::NotificationBind => Call::NotificationBind { notification: Handle(args[0]) },
        Syscall::WaitNotification => {
            Call::WaitNotification { notification: Handle(args[0]), mask: args[1], timeout: args[2] }
        }
        Syscall::Poll => Call::WaitNotification { notification: Handle(args[0]), mask: args[1], timeout: 0 },
        Syscall::InterruptBind if args[2] > 31 => return Err(Error::InvalidArgument),
        Syscall::InterruptBind => {
            Call::InterruptBind { interrupt: Handle(args[0]), notification: Handle(args[1]), bit: args[2] }
        }
        Syscall::InterruptAck => Call::InterruptAck { interrupt: Handle(args[0]) },
        Syscall::ProcessSetup => {
            Call::ProcessSetup { process: Handle(args[0]), pc: args[1], sp: args[2], argument: args[3] }
        }
        Syscall::ProcessName if args[2] as usize > NAME_MAX => return Err(Error::TooLong),
        Syscall::ProcessName if args[2] == 0 => return Err(Error::InvalidArgument),
        Syscall::ProcessName => Call::ProcessName { process: Handle(args[0]), name: args[1], name_len: args[2] },
        Syscall::ProcessStart if args[1] >= PRIORITY_LEVELS => return Err(Error::InvalidArgument),
        Syscall::ProcessStart => Call::ProcessStart { process: Handle(args[0]), priority: args[1] },
        // Rights words may only hold the ten defined bits.
        Syscall::CapDerive if args[1] & !0x3FF != 0 => return Err(Error::InvalidArgument),
        Syscall::CapGrant | Syscall::Map if args[2] & !0x3FF != 0 => return Err(Error::InvalidArgument),
        Syscall::CapDerive => {
            Call::CapDerive { handle: Handle(args[0]), rights: Rights::from_bits_retain(args[1]), badge: args[2] }
        }
        Syscall::FrameSlice if args[3] & !0x3FF != 0 => return Err(Error::InvalidArgument),
        Syscall::FrameSlice => Call::FrameSlice {
            handle: Handle(args[0]),
            offset: args[1],
            bytes: args[2],
            rights: Rights::from_bits_retain(args[3]),
        },
        Syscall::CapGrant => Call::CapGrant {
            handle: Handle(args[0]),
            process: Handle(args[1]),
            rights: Rights::from_bits_retain(args[2]),
        },
        // Retype: types 1, 2, 5, 6, 7; untyped a power of two of at least a
        // page, frames one page, endpoints and notifications 64 bytes,
        // processes PROCESS_OBJECT_BYTES.
        Syscall::Retype if ![1, 2, 5, 6, 7].contains(&args[1]) => return Err(Error::InvalidArgument),
        Syscall::Retype
            if !match args[1] {
                1 => args[2] >= 4096 && args[2] & (args[2] - 1) == 0,
                2 => args[2] == 4096,
                5 | 6 => args[2] == 64,
                _ => args[2] == tessera_abi::PROCESS_OBJECT_BYTES,
            } =>
        {
            return Err(Error::InvalidArgument)
        }
        Syscall::Retype => {
            Call::Retype { untyped: Handle(args[0]), kind: ObjectType::from_number(args[1]).unwrap(), bytes: args[2] }
        }
        // Map: READ required, only READ/WRITE/EXECUTE, page-aligned address.
        Syscall::Map if args[2] & 1 == 0 || args[2] & !0b111 != 0 || !args[1].is_multiple_of(4096) => {
            return Err(Error::InvalidArgument)
        }
        Syscall::Map => Call::Map {
            handle: Handle(args[0]),
            address: args[1],
            rights: Rights::from_bits_retain(args[2]),
            process: Handle(args[3]),
        },
    })
}

/// Decodes a syscall from fuzz bytes and checks its pointer argument.
///
/// Builds a [`RegionMap`] from the first bytes (insert errors are checked
/// against a model, then ignored), then reads a syscall number and the six
/// argument registers and calls [`syscall::decode`]. Panics if:
/// - the result differs from the documented rules (in particular an unknown
///   number must give [`Error::UnknownSyscall`]);
/// - for a decoded `DebugWrite`, `ProcessName` or `ExitRecord`, [`RegionMap::check`] on the
///   pointer returns a `UserRange` that is not the range asked for, wraps,
///   ends above `USER_END` or has a byte outside a region allowing the access
///   (or refuses a range that is fully mapped).
pub fn syscall_decoding(data: &[u8]) {
    let mut input = Input::new(data);
    let mut map = RegionMap::new();
    let mut model = Model::new();
    for _ in 0..input.byte() % (MAX_REGIONS as u8 + 4) {
        model.insert(&mut map, input.region());
    }
    model.assert_matches(&map);

    let selector = input.byte();
    let number = if selector < 0xF0 { u32::from(selector % 34) } else { input.word() };
    let priority = if input.byte() & 1 == 0 { u32::from(input.byte() % 40) } else { input.word() };
    let address = input.address_near(&model);
    let args =
        [address, input.length_at(address, &model), priority, input.word(), input.word(), input.word(), input.word()];
    let extra_access = input.access();

    let decoded = syscall::decode(number, args);
    assert_eq!(decoded, expected_decode(number, args), "decode({number}, {args:x?})");
    let (pointer, len) = match decoded {
        Ok(Call::DebugWrite { address, len }) => (address, len),
        Ok(Call::ProcessName { name, name_len, .. }) => (name, name_len),
        Ok(Call::ExitRecord { address }) => (address, tessera_abi::EXIT_RECORD_BYTES),
        _ => return,
    };
    // What the kernel asks for, then rights chosen by the input.
    model.check(&map, pointer, len, Access::READ);
    model.check(&map, pointer, len, extra_access);
}

/// Reads the program headers straight from the file and returns true if one
/// of them is a `PT_LOAD` describing `segment` (flags: `PF_X` = 1, `PF_W` =
/// 2, `PF_R` = 4).
fn header_describes(file: &[u8], segment: &elf::Segment) -> bool {
    let word = |at: usize| -> Option<u32> {
        let bytes = file.get(at..at.checked_add(4)?)?;
        Some(u32::from_le_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]))
    };
    let half = |at: usize| -> Option<u16> { file.get(at..at + 2).map(|b| u16::from_le_bytes([b[0], b[1]])) };
    let (Some(table), Some(count)) = (word(28), half(44)) else { return false };
    (0..usize::from(count)).any(|index| {
        let Some(at) = (table as usize).checked_add(32 * index) else { return false };
        let field = |n: usize| at.checked_add(4 * n).and_then(word);
        let flags = field(6).unwrap_or(0);
        field(0) == Some(1)
            && field(1) == Some(segment.file_offset)
            && field(2) == Some(segment.address)
            && field(4) == Some(segment.file_size)
            && field(5) == Some(segment.memory_size)
            // Write and execute exactly as the flags say; read at least as
            // they say (the parser may make every segment readable).
            && segment.access.write == (flags & 2 != 0)
            && segment.access.execute == (flags & 1 != 0)
            && (segment.access.read || flags & 4 == 0)
    })
}

/// Checks every promise a [`LoadPlan`] makes about `file`, including that the
/// kernel's loader can follow it: its regions and the stack insert into a
/// fresh [`RegionMap`], and every per-page copy stays inside the file.
fn check_plan(file: &[u8], plan: &LoadPlan) {
    let count = plan.segments().count();
    assert!((1..=MAX_SEGMENTS).contains(&count), "{count} segments");
    let mut map = RegionMap::new();
    let mut previous_end = USER_IMAGE_BASE as u32;
    let mut total = 0u64;
    for segment in plan.segments() {
        assert!(segment.memory_size > 0 && segment.file_size <= segment.memory_size, "{segment:?}");
        assert!(
            u64::from(segment.file_offset) + u64::from(segment.file_size) <= file.len() as u64,
            "{segment:?} outside the {}-byte file",
            file.len()
        );
        let end = segment.address.checked_add(segment.memory_size).expect("segment wraps");
        assert!(segment.address as usize >= USER_IMAGE_BASE && end <= PROGRAM_AREA_END, "{segment:?} out of range");
        assert!(!(segment.access.write && segment.access.execute), "{segment:?} writable and executable");
        let (start, page_end) = (segment.page_start(), segment.page_end());
        assert!(
            start.is_multiple_of(PAGE) && page_end.is_multiple_of(PAGE) && start <= segment.address && end <= page_end
        );
        assert!(previous_end <= start, "{segment:?} unsorted or sharing a page");
        assert!(header_describes(file, segment), "{segment:?} is in no program header");
        previous_end = page_end;
        total += u64::from(page_end - start);

        map.insert(Region { start, end: page_end, access: segment.access }).expect("loader cannot map the segment");
        // The loaders copy, page by page, what `page_contents` says: inside
        // the file and the page, contiguous, and all the file bytes once.
        let mut next = segment.file_offset as usize;
        for page in (start..page_end).step_by(PAGE_SIZE) {
            let (offset, bytes) = segment.page_contents(page);
            if bytes.is_empty() {
                continue;
            }
            assert!(bytes.end <= file.len(), "copy outside the file");
            assert!(offset + bytes.len() <= PAGE_SIZE, "copy outside the page");
            assert_eq!(bytes.start, next, "file bytes skipped or copied twice");
            assert_eq!(page + offset as u32, segment.address + (bytes.start as u32 - segment.file_offset));
            next = bytes.end;
        }
        assert_eq!(next, (segment.file_offset + segment.file_size) as usize, "file bytes left out");
    }
    assert!(total <= MAX_IMAGE_BYTES as u64, "{total} bytes of segments");
    let stack = Region { start: (STACK_TOP - STACK_SIZE) as u32, end: STACK_TOP as u32, access: Access::READ_WRITE };
    map.insert(stack).expect("stack collides with a segment");

    let entry = plan.entry & !1;
    assert!(
        plan.segments().any(|s| s.access.execute && s.address <= entry && entry < s.address + s.memory_size),
        "entry {:#x} outside executable segments",
        plan.entry
    );
}

/// Parses fuzz bytes as an ELF file with [`elf::parse`].
///
/// Panics if a returned plan breaks a promise: segments sorted and not
/// sharing a page, none writable and executable, each inside
/// `[USER_IMAGE_BASE, stack guard)`, file bytes inside `data`, each from a
/// real `PT_LOAD` header, total within `MAX_IMAGE_BYTES`, entry inside an
/// executable segment, and the loader able to map and copy it.
pub fn elf_parsing(data: &[u8]) {
    if let Ok(plan) = elf::parse(data) {
        check_plan(data, &plan);
    }
}

/// Largest image [`boot_image_parsing`] re-packs to check the round trip.
const REPACK_LIMIT: usize = 8192;

/// Parses fuzz bytes as a boot image with [`BootImage::parse`].
///
/// Panics if a parsed image has a program whose name is empty, longer than
/// `NAME_MAX` or holds a zero byte, whose ELF bytes lie outside `data`, if
/// `iter().count() != len()`, if `get` disagrees with `iter`, if `find(name)`
/// does not return the first program with that name, or if re-packing the
/// programs with [`bootimage::write`] does not parse back to the same list.
pub fn boot_image_parsing(data: &[u8]) {
    let Ok(image) = BootImage::parse(data) else { return };
    assert!(image.len() <= MAX_ENTRIES);
    assert_eq!(image.iter().count(), image.len());
    assert_eq!(image.is_empty(), image.iter().next().is_none());
    assert!(image.get(image.len()).is_none());
    let data_range = data.as_ptr_range();
    let mut programs: [(&str, &[u8]); MAX_ENTRIES] = [("", &[]); MAX_ENTRIES];
    for (index, program) in image.iter().enumerate() {
        assert_eq!(image.get(index), Some(program));
        let name = program.name;
        assert!(!name.is_empty() && name.len() <= NAME_MAX && !name.as_bytes().contains(&0), "bad name {name:?}");
        let elf_range = program.elf.as_ptr_range();
        assert!(
            program.elf.is_empty() || (data_range.start <= elf_range.start && elf_range.end <= data_range.end),
            "program {name:?} outside the image"
        );
        let first = image.iter().position(|p| p.name == name).filter(|&first| first <= index);
        let first = first.and_then(|first| image.get(first)).expect("iter lost a program");
        let found = image.find(name).expect("find misses a listed program");
        assert_eq!(found, first, "find({name:?}) is not the first program of that name");
        programs[index] = (name, program.elf);
    }
    let programs = &programs[..image.len()];
    let size = bootimage::image_size(programs.iter().map(|(_, elf)| elf.len()));
    if size <= REPACK_LIMIT {
        let mut buffer = [0u8; REPACK_LIMIT];
        bootimage::write(programs, &mut buffer[..size]).expect("re-packing a parsed image failed");
        let again = BootImage::parse(&buffer[..size]).expect("re-packed image does not parse");
        assert!(again.iter().map(|p| (p.name, p.elf)).eq(programs.iter().copied()), "round trip changed the programs");
    }
}

/// Runs a sequence of operations from fuzz bytes on a [`RegionMap`] and a
/// model of it.
///
/// Each operation is an insert (whose result must be exactly what the model
/// predicts: in particular `Overlaps` exactly when a model region overlaps),
/// a `check` of a range (which must accept exactly the ranges the model
/// covers with the rights asked for, byte by byte for short ranges) or a
/// `find`. After every operation the map must hold the model's regions,
/// sorted and disjoint.
pub fn region_map_operations(data: &[u8]) {
    let mut input = Input::new(data);
    let mut map = RegionMap::new();
    let mut model = Model::new();
    for _ in 0..MAX_OPERATIONS {
        if input.is_empty() {
            break;
        }
        match input.byte() % 5 {
            0 | 1 => model.insert(&mut map, input.region()),
            2 | 3 => {
                let address = input.address_near(&model);
                let (len, needed) = (input.length_at(address, &model), input.access());
                model.check(&map, address, len, needed);
            }
            _ => model.find(&map, input.address_near(&model)),
        }
        model.assert_matches(&map);
    }
}

/// Fuzz body for the device tree reader: any bytes parse to facts whose
/// slices lie inside the input, or to an error; never a panic.
pub fn device_tree_parsing(data: &[u8]) {
    let Ok(facts) = crate::devicetree::parse(data) else { return };
    let inside = |slice: &[u8]| {
        let start = data.as_ptr() as usize;
        let at = slice.as_ptr() as usize;
        at >= start && at + slice.len() <= start + data.len()
    };
    if let Some(arguments) = facts.bootargs {
        assert!(inside(arguments), "bootargs outside the blob");
        assert!(!arguments.contains(&0), "bootargs keep their terminator");
    }
    if let Some(property) = facts.timer_interrupts {
        assert!(inside(property), "timer interrupts outside the blob");
        // Decoding the specifiers must not panic either.
        for index in 0..4 {
            let _ = crate::interrupts::nth_gic_interrupt(property, index);
        }
    }
}

/// Fuzz body for the console (`crate::console`): what processes print is
/// outside input. The input is split into writes by several processes (a
/// byte picks the writer, a byte the length), with kernel lines between
/// them and budgets that refill as time moves on. Checked, on the output
/// as it streams: no panic; every line starts with its writer's label or
/// `kernel: `; no byte but printable ASCII and the newline reaches the
/// console; no process gets more through than its budget allows.
pub fn console_labelling(data: &[u8]) {
    use crate::console::{Budget, Lines};

    const LABELS: [&[u8]; 4] = [b"init", b"blinky", b"a-b_c", b"kernel"];
    const KERNEL: usize = 3;
    /// Checks the output byte by byte: a line belongs to whoever wrote its
    /// first byte, must start with that writer's label, and holds only that
    /// writer's bytes (another's newline may end it).
    struct Screen {
        prefix: [u8; 16],
        len: usize,
        labelled: bool,
        owner: usize,
    }
    impl Screen {
        fn take(&mut self, bytes: &[u8], writer: usize) {
            for &byte in bytes {
                if byte == b'\n' {
                    assert!(
                        self.labelled || self.len == 0,
                        "a line without its origin: {:?}",
                        &self.prefix[..self.len]
                    );
                    (self.len, self.labelled) = (0, false);
                    continue;
                }
                assert!((0x20..0x7F).contains(&byte), "raw byte {byte:#04x} reached the console");
                if self.len == 0 && !self.labelled {
                    self.owner = writer;
                }
                assert_eq!(self.owner, writer, "writer {writer}'s bytes ran on into writer {}'s line", self.owner);
                if self.labelled {
                    continue;
                }
                assert!(self.len < self.prefix.len(), "a line without its origin: {:?}", &self.prefix);
                self.prefix[self.len] = byte;
                self.len += 1;
                let line = &self.prefix[..self.len];
                let label = LABELS[writer];
                self.labelled = line.len() == label.len() + 2 && line.starts_with(label) && line.ends_with(b": ");
            }
        }
    }

    let mut input = Input::new(data);
    let mut lines = Lines::new();
    let mut screen = Screen { prefix: [0; 16], len: 0, labelled: false, owner: 0 };
    let mut budgets = [Budget::new(); 3];
    let mut printed = [0u64; 3];
    let mut now = 0u64;
    let mut text = [0u8; 255 * 8];
    while !input.is_empty() {
        let selector = input.byte();
        now += u64::from(input.byte()) * 1000;
        if selector % 8 == 7 {
            lines.kernel_line(&mut |bytes| screen.take(bytes, KERNEL));
            screen.take(b"kernel: log\n", KERNEL);
            continue;
        }
        let writer = usize::from(selector % 3);
        let len = usize::from(input.byte()) * 8;
        for byte in &mut text[..len] {
            *byte = input.byte();
        }
        if budgets[writer].report(now).is_some() {
            // The kernel's report ends the writer's open line.
            lines.kernel_line(&mut |bytes| screen.take(bytes, KERNEL));
            screen.take(b"kernel: dropped\n", KERNEL);
            printed[writer] += u64::from(Budget::REPORT_BYTES);
        }
        let available = budgets[writer].available(now);
        let written = lines.write(writer as u32, LABELS[writer], &text[..len], available as usize, &mut |bytes| {
            screen.take(bytes, writer)
        });
        assert!(written.text <= len && written.output <= available as usize);
        budgets[writer].charge(written.output as u32, (len - written.text) as u32);
        printed[writer] += written.output as u64;
        let limit = u64::from(Budget::BURST) + now * u64::from(Budget::BYTES_PER_SECOND) / 1_000_000;
        assert!(printed[writer] <= limit, "writer {writer} printed {} by {now} us", printed[writer]);
    }
}
