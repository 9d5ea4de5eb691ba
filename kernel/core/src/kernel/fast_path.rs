//! Where the state an architecture's hand-written IPC fast path reads and
//! writes lies, computed from the types themselves.
//!
//! The Armv7-A kernel answers the commonest `Call`, `ReplyReceive`,
//! `Receive`, `Yield`, `Signal`, `WaitNotification`, `InterruptAck` and
//! `CapDelete` in assembly before it enters Rust
//! (kernel/src/arch/armv7a/svc.s, docs/kernel-platform.md): the same checks
//! and effects as `Kernel::fast_call`, `Kernel::fast_reply_receive`,
//! `Kernel::fast_signal` and `Kernel::fast_wait_notification` (ipc.rs), the
//! general path's blocking `Receive`, `InterruptAck` and `Yield`
//! (`requeue_current` and `prepare_return`), its `CapDelete` of a leaf
//! (`capability::delete_leaf`) and, for a `Call` that passes one frame, its
//! transfer (`Kernel::transfer`), which stay the reference, serve every
//! other architecture and the host tests, and still run on the A7 for the
//! cases the assembly leaves to them (but `fast_call`,
//! `fast_reply_receive` and, but for `Poll`, `fast_wait_notification`,
//! which the A7 leaves out: `Platform::IPC_FAST_PATH_OUTSIDE`). The
//! assembly gets every offset, tag and bit from [`Layout`], so a change of
//! layout changes the assembly with it; what the layout cannot express (an
//! `Option`'s representation, an enum's tag values) is checked here at
//! compile time.

use super::ipc::{EndpointObject, Ipc, NotificationObject, CALLER_GONE, NOTIFICATION_BITS_OFFSET, NO_CALLER};
use super::{table, Kernel, Platform, Process, State, UserContext, CSPACE_OFFSET, PROCESS_OBJECT_BYTES};
use crate::capability::{
    Capability, Slot, SLOT_CAPABILITY_OFFSET, SLOT_DEPTH_OFFSET, SLOT_INDEX_BITS, SLOT_NEXT_OFFSET,
    SLOT_PREVIOUS_OFFSET, SLOT_TAG_OFFSET, TAG_SHIFT,
};
use core::mem::{offset_of, size_of};
use tessera_abi::capability::{CSPACE_SLOTS, GENERATION_LIMIT, HANDLE_INDEX_BITS};
use tessera_abi::{ipc, ObjectType, Rights, FOREVER, NO_WAIT};

/// Byte offsets, tags and bits for a fast path (see the module
/// documentation). Offsets into the kernel are from the `Kernel` value;
/// offsets into a process are from its entry (whose saved context comes
/// first), into a slot from the slot, into an endpoint from its object.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Layout {
    /// `Kernel::current`, an `Option<usize>`: its tag word, then the index.
    pub kernel_current: u32,
    /// `Kernel::loaded`, a `u32` (an object's address; 0: none), the word
    /// after `current`'s index (checked below).
    pub kernel_loaded: u32,
    /// The tag words of `Some` and `None` in an `Option<usize>`.
    pub some_tag: u32,
    pub none_tag: u32,
    /// `Kernel::timer_dirty` (a byte).
    pub kernel_timer_dirty: u32,
    /// The run queues' bitmap of non-empty priorities, their heads and
    /// tails (a `u32` link, index + 1, per level) and how many levels
    /// there are (a priority's level is its low bits).
    pub kernel_ready_levels: u32,
    pub kernel_queue_heads: u32,
    pub kernel_queue_tails: u32,
    pub queue_levels: u32,
    /// The running thread's slice end, the ticks a slice lasts and the
    /// deadline the timer is armed with (each a `u64`).
    pub kernel_slice_end: u32,
    pub kernel_slice_ticks: u32,
    pub kernel_armed_deadline: u32,
    /// The lower bound on blocked threads' deadlines (`earliest_wakeup`, a
    /// `u64`) and the clock's ticks per microsecond (a `u64`, 32.32 fixed
    /// point: `time::Clock::ticks`).
    pub kernel_earliest_wakeup: u32,
    pub kernel_ticks_per_micro: u32,
    /// The process table: where the entry of index 0 is reached (an
    /// index's is `index << object_shift` further).
    pub kernel_entries: u32,
    /// The first live process, as index + 1 (0: none; a `u32`), and each
    /// process's next (`Process::live_next`, the same).
    pub kernel_first_live: u32,
    pub process_live_next: u32,
    /// log2 of `PROCESS_OBJECT_BYTES`.
    pub object_shift: u32,
    /// How far below a process's entry the pointer to slot 0 of its CSpace
    /// lies. The assembly reaches a slot through a pointer [`SLOT_POINTER`]
    /// bytes into it, from which one `ldmib` reads the slot's badge, kind,
    /// object, rights and tag (`LOOKUP`), and this distance is an
    /// immediate a `sub` can take (both checked below).
    pub cspace_below_entry: u32,
    pub cspace_slots: u32,
    /// A handle's bits that index a CSpace (`cspace_slots` is 2 to their
    /// power); the handle shifted right by them is its slot's tag when it
    /// names that slot (`capability::Slot`'s `tag`: one compare for the
    /// index's range and the generation).
    pub slot_index_bits: u32,
    pub slot_bytes: u32,
    /// The offsets of a slot's fields are from its pointer (see
    /// `cspace_below_entry`): some are negative.
    pub slot_tag: i32,
    /// A slot's depth in the derivation tree and its list links (each a
    /// `u32`: `space << 16 | index`, 0 for none).
    pub slot_depth: i32,
    pub slot_previous: i32,
    pub slot_next: i32,
    /// A slot's tag goes to the next generation: `tag_step` added, wrapped
    /// with `tag_mask`.
    pub tag_step: u32,
    pub tag_mask: u32,
    /// The kind word of an empty slot (`None`).
    pub empty_kind: u32,
    /// The fields of the capability in a slot, from the slot's pointer
    /// (its badge, object and rights are read only with `LOOKUP`'s `ldmib`, placed
    /// by `SLOT_POINTER`'s checks).
    pub capability_kind: i32,
    pub capability_size: i32,
    /// `data[0]`, where a frame or device region keeps [`Self::mapped`]
    /// (`data[1]` follows).
    pub capability_data: i32,
    pub endpoint_kind: u32,
    pub frame_kind: u32,
    pub device_region_kind: u32,
    /// Set in `data[0]` of a frame or device region while it is mapped.
    pub mapped: u32,
    pub notification_kind: u32,
    pub right_send: u32,
    pub right_receive: u32,
    pub right_signal: u32,
    pub right_wait: u32,
    /// A notification's waiters (head and tail links, as an endpoint's),
    /// bits and bound process (index + 1, 0: none).
    pub notification_head: u32,
    pub notification_tail: u32,
    pub notification_bits: u32,
    pub notification_bound: u32,
    /// Bits of a message's info word above the label: any set, the
    /// general path.
    pub label_bits: u32,
    /// A derived capability's greatest depth (`capability::MAX_DEPTH`).
    pub max_depth: u32,
    pub right_grant: u32,
    pub endpoint_head: u32,
    pub endpoint_tail: u32,
    pub endpoint_first_receiver: u32,
    /// A process entry's fields.
    pub process_state: u32,
    /// `State::Ipc`'s deadline (a `u64`).
    pub process_until: u32,
    pub process_priority: u32,
    pub process_base_priority: u32,
    pub process_ipc: u32,
    /// The first `u32` of `Ipc::Receiving`, `Ipc::AwaitingReply` and
    /// `Ipc::Notification` (the endpoint, the server, the notification),
    /// and the second of `Ipc::Notification` (the mask).
    pub process_ipc_argument: u32,
    pub process_ipc_mask: u32,
    /// Its `reply_to` and IPC queue link: process links, the address of
    /// an entry (`ProcessTable::link`), which the assembly reaches as is.
    pub process_reply_to: u32,
    pub process_ipc_next: u32,
    /// Its own index (`Process::index`), for `Kernel::current`.
    pub process_index: u32,
    pub process_bound: u32,
    /// Its run-queue link (index + 1) and level (priority + 1, a byte; 0:
    /// not queued).
    pub process_run_next: u32,
    pub process_run_level: u32,
    pub process_asid: u32,
    /// `Process::slice_spent` (a `bool`: a byte, 0 or 1).
    pub process_slice_spent: u32,
    /// The saved `r1`, `r7`, `pc` and thread register (r0-r12 come first, in
    /// order: one `stm` writes a message's r0-r5). The word after the
    /// thread register is what fast_switch loads into TTBR0
    /// (`Process::table_word`, checked below).
    pub process_r1: u32,
    pub process_r7: u32,
    pub process_pc: u32,
    pub process_thread_register: u32,
    /// `State::Ready`'s tag (`Running`'s is 0, checked below: the paths
    /// store it from a register that holds 0).
    pub state_ready: u32,
    /// `State::Sleeping`'s tag; `Waiting`'s and `Ipc`'s are the next two,
    /// and all three keep their deadline at `process_until`.
    pub state_sleeping: u32,
    pub state_ipc: u32,
    pub ipc_none: u32,
    pub ipc_receiving: u32,
    pub ipc_awaiting_reply: u32,
    pub ipc_notification: u32,
    /// The interrupt bindings (`Kernel::bindings`): where they start, the
    /// bytes of one (its interrupt number, a `u32`, first; 0: unused) and
    /// how many there are; an interrupt capability's kind.
    pub kernel_bindings: u32,
    pub binding_bytes: u32,
    /// A binding's notification (its object's address) and bits (each a
    /// `u32`).
    pub binding_notification: u32,
    pub binding_bits: u32,
    pub max_bindings: u32,
    pub interrupt_kind: u32,
    /// The timeouts a wait may carry: no limit, and none at all.
    pub forever: u32,
    pub no_wait: u32,
}

/// A `repr(u32)` enum's variant with one `u64` field, as the language lays
/// it out (a `repr(C)` struct after the tag).
#[repr(C)]
struct TagAndU64 {
    tag: u32,
    value: u64,
}

/// The same with one `u32` field.
#[repr(C)]
struct TagAndU32 {
    tag: u32,
    value: u32,
}

/// The same with two `u32` fields.
#[repr(C)]
struct TagAndTwoU32 {
    tag: u32,
    first: u32,
    second: u32,
}

/// The tag word of `value`, a `repr(u32)` enum.
const fn state_tag(value: State) -> u32 {
    // SAFETY: `State` is `repr(u32)`: its first four bytes are its tag,
    // always initialised.
    unsafe { *(&value as *const State as *const u32) }
}

const fn ipc_tag(value: Ipc) -> u32 {
    // SAFETY: as in `state_tag`; `Ipc` is `repr(u32)`.
    unsafe { *(&value as *const Ipc as *const u32) }
}

const UNTIL: usize = offset_of!(TagAndU64, value);
const IPC_ARGUMENT: usize = offset_of!(TagAndU32, value);
const IPC_MASK: usize = offset_of!(TagAndTwoU32, second);
const _: () = assert!(offset_of!(TagAndTwoU32, first) == IPC_ARGUMENT);

// The payload offsets hold what the variants put there.
const _: () = {
    let state = State::Ipc { until: 0x1122_3344_5566_7788 };
    // SAFETY: `until` lies at `UNTIL` in `State::Ipc` (repr(u32)), aligned.
    let until = unsafe { *((&state as *const State as *const u8).add(UNTIL) as *const u64) };
    assert!(until == 0x1122_3344_5566_7788);
    // The three timed states keep the deadline in the same place, and
    // their tags are consecutive (the idle wait's timer check).
    let sleeping = State::Sleeping { until: 0x0102_0304_0506_0708 };
    // SAFETY: as above, for `State::Sleeping`.
    let until = unsafe { *((&sleeping as *const State as *const u8).add(UNTIL) as *const u64) };
    assert!(until == 0x0102_0304_0506_0708);
    let waiting = State::Waiting { target: 0x0A0B, until: 0x1112_1314_1516_1718 };
    // SAFETY: as above, for `State::Waiting`.
    let until = unsafe { *((&waiting as *const State as *const u8).add(UNTIL) as *const u64) };
    assert!(until == 0x1112_1314_1516_1718);
    let first = state_tag(State::Sleeping { until: 0 });
    assert!(state_tag(State::Waiting { target: 0, until: 0 }) == first + 1);
    assert!(state_tag(State::Ipc { until: 0 }) == first + 2);
    let ipc = Ipc::AwaitingReply { server: 0x5EED };
    // SAFETY: as above for `Ipc::AwaitingReply`'s `u32`.
    let server = unsafe { *((&ipc as *const Ipc as *const u8).add(IPC_ARGUMENT) as *const u32) };
    assert!(server == 0x5EED);
    let ipc = Ipc::Notification { object: 0x0B1E, mask: 0x3A5C };
    // SAFETY: as above, for both of `Ipc::Notification`'s `u32`s.
    let (object, mask) = unsafe {
        let base = &ipc as *const Ipc as *const u8;
        (*(base.add(IPC_ARGUMENT) as *const u32), *(base.add(IPC_MASK) as *const u32))
    };
    assert!(object == 0x0B1E && mask == 0x3A5C);
    let ipc = Ipc::Receiving { endpoint: 0xE0 };
    // SAFETY: as above.
    let endpoint = unsafe { *((&ipc as *const Ipc as *const u8).add(IPC_ARGUMENT) as *const u32) };
    assert!(endpoint == 0xE0);
};

// A slot's `Option<Capability>` holds a `Some` capability in place (the
// `kind` field's spare values stand for `None`), so the capability's
// offsets hold within the slot.
const _: () = {
    assert!(size_of::<Option<Capability>>() == size_of::<Capability>());
    let some = Some(Capability {
        kind: ObjectType::Endpoint,
        rights: Rights::SEND,
        badge: 0xBAD6E,
        object: 0x0B1E_C700,
        size: 0,
        data: [0; 2],
    });
    let base = &some as *const Option<Capability> as *const u8;
    // SAFETY: `Capability` is seven initialised `u32`s (no padding), and
    // `Some` holds it at offset 0 (checked by the sizes above and the
    // reads here), each field aligned.
    unsafe {
        assert!(*(base.add(offset_of!(Capability, kind)) as *const u32) == ObjectType::Endpoint as u32);
        assert!(*(base.add(offset_of!(Capability, rights)) as *const u32) == Rights::SEND.bits());
        assert!(*(base.add(offset_of!(Capability, badge)) as *const u32) == 0xBAD6E);
        assert!(*(base.add(offset_of!(Capability, object)) as *const u32) == 0x0B1E_C700);
    }
};

/// The tag word of `Some` in an `Option<usize>` of two words (the 32-bit
/// targets the fast paths run on).
#[cfg(target_pointer_width = "32")]
const SOME_TAG: u32 = {
    let some: Option<usize> = Some(0x5A5A_5A5A);
    // SAFETY: an `Option<usize>` is two words here (`transmute` checks the
    // sizes) and `Some` initialises both.
    let words: [u32; 2] = unsafe { core::mem::transmute(some) };
    assert!(words[1] == 0x5A5A_5A5A, "Option<usize> keeps its value in its second word");
    assert!(words[0] != 0, "Some's tag is not None's");
    words[0]
};
/// On the 64-bit host the layout is never used by assembly.
#[cfg(not(target_pointer_width = "32"))]
const SOME_TAG: u32 = 1;

/// The tag word of `None` in an `Option<usize>` (its value word is
/// not initialised: only the tag is read).
#[cfg(target_pointer_width = "32")]
const NONE_TAG: u32 = {
    let none: Option<usize> = None;
    // SAFETY: the first word of an `Option<usize>` of two words is its tag,
    // initialised for `None` too; it is read at its aligned offset.
    let tag = unsafe { *(&none as *const Option<usize> as *const u32) };
    assert!(tag != SOME_TAG);
    tag
};
#[cfg(not(target_pointer_width = "32"))]
const NONE_TAG: u32 = 0;

// The widths the assembly reads and writes these fields with (`ldrb` for
// a `bool` or `u8`, `ldr` for a `u32`, `ldrd` for a `u64`): a field whose
// type changes fails to compile here.
fn _process_field_types(p: &Process) -> (u8, bool, u8, [u32; 11]) {
    (
        p.asid,
        p.slice_spent,
        p.run_level,
        [
            p.priority,
            p.base_priority,
            p.reply_to,
            p.ipc_next,
            p.bound,
            p.run_next,
            p.table_word,
            p.context.pc,
            p.live_next,
            p.index,
            p.memory,
        ],
    )
}
fn _kernel_field_types<P: Platform>(kernel: &Kernel<P>) -> (bool, [u64; 4], Option<usize>, u32) {
    (
        kernel.timer_dirty,
        [kernel.slice_end, kernel.slice_ticks, kernel.armed_deadline, kernel.earliest_wakeup],
        kernel.current,
        kernel.loaded,
    )
}

// The handle's slot index is its low byte, of which a CSpace's indices use
// the low `SLOT_INDEX_BITS` (the assembly masks with `CSPACE_SLOTS - 1`, an
// immediate).
const _: () = assert!(HANDLE_INDEX_BITS == 8 && CSPACE_SLOTS <= 256 && CSPACE_SLOTS == 1 << SLOT_INDEX_BITS);

/// An empty slot's kind word: the `None` of its `Option<Capability>`.
const EMPTY_KIND: u32 = {
    let none: Option<Capability> = None;
    // SAFETY: `None` is the niche value in the niche field, `kind`, whose
    // four bytes are initialised; it is read at its aligned offset.
    unsafe { *((&none as *const Option<Capability> as *const u8).add(offset_of!(Capability, kind)) as *const u32) }
};

// It is none of the kinds the assembly accepts, and writing it alone
// empties a slot: the `None` a slot holds is that word, whatever the
// others hold.
const _: () = {
    assert!(EMPTY_KIND != ObjectType::Endpoint as u32 && EMPTY_KIND != ObjectType::Notification as u32);
    assert!(EMPTY_KIND != ObjectType::Frame as u32 && EMPTY_KIND != ObjectType::DeviceRegion as u32);
    let mut words = [0x5A5A_5A5Au32; size_of::<Capability>() / 4];
    words[offset_of!(Capability, kind) / 4] = EMPTY_KIND;
    // SAFETY: seven `u32`s, the size of an `Option<Capability>` (checked
    // above), whose kind word holds the niche: `None`, whose other bytes
    // are not read.
    let option: Option<Capability> = unsafe { core::mem::transmute(words) };
    assert!(option.is_none());
};
/// Where the assembly's pointer to a slot points, in bytes into the slot:
/// the word before its badge, so that `ldmib` from it reads the badge,
/// kind, object, rights and tag (`LOOKUP`, svc.s), which are a slot's five
/// consecutive words in that order (checked here; each a `u32`: the
/// transfer's and the `Option`'s checks around).
pub const SLOT_POINTER: usize = SLOT_CAPABILITY_OFFSET + offset_of!(Capability, badge) - 4;
const _: () = {
    let badge = SLOT_POINTER + 4;
    assert!(SLOT_CAPABILITY_OFFSET + offset_of!(Capability, kind) == badge + 4);
    assert!(SLOT_CAPABILITY_OFFSET + offset_of!(Capability, object) == badge + 8);
    assert!(SLOT_CAPABILITY_OFFSET + offset_of!(Capability, rights) == badge + 12);
    assert!(SLOT_TAG_OFFSET == badge + 16);
};

/// How far below a process's entry the pointer to slot 0 lies
/// ([`Layout::cspace_below_entry`]).
const SLOT_0_POINTER_BELOW_ENTRY: u32 = table::ENTRY_OFFSET - CSPACE_OFFSET - SLOT_POINTER as u32;

/// Whether `value` is an A32 modified immediate: 8 bits rotated right by
/// an even amount.
const fn arm_immediate(value: u32) -> bool {
    let mut rotation = 0;
    while rotation < 32 {
        if value.rotate_left(rotation) <= 0xFF {
            return true;
        }
        rotation += 2;
    }
    false
}

// The A7's `LOOKUP`, `SLOT_AT` and the transfer find slot 0's pointer with
// one `sub` from the entry (the gap between the CSpace and the entry,
// `table::ENTRY_BYTES`, is what makes the distance one).
const _: () = assert!(arm_immediate(SLOT_0_POINTER_BELOW_ENTRY));

// The transfer copies a capability's badge, kind, object and rights with
// one `ldmib`/`stmib`, then its size, and zeroes `data`: seven `u32`s and
// nothing else, so no field is left stale in the copy.
const _: () = assert!(size_of::<Capability>() == 7 * 4);
const _: fn(&Capability) -> [u32; 5] = |c| [c.badge, c.object, c.size, c.data[0], c.data[1]];
const _: fn(&Capability) -> [u32; 2] = |c| c.data;
// A generation wraps at a power of two (`capability::empty`'s `%`).
const _: () = assert!(GENERATION_LIMIT.is_power_of_two());

// The reply_to encoding the assembly relies on: both "no caller" values
// are the two largest words (one unsigned compare), above every link
// (RAM ends below them: `ProcessTable::init`).
const _: () = assert!(NO_CALLER == u32::MAX && CALLER_GONE == u32::MAX - 1);
// The paths store `Running` from a register that holds 0.
const _: () = assert!(state_tag(State::Running) == 0);
const _: () = assert!(ipc::LABEL_MASK == 0xFFFF);
// The info word's capability count lies just above the label, and no bit
// above it is free: `info >> label_bits == 1` is one capability and
// nothing reserved.
const _: () = assert!(ipc::CAPS_SHIFT == ipc::LABEL_MASK.count_ones() && ipc::caps(ipc::info(0, 1)) == 1);
const _: () = assert!(ipc::info(0, 1) >> ipc::CAPS_SHIFT == 1 && ipc::RESERVED_MASK == !0x3_FFFF);
const _: () = assert!(PROCESS_OBJECT_BYTES.is_power_of_two());
// A receive answered by a bound notification (`notify_receiver`): label 0
// with no capability is an info word of 0, and the badge is all ones (the
// IRQ path stores 0 and `mvn #0`).
const _: () = assert!(ipc::info(0, 0) == 0 && tessera_abi::NOTIFIED_BADGE == u32::MAX);
const _: () = assert!(offset_of!(Process, context) == 0 && offset_of!(UserContext, r) == 0);
// `ReplyReceive` reads a client's ASID and `slice_spent` with one `ldrh`
// (svc.s): the flag (a `bool`, 0 or 1: `_process_field_types`) the byte
// after the ASID, so the high byte of the little-endian halfword, the
// pair at an even offset that fits `ldrh`'s 8-bit immediate.
const _: () = assert!(
    offset_of!(Process, slice_spent) == offset_of!(Process, asid) + 1
        && offset_of!(Process, asid) % 2 == 0
        && offset_of!(Process, asid) < 256
        && cfg!(target_endian = "little")
);
// `ReplyReceive` loads `reply_to` and the bound notification with one
// `ldrd` (svc.s): the second word right after the first, at a word
// boundary within the instruction's 8-bit offset.
const _: () = assert!(
    offset_of!(Process, bound) == offset_of!(Process, reply_to) + 4
        && offset_of!(Process, reply_to) % 4 == 0
        && offset_of!(Process, reply_to) < 256
);
// The switch loads the saved CPSR, the thread register, the table word,
// the index and the object's address with one `ldmib` from the `pc` field
// (svc.s, `SWITCH`), five consecutive words, and stores the last two with
// one `strd` as `current`'s index and `loaded`, which follows it (on the
// 32-bit targets, where an `Option<usize>` is its tag word and its value:
// `SOME_TAG`). Armv7's `ldrd` and `strd` need no more than a word
// boundary with SCTLR.A clear.
const _: () = {
    let pc = offset_of!(UserContext, pc);
    assert!(offset_of!(UserContext, cpsr) == pc + 4 && offset_of!(UserContext, thread_register) == pc + 8);
    assert!(offset_of!(Process, table_word) == pc + 12 && offset_of!(Process, index) == pc + 16);
    assert!(offset_of!(Process, memory) == pc + 20 && pc % 4 == 0);
};

// A blocked process's state tag, its deadline and its reason with the
// reason's first word lie in six consecutive words, which one `stm` writes
// (svc.s, `BLOCK_FOREVER_FOR`): the tag, a padding word, the deadline,
// the `Ipc` tag and its argument.
const _: () = assert!(
    UNTIL == 8
        && size_of::<State>() == 16
        && offset_of!(Process, ipc) == offset_of!(Process, state) + 16
        && IPC_ARGUMENT == 4
);

const fn at(offset: usize) -> u32 {
    offset as u32
}

/// A slot field's offset from the slot's pointer (see [`SLOT_POINTER`]).
const fn in_slot(offset: usize) -> i32 {
    offset as i32 - SLOT_POINTER as i32
}

impl<P: Platform> Kernel<P> {
    /// The layout for this kernel (see [`Layout`]).
    pub const FAST_PATH: Layout = Layout {
        kernel_current: at(offset_of!(Self, current)),
        kernel_loaded: {
            // Evaluated wherever `FAST_PATH` is (the A7's svc.rs takes its
            // offsets from it): on the 32-bit targets `loaded` is the word
            // after `current`'s index, which the switch's `strd` writes.
            let (current, loaded) = (offset_of!(Self, current), offset_of!(Self, loaded));
            assert!(size_of::<usize>() != 4 || (loaded == current + 8 && current % 4 == 0));
            at(loaded)
        },
        some_tag: SOME_TAG,
        none_tag: NONE_TAG,
        kernel_timer_dirty: at(offset_of!(Self, timer_dirty)),
        kernel_ready_levels: at(offset_of!(Self, queues) + crate::sched::NONEMPTY_OFFSET),
        kernel_queue_heads: at(offset_of!(Self, queues) + crate::sched::HEAD_OFFSET),
        kernel_queue_tails: at(offset_of!(Self, queues) + crate::sched::TAIL_OFFSET),
        queue_levels: crate::sched::QUEUE_LEVELS as u32,
        kernel_slice_end: at(offset_of!(Self, slice_end)),
        kernel_slice_ticks: at(offset_of!(Self, slice_ticks)),
        kernel_armed_deadline: at(offset_of!(Self, armed_deadline)),
        kernel_earliest_wakeup: at(offset_of!(Self, earliest_wakeup)),
        kernel_ticks_per_micro: at(offset_of!(Self, clock) + crate::time::TICKS_PER_MICRO_OFFSET),
        kernel_entries: at(offset_of!(Self, processes) + table::ENTRIES_OFFSET),
        kernel_first_live: at(offset_of!(Self, processes) + table::FIRST_OFFSET),
        process_live_next: at(offset_of!(Process, live_next)),
        object_shift: PROCESS_OBJECT_BYTES.trailing_zeros(),
        cspace_below_entry: SLOT_0_POINTER_BELOW_ENTRY,
        cspace_slots: CSPACE_SLOTS as u32,
        slot_index_bits: SLOT_INDEX_BITS,
        slot_bytes: at(size_of::<Slot>()),
        slot_tag: in_slot(SLOT_TAG_OFFSET),
        slot_depth: in_slot(SLOT_DEPTH_OFFSET),
        slot_previous: in_slot(SLOT_PREVIOUS_OFFSET),
        slot_next: in_slot(SLOT_NEXT_OFFSET),
        tag_step: 1 << TAG_SHIFT,
        tag_mask: (GENERATION_LIMIT - 1) << TAG_SHIFT,
        empty_kind: EMPTY_KIND,
        capability_kind: in_slot(SLOT_CAPABILITY_OFFSET + offset_of!(Capability, kind)),
        capability_size: in_slot(SLOT_CAPABILITY_OFFSET + offset_of!(Capability, size)),
        capability_data: in_slot(SLOT_CAPABILITY_OFFSET + offset_of!(Capability, data)),
        endpoint_kind: ObjectType::Endpoint as u32,
        frame_kind: ObjectType::Frame as u32,
        device_region_kind: ObjectType::DeviceRegion as u32,
        mapped: super::capabilities::MAPPED,
        notification_kind: ObjectType::Notification as u32,
        right_send: Rights::SEND.bits(),
        right_receive: Rights::RECEIVE.bits(),
        right_signal: Rights::SIGNAL.bits(),
        right_wait: Rights::WAIT.bits(),
        notification_head: at(offset_of!(NotificationObject, queue) + offset_of!(super::ipc::Queue, head)),
        notification_tail: at(offset_of!(NotificationObject, queue) + offset_of!(super::ipc::Queue, tail)),
        notification_bits: at(NOTIFICATION_BITS_OFFSET),
        notification_bound: at(offset_of!(NotificationObject, bound)),
        label_bits: ipc::LABEL_MASK.count_ones(),
        max_depth: crate::capability::MAX_DEPTH,
        right_grant: Rights::GRANT.bits(),
        endpoint_head: at(offset_of!(EndpointObject, queue) + offset_of!(super::ipc::Queue, head)),
        endpoint_tail: at(offset_of!(EndpointObject, queue) + offset_of!(super::ipc::Queue, tail)),
        endpoint_first_receiver: at(offset_of!(EndpointObject, first_receiver)),
        process_state: at(offset_of!(Process, state)),
        process_until: at(offset_of!(Process, state) + UNTIL),
        process_priority: at(offset_of!(Process, priority)),
        process_base_priority: at(offset_of!(Process, base_priority)),
        process_ipc: at(offset_of!(Process, ipc)),
        process_ipc_argument: at(offset_of!(Process, ipc) + IPC_ARGUMENT),
        process_ipc_mask: at(offset_of!(Process, ipc) + IPC_MASK),
        process_reply_to: at(offset_of!(Process, reply_to)),
        process_ipc_next: at(offset_of!(Process, ipc_next)),
        process_index: at(offset_of!(Process, index)),
        process_bound: at(offset_of!(Process, bound)),
        process_run_next: at(offset_of!(Process, run_next)),
        process_run_level: at(offset_of!(Process, run_level)),
        process_slice_spent: at(offset_of!(Process, slice_spent)),
        process_asid: at(offset_of!(Process, asid)),
        process_r1: at(offset_of!(Process, context) + offset_of!(UserContext, r) + 4),
        process_r7: at(offset_of!(Process, context) + offset_of!(UserContext, r) + 7 * 4),
        process_pc: at(offset_of!(Process, context) + offset_of!(UserContext, pc)),
        process_thread_register: at(offset_of!(Process, context) + offset_of!(UserContext, thread_register)),
        state_ready: state_tag(State::Ready),
        state_sleeping: state_tag(State::Sleeping { until: 0 }),
        state_ipc: state_tag(State::Ipc { until: 0 }),
        ipc_none: ipc_tag(Ipc::None),
        ipc_receiving: ipc_tag(Ipc::Receiving { endpoint: 0 }),
        ipc_awaiting_reply: ipc_tag(Ipc::AwaitingReply { server: 0 }),
        ipc_notification: ipc_tag(Ipc::Notification { object: 0, mask: 0 }),
        kernel_bindings: at(offset_of!(Self, bindings)),
        binding_bytes: at(size_of::<super::ipc::Binding>()),
        binding_notification: at(super::ipc::BINDING_NOTIFICATION_OFFSET),
        binding_bits: at(super::ipc::BINDING_BITS_OFFSET),
        max_bindings: super::ipc::MAX_BINDINGS as u32,
        interrupt_kind: ObjectType::Interrupt as u32,
        forever: FOREVER,
        no_wait: NO_WAIT,
    };
}

#[cfg(test)]
mod tests {
    use super::arm_immediate;

    /// The encodings the assembler takes: 8 bits rotated right by an even
    /// amount, wrapping.
    #[test]
    fn arm_immediates_are_eight_bits_rotated_by_an_even_amount() {
        for value in [0, 0xFF, 0x1600, 5632, 0xFF00_0000, 0xF000_000F, 0x3FC] {
            assert!(arm_immediate(value), "{value:#x}");
        }
        // Too wide (9 bits), or 8 bits at an odd position.
        for value in [0x101, 5640, 0x1620, 0x1FE, 0x8000_007F, u32::MAX] {
            assert!(!arm_immediate(value), "{value:#x}");
        }
        // Every 8-bit value at every even rotation.
        for bits in 0..=0xFFu32 {
            for rotation in (0..32).step_by(2) {
                assert!(arm_immediate(bits.rotate_right(rotation)));
            }
        }
    }
}
