; guests/vmx/vmx-windows.asm: exits that watch L2 rather than trap one instruction kind: the monitor trap flag (one
; exit per L2 instruction, per REP iteration, after a fault's delivery; before an open interrupt window), interrupt-
; window and NMI-window exiting (with virtual NMIs: open at once, closed by an injected NMI until L2's IRET, which
; ends the blocking even when it faults), CR0/CR4 guest/host masks with read shadows, CR3-load exiting with a
; CR3-target value, and descriptor-table exiting (exits 46/47 with their instruction information).
; Leaves I/O, MSR and other instruction exits to vmx-exits.asm, injection to vmx-inject.asm, EPT to vmx-ept.asm.
;
; SDM Vol. 3 26.5.2 (2023 numbering; 25.5.2 before: MTF), 26.7 (the window exits and the priority of exits at an
; instruction boundary), 26.3 (IRET and (virtual-)NMI blocking; reads of CR0/CR4: the shadow for host-owned bits),
; 26.1.3 (MOV to CR0/CR3/CR4, descriptor-table instructions), 27.2.1.1 (the CR3-target count), 28.1 and 28.2.3
; (a faulting IRET: blocking cleared, "NMI unblocking due to IRET"), 28.2.1 table 28-3 (CR-access qualification),
; 28.2.5 tables 28-10 and 28-11 (instruction information for exits 46 and 47), 6.7.1 (IRET unblocks NMIs even if it
; faults), 6.8.3 and STI (the one-instruction STI shadow);
; digest shared/spec/vmx.md 2.6, 3, 5.2, 5.5, 6.3, 6.6, 6.7. exitless-only: QEMU TCG has no VMX.
; Includes are ../lib/*.inc: assemble from guests/vmx/ or give nasm -I guests/vmx/ (exitless run finds them).

bits 32
org 0x100000                        ; KERNEL_LOAD_ADDR (lib/multiboot.inc)

%include "../lib/multiboot.inc"
%include "../lib/serial.inc"
%include "../lib/exit.inc"
%include "../lib/report.inc"
%include "../lib/start.inc"
%include "../lib/vmx.inc"

CR0_WP              equ 1 << 16
CR0_MASK            equ CR0_TS | CR0_NE     ; the CR0 bits L1 owns in test_cr0_cr4
NMI_VECTOR          equ 2
L2_IDT_VECTORS      equ 7                   ; the L2 IDT has gates 0-6 (only 2, NMI, and 6, #UD, present)
REG_EAX             equ 0                   ; GPR numbers of the CR-access qualification (bits 11:8)
REG_ECX             equ 1
REG_EDX             equ 2
REG_EBX             equ 3
REG_ESI             equ 6
; Instruction information of exits 46 and 47 (SDM tables 28-10, 28-11).
DT_INFO_ADDR32      equ 1 << 7
DT_INFO_OP32        equ 1 << 11
DT_INFO_REGISTER    equ 1 << 10
DT_INFO_SEG_DS      equ 3 << 15
DT_INFO_NO_INDEX    equ 1 << 22
DT_INFO_NO_BASE     equ 1 << 27
DT_INFO_DEFINED_46  equ 0x3FFF8B83          ; bits 1:0, 9:7, 11, 17:15, 21:18, 22, 26:23, 27, 29:28
DT_INFO_DEFINED_47_REG equ 0x30000478       ; register operand: bits 6:3, 10, 29:28

%macro exit_is 2
    check_eq dword [vmx_exit_reason], %1, %2
%endmacro

; supported CONTROL_FIELD, BITS, "what": SKIP line and jump to .done unless every bit may be 1.
%macro supported 3
    mov ebx, %2
    mov eax, %1
    call vmx_ctl_allowed1
    jnc %%yes
    report_skip %3
    jmp .done
%%yes:
%endmacro

main:
    call vmx_setup
    jc .done
    call test_mtf
    call test_intr_window
    call test_nmi_window
    call test_cr0_cr4
    call test_cr3_target
    call test_desc_table
.done:
    ret

; ---------------------------------------------------------------------------------------------------- MTF
; With the monitor trap flag, an exit 37 follows every L2 instruction (trap-like: GUEST_RIP = the next one,
; qualification 0), every iteration of a REP string instruction, and the delivery of a fault through L2's IDT; an
; instruction that itself exits (VMCALL) gives only its own exit.
test_mtf:
    prefix_push "MTF"
    supported VMCS_PROC_CONTROLS, PROC_MONITOR_TRAP_FLAG, "monitor trap flag not supported"
    mov eax, mtf_l2
    call vmx_vmcs_init
    vmcs_set_bits VMCS_PROC_CONTROLS, PROC_MONITOR_TRAP_FLAG
    call vmx_enter
    exit_is EXIT_REASON_MTF, "first entry: exit 37 after one instruction"
    check_eq dword [vmx_exit_rip], mtf_l2.second, "guest RIP = the next instruction"
    check_eq dword [vmx_guest_eax], 1, "the INC ran once"
    check_eq dword [vmx_exit_qual], 0, "qualification 0"
    call vmx_enter
    exit_is EXIT_REASON_MTF, "VMRESUME: exit 37 after the MOV"
    check_eq dword [vmx_exit_rip], mtf_l2.third, "guest RIP past the 5-byte MOV"
    check_eq dword [vmx_guest_ebx], 0x12345678, "the MOV ran"
    call vmx_enter
    exit_is EXIT_REASON_MTF, "third exit 37 after the ADD"
    check_eq dword [vmx_exit_rip], mtf_l2.fourth, "guest RIP = the VMCALL"
    check_eq dword [vmx_guest_eax], 0x12345679, "the ADD ran"
    call vmx_enter
    exit_is EXIT_REASON_VMCALL, "an exiting instruction: its own exit (18), no MTF exit"
    check_eq dword [vmx_exit_rip], mtf_l2.fourth, "at the VMCALL"
    ; Stepping with a handler: three instructions, three exits, then the VMCALL.
    mov eax, mtf_l2
    call vmx_vmcs_init
    vmcs_set_bits VMCS_PROC_CONTROLS, PROC_MONITOR_TRAP_FLAG
    mov dword [mtf_exits], 0
    mov esi, mtf_handler
    call vmx_run
    check_eq eax, EXIT_REASON_VMCALL, "vmx_run stepping the payload ends at its VMCALL"
    check_eq dword [mtf_exits], 3, "3 instructions: 3 MTF exits"
    ; A REP string instruction: an MTF exit after each iteration, RIP staying on the instruction until the last.
    mov eax, mtf_rep_l2
    call vmx_vmcs_init
    vmcs_set_bits VMCS_PROC_CONTROLS, PROC_MONITOR_TRAP_FLAG
    call vmx_enter
    call vmx_enter
    call vmx_enter
    exit_is EXIT_REASON_MTF, "REP STOSB: exit 37 before its first iteration (after the three MOVs)"
    check_eq dword [vmx_exit_rip], mtf_rep_l2.rep, "guest RIP = the REP STOSB"
    call vmx_enter
    exit_is EXIT_REASON_MTF, "exit 37 after the first iteration"
    check_eq dword [vmx_exit_rip], mtf_rep_l2.rep, "guest RIP still the REP STOSB"
    check_eq dword [vmx_guest_ecx], 2, "ECX = 2"
    call vmx_enter
    call vmx_enter
    exit_is EXIT_REASON_MTF, "exit 37 after the last iteration"
    check_eq dword [vmx_exit_rip], mtf_rep_l2.done, "guest RIP = the next instruction"
    check_eq dword [vmx_guest_ecx], 0, "ECX = 0"
    check_eq dword [mtf_rep_buffer], 0x00A5A5A5, "three bytes stored"
    ; A fault delivered through L2's IDT (#UD, not in the exception bitmap): the MTF exit follows the delivery, before
    ; the handler's first instruction.
    mov eax, VEC_UD
    mov ebx, l2_ud_handler
    call l2_set_gate
    mov eax, mtf_ud_l2
    call vmx_vmcs_init
    vmcs_write VMCS_GUEST_IDTR_BASE, l2_idt
    vmcs_write VMCS_GUEST_IDTR_LIMIT, L2_IDT_VECTORS * 8 - 1
    vmcs_write VMCS_EXCEPTION_BITMAP, ~(1 << VEC_UD)
    vmcs_set_bits VMCS_PROC_CONTROLS, PROC_MONITOR_TRAP_FLAG
    call vmx_enter
    exit_is EXIT_REASON_MTF, "UD2 delivered to L2's #UD handler: exit 37"
    check_eq dword [vmx_exit_rip], l2_ud_handler, "guest RIP = the handler's first instruction"
    check_eq dword [vmx_exit_rsp], vmx_guest_stack_top - 12, "the exception frame is on L2's stack"
    ; MTF exits take priority over interrupt-window exits (SDM 26.7: MTF ranks above debug traps, the preemption
    ; timer and both windows): after STI; NOP both are pending.
    mov eax, mtf_iw_l2
    call vmx_vmcs_init
    vmcs_set_bits VMCS_PROC_CONTROLS, PROC_MONITOR_TRAP_FLAG | PROC_INTR_WINDOW_EXITING
    call vmx_enter
    exit_is EXIT_REASON_MTF, "STI: exit 37 (the window is still closed by STI's shadow)"
    call vmx_enter
    exit_is EXIT_REASON_MTF, "the NOP in STI's shadow: exit 37 before the open window's exit 7"
    check_eq dword [vmx_exit_rip], mtf_iw_l2.window, "guest RIP after the NOP"
    call vmx_enter
    exit_is EXIT_REASON_INTR_WINDOW, "VMRESUME: exit 7 before any instruction"
    check_eq dword [vmx_exit_rip], mtf_iw_l2.window, "at the same RIP"
.done:
    prefix_pop
    ret

mtf_handler:
    cmp eax, EXIT_REASON_MTF
    jne .other
    inc dword [mtf_exits]
    mov eax, VMX_HANDLER_RESUME
    ret
.other:
    mov eax, VMX_HANDLER_DONE
    ret

mtf_l2:
    inc eax                         ; 1 byte
.second:
    mov ebx, 0x12345678             ; 5 bytes
.third:
    add eax, ebx
.fourth:
    vmcall
    jmp .fourth

mtf_rep_l2:
    mov ecx, 3
    mov edi, mtf_rep_buffer
    mov al, 0xA5
.rep:
    rep stosb
.done:
    vmcall
    jmp .done

mtf_ud_l2:
    ud2
    vmcall

l2_ud_handler:
    vmcall
    jmp l2_ud_handler

mtf_iw_l2:
    sti
    nop
.window:
    nop
    vmcall

; ---------------------------------------------------------------------------------------------------- windows
; Interrupt-window exiting: exit 7 before any instruction when RFLAGS.IF = 1 and there is no blocking by STI or
; MOV SS. STI (IF was 0) blocks for one instruction, so after `sti; nop` the exit comes at the next instruction.
test_intr_window:
    prefix_push "interrupt window"
    supported VMCS_PROC_CONTROLS, PROC_INTR_WINDOW_EXITING, "interrupt-window exiting not supported"
    mov eax, iw_l2
    call vmx_vmcs_init
    vmcs_set_bits VMCS_PROC_CONTROLS, PROC_INTR_WINDOW_EXITING
    vmcs_write VMCS_GUEST_RFLAGS, 0x202
    call vmx_enter
    exit_is EXIT_REASON_INTR_WINDOW, "RFLAGS.IF = 1 at entry: exit 7"
    check_eq dword [vmx_exit_rip], iw_l2, "before L2's first instruction"
    check_eq dword [vmx_exit_qual], 0, "qualification 0"
    vmcs_write VMCS_GUEST_RFLAGS, 0x2
    call vmx_enter
    exit_is EXIT_REASON_INTR_WINDOW, "cli; nop; sti; nop: exit 7 once STI's shadow is over"
    check_eq dword [vmx_exit_rip], iw_l2.after_shadow, "guest RIP = the second NOP after STI"
    vmcs_read VMCS_GUEST_INTERRUPTIBILITY
    check_eq eax, 0, "no blocking by STI left"
    vmcs_read VMCS_GUEST_RFLAGS
    check_eq eax, 0x202, "RFLAGS.IF = 1"
    ; Entering with STI blocking (and IF = 1) in the interruptibility state: the window opens one instruction later.
    mov eax, iw_l2.in_shadow
    vmcs_write VMCS_GUEST_RIP, eax
    vmcs_write VMCS_GUEST_INTERRUPTIBILITY, INTERRUPTIBILITY_STI
    call vmx_enter
    exit_is EXIT_REASON_INTR_WINDOW, "entry with blocking by STI: exit 7 after one instruction"
    check_eq dword [vmx_exit_rip], iw_l2.after_shadow, "guest RIP = the instruction after it"
    vmcs_clear_bits VMCS_PROC_CONTROLS, PROC_INTR_WINDOW_EXITING
    call vmx_enter
    exit_is EXIT_REASON_VMCALL, "control cleared: L2 runs to its VMCALL"
.done:
    prefix_pop
    ret

iw_l2:
    cli
    nop
    sti
.in_shadow:
    nop
.after_shadow:
    nop
    vmcall
    jmp iw_l2

; NMI-window exiting (needs virtual NMIs, which need NMI exiting): exit 8 before any instruction when there is no
; virtual-NMI blocking. Injecting an NMI sets that blocking; L2's IRET ends it.
test_nmi_window:
    prefix_push "NMI window"
    supported VMCS_PIN_CONTROLS, PIN_NMI_EXITING | PIN_VIRTUAL_NMIS, "virtual NMIs not supported"
    supported VMCS_PROC_CONTROLS, PROC_NMI_WINDOW_EXITING, "NMI-window exiting not supported"
    mov eax, NMI_VECTOR
    mov ebx, l2_nmi_handler
    call l2_set_gate
    mov eax, nw_l2
    call vmx_vmcs_init
    vmcs_write VMCS_GUEST_IDTR_BASE, l2_idt
    vmcs_write VMCS_GUEST_IDTR_LIMIT, L2_IDT_VECTORS * 8 - 1
    vmcs_set_bits VMCS_PIN_CONTROLS, PIN_NMI_EXITING | PIN_VIRTUAL_NMIS
    vmcs_set_bits VMCS_PROC_CONTROLS, PROC_NMI_WINDOW_EXITING
    vmcs_write VMCS_GUEST_INTERRUPTIBILITY, INTERRUPTIBILITY_NMI
    call vmx_enter
    exit_is EXIT_REASON_VMCALL, "entry with virtual-NMI blocking: no exit 8, L2 runs to its VMCALL"
    vmcs_read VMCS_GUEST_INTERRUPTIBILITY
    check_eq eax, INTERRUPTIBILITY_NMI, "virtual-NMI blocking saved"
    vmcs_write VMCS_GUEST_INTERRUPTIBILITY, 0
    mov eax, nw_l2
    vmcs_write VMCS_GUEST_RIP, eax
    call vmx_enter
    exit_is EXIT_REASON_NMI_WINDOW, "no virtual-NMI blocking: exit 8"
    check_eq dword [vmx_exit_rip], nw_l2, "before L2's first instruction"
    check_eq dword [vmx_exit_qual], 0, "qualification 0"
    vmcs_write VMCS_ENTRY_INTR_INFO, INTR_INFO_VALID | INTR_TYPE_NMI | NMI_VECTOR
    call vmx_enter
    exit_is EXIT_REASON_VMCALL, "injected NMI: its L2 handler runs (no exit 8 while blocked)"
    check_eq dword [vmx_exit_rip], l2_nmi_handler.vmcall, "at the handler's VMCALL"
    vmcs_read VMCS_GUEST_INTERRUPTIBILITY
    check_eq eax, INTERRUPTIBILITY_NMI, "virtual-NMI blocking"
    call vmx_skip_instruction
    call vmx_enter
    exit_is EXIT_REASON_NMI_WINDOW, "L2's IRET ends the blocking: exit 8"
    check_eq dword [vmx_exit_rip], nw_l2, "guest RIP = the IRET's return address (GUEST_RIP of the injection)"
    vmcs_read VMCS_GUEST_INTERRUPTIBILITY
    check_eq eax, 0, "no virtual-NMI blocking"
    check_eq dword [vmx_exit_rsp], vmx_guest_stack_top, "the NMI frame was popped"
    vmcs_clear_bits VMCS_PROC_CONTROLS, PROC_NMI_WINDOW_EXITING
    call vmx_enter
    exit_is EXIT_REASON_VMCALL, "control cleared: L2 runs to its VMCALL"
    check_eq dword [vmx_exit_rip], nw_l2.vmcall, "at its VMCALL"
    ; An IRET that faults still ends virtual-NMI blocking, before the VM exit, and the exit interruption information
    ; says so in bit 12 (SDM 28.2.3 "NMI unblocking due to IRET", 28.1; 6.7.1: IRET unblocks even if it faults).
    mov eax, NMI_VECTOR
    mov ebx, l2_nmi_bad_iret
    call l2_set_gate
    mov eax, nw_l2
    call vmx_vmcs_init
    vmcs_write VMCS_GUEST_IDTR_BASE, l2_idt
    vmcs_write VMCS_GUEST_IDTR_LIMIT, L2_IDT_VECTORS * 8 - 1
    vmcs_write VMCS_GUEST_GDTR_LIMIT, GDT_ENTRIES * 8 - 1
    vmcs_set_bits VMCS_PIN_CONTROLS, PIN_NMI_EXITING | PIN_VIRTUAL_NMIS
    vmcs_write VMCS_ENTRY_INTR_INFO, INTR_INFO_VALID | INTR_TYPE_NMI | NMI_VECTOR
    call vmx_enter
    exit_is EXIT_REASON_EXCEPTION_NMI, "IRET to CS 0x80 (beyond the GDT limit) in the NMI handler: the #GP exits"
    check_eq dword [vmx_exit_intr_info], INTR_INFO_VALID | INTR_INFO_NMI_UNBLOCK | INTR_INFO_DELIVER_ERROR | INTR_TYPE_HW_EXCEPTION | VEC_GP, "interruption information: #GP with NMI unblocking due to IRET (bit 12)"
    check_eq dword [vmx_exit_intr_error], 0x80, "error code 0x80"
    check_eq dword [vmx_exit_rip], l2_nmi_bad_iret.iret, "guest RIP = the IRET"
    vmcs_read VMCS_GUEST_INTERRUPTIBILITY
    check_eq eax, 0, "virtual-NMI blocking already cleared"
.done:
    prefix_pop
    ret

nw_l2:
    nop
.vmcall:
    vmcall
    jmp nw_l2

l2_nmi_handler:
.vmcall:
    vmcall
    iret

l2_nmi_bad_iret:
    mov dword [esp + 4], 0x80       ; the frame's CS: a selector beyond the GDT limit
.iret:
    iret

; l2_set_gate: EAX = vector (< L2_IDT_VECTORS), EBX = handler: a 32-bit interrupt gate, selector 0x08, in l2_idt.
vmx_gate_routine l2_set_gate, l2_idt, IDT_INT_GATE

; ---------------------------------------------------------------------------------------------------- CR0/CR4
; Guest/host masks and read shadows (SDM 26.3, 26.1.3; digest 6.6): L1 owns CR0.TS and CR0.NE (shadow: TS = 1,
; NE = 0; real: TS = 0, NE = 1) and CR4.VMXE (shadow 0). L2 reads the shadow for owned bits; a MOV to CR0/CR4
; exits (reason 28) only if it would change an owned bit from its shadow value, and otherwise writes only the
; guest-owned bits. Qualification: CR number (3:0), access type 0 = MOV to CR (5:4), the source GPR (11:8).
test_cr0_cr4:
    prefix_push "CR0/CR4 shadows"
    mov eax, cr_l2
    call vmx_vmcs_init
    mov eax, cr0
    mov [l1_cr0], eax
    mov eax, cr4
    mov [l1_cr4], eax
    vmcs_write VMCS_CR0_GUEST_HOST_MASK, CR0_MASK
    vmcs_write VMCS_CR0_READ_SHADOW, CR0_TS
    vmcs_write VMCS_CR4_GUEST_HOST_MASK, CR4_VMXE
    vmcs_write VMCS_CR4_READ_SHADOW, 0
    call vmx_enter
    exit_is EXIT_REASON_CR_ACCESS, "MOV to CR0 changing TS from its shadow: exit 28"
    check_eq dword [vmx_exit_qual], 0 | CR_QUAL_MOV_TO | (REG_EBX << CR_QUAL_GPR_SHIFT), "qualification: CR0, MOV to CR, EBX"
    check_eq dword [vmx_exit_rip], cr_l2.write_ts, "guest RIP = that MOV (the earlier one did not exit)"
    check_eq dword [vmx_exit_len], 3, "instruction length 3"
    mov eax, [l1_cr0]
    and eax, ~CR0_MASK
    or eax, CR0_TS
    check_eq dword [vmx_guest_eax], eax, "MOV from CR0: owned bits from the shadow (TS = 1, NE = 0)"
    mov eax, [l1_cr0]
    or eax, CR0_WP
    mov ebx, eax
    vmcs_read VMCS_GUEST_CR0
    check_eq eax, ebx, "the MOV matching the shadow wrote guest-owned WP only (real TS = 0, NE = 1)"
    ; L1 emulates the write: the new value of the owned bits goes into the shadow.
    mov eax, [vmx_guest_ebx]
    and eax, CR0_MASK
    vmcs_write VMCS_CR0_READ_SHADOW, eax
    call vmx_skip_instruction
    call vmx_enter
    exit_is EXIT_REASON_CR_ACCESS, "MOV to CR4 setting VMXE (shadow 0): exit 28"
    check_eq dword [vmx_exit_qual], 4 | CR_QUAL_MOV_TO | (REG_ESI << CR_QUAL_GPR_SHIFT), "qualification: CR4, MOV to CR, ESI"
    check_eq dword [vmx_exit_rip], cr_l2.write_cr4, "guest RIP = that MOV"
    mov eax, [l1_cr0]
    and eax, ~CR0_NE
    or eax, CR0_WP
    check_eq dword [vmx_guest_ecx], eax, "MOV from CR0 after L1's emulation: TS = 0 from the new shadow"
    mov eax, [l1_cr4]
    and eax, ~CR4_VMXE
    check_eq dword [vmx_guest_edx], eax, "MOV from CR4: VMXE = 0 from the shadow"
    vmcs_read VMCS_GUEST_CR4
    check_eq eax, dword [l1_cr4], "the MOV to CR4 matching the shadow did not clear the real VMXE"
    call vmx_skip_instruction
    call vmx_enter
    exit_is EXIT_REASON_VMCALL, "L2 runs on to its VMCALL"
    prefix_pop
    ret

cr_l2:
    mov eax, cr0
    mov ebx, eax
    or ebx, CR0_WP
    mov cr0, ebx                    ; TS = 1, NE = 0 as in the shadow: no exit
    and ebx, ~CR0_TS
.write_ts:
    mov cr0, ebx                    ; TS 1 -> 0: exit
    mov ecx, cr0
    mov edx, cr4
    mov esi, edx
    mov cr4, esi                    ; VMXE = 0 as in the shadow: no exit
    or esi, CR4_VMXE
.write_cr4:
    mov cr4, esi                    ; VMXE 0 -> 1: exit
    vmcall
    jmp $

; ---------------------------------------------------------------------------------------------------- CR3
; CR3-load exiting: a MOV to CR3 exits unless its value is one of the first CR3-target-count target values
; (SDM 26.1.3); with the count at 0 every MOV to CR3 exits. The target here is a copy of L1's page directory.
test_cr3_target:
    prefix_push "CR3 target"
    supported VMCS_PROC_CONTROLS, PROC_CR3_LOAD_EXITING, "CR3-load exiting cannot be set"
    mov esi, vmx_page_dir
    mov edi, pd_copy
    mov ecx, 1024
    rep movsd
    mov eax, cr3_l2
    call vmx_vmcs_init
    vmcs_set_bits VMCS_PROC_CONTROLS, PROC_CR3_LOAD_EXITING
    vmcs_write VMCS_CR3_TARGET_COUNT, 1
    vmcs_write VMCS_CR3_TARGET_VALUE0, pd_copy
    call vmx_enter
    exit_is EXIT_REASON_CR_ACCESS, "MOV to CR3 of a non-target value: exit 28"
    check_eq dword [vmx_exit_qual], 3 | CR_QUAL_MOV_TO | (REG_ECX << CR_QUAL_GPR_SHIFT), "qualification: CR3, MOV to CR, ECX"
    check_eq dword [vmx_exit_rip], cr3_l2.other, "guest RIP = the second MOV (the target value did not exit)"
    vmcs_read VMCS_GUEST_CR3
    check_eq eax, pd_copy, "guest CR3 = the target value L2 loaded"
    check_eq dword [vmx_guest_ecx], vmx_page_dir + 0x1000, "guest ECX = the value"
    ; Count 0: the target value exits too.
    vmcs_write VMCS_CR3_TARGET_COUNT, 0
    mov eax, cr3_l2.target
    vmcs_write VMCS_GUEST_RIP, eax
    call vmx_enter
    exit_is EXIT_REASON_CR_ACCESS, "CR3-target count 0: MOV to CR3 of the target value exits"
    check_eq dword [vmx_exit_qual], 3 | CR_QUAL_MOV_TO | (REG_EAX << CR_QUAL_GPR_SHIFT), "qualification: CR3, MOV to CR, EAX"
    check_eq dword [vmx_exit_rip], cr3_l2.target, "guest RIP = the first MOV"
    mov eax, cr3_l2.done
    vmcs_write VMCS_GUEST_RIP, eax
    call vmx_enter
    exit_is EXIT_REASON_VMCALL, "L2 runs on to its VMCALL"
    ; More targets than IA32_VMX_MISC[24:16] reports: an invalid control (SDM 27.2.1.1), VMfailValid 7.
    mov ecx, MSR_IA32_VMX_MISC
    rdmsr
    shr eax, 16
    and eax, 0x1FF
    inc eax
    mov ebx, eax
    mov eax, cr3_l2
    call vmx_vmcs_init
    vmcs_write VMCS_CR3_TARGET_COUNT, ebx
    call vmx_enter
    check_eq eax, VMX_ENTRY_VMFAIL, "CR3-target count above IA32_VMX_MISC[24:16]: VMLAUNCH fails"
    check_eq dword [vmx_vmfail_error], VMXERR_ENTRY_BAD_CONTROLS, "VM-instruction error 7"
.done:
    prefix_pop
    ret

cr3_l2:
    mov eax, pd_copy
    mov ecx, vmx_page_dir + 0x1000
.target:
    mov cr3, eax                    ; a CR3-target value: no exit
.other:
    mov cr3, ecx                    ; exits: never loaded
.done:
    vmcall
    jmp $

; ---------------------------------------------------------------------------------------------------- GDTR/IDTR
; Descriptor-table exiting (secondary control 2): SGDT/SIDT/LGDT/LIDT exit 46, SLDT/STR/LLDT/LTR exit 47, before
; executing; qualification = the displacement (0 without one), instruction information per tables 28-10 and 28-11
; with the instruction identity in bits 29:28 (46: 0 SGDT, 1 SIDT, 2 LGDT, 3 LIDT; 47: 0 SLDT, 1 STR, 2 LLDT).
; dt_exit REASON, LENGTH, QUALIFICATION, INFO, DEFINED, "instruction": one exit and its information, then skip it.
%macro dt_exit 6
    call vmx_enter
    exit_is %1, %6
    check_eq dword [vmx_exit_len], %2, "instruction length"
    check_eq dword [vmx_exit_qual], %3, "qualification = displacement"
    mov eax, [vmx_exit_instr_info]
    and eax, %5
    check_eq eax, %4, "instruction information"
    call vmx_skip_instruction
%endmacro

test_desc_table:
    prefix_push "descriptor-table exiting"
    supported VMCS_PROC_CONTROLS, PROC_SECONDARY_CONTROLS, "no secondary controls"
    supported VMCS_PROC_CONTROLS2, PROC2_DESC_TABLE_EXITING, "descriptor-table exiting not supported"
    ; Control off: SGDT runs in L2 and stores L2's GDTR (the guest-state fields; L1's own limit is 0xFFFF after a
    ; VM exit, SDM 28.5.2).
    mov eax, sgdt_l2
    call vmx_vmcs_init
    vmcs_write VMCS_GUEST_GDTR_LIMIT, GDT_ENTRIES * 8 - 1
    call vmx_enter
    exit_is EXIT_REASON_VMCALL, "control off: SGDT runs"
    movzx eax, word [dt_store]
    check_eq eax, GDT_ENTRIES * 8 - 1, "and stores the guest GDTR limit"
    ; Control on.
    mov dword [dt_store], 0xA5A5A5A5
    mov eax, dt_l2
    call vmx_vmcs_init
    vmcs_set_bits VMCS_PROC_CONTROLS, PROC_SECONDARY_CONTROLS
    vmcs_write VMCS_PROC_CONTROLS2, PROC2_DESC_TABLE_EXITING
    mov dword [vmx_guest_ebx], dt_store - 4
    mov dword [vmx_guest_esi], dt_store - 8
    mov dword [vmx_guest_ecx], 0
    dt_exit EXIT_REASON_GDTR_IDTR, 7, dt_store, DT_INFO_ADDR32 | DT_INFO_OP32 | DT_INFO_SEG_DS | DT_INFO_NO_INDEX | DT_INFO_NO_BASE | (0 << 28), DT_INFO_DEFINED_46, "SGDT [disp32]: exit 46, identity 0"
    check_eq dword [dt_store], 0xA5A5A5A5, "SGDT did not store"
    dt_exit EXIT_REASON_GDTR_IDTR, 4, 4, DT_INFO_ADDR32 | DT_INFO_OP32 | DT_INFO_SEG_DS | DT_INFO_NO_INDEX | (REG_EBX << 23) | (1 << 28), DT_INFO_DEFINED_46, "SIDT [ebx + 4]: exit 46, identity 1"
    dt_exit EXIT_REASON_GDTR_IDTR, 5, 8, 2 | DT_INFO_ADDR32 | DT_INFO_OP32 | DT_INFO_SEG_DS | (REG_ECX << 18) | (REG_ESI << 23) | (2 << 28), DT_INFO_DEFINED_46, "LGDT [esi + ecx * 4 + 8]: exit 46, identity 2"
    dt_exit EXIT_REASON_GDTR_IDTR, 7, dt_store, DT_INFO_ADDR32 | DT_INFO_OP32 | DT_INFO_SEG_DS | DT_INFO_NO_INDEX | DT_INFO_NO_BASE | (3 << 28), DT_INFO_DEFINED_46, "LIDT [disp32]: exit 46, identity 3"
    dt_exit EXIT_REASON_LDTR_TR, 3, 0, DT_INFO_REGISTER | (REG_EAX << 3) | (0 << 28), DT_INFO_DEFINED_47_REG, "SLDT EAX: exit 47, identity 0"
    dt_exit EXIT_REASON_LDTR_TR, 3, 0, DT_INFO_REGISTER | (REG_ECX << 3) | (1 << 28), DT_INFO_DEFINED_47_REG, "STR ECX: exit 47, identity 1"
    dt_exit EXIT_REASON_LDTR_TR, 3, 0, DT_INFO_REGISTER | (REG_EDX << 3) | (2 << 28), DT_INFO_DEFINED_47_REG, "LLDT DX: exit 47, identity 2"
    call vmx_enter
    exit_is EXIT_REASON_VMCALL, "L2 runs on to its VMCALL"
.done:
    prefix_pop
    ret

sgdt_l2:
    sgdt [dt_store]
    vmcall
    jmp $

dt_l2:
    sgdt [dt_store]
    sidt [ebx + 4]
    lgdt [esi + ecx * 4 + 8]
    lidt [dt_store]
    sldt eax
    str ecx
    lldt dx
    vmcall
    jmp $

    align 4
mtf_exits:          dd 0
mtf_rep_buffer:     dd 0
l1_cr0:             dd 0
l1_cr4:             dd 0
dt_store:           dw 0
                    dd 0
                    dw 0
l2_idt:             times L2_IDT_VECTORS dq 0

%include "../lib/image-end.inc"
%include "../lib/vmx-bss.inc"

    alignb 4096
pd_copy:            resb 4096       ; a second page directory (a copy of vmx_page_dir): the CR3-target value

%include "../lib/bss-end.inc"
