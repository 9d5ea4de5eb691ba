//! Capability slots and the derivation list (docs/capabilities.md).
//!
//! Every capability lives in a slot of some process's CSpace. All slots of
//! all CSpaces are linked into a forest of chains in pre-order, each slot
//! with its depth: a new child goes right after its parent, one deeper. So
//! the descendants of a capability are exactly the slots that follow it with
//! a greater depth, and, because depths never skip a level (invariant
//! below), the parent of a slot is the nearest slot before it one level up.
//!
//! Invariants (checked by `check_list` in the tests):
//! - `next`/`prev` links are symmetric; an empty slot is unlinked;
//! - depth of `next(s)` <= depth of `s` + 1 (no gaps);
//! - a derived capability's rights are a subset of its parent's.
//!
//! The code here is generic over where slots are stored ([`SlotStore`]):
//! the kernel keeps them in process objects, the tests in a vector.

use tessera_abi::capability::{CSPACE_SLOTS, HANDLE_INDEX_BITS};
use tessera_abi::{Error, ObjectType, Rights};

/// Deepest a capability may be in the derivation tree (originals are 0).
/// Bounds the work of one [`revoke_step`].
pub const MAX_DEPTH: u32 = 16;

/// Where a slot is: a CSpace number and an index in it.
/// One `u32` (the fast paths read a list link as one word).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[repr(transparent)]
pub struct SlotRef(u32);

impl SlotRef {
    /// No slot. Slot 0 of CSpace 0 stands for it: slot 0 of every CSpace is
    /// never used, and an all-zero empty slot keeps CSpaces in `.bss`.
    pub const NONE: SlotRef = SlotRef(0);

    /// Slot `index` of CSpace `space`.
    pub const fn new(space: u16, index: u16) -> SlotRef {
        SlotRef(((space as u32) << 16) | index as u32)
    }

    /// The CSpace number.
    pub const fn space(self) -> u16 {
        (self.0 >> 16) as u16
    }

    /// The index in the CSpace.
    pub const fn index(self) -> u16 {
        self.0 as u16
    }

    fn is_none(self) -> bool {
        self == SlotRef::NONE
    }
}

/// A capability: an object reference and what the holder may do with it.
///
/// Laid out by hand (`repr(C)`, and so is [`Slot`]): the badge, kind,
/// object and rights are its last four words and the slot's tag follows
/// them, so that the A7's fast paths read all five with one `ldmib`
/// (kernel/src/arch/armv7a/svc.s, `LOOKUP`; checked in
/// `kernel::fast_path`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(C)]
pub struct Capability {
    /// Bytes the object covers (untyped memory, device regions, frames).
    pub size: u32,
    /// Type-specific state: for untyped memory, `data[0]` is the watermark
    /// (bytes handed out); for a frame, its mapping.
    pub data: [u32; 2],
    /// Delivered with messages sent through this capability; 0 = none.
    pub badge: u32,
    /// What the object is.
    pub kind: ObjectType,
    /// The kernel's reference to the object (for memory: its physical
    /// address; for an interrupt: its number).
    pub object: u32,
    /// What the holder may do.
    pub rights: Rights,
}

impl Capability {
    /// A capability with no badge and no type-specific state.
    pub const fn new(kind: ObjectType, rights: Rights, object: u32, size: u32) -> Capability {
        Capability { kind, rights, badge: 0, object, size, data: [0; 2] }
    }
}

/// One CSpace slot: maybe a capability, its place in the derivation list,
/// and the generation that stale handles are caught with. `repr(C)`: the
/// tag right after the capability's last word (see [`Capability`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(C)]
pub struct Slot {
    capability: Option<Capability>,
    /// The bits of every handle that names this slot above its index's
    /// [`SLOT_INDEX_BITS`]: the generation, shifted by [`TAG_SHIFT`], over
    /// index bits that are 0 (no slot lies past `CSPACE_SLOTS`). A handle
    /// whose low `SLOT_INDEX_BITS` are this slot's index names it if and
    /// only if `handle >> SLOT_INDEX_BITS` is the tag: one compare checks
    /// both the index's range and the generation (the A7's fast paths).
    tag: u32,
    depth: u32,
    previous: SlotRef,
    next: SlotRef,
}

/// Where a slot's capability, tag and links lie, for the architectures'
/// fast paths (`kernel::fast_path`).
pub(crate) const SLOT_CAPABILITY_OFFSET: usize = core::mem::offset_of!(Slot, capability);
pub(crate) const SLOT_TAG_OFFSET: usize = core::mem::offset_of!(Slot, tag);
/// The bits of a handle that a CSpace's indices use (`CSPACE_SLOTS` is a
/// power of two), below the rest of the handle's index byte.
pub(crate) const SLOT_INDEX_BITS: u32 = CSPACE_SLOTS.trailing_zeros();
/// Where a slot's tag holds the generation: the index byte's bits above
/// [`SLOT_INDEX_BITS`] lie below it.
pub(crate) const TAG_SHIFT: u32 = HANDLE_INDEX_BITS - SLOT_INDEX_BITS;
const _: () = assert!(CSPACE_SLOTS.is_power_of_two() && SLOT_INDEX_BITS <= HANDLE_INDEX_BITS);
pub(crate) const SLOT_DEPTH_OFFSET: usize = core::mem::offset_of!(Slot, depth);
pub(crate) const SLOT_PREVIOUS_OFFSET: usize = core::mem::offset_of!(Slot, previous);
pub(crate) const SLOT_NEXT_OFFSET: usize = core::mem::offset_of!(Slot, next);
// The fast paths read a depth and a list link as one word each, a link
// being `space << 16 | index` with 0 for none (`SlotRef`).
const _: fn(&Slot) -> (u32, u32, u32) = |slot| (slot.depth, slot.previous.0, slot.next.0);
const _: () = assert!(SlotRef::NONE.0 == 0 && SlotRef::new(3, 5).0 == 3 << 16 | 5);
// The fast paths read the tag as one word: it must stay a `u32`.
const _: fn(&Slot) -> u32 = |slot| slot.tag;

impl Slot {
    /// An empty slot at generation 0.
    pub const EMPTY: Slot = Slot { capability: None, tag: 0, depth: 0, previous: SlotRef::NONE, next: SlotRef::NONE };

    /// The capability held, if any.
    pub fn capability(&self) -> Option<&Capability> {
        self.capability.as_ref()
    }

    /// The generation (goes up each time the slot is emptied).
    pub fn generation(&self) -> u32 {
        self.tag >> TAG_SHIFT
    }

    /// Depth in the derivation tree (0 for originals).
    pub fn depth(&self) -> u32 {
        self.depth
    }

    /// The next slot in the derivation list.
    pub fn next(&self) -> SlotRef {
        self.next
    }

    /// The previous slot in the derivation list.
    pub fn previous(&self) -> SlotRef {
        self.previous
    }
}

/// Where the slots live.
pub trait SlotStore {
    /// The slot at `at`; `at` must name a slot of this store.
    fn slot(&self, at: SlotRef) -> &Slot;
    /// The slot at `at`, to change.
    fn slot_mut(&mut self, at: SlotRef) -> &mut Slot;
}

/// The capability at `at`, or `InvalidHandle` if the slot is empty.
pub fn capability<S: SlotStore + ?Sized>(store: &S, at: SlotRef) -> Result<Capability, Error> {
    store.slot(at).capability.ok_or(Error::InvalidHandle)
}

fn require_empty<S: SlotStore + ?Sized>(store: &S, at: SlotRef) -> Result<(), Error> {
    if store.slot(at).capability.is_some() {
        Err(Error::SlotOccupied)
    } else {
        Ok(())
    }
}

/// Replaces the type-specific state of the capability at `at` (a frame's
/// mapping, for instance).
pub fn set_data<S: SlotStore + ?Sized>(store: &mut S, at: SlotRef, data: [u32; 2]) -> Result<(), Error> {
    let capability = store.slot_mut(at).capability.as_mut().ok_or(Error::InvalidHandle)?;
    capability.data = data;
    Ok(())
}

/// Puts an original capability (one with no parent, handed out at boot) in
/// the empty slot `at`.
pub fn insert_original<S: SlotStore + ?Sized>(store: &mut S, at: SlotRef, capability: Capability) -> Result<(), Error> {
    require_empty(store, at)?;
    let slot = store.slot_mut(at);
    slot.capability = Some(capability);
    slot.depth = 0;
    slot.previous = SlotRef::NONE;
    slot.next = SlotRef::NONE;
    Ok(())
}

/// Links `capability` into the empty slot `at` as a child of `parent`.
fn insert_child<S: SlotStore + ?Sized>(
    store: &mut S,
    parent: SlotRef,
    at: SlotRef,
    capability: Capability,
) -> Result<(), Error> {
    require_empty(store, at)?;
    let depth = store.slot(parent).depth + 1;
    if depth > MAX_DEPTH {
        return Err(Error::TooDeep);
    }
    let after = store.slot(parent).next;
    {
        let slot = store.slot_mut(at);
        slot.capability = Some(capability);
        slot.depth = depth;
        slot.previous = parent;
        slot.next = after;
    }
    store.slot_mut(parent).next = at;
    if !after.is_none() {
        store.slot_mut(after).previous = at;
    }
    Ok(())
}

/// What `CapObject` tells the holder of `capability`: its object's address
/// (the interrupt number for an `Interrupt`) and size. Needs `INSPECT`:
/// the physical addresses of memory and kernel objects are not for every
/// holder (`MissingRight` otherwise).
pub fn inspect(capability: &Capability) -> Result<(u32, u32), Error> {
    if !capability.rights.contains(Rights::INSPECT) {
        return Err(Error::MissingRight);
    }
    Ok((capability.object, capability.size))
}

/// Derives a child of `source` into the empty slot `destination`, with the
/// source's rights limited to `mask`, and (minting) a badge if `badge` is
/// given. Needs `DERIVE`. A badge can only be put on an unbadged endpoint or
/// notification capability, and is neither 0 nor `NOTIFIED_BADGE`.
pub fn derive<S: SlotStore + ?Sized>(
    store: &mut S,
    source: SlotRef,
    destination: SlotRef,
    mask: Rights,
    badge: Option<u32>,
) -> Result<(), Error> {
    let parent = capability(store, source)?;
    if !parent.rights.contains(Rights::DERIVE) {
        return Err(Error::MissingRight);
    }
    let mut child = parent;
    child.rights = parent.rights & mask;
    if let Some(badge) = badge {
        if !parent.kind.takes_badge() {
            return Err(Error::WrongType);
        }
        // 0 is "no badge"; `NOTIFIED_BADGE` marks a bound notification's
        // answer to a receive, which no sender may pass for.
        if parent.badge != 0 || badge == 0 || badge == tessera_abi::NOTIFIED_BADGE {
            return Err(Error::InvalidArgument);
        }
        child.badge = badge;
    }
    if parent.kind == ObjectType::Untyped {
        // A derived untyped would share the parent's memory and watermark
        // bookkeeping; memory is split with retype instead.
        return Err(Error::WrongType);
    }
    child.data = [0; 2];
    insert_child(store, source, destination, child)
}

/// Puts into the empty slot `destination` a child of frame `source` naming
/// only its `bytes` at `offset` (a power of two, at least a page, at an
/// address that is a multiple of its size, as every frame is), with its
/// rights limited to `mask`: a program's code inside the boot image.
/// Needs `DERIVE`; deleting or revoking `source` destroys it.
pub fn slice<S: SlotStore + ?Sized>(
    store: &mut S,
    source: SlotRef,
    destination: SlotRef,
    offset: u32,
    bytes: u32,
    mask: Rights,
) -> Result<(), Error> {
    let parent = capability(store, source)?;
    if parent.kind != ObjectType::Frame {
        return Err(Error::WrongType);
    }
    if !parent.rights.contains(Rights::DERIVE) {
        return Err(Error::MissingRight);
    }
    let end = offset.checked_add(bytes).ok_or(Error::InvalidArgument)?;
    let object = parent.object.checked_add(offset).ok_or(Error::InvalidArgument)?;
    // A valid size is a power of two: aligned is a mask (no divide routine).
    if !ObjectType::Frame.valid_size(bytes) || end > parent.size || object & (bytes - 1) != 0 {
        return Err(Error::InvalidArgument);
    }
    let child = Capability::new(ObjectType::Frame, parent.rights & mask, object, bytes);
    insert_child(store, source, destination, child)
}

/// Copies `source` into the empty slot `destination` (normally another
/// process's) as a child with its rights limited to `mask`: how a
/// capability is passed on. Needs `GRANT`.
pub fn grant<S: SlotStore + ?Sized>(
    store: &mut S,
    source: SlotRef,
    destination: SlotRef,
    mask: Rights,
) -> Result<(), Error> {
    let parent = capability(store, source)?;
    if !parent.rights.contains(Rights::GRANT) {
        return Err(Error::MissingRight);
    }
    if parent.kind == ObjectType::Untyped || parent.kind == ObjectType::Reply {
        return Err(Error::WrongType);
    }
    let mut child = parent;
    child.rights = parent.rights & mask;
    child.data = [0; 2];
    insert_child(store, source, destination, child)
}

/// Moves the capability at `from` to the empty slot `to`, keeping its place
/// in the derivation list (its children stay its children) and only the
/// rights in `mask` (a move can narrow, never widen: a loader hands a
/// program its pages without `GRANT`, `DERIVE` or `INSPECT`). The caller
/// checks authority (`GRANT` when `to` is in another process). Empties
/// `from`, bumping its generation.
pub fn move_to<S: SlotStore + ?Sized>(store: &mut S, from: SlotRef, to: SlotRef, mask: Rights) -> Result<(), Error> {
    let mut moved = capability(store, from)?;
    moved.rights &= mask;
    if from == to {
        return Err(Error::SlotOccupied);
    }
    require_empty(store, to)?;
    let (depth, previous, next) = {
        let slot = store.slot(from);
        (slot.depth, slot.previous, slot.next)
    };
    {
        let slot = store.slot_mut(to);
        slot.capability = Some(moved);
        slot.depth = depth;
        slot.previous = previous;
        slot.next = next;
    }
    if !previous.is_none() {
        store.slot_mut(previous).next = to;
    }
    if !next.is_none() {
        store.slot_mut(next).previous = to;
    }
    empty(store, from);
    Ok(())
}

fn empty<S: SlotStore + ?Sized>(store: &mut S, at: SlotRef) {
    let slot = store.slot_mut(at);
    slot.capability = None;
    slot.tag = ((slot.generation() + 1) % tessera_abi::capability::GENERATION_LIMIT) << TAG_SHIFT;
    slot.depth = 0;
    slot.previous = SlotRef::NONE;
    slot.next = SlotRef::NONE;
}

/// True if the capability at `at` has descendants.
pub fn has_descendants<S: SlotStore + ?Sized>(store: &S, at: SlotRef) -> bool {
    let slot = store.slot(at);
    !slot.next.is_none() && store.slot(slot.next).depth > slot.depth
}

/// Unlinks and empties `at`, which has no descendants; returns what it
/// held, or `InvalidHandle` (changing nothing) if it was empty.
fn unlink_leaf<S: SlotStore + ?Sized>(store: &mut S, at: SlotRef) -> Result<Capability, Error> {
    let (capability, previous, next) = {
        let slot = store.slot(at);
        (slot.capability.ok_or(Error::InvalidHandle)?, slot.previous, slot.next)
    };
    if !previous.is_none() {
        store.slot_mut(previous).next = next;
    }
    if !next.is_none() {
        store.slot_mut(next).previous = previous;
    }
    empty(store, at);
    Ok(capability)
}

/// One step of revoking `at`: destroys one descendant (a leaf, so no other
/// capability changes place) and returns where it was and what it held, for
/// the caller to undo its effects; `None` when no descendants are left. The
/// walk to the leaf is at most [`MAX_DEPTH`] slots long, so each step is
/// bounded; the caller may stop between steps (to take an interrupt) and
/// continue later.
pub fn revoke_step<S: SlotStore + ?Sized>(store: &mut S, at: SlotRef) -> Option<(SlotRef, Capability)> {
    if store.slot(at).capability.is_none() || !has_descendants(store, at) {
        return None;
    }
    let mut leaf = store.slot(at).next;
    while has_descendants(store, leaf) {
        leaf = store.slot(leaf).next;
    }
    // A descendant is never an empty slot: the list links full ones only.
    unlink_leaf(store, leaf).ok().map(|capability| (leaf, capability))
}

/// Empties `at`, which has no descendants (the caller found so), and
/// returns what it held (`InvalidHandle` if it was empty): [`delete`]
/// without its descendant check.
pub fn delete_leaf<S: SlotStore + ?Sized>(store: &mut S, at: SlotRef) -> Result<Capability, Error> {
    debug_assert!(!has_descendants(store, at), "delete_leaf of a capability with descendants");
    unlink_leaf(store, at)
}

/// Empties `at`, which must have no descendants (revoke it first), and
/// returns what it held.
pub fn delete<S: SlotStore + ?Sized>(store: &mut S, at: SlotRef) -> Result<Capability, Error> {
    capability(store, at)?;
    if has_descendants(store, at) {
        return Err(Error::InvalidArgument);
    }
    unlink_leaf(store, at)
}

/// Retypes part of the untyped memory at `untyped` into a new object of
/// `kind` and `bytes` (the size `ObjectType::valid_size` allows), placed as its child in
/// the empty slot `destination`. Needs `DERIVE`. Returns the new object's
/// address. If the untyped has no descendants left, everything carved from
/// it before is gone and its watermark starts again from zero.
///
/// The new capability gets the rights that mean something for `kind`,
/// except that memory rights (`READ`, `WRITE`, `EXECUTE`), `GRANT`,
/// `DERIVE` and `INSPECT` are limited to the untyped's.
pub fn retype<S: SlotStore + ?Sized>(
    store: &mut S,
    untyped: SlotRef,
    destination: SlotRef,
    kind: ObjectType,
    bytes: u32,
) -> Result<u32, Error> {
    retype_where(store, untyped, destination, kind, bytes, |_| true)
}

/// [`retype`], where the new object may only go at an address for which
/// `placeable` is true: otherwise `InvalidArgument`, and nothing changes
/// (the kernel keeps process objects in the RAM its process table covers).
/// `placeable` is asked once every other check has passed.
pub fn retype_where<S: SlotStore + ?Sized>(
    store: &mut S,
    untyped: SlotRef,
    destination: SlotRef,
    kind: ObjectType,
    bytes: u32,
    placeable: impl FnOnce(u32) -> bool,
) -> Result<u32, Error> {
    let mut memory = capability(store, untyped)?;
    if memory.kind != ObjectType::Untyped || !kind.is_retypable() {
        return Err(Error::WrongType);
    }
    if !memory.rights.contains(Rights::DERIVE) {
        return Err(Error::MissingRight);
    }
    if !kind.valid_size(bytes) {
        return Err(Error::InvalidArgument);
    }
    require_empty(store, destination)?;
    if store.slot(untyped).depth + 1 > MAX_DEPTH {
        return Err(Error::TooDeep);
    }
    let watermark = if has_descendants(store, untyped) { memory.data[0] } else { 0 };
    // Objects are aligned to their size in physical memory (every size is a
    // power of two), whatever the untyped's own alignment: the kernel finds
    // a process's entry from its object's address.
    // Every valid size is a power of two (`ObjectType::valid_size`), so
    // the rounding is a mask: a division would link the 32-bit divide
    // routines into the kernel, about 1 KiB of text.
    let mask = bytes - 1;
    let free = memory.object.checked_add(watermark).ok_or(Error::OutOfMemory)?;
    let object = free.checked_add(mask).ok_or(Error::OutOfMemory)? & !mask;
    let end = (object - memory.object).checked_add(bytes).ok_or(Error::OutOfMemory)?;
    if end > memory.size {
        return Err(Error::OutOfMemory);
    }
    if !placeable(object) {
        return Err(Error::InvalidArgument);
    }
    let limited = Rights::READ | Rights::WRITE | Rights::EXECUTE | Rights::GRANT | Rights::DERIVE | Rights::INSPECT;
    let rights = kind.meaningful_rights() & (memory.rights | !limited);
    insert_child(store, untyped, destination, Capability::new(kind, rights, object, bytes))?;
    memory.data[0] = end;
    store.slot_mut(untyped).capability = Some(memory);
    Ok(object)
}

#[cfg(test)]
mod tests {
    extern crate std;
    use super::*;
    use std::vec::Vec;

    struct Slots(Vec<Slot>);

    impl SlotStore for Slots {
        fn slot(&self, at: SlotRef) -> &Slot {
            &self.0[at.index() as usize]
        }
        fn slot_mut(&mut self, at: SlotRef) -> &mut Slot {
            &mut self.0[at.index() as usize]
        }
    }

    fn at(index: u16) -> SlotRef {
        SlotRef::new(0, index)
    }

    fn endpoint() -> Capability {
        Capability::new(ObjectType::Endpoint, ObjectType::Endpoint.meaningful_rights(), 0x1000, 64)
    }

    /// The A7's fast paths check a handle with one compare: the slot at its
    /// low `SLOT_INDEX_BITS`, and `handle >> SLOT_INDEX_BITS` against the
    /// slot's tag. That must accept exactly what the general check does (an
    /// index below `CSPACE_SLOTS`, the slot's generation), whatever the
    /// handle and however often the slot was emptied (the generation wraps).
    #[test]
    fn the_one_compare_accepts_exactly_the_handles_of_the_slots_generation() {
        use tessera_abi::capability::{Handle, GENERATION_LIMIT};
        let mut rng = tessera_testing::Rng::new(0x7a6e_0c0d_e5ee_d001);
        let mut slot = Slot::EMPTY;
        let mut slots = Slots(std::vec![Slot::EMPTY; 2]);
        for round in 0..20_000u32 {
            if round % 1000 == 999 {
                // Near the wrap, and across it.
                slot.tag = (GENERATION_LIMIT - 1 - rng.below_u32(2)) << TAG_SHIFT;
            }
            let generation = slot.generation();
            // The slot is the one the fast path reads: the handle's low
            // `SLOT_INDEX_BITS`.
            let index = rng.below(CSPACE_SLOTS) as u32;
            let handle = match rng.below(4) {
                0 => Handle::new(index as usize, generation),
                1 => Handle(Handle::new(index as usize, generation).0 | 1 << rng.below(8)),
                2 => Handle::new(index as usize, generation.wrapping_add(1 + rng.below_u32(3))),
                _ => Handle(rng.next_u32()),
            };
            let index = handle.0 & (CSPACE_SLOTS as u32 - 1);
            let general = handle.index() == index as usize && handle.generation() == generation;
            let fast = handle.0 >> SLOT_INDEX_BITS == slot.tag;
            assert_eq!(fast, general, "handle {:#x}, slot {index} at generation {generation}", handle.0);
            if rng.below(2) == 0 {
                // Emptied: the next generation (`empty`, as every delete,
                // move and revoke does).
                insert_original(&mut slots, at(1), endpoint()).unwrap();
                slots.0[1].tag = slot.tag;
                delete_leaf(&mut slots, at(1)).unwrap();
                assert_eq!(slots.0[1].generation(), (generation + 1) % GENERATION_LIMIT);
                slot.tag = slots.0[1].tag;
            }
        }
    }

    #[test]
    fn delete_leaf_unlinks_and_refuses_an_empty_slot() {
        let mut slots = Slots(std::vec![Slot::EMPTY; 8]);
        insert_original(&mut slots, at(1), endpoint()).unwrap();
        // Siblings under 1, each inserted right after it: the list is 1, 3, 2.
        grant(&mut slots, at(1), at(2), Rights::all()).unwrap();
        grant(&mut slots, at(1), at(3), Rights::all()).unwrap();
        let generation = slots.slot(at(3)).generation();
        assert_eq!(delete_leaf(&mut slots, at(3)), Ok(endpoint()));
        // Its neighbours now link each other; the slot is empty, a
        // generation on.
        assert_eq!((slots.slot(at(1)).next(), slots.slot(at(2)).previous()), (at(2), at(1)));
        assert_eq!(slots.slot(at(3)).capability(), None);
        assert_eq!(slots.slot(at(3)).generation(), generation + 1);
        // An empty slot: an error, and nothing changes.
        let before = slots.0.clone();
        assert_eq!(delete_leaf(&mut slots, at(3)), Err(Error::InvalidHandle));
        assert_eq!(slots.0, before);
        // The last of the list too.
        assert_eq!(delete_leaf(&mut slots, at(2)), Ok(endpoint()));
        assert!(slots.slot(at(1)).next().is_none());
        assert!(!has_descendants(&slots, at(1)));
    }

    #[test]
    fn derive_only_narrows_and_mints_once() {
        let mut slots = Slots(std::vec![Slot::EMPTY; 8]);
        insert_original(&mut slots, at(1), endpoint()).unwrap();
        derive(&mut slots, at(1), at(2), Rights::SEND | Rights::DERIVE, Some(7)).unwrap();
        let child = capability(&slots, at(2)).unwrap();
        assert_eq!((child.rights, child.badge), (Rights::SEND | Rights::DERIVE, 7));
        // A wider mask gives nothing more; a second badge is refused.
        derive(&mut slots, at(2), at(3), Rights::all(), None).unwrap();
        assert_eq!(capability(&slots, at(3)).unwrap().rights, Rights::SEND | Rights::DERIVE);
        assert_eq!(derive(&mut slots, at(2), at(4), Rights::all(), Some(9)), Err(Error::InvalidArgument));
        // Without DERIVE nothing can be derived; occupied slots are refused.
        derive(&mut slots, at(1), at(4), Rights::SEND, None).unwrap();
        assert_eq!(derive(&mut slots, at(4), at(5), Rights::all(), None), Err(Error::MissingRight));
        assert_eq!(derive(&mut slots, at(1), at(4), Rights::all(), None), Err(Error::SlotOccupied));
    }

    #[test]
    fn revoke_removes_every_descendant_leaf_first() {
        let mut slots = Slots(std::vec![Slot::EMPTY; 8]);
        insert_original(&mut slots, at(1), endpoint()).unwrap();
        derive(&mut slots, at(1), at(2), Rights::all(), None).unwrap();
        derive(&mut slots, at(2), at(3), Rights::all(), None).unwrap();
        derive(&mut slots, at(1), at(4), Rights::all(), None).unwrap();
        insert_original(&mut slots, at(5), endpoint()).unwrap();
        let mut removed = Vec::new();
        while let Some((slot, _)) = revoke_step(&mut slots, at(2)) {
            removed.push(slot.index());
        }
        assert_eq!(removed, [3]);
        while let Some((slot, _)) = revoke_step(&mut slots, at(1)) {
            removed.push(slot.index());
        }
        assert_eq!(removed, [3, 4, 2]);
        assert!(capability(&slots, at(1)).is_ok() && capability(&slots, at(5)).is_ok());
        assert_eq!(slots.slot(at(3)).generation(), 1);
    }

    #[test]
    fn depth_is_bounded() {
        let mut slots = Slots(std::vec![Slot::EMPTY; 40]);
        insert_original(&mut slots, at(1), endpoint()).unwrap();
        for index in 1..=MAX_DEPTH as u16 {
            derive(&mut slots, at(index), at(index + 1), Rights::all(), None).unwrap();
        }
        let last = MAX_DEPTH as u16 + 1;
        assert_eq!(derive(&mut slots, at(last), at(last + 1), Rights::all(), None), Err(Error::TooDeep));
    }

    #[test]
    fn retype_accounts_and_resets() {
        let mut slots = Slots(std::vec![Slot::EMPTY; 8]);
        let rights = Rights::READ | Rights::WRITE | Rights::DERIVE | Rights::GRANT;
        insert_original(&mut slots, at(1), Capability::new(ObjectType::Untyped, rights, 0x4000_0000, 0x2000)).unwrap();
        assert_eq!(retype(&mut slots, at(1), at(2), ObjectType::Endpoint, 64), Ok(0x4000_0000));
        assert_eq!(retype(&mut slots, at(1), at(3), ObjectType::Frame, 4096), Ok(0x4000_1000));
        assert_eq!(retype(&mut slots, at(1), at(4), ObjectType::Endpoint, 64), Err(Error::OutOfMemory));
        let frame = capability(&slots, at(3)).unwrap();
        assert_eq!(frame.rights, Rights::READ | Rights::WRITE | Rights::DERIVE | Rights::GRANT);
        let endpoint = capability(&slots, at(2)).unwrap();
        assert!(endpoint.rights.contains(Rights::SEND | Rights::RECEIVE));
        while revoke_step(&mut slots, at(1)).is_some() {}
        assert_eq!(retype(&mut slots, at(1), at(4), ObjectType::Frame, 16), Err(Error::InvalidArgument));
        assert_eq!(retype(&mut slots, at(1), at(4), ObjectType::Untyped, 8192), Ok(0x4000_0000));
    }

    #[test]
    fn a_frame_slice_is_an_aligned_part_with_no_more_rights_and_goes_with_its_frame() {
        let mut slots = Slots(std::vec![Slot::EMPTY; 10]);
        let rights = Rights::READ | Rights::EXECUTE | Rights::DERIVE | Rights::GRANT;
        insert_original(&mut slots, at(1), Capability::new(ObjectType::Frame, rights, 0x0010_0000, 0x1_0000)).unwrap();
        // 16 KiB from 32 KiB in, read and execute only.
        slice(&mut slots, at(1), at(2), 0x8000, 0x4000, Rights::READ | Rights::EXECUTE | Rights::WRITE).unwrap();
        let part = capability(&slots, at(2)).unwrap();
        assert_eq!((part.kind, part.object, part.size), (ObjectType::Frame, 0x0010_8000, 0x4000));
        assert_eq!(part.rights, Rights::READ | Rights::EXECUTE, "no WRITE the frame did not have");
        // Not aligned to its size, not a page, past the end, wrapping,
        // not a power of two: refused, nothing made.
        for (offset, bytes) in [(0x1000, 0x2000), (0, 0x800), (0xC000, 0x8000), (0xFFFF_F000, 0x1000), (0, 0x3000)] {
            assert_eq!(slice(&mut slots, at(1), at(3), offset, bytes, rights), Err(Error::InvalidArgument));
            assert!(capability(&slots, at(3)).is_err());
        }
        // The slice has no DERIVE: it cannot be sliced again.
        assert_eq!(slice(&mut slots, at(2), at(3), 0, 0x1000, Rights::all()), Err(Error::MissingRight));
        slice(&mut slots, at(1), at(3), 0, 0x1000, Rights::all()).unwrap();
        slice(&mut slots, at(3), at(4), 0, 0x1000, Rights::READ).unwrap();
        // Only frames.
        insert_original(&mut slots, at(5), endpoint()).unwrap();
        assert_eq!(slice(&mut slots, at(5), at(6), 0, 0x1000, Rights::all()), Err(Error::WrongType));
        // Revoking the frame takes every slice back.
        while revoke_step(&mut slots, at(1)).is_some() {}
        for slot in 2..=4 {
            assert!(capability(&slots, at(slot)).is_err(), "slot {slot}");
        }
        assert!(capability(&slots, at(1)).is_ok());
    }

    #[test]
    fn retype_aligns_each_object_to_its_size_up_to_the_top_of_memory() {
        let mut slots = Slots(std::vec![Slot::EMPTY; 8]);
        let rights = Rights::READ | Rights::WRITE | Rights::DERIVE;
        // Untyped memory that ends at the top of the address space and
        // starts off any frame's alignment.
        let untyped = Capability::new(ObjectType::Untyped, rights, 0xFFFF_4040, 0xBFC0);
        insert_original(&mut slots, at(1), untyped).unwrap();
        assert_eq!(retype(&mut slots, at(1), at(2), ObjectType::Endpoint, 64), Ok(0xFFFF_4040));
        // The next 16 KiB boundary, past the endpoint.
        assert_eq!(retype(&mut slots, at(1), at(3), ObjectType::Frame, 16384), Ok(0xFFFF_8000));
        // Rounding up past the top is out of memory, not a wrap to 0.
        assert_eq!(retype(&mut slots, at(1), at(4), ObjectType::Frame, 65536), Err(Error::OutOfMemory));
        assert_eq!(retype(&mut slots, at(1), at(4), ObjectType::Frame, 8192), Ok(0xFFFF_C000));
        assert_eq!(retype(&mut slots, at(1), at(5), ObjectType::Endpoint, 64), Ok(0xFFFF_E000));
        assert_eq!(retype(&mut slots, at(1), at(6), ObjectType::Frame, 4096), Ok(0xFFFF_F000));
        assert_eq!(retype(&mut slots, at(1), at(7), ObjectType::Endpoint, 64), Err(Error::OutOfMemory));
    }

    #[test]
    fn inspecting_needs_its_right_which_only_narrows() {
        let mut slots = Slots(std::vec![Slot::EMPTY; 8]);
        let all = ObjectType::Untyped.meaningful_rights();
        insert_original(&mut slots, at(1), Capability::new(ObjectType::Untyped, all, 0x4000_0000, 0x4000)).unwrap();
        assert_eq!(inspect(&capability(&slots, at(1)).unwrap()), Ok((0x4000_0000, 0x4000)));
        // Retype passes INSPECT on only from an untyped that has it.
        retype(&mut slots, at(1), at(2), ObjectType::Endpoint, 64).unwrap();
        assert_eq!(inspect(&capability(&slots, at(2)).unwrap()), Ok((0x4000_0000, 64)));
        let without = all - Rights::INSPECT;
        insert_original(&mut slots, at(3), Capability::new(ObjectType::Untyped, without, 0x5000_0000, 0x4000)).unwrap();
        retype(&mut slots, at(3), at(4), ObjectType::Frame, 4096).unwrap();
        assert_eq!(inspect(&capability(&slots, at(3)).unwrap()), Err(Error::MissingRight));
        assert_eq!(inspect(&capability(&slots, at(4)).unwrap()), Err(Error::MissingRight));
        // Derived and granted copies keep it only if the mask does, and a
        // copy without it cannot get it back.
        derive(&mut slots, at(2), at(5), Rights::SEND | Rights::DERIVE | Rights::GRANT, None).unwrap();
        assert_eq!(inspect(&capability(&slots, at(5)).unwrap()), Err(Error::MissingRight));
        derive(&mut slots, at(5), at(6), Rights::all(), None).unwrap();
        grant(&mut slots, at(5), at(7), Rights::all()).unwrap();
        for copy in [6, 7] {
            assert_eq!(inspect(&capability(&slots, at(copy)).unwrap()), Err(Error::MissingRight));
        }
    }

    #[test]
    fn move_keeps_the_tree() {
        let mut slots = Slots(std::vec![Slot::EMPTY; 8]);
        insert_original(&mut slots, at(1), endpoint()).unwrap();
        derive(&mut slots, at(1), at(2), Rights::all(), None).unwrap();
        move_to(&mut slots, at(1), at(6), Rights::SEND | Rights::DERIVE).unwrap();
        assert!(capability(&slots, at(1)).is_err());
        assert_eq!(capability(&slots, at(6)).unwrap().rights, endpoint().rights & (Rights::SEND | Rights::DERIVE));
        assert_eq!(revoke_step(&mut slots, at(6)).map(|(slot, _)| slot), Some(at(2)));
    }
}
