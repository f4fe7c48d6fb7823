; guests/vmx/vmx-inject.asm: VM-entry event injection through the L2's own IDT: an external interrupt (vector
; 0x30), a #GP with an error code, a software interrupt INT 0x80 and a software exception INT3 with their
; instruction lengths; the checks on the injection fields (VMfailValid 7); VM-entry failures on invalid guest
; state (exit reason 0x80000021). The L2 handlers report what they got (vector, error code, the frame's return
; EIP, CS and EFLAGS, EFLAGS inside the handler) to L1 in registers through VMCALL.
; Leaves instruction exits to vmx-exits.asm, VMX instruction errors to vmx-basic.asm.
;
; SDM Vol. 3 27.6 (2023 numbering; 26.5 before: event injection), 26.2.1.3 (checks on the injection fields),
; 26.3.1 and 26.8 (guest-state checks, VM-entry failure), 28.2.1 (IDT-vectoring information);
; digest shared/spec/vmx.md 2.9, 5.1, 5.4, 12.1. exitless-only: QEMU TCG has no VMX.
; Includes are ../lib/*.inc: assemble from guests/vmx/ or give nasm -I guests/vmx/ (exitless run finds them).

bits 32
org 0x100000                        ; KERNEL_LOAD_ADDR (lib/multiboot.inc)

%include "../lib/multiboot.inc"
%include "../lib/serial.inc"
%include "../lib/exit.inc"
%include "../lib/report.inc"
%include "../lib/start.inc"
%include "../lib/vmx.inc"

VEC_EXTERNAL        equ 0x30
VEC_SOFT            equ 0x80
VEC_NOT_PRESENT     equ 0x31        ; no gate in the L2 IDT
GP_ERROR            equ 0x1234
ENTRY_FAIL_INVALID_GUEST equ EXIT_REASON_ENTRY_FAILURE | EXIT_REASON_INVALID_GUEST

main:
    call vmx_setup
    jc .done
    call l2_idt_init
    call test_injection
    call test_injection_checks
    call test_entry_failures
.done:
    ret

; l2_idt_init: the L2's IDT: interrupt gates for vectors 3, 11, 13, 0x30 and 0x80 (DPL 0), an interrupt gate with
; P = 0 for 0x31, nothing else.
l2_idt_init:
    pushad
    mov ecx, IDT_INT_GATE
    mov eax, VEC_NP
    mov ebx, l2_np
    call l2_set_gate
    mov eax, 3
    mov ebx, l2_bp
    call l2_set_gate
    mov eax, VEC_GP
    mov ebx, l2_gp
    call l2_set_gate
    mov eax, VEC_EXTERNAL
    mov ebx, l2_isr_30
    call l2_set_gate
    mov eax, VEC_SOFT
    mov ebx, l2_int_80
    call l2_set_gate
    mov eax, VEC_NOT_PRESENT
    mov ebx, l2_np
    mov ecx, IDT_INT_GATE_NP
    call l2_set_gate
    popad
    ret

; l2_set_gate: EAX = vector, EBX = handler, ECX = attribute byte: a gate with selector 0x08 in l2_idt.
vmx_gate_routine l2_set_gate, l2_idt, cl

; vmcs_for_injection: EAX = L2 entry point: a fresh VMCS with the L2 IDT and RFLAGS.IF = 1.
vmcs_for_injection:
    call vmx_vmcs_init
    vmcs_write VMCS_GUEST_IDTR_BASE, l2_idt
    vmcs_write VMCS_GUEST_IDTR_LIMIT, 256 * 8 - 1
    vmcs_write VMCS_GUEST_RFLAGS, 0x202
    ret

; ---------------------------------------------------------------------------------------------------- injection
test_injection:
    mov eax, inject_l2
    call vmcs_for_injection
    call vmx_enter
    prefix_push "injection"
    check_eq eax, EXIT_REASON_VMCALL, "the L2 payload starts (first VMCALL)"
    prefix_pop

    ; External interrupt, vector 0x30: pushed EIP = GUEST_RIP (SDM 27.6.1.1), IF cleared by the gate.
    prefix_push "external interrupt"
    call vmx_skip_instruction
    vmcs_write VMCS_ENTRY_INTR_INFO, INTR_INFO_VALID | INTR_TYPE_EXTERNAL | VEC_EXTERNAL
    call vmx_enter
    check_eq eax, EXIT_REASON_VMCALL, "delivered: the L2 handler's VMCALL exits"
    check_eq dword [vmx_exit_rip], l2_isr_30.vmcall, "through the L2 IDT's gate for vector 0x30"
    check_eq dword [vmx_guest_eax], VEC_EXTERNAL, "handler for vector 0x30 ran"
    check_eq dword [vmx_guest_ebx], inject_l2.after1, "return EIP = GUEST_RIP at entry"
    check_eq dword [vmx_guest_edx], GDT_CODE_SEL, "pushed CS = 0x08"
    mov eax, [vmx_guest_ecx]
    and eax, EFLAGS_IF
    check_eq eax, EFLAGS_IF, "pushed EFLAGS has IF = 1 (the guest RFLAGS)"
    mov eax, [vmx_guest_esi]
    and eax, EFLAGS_IF
    check_eq eax, 0, "IF = 0 inside the handler (interrupt gate)"
    vmcs_read VMCS_ENTRY_INTR_INFO
    and eax, INTR_INFO_VALID
    check_eq eax, 0, "the VM exit cleared the valid bit of the VM-entry interruption information"
    check_eq dword [vmx_exit_idt_vectoring], 0, "IDT-vectoring information: none (the delivery completed)"
    call vmx_skip_instruction
    call vmx_enter
    check_eq dword [vmx_exit_rip], inject_l2.after1, "IRET returns to the interrupted instruction"
    check_eq dword [l2_count_30], 1, "delivered exactly once"
    prefix_pop

    ; #GP(0x1234): a hardware exception with an error code; the exception bitmap (all ones here) does not
    ; apply to injected events (SDM 27.6.1: delivered as if it occurred in the guest, no exit).
    prefix_push "#GP"
    call vmx_skip_instruction
    vmcs_write VMCS_ENTRY_INTR_INFO, INTR_INFO_VALID | INTR_TYPE_HW_EXCEPTION | INTR_INFO_DELIVER_ERROR | VEC_GP
    vmcs_write VMCS_ENTRY_EXCEPTION_ERROR, GP_ERROR
    vmcs_read VMCS_EXCEPTION_BITMAP
    and eax, 1 << VEC_GP
    check_eq eax, 1 << VEC_GP, "exception bitmap bit 13 is set"
    call vmx_enter
    check_eq eax, EXIT_REASON_VMCALL, "the injected #GP is delivered to L2, not intercepted"
    check_eq dword [vmx_exit_rip], l2_gp.vmcall, "through the L2 IDT's gate for vector 13"
    check_eq dword [vmx_guest_eax], VEC_GP, "handler for vector 13 ran"
    check_eq dword [vmx_guest_edx], GP_ERROR, "error code 0x1234 on the handler's stack"
    check_eq dword [vmx_guest_ebx], inject_l2.after2, "return EIP = GUEST_RIP (a fault: not advanced)"
    call vmx_skip_instruction
    call vmx_enter
    check_eq dword [vmx_exit_rip], inject_l2.after2, "the handler pops the error code and IRETs"
    check_eq dword [l2_count_gp], 1, "delivered exactly once"
    prefix_pop

    ; INT 0x80 injected as a software interrupt with instruction length 2: pushed EIP = GUEST_RIP + 2.
    prefix_push "INT 0x80"
    call vmx_skip_instruction         ; GUEST_RIP = the INT 0x80 (CD 80)
    vmcs_write VMCS_ENTRY_INTR_INFO, INTR_INFO_VALID | INTR_TYPE_SW_INTERRUPT | VEC_SOFT
    vmcs_write VMCS_ENTRY_INSTRUCTION_LEN, 2
    call vmx_enter
    check_eq eax, EXIT_REASON_VMCALL, "delivered: the L2 handler's VMCALL exits"
    check_eq dword [vmx_exit_rip], l2_int_80.vmcall, "through the L2 IDT's gate for vector 0x80"
    check_eq dword [vmx_guest_eax], VEC_SOFT, "handler for vector 0x80 ran"
    check_eq dword [vmx_guest_ebx], inject_l2.after_int80, "return EIP = GUEST_RIP + VM-entry instruction length"
    call vmx_skip_instruction
    call vmx_enter
    check_eq dword [vmx_exit_rip], inject_l2.after_int80, "IRET returns past the INT 0x80, which never ran itself"
    check_eq dword [l2_count_80], 1, "delivered exactly once"
    prefix_pop

    ; INT3 injected as a software exception (type 6), length 1: pushed EIP = GUEST_RIP + 1.
    prefix_push "INT3"
    call vmx_skip_instruction         ; GUEST_RIP = the INT3 (CC)
    vmcs_write VMCS_ENTRY_INTR_INFO, INTR_INFO_VALID | INTR_TYPE_SW_EXCEPTION | VEC_BP
    vmcs_write VMCS_ENTRY_INSTRUCTION_LEN, 1
    call vmx_enter
    check_eq eax, EXIT_REASON_VMCALL, "#BP delivered to L2 although exception bitmap bit 3 is set"
    check_eq dword [vmx_guest_eax], VEC_BP, "handler for vector 3 ran"
    check_eq dword [vmx_guest_ebx], inject_l2.after_int3, "return EIP = GUEST_RIP + 1"
    call vmx_skip_instruction
    call vmx_enter
    check_eq dword [vmx_exit_rip], inject_l2.after_int3, "IRET returns past the INT3"
    check_eq dword [l2_count_bp], 1, "delivered exactly once"
    prefix_pop

    ; An injected interrupt whose L2 gate is not present: the #NP raised while delivering it is subject to the
    ; exception bitmap (bit 11 set) and exits; the IDT-vectoring information holds the injected event
    ; (SDM 27.6.1.1: "the first nested exception encountered causes a VM exit"; 28.2.4), for the VMM to re-inject.
    prefix_push "IDT vectoring"
    call vmx_skip_instruction
    mov eax, [vmx_exit_rip]
    add eax, [vmx_exit_len]
    mov [vectoring_rip], eax
    vmcs_write VMCS_ENTRY_INTR_INFO, INTR_INFO_VALID | INTR_TYPE_EXTERNAL | VEC_NOT_PRESENT
    call vmx_enter
    check_eq eax, EXIT_REASON_EXCEPTION_NMI, "injected vector 0x31, gate not present: the nested #NP exits (reason 0)"
    check_eq dword [vmx_exit_intr_info], INTR_INFO_VALID | INTR_INFO_DELIVER_ERROR | INTR_TYPE_HW_EXCEPTION | VEC_NP, "interruption information: #NP with an error code"
    check_eq dword [vmx_exit_intr_error], VEC_NOT_PRESENT * 8 + 3, "error code: the gate's IDT index | IDT | EXT"
    check_eq dword [vmx_exit_idt_vectoring], INTR_INFO_VALID | INTR_TYPE_EXTERNAL | VEC_NOT_PRESENT, "IDT-vectoring information: the injected external interrupt 0x31"
    check_eq dword [vmx_exit_rip], dword [vectoring_rip], "guest RIP = where the event was injected"
    check_eq dword [l2_count_np], 0, "L2's own #NP handler did not run"

    ; The same without injection: L2's own INT 0x31 (type 4) meets the not-present gate.
    mov eax, int31_l2
    call vmcs_for_injection
    call vmx_enter
    check_eq eax, EXIT_REASON_EXCEPTION_NMI, "L2's INT 0x31 through the not-present gate: the #NP exits"
    check_eq dword [vmx_exit_intr_error], VEC_NOT_PRESENT * 8 + 2, "error code: IDT index | IDT (EXT = 0)"
    check_eq dword [vmx_exit_idt_vectoring], INTR_INFO_VALID | INTR_TYPE_SW_INTERRUPT | VEC_NOT_PRESENT, "IDT-vectoring information: software interrupt 0x31"
    check_eq dword [vmx_exit_len], 2, "VM-exit instruction length: the INT 0x31 (2)"
    check_eq dword [vmx_exit_rip], int31_l2, "guest RIP = the INT 0x31"
    prefix_pop
    ret

; The L2 payload: VMCALL between the injections (L1 decides what to inject at each one).
inject_l2:
    vmcall                          ; L1 injects vector 0x30
.after1:
    vmcall                          ; L1 injects #GP
.after2:
    vmcall                          ; L1 injects INT 0x80 at .int80
.int80:
    int VEC_SOFT
.after_int80:
    vmcall                          ; L1 injects INT3 at .int3
.int3:
    int3
.after_int3:
    vmcall                          ; L1 injects vector 0x31 (gate not present)
    vmcall
    jmp .after_int3

; L2 handlers: EAX = vector, EBX = return EIP, ECX = pushed EFLAGS, EDX = pushed CS (or the error code for
; #GP), ESI = EFLAGS inside the handler; then VMCALL, then back with IRET.
l2_isr_30:
    pushfd
    pop esi
    inc dword [l2_count_30]
    mov eax, VEC_EXTERNAL
    mov ebx, [esp]
    mov edx, [esp + 4]
    mov ecx, [esp + 8]
.vmcall:
    vmcall
    iretd

l2_gp:
    pushfd
    pop esi
    inc dword [l2_count_gp]
    mov eax, VEC_GP
    mov edx, [esp]
    mov ebx, [esp + 4]
    mov ecx, [esp + 12]
.vmcall:
    vmcall
    add esp, 4
    iretd

l2_int_80:
    pushfd
    pop esi
    inc dword [l2_count_80]
    mov eax, VEC_SOFT
    mov ebx, [esp]
    mov edx, [esp + 4]
    mov ecx, [esp + 8]
.vmcall:
    vmcall
    iretd

l2_np:
    inc dword [l2_count_np]
    mov eax, VEC_NP
    mov edx, [esp]
    mov ebx, [esp + 4]
.vmcall:
    vmcall
    jmp .vmcall

int31_l2:
    int VEC_NOT_PRESENT
    vmcall

l2_bp:
    pushfd
    pop esi
    inc dword [l2_count_bp]
    mov eax, VEC_BP
    mov ebx, [esp]
    mov edx, [esp + 4]
    mov ecx, [esp + 8]
.vmcall:
    vmcall
    iretd

; ---------------------------------------------------------------------------------------------------- field checks
; Checks on the VM-entry interruption-information field are control checks: VMfailValid 7, no entry
; (SDM 26.2.1.3).
; injection_fails INFO, ERROR, LENGTH, "what"
%macro injection_fails 4
    mov eax, inject_l2
    call vmcs_for_injection
    vmcs_write VMCS_ENTRY_INTR_INFO, %1
    vmcs_write VMCS_ENTRY_EXCEPTION_ERROR, %2
    vmcs_write VMCS_ENTRY_INSTRUCTION_LEN, %3
    call vmx_enter
    check_eq dword [vmx_vmfail_error], VMXERR_ENTRY_BAD_CONTROLS, %4
%endmacro

test_injection_checks:
    prefix_push "injection checks"
    mov dword [vmx_vmfail_error], 0
    injection_fails INTR_INFO_VALID | (1 << 8) | VEC_EXTERNAL, 0, 0, "reserved interruption type 1: VMfailValid 7"
    injection_fails INTR_INFO_VALID | INTR_TYPE_HW_EXCEPTION | VEC_GP, 0, 0, "#GP without deliver-error-code: error 7"
    injection_fails INTR_INFO_VALID | INTR_TYPE_HW_EXCEPTION | INTR_INFO_DELIVER_ERROR | 6, 0, 0, "#UD with deliver-error-code: error 7"
    injection_fails INTR_INFO_VALID | INTR_TYPE_HW_EXCEPTION | 32, 0, 0, "hardware exception with vector 32: error 7"
    injection_fails INTR_INFO_VALID | INTR_TYPE_NMI | 3, 0, 0, "NMI with vector 3: error 7"
    injection_fails INTR_INFO_VALID | (1 << 12) | INTR_TYPE_EXTERNAL | VEC_EXTERNAL, 0, 0, "reserved bits 30:12 set: error 7"
    mov ecx, MSR_IA32_VMX_MISC
    rdmsr
    test eax, 1 << 30
    jnz .zero_length_ok
    injection_fails INTR_INFO_VALID | INTR_TYPE_SW_INTERRUPT | VEC_SOFT, 0, 0, "software interrupt with instruction length 0: error 7"
    jmp .after_length
.zero_length_ok:
    report_skip "IA32_VMX_MISC[30] = 1: zero-length injection allowed"
.after_length:
    injection_fails INTR_INFO_VALID | INTR_TYPE_SW_INTERRUPT | VEC_SOFT, 0, 16, "software interrupt with instruction length 16: error 7"
    check_eq dword [l2_count_80], 1, "nothing was delivered by the failed entries"
    prefix_pop
    ret

; ---------------------------------------------------------------------------------------------------- entry failures
; Guest-state checks fail after the control and host checks: the processor loads the host state and "exits"
; with bit 31 set; nothing was entered, the VMCS stays clear (SDM 26.8).
test_entry_failures:
    prefix_push "entry failure"
    mov eax, entry_l2
    call vmx_vmcs_init
    vmcs_write VMCS_GUEST_CS_AR, VMX_GUEST_DATA_AR      ; a data segment in CS (SDM 26.3.1.2)
    call vmx_enter
    check_eq eax, ENTRY_FAIL_INVALID_GUEST, "guest CS access rights of a data segment: exit reason 0x80000021"
    check_eq dword [vmx_exit_qual], 0, "exit qualification 0"
    check_eq dword [entry_l2_ran], 0, "no guest instruction ran"
    mov dword [vmx_launched], 1
    call vmx_enter
    check_eq dword [vmx_vmfail_error], VMXERR_VMRESUME_NOT_LAUNCHED, "the VMCS is still clear: VMRESUME fails with error 5"
    mov dword [vmx_launched], 0
    vmcs_write VMCS_GUEST_CS_AR, VMX_GUEST_CS_AR
    call vmx_enter
    check_eq eax, EXIT_REASON_VMCALL, "with CS fixed VMLAUNCH enters the guest"
    check_eq dword [entry_l2_ran], 1, "and the guest runs"

    ; An external interrupt may be injected only with RFLAGS.IF = 1 (SDM 26.3.1.4).
    mov eax, inject_l2
    call vmcs_for_injection
    vmcs_write VMCS_GUEST_RFLAGS, 0x2
    vmcs_write VMCS_ENTRY_INTR_INFO, INTR_INFO_VALID | INTR_TYPE_EXTERNAL | VEC_EXTERNAL
    call vmx_enter
    check_eq eax, ENTRY_FAIL_INVALID_GUEST, "external-interrupt injection with guest RFLAGS.IF = 0: 0x80000021"
    check_eq dword [l2_count_30], 1, "the interrupt was not delivered"

    ; RFLAGS bit 1 must be 1.
    mov eax, entry_l2
    call vmx_vmcs_init
    vmcs_write VMCS_GUEST_RFLAGS, 0
    call vmx_enter
    check_eq eax, ENTRY_FAIL_INVALID_GUEST, "guest RFLAGS bit 1 = 0: 0x80000021"

    ; The VMCS link pointer must be all ones here (no VMCS shadowing): qualification 4 (SDM 26.8).
    mov eax, entry_l2
    call vmx_vmcs_init
    vmcs_write VMCS_LINK_POINTER, 0
    vmcs_write VMCS_LINK_POINTER + 1, 0
    call vmx_enter
    check_eq eax, ENTRY_FAIL_INVALID_GUEST, "VMCS link pointer 0: 0x80000021"
    check_eq dword [vmx_exit_qual], 4, "exit qualification 4 (VMCS link pointer)"

    ; Guest TR must be a busy TSS (type 3 or 11).
    mov eax, entry_l2
    call vmx_vmcs_init
    vmcs_write VMCS_GUEST_TR_AR, 0x89
    call vmx_enter
    check_eq eax, ENTRY_FAIL_INVALID_GUEST, "guest TR an available (not busy) TSS: 0x80000021"
    check_eq dword [entry_l2_ran], 1, "the guest never ran in any failed entry"
    prefix_pop
    ret

entry_l2:
    inc dword [entry_l2_ran]
    vmcall
    jmp entry_l2

    align 4
l2_count_30:        dd 0
l2_count_gp:        dd 0
l2_count_80:        dd 0
l2_count_bp:        dd 0
l2_count_np:        dd 0
entry_l2_ran:       dd 0
vectoring_rip:      dd 0

%include "../lib/image-end.inc"
%include "../lib/vmx-bss.inc"
    alignb 8
l2_idt:             resb 256 * 8
%include "../lib/bss-end.inc"
