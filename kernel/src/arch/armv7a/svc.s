@ Tessera Armv7-A syscall entry and its fast paths: `Call`, `ReplyReceive`,
@ `Receive`, `Yield`, `Signal`, `WaitNotification`, `InterruptAck` and
@ `CapDelete` answered in the common case (waits with a time limit and
@ receives of a process with a bound notification included) before the
@ kernel enters Rust, and an IRQ's common case, in a thread or in the
@ idle wait (docs/kernel-platform.md, "The A7's fast paths in assembly"). Each fast path is a Rust one narrowed:
@ `Kernel::fast_call`, `Kernel::fast_reply_receive`, `Kernel::fast_signal`,
@ `Kernel::fast_wait_notification` (kernel/core/src/kernel/ipc.rs; the A7
@ leaves out all but `fast_signal` and `Poll`'s: these cover them), the
@ general path's `Receive` that blocks (`receive`, then `prepare_return`),
@ its `InterruptAck`, its `Yield` (`requeue_current`, then
@ `prepare_return`), its `CapDelete` of a leaf (`capability::delete_leaf`),
@ the timer's interrupt with nothing due in the idle wait (`timer_expired`),
@ and for a `Call` that passes one frame its transfer (`Kernel::transfer`).
@ A deadline is `Clock::deadline` (kernel/core/src/time.rs). Every
@ check comes first and changes nothing in memory (but for a wait's
@ deadline armed early, see fast_deadline, and the IRQ path's slice
@ armed after its last check, see NEW_SLICE); a failed check
@ branches to the general entry, which reads only sp (the saved context
@ is the entry's; the registers the checks used as scratch are not), where
@ the Rust fast paths and then the general path take the call. Only then the
@ effects, which cannot fail, and the switch to the other thread.
@
@ Every offset, tag and bit comes from `kernel_core::kernel::Kernel::FAST_PATH`
@ (kernel/core/src/kernel/fast_path.rs), passed in by svc.rs; the widths
@ the loads and stores here use are pinned by the field-type checks there
@ and in table.rs and sched.rs. Objects are reached at
@ their physical addresses, as the Rust code reaches them through
@ `Platform::ram`: the A7 kernel maps all RAM at its physical address
@ (`Ram::IDENTITY`, platform.rs).
@
@ In a fast path: the caller's registers are saved in its context (SAVE),
@ SP_svc points at the context's `pc` field, r0-r7 still hold the
@ caller's r0-r7, IRQs are masked; TPIDRURW is saved where the CPU may
@ pass to another thread (fast_switch, the idle wait, the general path).
@ The caller's process entry begins with its context, so it is at SP_svc
@ - pc offset.
@ Registers: r6 the caller's entry (the client's, the server's in
@ ReplyReceive, the yielder's), r8 the entry of the thread switched to
@ (ReplyReceive's client; the paths that dequeue a thread keep its index
@ in r9, which the switch reads from the entry itself), r10 the endpoint
@ (or the run-queue heads), r11 the kernel; r12 and lr scratch (but ReplyReceive keeps its
@ caller's r12, the time limit, through its checks, and LOOKUP leaves the
@ slot's tag in lr). The IRQ path is entered
@ the same way from a thread, or from the idle wait with no thread
@ interrupted (r6 = 0; SP_svc points into the context of the thread that
@ blocked last, or at the kernel stack's top after Rust, and nothing
@ reads it then: `tessera_irq` ignores the context it is given).

    .syntax unified
    .arm
    .section .text.svc, "ax"

@ --- the entry -------------------------------------------------------------
@ While a user thread runs, SP_svc points at the `pc` field of its saved
@ context (entry.s); every Rust entry point gets the context's address in
@ r0 and returns the `pc` field address of the context to resume.
    .global svc_entry
svc_entry:
    @ By number, through a table (read at pc + 8: right after the branch
    @ below), before anything is saved: `Null` (number 0) needs no kernel
    @ state, and each other entry saves the caller's registers first
    @ (SAVE). A number past the table takes the general path.
    cmp r7, #({table_len} - 1)
    ldrls pc, [pc, r7, lsl #2]
    b svc_general_entry
    .set svc_number, 0
    .rept {table_len}
    .if svc_number == 0
    .word svc_null
    .elseif svc_number == {call}
    .word tessera_fast_call
    .elseif svc_number == {reply_receive}
    .word tessera_fast_reply_receive
    .elseif svc_number == {receive}
    .word tessera_fast_receive
    .elseif svc_number == {interrupt_ack}
    .word tessera_fast_interrupt_ack
    .elseif svc_number == {yield_number}
    .word tessera_fast_yield
    .elseif svc_number == {signal}
    .word tessera_fast_signal
    .elseif svc_number == {wait_notification}
    .word tessera_fast_wait_notification
    .elseif svc_number == {cap_delete}
    .word tessera_fast_cap_delete
    .else
    .word svc_general_entry
    .endif
    .set svc_number, svc_number + 1
    .endr

@ Null: success at once. Flags may change: `movs` restores the caller's
@ CPSR.
svc_null:
    mov r0, #0
    movs pc, lr

@ The caller's r0-r14 and its pc and CPSR into its context, which SP_svc
@ points into (at the `pc` field). Its thread register (TPIDRURW) is
@ saved only where the CPU may pass to another process: the general path
@ (tessera_svc_general), fast_switch and the idle wait.
.macro SAVE
    stmdb sp, {{r0-r14}}^
    srsia sp, #0x13
.endm

@ The general path: Rust (`tessera_syscall`, kernel/src/main.rs), from the
@ table, or from a fast path whose check failed (with the registers
@ saved: it reads only sp).
svc_general_entry:
    SAVE
    .global tessera_svc_general
tessera_svc_general:
    mrc p15, 0, lr, c13, c0, 2
    str lr, [sp, #8]
    sub r0, sp, #{process_pc}
    ldr sp, =__kernel_stack_top
    bl tessera_syscall
    .global tessera_return_to_user
tessera_return_to_user:
    @ Null: no thread is ready, none is current and the timer is armed
    @ (`prepare_return` on a platform that idles outside the kernel).
    cmp r0, #0
    beq idle_from_rust
    mov sp, r0
    ldmdb sp, {{r0-r14}}^
    rfeia sp

@ --- helpers ---------------------------------------------------------------
@ Each branches to the general path when its check fails.

@ The capability the handle in r0 names in the CSpace of the caller (r6:
@ its entry), if it is a \kind with right \right (not checked if \right
@ is 0): its badge, kind, object, rights and tag in \badge, \kindreg,
@ \objreg, \rights and lr (the registers must ascend in that order: an
@ `ldmib` fills the lowest from the lowest address), read with one `ldmib`
@ from \slot, the slot's pointer: the slot's last five words follow it
@ (`fast_path::SLOT_POINTER`). The slot is the one at the handle's low
@ slot_index_bits; the handle's bits above them are its tag if and only
@ if the index is in range and the generation the slot's
@ (`capability::Slot`'s tag). Index 0 fails at the kind: slot 0 of every
@ CSpace stays empty (`Kernel::check_invariants`). Uses \index (scratch).
@ With \info (a register, overwritten: 0 if the test holds), the same
@ test also checks that the info word in r1 has no bit set above the
@ label, and a failure of any of the three goes to \fail. With \right 0, a caller tests the right itself
@ (HAS_RIGHT).
.macro LOOKUP slot, kind, right, badge, kindreg, objreg, rights=ip, index=ip, info, fail=tessera_svc_general
    and \index, r0, #({cspace_slots} - 1)
    sub \slot, r6, #{cspace_below_entry}
    mov lr, #{slot_bytes}
    mla \slot, \index, lr, \slot
    ldmib \slot, {{\badge, \kindreg, \objreg, \rights, lr}}
    cmp lr, r0, lsr #{slot_index_bits}
    cmpeq \kindreg, #\kind
    .ifnb \info
    movseq \info, r1, lsr #{label_bits}
    .endif
    bne \fail
    .if \right
    tst \rights, #\right
    beq tessera_svc_general
    .endif
.endm

@ If the condition \cond holds, C = whether \rights holds right \carry - 1
@ (a right's bit number + 1: the last bit a shift right by it moves out,
@ which `movs` leaves in C). Else the flags stay. Uses \scratch.
.macro HAS_RIGHT cond, scratch, rights, carry
    movs\cond \scratch, \rights, lsr #\carry
.endm

@ \dst = the entry of the process whose index is \index (r11: the kernel).
.macro ENTRY_OF dst, index
    ldr \dst, [r11, #{kernel_entries}]
    add \dst, \dst, \index, lsl #{object_shift}
.endm

@ The process whose entry is \entry can run at once: it holds an ASID
@ (left in lr; not 0). Else to \fail (the general path; the IRQ path's
@ Rust entry), which hands it one. The rest of what running it needs
@ holds by the kernel's invariants (`Kernel::check_invariants`, checked
@ after every step of the host tests): an ASID that is not 0 is the
@ process's own (when they run out, the kernel takes every one back from
@ every process and flushes the TLB); a process that has not ended
@ (every one a fast path runs: ready, blocked in IPC or awaiting a reply)
@ has its address space; and no timer work is pending while a thread
@ runs or the idle wait sleeps, which is when a fast path is entered.
.macro RUNNABLE entry, fail=tessera_svc_general
    ldrb lr, [\entry, #{process_asid}]
    cmp lr, #0
    beq \fail
.endm

@ r4:r5 = the end of a slice starting now (CNTPCT, as `Platform::now`).
@ With \fail `none`, from a syscall of a running thread: the timer is
@ armed no later than that thread's slice's end, which is at most a slice
@ from now (`Kernel::check_invariants`), so no later than the new one's
@ either. Else the timer must be armed no later already, or to \fail; or
@ with \fail `arm` (for a path that commits next, with perhaps no thread
@ running) the timer is armed at that end, as `prepare_return` would
@ (`program_timer`: the armed deadline is no later than
@ `earliest_wakeup`, so the slice's end comes first). Uses r2, r3, ip.
.macro NEW_SLICE fail=tessera_svc_general
    mrrc p15, 0, r2, r3, c14
    ldrd r4, r5, [r11, #{kernel_slice_ticks}]
    adds r4, r4, r2
    adc r5, r5, r3
    .ifnc \fail,none
    ldrd r2, r3, [r11, #{kernel_armed_deadline}]
    subs ip, r4, r2
    sbcs ip, r5, r3
    .ifc \fail,arm
    strdlo r4, r5, [r11, #{kernel_armed_deadline}]
    mcrrlo p15, 2, r4, r5, c14
    .else
    blo \fail
    .endif
    .endif
.endm

@ r8 = the entry of the first ready thread of level \level and r9 its
@ index (\heads = the run queues' heads), if it can run at once (ASID in
@ lr), with a new slice (r4:r5), which needs no timer work (from a
@ running thread's syscall: NEW_SLICE none). Uses r2, r3, ip.
.macro NEXT_THREAD heads, level
    add \heads, r11, #{kernel_queue_heads}
    ldr r9, [\heads, \level, lsl #2]
    sub r9, r9, #1
    ENTRY_OF r8, r9
    RUNNABLE r8
    NEW_SLICE none
.endm

@ r8 = the entry of the highest ready thread and r9 its index, r7 its
@ level, as NEXT_THREAD, for a caller that blocks; to \none if no thread
@ is ready. Uses r2-r5, ip, lr.
.macro HIGHEST_READY none=tessera_svc_general
    ldr r5, [r11, #{kernel_ready_levels}]
    cmp r5, #0
    beq \none
    clz r7, r5
    rsb r7, r7, #31
    NEXT_THREAD r3, r7
.endm

@ The start of a notification path: r6 = the caller's entry, r11 = the
@ kernel, r10 = the notification the handle in r0 names with \right.
@ Uses r7, r8, r9, ip, lr.
.macro NOTIFICATION right
    sub r6, sp, #{process_pc}
    ldr r11, =({kernel} + {kernel_in_cell})
    LOOKUP r9, {notification_kind}, \right, r7, r8, r10
.endm

@ \dst = the pointer to the slot the list link in \link names
@ (`space << 16 | index`, not 0): slot `index` of process `space`'s CSpace
@ (r11: the kernel). Uses ip, lr.
.macro SLOT_AT dst, link
    ldr \dst, [r11, #{kernel_entries}]
    lsr ip, \link, #16
    add \dst, \dst, ip, lsl #{object_shift}
    sub \dst, \dst, #{cspace_below_entry}
    uxth ip, \link
    mov lr, #{slot_bytes}
    mla \dst, ip, lr, \dst
.endm

@ Commit helpers: they cannot fail.

@ Sets interrupt r1's bit in the distributor's register bank at offset
@ \bank (ISENABLER: `gic::unmask`; ICENABLER: `gic::disable`): word
@ n / 32, bit n % 32. Uses r0, r2, r3, ip.
.macro DISTRIBUTOR_BIT bank
    ldr r2, ={distributor}
    ldr r2, [r2]
    add r2, r2, \bank
    lsr r3, r1, #5
    and ip, r1, #31
    mov r0, #1
    lsl ip, r0, ip
    str ip, [r2, r3, lsl #2]
.endm

@ If the flags say "not equal": the process whose run-queue link (index +
@ 1; IPC queues link entries instead, ENQUEUE) is \last gets \link as its
@ \field link. Uses \scratch (and \last).
.macro LINK_AFTER_NE last, link, field, scratch
    ldrne \scratch, [r11, #{kernel_entries}]
    subne \last, \last, #1
    addne \scratch, \scratch, \last, lsl #{object_shift}
    strne \link, [\scratch, #\field]
.endm

@ The thread HIGHEST_READY found runs, with the new slice (r4:r5): it
@ leaves the front of its queue. r0 = 0 after it. Uses r3, r4, r5, ip.
.macro RUN_NEXT
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
    str r0, [r8, #{process_state}]
.endm

@ The process whose entry is \entry (its link in an IPC queue: the
@ entry's address, `ProcessTable::link`) waits last in the queue of
@ \object, whose head and tail are at \head and \tail (its own IPC link
@ is 0 already: a process not blocked is linked into no queue,
@ `Kernel::check_invariants`). In an empty queue, the common case, it
@ is the head, and \first too, if given (an endpoint's first receiver,
@ for a receiver queued where no sender waits: a queue of receivers
@ keeps its first); else the last one's next. Uses ip.
.macro ENQUEUE object, head, tail, entry, first
    ldr ip, [\object, #\tail]
    str \entry, [\object, #\tail]
    cmp ip, #0
    streq \entry, [\object, #\head]
    .ifnb \first
    streq \entry, [\object, #\first]
    .endif
    strne \entry, [ip, #{process_ipc_next}]
.endm

@ The process whose entry is \entry is blocked in IPC with no deadline,
@ for the reason in r7 (an `Ipc` tag) with \argument (a register above
@ r7): one `stm` from its state writes the state's tag, its padding (r3,
@ whatever it holds), the deadline's two words, the reason and its
@ argument, which lie in that order (checked in fast_path.rs). Uses r2,
@ ip; leaves r4 and r5 all ones.
.macro BLOCK_FOREVER_FOR entry, argument
    mov r2, #{state_ipc}
    mvn r4, #0
    mvn r5, #0
    add ip, \entry, #{process_state}
    stm ip, {{r2, r3, r4, r5, r7, \argument}}
.endm

@ The answer to the client whose entry is \entry: r0 = 0, r1 = label,
@ r2-r5 the words, r7 = 0; out of IPC, running. r0 = 0 after it.
.macro ANSWER entry
    mov r0, #0
    stm \entry, {{r0, r1, r2, r3, r4, r5}}
    str r0, [\entry, #{process_r7}]
    str r0, [\entry, #{process_ipc}]
    str r0, [\entry, #{process_state}]
.endm

@ The process whose entry is \entry is blocked in IPC until \lo:\hi
@ (all ones: no deadline), which lowers `earliest_wakeup` if it is
@ earlier (`Kernel::block_current`; fast_deadline found or armed the timer
@ no later, so no timer work follows). Uses r2, r3, ip.
.macro BLOCK_UNTIL entry, lo, hi
    mov ip, #{state_ipc}
    str ip, [\entry, #{process_state}]
    strd \lo, \hi, [\entry, #{process_until}]
    ldrd r2, r3, [r11, #{kernel_earliest_wakeup}]
    cmp \lo, r2
    sbcs ip, \hi, r3
    strdlo \lo, \hi, [r11, #{kernel_earliest_wakeup}]
.endm

@ Back to the caller, whose context SP_svc still points into.
.macro RETURN_TO_CALLER
    ldmdb sp, {{r0-r14}}^
    rfeia sp
.endm

@ The switch (fast_switch, below; `Call`'s own copy saves it a branch):
@ the leaving thread's thread register saved, then from 1 on the rest.
.macro SWITCH
    mrc p15, 0, ip, c13, c0, 2
    str ip, [sp, #8]
    @ SP_svc to the new thread's context. From its `pc` field, one `ldmib`
    @ reads its CPSR (r1, not needed), thread register (r2), table word
    @ (r3), index (r4) and object (r5), and one `strd` makes the last two
    @ `current`'s index and `loaded` (checked in fast_path.rs).
1:  add sp, r8, #{process_pc}
    ldmib sp, {{r1, r2, r3, r4, r5}}
    strd r4, r5, [r11, #({kernel_current} + 4)]
    mcr p15, 0, r2, c13, c0, 2
    clrex
    mcr p15, 0, r0, c13, c0, 1
    isb
    mcr p15, 0, r3, c2, c0, 0
    isb
    mcr p15, 0, lr, c13, c0, 1
    @ No third `isb`: the exception return below synchronises context.
    ldmdb sp, {{r0-r14}}^
    rfeia sp
.endm

@ --- Call: a client calls an endpoint where a server waits -----------------
@ The checks of every `Call` the assembly takes, with a capability to pass
@ or none: the server (r8, index r9) waits on the endpoint the handle in
@ r0 names with SEND (r10; the badge in r7), and can take the call at
@ once. With \fail, the look-up's test also checks that the info word
@ passes no capability (LOOKUP's \info) and sends a failure to \fail.
@ Sets r6-r11 as above; uses r0, ip (the rights), lr.
.macro CALL_CHECKS fail
    sub r6, sp, #{process_pc}
    .ifnb \fail
    LOOKUP r9, {endpoint_kind}, 0, r7, r8, r10, info=r9, fail=\fail
    .else
    LOOKUP r9, {endpoint_kind}, 0, r7, r8, r10
    .endif
    @ A receiver waits on the endpoint: the first (its link, the address of
    @ its entry; not 0) is the server, r9 its index.
    ldr r8, [r10, #{endpoint_first_receiver}]
    cmp r8, #0
    beq tessera_svc_general
    ldr r11, =({kernel} + {kernel_in_cell})
    ldr r9, [r8, #{process_index}]
    @ It owes nobody a reply, it can run at once (RUNNABLE: its ASID, in
    @ lr, is not 0), and the capability (its rights in ip) has SEND. (It
    @ waits in IPC, as every process queued on an endpoint does:
    @ `Kernel::check_invariants`. A deadline it waits with needs nothing
    @ done: it stays in `Kernel::earliest_wakeup`, a lower bound, and the
    @ timer may fire once for nothing.) All in one test: `cmn` sets C only
    @ for reply_to all ones (NO_CALLER), with Z, then `cmp` sets C only for
    @ an ASID of 1 or more, then HAS_RIGHT only for SEND; a failure leaves
    @ C clear and the tests after it undone.
    ldr r0, [r8, #{process_reply_to}]
    ldrb lr, [r8, #{process_asid}]
    cmn r0, #1
    cmpeq lr, #1
    HAS_RIGHT cs, r0, ip, {send_carry}
    blo tessera_svc_general
.endm

@ A `Call` that passes a capability (the info word's bits above the label
@ are 1: one, in r5), as below, with the capability's checks and its
@ transfer before the commit. Entered from `Call`'s look-up whenever its
@ test failed: two capabilities or more, or a reserved bit, fail the
@ first compare here; a call with no capability to pass failed on its
@ handle, and fails here again at the look-up.
call_transfer:
    cmp r1, #(2 << {label_bits})
    bhs tessera_svc_general
    CALL_CHECKS
    @ The capability: a frame the client may grant (r2 its slot's pointer;
    @ the words LOOKUP reads go to r1, r3, r4, whose values come back
    @ from the context below), not at the deepest level (r3 its depth),
    @ and a free slot in the server's CSpace (r4, index r0)
    @ (`check_transfer`, `capability::grant`; with no free slot the Rust
    @ path delivers the message without it).
    mov r0, r5
    LOOKUP r2, {frame_kind}, {right_grant}, r1, r3, r4
    ldr r3, [r2, #{slot_depth}]
    cmp r3, #{max_depth}
    bhs tessera_svc_general
    sub r4, r8, #{cspace_below_entry}
    mov r0, #0
5:  add r0, r0, #1
    cmp r0, #{cspace_slots}
    bhs tessera_svc_general
    add r4, r4, #{slot_bytes}
    ldr ip, [r4, #{capability_kind}]
    cmp ip, #{empty_kind}
    bne 5b
    @ Commit the grant (`Kernel::transfer`): the parent's capability with
    @ no mapping, one level deeper, linked right after the parent, whose
    @ link is the client's index << 16 | the handle's index; the child's
    @ is the server's index << 16 | r0. A frame needs no reference counted.
    @ The badge, kind, object and rights follow a slot's pointer (LOOKUP;
    @ r1, the info word, comes back from the context below).
    add r3, r3, #1
    str r3, [r4, #{slot_depth}]
    ldmib r2, {{r1, r3, ip, lr}}
    stmib r4, {{r1, r3, ip, lr}}
    ldr ip, [r2, #{capability_size}]
    str ip, [r4, #{capability_size}]
    mov ip, #0
    str ip, [r4, #{capability_data}]
    str ip, [r4, #({capability_data} + 4)]
    ldr lr, [r11, #({kernel_current} + 4)]
    and ip, r5, #({cspace_slots} - 1)
    orr ip, ip, lr, lsl #16
    str ip, [r4, #{slot_previous}]
    ldr r3, [r2, #{slot_next}]
    str r3, [r4, #{slot_next}]
    orr r5, r0, r9, lsl #16
    str r5, [r2, #{slot_next}]
    cmp r3, #0
    beq 6f
    SLOT_AT r2, r3
    str r5, [r2, #{slot_previous}]
6:  @ The server's handle to it in r5 (its index under the tag the slot
    @ keeps); the words the checks used, and the server's ASID, back.
    ldr ip, [r4, #{slot_tag}]
    orr r5, r0, ip, lsl #{slot_index_bits}
    add ip, r6, #4
    ldm ip, {{r1, r2, r3, r4}}
    ldrb lr, [r8, #{process_asid}]
    b call_commit

    .global tessera_fast_call
tessera_fast_call:
    SAVE
    @ A label in the info word, and no capability to pass and no reserved
    @ bit: the word's bits above the label are 0, tested with the look-up.
    @ Any of the three failing goes to call_transfer, which takes a call
    @ that passes one capability and sends anything else (its own checks
    @ fail) to the general path.
    CALL_CHECKS call_transfer
call_commit:
    @ Commit. Take the server off the endpoint.
    mov r0, #0
    ldr ip, [r8, #{process_ipc_next}]
    str r0, [r8, #{process_ipc_next}]
    str ip, [r10, #{endpoint_head}]
    str ip, [r10, #{endpoint_first_receiver}]
    cmp ip, #0
    streq r0, [r10, #{endpoint_tail}]
    @ The message: r0 = 0, r1 = label, r2-r5 the words, r7 the badge.
    stm r8, {{r0, r1, r2, r3, r4, r5}}
    str r7, [r8, #{process_r7}]
    str r0, [r8, #{process_ipc}]
    @ It owes the client a reply (its link, r6) and runs at least at the
    @ client's priority.
    str r6, [r8, #{process_reply_to}]
    ldr ip, [r8, #{process_priority}]
    ldr r7, [r6, #{process_priority}]
    cmp r7, ip
    strhi r7, [r8, #{process_priority}]
    str r0, [r8, #{process_state}]
    @ The client waits for the answer from the server (r9). Its r0 is
    @ written when it is woken (the answer's 0, or an error), as every
    @ blocked thread's is.
    mov r7, #{ipc_awaiting_reply}
    BLOCK_FOREVER_FOR r6, r9
    SWITCH

@ --- ReplyReceive: a server answers its waiting client and waits again ----
@ (Its side branches first; the path itself ends in the switch, which
@ follows it.)
@ A client waits (r8, see below; else the general path) and a notification
@ is bound (r9): with no bits in it, back to the path.
rr_bound:
    cmn r8, #2
    bhs tessera_svc_general
    ldr r9, [r9, #{notification_bits}]
    cmp r9, #0
    beq rr_unbound
    b tessera_svc_general
@ The path's last test failed: its checks one by one, each failing to the
@ general path (RECEIVE's too: the test's rights register is the kernel
@ pointer now; the handle comes back from the context), and back to the
@ commit if all hold.
rr_checks:
    ldr r0, [r6]
    LOOKUP r10, {endpoint_kind}, {right_receive}, r7, r9, r10, r11, r9
    ldr r11, =({kernel} + {kernel_in_cell})
    @ No sender waits on the endpoint (the general path takes it): the
    @ queue is empty (the common case, one server), or holds receivers.
    ldr lr, [r10, #{endpoint_head}]
    cmp lr, #0
    beq 2f
    ldr r0, [r10, #{endpoint_first_receiver}]
    cmp r0, #0
    beq tessera_svc_general
2:  ldrh lr, [r8, #{process_asid}]
    sub r0, lr, #1
    cmp r0, #255
    bhs tessera_svc_general
    @ Nothing ready outranks the client.
    ldr r0, [r11, #{kernel_ready_levels}]
    cmp r0, #0
    beq rr_commit
    clz r0, r0
    rsb r0, r0, #31
    ldr r7, [r8, #{process_priority}]
    cmp r0, r7
    bhi tessera_svc_general
    b rr_commit
@ A time limit (ip): the deadline, r0:r1 (its check may still fail), then
@ the commit with the server blocked until it, receiving on the endpoint;
@ the answer's words come back from its context (r1-r3 were used), the
@ client's ASID to lr.
rr_timed:
    bl fast_deadline
    BLOCK_UNTIL r6, r0, r1
    mov ip, #{ipc_receiving}
    str ip, [r6, #{process_ipc}]
    str r10, [r6, #{process_ipc_argument}]
    add ip, r6, #4
    ldm ip, {{r1, r2, r3, r4, r5}}
    ldrb lr, [r8, #{process_asid}]
    ANSWER r8
    mvn ip, #0
    str ip, [r6, #{process_reply_to}]
    b rr_queue

    .global tessera_fast_reply_receive
tessera_fast_reply_receive:
    SAVE
    sub r6, sp, #{process_pc}
    @ Its time limit stays in ip (r12, the caller's) through the checks:
    @ FOREVER, or one whose deadline is the last check (rr_timed).
    @ Its reply_to in r8 and, the word after, its bound notification in
    @ r9. A client waits for the reply: reply_to is its link (its entry's
    @ address); none and gone are the two largest words. Any other value
    @ names a live caller blocked awaiting this server's reply, which the
    @ kernel keeps so (`cancel_ipc` and the end of either side:
    @ `Kernel::check_invariants`, "the caller a server owes a reply is
    @ waiting for it"). And no notification is bound (one with no bits in
    @ it: rr_bound). One test: `cmn` sets C for the two largest words, then
    @ `cmp` for a bound notification; either to rr_bound.
    ldrd r8, r9, [r6, #{process_reply_to}]
    cmn r8, #2
    cmpcc r9, #1
    bhs rr_bound
rr_unbound:
    @ The endpoint (r10), and no capability in the answer (the info word's
    @ bits above the label, r7 = 0), in the look-up's test.
    LOOKUP r10, {endpoint_kind}, 0, r7, r9, r10, r11, r9, info=r7
    @ Then one test of the rest, each step with C set for "holds" and done
    @ only if the steps before it held; any failing: rr_checks. The
    @ capability has RECEIVE (its rights in r11, before r11 becomes the
    @ kernel); the client (r8) can run at once (its ASID, in lr, not 0; see
    @ RUNNABLE) and its turn was not spent while the server worked for it
    @ (the general path queues it): the ASID's byte with `slice_spent`'s
    @ above it (checked in fast_path.rs) is 1 to 255; no process waits on
    @ the endpoint (head 0: no sender, which is the general path's, and no
    @ other receiver, which rr_checks allows); and nothing is ready (else
    @ rr_checks looks at what is).
    HAS_RIGHT , r9, r11, {receive_carry}
    ldr r11, =({kernel} + {kernel_in_cell})
    ldr r0, [r10, #{endpoint_head}]
    ldr r7, [r11, #{kernel_ready_levels}]
    ldrh lr, [r8, #{process_asid}]
    sub r9, lr, #1
    rsbscs r9, r9, #254
    rsbscs r0, r0, #0
    rsbscs r7, r7, #0
    bcc rr_checks
rr_commit:
    @ Commit. The answer, then the server blocks receiving on the
    @ endpoint, with no deadline, or (rr_timed) until its time limit.
    cmn ip, #1
    bne rr_timed
    ANSWER r8
    mov r7, #{ipc_receiving}
    BLOCK_FOREVER_FOR r6, r10
    @ It owes nobody a reply (r4: all ones, none).
    str r4, [r6, #{process_reply_to}]
rr_queue:
    @ The server waits last in the endpoint's queue, at its own priority;
    @ the client runs (the switch, next).
    ENQUEUE r10, {endpoint_head}, {endpoint_tail}, r6, {endpoint_first_receiver}
    ldr ip, [r6, #{process_base_priority}]
    str ip, [r6, #{process_priority}]

@ --- the switch: to the thread whose entry is r8 (ASID lr) ----------------
@ As `Kernel::switch_to_thread` with the checks done: the thread register
@ of the thread leaving (whose context SP_svc points into) is saved; the
@ new one becomes current and loaded, gets its thread register, an open
@ exclusive monitor and its address space (through reserved ASID 0, as
@ mmu::switch_to), and runs. r0 is 0 here; r1-r5 are free.
@ From a syscall, where the leaving thread was current
@ (`Kernel::check_invariants`): `current`'s tag says `Some` already.
@ ReplyReceive's path falls into it.
fast_switch:
    SWITCH
@ From the IRQ path, whose entry saved the thread register (and which has
@ no context at sp when it comes from the idle wait, where no thread is
@ current): `current`'s tag is written.
fast_switch_saved:
    mov r2, #{some_tag}
    str r2, [r11, #{kernel_current}]
    b 1b

@ --- Receive: nothing has come, the caller waits, the next thread runs ---
@ Taken when no sender waits on the endpoint and no bits of a bound
@ notification answer the receive, and another thread is ready to run at
@ once with no timer work for its slice (`Kernel::receive` blocking, then
@ `prepare_return`); a time limit is armed if it comes first
@ (fast_deadline). Anything else (a message or bits to take, NO_WAIT)
@ is the general path's.
    .global tessera_fast_receive
tessera_fast_receive:
    SAVE
    sub r6, sp, #{process_pc}
    ldr r11, =({kernel} + {kernel_in_cell})
    LOOKUP r10, {endpoint_kind}, {right_receive}, r7, r8, r10
    @ r0:r1 = its deadline (all ones: none).
    mvn r0, #0
    cmn r1, #1
    movne ip, r1
    blne fast_deadline
    ldr ip, [r6, #{process_bound}]
    cmp ip, #0
    ldrne ip, [ip, #{notification_bits}]
    cmpne ip, #0
    bne tessera_svc_general
    ldr ip, [r10, #{endpoint_first_receiver}]
    ldr lr, [r10, #{endpoint_head}]
    cmp ip, #0
    movne lr, #0
    cmp lr, #0
    bne tessera_svc_general
    HIGHEST_READY
    @ Commit. The caller blocks, last in the endpoint's queue (its r0 is
    @ written when it is woken); the next thread runs.
    BLOCK_UNTIL r6, r0, r1
    RUN_NEXT
    ENQUEUE r10, {endpoint_head}, {endpoint_tail}, r6, {endpoint_first_receiver}
    mov ip, #{ipc_receiving}
    str ip, [r6, #{process_ipc}]
    str r10, [r6, #{process_ipc_argument}]
    b fast_switch

@ --- Yield: the next thread of the yielder's priority runs ---------------
@ Taken when another thread of the yielder's priority is ready and none
@ above it (the general path answers a yielder alone at its priority, and
@ anything else), that thread can run at once (address space, ASID) and
@ its new slice needs no timer work (the timer is armed no later than the
@ slice's end, and nothing is pending).
    .global tessera_fast_yield
tessera_fast_yield:
    SAVE
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
    NEXT_THREAD r10, r0
    @ Commit. The yielder's answer, r0 = 0, and the new slice.
    strd r4, r5, [r11, #{kernel_slice_end}]
    mov r1, #0
    str r1, [r6]
    @ The next thread leaves the front of the queue and runs...
    ldr ip, [r8, #{process_run_next}]
    str r1, [r8, #{process_run_next}]
    strb r1, [r8, #{process_run_level}]
    str r1, [r8, #{process_state}]
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
    LINK_AFTER_NE r2, r7, {process_run_next}, r4
    str r7, [r3, r0, lsl #2]
    mov r0, #0
    b fast_switch

@ --- Signal: set bits, wake the waiter they are for --------------------
@ Taken for a notification no process is bound to, with no waiter or one
@ (several: the general path), when a woken waiter does not outrank the
@ signaller, which keeps running (no switch). A deadline the waiter had
@ stays in the kernel's lower bound on the earliest one (the timer may
@ fire once for nothing), as in the Rust path.
    .global tessera_fast_signal
tessera_fast_signal:
    SAVE
    NOTIFICATION {right_signal}
    ldr ip, [r10, #{notification_bound}]
    cmp ip, #0
    bne tessera_svc_general
    @ r2: the bits after this signal.
    ldr r2, [r10, #{notification_bits}]
    orr r2, r2, r1
    @ One waiter or none: r8 its entry (its link), r9 its index.
    ldr r8, [r10, #{notification_head}]
    cmp r8, #0
    beq 2f
    ldr ip, [r10, #{notification_tail}]
    cmp ip, r8
    bne tessera_svc_general
    ldr r9, [r8, #{process_index}]
    @ r3: what the waiter takes (it waits on the notification, as every
    @ process queued on one does: `Kernel::check_invariants`); none, and it
    @ waits on.
    ldr r3, [r8, #{process_ipc_mask}]
    ands r3, r3, r2
    beq 2f
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
    str r0, [r8, #{process_ipc}]
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
    LINK_AFTER_NE r5, r9, {process_run_next}, r7
    ldr r5, [r11, #{kernel_ready_levels}]
    mov r7, #1
    orr r5, r5, r7, lsl r4
    str r5, [r11, #{kernel_ready_levels}]
    @ The signaller goes on: r0 = 0.
    str r0, [r6]
    RETURN_TO_CALLER
2:  @ Nobody to wake: the bits stay.
    str r2, [r10, #{notification_bits}]
    mov r0, #0
    str r0, [r6]
    RETURN_TO_CALLER

@ --- WaitNotification: take bits, or block and run another thread ------
@ Taken when the caller's bits are there or it asked not to wait (it goes
@ on), or when it waits (a time limit is armed if it comes first,
@ fast_deadline): another thread ready to run at once (address space,
@ ASID) with no timer work for its slice runs, or with none ready the
@ idle wait begins (idle_wait, below the IRQ path).
    .global tessera_fast_wait_notification
tessera_fast_wait_notification:
    SAVE
    @ r0 the handle, r1 the mask, r2 the timeout.
    NOTIFICATION {right_wait}
    ldr r3, [r10, #{notification_bits}]
    ands r4, r3, r1
    bne 1f
    cmp r2, #{no_wait}
    beq 1f
    @ It blocks until r0:r1 (all ones: no time limit; the mask comes back
    @ from its context at the commit): the highest ready thread runs
    @ instead, or with none, the idle loop.
    mvn r0, #0
    mvn r1, #0
    cmn r2, #1
    movne ip, r2
    blne fast_deadline
    HIGHEST_READY 3f
    @ Commit. The caller blocks, the next thread runs (r7 = 1)...
    BLOCK_UNTIL r6, r0, r1
    RUN_NEXT
    mov r7, #1
2:  ldr r1, [r6, #{process_r1}]
    @ ...and the caller waits last on the notification.
    ENQUEUE r10, {notification_head}, {notification_tail}, r6
    mov ip, #{ipc_notification}
    str ip, [r6, #{process_ipc}]
    str r10, [r6, #{process_ipc_argument}]
    str r1, [r6, #{process_ipc_mask}]
    cmp r7, #0
    bne fast_switch
    @ Nobody was ready: no thread is current, and the idle wait begins
    @ (the caller's thread register saved: a thread may run next).
    mrc p15, 0, ip, c13, c0, 2
    str ip, [sp, #8]
    mov ip, #{none_tag}
    str ip, [r11, #{kernel_current}]
    b idle_wait
3:  @ Commit when nobody is ready: the caller blocks (r7 = 0), as above.
    BLOCK_UNTIL r6, r0, r1
    mov r7, #0
    b 2b
1:  @ It goes on with the bits it takes (r4; none for a wait that may not
    @ block): r0 = 0, r1 the bits, r2 = r3 = 0.
    bic r3, r3, r1
    str r3, [r10, #{notification_bits}]
    mov r0, #0
    str r0, [r6]
    str r4, [r6, #{process_r1}]
    str r0, [r6, #({process_r1} + 4)]
    str r0, [r6, #({process_r1} + 8)]
    RETURN_TO_CALLER

@ --- InterruptAck: a bound interrupt may be signalled again --------------
@ The general path's `InterruptAck` (kernel/core/src/kernel/ipc.rs): the
@ handle names an interrupt (no right needed) that is bound to a
@ notification; the distributor's enable bit for it is set again
@ (`gic::unmask`), and the caller goes on with r0 = 0. Anything else (a
@ bad handle, an interrupt not bound, interrupt 0) is the general path's.
    .global tessera_fast_interrupt_ack
tessera_fast_interrupt_ack:
    SAVE
    sub r6, sp, #{process_pc}
    ldr r11, =({kernel} + {kernel_in_cell})
    LOOKUP r9, {interrupt_kind}, 0, r7, r8, r10
    movs r1, r10
    beq tessera_svc_general
    @ A binding names it.
    bl find_binding
    cmp r2, #0
    beq tessera_svc_general
    @ Commit: the distributor's ISENABLER.
    DISTRIBUTOR_BIT #{gicd_isenabler}
    mov r0, #0
    str r0, [r6]
    RETURN_TO_CALLER

@ r2 = the binding of interrupt r1 (not 0: unused bindings hold 0), the
@ first as `Iterator::find` gives it, or 0 if none (r11: the kernel).
@ Called with `bl`. Uses r3, ip.
find_binding:
    add r2, r11, #{kernel_bindings}
    add r3, r2, #({max_bindings} * {binding_bytes})
1:  ldr ip, [r2], #{binding_bytes}
    cmp ip, r1
    subeq r2, r2, #{binding_bytes}
    bxeq lr
    cmp r2, r3
    blo 1b
    mov r2, #0
    bx lr

@ Masks interrupt r1 (`gic::disable`: its ICENABLER bit) and then ends
@ it (EOIR: `gic::end_of_interrupt`), in the Rust path's order for an
@ interrupt bound to a notification. Called with `bl`. Uses r0, r2, r3,
@ ip.
mask_and_end:
    DISTRIBUTOR_BIT #{gicd_icenabler}
    ldr r2, ={cpu_interface}
    ldr r2, [r2]
    str r1, [r2, #{gicc_eoir}]
    bx lr

@ --- IRQ: a device's interrupt wakes the process bound to it --------------
@ From irq_entry (entry.s), with the interrupted thread's context saved as
@ for a syscall, or from the idle wait (below) with none (r6 = 0). The
@ interrupt is acknowledged here; the path takes one bound to a
@ notification with no waiters: if no process bound to it receives, the
@ bits stay and the interrupted thread goes on (with no timer work
@ pending) or the idle wait does; else the bound process must wait first
@ on an endpoint (`Kernel::deliver_interrupt`: `signal_object`,
@ `cancel_ipc`, `notify_receiver`) when that process outranks the
@ interrupted thread (any does the idle wait, but priority 0), nothing
@ ready is at its level or above, and it can run at once (`prepare_return`,
@ its new slice's end armed if the timer was armed later: NEW_SLICE
@ arm): the interrupt is masked and ended, the bits answer the receive,
@ the interrupted thread, if any, goes first in its level's queue, and the
@ woken process runs. Another pending interrupt is taken when the
@ exception return unmasks IRQs (or by the idle wait's `wfi`). The timer's
@ in the idle wait with no deadline passed is idle_timer's. Anything else
@ goes to Rust with the interrupt acknowledged, or none (spurious):
@ `tessera_irq`.
    .global tessera_fast_irq
tessera_fast_irq:
    sub r6, sp, #{process_pc}
    ldr r11, =({kernel} + {kernel_in_cell})
    @ From the idle wait: r6 = 0 (no thread was interrupted).
irq_taken:
    ldr r2, ={cpu_interface}
    ldr r2, [r2]
    ldr r1, [r2, #{gicc_iar}]
    ubfx r1, r1, #0, #10
    @ A failed check goes to Rust with the id in r1 (spurious: none).
    cmp r1, #{spurious}
    bhs irq_acknowledged
    @ The timer's: idle_timer (from the idle wait; else Rust). Not 0; bound
    @ (r2 its binding).
    ldr ip, ={timer_interrupt}
    ldr ip, [ip]
    cmp r1, ip
    beq idle_timer
    cmp r1, #0
    beq irq_acknowledged
    bl find_binding
    cmp r2, #0
    beq irq_acknowledged
    @ Its notification (r0): no waiters, bits after the signal (r7) set,
    @ a bound process (r8, index r9) receiving, first on its endpoint
    @ (r10).
    ldr r0, [r2, #{binding_notification}]
    ldr r7, [r2, #{binding_bits}]
    ldr ip, [r0, #{notification_head}]
    cmp ip, #0
    bne irq_acknowledged
    ldr ip, [r0, #{notification_bits}]
    orrs r7, r7, ip
    beq irq_acknowledged
    ldr r9, [r0, #{notification_bound}]
    subs r9, r9, #1
    bmi 1f
    ENTRY_OF r8, r9
    ldr ip, [r8, #{process_ipc}]
    cmp ip, #{ipc_receiving}
    bne 1f
    ldr r10, [r8, #{process_ipc_argument}]
    ldr ip, [r10, #{endpoint_head}]
    cmp ip, r8
    bne irq_acknowledged
    @ It outranks the interrupted thread (any priority but 0 outranks the
    @ idle wait), and no ready thread is at its level or above.
    ldr r2, [r8, #{process_priority}]
    movs ip, r6
    ldrne ip, [r6, #{process_priority}]
    cmp r2, ip
    bls irq_acknowledged
    and r2, r2, #({queue_levels} - 1)
    ldr ip, [r11, #{kernel_ready_levels}]
    lsrs ip, ip, r2
    bne irq_acknowledged
    @ It can run at once (ASID in lr) with a new slice (r4:r5).
    RUNNABLE r8, irq_acknowledged
    NEW_SLICE arm
    @ Commit. The notification's bits all go to the receiver (below); the
    @ interrupt is masked until acknowledged (`gic::disable`) and ended;
    @ the ASID comes back to lr.
    mov r2, #0
    str r2, [r0, #{notification_bits}]
    bl mask_and_end
    ldrb lr, [r8, #{process_asid}]
    @ The receiver leaves its endpoint's queue...
    mov r2, #0
    ldr ip, [r8, #{process_ipc_next}]
    str ip, [r10, #{endpoint_head}]
    str ip, [r10, #{endpoint_first_receiver}]
    cmp ip, #0
    streq r2, [r10, #{endpoint_tail}]
    str r2, [r8, #{process_ipc_next}]
    @ ...with r0 = r1 = 0 (label 0), r2 = the bits, r3-r5 = 0 and
    @ NOTIFIED_BADGE (all ones) in r7, and runs.
    str r2, [r8]
    str r2, [r8, #4]
    str r7, [r8, #8]
    str r2, [r8, #12]
    str r2, [r8, #16]
    str r2, [r8, #20]
    mvn ip, #0
    str ip, [r8, #{process_r7}]
    str r2, [r8, #{process_ipc}]
    strb r2, [r8, #{process_slice_spent}]
    str r2, [r8, #{process_state}]
    strd r4, r5, [r11, #{kernel_slice_end}]
    @ The interrupted thread, if any, is ready, first in its level's queue
    @ (r0 the level, r7 its link).
    cmp r6, #0
    beq 2f
    mov ip, #{state_ready}
    str ip, [r6, #{process_state}]
    ldr r0, [r6, #{process_priority}]
    and r0, r0, #({queue_levels} - 1)
    add ip, r0, #1
    strb ip, [r6, #{process_run_level}]
    ldr r7, [r11, #({kernel_current} + 4)]
    add r7, r7, #1
    add r3, r11, #{kernel_queue_heads}
    ldr ip, [r3, r0, lsl #2]
    str ip, [r6, #{process_run_next}]
    str r7, [r3, r0, lsl #2]
    cmp ip, #0
    addeq r3, r11, #{kernel_queue_tails}
    streq r7, [r3, r0, lsl #2]
    ldr ip, [r11, #{kernel_ready_levels}]
    mov r3, #1
    orr ip, ip, r3, lsl r0
    str ip, [r11, #{kernel_ready_levels}]
2:  mov r0, #0
    b fast_switch_saved
1:  @ Nobody receives them: the bits stay (bound: for its next receive),
    @ the interrupt is masked and ended, and the interrupted thread goes on
    @ (no timer work is pending for either: see RUNNABLE), or the idle
    @ wait.
    str r7, [r0, #{notification_bits}]
    bl mask_and_end
    cmp r6, #0
    beq idle_wait
    RETURN_TO_CALLER
@ The timer's interrupt in the idle wait (r6 = 0), as `timer_expired`
@ when no deadline has passed (a lower bound left by a waiter woken
@ early, say): the live processes' deadlines (Sleeping, Waiting or Ipc:
@ consecutive tags, the deadline at process_until) are scanned, and
@ with none at or before now (CNTPCT) the earliest of them (all ones:
@ none) becomes `earliest_wakeup` and is armed, later than now, so the
@ timer's line drops, and the interrupt is ended and the wait goes on (a
@ line still high then, or a minimum passed during the scan, pends it
@ again: the next pass finds it due). A deadline that passed, or a thread
@ interrupted, is Rust's (the interrupt acknowledged; r6 is not 0 then).
@ Uses r2-r9, ip.
idle_timer:
    cmp r6, #0
    bne irq_acknowledged
    mrrc p15, 0, r2, r3, c14
    mvn r4, #0
    mvn r5, #0
    ldr r9, [r11, #{kernel_first_live}]
1:  subs r9, r9, #1
    bmi 2f
    ENTRY_OF r8, r9
    ldr r9, [r8, #{process_live_next}]
    ldr ip, [r8, #{process_state}]
    sub ip, ip, #{state_sleeping}
    cmp ip, #2
    bhi 1b
    ldrd r6, r7, [r8, #{process_until}]
    cmp r2, r6
    sbcs ip, r3, r7
    bhs irq_acknowledged
    cmp r6, r4
    sbcs ip, r7, r5
    movlo r4, r6
    movlo r5, r7
    b 1b
2:  strd r4, r5, [r11, #{kernel_earliest_wakeup}]
    strd r4, r5, [r11, #{kernel_armed_deadline}]
    mcrr p15, 2, r4, r5, c14
    ldr r2, ={cpu_interface}
    ldr r2, [r2]
    str r1, [r2, #{gicc_eoir}]
    b idle_from_rust

irq_acknowledged:
    sub r0, sp, #{process_pc}
    ldr sp, =__kernel_stack_top
    bl tessera_irq
    b tessera_return_to_user

@ --- the idle wait: no thread is ready --------------------------------------
@ The A7 kernel's only idle loop. From WaitNotification's commit with
@ nobody ready (the caller blocked, none current), as `prepare_return`
@ finding no thread: the timer armed for the earliest deadline, as
@ `program_timer` with no thread current (no slice); or from Rust, whose
@ `prepare_return` found no thread ready and armed it
@ (`Platform::idles_outside`: a null resume pointer, see
@ tessera_return_to_user). Then `wfi` with IRQs masked, which ends when an
@ interrupt is pending; it is taken as above with no interrupted thread
@ (r6 = 0): the process bound to it runs, or its bits stay and the wait
@ goes on, or the timer's with no deadline passed re-arms it (idle_timer),
@ or Rust (`tessera_irq`: `Kernel::interrupt_acknowledged`,
@ whose `prepare_return` runs whoever is ready or comes back here). Nothing
@ is on the kernel stack: a thread's exception entry needs none meanwhile,
@ as none runs. r11: the kernel.
idle_wait:
    mov ip, #0
    strb ip, [r11, #{kernel_timer_dirty}]
    ldrd r2, r3, [r11, #{kernel_earliest_wakeup}]
    strd r2, r3, [r11, #{kernel_armed_deadline}]
    mcrr p15, 2, r2, r3, c14
@ Rust's way in: a null resume pointer from `prepare_return`, which found
@ no thread ready and armed the timer itself (`Platform::idles_outside`),
@ SP_svc at the kernel stack's top (no entry returns null at boot); and
@ idle_timer's way back, the timer armed there.
idle_from_rust:
    ldr r11, =({kernel} + {kernel_in_cell})
    wfi
    mov r6, #0
    b irq_taken

@ --- CapDelete: a copy of a frame that nothing was derived from ------------
@ The general path's `CapDelete` (kernel/core/src/kernel/capabilities.rs)
@ narrowed to a frame or device region that is mapped nowhere and has no
@ descendants (the common case: a copy received in a message, which a
@ server deletes at once): the slot leaves the derivation list and is
@ emptied, as `capability::delete_leaf` does, and nothing else changes
@ (`Kernel::destroyed` has nothing to undo for it). The caller goes on:
@ r0-r3 = 0, as for `Reply::Values([0; 3])`. Anything else (a bad or stale
@ handle, another kind, a mapping, descendants) goes to the general path.
    .global tessera_fast_cap_delete
tessera_fast_cap_delete:
    SAVE
    sub r6, sp, #{process_pc}
    ldr r11, =({kernel} + {kernel_in_cell})
    @ r9 = the slot: an index below CSPACE_SLOTS, the handle's generation
    @ (its tag, as in LOOKUP).
    and ip, r0, #({cspace_slots} - 1)
    sub r9, r6, #{cspace_below_entry}
    mov lr, #{slot_bytes}
    mla r9, ip, lr, r9
    ldr ip, [r9, #{slot_tag}]
    cmp ip, r0, lsr #{slot_index_bits}
    bne tessera_svc_general
    @ A frame or device region (an empty slot's kind is neither, and slot 0
    @ is empty), mapped nowhere.
    ldr ip, [r9, #{capability_kind}]
    cmp ip, #{frame_kind}
    cmpne ip, #{device_region_kind}
    bne tessera_svc_general
    ldr ip, [r9, #{capability_data}]
    tst ip, #{mapped}
    bne tessera_svc_general
    @ No descendants: the next slot in the list (r2, r5) is none or no
    @ deeper (`capability::has_descendants`). r3 the previous.
    ldr r2, [r9, #{slot_next}]
    ldr r3, [r9, #{slot_previous}]
    cmp r2, #0
    beq 1f
    SLOT_AT r5, r2
    ldr ip, [r5, #{slot_depth}]
    ldr lr, [r9, #{slot_depth}]
    cmp ip, lr
    bhi tessera_svc_general
    @ Commit: the neighbours link each other...
    str r3, [r5, #{slot_previous}]
1:  cmp r3, #0
    beq 2f
    SLOT_AT r5, r3
    str r2, [r5, #{slot_next}]
2:  @ ...and the slot is empty, a generation on (`capability::empty`).
    ldr ip, ={empty_kind}
    str ip, [r9, #{capability_kind}]
    ldr ip, [r9, #{slot_tag}]
    add ip, ip, #{tag_step}
    ldr lr, ={tag_mask}
    and ip, ip, lr
    str ip, [r9, #{slot_tag}]
    mov r0, #0
    str r0, [r9, #{slot_depth}]
    str r0, [r9, #{slot_previous}]
    str r0, [r9, #{slot_next}]
    mov r1, #0
    mov r2, #0
    mov r3, #0
    stm r6, {{r0, r1, r2, r3}}
    RETURN_TO_CALLER

@ --- a wait's deadline ------------------------------------------------------
@ r0:r1 = the deadline of a wait of ip microseconds made now (not NO_WAIT
@ or FOREVER: `Clock::deadline` with `Clock::ticks`, the fixed-point
@ rate's two multiplies and the rounding up; past 2^64 the general path,
@ which reads only sp). The timer is then armed no later than it, so
@ that the wait needs no timer work (the deadline joins `earliest_wakeup`
@ at the commit, BLOCK_UNTIL): a deadline before the armed one is armed
@ here (CNTP_CVAL, as `Platform::set_deadline`). That is the one effect
@ before a path's commit (but the IRQ path's NEW_SLICE arm, after its last
@ check), and harmless if a later check fails: a timer armed early fires
@ once for nothing (`timer_expired`, or idle_timer in the idle wait), and
@ the timer is armed again on the way out (`program_timer`).
@ Called with `bl` from a path's checks (r11: the kernel). Uses r2, r3,
@ ip.
fast_deadline:
    cmp ip, #{no_wait}
    beq tessera_svc_general
    ldrd r2, r3, [r11, #{kernel_ticks_per_micro}]
    umull r0, r2, ip, r2
    umull r3, r1, ip, r3
    @ The ticks, r1:r3: the high product, the low one's carry word (r2),
    @ and one more if its fraction (r0) is not 0 (C from the compare).
    cmp r0, #1
    adcs r3, r3, r2
    adc r1, r1, #0
    @ Plus now (CNTPCT, as `Platform::now`); past 2^64, the general path.
    mrrc p15, 0, r0, r2, c14
    adds r0, r0, r3
    adcs r1, r1, r2
    bcs tessera_svc_general
    ldrd r2, r3, [r11, #{kernel_armed_deadline}]
    cmp r0, r2
    sbcs ip, r1, r3
    mcrrlo p15, 2, r0, r1, c14
    strdlo r0, r1, [r11, #{kernel_armed_deadline}]
    bx lr

    .ltorg
