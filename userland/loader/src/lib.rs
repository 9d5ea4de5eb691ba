//! Loading boot-image programs into processes made from untyped memory:
//! the loader runs in user space (in `init`) with nothing but
//! capabilities: untyped memory to pay with and a read-only view of the
//! boot image. It gives each app its start information and heap
//! (`tessera_abi::app`, docs/abi.md).
#![no_std]
#![forbid(unsafe_code)]

pub mod identity;

use tessera_abi::app::{Grant, ServerKind, StartInfo, GRANT_ENTRY, MAX_GRANTS, START_INFO_HEADER};
use tessera_abi::bootimage::{self, BootImage};
use tessera_abi::elf;
use tessera_abi::layout::{in_app_area, APP_HEAP_AT, APP_HEAP_BYTES, APP_INFO_AT, PAGE_SIZE, STACK_SIZE, STACK_TOP};
use tessera_rt::{
    cap_delete, cap_move_narrowed, cap_revoke, for_each_initial_capability, map_into, process_name, process_setup,
    process_start, retype, unmap, Error, Handle, Mapping, ObjectType, Rights,
};

/// Where the boot image is mapped.
pub const BOOT_IMAGE_AT: u32 = 0x3800_0000;
/// Where frames are mapped while the loader fills them.
pub const SCRATCH_AT: u32 = 0x3A00_0000;

/// The largest power-of-two frame, at most `MAX_FRAME_BYTES`, that fits in
/// `remaining` bytes (a multiple of a page).
fn chunk_bytes(remaining: u32) -> u32 {
    let largest = 1u32 << (31 - remaining.leading_zeros());
    largest.min(tessera_abi::capability::MAX_FRAME_BYTES)
}

/// Untyped memory one program is carved from: its process object, its
/// stack and its pages (and for an app its start information and heap).
pub const PROGRAM_MEMORY: u32 = 256 * 1024;

/// Where the capabilities to a loaded program's pages (its image and its
/// stack, one frame each) end up. Either way they are children of the
/// program's memory block, so revoking the block takes every one back.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Pages {
    /// In the loader's CSpace: one slot per page for as long as the
    /// program runs. For the system programs, whose test programs look
    /// for the frames they are given among their capabilities.
    Kept,
    /// Moved into the program's own CSpace once mapped (a move keeps the
    /// mapping): the loader keeps only the block and the `Process`
    /// capability, whatever the program's size. The program then holds
    /// capabilities to its own pages, and nothing else through them
    /// (docs/CAVEATS.md). For apps and the servers.
    HandedOver,
}

/// Whether app program `elf` can be loaded as an app: an ELF that parses
/// (`tessera_abi::elf::parse`) and has no segment in the MiB the loader
/// maps an app's start information, buffers and heap into
/// (`tessera_abi::layout::APP_AREA`). `init` asks this when it checks a
/// package (for a refusal with a reason, before any server records the
/// app); [`Loader::start_app`] asks it again before it makes anything.
pub fn check_app_program(elf: &[u8]) -> Result<(), &'static str> {
    let plan = elf::parse(elf).map_err(|_| "is not a loadable ELF")?;
    if plan.segments().any(|segment| in_app_area(segment.address, segment.memory_size)) {
        return Err("has a segment in the MiB of the app's start information and heap");
    }
    Ok(())
}

/// A program the loader started.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Program {
    /// The `Process` capability (the process ends when it goes).
    pub process: Handle,
    /// The untyped memory it is carved from; revoking it takes back the
    /// process and all its memory, and it can then carry another program.
    pub memory: Handle,
}

/// What the loader needs: untyped memory and the boot image.
#[derive(Clone, Copy, Debug)]
pub struct Loader {
    untyped: Handle,
    image: Mapping,
}

impl Loader {
    /// Finds the untyped memory and the boot image among this process's
    /// first capabilities and maps the image read-only.
    pub fn new() -> Result<Loader, Error> {
        let (mut untyped, mut image) = (None, None);
        for_each_initial_capability(|handle, info| match info.kind {
            ObjectType::Untyped => untyped = Some(handle),
            ObjectType::Frame => image = Some(handle),
            _ => {}
        });
        let untyped = untyped.ok_or(Error::NotFound)?;
        let image = Mapping::new(image.ok_or(Error::NotFound)?, BOOT_IMAGE_AT, Rights::READ)?;
        Ok(Loader { untyped, image })
    }

    /// The untyped memory processes are made from.
    pub fn untyped(&self) -> Handle {
        self.untyped
    }

    /// The boot image's bytes.
    pub fn image(&self) -> Result<BootImage<'_>, Error> {
        let bytes = self.image.as_bytes();
        let size = bootimage::declared_size(bytes).filter(|&size| size <= bytes.len()).ok_or(Error::BadImage)?;
        BootImage::parse(&bytes[..size]).map_err(|_| Error::BadImage)
    }

    /// Loads program `name` into a new process and starts it at
    /// `priority` with `argument` in `r0`. The process, its page tables
    /// and every frame it gets are carved from `memory` (untyped memory
    /// of [`PROGRAM_MEMORY`] bytes: pass a spare one, or `None` to carve
    /// a new one from the loader's untyped memory). The caller holds the
    /// block, the process and, with [`Pages::Kept`], one frame
    /// capability per page (children of the block), and gets all of it
    /// back by revoking `memory` once the program has ended.
    pub fn start(
        &self,
        name: &str,
        priority: u32,
        argument: u32,
        memory: Option<Handle>,
        pages: Pages,
    ) -> Result<Program, Error> {
        let image = self.image()?;
        let program = image.find(name).ok_or(Error::NotFound)?;
        self.start_elf(name, program.elf, priority, memory, pages, |_| Ok(argument))
    }

    /// Loads `elf` into a new process called `name` as [`start`](Self::start)
    /// does, then calls `before_start` with the process (to give it
    /// capabilities) and starts it with the `r0` argument `before_start`
    /// returns; `pages` says where the page capabilities go. On any error
    /// everything made from `memory` is taken back.
    pub fn start_elf(
        &self,
        name: &str,
        elf: &[u8],
        priority: u32,
        memory: Option<Handle>,
        pages: Pages,
        before_start: impl FnOnce(Handle) -> Result<u32, Error>,
    ) -> Result<Program, Error> {
        self.start_with(name, elf, priority, memory, |_, process| before_start(process), pages)
    }

    /// Loads app `elf` into a new process called `name` as
    /// [`start_elf`](Self::start_elf) does (its page capabilities go
    /// into its own CSpace), calls `grant` with the memory block and the
    /// process to give it its server endpoints (and anything else it
    /// carves from the block for it; `grant` fills a list of at most
    /// [`MAX_GRANTS`] entries and returns how many), then maps the app
    /// its start information (read-only, at [`APP_INFO_AT`]) and its
    /// heap ([`APP_HEAP_BYTES`] in one frame at [`APP_HEAP_AT`]), both
    /// carved from `memory`, and starts it with `r0 = APP_INFO_AT`. A
    /// program with a segment in the MiB of those mappings
    /// (`tessera_abi::layout::APP_AREA`) is refused with `BadImage` before
    /// anything is made or asked (`grant` would record it with servers
    /// first, and the map of its start information would fail after).
    pub fn start_app(
        &self,
        name: &str,
        elf: &[u8],
        priority: u32,
        memory: Option<Handle>,
        grant: impl FnOnce(Handle, Handle, &mut [Grant; MAX_GRANTS]) -> Result<usize, Error>,
    ) -> Result<Program, Error> {
        check_app_program(elf).map_err(|_| Error::BadImage)?;
        self.start_with(
            name,
            elf,
            priority,
            memory,
            |memory, process| {
                let mut grants = [Grant { server: ServerKind(0), slot: 0 }; MAX_GRANTS];
                let count = grant(memory, process, &mut grants)?;
                let mut info = [0u8; START_INFO_HEADER + MAX_GRANTS * GRANT_ENTRY];
                let heap = (APP_HEAP_AT as u32, APP_HEAP_BYTES as u32);
                let size =
                    StartInfo::encode(heap.0, heap.1, grants.get(..count).ok_or(Error::InvalidArgument)?, &mut info)
                        .ok_or(Error::InvalidArgument)?;
                self.fill(memory, process, APP_INFO_AT as u32, &info[..size], 0, Rights::READ, Pages::HandedOver)?;
                // The heap: one frame, zeroed by `Retype`, one mapping.
                let frame = retype(memory, ObjectType::Frame, heap.1)?;
                let rights = Rights::READ | Rights::WRITE;
                map_into(frame, process, heap.0, rights)?;
                cap_move_narrowed(frame, process, rights)?;
                Ok(APP_INFO_AT as u32)
            },
            Pages::HandedOver,
        )
    }

    /// Carves `memory` (or a new block), loads `elf` into it, calls
    /// `before_start` with the block and the process, and starts it with
    /// the `r0` that returns.
    fn start_with(
        &self,
        name: &str,
        elf: &[u8],
        priority: u32,
        memory: Option<Handle>,
        before_start: impl FnOnce(Handle, Handle) -> Result<u32, Error>,
        pages: Pages,
    ) -> Result<Program, Error> {
        let (memory, fresh) = match memory {
            Some(memory) => (memory, false),
            None => (retype(self.untyped, ObjectType::Untyped, PROGRAM_MEMORY)?, true),
        };
        let started = self.load(name, elf, memory, pages).and_then(|(process, entry)| {
            let argument = before_start(memory, process)?;
            process_setup(process, entry, STACK_TOP as u32, argument)?;
            process_start(process, priority)?;
            Ok(process)
        });
        match started {
            Ok(process) => Ok(Program { process, memory }),
            Err(error) => {
                // Whatever was made goes; a block passed in can be used
                // again, one made here goes too (nobody holds its handle).
                let _ = if fresh { cap_delete(memory) } else { cap_revoke(memory) };
                Err(error)
            }
        }
    }

    /// Carves a frame from `memory`, writes `bytes` into it at `offset`
    /// and maps it into `process` at `address` with `rights`; with
    /// [`Pages::HandedOver`] the frame capability goes to the process.
    #[allow(clippy::too_many_arguments)]
    fn fill(
        &self,
        memory: Handle,
        process: Handle,
        address: u32,
        bytes: &[u8],
        offset: u32,
        rights: Rights,
        pages: Pages,
    ) -> Result<(), Error> {
        let frame = retype(memory, ObjectType::Frame, PAGE_SIZE as u32)?;
        let scratch = Mapping::new(frame, SCRATCH_AT, Rights::READ | Rights::WRITE)?;
        scratch.write_bytes(offset, bytes);
        unmap(frame)?;
        map_into(frame, process, address, rights)?;
        if pages == Pages::HandedOver {
            // Only the rights of the mapping: no GRANT (its pages
            // cannot be passed on), DERIVE or INSPECT (it cannot
            // learn where its memory lies), and no WRITE on code
            // nor EXECUTE on data, so W^X holds for any second
            // mapping it makes of its own pages.
            cap_move_narrowed(frame, process, rights)?;
        }
        Ok(())
    }

    /// Carves one frame of `bytes` (a power of two, at most
    /// `MAX_FRAME_BYTES`) from `memory`, fills each of its pages with what
    /// `contents` gives for that page's address (offset in the page,
    /// bytes), maps it into `process` at `start` with `rights` and hands
    /// the capability over with only those rights.
    fn fill_chunk<'e>(
        &self,
        memory: Handle,
        process: Handle,
        start: u32,
        bytes: u32,
        rights: Rights,
        contents: impl Fn(u32) -> (u32, &'e [u8]),
    ) -> Result<(), Error> {
        let frame = retype(memory, ObjectType::Frame, bytes)?;
        let scratch = Mapping::new(frame, SCRATCH_AT, Rights::READ | Rights::WRITE)?;
        for address in (start..start + bytes).step_by(PAGE_SIZE) {
            let (offset, page_bytes) = contents(address);
            scratch.write_bytes(address - start + offset, page_bytes);
        }
        unmap(frame)?;
        map_into(frame, process, start, rights)?;
        // As for single pages (`fill`): only the mapping's rights.
        cap_move_narrowed(frame, process, rights)?;
        Ok(())
    }

    /// Makes the process and fills its memory; returns it and its entry
    /// point, not yet started.
    fn load(&self, name: &str, elf: &[u8], memory: Handle, pages: Pages) -> Result<(Handle, u32), Error> {
        let plan = elf::parse(elf).map_err(|_| Error::BadImage)?;
        let process = retype(memory, ObjectType::Process, tessera_abi::PROCESS_OBJECT_BYTES)?;
        let page = PAGE_SIZE as u32;
        let fill = |address: u32, bytes: &[u8], offset: u32, rights: Rights| {
            self.fill(memory, process, address, bytes, offset, rights, pages)
        };
        for segment in plan.segments() {
            let mut rights = Rights::READ;
            if segment.access.write {
                rights |= Rights::WRITE;
            }
            if segment.access.execute {
                rights |= Rights::EXECUTE;
            }
            if pages == Pages::HandedOver {
                // As few mappings as frames allow (a process has 24):
                // the segment in power-of-two frames, largest first.
                let mut start = segment.page_start();
                while start < segment.page_end() {
                    let bytes = chunk_bytes(segment.page_end() - start);
                    self.fill_chunk(memory, process, start, bytes, rights, |address| {
                        let (offset, range) = segment.page_contents(address);
                        (offset as u32, &elf[range])
                    })?;
                    start += bytes;
                }
                continue;
            }
            for address in (segment.page_start()..segment.page_end()).step_by(page as usize) {
                let (offset, bytes) = segment.page_contents(address);
                fill(address, &elf[bytes], offset as u32, rights)?;
            }
        }
        let stack = (STACK_TOP - STACK_SIZE) as u32;
        if pages == Pages::HandedOver {
            // One frame, one mapping (a process has 24): zeroed by
            // `Retype`, so nothing to fill.
            let rights = Rights::READ | Rights::WRITE;
            let frame = retype(memory, ObjectType::Frame, STACK_SIZE as u32)?;
            map_into(frame, process, stack, rights)?;
            cap_move_narrowed(frame, process, rights)?;
        } else {
            // A page per mapping: the test probes look for their frames.
            for address in (stack..STACK_TOP as u32).step_by(page as usize) {
                fill(address, &[], 0, Rights::READ | Rights::WRITE)?;
            }
        }
        process_name(process, name)?;
        Ok((process, plan.entry))
    }
}
