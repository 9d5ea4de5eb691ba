//! Capability syscalls. The capability core (`kernel_core::capability`)
//! works on the CSpaces in the process table; this module looks handles up,
//! checks what each call needs, and undoes the effects of destroyed
//! capabilities (unmapping what was mapped through them).

use super::{asid_of, pid_of, Frames, Kernel, Process, State, MAX_PROCESSES};
use crate::arch::{gic, mmu};
use kernel_core::capability::{self, Capability, SlotRef, SlotStore};
use kernel_core::pagetable::MemoryType;
use kernel_core::syscall::Call;
use kernel_core::user_memory::Region;
use kernel_core::Access;
use tessera_abi::capability::CSPACE_SLOTS;
use tessera_abi::layout::{PAGE_SIZE, STACK_SIZE, STACK_TOP, USER_END, USER_IMAGE_BASE};
use tessera_abi::{Error, Handle, ObjectType, Rights};

/// The process table as capability storage: CSpace `n` is process `n`'s.
pub(super) struct Slots<'a>(pub(super) &'a mut [Process; MAX_PROCESSES]);

impl SlotStore for Slots<'_> {
    #[inline]
    fn slot(&self, at: SlotRef) -> &capability::Slot {
        &self.0[at.space() as usize].cspace[at.index() as usize]
    }

    #[inline]
    fn slot_mut(&mut self, at: SlotRef) -> &mut capability::Slot {
        &mut self.0[at.space() as usize].cspace[at.index() as usize]
    }
}

/// Set in `data[0]` of a frame or device capability while it is mapped;
/// the rest of `data[0]` is the address, `data[1]` the mapping process's pid.
const MAPPED: u32 = 1;

/// Rights of the `Process` capability `Spawn` returns.
pub(super) const PROCESS_RIGHTS: Rights = Rights::READ.union(Rights::WRITE).union(Rights::GRANT).union(Rights::DERIVE);

/// What `init` is given at boot besides its program.
pub struct RootGrants<'a> {
    /// Free RAM for `Untyped` capabilities: (address, bytes).
    pub untyped: (u32, u32),
    /// Device register pages: (address, bytes).
    pub device_regions: &'a [(u32, u32)],
    /// Device interrupt IDs.
    pub interrupts: &'a [u32],
}

impl Kernel {
    fn slot_ref(space: usize, index: usize) -> SlotRef {
        SlotRef::new(space as u16, index as u16)
    }

    /// The slot `handle` names in process `space`'s CSpace.
    #[inline]
    pub(super) fn lookup(&self, space: usize, handle: Handle) -> Result<SlotRef, Error> {
        let index = handle.index();
        if index == 0 || index >= CSPACE_SLOTS {
            return Err(Error::InvalidHandle);
        }
        let slot = &self.processes[space].cspace[index];
        if slot.generation() != handle.generation() {
            return Err(Error::StaleHandle);
        }
        if slot.capability().is_none() {
            return Err(Error::InvalidHandle);
        }
        Ok(Self::slot_ref(space, index))
    }

    #[inline]
    pub(super) fn capability_at(&self, at: SlotRef) -> Capability {
        *self.processes[at.space() as usize].cspace[at.index() as usize]
            .capability()
            .expect("lookup returned an empty slot")
    }

    /// The first empty slot of process `space`'s CSpace.
    pub(super) fn free_slot(&self, space: usize) -> Result<SlotRef, Error> {
        (1..CSPACE_SLOTS)
            .find(|&index| self.processes[space].cspace[index].capability().is_none())
            .map(|index| Self::slot_ref(space, index))
            .ok_or(Error::SlotOccupied)
    }

    /// The handle naming the capability now in `at`.
    pub(super) fn handle_at(&self, at: SlotRef) -> Handle {
        let slot = &self.processes[at.space() as usize].cspace[at.index() as usize];
        Handle::new(at.index() as usize, slot.generation())
    }

    /// Puts an original capability in process `space`'s CSpace.
    pub(super) fn insert_original(&mut self, space: usize, capability: Capability) -> Result<Handle, Error> {
        let at = self.free_slot(space)?;
        capability::insert_original(&mut Slots(&mut self.processes), at, capability)?;
        Ok(self.handle_at(at))
    }

    /// Gives the root task its original capabilities.
    pub fn give_root_capabilities(&mut self, root: usize, grants: &RootGrants) -> Result<(), Error> {
        let (address, bytes) = grants.untyped;
        let memory_rights = ObjectType::Untyped.meaningful_rights();
        self.insert_original(root, Capability::new(ObjectType::Untyped, memory_rights, address, bytes))?;
        for &(address, bytes) in grants.device_regions {
            let rights = ObjectType::DeviceRegion.meaningful_rights();
            self.insert_original(root, Capability::new(ObjectType::DeviceRegion, rights, address, bytes))?;
        }
        for &interrupt in grants.interrupts {
            let rights = ObjectType::Interrupt.meaningful_rights();
            self.insert_original(root, Capability::new(ObjectType::Interrupt, rights, interrupt, 0))?;
        }
        Ok(())
    }

    /// The process a `Process` capability names, if it is still alive.
    fn process_of(&self, capability: &Capability) -> Result<usize, Error> {
        if capability.kind != ObjectType::Process {
            return Err(Error::WrongType);
        }
        let index = (capability.object & 0xFFFF) as usize;
        let alive = index < MAX_PROCESSES
            && pid_of(index, self.processes[index].generation) == capability.object
            && !matches!(self.processes[index].state, State::Free | State::Zombie { .. });
        if alive {
            Ok(index)
        } else {
            Err(Error::PeerGone)
        }
    }

    /// Undoes what was done through a capability that was just destroyed.
    fn destroyed(&mut self, capability: Capability) {
        match capability.kind {
            ObjectType::Frame | ObjectType::DeviceRegion => self.undo_mapping(&capability),
            ObjectType::Endpoint | ObjectType::Notification => self.object_released(&capability),
            ObjectType::Interrupt => self.unbind_if_unreferenced(capability.object),
            _ => {}
        }
    }

    /// Unbinds interrupt `number` once no capability names it any more
    /// (a scan of every CSpace: only when an interrupt capability goes).
    fn unbind_if_unreferenced(&mut self, number: u32) {
        let named = self.processes.iter().any(|process| {
            process
                .cspace
                .iter()
                .any(|slot| slot.capability().is_some_and(|c| c.kind == ObjectType::Interrupt && c.object == number))
        });
        if !named {
            self.unbind_interrupt(number);
        }
    }

    /// Removes the mapping a frame or device capability made, if any.
    fn undo_mapping(&mut self, capability: &Capability) {
        if capability.data[0] & MAPPED == 0 {
            return;
        }
        let address = capability.data[0] & !MAPPED;
        let pid = capability.data[1];
        let index = (pid & 0xFFFF) as usize;
        if index >= MAX_PROCESSES || pid_of(index, self.processes[index].generation) != pid {
            return;
        }
        let process = &mut self.processes[index];
        if let Some(table) = process.table {
            for page in (address..address + capability.size).step_by(PAGE_SIZE) {
                table.unmap_page(page, asid_of(index));
            }
        }
        process.regions.remove(address);
    }

    /// Destroys every capability in process `index`'s CSpace (and all derived
    /// from them), undoing their mappings. Bounded by the number of slots in
    /// the system; runs when a process ends.
    pub(super) fn clear_cspace(&mut self, index: usize) {
        for slot in 1..CSPACE_SLOTS {
            let at = Self::slot_ref(index, slot);
            if self.processes[index].cspace[slot].capability().is_none() {
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
            if gic::pending() && capability::has_descendants(&Slots(&mut self.processes), at) {
                return false;
            }
        }
        true
    }

    /// Makes the current syscall run again when process `index` next runs
    /// (after the pending interrupt is taken).
    fn restart_syscall(&mut self, index: usize) {
        let context = &mut self.processes[index].context;
        let thumb = context.cpsr & (1 << 5) != 0;
        context.pc -= if thumb { 2 } else { 4 };
    }

    /// Performs a capability syscall for process `index`.
    pub(super) fn invoke_capability(&mut self, index: usize, call: Call) -> Result<(), Error> {
        let results: [u32; 3] = match call {
            Call::CapInfo { handle } => {
                let capability = self.capability_at(self.lookup(index, handle)?);
                [capability.kind as u32, capability.rights.bits(), capability.badge]
            }
            Call::CapObject { handle } => {
                let capability = self.capability_at(self.lookup(index, handle)?);
                [capability.object, capability.size, 0]
            }
            Call::CapDerive { handle, rights, badge } => {
                let source = self.lookup(index, handle)?;
                let destination = self.free_slot(index)?;
                let badge = if badge == 0 { None } else { Some(badge) };
                capability::derive(&mut Slots(&mut self.processes), source, destination, rights, badge)?;
                let made = self.capability_at(destination);
                self.object_referenced(&made);
                [self.handle_at(destination).0, 0, 0]
            }
            Call::CapRevoke { handle } => {
                let at = self.lookup(index, handle)?;
                if !self.revoke_preemptible(at) {
                    self.restart_syscall(index);
                    return Ok(());
                }
                [0; 3]
            }
            Call::CapDelete { handle } => {
                let at = self.lookup(index, handle)?;
                if !self.revoke_preemptible(at) {
                    self.restart_syscall(index);
                    return Ok(());
                }
                let gone = capability::delete(&mut Slots(&mut self.processes), at)?;
                self.destroyed(gone);
                [0; 3]
            }
            Call::CapGrant { handle, process, rights } => {
                let source = self.lookup(index, handle)?;
                let target = self.capability_at(self.lookup(index, process)?);
                let receiver = self.process_of(&target)?;
                if !target.rights.contains(Rights::WRITE) {
                    return Err(Error::MissingRight);
                }
                let destination = self.free_slot(receiver)?;
                capability::grant(&mut Slots(&mut self.processes), source, destination, rights)?;
                let made = self.capability_at(destination);
                self.object_referenced(&made);
                [self.handle_at(destination).0, 0, 0]
            }
            Call::CapMove { handle, process } => {
                let source = self.lookup(index, handle)?;
                let target = self.capability_at(self.lookup(index, process)?);
                let receiver = self.process_of(&target)?;
                if !target.rights.contains(Rights::WRITE) || !self.capability_at(source).rights.contains(Rights::GRANT)
                {
                    return Err(Error::MissingRight);
                }
                let destination = self.free_slot(receiver)?;
                capability::move_to(&mut Slots(&mut self.processes), source, destination)?;
                [self.handle_at(destination).0, 0, 0]
            }
            Call::Retype { untyped, kind, bytes } => {
                if kind == ObjectType::Process {
                    // Processes are still made by Spawn from the kernel's
                    // pool (docs/CAVEATS.md).
                    return Err(Error::WrongType);
                }
                let source = self.lookup(index, untyped)?;
                let destination = self.free_slot(index)?;
                let object = capability::retype(&mut Slots(&mut self.processes), source, destination, kind, bytes)?;
                if kind != ObjectType::Untyped {
                    // SAFETY: `retype` carved `bytes` at `object` out of
                    // untyped memory the caller holds, which lies in RAM
                    // (identity mapped read-write for the kernel) and is used
                    // by nothing else now.
                    unsafe { core::ptr::write_bytes(object as *mut u8, 0, bytes as usize) };
                }
                let made = self.capability_at(destination);
                self.object_referenced(&made);
                [self.handle_at(destination).0, 0, 0]
            }
            Call::Map { handle, address, rights } => {
                let at = self.lookup(index, handle)?;
                self.map(index, at, address, rights)?;
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
        let context = &mut self.processes[index].context;
        context.r[0] = 0;
        context.r[1..4].copy_from_slice(&results);
        Ok(())
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
        // Not over the null-pointer guard, the stack guard page or the kernel.
        let guard = (STACK_TOP - STACK_SIZE - PAGE_SIZE) as u32;
        let over_guard = address < guard + PAGE_SIZE as u32 && guard < end;
        if (address as usize) < USER_IMAGE_BASE || end as usize > USER_END || over_guard {
            return Err(Error::BadAddress);
        }
        let access = Access {
            read: true,
            write: rights.contains(Rights::WRITE),
            execute: rights.contains(Rights::EXECUTE) && memory == MemoryType::Normal,
        };
        let process = &mut self.processes[index];
        let table = process.table.ok_or(Error::PeerGone)?;
        process.regions.insert(Region { start: address, end, access }).map_err(|_| Error::BadAddress)?;
        let mut frames = Frames(&mut self.frames);
        for offset in (0..capability.size).step_by(PAGE_SIZE) {
            if table.map_page_as(address + offset, capability.object + offset, access, memory, &mut frames).is_none() {
                for done in (0..offset).step_by(PAGE_SIZE) {
                    table.unmap_page(address + done, asid_of(index));
                }
                self.processes[index].regions.remove(address);
                return Err(Error::OutOfMemory);
            }
        }
        if access.execute {
            for offset in (0..capability.size).step_by(PAGE_SIZE) {
                mmu::clean_frame_for_execution(capability.object + offset);
            }
            mmu::invalidate_instruction_cache();
        }
        let pid = pid_of(index, self.processes[index].generation);
        capability::set_data(&mut Slots(&mut self.processes), at, [address | MAPPED, pid])
    }
}
