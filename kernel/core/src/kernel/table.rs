//! The process table: each process's entry lives in its own process object,
//! so the kernel holds no per-process memory of its own (docs/capabilities.md,
//! "Memory accounting").
//!
//! Process objects are `PROCESS_OBJECT_BYTES` (16 KiB on the A7, 8 KiB on
//! the M4), aligned to their size (Retype aligns every object to its size),
//! so a process is named by the index of its object's block of RAM:
//! `(object - RAM start) / PROCESS_OBJECT_BYTES`. Every index has a
//! generation, kept by the kernel (two bytes per block of RAM, from the
//! kernel's pool), odd while the index holds a process: a pid is
//! `generation << 16 | index`, so a stale pid never names a newer process.
//! Memory always runs out before the table: there is an index for every
//! object there could be. Live processes are linked in a list for the few
//! scans over all of them (deadlines, children).

use super::{Process, Ram, CSPACE_OFFSET, PROCESS_OBJECT_BYTES};
use crate::capability::Slot;
use crate::sched::QueueLinks;
use core::ops::{Index, IndexMut};
use tessera_abi::capability::CSPACE_SLOTS;
use tessera_abi::Error;

/// Where a process's entry lies in its object: its last bytes, after the
/// translation tables and the CSpace.
pub(super) const ENTRY_OFFSET: u32 = PROCESS_OBJECT_BYTES - ENTRY_BYTES;
/// Room for the entry (the same on the 32-bit targets and the 64-bit host
/// tests: the entry holds no pointer-sized field). 8 bytes short of 512:
/// on the A7 those lie between the CSpace and the entry, which puts the
/// pointer the A7's assembly reaches slot 0 through (8 bytes into it) an
/// encodable immediate below the entry (`kernel::fast_path`).
const ENTRY_BYTES: u32 = 504;
const _: () = assert!(core::mem::size_of::<Process>() <= (PROCESS_OBJECT_BYTES - ENTRY_OFFSET) as usize);
const _: () = assert!(ENTRY_OFFSET.is_multiple_of(core::mem::align_of::<Process>() as u32));

/// The process table (see the module documentation).
///
/// Invariant: an index is live (odd generation) exactly when the block at
/// `base + index * PROCESS_OBJECT_BYTES` is a process object whose entry was
/// written by `insert`, and `remove` has not been called for it since. Every
/// process the kernel keeps (current; the loaded address space, by its
/// object's address; run and IPC queues; parents; CSpace references)
/// names a live index: `Kernel::end_process` takes a process out of all of
/// them before `remove`. No process object lies at address 0
/// (`Kernel::loaded`'s none; `insert` refuses one).
pub(super) struct ProcessTable {
    /// Physical address of block 0: the start of RAM.
    base: u32,
    /// The link of index 0 (`base + ENTRY_OFFSET`, see
    /// [`ProcessTable::link`]; 0 until `init`, so that an empty table, and
    /// the kernel, is all zeros and lives in `.bss`), kept so that a
    /// conversion is one add or subtract and a shift.
    link_base: u32,
    /// Where the kernel reaches block 0 (`Ram::pointer(base)`).
    blocks: usize,
    /// Where it reaches the entry of index 0 (`blocks + ENTRY_OFFSET`):
    /// an index's entry is one shift and add away for the fast paths.
    entries: usize,
    /// Generations, one per `PROCESS_OBJECT_BYTES` block of RAM.
    generations: *mut u16,
    len: usize,
    /// First live process, as index + 1 (0: none).
    first: u32,
}

/// Where the table's fields lie, for the architectures' fast paths.
pub(super) const ENTRIES_OFFSET: usize = core::mem::offset_of!(ProcessTable, entries);
pub(super) const FIRST_OFFSET: usize = core::mem::offset_of!(ProcessTable, first);
// The fast paths read these as words: their types must stay.
fn _field_types(table: &ProcessTable) -> (usize, u32) {
    (table.entries, table.first)
}

impl ProcessTable {
    /// A table with no blocks; `init` gives it RAM.
    pub(super) const fn empty() -> ProcessTable {
        ProcessTable {
            base: 0,
            link_base: 0,
            blocks: 0,
            entries: 0,
            generations: core::ptr::null_mut(),
            len: 0,
            first: 0,
        }
    }

    /// Bytes of generations a table for `ram_bytes` of RAM needs.
    pub(super) const fn generation_bytes(ram_bytes: u32) -> u32 {
        ram_bytes / PROCESS_OBJECT_BYTES * 2
    }

    /// Sets the table up for RAM at `base` (aligned to `PROCESS_OBJECT_BYTES`) of `ram_bytes`,
    /// reached through `ram`, with its generations at `generations`.
    ///
    /// # Safety
    /// `generations` must be the address of `generation_bytes(ram_bytes)`
    /// bytes of kernel RAM used by nothing else from now on, 2-byte aligned,
    /// and `ram` must reach all of RAM.
    pub(super) unsafe fn init(&mut self, ram: Ram, base: u32, ram_bytes: u32, generations: u32) {
        assert!(base.is_multiple_of(PROCESS_OBJECT_BYTES), "RAM must start on a process object boundary");
        let len = (ram_bytes / PROCESS_OBJECT_BYTES) as usize;
        assert!(len <= u16::MAX as usize, "more RAM than pids can name");
        assert!(
            u64::from(base) + u64::from(ram_bytes) <= u64::from(super::ipc::CALLER_GONE),
            "RAM must end below the reply_to values that name no caller"
        );
        self.base = base;
        self.link_base = base + ENTRY_OFFSET;
        self.blocks = ram.pointer::<u8>(base) as usize;
        self.entries = self.blocks + ENTRY_OFFSET as usize;
        self.len = len;
        self.generations = ram.pointer(generations);
        self.first = 0;
        for index in 0..len {
            // SAFETY: the caller gave `len` generations at `generations`.
            unsafe { self.generations.add(index).write(0) };
        }
    }

    fn generation(&self, index: usize) -> u16 {
        assert!(index < self.len);
        // SAFETY: `index` is in range (checked above); `init`'s caller gave
        // the memory to the table.
        unsafe { self.generations.add(index).read() }
    }

    fn set_generation(&mut self, index: usize, generation: u16) {
        assert!(index < self.len);
        // SAFETY: as in `generation`; `&mut self` makes this the only access.
        unsafe { self.generations.add(index).write(generation) }
    }

    #[inline(always)]
    fn block(&self, index: usize, offset: u32) -> usize {
        self.blocks + index * PROCESS_OBJECT_BYTES as usize + offset as usize
    }

    #[inline(always)]
    fn entry(&self, index: usize) -> *mut Process {
        // From `entries`, not `blocks`: the entry's offset, which is no
        // immediate an add takes, is added once at `init`.
        (self.entries + index * PROCESS_OBJECT_BYTES as usize) as *mut Process
    }

    /// The CSpace of live process `index`, in its object.
    #[inline]
    pub(super) fn cspace(&self, index: usize) -> &[Slot; CSPACE_SLOTS] {
        debug_assert!(self.is_live(index), "process index {index} is not live");
        // SAFETY: block `index` is this live process's object (a process is
        // named by its object's block): `PROCESS_OBJECT_BYTES` carved from
        // untyped memory by Retype (zeroed there) or the root object, both
        // in RAM, holding the CSpace at CSPACE_OFFSET (a const assertion
        // checks it fits before the entry), 4-byte aligned as `Slot` needs.
        // The object is not reused while the process entry names it (an
        // untyped's memory comes back only once all its descendants, this
        // process's capabilities included, are gone, and ending the process
        // empties the CSpace first). All-zero bytes are empty slots.
        unsafe { &*(self.block(index, CSPACE_OFFSET) as *const [Slot; CSPACE_SLOTS]) }
    }

    /// The CSpace of live process `index`, to change.
    #[inline]
    pub(super) fn cspace_mut(&mut self, index: usize) -> &mut [Slot; CSPACE_SLOTS] {
        debug_assert!(self.is_live(index), "process index {index} is not live");
        // SAFETY: as for `cspace`; `&mut self` makes this the only access.
        unsafe { &mut *(self.block(index, CSPACE_OFFSET) as *mut [Slot; CSPACE_SLOTS]) }
    }

    /// True if `index` holds a process (running, blocked or ended).
    pub(super) fn is_live(&self, index: usize) -> bool {
        index < self.len && self.generation(index) & 1 == 1
    }

    /// The pid of the process at `index`.
    pub(super) fn pid(&self, index: usize) -> u32 {
        (self.generation(index) as u32) << 16 | index as u32
    }

    /// The index of the live process `pid` names, if it still lives.
    pub(super) fn index_of_pid(&self, pid: u32) -> Option<usize> {
        let index = (pid & 0xFFFF) as usize;
        (self.is_live(index) && self.generation(index) as u32 == pid >> 16).then_some(index)
    }

    /// The RAM the table has a block for each process object of: where it
    /// starts and where it ends.
    pub(super) fn span(&self) -> (u32, u64) {
        (self.base, u64::from(self.base) + self.len as u64 * u64::from(PROCESS_OBJECT_BYTES))
    }

    /// Process `index`'s link in an IPC queue and in a server's `reply_to`:
    /// the physical address of its entry, never 0, below
    /// `ipc::CALLER_GONE` (`init` checks), and for the A7's fast paths the
    /// entry's own address (they reach RAM at its physical address).
    #[inline(always)]
    pub(super) fn link(&self, index: usize) -> u32 {
        self.link_base + ((index as u32) << PROCESS_OBJECT_BYTES.trailing_zeros())
    }

    /// The index a link names ([`ProcessTable::link`]); for a value that is
    /// no link, an index [`ProcessTable::is_link`] refuses.
    #[inline(always)]
    pub(super) fn index_of_link(&self, link: u32) -> usize {
        (link.wrapping_sub(self.link_base) >> PROCESS_OBJECT_BYTES.trailing_zeros()) as usize
    }

    /// True if `link` is the link of a live process.
    pub(super) fn is_link(&self, link: u32) -> bool {
        link.checked_sub(ENTRY_OFFSET).and_then(|object| self.index_of_object(object)).is_some()
    }

    /// The index of the live process whose object is at `object`.
    pub(super) fn index_of_object(&self, object: u32) -> Option<usize> {
        let offset = object.checked_sub(self.base)?;
        if !offset.is_multiple_of(PROCESS_OBJECT_BYTES) {
            return None;
        }
        let index = (offset / PROCESS_OBJECT_BYTES) as usize;
        self.is_live(index).then_some(index)
    }

    /// Makes the process object at `object` (`PROCESS_OBJECT_BYTES`, aligned, zeroed or
    /// otherwise no longer used) a live process with entry `process`, and
    /// returns its index.
    pub(super) fn insert(&mut self, object: u32, process: Process) -> Result<usize, Error> {
        if object == 0 {
            return Err(Error::InvalidArgument);
        }
        let offset = object.checked_sub(self.base).ok_or(Error::InvalidArgument)?;
        let index = (offset / PROCESS_OBJECT_BYTES) as usize;
        if !offset.is_multiple_of(PROCESS_OBJECT_BYTES) || index >= self.len || self.is_live(index) {
            return Err(Error::InvalidArgument);
        }
        // SAFETY: the block is in RAM (reached through `ram`), is a
        // process object the caller just made, and holds no live entry; the
        // const assertions above check the entry fits and is aligned.
        unsafe { self.entry(index).write(process) };
        self.set_generation(index, self.generation(index).wrapping_add(1));
        self[index].index = index as u32;
        let first = self.first;
        self[index].live_previous = 0;
        self[index].live_next = first;
        if first != 0 {
            self[first as usize - 1].live_previous = index as u32 + 1;
        }
        self.first = index as u32 + 1;
        Ok(index)
    }

    /// Takes process `index` out of the table: its pid goes stale and its
    /// object may be reused once no capability names it.
    pub(super) fn remove(&mut self, index: usize) {
        assert!(self.is_live(index), "removing a free process index");
        let (previous, next) = (self[index].live_previous, self[index].live_next);
        if previous == 0 {
            self.first = next;
        } else {
            self[previous as usize - 1].live_next = next;
        }
        if next != 0 {
            self[next as usize - 1].live_previous = previous;
        }
        self.set_generation(index, self.generation(index).wrapping_add(1));
    }

    /// The first live process, for a scan with [`ProcessTable::next_live`].
    pub(super) fn first_live(&self) -> Option<usize> {
        (self.first != 0).then(|| self.first as usize - 1)
    }

    /// The live process after `index` in the list.
    pub(super) fn next_live(&self, index: usize) -> Option<usize> {
        let next = self[index].live_next;
        (next != 0).then(|| next as usize - 1)
    }

    /// Every live process, with its index.
    pub(super) fn live(&self) -> impl Iterator<Item = (usize, &Process)> + '_ {
        let mut cursor = self.first_live();
        core::iter::from_fn(move || {
            let index = cursor?;
            cursor = self.next_live(index);
            Some((index, &self[index]))
        })
    }
}

impl Index<usize> for ProcessTable {
    type Output = Process;

    #[inline]
    fn index(&self, index: usize) -> &Process {
        debug_assert!(self.is_live(index), "process index {index} is not live");
        // SAFETY: the kernel only uses live indices (the type's invariant,
        // checked in debug builds); a live index's block is a process object
        // in RAM, reached through `ram`, whose entry `insert` wrote.
        unsafe { &*self.entry(index) }
    }
}

impl IndexMut<usize> for ProcessTable {
    #[inline]
    fn index_mut(&mut self, index: usize) -> &mut Process {
        debug_assert!(self.is_live(index), "process index {index} is not live");
        // SAFETY: as in `index`; `&mut self` makes this the only access.
        unsafe { &mut *self.entry(index) }
    }
}

/// Run-queue links live in the process entries.
impl QueueLinks for ProcessTable {
    #[inline]
    fn next(&self, thread: usize) -> u32 {
        self[thread].run_next
    }
    #[inline]
    fn set_next(&mut self, thread: usize, next: u32) {
        self[thread].run_next = next;
    }
    #[inline]
    fn level(&self, thread: usize) -> u8 {
        self[thread].run_level
    }
    #[inline]
    fn set_level(&mut self, thread: usize, level: u8) {
        self[thread].run_level = level;
    }
}
