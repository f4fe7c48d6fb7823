; guests/vmx/vmx-basic.asm: the VMX instructions in root operation: CPUID and the capability MSRs, VMXON and its
; preconditions, VMCLEAR/VMPTRLD/VMPTRST, VMREAD/VMWRITE widths and errors, VMLAUNCH/VMRESUME launch-state and
; control/host-state errors, VMCALL in root, VMXOFF. Leaves exits to vmx-exits.asm, injection and guest-state
; entry failures to vmx-inject.asm, the preemption timer to vmx-preemption.asm.
;
; SDM Vol. 3 30.2 (VMsucceed / VMfailInvalid / VMfailValid), 30.3 (each instruction), 30.4 (error numbers),
; appendix A (capability MSRs); digest shared/spec/vmx.md 1.1-1.5. exitless-only: QEMU TCG has no VMX (there
; every test would SKIP).
; Includes are ../lib/*.inc: assemble from guests/vmx/ or give nasm -I guests/vmx/ (exitless run finds them).

bits 32
org 0x100000                        ; KERNEL_LOAD_ADDR (lib/multiboot.inc)

%include "../lib/multiboot.inc"
%include "../lib/serial.inc"
%include "../lib/exit.inc"
%include "../lib/report.inc"
%include "../lib/start.inc"
%include "../lib/vmx.inc"

; Set every VMX result flag (CF PF AF ZF SF OF) so that a check can see VMsucceed clear them.
%macro set_result_flags 0
    push dword VMX_RESULT_FLAGS | 2
    popfd
%endmacro

main:
    call test_cpuid
    jc .no_vmx
    call test_capabilities
    call test_vmxon
    jc .done
    call test_vmcs_pointers
    call test_vmread_vmwrite
    call test_launch
    call test_vmcall
    call test_vmxoff
.done:
.no_vmx:
    ret

; ---------------------------------------------------------------------------------------------------- CPUID
test_cpuid:
    prefix_push "CPUID"
    call vmx_supported
    jc .no_vmx
    mov al, 1
    report "CPUID.1:ECX.VMX[bit 5] = 1"
    prefix_pop
    clc
    ret
.no_vmx:
    report_skip "CPUID.1:ECX.VMX = 0: no VMX, nothing to test"
    prefix_pop
    stc
    ret

; ---------------------------------------------------------------------------------------------------- capability MSRs
; check_ctl_msr MSR, DEFAULT1, "name": allowed-0 (low) is a subset of allowed-1 (high), and the non-TRUE MSR
; reports every default1 bit as must-be-1 (SDM A.2, A.3-A.5).
%macro check_ctl_msr 3
    prefix_push %3
    mov ecx, %1
    rdmsr
    mov ebx, eax
    not edx
    and ebx, edx
    check_eq ebx, 0, "allowed-0 settings are a subset of the allowed-1 settings"
    and eax, %2
    check_eq eax, %2, "every default1 control is reported as must-be-1"
    prefix_pop
%endmacro

; check_true_msr TRUE, PLAIN, "name": the TRUE MSR's allowed-0 is a subset of the plain one's, its allowed-0
; a subset of its allowed-1 (SDM A.3.1).
%macro check_true_msr 3
    prefix_push %3
    mov ecx, %2
    rdmsr
    mov esi, eax
    mov ecx, %1
    rdmsr
    mov ebx, eax
    not esi
    and ebx, esi
    check_eq ebx, 0, "allowed-0 settings only relax must-be-1 bits of the plain MSR"
    not edx
    and eax, edx
    check_eq eax, 0, "allowed-0 settings are a subset of the allowed-1 settings"
    prefix_pop
%endmacro

test_capabilities:
    prefix_push "capabilities"
    mov ecx, MSR_IA32_VMX_BASIC
    rdmsr
    mov ebx, eax
    and ebx, 0x7FFFFFFF
    setnz al
    report "IA32_VMX_BASIC[30:0]: a revision identifier is reported"
    mov ecx, MSR_IA32_VMX_BASIC
    rdmsr
    and eax, 0x80000000
    check_eq eax, 0, "IA32_VMX_BASIC[31] = 0"
    and edx, 0x1FFF                 ; bits 44:32: VMCS region size
    cmp edx, 0
    setne al
    cmp edx, 4096
    setbe ah
    and al, ah
    report "IA32_VMX_BASIC[44:32]: VMCS region size in 1..4096"

    check_ctl_msr MSR_IA32_VMX_PINBASED_CTLS, 0x00000016, "IA32_VMX_PINBASED_CTLS"
    check_ctl_msr MSR_IA32_VMX_PROCBASED_CTLS, 0x0401E172, "IA32_VMX_PROCBASED_CTLS"
    check_ctl_msr MSR_IA32_VMX_EXIT_CTLS, 0x00036DFF, "IA32_VMX_EXIT_CTLS"
    check_ctl_msr MSR_IA32_VMX_ENTRY_CTLS, 0x000011FF, "IA32_VMX_ENTRY_CTLS"

    mov ecx, MSR_IA32_VMX_BASIC
    rdmsr
    test edx, VMX_BASIC_HI_TRUE_CTLS
    jnz .true_ctls
    report_skip "IA32_VMX_BASIC[55] = 0: no TRUE control MSRs"
    jmp .fixed
.true_ctls:
    check_true_msr MSR_IA32_VMX_TRUE_PINBASED_CTLS, MSR_IA32_VMX_PINBASED_CTLS, "IA32_VMX_TRUE_PINBASED_CTLS"
    check_true_msr MSR_IA32_VMX_TRUE_PROCBASED_CTLS, MSR_IA32_VMX_PROCBASED_CTLS, "IA32_VMX_TRUE_PROCBASED_CTLS"
    check_true_msr MSR_IA32_VMX_TRUE_EXIT_CTLS, MSR_IA32_VMX_EXIT_CTLS, "IA32_VMX_TRUE_EXIT_CTLS"
    check_true_msr MSR_IA32_VMX_TRUE_ENTRY_CTLS, MSR_IA32_VMX_ENTRY_CTLS, "IA32_VMX_TRUE_ENTRY_CTLS"

.fixed:
    mov ecx, MSR_IA32_VMX_PROCBASED_CTLS
    rdmsr
    test edx, PROC_SECONDARY_CONTROLS
    jnz .secondary
    report_skip "no secondary processor-based controls"
    jmp .cr_fixed
.secondary:
    mov ecx, MSR_IA32_VMX_PROCBASED_CTLS2
    rdmsr
    check_eq eax, 0, "IA32_VMX_PROCBASED_CTLS2: no secondary control must be 1"

.cr_fixed:
    mov ecx, MSR_IA32_VMX_CR0_FIXED0
    rdmsr
    mov ebx, eax
    mov ecx, MSR_IA32_VMX_CR0_FIXED1
    rdmsr
    not eax
    and eax, ebx
    check_eq eax, 0, "CR0_FIXED0 is a subset of CR0_FIXED1"
    and ebx, CR0_PE | CR0_NE | CR0_PG
    check_eq ebx, CR0_PE | CR0_NE | CR0_PG, "CR0_FIXED0 has PE, NE and PG"
    mov ecx, MSR_IA32_VMX_CR4_FIXED0
    rdmsr
    mov ebx, eax
    mov ecx, MSR_IA32_VMX_CR4_FIXED1
    rdmsr
    not eax
    and eax, ebx
    check_eq eax, 0, "CR4_FIXED0 is a subset of CR4_FIXED1"
    and ebx, CR4_VMXE
    check_eq ebx, CR4_VMXE, "CR4_FIXED0 has VMXE"

    ; The capability MSRs are read-only (SDM Vol. 4 table 2-2): WRMSR raises #GP(0).
    mov ecx, MSR_IA32_VMX_BASIC
    rdmsr
    expect_exception VEC_GP, .r_wr
    wrmsr
.r_wr:
    expect_done
    check_eq dword [exc_vector], VEC_GP, "WRMSR to IA32_VMX_BASIC raises #GP"
    prefix_pop
    ret

; ---------------------------------------------------------------------------------------------------- VMXON
; CF = 1 when VMXON could not be made to succeed (the rest is skipped).
test_vmxon:
    prefix_push "VMXON"
    call vmx_enable_paging
    call vmx_load_tr
    call vmx_read_caps

    ; CR4.VMXE = 0: #UD (SDM 30.3 VMXON).
    mov eax, [vmx_revision]
    mov [vmxon_region], eax
    expect_exception VEC_UD, .r_ud
    vmxon [ptr_vmxon]
.r_ud:
    expect_done
    check_eq dword [exc_vector], VEC_UD, "CR4.VMXE = 0: VMXON raises #UD"

    call vmx_set_vmxe
    mov ecx, MSR_IA32_FEATURE_CONTROL
    rdmsr
    test eax, FEATURE_CONTROL_LOCK
    jnz .fc_locked
    expect_exception VEC_GP, .r_fc
    vmxon [ptr_vmxon]
.r_fc:
    expect_done
    check_eq dword [exc_vector], VEC_GP, "IA32_FEATURE_CONTROL unlocked: VMXON raises #GP"
    check_eq dword [exc_error], 0, "#GP(0)"
    call vmx_enable_feature_control
    mov ecx, MSR_IA32_FEATURE_CONTROL
    rdmsr
    check_eq eax, FEATURE_CONTROL_LOCK | FEATURE_CONTROL_VMX_OUTSIDE_SMX, "IA32_FEATURE_CONTROL = lock | VMX outside SMX"
    expect_exception VEC_GP, .r_locked
    wrmsr
.r_locked:
    expect_done
    check_eq dword [exc_vector], VEC_GP, "WRMSR to a locked IA32_FEATURE_CONTROL raises #GP"
    jmp .fc_done
.fc_locked:
    report_skip "IA32_FEATURE_CONTROL locked by firmware"
    call vmx_enable_feature_control
.fc_done:

    ; Bad VMXON regions: VMfailInvalid (no current VMCS exists outside VMX operation).
    mov eax, [vmx_revision]
    xor eax, 1
    mov [vmx_scratch_page], eax
    set_result_flags
    vmxon [ptr_scratch]
    vmx_result
    check_eq eax, EFLAGS_CF, "wrong revision identifier: VMfailInvalid (CF = 1, other flags 0)"
    vmxon [ptr_vmxon_unaligned]
    vmx_result
    check_eq eax, EFLAGS_CF, "pointer not 4 KiB aligned: VMfailInvalid"

    set_result_flags
    vmxon [ptr_vmxon]
    vmx_result
    check_eq eax, 0, "VMXON succeeds: VMsucceed clears CF PF AF ZF SF OF"
    test eax, eax
    jz .on
    prefix_pop
    stc
    ret
.on:
    vmxon [ptr_vmxon]
    vmx_result
    check_eq eax, EFLAGS_CF, "VMXON in VMX root operation without a current VMCS: VMfailInvalid"

    ; In VMX operation CR0 and CR4 keep their FIXED0 bits (SDM 23.8).
    mov eax, cr4
    mov [rw_scratch], eax
    and eax, ~CR4_VMXE
    expect_exception VEC_GP, .r_cr4
    mov cr4, eax
.r_cr4:
    expect_done
    check_eq dword [exc_vector], VEC_GP, "MOV to CR4 clearing VMXE raises #GP"
    mov eax, cr4
    check_eq eax, dword [rw_scratch], "CR4 unchanged"
    mov eax, cr0
    and eax, ~CR0_NE
    expect_exception VEC_GP, .r_cr0
    mov cr0, eax
.r_cr0:
    expect_done
    check_eq dword [exc_vector], VEC_GP, "MOV to CR0 clearing NE raises #GP"
    prefix_pop
    clc
    ret

; ---------------------------------------------------------------------------------------------------- VMCS pointers
test_vmcs_pointers:
    prefix_push "VMCS pointer"
    mov dword [vmptrst_out], 0
    mov dword [vmptrst_out + 4], 0
    set_result_flags
    vmptrst [vmptrst_out]
    vmx_result
    check_eq eax, 0, "VMPTRST without a current VMCS: VMsucceed"
    check_eq dword [vmptrst_out], 0xFFFFFFFF, "and stores FFFFFFFF_FFFFFFFF (low)"
    check_eq dword [vmptrst_out + 4], 0xFFFFFFFF, "and stores FFFFFFFF_FFFFFFFF (high)"
    mov eax, VMCS_GUEST_RIP
    vmread ebx, eax
    vmx_result
    check_eq eax, EFLAGS_CF, "VMREAD without a current VMCS: VMfailInvalid"
    vmptrld [ptr_unaligned]
    vmx_result
    check_eq eax, EFLAGS_CF, "VMPTRLD of a bad address without a current VMCS: VMfailInvalid"

    mov eax, [vmx_revision]
    mov [vmcs_region], eax
    mov [vmcs_region2], eax
    set_result_flags
    vmclear [ptr_vmcs]
    vmx_result
    check_eq eax, 0, "VMCLEAR: VMsucceed"
    set_result_flags
    vmptrld [ptr_vmcs]
    vmx_result
    check_eq eax, 0, "VMPTRLD: VMsucceed"
    vmptrst [vmptrst_out]
    check_eq dword [vmptrst_out], vmcs_region, "VMPTRST stores the current VMCS pointer (low)"
    check_eq dword [vmptrst_out + 4], 0, "VMPTRST stores the current VMCS pointer (high = 0)"

    ; With a current VMCS, failures are VMfailValid with the error in field 4400.
    vmxon [ptr_vmxon]
    vmx_result
    check_eq eax, EFLAGS_ZF, "VMXON in VMX root operation: VMfailValid (ZF = 1, other flags 0)"
    vmx_error
    check_eq eax, VMXERR_VMXON_IN_ROOT, "VM-instruction error 15"
    vmptrld [ptr_vmxon]
    vmx_result
    check_eq eax, EFLAGS_ZF, "VMPTRLD of the VMXON region: VMfailValid"
    vmx_error
    check_eq eax, VMXERR_VMPTRLD_VMXON_PTR, "VM-instruction error 10"
    mov eax, [vmx_revision]
    xor eax, 1
    mov [vmx_scratch_page], eax
    vmptrld [ptr_scratch]
    vmx_result
    check_eq eax, EFLAGS_ZF, "VMPTRLD of a region with a wrong revision identifier: VMfailValid"
    vmx_error
    check_eq eax, VMXERR_VMPTRLD_BAD_REVISION, "VM-instruction error 11"
    vmptrld [ptr_unaligned]
    vmx_result
    check_eq eax, EFLAGS_ZF, "VMPTRLD of an address not 4 KiB aligned: VMfailValid"
    vmx_error
    check_eq eax, VMXERR_VMPTRLD_BAD_ADDRESS, "VM-instruction error 9"
    mov ecx, MSR_IA32_VMX_BASIC
    rdmsr
    test edx, 1 << (48 - 32)
    jz .wide
    vmptrld [ptr_high]
    vmx_error
    check_eq eax, VMXERR_VMPTRLD_BAD_ADDRESS, "VMPTRLD beyond 4 GiB with IA32_VMX_BASIC[48] = 1: error 9"
    jmp .clear_errors
.wide:
    report_skip "IA32_VMX_BASIC[48] = 0: physical addresses may be wider than 32 bits"
.clear_errors:
    vmclear [ptr_vmxon]
    vmx_result
    check_eq eax, EFLAGS_ZF, "VMCLEAR of the VMXON region: VMfailValid"
    vmx_error
    check_eq eax, VMXERR_VMCLEAR_VMXON_PTR, "VM-instruction error 3"
    vmclear [ptr_unaligned]
    vmx_error
    check_eq eax, VMXERR_VMCLEAR_BAD_ADDRESS, "VMCLEAR of an address not 4 KiB aligned: error 2"
    vmptrst [vmptrst_out]
    check_eq dword [vmptrst_out], vmcs_region, "failed VMPTRLDs leave the current VMCS in place"

    ; VMCLEAR of the current VMCS makes the current-VMCS pointer invalid.
    vmptrld [ptr_vmcs2]
    vmptrst [vmptrst_out]
    check_eq dword [vmptrst_out], vmcs_region2, "VMPTRLD of a second VMCS makes it current"
    vmclear [ptr_vmcs2]
    vmptrst [vmptrst_out]
    check_eq dword [vmptrst_out], 0xFFFFFFFF, "VMCLEAR of the current VMCS: the pointer becomes FFFFFFFF_FFFFFFFF"
    vmptrld [ptr_vmcs]
    prefix_pop
    ret

; ---------------------------------------------------------------------------------------------------- VMREAD/VMWRITE
test_vmread_vmwrite:
    prefix_push "VMREAD/VMWRITE"
    ; 16-bit field: only bits 15:0 are written.
    mov eax, VMCS_GUEST_ES_SELECTOR
    mov ebx, 0xABCD1234
    set_result_flags
    vmwrite eax, ebx
    vmx_result
    check_eq eax, 0, "VMWRITE: VMsucceed"
    mov eax, VMCS_GUEST_ES_SELECTOR
    mov ebx, 0xFFFFFFFF
    set_result_flags
    vmread ebx, eax
    vmx_result
    check_eq eax, 0, "VMREAD: VMsucceed"
    check_eq ebx, 0x1234, "16-bit field: 0xABCD1234 reads back as 0x1234"
    ; 32-bit field.
    mov eax, VMCS_GUEST_ES_LIMIT
    mov ebx, 0xDEADBEEF
    vmwrite eax, ebx
    vmread ecx, eax
    check_eq ecx, 0xDEADBEEF, "32-bit field round trip"
    ; Natural-width field through memory operands.
    mov dword [rw_scratch], 0xCAFEBABE
    mov eax, VMCS_CR0_READ_SHADOW
    vmwrite eax, [rw_scratch]
    mov dword [rw_scratch], 0
    vmread [rw_scratch], eax
    check_eq dword [rw_scratch], 0xCAFEBABE, "natural-width field round trip (memory operands)"
    ; 64-bit field: FULL is bits 31:0, HIGH (encoding + 1) bits 63:32.
    mov eax, VMCS_TSC_OFFSET
    mov ebx, 0x11223344
    vmwrite eax, ebx
    mov eax, VMCS_TSC_OFFSET + 1
    mov ebx, 0x55667788
    vmwrite eax, ebx
    mov eax, VMCS_TSC_OFFSET
    vmread ecx, eax
    check_eq ecx, 0x11223344, "64-bit field: FULL reads bits 31:0"
    mov eax, VMCS_TSC_OFFSET + 1
    vmread ecx, eax
    check_eq ecx, 0x55667788, "64-bit field: HIGH reads bits 63:32"
    ; A 32-bit VMWRITE of the FULL encoding clears bits 63:32 (SDM 30.3 VMWRITE: a field longer than the operand
    ; has its high bits cleared).
    mov eax, VMCS_TSC_OFFSET
    mov ebx, 0x99AABBCC
    vmwrite eax, ebx
    mov eax, VMCS_TSC_OFFSET + 1
    vmread ecx, eax
    check_eq ecx, 0, "VMWRITE of the FULL encoding clears bits 63:32"
    mov eax, VMCS_TSC_OFFSET
    vmread ecx, eax
    check_eq ecx, 0x99AABBCC, "and writes bits 31:0"

    ; Unsupported components: error 12.
    mov eax, VMCS_GUEST_ES_LIMIT + 1
    set_result_flags
    vmread ebx, eax
    vmx_result
    check_eq eax, EFLAGS_ZF, "VMREAD of a HIGH encoding of a 32-bit field: VMfailValid"
    vmx_error
    check_eq eax, VMXERR_UNSUPPORTED_FIELD, "VM-instruction error 12"
    mov eax, 0x5000                 ; bit 12 is reserved in every encoding
    vmread ebx, eax
    vmx_error
    check_eq eax, VMXERR_UNSUPPORTED_FIELD, "VMREAD of an encoding with bit 12 set: error 12"
    mov eax, 0x00014000             ; bits 31:15 must be 0
    vmwrite eax, ebx
    vmx_error
    check_eq eax, VMXERR_UNSUPPORTED_FIELD, "VMWRITE of an encoding with bits 31:15 set: error 12"
    mov eax, 0x4BFE                 ; a guest-state 32-bit field with index 1FF: no such component
    vmwrite eax, ebx
    vmx_error
    check_eq eax, VMXERR_UNSUPPORTED_FIELD, "VMWRITE of an unsupported component: error 12"

    ; Read-only exit-information fields: error 13 (IA32_VMX_MISC[29] = 0), the field keeps its value.
    mov ecx, MSR_IA32_VMX_MISC
    rdmsr
    test eax, 1 << 29
    jz .read_only
    report_skip "IA32_VMX_MISC[29] = 1: VMWRITE may write read-only fields"
    jmp .done
.read_only:
    mov eax, VMCS_EXIT_REASON
    mov ebx, 0x1234
    vmwrite eax, ebx
    vmx_result
    check_eq eax, EFLAGS_ZF, "VMWRITE of the exit reason: VMfailValid"
    vmx_error
    check_eq eax, VMXERR_WRITE_READ_ONLY, "VM-instruction error 13"
    mov eax, VMCS_EXIT_REASON
    vmread ebx, eax
    check_eq ebx, 0, "the read-only field keeps its value"
    mov eax, VMCS_VM_INSTRUCTION_ERROR
    mov ebx, 0
    vmwrite eax, ebx
    vmx_error
    check_eq eax, VMXERR_WRITE_READ_ONLY, "VMWRITE of the VM-instruction error field: error 13"
    mov eax, VMCS_EXIT_QUALIFICATION
    vmwrite eax, ebx
    vmx_error
    check_eq eax, VMXERR_WRITE_READ_ONLY, "VMWRITE of the exit qualification: error 13"
.done:
    prefix_pop
    ret

; ---------------------------------------------------------------------------------------------------- VMLAUNCH/VMRESUME
test_launch:
    prefix_push "VMLAUNCH/VMRESUME"
    mov eax, basic_l2
    call vmx_vmcs_init

    ; VMRESUME of a clear VMCS: error 5.
    mov dword [vmx_launched], 1
    call vmx_enter
    check_eq eax, VMX_ENTRY_VMFAIL, "VMRESUME of a clear VMCS fails"
    check_eq dword [vmx_vmfail_flags], EFLAGS_ZF, "VMfailValid"
    check_eq dword [vmx_vmfail_error], VMXERR_VMRESUME_NOT_LAUNCHED, "VM-instruction error 5"
    mov dword [vmx_launched], 0

    ; Invalid controls: the pin-based default1 bits cleared (error 7, SDM 26.2.1.1).
    vmcs_read VMCS_PIN_CONTROLS
    mov ebx, eax
    vmcs_write VMCS_PIN_CONTROLS, 0
    mov ecx, MSR_IA32_VMX_TRUE_PINBASED_CTLS
    cmp dword [vmx_true_ctls], 0
    jne .true_pin
    mov ecx, MSR_IA32_VMX_PINBASED_CTLS
.true_pin:
    rdmsr
    test eax, eax
    jnz .must_be_1
    report_skip "no pin-based control must be 1: cannot build invalid controls that way"
    jmp .host
.must_be_1:
    call vmx_enter
    check_eq eax, VMX_ENTRY_VMFAIL, "VMLAUNCH with must-be-1 pin-based controls cleared fails"
    check_eq dword [vmx_vmfail_error], VMXERR_ENTRY_BAD_CONTROLS, "VM-instruction error 7"
.host:
    vmcs_write VMCS_PIN_CONTROLS, ebx

    ; Invalid host state: a null host TR selector (error 8, SDM 26.2.3).
    vmcs_write VMCS_HOST_TR_SELECTOR, 0
    call vmx_enter
    check_eq eax, VMX_ENTRY_VMFAIL, "VMLAUNCH with host TR selector 0 fails"
    check_eq dword [vmx_vmfail_error], VMXERR_ENTRY_BAD_HOST_STATE, "VM-instruction error 8"
    vmcs_write VMCS_HOST_TR_SELECTOR, VMX_TSS_SEL
    vmcs_read VMCS_HOST_CR0
    mov ebx, eax
    and eax, ~CR0_PG
    vmcs_write VMCS_HOST_CR0, eax
    call vmx_enter
    check_eq dword [vmx_vmfail_error], VMXERR_ENTRY_BAD_HOST_STATE, "VMLAUNCH with host CR0.PG = 0: error 8"
    vmcs_write VMCS_HOST_CR0, ebx

    ; Blocking by MOV SS: error 26 (SDM 30.3 VMLAUNCH/VMRESUME).
    call enter_after_mov_ss
    check_eq eax, VMX_ENTRY_VMFAIL, "VMLAUNCH right after MOV SS fails"
    check_eq dword [vmx_vmfail_error], VMXERR_ENTRY_MOV_SS, "VM-instruction error 26"

    ; A good launch, then VMLAUNCH again (error 4) and VMRESUME.
    call vmx_enter
    check_eq eax, EXIT_REASON_VMCALL, "VMLAUNCH enters the guest; its VMCALL exits (reason 18)"
    check_eq dword [vmx_exit_rip], basic_l2.first, "guest RIP = the VMCALL"
    check_eq dword [vmx_exit_len], 3, "VM-exit instruction length 3"
    call vmx_skip_instruction
    mov dword [vmx_launched], 0
    call vmx_enter
    check_eq eax, VMX_ENTRY_VMFAIL, "VMLAUNCH of a launched VMCS fails"
    check_eq dword [vmx_vmfail_flags], EFLAGS_ZF, "VMfailValid"
    check_eq dword [vmx_vmfail_error], VMXERR_VMLAUNCH_NOT_CLEAR, "VM-instruction error 4"
    mov dword [vmx_launched], 1
    call vmx_enter
    check_eq eax, EXIT_REASON_VMCALL, "VMRESUME of the launched VMCS re-enters the guest"
    check_eq dword [vmx_exit_rip], basic_l2.second, "at the instruction after the skipped VMCALL"
    prefix_pop
    ret

; enter_after_mov_ss: vmx_enter with VMLAUNCH right after a MOV SS (blocking by MOV SS in effect).
enter_after_mov_ss:
    pushad
    mov eax, VMCS_HOST_RSP
    vmwrite eax, esp
    mov ax, ss
    mov ss, ax
    vmlaunch
    jmp vmx_enter.vmfail

; The L2 payload: two VMCALLs.
basic_l2:
.first:
    vmcall
.second:
    vmcall
    jmp basic_l2

; ---------------------------------------------------------------------------------------------------- VMCALL
test_vmcall:
    prefix_push "VMCALL"
    set_result_flags
    vmcall
    vmx_result
    check_eq eax, EFLAGS_ZF, "VMCALL in VMX root operation: VMfailValid"
    vmx_error
    check_eq eax, VMXERR_VMCALL_IN_ROOT, "VM-instruction error 1"
    prefix_pop
    ret

; ---------------------------------------------------------------------------------------------------- VMXOFF
test_vmxoff:
    prefix_push "VMXOFF"
    set_result_flags
    vmxoff
    vmx_result
    check_eq eax, 0, "VMXOFF: VMsucceed"
    mov eax, VMCS_GUEST_RIP
    expect_exception VEC_UD, .r_vmread
    vmread ebx, eax
.r_vmread:
    expect_done
    check_eq dword [exc_vector], VEC_UD, "VMREAD outside VMX operation raises #UD"
    expect_exception VEC_UD, .r_vmxoff
    vmxoff
.r_vmxoff:
    expect_done
    check_eq dword [exc_vector], VEC_UD, "VMXOFF outside VMX operation raises #UD"
    expect_exception VEC_UD, .r_vmcall
    vmcall
.r_vmcall:
    expect_done
    check_eq dword [exc_vector], VEC_UD, "VMCALL outside VMX operation raises #UD"
    mov eax, cr4
    and eax, ~CR4_VMXE
    expect_exception VEC_GP, .r_cr4
    mov cr4, eax
.r_cr4:
    expect_done
    check_eq dword [exc_vector], EXC_NONE, "CR4.VMXE can be cleared again"
    prefix_pop
    ret

    align 8
ptr_vmxon:          dd vmxon_region, 0
ptr_vmxon_unaligned: dd vmxon_region + 0x10, 0
ptr_vmcs:           dd vmcs_region, 0
ptr_vmcs2:          dd vmcs_region2, 0
ptr_scratch:        dd vmx_scratch_page, 0
ptr_unaligned:      dd vmcs_region + 0x800, 0
ptr_high:           dd vmcs_region, 1
vmptrst_out:        dd 0, 0
rw_scratch:         dd 0

%include "../lib/image-end.inc"
%include "../lib/vmx-bss.inc"
%include "../lib/bss-end.inc"
