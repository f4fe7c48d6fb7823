; guests/vmx/vmx-exits.asm: instruction VM exits from an L2 payload and their exit information: CPUID
; (unconditional; L1 emulates it), HLT (HLT exiting), IN/OUT/OUTS (unconditional I/O exiting and the I/O bitmaps),
; RDMSR/WRMSR (the MSR bitmap, MSRs outside its ranges), VMCALL, and the interruptibility state an exit saves
; after STI / MOV SS. L1 checks each exit reason, qualification and instruction length, emulates, advances
; GUEST_RIP and resumes. Leaves VMX instruction errors to vmx-basic.asm, injection to vmx-inject.asm.
;
; SDM Vol. 3 26.1 (instructions that cause VM exits), 28.2.1 (exit qualification, table 28-5 for I/O),
; 26.1.3 and 25.6.4/25.6.9 (I/O and MSR bitmaps), 28.2.5 (instruction length / information),
; 28.3.4 (saving the interruptibility state); digest shared/spec/vmx.md 4, 5.2, 6.3-6.5.
; exitless-only: QEMU TCG has no VMX.
; Includes are ../lib/*.inc: assemble from guests/vmx/ or give nasm -I guests/vmx/ (exitless run finds them).

bits 32
org 0x100000                        ; KERNEL_LOAD_ADDR (lib/multiboot.inc)

%include "../lib/multiboot.inc"
%include "../lib/serial.inc"
%include "../lib/exit.inc"
%include "../lib/report.inc"
%include "../lib/start.inc"
%include "../lib/vmx.inc"

UART_SCR_PORT       equ 0x3FF       ; COM1 scratch register: a port whose value reads back
PORT_POST           equ 0x80
PORT_A              equ 0x1234
PORT_B              equ 0x5678
PORT_HIGH           equ 0x9000      ; in I/O bitmap B
MSR_SYSENTER_CS     equ 0x174
MSR_SYSENTER_ESP    equ 0x175
MSR_PAT             equ 0x277
MSR_OUTSIDE         equ 0x40000000  ; in neither MSR-bitmap range
MSR_HIGH_UNKNOWN    equ 0xC0001FFF  ; last MSR of the high range (none on this processor)

CPUID_EMUL_EBX      equ 0x74697865  ; "exit"
CPUID_EMUL_ECX      equ 0x7373656C  ; "less"
CPUID_EMUL_EDX      equ 0x32334C32  ; "2L32"

; exit_is REASON, "what": checks the exit reason of the last vmx_enter.
%macro exit_is 2
    check_eq dword [vmx_exit_reason], %1, %2
%endmacro

main:
    call vmx_setup
    jc .done
    call test_cpuid
    call test_hlt
    call test_vmcall
    call test_io_unconditional
    call test_io_bitmaps
    call test_msr_exiting
    call test_msr_bitmaps
    call test_interruptibility
.done:
    ret

; ---------------------------------------------------------------------------------------------------- CPUID
; CPUID exits unconditionally (SDM 26.1.2). L1 emulates it with a handler run by vmx_run: the leaf comes back
; in EAX + 1, the other registers as "exitless2L32".
test_cpuid:
    prefix_push "CPUID"
    mov eax, cpuid_l2
    call vmx_vmcs_init
    mov dword [cpuid_exits], 0
    mov dword [cpuid_bad_info], 0
    mov esi, cpuid_handler
    call vmx_run
    check_eq eax, EXIT_REASON_VMCALL, "the payload ran to its VMCALL"
    check_eq dword [cpuid_exits], 2, "two CPUID exits (reason 10)"
    check_eq dword [cpuid_bad_info], 0, "every CPUID exit: length 2, qualification 0, RIP = the CPUID"
    check_eq dword [cpuid_out], 0x00000001, "leaf 0: EAX as emulated by L1"
    check_eq dword [cpuid_out + 4], CPUID_EMUL_EBX, "leaf 0: EBX as emulated"
    check_eq dword [cpuid_out + 8], CPUID_EMUL_ECX, "leaf 0: ECX as emulated"
    check_eq dword [cpuid_out + 12], CPUID_EMUL_EDX, "leaf 0: EDX as emulated"
    check_eq dword [cpuid_out + 16], 0x40000001, "leaf 0x40000000: EAX as emulated"
    prefix_pop
    ret

cpuid_handler:
    cmp eax, EXIT_REASON_CPUID
    jne .other
    inc dword [cpuid_exits]
    cmp dword [vmx_exit_len], 2
    jne .bad
    cmp dword [vmx_exit_qual], 0
    jne .bad
    mov eax, [vmx_exit_rip]
    cmp byte [eax], 0x0F                ; the saved RIP points at the CPUID (0F A2): a fault-like exit
    jne .bad
    cmp byte [eax + 1], 0xA2
    je .emulate
.bad:
    inc dword [cpuid_bad_info]
.emulate:
    inc dword [vmx_guest_eax]
    mov dword [vmx_guest_ebx], CPUID_EMUL_EBX
    mov dword [vmx_guest_ecx], CPUID_EMUL_ECX
    mov dword [vmx_guest_edx], CPUID_EMUL_EDX
    call vmx_skip_instruction
    mov eax, VMX_HANDLER_RESUME
    ret
.other:
    mov eax, VMX_HANDLER_DONE
    ret

cpuid_l2:
    mov eax, 0
    cpuid
    mov [cpuid_out], eax
    mov [cpuid_out + 4], ebx
    mov [cpuid_out + 8], ecx
    mov [cpuid_out + 12], edx
    mov eax, 0x40000000
    cpuid
    mov [cpuid_out + 16], eax
    vmcall

; ---------------------------------------------------------------------------------------------------- HLT
test_hlt:
    prefix_push "HLT"
    mov eax, PROC_HLT_EXITING
    mov ebx, eax
    mov eax, VMCS_PROC_CONTROLS
    call vmx_ctl_allowed1
    jnc .supported
    report_skip "HLT exiting not supported"
    jmp .done
.supported:
    mov eax, hlt_l2
    call vmx_vmcs_init
    vmcs_set_bits VMCS_PROC_CONTROLS, PROC_HLT_EXITING
    call vmx_enter
    exit_is EXIT_REASON_HLT, "HLT with HLT exiting: exit reason 12"
    check_eq dword [vmx_exit_rip], hlt_l2.hlt, "fault-like: guest RIP = the HLT"
    check_eq dword [vmx_exit_len], 1, "instruction length 1"
    check_eq dword [vmx_exit_qual], 0, "qualification 0"
    vmcs_read VMCS_GUEST_ACTIVITY_STATE
    check_eq eax, 0, "the guest is saved active (the HLT did not execute)"
    call vmx_skip_instruction
    call vmx_enter
    exit_is EXIT_REASON_VMCALL, "after skipping it the guest runs on to its VMCALL"
    check_eq dword [vmx_exit_rip], hlt_l2.vmcall, "at the instruction after the HLT"
.done:
    prefix_pop
    ret

hlt_l2:
.hlt:
    hlt
.vmcall:
    vmcall

; ---------------------------------------------------------------------------------------------------- VMCALL
; VMCALL exits unconditionally (reason 18, length 3); the guest GPRs travel both ways.
test_vmcall:
    prefix_push "VMCALL"
    mov eax, vmcall_l2
    call vmx_vmcs_init
    mov dword [vmx_guest_eax], 0xA0A0A0A0
    call vmx_enter
    exit_is EXIT_REASON_VMCALL, "exit reason 18"
    check_eq dword [vmx_exit_len], 3, "instruction length 3"
    check_eq dword [vmx_exit_rip], vmcall_l2.first, "guest RIP = the VMCALL"
    check_eq dword [vmx_exit_qual], 0, "qualification 0"
    check_eq dword [vmx_guest_ebx], 0x11111111, "guest EBX at the exit"
    check_eq dword [vmx_guest_ecx], 0x22222222, "guest ECX"
    check_eq dword [vmx_guest_edx], 0x33333333, "guest EDX"
    check_eq dword [vmx_guest_esi], 0x44444444, "guest ESI"
    check_eq dword [vmx_guest_edi], 0x55555555, "guest EDI"
    check_eq dword [vmx_guest_ebp], 0x66666666, "guest EBP"
    check_eq dword [vmx_guest_eax], 0xA0A0A0A1, "guest EAX: L1's value, seen by L2 (+1)"
    check_eq dword [vmx_exit_rsp], vmx_guest_stack_top - 4, "guest RSP saved (one push)"
    call vmx_skip_instruction
    mov dword [vmx_guest_eax], 0x12345678
    call vmx_enter
    exit_is EXIT_REASON_VMCALL, "VMRESUME: the second VMCALL"
    check_eq dword [vmx_exit_rip], vmcall_l2.second, "guest RIP = the second VMCALL"
    check_eq dword [vmx_guest_ebx], 0x12345678, "L2 saw the EAX L1 wrote before VMRESUME"
    prefix_pop
    ret

vmcall_l2:
    push eax
    inc eax
    mov ebx, 0x11111111
    mov ecx, 0x22222222
    mov edx, 0x33333333
    mov esi, 0x44444444
    mov edi, 0x55555555
    mov ebp, 0x66666666
.first:
    vmcall
    mov ebx, eax
.second:
    vmcall
    jmp .second

; ---------------------------------------------------------------------------------------------------- I/O
; Unconditional I/O exiting: every IN/OUT/INS/OUTS exits (SDM 26.1.3); the qualification (table 28-5): size - 1
; (2:0), IN (3), string (4), REP (5), immediate operand (6), port (31:16). Guest registers are not updated.
test_io_unconditional:
    prefix_push "I/O exiting"
    mov eax, io_l2
    call vmx_vmcs_init
    vmcs_set_bits VMCS_PROC_CONTROLS, PROC_UNCOND_IO_EXITING
    call vmx_enter
    exit_is EXIT_REASON_IO, "OUT imm8, AL: exit reason 30"
    check_eq dword [vmx_exit_qual], (PORT_POST << 16) | IO_QUAL_IMMEDIATE, "OUT 0x80, AL: port 0x80, 1 byte, out, immediate"
    check_eq dword [vmx_exit_len], 2, "OUT imm8, AL: length 2"
    check_eq dword [vmx_exit_rip], io_l2.out_imm, "guest RIP = the OUT"
    call vmx_skip_instruction
    call vmx_enter
    exit_is EXIT_REASON_IO, "IN AX, DX: exit"
    check_eq dword [vmx_exit_qual], (PORT_A << 16) | IO_QUAL_IN | 1, "IN AX, DX: port 0x1234, 2 bytes, in, DX"
    check_eq dword [vmx_exit_len], 2, "IN AX, DX (66 ED): length 2"
    mov word [vmx_guest_eax], 0xBEEF        ; L1 emulates the IN: AX only
    call vmx_skip_instruction
    call vmx_enter
    exit_is EXIT_REASON_IO, "OUT DX, EAX: exit"
    check_eq dword [vmx_exit_qual], (PORT_B << 16) | 3, "OUT DX, EAX: port 0x5678, 4 bytes, out"
    check_eq dword [vmx_exit_len], 1, "OUT DX, EAX (EF): length 1"
    check_eq dword [vmx_guest_eax], 0x0000BEF0, "the data: L2's EAX after the emulated IN AX (+ 1)"
    call vmx_skip_instruction
    call vmx_enter
    exit_is EXIT_REASON_IO, "REP OUTSB: exit"
    check_eq dword [vmx_exit_qual], (UART_SCR_PORT << 16) | IO_QUAL_STRING | IO_QUAL_REP, "REP OUTSB: port, 1 byte, out, string, REP"
    check_eq dword [vmx_exit_len], 2, "REP OUTSB (F3 6E): length 2"
    check_eq dword [vmx_exit_linear], io_buffer, "guest-linear address = DS:ESI"
    check_eq dword [vmx_guest_ecx], 3, "ECX untouched: the VMM emulates the string instruction"
    mov ecx, MSR_IA32_VMX_BASIC
    rdmsr
    test edx, 1 << (54 - 32)
    jz .no_info
    mov eax, [vmx_exit_instr_info]
    and eax, (7 << 7) | (7 << 15)
    check_eq eax, (1 << 7) | (3 << 15), "instruction information: 32-bit address size, segment DS"
    jmp .info_done
.no_info:
    report_skip "IA32_VMX_BASIC[54] = 0: no instruction information for INS/OUTS"
.info_done:
    call vmx_skip_instruction
    call vmx_enter
    exit_is EXIT_REASON_VMCALL, "the payload reaches its VMCALL"
    prefix_pop
    ret

io_l2:
    mov eax, 0
.out_imm:
    out PORT_POST, al
    mov dx, PORT_A
    in ax, dx
    inc eax
    mov dx, PORT_B
    out dx, eax
    mov esi, io_buffer
    mov ecx, 3
    mov dx, UART_SCR_PORT
    rep outsb
    vmcall

; I/O bitmaps (SDM 25.6.4): bit n of bitmap A (ports 0-7FFF) or B (8000-FFFF) set = exit; an access exits if
; any byte it touches has its bit set, and always if it wraps past FFFF. "Use I/O bitmaps" overrides
; unconditional I/O exiting (set here too).
test_io_bitmaps:
    prefix_push "I/O bitmaps"
    mov ebx, PROC_USE_IO_BITMAPS
    mov eax, VMCS_PROC_CONTROLS
    call vmx_ctl_allowed1
    jnc .supported
    report_skip "I/O bitmaps not supported"
    jmp .done
.supported:
    mov eax, io_bitmap_l2
    call vmx_vmcs_init
    vmcs_set_bits VMCS_PROC_CONTROLS, PROC_USE_IO_BITMAPS | PROC_UNCOND_IO_EXITING
    or byte [vmx_io_bitmap_a + (PORT_POST >> 3)], 1 << (PORT_POST & 7)
    or byte [vmx_io_bitmap_b + 0], 1                                    ; port 0x8000
    or byte [vmx_io_bitmap_b + ((PORT_HIGH & 0x7FFF) >> 3)], 1 << (PORT_HIGH & 7)
    call vmx_enter
    exit_is EXIT_REASON_IO, "OUT to port 0x80 (bit set in bitmap A) exits"
    check_eq dword [vmx_exit_qual], (PORT_POST << 16) | IO_QUAL_IMMEDIATE, "qualification: port 0x80"
    call vmx_skip_instruction
    call vmx_enter
    exit_is EXIT_REASON_IO, "next exit: IN AX from port 0x7FFF (its second byte, 0x8000, has its bit in bitmap B)"
    check_eq dword [vmx_exit_qual], (0x7FFF << 16) | IO_QUAL_IN | 1, "qualification: port 0x7FFF, 2 bytes, in"
    check_eq dword [io_scr_value], 0xA5, "OUT/IN to port 0x3FF (bit clear) did not exit and reached the UART"
    mov dword [vmx_guest_eax], 0
    call vmx_skip_instruction
    call vmx_enter
    exit_is EXIT_REASON_IO, "OUT to port 0x9000 (bit set in bitmap B) exits"
    check_eq dword [vmx_exit_qual], PORT_HIGH << 16, "qualification: port 0x9000, 1 byte, out, DX"
    call vmx_skip_instruction
    call vmx_enter
    exit_is EXIT_REASON_IO, "IN EAX from port 0xFFFE (wraps past 0xFFFF, bits clear) exits"
    check_eq dword [vmx_exit_qual], (0xFFFE << 16) | IO_QUAL_IN | 3, "qualification: port 0xFFFE, 4 bytes, in"
    call vmx_skip_instruction
    call vmx_enter
    exit_is EXIT_REASON_VMCALL, "the payload reaches its VMCALL"
    mov byte [vmx_io_bitmap_a + (PORT_POST >> 3)], 0
    mov byte [vmx_io_bitmap_b + 0], 0
    mov byte [vmx_io_bitmap_b + ((PORT_HIGH & 0x7FFF) >> 3)], 0
.done:
    prefix_pop
    ret

io_bitmap_l2:
    out PORT_POST, al
    mov dx, UART_SCR_PORT
    mov al, 0xA5
    out dx, al
    mov al, 0
    in al, dx
    mov [io_scr_value], al
    mov dx, 0x7FFF
    in ax, dx
    mov dx, PORT_HIGH
    out dx, al
    mov dx, 0xFFFE
    in eax, dx
    vmcall

; ---------------------------------------------------------------------------------------------------- RDMSR/WRMSR
; Without MSR bitmaps every RDMSR and WRMSR exits (SDM 26.1.3).
test_msr_exiting:
    prefix_push "MSR exiting"
    mov eax, msr_plain_l2
    call vmx_vmcs_init
    call vmx_enter
    exit_is EXIT_REASON_RDMSR, "RDMSR without MSR bitmaps: exit reason 31"
    check_eq dword [vmx_exit_len], 2, "length 2"
    check_eq dword [vmx_guest_ecx], MSR_SYSENTER_CS, "guest ECX = the MSR"
    mov dword [vmx_guest_eax], 0xAAAA
    mov dword [vmx_guest_edx], 0xBBBB
    call vmx_skip_instruction
    call vmx_enter
    exit_is EXIT_REASON_WRMSR, "WRMSR without MSR bitmaps: exit reason 32"
    check_eq dword [vmx_exit_len], 2, "length 2"
    check_eq dword [vmx_guest_eax], 0xAAAB, "guest EAX = the value (L2 saw L1's emulated RDMSR)"
    check_eq dword [vmx_guest_edx], 0xBBBB, "guest EDX"
    prefix_pop
    ret

msr_plain_l2:
    mov ecx, MSR_SYSENTER_CS
    rdmsr
    inc eax
    wrmsr
    vmcall

; MSR bitmap (SDM 25.6.9): read-low 000, read-high 400, write-low 800, write-high C00; bit set = exit, clear =
; the access executes in the guest; MSRs outside 0-1FFF and C0000000-C0001FFF always exit.
test_msr_bitmaps:
    prefix_push "MSR bitmap"
    mov ebx, PROC_USE_MSR_BITMAPS
    mov eax, VMCS_PROC_CONTROLS
    call vmx_ctl_allowed1
    jnc .supported
    report_skip "MSR bitmaps not supported"
    jmp .done
.supported:
    mov eax, msr_bitmap_l2
    call vmx_vmcs_init
    vmcs_set_bits VMCS_PROC_CONTROLS, PROC_USE_MSR_BITMAPS
    vmcs_write VMCS_GUEST_SYSENTER_CS, 0x1234
    or byte [vmx_msr_bitmap + 0x800 + (MSR_SYSENTER_CS >> 3)], 1 << (MSR_SYSENTER_CS & 7)   ; write 174 exits
    or byte [vmx_msr_bitmap + (MSR_PAT >> 3)], 1 << (MSR_PAT & 7)                          ; read 277 exits
    call vmx_enter
    exit_is EXIT_REASON_WRMSR, "first exit: WRMSR 0x174 (write bit set); RDMSR 0x174 (read bit clear) did not exit"
    check_eq dword [msr_read_value], 0x1234, "the RDMSR read the guest's IA32_SYSENTER_CS (loaded at VM entry)"
    check_eq dword [vmx_guest_ecx], MSR_SYSENTER_CS, "guest ECX = 0x174"
    check_eq dword [vmx_guest_eax], 0x4321, "guest EAX = the value to write"
    check_eq dword [vmx_exit_rip], msr_bitmap_l2.wrmsr_cs, "guest RIP = the WRMSR"
    call vmx_skip_instruction
    call vmx_enter
    exit_is EXIT_REASON_RDMSR, "next exit: RDMSR 0x277 (read bit set); WRMSR 0x175 (bit clear) did not exit"
    check_eq dword [vmx_guest_ecx], MSR_PAT, "guest ECX = 0x277"
    vmcs_read VMCS_GUEST_SYSENTER_ESP
    check_eq eax, 0xABCD0000, "the WRMSR to 0x175 reached the guest's IA32_SYSENTER_ESP (saved at the exit)"
    mov ecx, MSR_SYSENTER_ESP
    rdmsr
    check_eq eax, 0, "L1's IA32_SYSENTER_ESP is the host-state value again"
    mov dword [vmx_guest_eax], 0x00070406
    mov dword [vmx_guest_edx], 0x00070406
    call vmx_skip_instruction
    call vmx_enter
    exit_is EXIT_REASON_RDMSR, "RDMSR 0x40000000 (outside both ranges) exits"
    check_eq dword [vmx_guest_ecx], MSR_OUTSIDE, "guest ECX = 0x40000000"
    call vmx_skip_instruction
    call vmx_enter
    exit_is EXIT_REASON_WRMSR, "WRMSR 0x40000000 exits"
    call vmx_skip_instruction
    call vmx_enter
    exit_is EXIT_REASON_EXCEPTION_NMI, "RDMSR 0xC0001FFF (high range, bit clear) runs in the guest: #GP exits by the exception bitmap"
    check_eq dword [vmx_exit_intr_info], INTR_INFO_VALID | INTR_INFO_DELIVER_ERROR | INTR_TYPE_HW_EXCEPTION | VEC_GP, "interruption information: #GP, hardware exception, error code"
    check_eq dword [vmx_exit_intr_error], 0, "error code 0"
    check_eq dword [vmx_exit_rip], msr_bitmap_l2.rdmsr_high, "guest RIP = the RDMSR"
    mov eax, msr_bitmap_l2.done
    vmcs_write VMCS_GUEST_RIP, eax
    call vmx_enter
    exit_is EXIT_REASON_VMCALL, "the payload reaches its VMCALL"
    check_eq dword [vmx_guest_eax], 0x00070406, "L2 got L1's emulated RDMSR 0x277"
    mov byte [vmx_msr_bitmap + 0x800 + (MSR_SYSENTER_CS >> 3)], 0
    mov byte [vmx_msr_bitmap + (MSR_PAT >> 3)], 0
.done:
    prefix_pop
    ret

msr_bitmap_l2:
    mov ecx, MSR_SYSENTER_CS
    rdmsr
    mov [msr_read_value], eax
    mov eax, 0x4321
    mov edx, 0
.wrmsr_cs:
    wrmsr
    mov ecx, MSR_SYSENTER_ESP
    mov eax, 0xABCD0000
    wrmsr
    mov ecx, MSR_PAT
    rdmsr
    mov [msr_pat_value], eax
    mov ecx, MSR_OUTSIDE
    rdmsr
    wrmsr
    mov ecx, MSR_HIGH_UNKNOWN
.rdmsr_high:
    rdmsr
.done:
    mov eax, [msr_pat_value]
    vmcall

; ---------------------------------------------------------------------------------------------------- blocking
; A fault-like exit on the instruction right after STI (IF was 0) or MOV SS saves that blocking in the
; interruptibility state (SDM 28.3.4: the state "before the VM exit"; the blocking ends only once that
; instruction completes, 6.8.3 / STI). A VMM skipping the instruction clears it (vmx_skip_instruction, as KVM).
test_interruptibility:
    prefix_push "interruptibility"
    mov eax, blocking_l2
    call vmx_vmcs_init
    call vmx_enter
    exit_is EXIT_REASON_CPUID, "CPUID right after STI exits"
    vmcs_read VMCS_GUEST_INTERRUPTIBILITY
    check_eq eax, 1, "interruptibility state: blocking by STI"
    vmcs_read VMCS_GUEST_RFLAGS
    and eax, EFLAGS_IF
    check_eq eax, EFLAGS_IF, "RFLAGS.IF = 1 saved"
    call vmx_skip_instruction
    vmcs_read VMCS_GUEST_INTERRUPTIBILITY
    check_eq eax, 0, "vmx_skip_instruction ends the blocking"
    call vmx_enter
    exit_is EXIT_REASON_CPUID, "CPUID right after MOV SS exits"
    vmcs_read VMCS_GUEST_INTERRUPTIBILITY
    check_eq eax, 2, "interruptibility state: blocking by MOV SS"
    call vmx_skip_instruction
    call vmx_enter
    exit_is EXIT_REASON_CPUID, "CPUID two instructions after MOV SS exits"
    vmcs_read VMCS_GUEST_INTERRUPTIBILITY
    check_eq eax, 0, "interruptibility state: no blocking"
    prefix_pop
    ret

blocking_l2:
    sti
    cpuid
    cli
    mov ax, ss
    mov ss, ax
    cpuid
    mov ss, ax
    nop
    cpuid
    vmcall

    align 4
cpuid_exits:        dd 0
cpuid_bad_info:     dd 0
cpuid_out:          times 5 dd 0
io_buffer:          db "abc", 0
io_scr_value:       dd 0
msr_read_value:     dd 0
msr_pat_value:      dd 0

%include "../lib/image-end.inc"
%include "../lib/vmx-bss.inc"
%include "../lib/bss-end.inc"
