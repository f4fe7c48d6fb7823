; guests/vmx/vmx-preemption.asm: the VMX-preemption timer: an L2 spinning forever is stopped by exit 52; a value
; of 0 exits before L2's first instruction; the save-timer-value exit control writes back a decreasing count
; (0 once it fired); the timer counts only in VMX non-root operation and wakes an L2 in HLT.
; Leaves instruction exits to vmx-exits.asm.
;
; SDM Vol. 3 26.5.1 (2023 numbering; 25.5.1 before: the timer counts down by 1 each time TSC bit X changes,
; X = IA32_VMX_MISC[4:0]; a value of 0 at entry exits before any instruction), 28.3.4 (saving the value),
; 26.2.1.2 (save without activate is an invalid control); digest shared/spec/vmx.md 8.
;
; Timing: the checks against RDTSC allow one tick of phase (the first tick may come after fewer than 2^X TSC
; cycles) and TIMER_SLACK cycles of entry/exit and instruction cost on top (exitless charges a VM entry and
; exit a few hundred cycles; real processors a few thousand). exitless-only: QEMU TCG has no VMX.
; Includes are ../lib/*.inc: assemble from guests/vmx/ or give nasm -I guests/vmx/ (exitless run finds them).

bits 32
org 0x100000                        ; KERNEL_LOAD_ADDR (lib/multiboot.inc)

%include "../lib/multiboot.inc"
%include "../lib/serial.inc"
%include "../lib/exit.inc"
%include "../lib/report.inc"
%include "../lib/start.inc"
%include "../lib/vmx.inc"

TIMER_VALUE         equ 1000        ; ticks for the spin test
TIMER_SLACK         equ 20000       ; TSC cycles of entry/exit and instruction cost allowed beyond the deadline
SAVE_VALUE          equ 100000      ; ticks for the save-timer-value tests (never reached by short runs)
BURN_LOOPS          equ 100000      ; L1 busy loop between entries (about 2 instructions each)

main:
    call vmx_setup
    jc .done
    mov ebx, PIN_PREEMPTION_TIMER
    mov eax, VMCS_PIN_CONTROLS
    call vmx_ctl_allowed1
    jnc .supported
    report_skip "the VMX-preemption timer is not supported"
    jmp .done
.supported:
    mov ecx, MSR_IA32_VMX_MISC
    rdmsr
    and eax, 0x1F
    mov [timer_rate], eax
    call test_expiry
    call test_zero
    call test_hlt
    call test_save_control
    call test_save
    call test_root_time
.done:
    ret

; vmcs_with_timer: EAX = L2 entry, EBX = timer value: a fresh VMCS with the timer active.
vmcs_with_timer:
    call vmx_vmcs_init
    vmcs_set_bits VMCS_PIN_CONTROLS, PIN_PREEMPTION_TIMER
    vmcs_write VMCS_PREEMPTION_TIMER_VALUE, ebx
    ret

; ---------------------------------------------------------------------------------------------------- expiry
test_expiry:
    prefix_push "expiry"
    mov eax, spin_l2
    mov ebx, TIMER_VALUE
    call vmcs_with_timer
    rdtsc
    mov [tsc_before], eax
    call vmx_enter
    mov ebx, eax
    rdtsc
    sub eax, [tsc_before]
    mov [tsc_elapsed], eax
    check_eq ebx, EXIT_REASON_PREEMPTION_TIMER, "L2 spinning with the timer at 1000: exit reason 52"
    check_eq dword [vmx_exit_qual], 0, "exit qualification 0"
    mov eax, [vmx_exit_rip]
    cmp eax, spin_l2
    setae bl
    cmp eax, spin_l2.end
    setb bh
    and bl, bh
    mov al, bl
    report "guest RIP inside the spin loop"
    cmp dword [vmx_guest_ecx], 0
    seta al
    report "L2 ran (its loop counter advanced)"
    ; (value - 1) << X <= elapsed <= (value << X) + slack
    mov ecx, [timer_rate]
    mov ebx, TIMER_VALUE - 1
    shl ebx, cl
    cmp [tsc_elapsed], ebx
    setae al
    report "not before (value - 1) * 2^X TSC cycles"
    mov ebx, TIMER_VALUE
    shl ebx, cl
    add ebx, TIMER_SLACK
    cmp [tsc_elapsed], ebx
    setbe al
    report "not long after value * 2^X TSC cycles"
    vmcs_read VMCS_PREEMPTION_TIMER_VALUE
    check_eq eax, TIMER_VALUE, "without save-timer-value the field keeps the value loaded"
    prefix_pop
    ret

; spin_l2: counts in ECX forever.
spin_l2:
    inc ecx
    jmp spin_l2
.end:

; ---------------------------------------------------------------------------------------------------- zero
; A value of 0 exits before the first guest instruction (SDM 26.7.4 / 25.5.1).
test_zero:
    prefix_push "value 0"
    mov eax, spin_l2
    mov ebx, 0
    call vmcs_with_timer
    mov dword [vmx_guest_ecx], 0x1234
    call vmx_enter
    check_eq eax, EXIT_REASON_PREEMPTION_TIMER, "timer value 0: exit reason 52"
    check_eq dword [vmx_exit_rip], spin_l2, "guest RIP = L2's first instruction"
    check_eq dword [vmx_guest_ecx], 0x1234, "L2's first instruction (INC ECX) did not run"
    call vmx_enter
    check_eq eax, EXIT_REASON_PREEMPTION_TIMER, "VMRESUME with 0 again: exit 52 again"
    check_eq dword [vmx_guest_ecx], 0x1234, "still no L2 instruction"
    prefix_pop
    ret

; ---------------------------------------------------------------------------------------------------- HLT
; The timer counts in the HLT activity state and its exit wakes the guest (SDM 26.5.1); HLT has completed, so
; the saved RIP is the next instruction and the saved activity state is HLT.
test_hlt:
    prefix_push "HLT"
    mov eax, hlt_l2
    mov ebx, 500
    call vmcs_with_timer
    call vmx_enter
    check_eq eax, EXIT_REASON_PREEMPTION_TIMER, "HLT in L2 (no HLT exiting): the timer exit wakes it"
    check_eq dword [vmx_exit_rip], hlt_l2.after, "guest RIP = after the HLT"
    vmcs_read VMCS_GUEST_ACTIVITY_STATE
    check_eq eax, 1, "activity state HLT saved"
    vmcs_write VMCS_GUEST_ACTIVITY_STATE, 0
    vmcs_clear_bits VMCS_PIN_CONTROLS, PIN_PREEMPTION_TIMER
    call vmx_enter
    check_eq eax, EXIT_REASON_VMCALL, "resumed active: L2 runs on to its VMCALL"
    prefix_pop
    ret

hlt_l2:
    hlt
.after:
    vmcall
    jmp hlt_l2

; ---------------------------------------------------------------------------------------------------- save
; "Save VMX-preemption timer value" needs "activate VMX-preemption timer" (SDM 26.2.1.2): VMfailValid 7.
test_save_control:
    prefix_push "save control"
    mov ebx, EXIT_SAVE_PREEMPTION_TIMER
    mov eax, VMCS_EXIT_CONTROLS
    call vmx_ctl_allowed1
    jnc .supported
    report_skip "save VMX-preemption timer value not supported"
    jmp .done
.supported:
    mov eax, steps_l2
    call vmx_vmcs_init
    vmcs_set_bits VMCS_EXIT_CONTROLS, EXIT_SAVE_PREEMPTION_TIMER
    call vmx_enter
    check_eq eax, VMX_ENTRY_VMFAIL, "save timer value without the timer active: VMLAUNCH fails"
    check_eq dword [vmx_vmfail_error], VMXERR_ENTRY_BAD_CONTROLS, "VM-instruction error 7"
.done:
    prefix_pop
    ret

; Each VM exit stores the remaining count; the next entry continues from it.
test_save:
    prefix_push "save timer value"
    mov ebx, EXIT_SAVE_PREEMPTION_TIMER
    mov eax, VMCS_EXIT_CONTROLS
    call vmx_ctl_allowed1
    jnc .supported
    report_skip "save VMX-preemption timer value not supported"
    jmp .done
.supported:
    mov eax, steps_l2
    mov ebx, SAVE_VALUE
    call vmcs_with_timer
    vmcs_set_bits VMCS_EXIT_CONTROLS, EXIT_SAVE_PREEMPTION_TIMER
    call vmx_enter
    check_eq eax, EXIT_REASON_VMCALL, "first step ends with VMCALL"
    vmcs_read VMCS_PREEMPTION_TIMER_VALUE
    mov [saved_1], eax
    cmp eax, SAVE_VALUE
    setb al
    report "saved value below the value loaded"
    cmp dword [saved_1], 0
    seta al
    report "and above 0"
    call vmx_skip_instruction
    call vmx_enter
    check_eq eax, EXIT_REASON_VMCALL, "second step ends with VMCALL"
    vmcs_read VMCS_PREEMPTION_TIMER_VALUE
    mov [saved_2], eax
    cmp eax, [saved_1]
    setb al
    report "saved value decreases from exit to exit"
    cmp dword [saved_2], 0
    seta al
    report "and is still above 0"
    call vmx_skip_instruction
    call vmx_enter
    check_eq eax, EXIT_REASON_PREEMPTION_TIMER, "third run spins until exit 52"
    vmcs_read VMCS_PREEMPTION_TIMER_VALUE
    check_eq eax, 0, "saved value 0 once the timer fired"
.done:
    prefix_pop
    ret

; steps_l2: two short loops, each ended by VMCALL, then a spin forever.
steps_l2:
    mov ecx, 200
.loop1:
    dec ecx
    jnz .loop1
    vmcall
    mov ecx, 200
.loop2:
    dec ecx
    jnz .loop2
    vmcall
.spin:
    jmp .spin

; The timer counts only in VMX non-root operation: time L1 spends between two exits is not counted.
test_root_time:
    prefix_push "root time"
    mov ebx, EXIT_SAVE_PREEMPTION_TIMER
    mov eax, VMCS_EXIT_CONTROLS
    call vmx_ctl_allowed1
    jnc .supported
    report_skip "save VMX-preemption timer value not supported"
    jmp .done
.supported:
    mov eax, vmcalls_l2
    mov ebx, SAVE_VALUE
    call vmcs_with_timer
    vmcs_set_bits VMCS_EXIT_CONTROLS, EXIT_SAVE_PREEMPTION_TIMER
    call vmx_enter
    vmcs_read VMCS_PREEMPTION_TIMER_VALUE
    mov [saved_1], eax
    call vmx_skip_instruction
    rdtsc
    mov [tsc_before], eax
    mov ecx, BURN_LOOPS
.burn:
    dec ecx
    jnz .burn
    rdtsc
    sub eax, [tsc_before]
    mov ecx, [timer_rate]
    shr eax, cl
    mov [root_ticks], eax
    call vmx_enter
    check_eq eax, EXIT_REASON_VMCALL, "L2 exits again at once"
    vmcs_read VMCS_PREEMPTION_TIMER_VALUE
    mov ebx, [saved_1]
    sub ebx, eax
    mov eax, [root_ticks]
    shr eax, 1
    cmp ebx, eax
    setb al
    report "the count dropped by less than half the ticks L1 spent in root operation"
.done:
    prefix_pop
    ret

vmcalls_l2:
    vmcall
    jmp vmcalls_l2

    align 4
timer_rate:         dd 0
tsc_before:         dd 0
tsc_elapsed:        dd 0
saved_1:            dd 0
saved_2:            dd 0
root_ticks:         dd 0

%include "../lib/image-end.inc"
%include "../lib/vmx-bss.inc"
%include "../lib/bss-end.inc"
