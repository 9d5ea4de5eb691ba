//! Capability syscalls. The capability core (`kernel_core::capability`)
//! works on the CSpaces in the process objects; this module looks handles up,
//! checks what each call needs, and undoes the effects of destroyed
//! capabilities (unmapping what was mapped through them).

use super::table::ProcessTable;
use super::{klog, FrameSource, Frames, Kernel, Platform, Process, Reply, State, UserLayout};
use crate::capability::{self, Capability, SlotRef, SlotStore};
use crate::pagetable::MemoryType;
use crate::syscall::Call;
use crate::user_memory::Region;
use crate::Access;
use tessera_abi::capability::CSPACE_SLOTS;
use tessera_abi::layout::{PAGE_SIZE, STACK_SIZE, STACK_TOP, USER_END, USER_IMAGE_BASE};
use tessera_abi::{Error, Handle, ObjectType, Rights};

/// The process table as capability storage: CSpace `n` is process `n`'s.
pub(super) struct Slots<'a>(pub(super) &'a mut ProcessTable);

impl SlotStore for Slots<'_> {
    #[inline(never)]
    fn slot(&self, at: SlotRef) -> &capability::Slot {
        &self.0.cspace(at.space() as usize)[at.index() as usize]
    }

    #[inline(never)]
    fn slot_mut(&mut self, at: SlotRef) -> &mut capability::Slot {
        &mut self.0.cspace_mut(at.space() as usize)[at.index() as usize]
    }
}

/// Where a process's second-level translation tables come from: the six
/// 1 KiB tables in its own object (so its page tables are paid for from the
/// untyped memory it was made from), or, for the root task, which the
/// kernel makes and which maps more regions, the kernel's pool.
struct TableSource<'a, P> {
    frames: Frames<'a, P>,
    /// The process object.
    object: u32,
    /// Use the kernel's pool (the root task).
    pool: bool,
    used: &'a mut u16,
}

impl<P: Platform> FrameSource for TableSource<'_, P> {
    fn allocate_zeroed(&mut self) -> Option<u32> {
        if self.pool {
            return self.frames.allocate_zeroed();
        }
        let free = (0..super::OBJECT_TABLES).find(|&n| *self.used & (1 << n) == 0)?;
        *self.used |= 1 << free;
        // Zeroed when the object was made; never handed out twice.
        Some(self.object + super::TABLES_OFFSET + free * 1024)
    }

    fn release(&mut self, frame: u32) {
        self.frames.release(frame);
    }
}

/// Set in `data[0]` of a frame or device capability while it is mapped;
/// the rest of `data[0]` is the address, `data[1]` the mapping process's pid.
pub(super) const MAPPED: u32 = 1;

/// What `init` is given at boot besides its program.
pub struct RootGrants<'a> {
    /// Free RAM for `Untyped` capabilities: (address, bytes).
    pub untyped: (u32, u32),
    /// Device register pages: (address, bytes).
    pub device_regions: &'a [(u32, u32)],
    /// Device interrupt IDs.
    pub interrupts: &'a [u32],
    /// The boot image: (address, bytes), page aligned; given read-only.
    pub boot_image: (u32, u32),
}

impl<P: Platform> Kernel<P> {
    fn slot_ref(space: usize, index: usize) -> SlotRef {
        SlotRef::new(space as u16, index as u16)
    }

    /// The slot `handle` names in process `space`'s CSpace.
    #[inline(never)]
    pub(super) fn lookup(&self, space: usize, handle: Handle) -> Result<SlotRef, Error> {
        self.held(space, handle).map(|_| Self::slot_ref(space, handle.index()))
    }

    /// The capability in the slot `handle` names in process `space`'s
    /// CSpace: in range, not slot 0, of the handle's generation, not empty.
    #[inline(always)]
    pub(super) fn held(&self, space: usize, handle: Handle) -> Result<&Capability, Error> {
        let index = handle.index();
        if index == 0 || index >= CSPACE_SLOTS {
            return Err(Error::InvalidHandle);
        }
        let slot = &self.processes.cspace(space)[index];
        if slot.generation() != handle.generation() {
            return Err(Error::StaleHandle);
        }
        slot.capability().ok_or(Error::InvalidHandle)
    }

    /// The capability `handle` names in process `space`'s CSpace: the
    /// checks of [`Kernel::lookup`], reading the slot once (the IPC paths
    /// need the capability, not where it is).
    #[inline]
    pub(super) fn held_capability(&self, space: usize, handle: Handle) -> Result<Capability, Error> {
        self.held(space, handle).copied()
    }

    /// The capability in `at`, which a lookup found full.
    #[inline(never)]
    pub(super) fn capability_at(&self, at: SlotRef) -> Capability {
        *self.processes.cspace(at.space() as usize)[at.index() as usize]
            .capability()
            .expect("lookup returned an empty slot")
    }

    /// The first empty slot of process `space`'s CSpace.
    pub(super) fn free_slot(&self, space: usize) -> Result<SlotRef, Error> {
        self.free_slot_from(space, 1)
    }

    /// The first free slot of `space` from index `from` on (the caller
    /// knows those below are taken).
    fn free_slot_from(&self, space: usize, from: usize) -> Result<SlotRef, Error> {
        (from.max(1)..CSPACE_SLOTS)
            .find(|&index| self.processes.cspace(space)[index].capability().is_none())
            .map(|index| Self::slot_ref(space, index))
            .ok_or(Error::SlotOccupied)
    }

    /// The handle naming the capability now in `at`.
    pub(super) fn handle_at(&self, at: SlotRef) -> Handle {
        let slot = &self.processes.cspace(at.space() as usize)[at.index() as usize];
        Handle::new(at.index() as usize, slot.generation())
    }

    /// Puts an original capability in process `space`'s CSpace.
    pub(super) fn insert_original(&mut self, space: usize, capability: Capability) -> Result<Handle, Error> {
        self.insert_original_from(space, capability, &mut 1)
    }

    /// [`Kernel::insert_original`] into the first free slot from `*next`
    /// on, leaving `*next` after it: for a run of insertions nothing else
    /// interleaves with, each scan starts where the last ended.
    fn insert_original_from(
        &mut self,
        space: usize,
        capability: Capability,
        next: &mut usize,
    ) -> Result<Handle, Error> {
        let at = self.free_slot_from(space, *next)?;
        capability::insert_original(&mut Slots(&mut self.processes), at, capability)?;
        *next = at.index() as usize + 1;
        Ok(self.handle_at(at))
    }

    /// Puts an original capability in process `pid`'s CSpace and counts it
    /// on its object (an endpoint's references and receivers): how the
    /// kernel hands the processes it makes what they start with.
    pub fn give(&mut self, pid: u32, capability: Capability) -> Result<Handle, Error> {
        let space = self.processes.index_of_pid(pid).ok_or(Error::NotFound)?;
        let handle = self.insert_original(space, capability)?;
        self.referenced(&capability);
        Ok(handle)
    }

    /// A new endpoint for the processes the kernel makes to talk over: 64
    /// zeroed bytes at the start of a frame from the kernel's pool, which
    /// is never given back. Returns its address.
    pub fn kernel_endpoint(&mut self) -> Result<u32, Error> {
        let mut frames = Frames { allocator: &mut self.frames, platform: &self.platform };
        frames.allocate_zeroed().ok_or(Error::OutOfMemory)
    }

    /// Gives the root task its original capabilities.
    pub fn give_root_capabilities(&mut self, root: usize, grants: &RootGrants) -> Result<(), Error> {
        // Each goes into the next free slot, found from where the last went.
        let next = &mut 1;
        let (address, bytes) = grants.untyped;
        let memory_rights = ObjectType::Untyped.meaningful_rights();
        self.insert_original_from(root, Capability::new(ObjectType::Untyped, memory_rights, address, bytes), next)?;
        for &(address, bytes) in grants.device_regions {
            let rights = ObjectType::DeviceRegion.meaningful_rights();
            self.insert_original_from(root, Capability::new(ObjectType::DeviceRegion, rights, address, bytes), next)?;
        }
        let rights = Rights::GRANT | Rights::INSPECT;
        self.insert_original_from(root, Capability::new(ObjectType::PowerControl, rights, 0, 0), next)?;
        let (address, bytes) = grants.boot_image;
        if self.root_code_in_image && (bytes == 0 || address != self.boot_image_address) {
            // Its code is there, and it would have none.
            return Err(Error::BadImage);
        }
        if bytes > 0 {
            let mut rights = Rights::READ | Rights::GRANT | Rights::DERIVE | Rights::INSPECT;
            if self.root_code_in_image {
                rights |= Rights::EXECUTE;
            }
            let image =
                self.insert_original_from(root, Capability::new(ObjectType::Frame, rights, address, bytes), next)?;
            if self.root_code_in_image {
                // Its code (`spawn_root`), through its capability: mapped
                // where it lies, as `init` would map it to read it.
                let at = self.lookup(root, image)?;
                self.map(root, at, address, Rights::READ | Rights::EXECUTE)?;
            }
        }
        for &interrupt in grants.interrupts {
            let rights = ObjectType::Interrupt.meaningful_rights();
            self.insert_original_from(root, Capability::new(ObjectType::Interrupt, rights, interrupt, 0), next)?;
        }
        Ok(())
    }

    /// The process a `Process` capability names, if it is still alive.
    fn process_of(&self, capability: &Capability) -> Result<usize, Error> {
        if capability.kind != ObjectType::Process {
            return Err(Error::WrongType);
        }
        // A process capability's object is the process's memory.
        let index = self.processes.index_of_object(capability.object).ok_or(Error::PeerGone)?;
        if matches!(self.processes[index].state, State::Zombie { .. } | State::Ending) {
            return Err(Error::PeerGone);
        }
        Ok(index)
    }

    /// The pid a `Process` capability names, whether or not the process has
    /// ended (its entry is kept until its parent collects it).
    pub(super) fn pid_named(&self, capability: &Capability) -> Option<u32> {
        let index = self.processes.index_of_object(capability.object)?;
        Some(self.processes.pid(index))
    }

    /// Undoes what was done through a capability that was just destroyed.
    fn destroyed(&mut self, capability: Capability) {
        match capability.kind {
            ObjectType::Frame | ObjectType::DeviceRegion => self.undo_mapping(&capability),
            ObjectType::Endpoint | ObjectType::Notification => self.object_released(&capability),
            ObjectType::Interrupt => self.unbind_if_unreferenced(capability.object),
            ObjectType::Process => {
                // A process made by Retype lives while a capability names it.
                if let Some(index) = self.processes.index_of_object(capability.object) {
                    let pid = self.processes.pid(index);
                    let process = &mut self.processes[index];
                    process.references = process.references.saturating_sub(1);
                    if process.references == 0 {
                        // Its entry lives in its object, which its untyped
                        // memory may hand out again now: an unnamed process
                        // ends (`end_process` takes it out of the table),
                        // and nothing is left of it to wait for (unless its
                        // parent is waiting right now).
                        match process.state {
                            // `end_process` is running for it and finishes.
                            State::Ending => {}
                            State::Zombie { .. } => self.release_process(index),
                            state => {
                                if state != State::Inactive {
                                    klog!(self, |line| line
                                        .str("process ")
                                        .process(process.name(), pid)
                                        .str(" ended: its last capability is gone"));
                                }
                                self.end_process(index, tessera_abi::ExitKind::Killed, 0);
                            }
                        }
                    }
                }
            }
            _ => {}
        }
    }

    /// Unbinds interrupt `number` once no capability names it any more
    /// (a scan of every CSpace: only when an interrupt capability goes).
    fn unbind_if_unreferenced(&mut self, number: u32) {
        let named = self.processes.live().any(|(index, _)| {
            self.processes
                .cspace(index)
                .iter()
                .any(|slot| slot.capability().is_some_and(|c| c.kind == ObjectType::Interrupt && c.object == number))
        });
        if !named {
            self.unbind_interrupt(number);
        }
    }

    /// A capability was made: count it on its object.
    pub(super) fn referenced(&mut self, capability: &Capability) {
        if capability.kind == ObjectType::Process {
            if let Some(index) = self.processes.index_of_object(capability.object) {
                self.processes[index].references += 1;
            }
        } else {
            self.object_referenced(capability);
        }
    }

    /// Removes the mapping a frame or device capability made, if any.
    fn undo_mapping(&mut self, capability: &Capability) {
        if capability.data[0] & MAPPED == 0 {
            return;
        }
        let address = capability.data[0] & !MAPPED;
        let Some(index) = self.processes.index_of_pid(capability.data[1]) else { return };
        let process = &mut self.processes[index];
        if process.mapped {
            let space = self.platform.address_space(process.memory);
            self.platform.unmap_block(space, address, capability.size, process.asid);
        }
        process.regions.remove(address);
    }

    /// Destroys every capability in process `index`'s CSpace (and all derived
    /// from them), undoing their mappings. Bounded by the number of slots in
    /// the system; runs when a process ends.
    pub(super) fn clear_cspace(&mut self, index: usize) {
        for slot in 1..CSPACE_SLOTS {
            let at = Self::slot_ref(index, slot);
            if self.processes.cspace(index)[slot].capability().is_none() {
                continue;
            }
            while let Some((_, gone)) = capability::revoke_step(&mut Slots(&mut self.processes), at) {
                self.destroyed(gone);
            }
            if let Ok(gone) = capability::delete(&mut Slots(&mut self.processes), at) {
                self.destroyed(gone);
            }
        }
    }

    /// Revokes `at` step by step. Returns false if it stopped because an
    /// interrupt is pending: the caller then restarts the syscall.
    fn revoke_preemptible(&mut self, at: SlotRef) -> bool {
        while let Some((_, gone)) = capability::revoke_step(&mut Slots(&mut self.processes), at) {
            self.destroyed(gone);
            if !self.processes.is_live(at.space() as usize) {
                // That was the last capability to the caller itself, which
                // has ended: its CSpace, `at` included, is gone.
                return true;
            }
            let pending = self.platform.interrupt_pending() || self.preempt_test;
            if pending && capability::has_descendants(&Slots(&mut self.processes), at) {
                if !core::mem::replace(&mut self.preempt_reported, true) {
                    klog!(self, "revoke stopped at a pending interrupt; the call restarts where it stopped");
                }
                return false;
            }
        }
        true
    }

    /// Makes the current syscall run again when process `index` next runs
    /// (after the pending interrupt is taken).
    fn restart_syscall(&mut self, index: usize) {
        // The platform knows where its status word keeps the Thumb bit
        // (CPSR bit 5 on Armv7-A, xPSR bit 24 on Armv7-M).
        let thumb = self.platform.is_thumb(self.processes[index].context.cpsr);
        self.processes[index].context.pc -= if thumb { 2 } else { 4 };
    }

    /// Performs a capability syscall for process `index`.
    pub(super) fn invoke_capability(&mut self, index: usize, call: Call) -> Result<Reply, Error> {
        let results: [u32; 3] = match call {
            Call::CapInfo { handle } => {
                let capability = self.capability_at(self.lookup(index, handle)?);
                [capability.kind as u32, capability.rights.bits(), capability.badge]
            }
            Call::CapObject { handle } => {
                let (object, size) = capability::inspect(&self.capability_at(self.lookup(index, handle)?))?;
                [object, size, 0]
            }
            Call::CapDerive { handle, rights, badge } => {
                let source = self.lookup(index, handle)?;
                let destination = self.free_slot(index)?;
                let badge = if badge == 0 { None } else { Some(badge) };
                capability::derive(&mut Slots(&mut self.processes), source, destination, rights, badge)?;
                let made = self.capability_at(destination);
                self.referenced(&made);
                [self.handle_at(destination).0, 0, 0]
            }
            Call::FrameSlice { handle, offset, bytes, rights } => {
                let source = self.lookup(index, handle)?;
                let destination = self.free_slot(index)?;
                capability::slice(&mut Slots(&mut self.processes), source, destination, offset, bytes, rights)?;
                [self.handle_at(destination).0, 0, 0]
            }
            Call::CapRevoke { handle } => {
                let at = self.lookup(index, handle)?;
                if !self.revoke_preemptible(at) {
                    self.restart_syscall(index);
                    return Ok(Reply::Restart);
                }
                [0; 3]
            }
            Call::CapDelete { handle } => {
                let at = self.lookup(index, handle)?;
                // A capability with nothing derived from it (the common
                // case: a copy received in a message) has nothing to revoke.
                let derived = capability::has_descendants(&Slots(&mut self.processes), at);
                if derived && !self.revoke_preemptible(at) {
                    self.restart_syscall(index);
                    return Ok(Reply::Restart);
                }
                if !self.processes.is_live(index) {
                    return Ok(Reply::CallerEnded); // (see below)
                }
                // Revoked or never a parent: a leaf.
                let gone = capability::delete_leaf(&mut Slots(&mut self.processes), at)?;
                self.destroyed(gone);
                [0; 3]
            }
            Call::CapGrant { handle, process, rights } => {
                let (source, destination) = self.passing(index, handle, process)?;
                capability::grant(&mut Slots(&mut self.processes), source, destination, rights)?;
                let made = self.capability_at(destination);
                self.referenced(&made);
                [self.handle_at(destination).0, 0, 0]
            }
            Call::CapMove { handle, process, rights } => {
                let (source, destination) = self.passing(index, handle, process)?;
                let before = self.capability_at(source);
                capability::move_to(&mut Slots(&mut self.processes), source, destination, rights)?;
                // A narrowing move can take an endpoint's receive right
                // away: the endpoint counts one receiver less.
                let after = self.capability_at(destination);
                if before.rights.contains(Rights::RECEIVE) && !after.rights.contains(Rights::RECEIVE) {
                    self.receive_right_dropped(&after);
                }
                [self.handle_at(destination).0, 0, 0]
            }
            Call::Retype { untyped, kind, bytes } => {
                let source = self.lookup(index, untyped)?;
                let destination = self.free_slot(index)?;
                // A process object must lie in the RAM the process table
                // covers (its entry is found from its address): untyped
                // memory elsewhere (the MT3620's SYSRAM) holds other
                // objects only.
                let (start, end) = self.processes.span();
                let within = |object: u32| {
                    kind != ObjectType::Process || (object >= start && u64::from(object) + u64::from(bytes) <= end)
                };
                let object = capability::retype_where(
                    &mut Slots(&mut self.processes),
                    source,
                    destination,
                    kind,
                    bytes,
                    within,
                )?;
                if kind != ObjectType::Untyped {
                    // SAFETY: `retype` carved `bytes` (a valid size of its
                    // type: 64 bytes or more, a multiple of 64) at `object`,
                    // aligned to its size, out of untyped memory in RAM the
                    // caller holds; nothing else uses it now.
                    unsafe { self.platform.zero(object, bytes) };
                }
                if kind == ObjectType::Process {
                    self.create_process(index, object);
                }
                let made = self.capability_at(destination);
                self.referenced(&made);
                [self.handle_at(destination).0, 0, 0]
            }
            Call::Map { handle, address, rights, process } => {
                let at = self.lookup(index, handle)?;
                let target = if process == Handle::NULL {
                    index
                } else {
                    let capability = self.capability_at(self.lookup(index, process)?);
                    let target = self.process_of(&capability)?;
                    if !capability.rights.contains(Rights::WRITE) {
                        return Err(Error::MissingRight);
                    }
                    target
                };
                self.map(target, at, address, rights)?;
                [0; 3]
            }
            Call::ProcessSetup { process, pc, sp, argument } => {
                let target = self.writable_process(index, process)?;
                if self.processes[target].state != State::Inactive {
                    return Err(Error::InvalidArgument);
                }
                let entry = pc & !1;
                if !self.processes[target].regions.access_at(entry).is_some_and(|access| access.execute) {
                    return Err(Error::BadAddress);
                }
                let context = &mut self.processes[target].context;
                context.pc = entry;
                context.cpsr = self.platform.initial_status(pc & 1 != 0);
                context.sp = sp;
                context.r[0] = argument;
                [0; 3]
            }
            Call::ProcessName { process, name, name_len } => {
                let target = self.writable_process(index, process)?;
                let range = self.processes[index].regions.check(name, name_len, Access::READ)?;
                let mut buffer = [0u8; tessera_abi::NAME_MAX];
                let len = range.len() as usize;
                let space = self.platform.address_space(self.processes[index].memory);
                // SAFETY: `check` proved the bytes are mapped readable in the
                // caller, whose address space is loaded (it is the caller).
                unsafe {
                    self.platform
                        .read_user(space, range.address(), range.len(), |bytes| buffer[..len].copy_from_slice(bytes))
                };
                // The name labels every line the process prints: it may
                // not be the kernel's, nor hold spaces, colons or control
                // bytes (crate::console).
                if !crate::console::valid_label(&buffer[..len]) {
                    return Err(Error::InvalidArgument);
                }
                let process = &mut self.processes[target];
                process.name = buffer;
                process.name_len = len as u8;
                [0; 3]
            }
            Call::ProcessStart { process, priority } => {
                let target = self.writable_process(index, process)?;
                if self.processes[target].state != State::Inactive || self.processes[target].context.pc == 0 {
                    return Err(Error::InvalidArgument);
                }
                if priority > self.processes[index].base_priority {
                    return Err(Error::PermissionDenied);
                }
                self.processes[target].priority = priority;
                self.processes[target].base_priority = priority;
                self.make_ready(target);
                [0; 3]
            }
            Call::Unmap { handle } => {
                let at = self.lookup(index, handle)?;
                let capability = self.capability_at(at);
                if !matches!(capability.kind, ObjectType::Frame | ObjectType::DeviceRegion) {
                    return Err(Error::WrongType);
                }
                if capability.data[0] & MAPPED == 0 {
                    return Err(Error::InvalidArgument);
                }
                self.undo_mapping(&capability);
                capability::set_data(&mut Slots(&mut self.processes), at, [0; 2])?;
                [0; 3]
            }
            _ => unreachable!("not a capability call"),
        };
        if !self.processes.is_live(index) {
            // The call destroyed the last capability to the caller itself,
            // which ended: there is nobody to answer.
            return Ok(Reply::CallerEnded);
        }
        Ok(Reply::Values(results))
    }

    /// For passing capability `handle` of process `index` to the process
    /// named by `Process` capability `process`: the source slot and a free
    /// slot in the receiver's CSpace. Needs `WRITE` on `process` and `GRANT`
    /// on `handle`.
    fn passing(&self, index: usize, handle: Handle, process: Handle) -> Result<(SlotRef, SlotRef), Error> {
        let source = self.lookup(index, handle)?;
        let target = self.capability_at(self.lookup(index, process)?);
        let receiver = self.process_of(&target)?;
        if !target.rights.contains(Rights::WRITE) || !self.capability_at(source).rights.contains(Rights::GRANT) {
            return Err(Error::MissingRight);
        }
        Ok((source, self.free_slot(receiver)?))
    }

    /// The process a `Process` capability with `WRITE` names.
    fn writable_process(&self, index: usize, handle: Handle) -> Result<usize, Error> {
        let capability = self.capability_at(self.lookup(index, handle)?);
        let target = self.process_of(&capability)?;
        if !capability.rights.contains(Rights::WRITE) {
            return Err(Error::MissingRight);
        }
        Ok(target)
    }

    /// Makes the process-table entry for a process made by `creator`
    /// through `Retype`, whose object (zeroed, `PROCESS_OBJECT_BYTES`) is at `memory`.
    fn create_process(&mut self, creator: usize, memory: u32) {
        // Retype aligns the object and carved it from memory no capability
        // named, so no live process has it (a process leaves the table when
        // the last capability naming it goes), and it carves process
        // objects only in the RAM the table covers
        // (`ProcessTable::span`): the insertion cannot fail.
        // (`unreachable!` with a plain message: `expect` would pull
        // `Error`'s `Debug` into the kernel, which has no `core::fmt`.)
        let table_word = self.platform.table_word(memory);
        if self.processes.insert(memory, Process::new(memory, table_word, "loaded", Some(creator))).is_err() {
            unreachable!("a new process object is a free, aligned block of RAM");
        }
    }

    /// Maps frame or device capability `at` into process `index` at `address`.
    fn map(&mut self, index: usize, at: SlotRef, address: u32, rights: Rights) -> Result<(), Error> {
        let capability = self.capability_at(at);
        let memory = match capability.kind {
            ObjectType::Frame => MemoryType::Normal,
            ObjectType::DeviceRegion => MemoryType::Device,
            _ => return Err(Error::WrongType),
        };
        if !capability.rights.contains(rights) {
            return Err(Error::MissingRight);
        }
        if capability.data[0] & MAPPED != 0 {
            return Err(Error::SlotOccupied);
        }
        if rights.contains(Rights::WRITE | Rights::EXECUTE) {
            // W^X for user mappings, as for loaded programs.
            return Err(Error::InvalidArgument);
        }
        let end = address.checked_add(capability.size).ok_or(Error::AddressWraps)?;
        let layout = self.platform.user_layout();
        // Not over the null-pointer guard, the stack guard page or the
        // kernel; where user addresses are physical, only at the memory's
        // own address.
        let allowed = match layout {
            UserLayout::Translated => {
                let guard = (STACK_TOP - STACK_SIZE - PAGE_SIZE) as u32;
                let over_guard = address < guard + PAGE_SIZE as u32 && guard < end;
                !over_guard && end as usize <= USER_END
            }
            UserLayout::Identity { end: limit } => address == capability.object && end <= limit,
        };
        if (address as usize) < USER_IMAGE_BASE || !allowed {
            return Err(Error::BadAddress);
        }
        let access = Access {
            read: true,
            write: rights.contains(Rights::WRITE),
            execute: rights.contains(Rights::EXECUTE) && memory == MemoryType::Normal,
        };
        let process = &mut self.processes[index];
        if !process.mapped {
            return Err(Error::PeerGone);
        }
        process
            .regions
            .insert_below(Region { start: address, end, access }, layout.end())
            .map_err(|_| Error::BadAddress)?;
        let object = self.processes[index].memory;
        let space = self.platform.address_space(object);
        let pool = self.processes[index].kernel_made;
        let asid = self.processes[index].asid;
        let platform = &self.platform;
        let mut tables = TableSource {
            frames: Frames { allocator: &mut self.frames, platform },
            object,
            pool,
            used: &mut self.processes[index].tables_used,
        };
        let (frame, size) = (capability.object, capability.size);
        if platform.map_block(space, address, frame, size, access, memory, asid, &mut tables).is_none() {
            self.processes[index].regions.remove(address);
            return Err(Error::OutOfMemory);
        }
        if access.execute {
            for offset in (0..capability.size).step_by(PAGE_SIZE) {
                platform.clean_for_execution(capability.object + offset);
            }
            platform.invalidate_instruction_cache();
        }
        let pid = self.processes.pid(index);
        capability::set_data(&mut Slots(&mut self.processes), at, [address | MAPPED, pid])
    }
}
