//! The syscall entry and its fast paths in assembly (svc.s): `Call`,
//! `ReplyReceive`, `Receive`, `Yield`, `Signal`, `WaitNotification`,
//! `InterruptAck` and `CapDelete` in the common case, before the kernel
//! enters Rust, and an IRQ's common case, in a thread or in the idle wait.
//! Every offset, tag and bit they use is `kernel_core`'s [`Layout`] for
//! this kernel.

use crate::kernel::{Kernel, KERNEL, KERNEL_IN_CELL};
use kernel_core::kernel::fast_path::Layout;
use tessera_abi::Syscall;

const LAYOUT: Layout = Kernel::FAST_PATH;

const CALL: u32 = Syscall::Call as u32;
const REPLY_RECEIVE: u32 = Syscall::ReplyReceive as u32;
const RECEIVE: u32 = Syscall::Receive as u32;
const INTERRUPT_ACK: u32 = Syscall::InterruptAck as u32;
const YIELD: u32 = Syscall::Yield as u32;
const SIGNAL: u32 = Syscall::Signal as u32;
const WAIT_NOTIFICATION: u32 = Syscall::WaitNotification as u32;
const CAP_DELETE: u32 = Syscall::CapDelete as u32;
/// The dispatch table's length: up to the highest number with a fast path.
const TABLE_LEN: u32 = 1 + max(
    max(max(CALL, REPLY_RECEIVE), max(RECEIVE, INTERRUPT_ACK)),
    max(max(YIELD, CAP_DELETE), max(SIGNAL, WAIT_NOTIFICATION)),
);

const fn max(a: u32, b: u32) -> u32 {
    if a > b {
        a
    } else {
        b
    }
}
const _: () = assert!(YIELD < TABLE_LEN && TABLE_LEN <= 255);
// A process leaving IPC gets `Ipc::None` from a register that holds 0.
const _: () = assert!(LAYOUT.ipc_none == 0);
// The waits tell FOREVER with `cmn <register>, #1`.
const _: () = assert!(LAYOUT.forever == u32::MAX);
// The context's offsets entry.s uses (`pc` 60 bytes in, the thread
// register 8 after it) are the layout's.
const _: () = assert!(LAYOUT.process_pc == 60 && LAYOUT.process_thread_register == 68);
/// A right's bit number + 1: `HAS_RIGHT` (svc.s) shifts the rights right
/// by it, which leaves that bit in C. Each right is one bit.
const fn carry(right: u32) -> u32 {
    assert!(right.is_power_of_two());
    right.trailing_zeros() + 1
}

core::arch::global_asm!(
    include_str!("svc.s"),
    kernel = sym KERNEL,
    kernel_in_cell = const KERNEL_IN_CELL,
    table_len = const TABLE_LEN,
    call = const CALL,
    reply_receive = const REPLY_RECEIVE,
    receive = const RECEIVE,
    interrupt_ack = const INTERRUPT_ACK,
    distributor = sym super::gic::DISTRIBUTOR,
    cpu_interface = sym super::gic::CPU_INTERFACE,
    gicd_isenabler = const super::gic::GICD_ISENABLER,
    gicd_icenabler = const super::gic::GICD_ICENABLER,
    gicc_iar = const super::gic::GICC_IAR,
    gicc_eoir = const super::gic::GICC_EOIR,
    spurious = const super::gic::SPURIOUS,
    timer_interrupt = sym super::timer::TIMER_INTERRUPT,
    binding_notification = const LAYOUT.binding_notification,
    binding_bits = const LAYOUT.binding_bits,
    none_tag = const LAYOUT.none_tag,
    send_carry = const carry(LAYOUT.right_send),
    receive_carry = const carry(LAYOUT.right_receive),
    interrupt_kind = const LAYOUT.interrupt_kind,
    kernel_bindings = const LAYOUT.kernel_bindings,
    binding_bytes = const LAYOUT.binding_bytes,
    max_bindings = const LAYOUT.max_bindings,
    yield_number = const YIELD,
    signal = const SIGNAL,
    wait_notification = const WAIT_NOTIFICATION,
    cap_delete = const CAP_DELETE,
    capability_data = const LAYOUT.capability_data,
    capability_size = const LAYOUT.capability_size,
    max_depth = const LAYOUT.max_depth,
    right_grant = const LAYOUT.right_grant,
    device_region_kind = const LAYOUT.device_region_kind,
    empty_kind = const LAYOUT.empty_kind,
    frame_kind = const LAYOUT.frame_kind,
    tag_mask = const LAYOUT.tag_mask,
    tag_step = const LAYOUT.tag_step,
    mapped = const LAYOUT.mapped,
    slot_depth = const LAYOUT.slot_depth,
    slot_next = const LAYOUT.slot_next,
    slot_previous = const LAYOUT.slot_previous,
    capability_kind = const LAYOUT.capability_kind,
    cspace_below_entry = const LAYOUT.cspace_below_entry,
    cspace_slots = const LAYOUT.cspace_slots,
    endpoint_head = const LAYOUT.endpoint_head,
    endpoint_kind = const LAYOUT.endpoint_kind,
    endpoint_first_receiver = const LAYOUT.endpoint_first_receiver,
    endpoint_tail = const LAYOUT.endpoint_tail,
    slot_index_bits = const LAYOUT.slot_index_bits,
    ipc_awaiting_reply = const LAYOUT.ipc_awaiting_reply,
    ipc_notification = const LAYOUT.ipc_notification,
    ipc_receiving = const LAYOUT.ipc_receiving,
    kernel_armed_deadline = const LAYOUT.kernel_armed_deadline,
    kernel_earliest_wakeup = const LAYOUT.kernel_earliest_wakeup,
    kernel_ticks_per_micro = const LAYOUT.kernel_ticks_per_micro,
    kernel_entries = const LAYOUT.kernel_entries,
    kernel_current = const LAYOUT.kernel_current,
    kernel_first_live = const LAYOUT.kernel_first_live,
    process_live_next = const LAYOUT.process_live_next,
    state_sleeping = const LAYOUT.state_sleeping,
    kernel_queue_heads = const LAYOUT.kernel_queue_heads,
    kernel_queue_tails = const LAYOUT.kernel_queue_tails,
    kernel_ready_levels = const LAYOUT.kernel_ready_levels,
    kernel_slice_end = const LAYOUT.kernel_slice_end,
    kernel_slice_ticks = const LAYOUT.kernel_slice_ticks,
    kernel_timer_dirty = const LAYOUT.kernel_timer_dirty,
    label_bits = const LAYOUT.label_bits,
    no_wait = const LAYOUT.no_wait,
    notification_bits = const LAYOUT.notification_bits,
    notification_bound = const LAYOUT.notification_bound,
    notification_head = const LAYOUT.notification_head,
    notification_kind = const LAYOUT.notification_kind,
    notification_tail = const LAYOUT.notification_tail,
    object_shift = const LAYOUT.object_shift,
    process_asid = const LAYOUT.process_asid,
    process_base_priority = const LAYOUT.process_base_priority,
    process_bound = const LAYOUT.process_bound,
    process_ipc = const LAYOUT.process_ipc,
    process_ipc_argument = const LAYOUT.process_ipc_argument,
    process_ipc_mask = const LAYOUT.process_ipc_mask,
    process_ipc_next = const LAYOUT.process_ipc_next,
    process_index = const LAYOUT.process_index,
    process_pc = const LAYOUT.process_pc,
    process_priority = const LAYOUT.process_priority,
    process_r1 = const LAYOUT.process_r1,
    process_r7 = const LAYOUT.process_r7,
    process_reply_to = const LAYOUT.process_reply_to,
    process_run_level = const LAYOUT.process_run_level,
    process_run_next = const LAYOUT.process_run_next,
    process_slice_spent = const LAYOUT.process_slice_spent,
    process_state = const LAYOUT.process_state,
    process_until = const LAYOUT.process_until,
    queue_levels = const LAYOUT.queue_levels,
    right_receive = const LAYOUT.right_receive,
    right_signal = const LAYOUT.right_signal,
    right_wait = const LAYOUT.right_wait,
    slot_bytes = const LAYOUT.slot_bytes,
    slot_tag = const LAYOUT.slot_tag,
    some_tag = const LAYOUT.some_tag,
    state_ipc = const LAYOUT.state_ipc,
    state_ready = const LAYOUT.state_ready,
);
