//! Loading a program where user addresses are physical (the M4's MPU,
//! docs/mt3620.md step 3.9): a program is linked at its slot
//! (`linker/user-m.ld`), so each of its pages must be the frame at that very
//! address. The loader is given the slot as untyped memory starting at the
//! slot's first byte; `Retype` carves objects in ascending order, each
//! aligned to its size, so carving the program's pages one by one from the
//! start of the slot puts each where the program was linked, provided its
//! segments follow each other from the slot's start without a gap (as
//! `user-m.ld` lays them out: code, stack, data). The process object comes
//! after them, from the same memory, so revoking the slot takes back
//! everything and the slot can carry the program again (a restart).

use tessera_abi::elf;
use tessera_abi::layout::{PAGE_SIZE, USER_IMAGE_BASE};
use tessera_rt::{
    cap_move_narrowed, cap_object, map_into, process_name, process_setup, process_start, retype, unmap, Error, Handle,
    Mapping, ObjectType, Rights,
};

/// One past the highest user address on Armv7-M (its system region).
const USER_END: u32 = 0xE000_0000;

/// A program loaded into a slot.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Placed {
    /// The `Process` capability.
    pub process: Handle,
    /// Its entry point and initial stack pointer (the end of its lowest
    /// writable segment, as the kernel places a program it starts itself).
    pub entry: u32,
    pub stack: u32,
}

/// Loads `elf` into the slot `slot` (untyped memory whose first byte is
/// where the program is linked), names the process `name` and sets it up to
/// start with `argument` in r0; does not start it. On an error the slot
/// may hold some of the program's objects: revoke it before using it again.
pub fn load(slot: Handle, name: &str, elf: &[u8], argument: u32) -> Result<Placed, Error> {
    let plan = elf::parse_within(elf, USER_IMAGE_BASE as u32, USER_END).map_err(|_| Error::BadImage)?;
    let (base, bytes) = cap_object(slot)?;
    let mut next = base;
    let mut stack = None;
    let mut pages = Pages::new();
    for segment in plan.segments() {
        if segment.page_start() != next || segment.page_end() - base > bytes {
            // A gap, an overlap or more than the slot: not linked for it.
            return Err(Error::BadImage);
        }
        let mut rights = Rights::READ;
        if segment.access.write {
            rights |= Rights::WRITE;
            stack.get_or_insert(segment.page_end());
        }
        if segment.access.execute {
            rights |= Rights::EXECUTE;
        }
        for address in (segment.page_start()..segment.page_end()).step_by(PAGE_SIZE) {
            let frame = retype(slot, ObjectType::Frame, PAGE_SIZE as u32)?;
            if cap_object(frame)?.0 != address {
                return Err(Error::BadImage);
            }
            let (offset, range) = segment.page_contents(address);
            if !range.is_empty() {
                // Filled through a mapping of its own at its own address
                // (the loader's), then handed to the program.
                let page = Mapping::new(frame, address, Rights::READ | Rights::WRITE)?;
                page.write_bytes(offset as u32, &elf[range]);
                unmap(frame)?;
            }
            pages.push((frame, address, rights))?;
            next = address + PAGE_SIZE as u32;
        }
    }
    let stack = stack.ok_or(Error::BadImage)?;
    // After the pages, at the next 16 KiB boundary.
    let process = retype(slot, ObjectType::Process, 16384)?;
    for &(frame, address, rights) in pages.iter() {
        map_into(frame, process, address, rights)?;
        // Only the mapping's rights go with it: no GRANT, DERIVE or
        // INSPECT, and W^X holds for any second mapping it makes.
        cap_move_narrowed(frame, process, rights)?;
    }
    process_name(process, name)?;
    process_setup(process, plan.entry, stack, argument)?;
    Ok(Placed { process, entry: plan.entry, stack })
}

/// Loads and starts a program at `priority` (see [`load`]).
pub fn start(slot: Handle, name: &str, elf: &[u8], argument: u32, priority: u32) -> Result<Placed, Error> {
    let placed = load(slot, name, elf, argument)?;
    process_start(placed.process, priority)?;
    Ok(placed)
}

/// The pages of one program: at most a slot's worth (a fixed list: the
/// loader has no heap).
struct Pages {
    pages: [(Handle, u32, Rights); MAX_PAGES],
    count: usize,
}

/// Pages one loaded program may have (a 64 KiB slot).
const MAX_PAGES: usize = 16;

impl Pages {
    fn new() -> Pages {
        Pages { pages: [(Handle::NULL, 0, Rights::empty()); MAX_PAGES], count: 0 }
    }

    /// Notes a page; a program of more pages than a 64 KiB slot holds is
    /// not one the loader can place.
    fn push(&mut self, page: (Handle, u32, Rights)) -> Result<(), Error> {
        let slot = self.pages.get_mut(self.count).ok_or(Error::BadImage)?;
        *slot = page;
        self.count += 1;
        Ok(())
    }

    fn iter(&self) -> impl Iterator<Item = &(Handle, u32, Rights)> {
        self.pages[..self.count].iter()
    }
}
