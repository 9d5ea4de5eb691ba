//! Model-based property tests of the capability core: random sequences of
//! create (retype), derive, mint, grant, move, delete, revoke (complete or
//! stopped part way, as a preempted revoke is) and map, checked after every
//! operation against a plain model of the derivation tree.
//!
//! Checked: the derivation list's structure; each slot's parent is the one
//! the model says; rights never grow along derivation; after a revoke no
//! descendant is left and nothing stays mapped through one; a handle to an
//! emptied or reused slot never names a newer capability; every destroyed
//! capability is reported exactly once; no object is freed while a
//! capability to it lives; live objects carved from untyped memory never
//! overlap and stay inside it (accounted memory is conserved).

use arbitrary::{Arbitrary, Unstructured};
use kernel_core::capability::{self, Capability, Slot, SlotRef, SlotStore};
use std::collections::{BTreeMap, BTreeSet};
use tessera_abi::{Error, Handle, ObjectType, Rights};

const SPACES: u16 = 4;
const SLOTS: u16 = 16;
const UNTYPED_BASE: u32 = 0x4000_0000;
const UNTYPED_SIZE: u32 = 0x1_0000;

struct Store(Vec<Slot>);

impl SlotStore for Store {
    fn slot(&self, at: SlotRef) -> &Slot {
        &self.0[(at.space() * SLOTS + at.index()) as usize]
    }
    fn slot_mut(&mut self, at: SlotRef) -> &mut Slot {
        &mut self.0[(at.space() * SLOTS + at.index()) as usize]
    }
}

fn all_slots() -> impl Iterator<Item = SlotRef> {
    (0..SPACES).flat_map(|space| (1..SLOTS).map(move |index| SlotRef::new(space, index)))
}

fn pick(choice: u8) -> SlotRef {
    let count = (SPACES * (SLOTS - 1)) as usize;
    let n = choice as usize % count;
    SlotRef::new((n / (SLOTS as usize - 1)) as u16, (n % (SLOTS as usize - 1)) as u16 + 1)
}

#[derive(Arbitrary, Debug)]
enum Op {
    Derive { source: u8, destination: u8, mask: u16, badge: Option<u8> },
    Grant { source: u8, destination: u8, mask: u16 },
    Move { from: u8, to: u8, mask: u16 },
    Delete { at: u8 },
    Revoke { at: u8, steps: Option<u8> },
    Retype { untyped: u8, destination: u8, kind: u8, size_log2: u8 },
    Map { at: u8 },
    Lookup { handle: u16 },
}

/// What the model knows about one capability.
#[derive(Clone, Debug)]
struct Known {
    slot: SlotRef,
    parent: Option<u64>,
    /// Same object as the parent (derive, grant), so rights must not grow.
    same_object: bool,
    /// The parent's rights when this one was made from it: its own never
    /// exceed them (a move may narrow the parent later; that takes nothing
    /// from children already made).
    parent_rights: Rights,
    capability: Capability,
    object: u64,
    mapped: bool,
}

struct Model {
    store: Store,
    caps: BTreeMap<u64, Known>,
    next_id: u64,
    /// Object ids, their address ranges and the untyped object they were
    /// carved from, while alive.
    objects: BTreeMap<u64, (u32, u32, Option<u64>)>,
    next_object: u64,
    /// Every handle ever made: the handle, its slot, and whether the
    /// capability it was made for has stayed in that slot ever since.
    handles: Vec<(Handle, SlotRef, bool)>,
}

impl Model {
    fn new() -> Model {
        let mut model = Model {
            store: Store(vec![Slot::EMPTY; (SPACES * SLOTS) as usize]),
            caps: BTreeMap::new(),
            next_id: 0,
            objects: BTreeMap::new(),
            next_object: 0,
            handles: Vec::new(),
        };
        let untyped_rights = ObjectType::Untyped.meaningful_rights();
        let originals = [
            Capability::new(ObjectType::Untyped, untyped_rights, UNTYPED_BASE, UNTYPED_SIZE),
            Capability::new(ObjectType::Endpoint, ObjectType::Endpoint.meaningful_rights(), 0x100, 64),
            Capability::new(ObjectType::DeviceRegion, ObjectType::DeviceRegion.meaningful_rights(), 0x0900_0000, 4096),
        ];
        for (index, original) in originals.into_iter().enumerate() {
            let at = SlotRef::new(0, index as u16 + 1);
            capability::insert_original(&mut model.store, at, original).unwrap();
            let object = model.new_object(original.object, original.size, None);
            model.add(at, None, false, object);
        }
        model
    }

    fn new_object(&mut self, address: u32, size: u32, carved_from: Option<u64>) -> u64 {
        let id = self.next_object;
        self.next_object += 1;
        self.objects.insert(id, (address, size, carved_from));
        id
    }

    /// True if object `inner` was carved, directly or not, from `outer`.
    fn carved_from(&self, inner: u64, outer: u64) -> bool {
        let mut cursor = self.objects.get(&inner).and_then(|o| o.2);
        while let Some(object) = cursor {
            if object == outer {
                return true;
            }
            cursor = self.objects.get(&object).and_then(|o| o.2);
        }
        false
    }

    fn add(&mut self, slot: SlotRef, parent: Option<u64>, same_object: bool, object: u64) -> u64 {
        let id = self.next_id;
        self.next_id += 1;
        let capability = *self.store.slot(slot).capability().unwrap();
        let parent_rights = parent.map_or(Rights::all(), |parent| self.caps[&parent].capability.rights);
        self.caps.insert(id, Known { slot, parent, same_object, parent_rights, capability, object, mapped: false });
        self.handles.push((Handle::new(slot.index() as usize, self.store.slot(slot).generation()), slot, true));
        id
    }

    /// A source slot: mostly an occupied one (so operations mostly do
    /// something), sometimes any slot (so the error paths run too).
    fn source(&self, choice: u8) -> SlotRef {
        let occupied: Vec<SlotRef> = self.caps.values().map(|known| known.slot).collect();
        if choice >= 224 || occupied.is_empty() {
            pick(choice)
        } else {
            occupied[choice as usize % occupied.len()]
        }
    }

    /// An untyped source slot when there is one.
    fn untyped(&self, choice: u8) -> SlotRef {
        let untyped: Vec<SlotRef> = self
            .caps
            .values()
            .filter(|known| known.capability.kind == ObjectType::Untyped)
            .map(|known| known.slot)
            .collect();
        if choice >= 240 || untyped.is_empty() {
            self.source(choice)
        } else {
            untyped[choice as usize % untyped.len()]
        }
    }

    /// A destination slot: mostly an empty one.
    fn destination(&self, choice: u8) -> SlotRef {
        let empty: Vec<SlotRef> = all_slots().filter(|&at| self.store.slot(at).capability().is_none()).collect();
        if choice >= 240 || empty.is_empty() {
            pick(choice)
        } else {
            empty[choice as usize % empty.len()]
        }
    }

    fn at(&self, slot: SlotRef) -> Option<u64> {
        self.caps.iter().find(|(_, known)| known.slot == slot).map(|(&id, _)| id)
    }

    fn descendants(&self, id: u64) -> BTreeSet<u64> {
        let mut found = BTreeSet::new();
        let mut frontier = vec![id];
        while let Some(parent) = frontier.pop() {
            for (&child, known) in &self.caps {
                if known.parent == Some(parent) && found.insert(child) {
                    frontier.push(child);
                }
            }
        }
        found
    }

    /// The kernel's side of destroying a capability: undo its mapping, free
    /// its object if it was the last capability to it.
    /// The capability in `slot` left it: every handle to the slot is stale.
    fn vacated(&mut self, slot: SlotRef) {
        for handle in self.handles.iter_mut().filter(|handle| handle.1 == slot) {
            handle.2 = false;
        }
    }

    fn destroyed(&mut self, slot: SlotRef, capability: Capability) {
        self.vacated(slot);
        let id = self.at(slot).expect("a destroyed capability the model does not know");
        let known = self.caps.remove(&id).unwrap();
        assert_eq!(known.capability.object, capability.object);
        // Mapping undone here; nothing can stay mapped through it.
        let object = known.object;
        if !self.caps.values().any(|other| other.object == object) {
            self.objects.remove(&object);
        }
    }

    fn revoke(&mut self, at: SlotRef, steps: Option<u8>) {
        let Some(id) = self.at(at) else {
            assert!(capability::revoke_step(&mut self.store, at).is_none());
            return;
        };
        let before = self.descendants(id);
        let mut destroyed = BTreeSet::new();
        let mut budget = steps.map(|s| s as usize);
        loop {
            if budget == Some(0) {
                break;
            }
            let Some((slot, removed)) = capability::revoke_step(&mut self.store, at) else { break };
            let removed_id = self.at(slot).unwrap();
            assert!(before.contains(&removed_id), "revoke destroyed a capability that was not a descendant");
            assert!(destroyed.insert(removed_id), "destroyed twice");
            assert!(self.descendants(removed_id).is_empty(), "revoke_step destroyed a capability with children");
            self.destroyed(slot, removed);
            budget = budget.map(|b| b - 1);
        }
        if budget.is_none() {
            assert!(self.descendants(id).is_empty(), "descendants survived a complete revoke");
            assert_eq!(destroyed, before);
        }
    }

    fn apply(&mut self, op: &Op) {
        match *op {
            Op::Derive { source, destination, mask, badge } => {
                let (source, destination) = (self.source(source), self.destination(destination));
                let badge = badge.map(|b| b as u32 + 1);
                let result = capability::derive(
                    &mut self.store,
                    source,
                    destination,
                    Rights::from_bits_truncate(mask as u32),
                    badge,
                );
                if result.is_ok() {
                    let parent = self.at(source).unwrap();
                    let object = self.caps[&parent].object;
                    self.add(destination, Some(parent), true, object);
                }
            }
            Op::Grant { source, destination, mask } => {
                let (source, destination) = (self.source(source), self.destination(destination));
                if capability::grant(&mut self.store, source, destination, Rights::from_bits_truncate(mask as u32))
                    .is_ok()
                {
                    let parent = self.at(source).unwrap();
                    let object = self.caps[&parent].object;
                    self.add(destination, Some(parent), true, object);
                }
            }
            Op::Move { from, to, mask } => {
                let (from, to) = (self.source(from), self.destination(to));
                // Mostly a plain move; a quarter narrow (a narrowed untyped
                // retypes less, and the sequences should still retype).
                let mask = if mask < 0xC000 { Rights::all() } else { Rights::from_bits_truncate(mask as u32) };
                let before = capability::capability(&self.store, from).ok();
                if capability::move_to(&mut self.store, from, to, mask).is_ok() {
                    // The moved capability keeps only the rights of the mask.
                    let after = capability::capability(&self.store, to).unwrap();
                    assert_eq!(after.rights, before.unwrap().rights & mask);
                    let id = self.at(from).unwrap();
                    let known = self.caps.get_mut(&id).unwrap();
                    known.slot = to;
                    known.capability.rights &= mask;
                    self.vacated(from);
                    let generation = self.store.slot(to).generation();
                    self.handles.push((Handle::new(to.index() as usize, generation), to, true));
                }
            }
            Op::Delete { at } => {
                let at = self.source(at);
                self.revoke(at, None);
                match capability::delete(&mut self.store, at) {
                    Ok(removed) => self.destroyed(at, removed),
                    Err(error) => {
                        assert_eq!(error, Error::InvalidHandle);
                        assert!(self.at(at).is_none());
                    }
                }
            }
            Op::Revoke { at, steps } => self.revoke(self.source(at), steps),
            Op::Retype { untyped, destination, kind, size_log2 } => {
                let (untyped, destination) = (self.untyped(untyped), self.destination(destination));
                let kinds = [ObjectType::Untyped, ObjectType::Frame, ObjectType::Endpoint, ObjectType::Notification];
                let kind = kinds[kind as usize % kinds.len()];
                // Mostly sizes the type allows, sometimes any power of two.
                let bytes = match (kind, size_log2 % 4) {
                    (_, 0) => 1u32 << (4 + size_log2 % 12),
                    (ObjectType::Untyped, _) => 1u32 << (12 + size_log2 % 4),
                    (ObjectType::Frame, _) => 4096,
                    _ => 64,
                };
                if let Ok(address) = capability::retype(&mut self.store, untyped, destination, kind, bytes) {
                    let parent = self.at(untyped).unwrap();
                    let from = self.caps[&parent].object;
                    let object = self.new_object(address, bytes, Some(from));
                    self.add(destination, Some(parent), false, object);
                    // The parent's watermark changed.
                    self.caps.get_mut(&parent).unwrap().capability = *self.store.slot(untyped).capability().unwrap();
                }
            }
            Op::Map { at } => {
                if let Some(id) = self.at(self.source(at)) {
                    let known = self.caps.get_mut(&id).unwrap();
                    if known.capability.kind == ObjectType::Frame && known.capability.rights.contains(Rights::READ) {
                        known.mapped = true;
                    }
                }
            }
            Op::Lookup { handle } => {
                if let Some(&(handle, slot, valid)) = self.handles.get(handle as usize % self.handles.len().max(1)) {
                    let current = self.store.slot(slot);
                    let resolves = current.capability().is_some() && current.generation() == handle.generation();
                    assert_eq!(resolves, valid, "handle {handle:?} resolves = {resolves}, still valid = {valid}");
                }
            }
        }
    }

    fn check(&self) {
        // Structure of the derivation list.
        for at in all_slots() {
            let slot = self.store.slot(at);
            if slot.capability().is_none() {
                assert!(slot.next() == SlotRef::NONE && slot.previous() == SlotRef::NONE, "empty slot linked");
                continue;
            }
            if slot.next() != SlotRef::NONE {
                assert_eq!(self.store.slot(slot.next()).previous(), at);
                assert!(self.store.slot(slot.next()).depth() <= slot.depth() + 1, "depth gap");
            }
            if slot.previous() != SlotRef::NONE {
                assert_eq!(self.store.slot(slot.previous()).next(), at);
            } else {
                assert_eq!(slot.depth(), 0, "a chain starts below the top");
            }
        }
        // Every live capability is where the model says, with its parent.
        let occupied = all_slots().filter(|&at| self.store.slot(at).capability().is_some()).count();
        assert_eq!(occupied, self.caps.len());
        for known in self.caps.values() {
            let slot = self.store.slot(known.slot);
            let held = slot.capability().expect("model capability missing from its slot");
            assert_eq!(
                (held.kind, held.rights, held.object, held.badge),
                (known.capability.kind, known.capability.rights, known.capability.object, known.capability.badge)
            );
            // Parent from the list: nearest slot before, one level up.
            let mut cursor = slot.previous();
            let mut list_parent = None;
            while cursor != SlotRef::NONE {
                if self.store.slot(cursor).depth() + 1 == slot.depth() {
                    list_parent = Some(cursor);
                    break;
                }
                cursor = self.store.slot(cursor).previous();
            }
            let model_parent = known.parent.map(|p| self.caps[&p].slot);
            assert_eq!(list_parent, model_parent, "parent disagrees");
            if let Some(parent) = known.parent {
                let parent = &self.caps[&parent];
                if known.same_object {
                    assert!(known.parent_rights.contains(known.capability.rights), "rights grew");
                    assert_eq!(parent.object, known.object);
                    // A badge is set once, on an unbadged capability.
                    if known.capability.badge != parent.capability.badge {
                        assert_eq!(parent.capability.badge, 0, "a badged capability was re-badged");
                    }
                }
            }
            assert!(self.objects.contains_key(&known.object), "a live capability names a freed object");
        }
        // Live objects carved from untyped memory stay inside it and never
        // overlap, except an untyped and what was carved from it.
        let carved: Vec<(u64, u32, u32)> =
            self.objects.iter().filter(|(_, o)| o.2.is_some()).map(|(&id, o)| (id, o.0, o.1)).collect();
        for (index, &(id, start, size)) in carved.iter().enumerate() {
            assert!(start >= UNTYPED_BASE && start + size <= UNTYPED_BASE + UNTYPED_SIZE, "object outside its memory");
            for &(other_id, other, other_size) in &carved[index + 1..] {
                if start < other + other_size && other < start + size {
                    assert!(
                        self.carved_from(id, other_id) || self.carved_from(other_id, id),
                        "live objects overlap: {start:#x}+{size:#x} and {other:#x}+{other_size:#x}"
                    );
                }
            }
        }
    }
}

/// Runs one sequence; returns how many retypes succeeded (so the caller can
/// check the sequences exercise accounting at all).
fn run(seed: u64, length: usize) -> usize {
    let mut rng = tessera_testing::Rng::new(seed | 1);
    let bytes: Vec<u8> = (0..length * 8).map(|_| (rng.next_u64() >> 24) as u8).collect();
    let mut input = Unstructured::new(&bytes);
    let mut model = Model::new();
    for _ in 0..length {
        let Ok(op) = Op::arbitrary(&mut input) else { break };
        model.apply(&op);
        model.check();
    }
    model.next_object as usize - 3
}

#[test]
fn random_operation_sequences_agree_with_the_model() {
    let mut retyped = 0;
    for seed in 0..400 {
        retyped += run(0x5851_f42d_4c95_7f2d ^ seed, 200);
    }
    assert!(retyped > 400 * 2, "only {retyped} objects made: the sequences do not exercise retype");
}

#[test]
fn stale_handles_never_name_new_capabilities() {
    let mut model = Model::new();
    let untyped = SlotRef::new(0, 1);
    let slot = SlotRef::new(1, 5);
    for round in 0..50u32 {
        capability::retype(&mut model.store, untyped, slot, ObjectType::Endpoint, 64).unwrap();
        let handle = Handle::new(5, model.store.slot(slot).generation());
        assert_eq!(handle.generation(), round);
        capability::delete(&mut model.store, slot).unwrap();
        let current = model.store.slot(slot);
        assert_ne!(current.generation(), handle.generation());
    }
}
