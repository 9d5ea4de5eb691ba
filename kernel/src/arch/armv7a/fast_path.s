@ Tessera Armv7-A IPC fast paths: the commonest `Call` and `ReplyReceive`
@ answered before the kernel enters Rust (docs/kernel-platform.md, "The
@ IPC fast paths"). Each is `Kernel::fast_call` or
@ `Kernel::fast_reply_receive` (kernel/core/src/kernel/ipc.rs), narrowed:
@ every check first, changing nothing, and any failed check branches to
@ the general entry with every register as the entry left it, where the
@ Rust fast paths and then the general path take the call. Only then the
@ effects, which cannot fail, and the switch to the other thread.
@
@ Every offset, tag and bit comes from `kernel_core::kernel::Kernel::FAST_PATH`
@ (kernel/core/src/kernel/fast_path.rs), passed in by fast_path.rs.
@
@ On entry (from svc_entry): the caller's registers are saved in its
@ context, SP_svc points at the context's `pc` field, TPIDRURW is saved,
@ r0-r7 still hold the caller's r0-r7, IRQs are masked. The caller's
@ process entry begins with its context, so it is at SP_svc - pc offset.
@ Registers: r6 the client's entry, r8 the server's, r9 the index of the
@ thread switched to, r10 the endpoint, r11 the kernel; r12 and lr scratch.

    .syntax unified
    .arm
    .section .text.fast_path, "ax"

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
    @ fall through

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
