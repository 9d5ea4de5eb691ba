//! The IPC fast paths in assembly (fast_path.s): `Call` and `ReplyReceive`
//! in the common case, before the kernel enters Rust. Every offset, tag and
//! bit they use is `kernel_core`'s [`Layout`] for this kernel.

use crate::kernel::{Kernel, KERNEL, KERNEL_IN_CELL};
use kernel_core::kernel::fast_path::Layout;
use tessera_abi::Syscall;

const LAYOUT: Layout = Kernel::FAST_PATH;

// entry.s sends syscalls 21 and 23 here; they must be these two.
const _: () = assert!(Syscall::Call as u32 == 21 && Syscall::ReplyReceive as u32 == 23);
// The context's offsets entry.s uses (`pc` 60 bytes in, the thread
// register 8 after it) are the layout's.
const _: () = assert!(LAYOUT.process_pc == 60 && LAYOUT.process_thread_register == 68);

core::arch::global_asm!(
    include_str!("fast_path.s"),
    kernel = sym KERNEL,
    kernel_in_cell = const KERNEL_IN_CELL,
    walk_attributes = const super::mmu::WALK_ATTRIBUTES,
    label_bits = const LAYOUT.label_bits,
    cspace_slots = const LAYOUT.cspace_slots,
    process_pc = const LAYOUT.process_pc,
    cspace_below_entry = const LAYOUT.cspace_below_entry,
    slot_bytes = const LAYOUT.slot_bytes,
    slot_generation = const LAYOUT.slot_generation,
    handle_index_bits = const LAYOUT.handle_index_bits,
    capability_kind = const LAYOUT.capability_kind,
    endpoint_kind = const LAYOUT.endpoint_kind,
    capability_rights = const LAYOUT.capability_rights,
    right_send = const LAYOUT.right_send,
    right_receive = const LAYOUT.right_receive,
    capability_object = const LAYOUT.capability_object,
    capability_badge = const LAYOUT.capability_badge,
    endpoint_head = const LAYOUT.endpoint_head,
    endpoint_tail = const LAYOUT.endpoint_tail,
    endpoint_receivers_queued = const LAYOUT.endpoint_receivers_queued,
    kernel_blocks = const LAYOUT.kernel_blocks,
    kernel_generations = const LAYOUT.kernel_generations,
    kernel_len = const LAYOUT.kernel_len,
    object_shift = const LAYOUT.object_shift,
    entry_offset = const LAYOUT.entry_offset,
    process_reply_to = const LAYOUT.process_reply_to,
    process_mapped = const LAYOUT.process_mapped,
    process_state = const LAYOUT.process_state,
    state_ipc = const LAYOUT.state_ipc,
    process_until = const LAYOUT.process_until,
    process_asid = const LAYOUT.process_asid,
    process_asid_epoch = const LAYOUT.process_asid_epoch,
    kernel_asid_epoch = const LAYOUT.kernel_asid_epoch,
    kernel_timer_dirty = const LAYOUT.kernel_timer_dirty,
    process_ipc_next = const LAYOUT.process_ipc_next,
    process_r7 = const LAYOUT.process_r7,
    ipc_none = const LAYOUT.ipc_none,
    process_ipc = const LAYOUT.process_ipc,
    process_priority = const LAYOUT.process_priority,
    state_running = const LAYOUT.state_running,
    ipc_awaiting_reply = const LAYOUT.ipc_awaiting_reply,
    process_ipc_argument = const LAYOUT.process_ipc_argument,
    process_bound = const LAYOUT.process_bound,
    kernel_ready_levels = const LAYOUT.kernel_ready_levels,
    process_base_priority = const LAYOUT.process_base_priority,
    ipc_receiving = const LAYOUT.ipc_receiving,
    some_tag = const LAYOUT.some_tag,
    kernel_current = const LAYOUT.kernel_current,
    kernel_loaded = const LAYOUT.kernel_loaded,
    process_thread_register = const LAYOUT.process_thread_register,
    process_memory = const LAYOUT.process_memory,
);
