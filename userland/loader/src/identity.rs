//! Loading a program where user addresses are physical (the M4's MPU,
//! docs/mt3620.md step 3.9): a program is linked at its slot
//! (`linker/user-m.ld`), so each of its pages must be the frame at that very
//! address. The loader is given the slot as untyped memory starting at the
//! slot's first byte; `Retype` carves objects in ascending order, each
//! aligned to its size, so carving the program's frames in order from the
//! start of the slot (each as large as its address's alignment and its
//! segment allow, to spend few of a process's 16 mappings) puts each where
//! the program was linked, provided its segments follow each other from
//! the slot's start without a gap (as `user-m.ld` lays them out: code,
//! stack, data); every frame's address is checked. An app
//! ([`start_app`]) gets its start information and heap after them. The
//! process object comes last, from the same memory, so revoking the slot
//! takes back everything and the slot can carry the program again (a
//! restart).
//!
//! A program linked to run its code where it lies in the boot image
//! (docs/mt3620.md, "Code in place") gets, for each read-only segment
//! whose whole pages lie there at their own addresses, frames sliced from
//! the boot image's frame ([`BootImageFrame`], `FrameSlice`): only its own
//! code, readable, and executable where the segment says so, and nothing
//! copied into its slot, whose first byte is then where its stack starts.
//! Slices it could not hand over are deleted after an error (the slot's
//! revoke does not reach them).

use tessera_abi::app::{Grant, ServerKind, StartInfo, GRANT_ENTRY, MAX_GRANTS, START_INFO_HEADER};
use tessera_abi::elf;
use tessera_abi::layout::{PAGE_SIZE, USER_IMAGE_BASE};
use tessera_rt::{
    cap_move_narrowed, cap_object, frame_slice, map_into, process_name, process_setup, process_start, retype, unmap,
    Error, Handle, Mapping, ObjectType, Rights,
};

/// One past the highest user address on Armv7-M (its system region).
const USER_END: u32 = 0xE000_0000;

/// The largest frame the loader carves for a segment (an MPU window is
/// 32 KiB; larger frames only save mappings a program this small does not
/// need).
const MAX_FRAME: u32 = 32 * 1024;

/// The boot image's frame, whose parts hold programs' code in place (the
/// loader slices them out; `init` holds it with `DERIVE` and `GRANT`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BootImageFrame {
    /// The frame capability.
    pub frame: Handle,
    /// Where it lies (the M4's addresses are physical) and its size.
    pub base: u32,
    pub bytes: u32,
}

/// A program loaded into a slot.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Placed {
    /// The `Process` capability.
    pub process: Handle,
    /// Its entry point and initial stack pointer (the end of its lowest
    /// writable segment, as the kernel places a program it starts itself).
    pub entry: u32,
    pub stack: u32,
    /// Where its code runs in place in the boot image, if it does.
    pub code_in_place: Option<u32>,
}

/// Loads `elf` into the slot `slot` (untyped memory whose first byte is
/// where the program is linked), names the process `name` and sets it up to
/// start with `argument` in r0; does not start it. On an error the slot
/// may hold some of the program's objects: revoke it before using it again.
pub fn load(
    slot: Handle,
    image: Option<BootImageFrame>,
    name: &str,
    elf: &[u8],
    argument: u32,
) -> Result<Placed, Error> {
    load_with_object(slot, None, image, name, elf, argument)
}

/// [`load`], with the process object carved from `objects` (untyped
/// memory) instead of the slot when given: a slot in a second RAM (the
/// MT3620's SYSRAM), where the kernel makes no process object, holds the
/// program's pages only. On an error the process is deleted, but the
/// memory it took from `objects` is not handed out again until `objects`
/// has nothing else carved from it (untyped memory comes back by revoke,
/// not by delete); the slot is as for [`load`].
pub fn load_with_object(
    slot: Handle,
    objects: Option<Handle>,
    image: Option<BootImageFrame>,
    name: &str,
    elf: &[u8],
    argument: u32,
) -> Result<Placed, Error> {
    let (mut pages, program) = place(slot, image, elf)?;
    let from = objects.unwrap_or(slot);
    finish(from, &mut pages, program, name, argument, |_| Ok(())).inspect_err(|_| pages.release_slices())
}

/// Loads and starts a program at `priority` (see [`load`]).
pub fn start(
    slot: Handle,
    image: Option<BootImageFrame>,
    name: &str,
    elf: &[u8],
    argument: u32,
    priority: u32,
) -> Result<Placed, Error> {
    let placed = load(slot, image, name, elf, argument)?;
    process_start(placed.process, priority)?;
    Ok(placed)
}

/// Loads `elf` into `slot` as an app and starts it at `priority`: after the
/// program's pages come a read-only page of start information and a zeroed
/// heap of `heap_bytes` (a power of two of at least a page, at the first
/// multiple of its size past the start information), where
/// `tessera_rt::app` looks for them on Armv7-M; the app starts with the
/// start information's address in r0. `grant` is called with the new
/// process before it holds anything else: it puts the app's grants into
/// the process's CSpace and lists them (at most `MAX_GRANTS`), and the
/// start information says so. On an error revoke the slot before using it
/// again.
#[allow(clippy::too_many_arguments)]
pub fn start_app(
    slot: Handle,
    image: Option<BootImageFrame>,
    name: &str,
    elf: &[u8],
    heap_bytes: u32,
    priority: u32,
    grant: impl FnOnce(Handle, &mut [Grant; MAX_GRANTS]) -> Result<usize, Error>,
) -> Result<Placed, Error> {
    if !heap_bytes.is_power_of_two() || heap_bytes < PAGE_SIZE as u32 {
        return Err(Error::InvalidArgument);
    }
    let (mut pages, program) = place(slot, image, elf)?;
    let placed = (|pages: &mut Pages| {
        let info_at = pages.next;
        let heap_at = (info_at + PAGE_SIZE as u32).next_multiple_of(heap_bytes);
        let info_frame = carve(slot, info_at, PAGE_SIZE as u32)?;
        pages.push(info_frame, info_at, PAGE_SIZE as u32, Rights::READ)?;
        // Zeroed by `Retype`.
        let heap = carve(slot, heap_at, heap_bytes)?;
        pages.push(heap, heap_at, heap_bytes, Rights::READ | Rights::WRITE)?;
        finish(slot, pages, program, name, info_at, |process| {
            let mut grants = [Grant { server: ServerKind(0), slot: 0 }; MAX_GRANTS];
            let count = grant(process, &mut grants)?;
            let listed = grants.get(..count).ok_or(Error::InvalidArgument)?;
            let mut info = [0u8; START_INFO_HEADER + MAX_GRANTS * GRANT_ENTRY];
            let size = StartInfo::encode(heap_at, heap_bytes, listed, &mut info).ok_or(Error::InvalidArgument)?;
            fill(info_frame, info_at, &[(0, &info[..size])])
        })
    })(&mut pages)
    .inspect_err(|_| pages.release_slices())?;
    process_start(placed.process, priority)?;
    Ok(placed)
}

/// The program's entry point and stack, from its ELF, and where its code
/// runs in place.
#[derive(Clone, Copy)]
struct Program {
    entry: u32,
    stack: u32,
    code_in_place: Option<u32>,
}

/// Carves `elf`'s segments from the start of `slot`, each page at its own
/// address, in frames as large as their alignment allows, and fills them;
/// a read-only segment lying in place in `image` is sliced from it instead.
fn place(slot: Handle, image: Option<BootImageFrame>, elf: &[u8]) -> Result<(Pages, Program), Error> {
    let (base, bytes) = cap_object(slot)?;
    let mut pages = Pages::new(base);
    match place_into(&mut pages, slot, bytes, image, elf) {
        Ok(program) => Ok((pages, program)),
        Err(error) => {
            pages.release_slices();
            Err(error)
        }
    }
}

fn place_into(
    pages: &mut Pages,
    slot: Handle,
    bytes: u32,
    image: Option<BootImageFrame>,
    elf: &[u8],
) -> Result<Program, Error> {
    let plan = elf::parse_within(elf, USER_IMAGE_BASE as u32, USER_END).map_err(|_| Error::BadImage)?;
    let base = pages.next;
    let mut stack = None;
    let mut code_in_place = None;
    for segment in plan.segments() {
        if let Some(image) = image.filter(|image| in_place(image, elf, segment)) {
            code_in_place.get_or_insert(segment.address);
            // Executable only if the segment is.
            let mut rights = Rights::READ;
            if segment.access.execute {
                rights |= Rights::EXECUTE;
            }
            let mut address = segment.address;
            while address < segment.page_end() {
                let size = largest_frame(address, segment.page_end());
                let frame = frame_slice(image.frame, address - image.base, size, rights | Rights::GRANT)?;
                if let Err(error) = pages.push_elsewhere(frame, address, size, rights) {
                    // Not in the list `release_slices` goes by.
                    let _ = tessera_rt::cap_delete(frame);
                    return Err(error);
                }
                address += size;
            }
            continue;
        }
        if segment.page_start() != pages.next || segment.page_end() - base > bytes {
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
        let mut address = segment.page_start();
        while address < segment.page_end() {
            let size = largest_frame(address, segment.page_end());
            let frame = carve(slot, address, size)?;
            let mut contents = [(0u32, &[][..]); (MAX_FRAME as usize) / PAGE_SIZE];
            for (index, page) in (address..address + size).step_by(PAGE_SIZE).enumerate() {
                let (offset, range) = segment.page_contents(page);
                contents[index] = (page - address + offset as u32, &elf[range]);
            }
            fill(frame, address, &contents)?;
            pages.push(frame, address, size, rights)?;
            address += size;
        }
    }
    let stack = stack.ok_or(Error::BadImage)?;
    Ok(Program { entry: plan.entry, stack, code_in_place })
}

/// The largest power of two, up to `MAX_FRAME`, that `address` is aligned
/// to and that fits below `end`.
fn largest_frame(address: u32, end: u32) -> u32 {
    let mut size = MAX_FRAME;
    while size > PAGE_SIZE as u32 && (!address.is_multiple_of(size) || address + size > end) {
        size /= 2;
    }
    size
}

/// True if `segment` of the program `elf` (which lies in the boot image,
/// the M4's addresses being physical) is read-only code whose whole pages
/// lie in `image` at their own addresses: linked to run in place.
fn in_place(image: &BootImageFrame, elf: &[u8], segment: &elf::Segment) -> bool {
    let file = elf.as_ptr() as usize as u64 + u64::from(segment.file_offset);
    let end = u64::from(segment.address) + u64::from(segment.memory_size);
    !segment.access.write
        && file == u64::from(segment.address)
        && segment.address.is_multiple_of(PAGE_SIZE as u32)
        && segment.file_size == segment.memory_size
        && end.is_multiple_of(PAGE_SIZE as u64)
        && u64::from(segment.address) >= u64::from(image.base)
        && end <= u64::from(image.base) + u64::from(image.bytes)
}

/// A frame of `size` bytes carved from `slot`, which must land at
/// `address` (`Retype` carves in ascending order, each object aligned to
/// its size; a slot not where the program is linked gives another address).
fn carve(slot: Handle, address: u32, size: u32) -> Result<Handle, Error> {
    let frame = retype(slot, ObjectType::Frame, size)?;
    if cap_object(frame)?.0 != address {
        return Err(Error::BadImage);
    }
    Ok(frame)
}

/// Writes `contents` (offset in the frame, bytes) into `frame` through a
/// mapping of the loader's own at the frame's address, then unmaps it.
fn fill(frame: Handle, address: u32, contents: &[(u32, &[u8])]) -> Result<(), Error> {
    if contents.iter().all(|(_, bytes)| bytes.is_empty()) {
        return Ok(());
    }
    let page = Mapping::new(frame, address, Rights::READ | Rights::WRITE)?;
    for &(offset, bytes) in contents {
        page.write_bytes(offset, bytes);
    }
    unmap(frame)
}

/// Carves the process object from `objects` (the slot, after the pages,
/// or other untyped memory), calls `before` with it, hands it the pages
/// with only their mappings' rights, names it and sets it up. On an error
/// after the object was carved, the process is deleted (a slot's revoke
/// would not reach one carved elsewhere).
fn finish(
    objects: Handle,
    pages: &mut Pages,
    program: Program,
    name: &str,
    argument: u32,
    before: impl FnOnce(Handle) -> Result<(), Error>,
) -> Result<Placed, Error> {
    // From the slot: after the pages, at the next process-object boundary.
    let process = retype(objects, ObjectType::Process, tessera_abi::PROCESS_OBJECT_BYTES)?;
    let set_up = (|| {
        before(process)?;
        for &(frame, address, _, rights) in pages.iter() {
            map_into(frame, process, address, rights)?;
            // Only the mapping's rights go with it: no GRANT, DERIVE or
            // INSPECT, and W^X holds for any second mapping it makes.
            cap_move_narrowed(frame, process, rights)?;
        }
        process_name(process, name)?;
        process_setup(process, program.entry, program.stack, argument)?;
        Ok(Placed { process, entry: program.entry, stack: program.stack, code_in_place: program.code_in_place })
    })();
    if set_up.is_err() {
        let _ = tessera_rt::cap_delete(process);
    }
    set_up
}

/// The frames of one program (a fixed list: the loader has no heap), and
/// the address the next one must start at.
struct Pages {
    frames: [(Handle, u32, u32, Rights); MAX_FRAMES],
    count: usize,
    next: u32,
    /// Which frames are slices of the boot image (bit per frame): not the
    /// slot's, so revoking the slot does not take them back.
    sliced: u16,
}

/// Frames one loaded program may have: a process has at most 16 mappings.
const MAX_FRAMES: usize = 16;
const _: () = assert!(MAX_FRAMES <= u16::BITS as usize, "Pages::sliced has a bit per frame");

impl Pages {
    fn new(base: u32) -> Pages {
        Pages { frames: [(Handle::NULL, 0, 0, Rights::empty()); MAX_FRAMES], count: 0, next: base, sliced: 0 }
    }

    /// Notes a frame of `size` bytes at `address`; a program of more frames
    /// than a process can map is not one the loader can place.
    fn push(&mut self, frame: Handle, address: u32, size: u32, rights: Rights) -> Result<(), Error> {
        self.push_entry(frame, address, size, rights)?;
        self.next = address + size;
        Ok(())
    }

    /// Notes a slice of the boot image (code in place).
    fn push_elsewhere(&mut self, frame: Handle, address: u32, size: u32, rights: Rights) -> Result<(), Error> {
        let count = self.count;
        self.push_entry(frame, address, size, rights)?;
        self.sliced |= 1 << count;
        Ok(())
    }

    fn push_entry(&mut self, frame: Handle, address: u32, size: u32, rights: Rights) -> Result<(), Error> {
        let entry = self.frames.get_mut(self.count).ok_or(Error::BadImage)?;
        *entry = (frame, address, size, rights);
        self.count += 1;
        Ok(())
    }

    /// After an error: deletes the slices still held (one already moved to
    /// the process is a stale handle here, and goes with the process).
    fn release_slices(&self) {
        for (index, &(frame, ..)) in self.iter().enumerate() {
            if self.sliced & (1 << index) != 0 {
                let _ = tessera_rt::cap_delete(frame);
            }
        }
    }

    fn iter(&self) -> impl Iterator<Item = &(Handle, u32, u32, Rights)> {
        self.frames[..self.count].iter()
    }
}
