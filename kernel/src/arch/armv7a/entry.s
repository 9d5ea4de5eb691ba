@ Tessera Armv7-A entry: reset, exception vectors, and the way back to user
@ mode. Kernel code always runs in SVC mode with IRQs masked, Rust on one
@ kernel stack (svc.s's assembly paths use none); user threads run in User
@ mode.
@
@ The trick that keeps entry short: while a user thread runs, SP_svc points
@ at the `pc` field of that thread's saved context (see context.rs), laid out
@ as r0-r12, sp, lr, pc, cpsr. On entry one `stmdb sp, {r0-r14}^` saves all
@ user registers below it and one `srsia sp, #0x13` saves the return address
@ and SPSR into pc and cpsr. On exit the same two steps run backwards.
@ Every entry here that can lead to a switch (IRQ, faults) also saves the
@ user thread register TPIDRURW into the word after cpsr (two
@ instructions; a syscall saves it only where it may switch, svc.s); the
@ kernel loads it back only when the CPU passes to another process
@ (`Kernel::load_address_space` in kernel/core/src/kernel/mod.rs, and the
@ fast paths' switch).

    .syntax unified
    .arm

    .equ MODE_USR, 0x10
    .equ MODE_FIQ, 0x11
    .equ MODE_IRQ, 0x12
    .equ MODE_SVC, 0x13
    .equ MODE_ABT, 0x17
    .equ MODE_UND, 0x1b

    .section .text.boot, "ax"
    .global _start
_start:
    cpsid aif, #MODE_SVC
    @ Start the cycle counter first, so boot time is measured from here.
    mov r0, #1
    mcr p15, 0, r0, c9, c12, 0      @ PMCR.E
    mov r0, #0x80000000
    mcr p15, 0, r0, c9, c12, 1      @ PMCNTENSET.C
    @ Stacks: aborts, undefined, FIQ and IRQ share the small exception stack
    @ (only the kernel-fault path uses it); SVC gets the kernel stack.
    ldr r1, =__exception_stack_top
    cps #MODE_ABT
    mov sp, r1
    cps #MODE_UND
    mov sp, r1
    cps #MODE_FIQ
    mov sp, r1
    cps #MODE_IRQ
    mov sp, r1
    cps #MODE_SVC
    ldr sp, =__kernel_stack_top
    @ Zero .bss.
    @ Zero .bss, 32 bytes per store (linker/kernel.ld aligns both ends).
    ldr r0, =__bss_start
    ldr r1, =__bss_end
    mov r2, #0
    mov r3, #0
    mov r4, #0
    mov r5, #0
    mov r6, #0
    mov r7, #0
    mov r8, #0
    mov r9, #0
1:  cmp r0, r1
    stmialo r0!, {r2-r9}
    blo 1b
    @ Vectors at our table: VBAR, with SCTLR.V (high vectors) cleared so
    @ that VBAR is used even on a core that resets V to 1.
    ldr r0, =tessera_vectors
    mcr p15, 0, r0, c12, c0, 0      @ VBAR
    mrc p15, 0, r0, c1, c0, 0
    bic r0, r0, #0x2000             @ SCTLR.V
    mcr p15, 0, r0, c1, c0, 0
    isb
    bl kernel_main
2:  wfi
    b 2b

    .section .text.vectors, "ax"
    .balign 32
    .global tessera_vectors
tessera_vectors:
    b kernel_exception_reset
    b undefined_entry
    b svc_entry
    b prefetch_abort_entry
    b data_abort_entry
    b kernel_exception_reserved
    b irq_entry
    b kernel_exception_fiq

@ --- syscalls -------------------------------------------------------------
@ `svc_entry`, the fast paths and `tessera_return_to_user` are in svc.s.

@ --- interrupts -----------------------------------------------------------
@ IRQs are masked in the kernel, so an IRQ always interrupts user mode.
irq_entry:
    sub lr, lr, #4
    srsia sp, #MODE_SVC
    cps #MODE_SVC
    stmdb sp, {r0-r14}^
    mrc p15, 0, r1, c13, c0, 2      @ TPIDRURW
    str r1, [sp, #8]
    @ The common case in assembly, the rest in Rust (svc.s).
    b tessera_fast_irq

@ --- faults ---------------------------------------------------------------
@ A fault from user mode ends that process (tessera_user_fault); a fault in
@ the kernel is a bug and panics (tessera_kernel_fault).
.macro USER_FAULT_ENTRY name, kind, adjust
\name:
    str r0, [sp, #-4]
    mrs r0, spsr
    and r0, r0, #0x1f
    cmp r0, #MODE_USR
    ldr r0, [sp, #-4]
    bne 1f
    sub lr, lr, #\adjust
    srsia sp, #MODE_SVC
    cps #MODE_SVC
    stmdb sp, {r0-r14}^
    mrc p15, 0, r1, c13, c0, 2      @ TPIDRURW
    str r1, [sp, #8]
    sub r0, sp, #60
    ldr sp, =__kernel_stack_top
    mov r1, #\kind
    bl tessera_user_fault
    b tessera_return_to_user
1:  mov r0, #\kind
    mov r1, lr
    mrs r2, spsr
    bl tessera_kernel_fault
    b .
.endm

    USER_FAULT_ENTRY undefined_entry, 0, 4
    USER_FAULT_ENTRY prefetch_abort_entry, 1, 4
    USER_FAULT_ENTRY data_abort_entry, 2, 8

kernel_exception_reset:
    mov r0, #3
    b 3f
kernel_exception_reserved:
    mov r0, #4
    b 3f
kernel_exception_fiq:
    mov r0, #5
3:  mov r1, lr
    mrs r2, spsr
    ldr sp, =__exception_stack_top
    bl tessera_kernel_fault
    b .
