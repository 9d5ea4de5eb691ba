@ Tessera Armv7-A syscall entry and its fast paths: `Call`, `ReplyReceive`,
@ `Yield`, `Signal` and `WaitNotification` answered in the common case
@ before the kernel enters Rust
@ (docs/kernel-platform.md, "The A7's fast paths in assembly"). Each
@ fast path is the Rust one narrowed: `Kernel::fast_call`,
@ `Kernel::fast_reply_receive`, `Kernel::fast_signal`,
@ `Kernel::fast_wait_notification` (kernel/core/src/kernel/ipc.rs) and the
@ general path's `Yield` (`requeue_current`, then `prepare_return`). Every
@ check comes first and changes nothing; a failed check branches to the
@ general entry with every register as the entry left it, where the Rust
@ fast paths and then the general path take the call. Only then the
@ effects, which cannot fail, and the switch to the other thread.
@
@ Every offset, tag and bit comes from `kernel_core::kernel::Kernel::FAST_PATH`
@ (kernel/core/src/kernel/fast_path.rs), passed in by svc.rs.
@
@ In a fast path: the caller's registers are saved in its context,
@ SP_svc points at the context's `pc` field, TPIDRURW is saved, r0-r7
@ still hold the caller's r0-r7, IRQs are masked. The caller's process
@ entry begins with its context, so it is at SP_svc - pc offset.
@ Registers: r6 the client's (or yielder's) entry, r8 the entry of the
@ thread switched to, r9 its index, r10 the endpoint (or the run-queue
@ heads), r11 the kernel; r12 and lr scratch.

    .syntax unified
    .arm
    .section .text.svc, "ax"

@ --- the entry -------------------------------------------------------------
@ While a user thread runs, SP_svc points at the `pc` field of its saved
@ context (entry.s); every Rust entry point gets the context's address in
@ r0 and returns the `pc` field address of the context to resume.
    .global svc_entry
svc_entry:
    @ Null (number 0) needs no kernel state: answer success at once. Flags
    @ may change: `movs` restores the caller's CPSR.
    cmp r7, #0
    moveq r0, #0
    movseq pc, lr
    stmdb sp, {{r0-r14}}^
    srsia sp, #0x13
    mrc p15, 0, lr, c13, c0, 2
    str lr, [sp, #8]
    @ The fast paths by number, through a table (read at pc + 8: right
    @ after the branch below); a number past it takes the general path.
    cmp r7, #({table_len} - 1)
    ldrls pc, [pc, r7, lsl #2]
    b tessera_svc_general
    .set svc_number, 0
    .rept {table_len}
    .if svc_number == {call}
    .word tessera_fast_call
    .elseif svc_number == {reply_receive}
    .word tessera_fast_reply_receive
    .elseif svc_number == {yield_number}
    .word tessera_fast_yield
    .elseif svc_number == {signal}
    .word tessera_fast_signal
    .elseif svc_number == {wait_notification}
    .word tessera_fast_wait_notification
    .else
    .word tessera_svc_general
    .endif
    .set svc_number, svc_number + 1
    .endr

@ The general path: Rust (`tessera_syscall`, kernel/src/main.rs).
    .global tessera_svc_general
tessera_svc_general:
    sub r0, sp, #{process_pc}
    ldr sp, =__kernel_stack_top
    bl tessera_syscall
    .global tessera_return_to_user
tessera_return_to_user:
    mov sp, r0
    ldmdb sp, {{r0-r14}}^
    rfeia sp

@ --- Call: a client calls an endpoint where a server waits -----------------
    .global tessera_fast_call
tessera_fast_call:
    @ Only a label in the info word (no capability to pass).
    movs ip, r1, lsr #{label_bits}
    bne tessera_svc_general
    @ The handle: a slot index in 1..CSPACE_SLOTS and its generation.
    and ip, r0, #0xff
    sub lr, ip, #1
    cmp lr, #({cspace_slots} - 1)
    bhs tessera_svc_general
    sub r6, sp, #{process_pc}
    sub r9, r6, #{cspace_below_entry}
    mov lr, #{slot_bytes}
    mla r9, ip, lr, r9
    ldr ip, [r9, #{slot_generation}]
    cmp ip, r0, lsr #{handle_index_bits}
    ldreq ip, [r9, #{capability_kind}]
    cmpeq ip, #{endpoint_kind}
    bne tessera_svc_general
    ldr ip, [r9, #{capability_rights}]
    tst ip, #{right_send}
    beq tessera_svc_general
    ldr r10, [r9, #{capability_object}]
    ldr r7, [r9, #{capability_badge}]
    @ A receiver waits on the endpoint: the first is the server.
    ldr r9, [r10, #{endpoint_head}]
    ldr ip, [r10, #{endpoint_receivers_queued}]
    cmp r9, #0
    cmpne ip, #0
    beq tessera_svc_general
    sub r9, r9, #1
    ldr r11, =({kernel} + {kernel_in_cell})
    ldr r8, [r11, #{kernel_blocks}]
    add r8, r8, r9, lsl #{object_shift}
    add r8, r8, #{entry_offset}
    @ It owes nobody a reply, has an address space, and waits with no
    @ deadline (a deadline to drop: the Rust path).
    ldr ip, [r8, #{process_reply_to}]
    cmp ip, #0
    ldrbeq ip, [r8, #{process_mapped}]
    cmpeq ip, #1
    ldreq ip, [r8, #{process_state}]
    cmpeq ip, #{state_ipc}
    bne tessera_svc_general
    ldr ip, [r8, #{process_until}]
    ldr lr, [r8, #({process_until} + 4)]
    and ip, ip, lr
    cmn ip, #1
    bne tessera_svc_general
    @ Its ASID is valid in this epoch and no timer work is pending.
    ldrb lr, [r8, #{process_asid}]
    cmp lr, #0
    beq tessera_svc_general
    ldr ip, [r8, #{process_asid_epoch}]
    ldr r0, [r11, #{kernel_asid_epoch}]
    cmp ip, r0
    ldrbeq ip, [r11, #{kernel_timer_dirty}]
    cmpeq ip, #0
    bne tessera_svc_general
    @ Commit. Take the server off the endpoint.
    mov r0, #0
    ldr ip, [r8, #{process_ipc_next}]
    str r0, [r8, #{process_ipc_next}]
    str ip, [r10, #{endpoint_head}]
    cmp ip, #0
    streq r0, [r10, #{endpoint_tail}]
    streq r0, [r10, #{endpoint_receivers_queued}]
    @ The message: r0 = 0, r1 = label, r2-r5 the words, r7 the badge.
    stm r8, {{r0, r1, r2, r3, r4, r5}}
    str r7, [r8, #{process_r7}]
    mov ip, #{ipc_none}
    str ip, [r8, #{process_ipc}]
    @ It owes the client a reply (index + 1) and runs at least at the
    @ client's priority.
    ldr ip, [r11, #({kernel_current} + 4)]
    add ip, ip, #1
    str ip, [r8, #{process_reply_to}]
    ldr ip, [r8, #{process_priority}]
    ldr r7, [r6, #{process_priority}]
    cmp r7, ip
    strhi r7, [r8, #{process_priority}]
    mov ip, #{state_running}
    str ip, [r8, #{process_state}]
    @ The client waits for the answer, r0 = 0 meanwhile.
    str r0, [r6]
    mov ip, #{ipc_awaiting_reply}
    str ip, [r6, #{process_ipc}]
    str r9, [r6, #{process_ipc_argument}]
    mov ip, #{state_ipc}
    str ip, [r6, #{process_state}]
    mvn ip, #0
    str ip, [r6, #{process_until}]
    str ip, [r6, #({process_until} + 4)]
    b fast_switch

@ --- ReplyReceive: a server answers its waiting client and waits again ----
    .global tessera_fast_reply_receive
tessera_fast_reply_receive:
    movs ip, r1, lsr #{label_bits}
    bne tessera_svc_general
    sub r8, sp, #{process_pc}
    @ No bound notification (it could answer the receive).
    ldr ip, [r8, #{process_bound}]
    cmp ip, #0
    bne tessera_svc_general
    @ A client waits for the reply: reply_to is its index + 1; 0 (none)
    @ and all ones (gone) become the two largest words.
    ldr r9, [r8, #{process_reply_to}]
    sub r9, r9, #1
    cmn r9, #2
    bhs tessera_svc_general
    ldr r11, =({kernel} + {kernel_in_cell})
    ldr ip, [r11, #{kernel_len}]
    cmp r9, ip
    bhs tessera_svc_general
    ldr ip, [r11, #{kernel_generations}]
    add ip, ip, r9, lsl #1
    ldrh ip, [ip]
    tst ip, #1
    beq tessera_svc_general
    @ The handle, with RECEIVE on an endpoint.
    and ip, r0, #0xff
    sub lr, ip, #1
    cmp lr, #({cspace_slots} - 1)
    bhs tessera_svc_general
    sub r10, r8, #{cspace_below_entry}
    mov lr, #{slot_bytes}
    mla r10, ip, lr, r10
    ldr ip, [r10, #{slot_generation}]
    cmp ip, r0, lsr #{handle_index_bits}
    ldreq ip, [r10, #{capability_kind}]
    cmpeq ip, #{endpoint_kind}
    bne tessera_svc_general
    ldr ip, [r10, #{capability_rights}]
    tst ip, #{right_receive}
    beq tessera_svc_general
    ldr r10, [r10, #{capability_object}]
    @ No sender waits on the endpoint (the general path takes it).
    ldr ip, [r10, #{endpoint_receivers_queued}]
    ldr lr, [r10, #{endpoint_head}]
    cmp ip, #0
    movne lr, #0
    cmp lr, #0
    bne tessera_svc_general
    @ The client.
    ldr r6, [r11, #{kernel_blocks}]
    add r6, r6, r9, lsl #{object_shift}
    add r6, r6, #{entry_offset}
    @ Nothing ready outranks it.
    ldr ip, [r11, #{kernel_ready_levels}]
    cmp ip, #0
    beq 1f
    clz ip, ip
    rsb ip, ip, #31
    ldr lr, [r6, #{process_priority}]
    cmp ip, lr
    bhi tessera_svc_general
1:  @ It has an address space, its ASID is valid in this epoch, and no
    @ timer work is pending.
    ldrb ip, [r6, #{process_mapped}]
    cmp ip, #1
    bne tessera_svc_general
    ldrb lr, [r6, #{process_asid}]
    cmp lr, #0
    beq tessera_svc_general
    ldr ip, [r6, #{process_asid_epoch}]
    ldr r7, [r11, #{kernel_asid_epoch}]
    cmp ip, r7
    ldrbeq ip, [r11, #{kernel_timer_dirty}]
    cmpeq ip, #0
    bne tessera_svc_general
    @ Commit. The answer: r0 = 0, r1 = label, r2-r5 the words, r7 = 0.
    mov r0, #0
    stm r6, {{r0, r1, r2, r3, r4, r5}}
    str r0, [r6, #{process_r7}]
    mov ip, #{ipc_none}
    str ip, [r6, #{process_ipc}]
    mov ip, #{state_running}
    str ip, [r6, #{process_state}]
    @ The server waits last in the endpoint's queue (r7: its index + 1).
    ldr r1, [r11, #{kernel_blocks}]
    sub r7, r8, r1
    lsr r7, r7, #{object_shift}
    add r7, r7, #1
    ldr ip, [r10, #{endpoint_tail}]
    str r7, [r10, #{endpoint_tail}]
    mov r2, #1
    str r2, [r10, #{endpoint_receivers_queued}]
    cmp ip, #0
    streq r7, [r10, #{endpoint_head}]
    subne ip, ip, #1
    addne r1, r1, ip, lsl #{object_shift}
    addne r1, r1, #{entry_offset}
    strne r7, [r1, #{process_ipc_next}]
    str r0, [r8]
    str r0, [r8, #{process_ipc_next}]
    str r0, [r8, #{process_reply_to}]
    ldr ip, [r8, #{process_base_priority}]
    str ip, [r8, #{process_priority}]
    mov ip, #{ipc_receiving}
    str ip, [r8, #{process_ipc}]
    str r10, [r8, #{process_ipc_argument}]
    mov ip, #{state_ipc}
    str ip, [r8, #{process_state}]
    mvn ip, #0
    str ip, [r8, #{process_until}]
    str ip, [r8, #({process_until} + 4)]
    mov r8, r6
    b fast_switch

@ --- Yield: the next thread of the yielder's priority runs ---------------
@ Taken when another thread of the yielder's priority is ready and none
@ above it (the general path answers a yielder alone at its priority, and
@ anything else), that thread can run at once (address space, ASID) and
@ its new slice needs no timer work (the timer is armed no later than the
@ slice's end, and nothing is pending).
    .global tessera_fast_yield
tessera_fast_yield:
    sub r6, sp, #{process_pc}
    ldr r11, =({kernel} + {kernel_in_cell})
    ldr r0, [r6, #{process_priority}]
    and r0, r0, #({queue_levels} - 1)
    @ The highest ready level is the yielder's (none ready: clz gives 32,
    @ and 31 - 32 is no level).
    ldr r1, [r11, #{kernel_ready_levels}]
    clz r2, r1
    rsb r2, r2, #31
    cmp r2, r0
    bne tessera_svc_general
    add r10, r11, #{kernel_queue_heads}
    ldr r9, [r10, r0, lsl #2]
    sub r9, r9, #1
    ldr r8, [r11, #{kernel_blocks}]
    add r8, r8, r9, lsl #{object_shift}
    add r8, r8, #{entry_offset}
    ldrb ip, [r8, #{process_mapped}]
    cmp ip, #1
    bne tessera_svc_general
    ldrb lr, [r8, #{process_asid}]
    cmp lr, #0
    beq tessera_svc_general
    ldr ip, [r8, #{process_asid_epoch}]
    ldr r1, [r11, #{kernel_asid_epoch}]
    cmp ip, r1
    ldrbeq ip, [r11, #{kernel_timer_dirty}]
    cmpeq ip, #0
    bne tessera_svc_general
    @ Its slice ends a slice from now (CNTPCT, as `Platform::now`); the
    @ timer must already be armed no later than that.
    mrrc p15, 0, r4, r5, c14
    ldrd r2, r3, [r11, #{kernel_slice_ticks}]
    adds r4, r4, r2
    adc r5, r5, r3
    ldrd r2, r3, [r11, #{kernel_armed_deadline}]
    subs ip, r4, r2
    sbcs ip, r5, r3
    blo tessera_svc_general
    @ Commit. The yielder's answer, r0 = 0, and the new slice.
    strd r4, r5, [r11, #{kernel_slice_end}]
    mov r1, #0
    str r1, [r6]
    @ The next thread leaves the front of the queue and runs...
    ldr ip, [r8, #{process_run_next}]
    str r1, [r8, #{process_run_next}]
    strb r1, [r8, #{process_run_level}]
    mov r2, #{state_running}
    str r2, [r8, #{process_state}]
    @ ...and the yielder joins its back, ready (r7: its link).
    mov r2, #{state_ready}
    str r2, [r6, #{process_state}]
    str r1, [r6, #{process_run_next}]
    add r2, r0, #1
    strb r2, [r6, #{process_run_level}]
    ldr r7, [r11, #({kernel_current} + 4)]
    add r7, r7, #1
    add r3, r11, #{kernel_queue_tails}
    cmp ip, #0
    streq r7, [r10, r0, lsl #2]
    strne ip, [r10, r0, lsl #2]
    ldrne r2, [r3, r0, lsl #2]
    ldrne r4, [r11, #{kernel_blocks}]
    subne r2, r2, #1
    addne r4, r4, r2, lsl #{object_shift}
    addne r4, r4, #{entry_offset}
    strne r7, [r4, #{process_run_next}]
    str r7, [r3, r0, lsl #2]
    mov r0, #0
    b fast_switch

@ --- Signal: set bits, wake the waiter they are for --------------------
@ Taken for a notification no process is bound to, with no waiter or one
@ (several: the general path), when a woken waiter has no deadline and
@ does not outrank the signaller, which keeps running (no switch).
    .global tessera_fast_signal
tessera_fast_signal:
    sub r6, sp, #{process_pc}
    ldr r11, =({kernel} + {kernel_in_cell})
    ldrb ip, [r11, #{kernel_timer_dirty}]
    cmp ip, #0
    bne tessera_svc_general
    @ The handle, with SIGNAL on a notification.
    and ip, r0, #0xff
    sub lr, ip, #1
    cmp lr, #({cspace_slots} - 1)
    bhs tessera_svc_general
    sub r9, r6, #{cspace_below_entry}
    mov lr, #{slot_bytes}
    mla r9, ip, lr, r9
    ldr ip, [r9, #{slot_generation}]
    cmp ip, r0, lsr #{handle_index_bits}
    ldreq ip, [r9, #{capability_kind}]
    cmpeq ip, #{notification_kind}
    bne tessera_svc_general
    ldr ip, [r9, #{capability_rights}]
    tst ip, #{right_signal}
    beq tessera_svc_general
    ldr r10, [r9, #{capability_object}]
    ldr ip, [r10, #{notification_bound}]
    cmp ip, #0
    bne tessera_svc_general
    @ r2: the bits after this signal.
    ldr r2, [r10, #{notification_bits}]
    orr r2, r2, r1
    ldr r9, [r10, #{notification_head}]
    cmp r9, #0
    beq 2f
    ldr ip, [r10, #{notification_tail}]
    cmp ip, r9
    bne tessera_svc_general
    sub r9, r9, #1
    ldr r8, [r11, #{kernel_blocks}]
    add r8, r8, r9, lsl #{object_shift}
    add r8, r8, #{entry_offset}
    ldr ip, [r8, #{process_ipc}]
    cmp ip, #{ipc_notification}
    bne tessera_svc_general
    @ r3: what the waiter takes; none, and it waits on.
    ldr r3, [r8, #{process_ipc_mask}]
    ands r3, r3, r2
    beq 2f
    ldr ip, [r8, #{process_state}]
    cmp ip, #{state_ipc}
    bne tessera_svc_general
    ldr ip, [r8, #{process_until}]
    ldr lr, [r8, #({process_until} + 4)]
    and ip, ip, lr
    cmn ip, #1
    bne tessera_svc_general
    ldr r4, [r8, #{process_priority}]
    ldr lr, [r6, #{process_priority}]
    cmp r4, lr
    bhi tessera_svc_general
    @ Commit. The waiter's answer (r0 = 0, r1 the bits it took); the
    @ queue empties; the bits it took leave the notification.
    bic r2, r2, r3
    str r2, [r10, #{notification_bits}]
    mov r0, #0
    str r0, [r10, #{notification_head}]
    str r0, [r10, #{notification_tail}]
    str r0, [r8]
    str r3, [r8, #{process_r1}]
    mov ip, #{ipc_none}
    str ip, [r8, #{process_ipc}]
    @ It is ready, last in the queue of its priority (r4: its level, r9:
    @ its link).
    mov ip, #{state_ready}
    str ip, [r8, #{process_state}]
    and r4, r4, #({queue_levels} - 1)
    add ip, r4, #1
    strb ip, [r8, #{process_run_level}]
    str r0, [r8, #{process_run_next}]
    add r9, r9, #1
    add r7, r11, #{kernel_queue_tails}
    ldr r5, [r7, r4, lsl #2]
    str r9, [r7, r4, lsl #2]
    cmp r5, #0
    addeq r7, r11, #{kernel_queue_heads}
    streq r9, [r7, r4, lsl #2]
    ldrne r7, [r11, #{kernel_blocks}]
    subne r5, r5, #1
    addne r7, r7, r5, lsl #{object_shift}
    addne r7, r7, #{entry_offset}
    strne r9, [r7, #{process_run_next}]
    ldr r5, [r11, #{kernel_ready_levels}]
    mov r7, #1
    orr r5, r5, r7, lsl r4
    str r5, [r11, #{kernel_ready_levels}]
    @ The signaller goes on: r0 = 0.
    str r0, [r6]
    ldmdb sp, {{r0-r14}}^
    rfeia sp
2:  @ Nobody to wake: the bits stay.
    str r2, [r10, #{notification_bits}]
    mov r0, #0
    str r0, [r6]
    ldmdb sp, {{r0-r14}}^
    rfeia sp

@ --- WaitNotification: take bits, or block and run the next thread -------
@ Taken when the caller's bits are there or it asked not to wait (it goes
@ on), or when it waits with no time limit and another thread is ready to
@ run at once (address space, ASID) with no timer work for its slice.
    .global tessera_fast_wait_notification
tessera_fast_wait_notification:
    @ r0 the handle, r1 the mask, r2 the timeout.
    sub r6, sp, #{process_pc}
    ldr r11, =({kernel} + {kernel_in_cell})
    ldrb ip, [r11, #{kernel_timer_dirty}]
    cmp ip, #0
    bne tessera_svc_general
    @ The handle, with WAIT on a notification.
    and ip, r0, #0xff
    sub lr, ip, #1
    cmp lr, #({cspace_slots} - 1)
    bhs tessera_svc_general
    sub r9, r6, #{cspace_below_entry}
    mov lr, #{slot_bytes}
    mla r9, ip, lr, r9
    ldr ip, [r9, #{slot_generation}]
    cmp ip, r0, lsr #{handle_index_bits}
    ldreq ip, [r9, #{capability_kind}]
    cmpeq ip, #{notification_kind}
    bne tessera_svc_general
    ldr ip, [r9, #{capability_rights}]
    tst ip, #{right_wait}
    beq tessera_svc_general
    ldr r10, [r9, #{capability_object}]
    ldr r3, [r10, #{notification_bits}]
    ands r4, r3, r1
    bne 1f
    cmp r2, #{no_wait}
    beq 1f
    cmp r2, #{forever}
    bne tessera_svc_general
    @ It blocks: the highest ready thread (r7 its level) runs instead.
    ldr r5, [r11, #{kernel_ready_levels}]
    cmp r5, #0
    beq tessera_svc_general
    clz r7, r5
    rsb r7, r7, #31
    add r3, r11, #{kernel_queue_heads}
    ldr r9, [r3, r7, lsl #2]
    sub r9, r9, #1
    ldr r8, [r11, #{kernel_blocks}]
    add r8, r8, r9, lsl #{object_shift}
    add r8, r8, #{entry_offset}
    ldrb ip, [r8, #{process_mapped}]
    cmp ip, #1
    bne tessera_svc_general
    ldrb lr, [r8, #{process_asid}]
    cmp lr, #0
    beq tessera_svc_general
    ldr ip, [r8, #{process_asid_epoch}]
    ldr r0, [r11, #{kernel_asid_epoch}]
    cmp ip, r0
    bne tessera_svc_general
    mrrc p15, 0, r2, r3, c14
    ldrd r4, r5, [r11, #{kernel_slice_ticks}]
    adds r4, r4, r2
    adc r5, r5, r3
    ldrd r2, r3, [r11, #{kernel_armed_deadline}]
    subs ip, r4, r2
    sbcs ip, r5, r3
    blo tessera_svc_general
    @ Commit. The next thread's slice; it leaves the front of its queue.
    strd r4, r5, [r11, #{kernel_slice_end}]
    mov r0, #0
    add r3, r11, #{kernel_queue_heads}
    ldr ip, [r8, #{process_run_next}]
    str ip, [r3, r7, lsl #2]
    cmp ip, #0
    addeq r3, r11, #{kernel_queue_tails}
    streq r0, [r3, r7, lsl #2]
    ldreq r5, [r11, #{kernel_ready_levels}]
    moveq r4, #1
    biceq r5, r5, r4, lsl r7
    streq r5, [r11, #{kernel_ready_levels}]
    str r0, [r8, #{process_run_next}]
    strb r0, [r8, #{process_run_level}]
    mov ip, #{state_running}
    str ip, [r8, #{process_state}]
    @ The caller waits last on the notification (r4: its link), r0 = 0.
    str r0, [r6, #{process_ipc_next}]
    ldr r4, [r11, #({kernel_current} + 4)]
    add r4, r4, #1
    ldr ip, [r10, #{notification_tail}]
    str r4, [r10, #{notification_tail}]
    cmp ip, #0
    streq r4, [r10, #{notification_head}]
    ldrne r5, [r11, #{kernel_blocks}]
    subne ip, ip, #1
    addne r5, r5, ip, lsl #{object_shift}
    addne r5, r5, #{entry_offset}
    strne r4, [r5, #{process_ipc_next}]
    str r0, [r6]
    mov ip, #{ipc_notification}
    str ip, [r6, #{process_ipc}]
    str r10, [r6, #{process_ipc_argument}]
    str r1, [r6, #{process_ipc_mask}]
    mov ip, #{state_ipc}
    str ip, [r6, #{process_state}]
    mvn ip, #0
    str ip, [r6, #{process_until}]
    str ip, [r6, #({process_until} + 4)]
    b fast_switch
1:  @ It goes on with the bits it takes (r4; none for a wait that may not
    @ block): r0 = 0, r1 the bits, r2 = r3 = 0.
    bic r3, r3, r1
    str r3, [r10, #{notification_bits}]
    mov r0, #0
    str r0, [r6]
    str r4, [r6, #{process_r1}]
    str r0, [r6, #({process_r1} + 4)]
    str r0, [r6, #({process_r1} + 8)]
    ldmdb sp, {{r0-r14}}^
    rfeia sp

@ --- the switch: to the thread whose entry is r8 (index r9, ASID lr) -------
@ As `Kernel::switch_to_thread` with the checks done: it becomes current
@ and loaded, gets its thread register, an open exclusive monitor and its
@ address space (through reserved ASID 0, as mmu::switch_to), and runs.
@ r0 is 0 here; r2 and r3 are free.
fast_switch:
    mov r2, #{some_tag}
    mov r3, r9
    strd r2, r3, [r11, #{kernel_current}]
    strd r2, r3, [r11, #{kernel_loaded}]
    ldr ip, [r8, #{process_thread_register}]
    mcr p15, 0, ip, c13, c0, 2
    clrex
    ldr ip, [r8, #{process_memory}]
    orr ip, ip, #{walk_attributes}
    mcr p15, 0, r0, c13, c0, 1
    isb
    mcr p15, 0, ip, c2, c0, 0
    isb
    mcr p15, 0, lr, c13, c0, 1
    @ No third `isb`: the exception return below synchronises context.
    add sp, r8, #{process_pc}
    ldmdb sp, {{r0-r14}}^
    rfeia sp

    .ltorg
