//! Capabilities as user mode sees them: handles, rights and object types
//! (see docs/capabilities.md).

use bitflags::bitflags;

bitflags! {
    /// What the holder of a capability may do with its object. Deriving a
    /// capability can only keep or remove rights, never add one.
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
    pub struct Rights: u32 {
        /// Map memory readable; read a device region.
        const READ = 1 << 0;
        /// Map memory writable; place capabilities in a CSpace.
        const WRITE = 1 << 1;
        /// Map memory executable (never device memory).
        const EXECUTE = 1 << 2;
        /// Pass the capability on: copy or move it to another CSpace, or
        /// send it in a message.
        const GRANT = 1 << 3;
        /// Make children of it: derive, mint, retype.
        const DERIVE = 1 << 4;
        /// Send or call on an endpoint.
        const SEND = 1 << 5;
        /// Receive on an endpoint.
        const RECEIVE = 1 << 6;
        /// Signal a notification.
        const SIGNAL = 1 << 7;
        /// Wait on or poll a notification.
        const WAIT = 1 << 8;
        /// Learn where the object is with `CapObject`: its physical
        /// address (or interrupt number) and size. Only the root task's
        /// original capabilities carry it, and what it passes on with it
        /// (drivers that program DMA need physical addresses); apps never
        /// get it, so kernel object and memory addresses stay hidden.
        const INSPECT = 1 << 9;
    }
}

/// The kinds of kernel object a capability can name.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u32)]
pub enum ObjectType {
    /// Free physical memory that `Retype` turns into objects.
    Untyped = 1,
    /// Memory that can be mapped: one 4 KiB page when made by `Retype`;
    /// the kernel's originals (the boot image) may span several pages.
    Frame = 2,
    /// MMIO pages of one device; mapped as device memory, never executable.
    DeviceRegion = 3,
    /// The right to handle one interrupt.
    Interrupt = 4,
    /// A rendezvous point for synchronous IPC.
    Endpoint = 5,
    /// A word of signal bits.
    Notification = 6,
    /// An address space, its thread and its CSpace.
    Process = 7,
    /// A process's capability space.
    CSpace = 8,
    /// The one-shot right to answer one `Call`.
    Reply = 9,
    /// The right to power the machine off (`Shutdown`).
    PowerControl = 10,
}

impl ObjectType {
    /// Every type, in number order.
    pub const ALL: [ObjectType; 10] = [
        ObjectType::Untyped,
        ObjectType::Frame,
        ObjectType::DeviceRegion,
        ObjectType::Interrupt,
        ObjectType::Endpoint,
        ObjectType::Notification,
        ObjectType::Process,
        ObjectType::CSpace,
        ObjectType::Reply,
        ObjectType::PowerControl,
    ];

    /// The type numbered `number`, if there is one.
    pub fn from_number(number: u32) -> Option<ObjectType> {
        Self::ALL.into_iter().find(|kind| *kind as u32 == number)
    }

    /// True for the types `Retype` can make.
    pub const fn is_retypable(self) -> bool {
        matches!(
            self,
            ObjectType::Untyped
                | ObjectType::Frame
                | ObjectType::Endpoint
                | ObjectType::Notification
                | ObjectType::Process
        )
    }

    /// True if `Retype` may make an object of this type with `bytes`:
    /// frames are a power of two from one page to [`MAX_FRAME_BYTES`] (a
    /// smaller "frame" would map a whole page of someone else's memory; a
    /// larger one is one mapping, as an app's heap is), endpoints and notifications exactly 64
    /// bytes, untyped memory at least a page, processes
    /// [`PROCESS_OBJECT_BYTES`](crate::PROCESS_OBJECT_BYTES).
    pub const fn valid_size(self, bytes: u32) -> bool {
        match self {
            ObjectType::Frame => bytes >= 4096 && bytes <= MAX_FRAME_BYTES && bytes.is_power_of_two(),
            ObjectType::Endpoint | ObjectType::Notification => bytes == 64,
            ObjectType::Untyped => bytes >= 4096 && bytes.is_power_of_two(),
            ObjectType::Process => bytes == crate::PROCESS_OBJECT_BYTES,
            _ => false,
        }
    }

    /// True for the types a badge can be attached to.
    pub const fn takes_badge(self) -> bool {
        matches!(self, ObjectType::Endpoint | ObjectType::Notification)
    }

    /// The rights that mean something for this type; a capability never
    /// holds others. `GRANT`, `DERIVE` and `INSPECT` mean something for
    /// every type.
    pub const fn meaningful_rights(self) -> Rights {
        let passing = Rights::GRANT.union(Rights::DERIVE).union(Rights::INSPECT);
        let rights = match self {
            ObjectType::Untyped | ObjectType::Frame => Rights::READ.union(Rights::WRITE).union(Rights::EXECUTE),
            ObjectType::DeviceRegion => Rights::READ.union(Rights::WRITE),
            ObjectType::Interrupt | ObjectType::Reply | ObjectType::PowerControl => Rights::empty(),
            ObjectType::Endpoint => Rights::SEND.union(Rights::RECEIVE),
            ObjectType::Notification => Rights::SIGNAL.union(Rights::WAIT),
            ObjectType::Process | ObjectType::CSpace => Rights::READ.union(Rights::WRITE),
        };
        rights.union(passing)
    }
}

/// Slots in one CSpace (the handle format allows up to 256). Slot 0 is
/// never used, so handle 0 names nothing.
pub const CSPACE_SLOTS: usize = 128;

/// Largest frame `Retype` makes: 64 KiB (an app's heap). `Retype` zeroes a
/// frame in one go with interrupts masked, and a frame is mapped page by
/// page, so its size bounds how long one `Retype`, `Map` or `Unmap` runs:
/// 64 KiB keeps that below the longest path `cargo xtask bench` measures
/// (ending a process with a full CSpace).
pub const MAX_FRAME_BYTES: u32 = 64 << 10;
/// Bits of a handle that give the slot index.
pub const HANDLE_INDEX_BITS: u32 = 8;
/// Generations wrap at this value (24 bits).
pub const GENERATION_LIMIT: u32 = 1 << (32 - HANDLE_INDEX_BITS);

/// A process's name for one of its capabilities: slot index and the slot's
/// generation when the capability was put there.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Handle(pub u32);

impl Handle {
    /// No capability.
    pub const NULL: Handle = Handle(0);

    /// The handle for slot `index` at `generation` (taken modulo 2^24).
    pub const fn new(index: usize, generation: u32) -> Handle {
        Handle(((generation % GENERATION_LIMIT) << HANDLE_INDEX_BITS) | (index as u32 & 0xFF))
    }

    /// The slot index.
    pub const fn index(self) -> usize {
        (self.0 & 0xFF) as usize
    }

    /// The generation.
    pub const fn generation(self) -> u32 {
        self.0 >> HANDLE_INDEX_BITS
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn handles_round_trip() {
        let handle = Handle::new(17, 0x12_3456);
        assert_eq!((handle.index(), handle.generation()), (17, 0x12_3456));
        assert_eq!(Handle::new(3, GENERATION_LIMIT + 5).generation(), 5);
        assert_eq!(Handle::NULL.index(), 0);
    }

    #[test]
    fn types_number_and_rights() {
        for kind in ObjectType::ALL {
            assert_eq!(ObjectType::from_number(kind as u32), Some(kind));
            assert!(kind.meaningful_rights().contains(Rights::GRANT | Rights::DERIVE | Rights::INSPECT));
        }
        assert_eq!(ObjectType::from_number(0), None);
        assert!(!ObjectType::DeviceRegion.meaningful_rights().contains(Rights::EXECUTE));
        assert!(ObjectType::Endpoint.takes_badge() && !ObjectType::Frame.takes_badge());
        assert!(ObjectType::Frame.valid_size(4096) && !ObjectType::Frame.valid_size(16));
        assert!(ObjectType::Frame.valid_size(8192) && ObjectType::Frame.valid_size(MAX_FRAME_BYTES));
        assert!(!ObjectType::Frame.valid_size(3 * 4096) && !ObjectType::Frame.valid_size(2 * MAX_FRAME_BYTES));
        assert!(ObjectType::Endpoint.valid_size(64) && !ObjectType::Endpoint.valid_size(32));
        assert!(ObjectType::Untyped.valid_size(1 << 20) && !ObjectType::Untyped.valid_size(2048));
        assert!(!ObjectType::Reply.valid_size(64));
    }
}
