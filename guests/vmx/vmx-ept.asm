; guests/vmx/vmx-ept.asm: EPT from an L1 hypervisor: L1 builds EPT tables for its L2 (the first 16 MiB identity-mapped
; with 2 MiB pages, GPA 16 MiB .. 18 MiB in 4 KiB pages backed by L1 pages elsewhere) and checks EPT violations for a
; write, a read and an instruction fetch (exit 48: access type, the AND of R/W/X, the guest-linear address, the
; guest-physical address), on guest paging-structure accesses (bit 8 = 0), while delivering an injected interrupt
; (IDT-vectoring information) and on an NMI handler's IRET (bit 12), misconfigurations (exit 49), fixing an entry
; with INVEPT and resuming, INVEPT's operand checks, the accessed/dirty flags with EPTP[6], and invalid EPT pointers
; (VMfailValid 7). Leaves other exits to vmx-exits.asm and vmx-windows.asm.
;
; SDM Vol. 3 29.3 (2023 numbering; 28.3 before: the EPT walk 29.3.2, misconfigurations and violations 29.3.3,
; accessed and dirty flags 29.3.5), 28.2.1 table 28-7 (the EPT-violation exit qualification), 28.2.3 (NMI unblocking
; due to IRET), 28.2.4 (IDT-vectoring information), 27.2.1.1 (the EPTP checks at VM entry), 31.3 INVEPT, appendix
; A.10 (IA32_VMX_EPT_VPID_CAP); digest shared/spec/vmx.md 5.2, 7.
;
; L2 runs with L1's identity paging (4 MiB pages, CR3 = vmx_page_dir), so its linear addresses equal its
; guest-physical addresses; a test page at GPA TEST_GPA + k * 4 KiB is backed by ept_pages + k * 4 KiB (HPA), which L1
; reads and writes directly. The processor may cache EPT translations across VM entries (SDM 29.4), so L1 issues
; INVEPT after every change to the tables, as a VMM must.
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

TEST_GPA            equ 0x01000000  ; 16 MiB: the 2 MiB region mapped by ept_pt
IDENTITY_PAGES      equ 8           ; 2 MiB EPT pages: GPA 0 .. 16 MiB = HPA
PAGE_RX             equ 0           ; test pages: k of GPA TEST_GPA + k * 4 KiB
PAGE_R              equ 1
PAGE_RW             equ 2
PAGE_NP             equ 3
PAGE_MISCONF        equ 4
PAGE_AD             equ 5
PAGE_PD             equ 6           ; L2's page directory at this GPA (test_paging_structure)
PAGE_STACK          equ 7           ; L2's stack (test_delivery)
TEST_PAGES          equ 8
VEC_EXTERNAL        equ 0x20        ; the injected interrupt of test_delivery
DATA_OFFSET         equ 0x124       ; offset of the dword the data tests access
WRITE_VALUE         equ 0xC0DE1234
FETCH_VALUE         equ 0x600DF00D
EPT_LEAF            equ EPT_MEMTYPE_WB  ; bits of a 4 KiB leaf besides R/W/X
EPTP_DEFAULT        equ EPTP_MEMTYPE_WB | EPTP_WALK_4
; The EPT-violation qualification of an access to the translated linear address (bits 7 and 8).
QUAL_LINEAR         equ EPT_QUAL_LINEAR_VALID | EPT_QUAL_TRANSLATED
; The EPT capabilities every test needs: 4-level walk (6), WB (14), INVEPT (20) with both types (25, 26).
CAP_NEEDED          equ (1 << 6) | (1 << 14) | EPT_VPID_CAP_INVEPT | EPT_VPID_CAP_INVEPT_SINGLE | EPT_VPID_CAP_INVEPT_ALL

%define GPA(k) (TEST_GPA + (k) * 4096)
%define HPA(k) (ept_pages + (k) * 4096)

; ept_exit_is REASON, QUALIFICATION, ADDRESS: an EPT exit of the last vmx_enter at ADDRESS (GPA and, for a
; violation, guest-linear address: equal under L2's identity paging). Four PASS lines for a violation, three for a
; misconfiguration (whose guest-linear address field is undefined).
%macro ept_exit_is 3
    check_eq dword [vmx_exit_reason], %1, "exit reason"
    check_eq dword [vmx_exit_qual], %2, "exit qualification"
    vmcs_read VMCS_GUEST_PHYSICAL_ADDRESS
    check_eq eax, %3, "guest-physical address (2400)"
%ifidn %1, EXIT_REASON_EPT_VIOLATION
    check_eq dword [vmx_exit_linear], %3, "guest-linear address (640A)"
%endif
%endmacro

main:
    call vmx_setup
    jc .done
    call ept_supported
    jc .done
    mov eax, l2_vmcall
    shr eax, 22                         ; the PDE index of L2's code
    shl eax, 2
    add [pde_gpa], eax
    call test_write_rx
    call test_write_r
    call test_read_not_present
    call test_fetch_rw
    call test_misconfig
    call test_paging_structure
    call test_delivery
    call test_iret
    call test_invept
    call test_no_ad
    call test_ad
    call test_bad_eptp
.done:
    ret

; ept_supported: CF = 0 iff secondary controls, "enable EPT" and the EPT capabilities above are reported.
ept_supported:
    mov ebx, PROC_SECONDARY_CONTROLS
    mov eax, VMCS_PROC_CONTROLS
    call vmx_ctl_allowed1
    jc .no
    mov ebx, PROC2_ENABLE_EPT
    mov eax, VMCS_PROC_CONTROLS2
    call vmx_ctl_allowed1
    jc .no
    mov ecx, MSR_IA32_VMX_EPT_VPID_CAP
    rdmsr
    and eax, CAP_NEEDED
    cmp eax, CAP_NEEDED
    jne .no
    clc
    ret
.no:
    report_skip "no EPT with a 4-level walk, WB tables and both INVEPT types"
    stc
    ret

; ---------------------------------------------------------------------------------------------------- helpers

; ept_build: fresh tables: PML4E 0 -> ept_pdpt, PDPTE 0 -> ept_pd, PDEs 0-7 2 MiB pages (HPA = GPA, RWX, WB),
; PDE 8 -> ept_pt with every PTE not present; A/D flags all clear. Then INVEPT all-context.
ept_build:
    pushad
    mov edi, ept_pml4
    mov ecx, 4 * 4096 / 4
    mov eax, 0
    rep stosd
    mov dword [ept_pml4], ept_pdpt + EPT_RWX
    mov dword [ept_pdpt], ept_pd + EPT_RWX
    mov edi, ept_pd
    mov eax, EPT_PAGE | EPT_MEMTYPE_WB | EPT_RWX
    mov ecx, IDENTITY_PAGES
.pde:
    mov [edi], eax
    add edi, 8
    add eax, 0x200000
    dec ecx
    jnz .pde
    mov dword [ept_pd + (TEST_GPA >> 21) * 8], ept_pt + EPT_RWX
    call ept_invalidate
    popad
    ret

; ept_set_pte: EAX = test page k, EBX = bits 11:0 of its PTE (R/W/X, memory type): GPA(k) -> HPA(k); EBX = 0 makes
; it not present. Then INVEPT all-context.
ept_set_pte:
    push eax
    push edx
    mov edx, eax
    shl edx, 12
    add edx, ept_pages
    or edx, ebx
    test ebx, ebx
    jnz .store
    mov edx, 0
.store:
    mov [ept_pt + eax * 8], edx
    mov dword [ept_pt + eax * 8 + 4], 0
    pop edx
    pop eax
    call ept_invalidate
    ret

; ept_invalidate: INVEPT all-context (the descriptor is not used).
ept_invalidate:
    push eax
    mov eax, INVEPT_ALL_CONTEXT
    invept eax, [invept_desc]
    pop eax
    ret

; invept_single: EAX = EPTP low dword: INVEPT single-context with the descriptor {EPTP, 0} -> EAX = vmx_result.
invept_single:
    mov [invept_desc], eax
    mov dword [invept_desc + 4], 0
    mov dword [invept_desc + 8], 0
    mov dword [invept_desc + 12], 0
    mov eax, INVEPT_SINGLE_CONTEXT
    invept eax, [invept_desc]
    vmx_result
    ret

; vmcs_with_ept: EAX = L2 entry, EBX = EPTP low dword: a fresh VMCS with "enable EPT".
vmcs_with_ept:
    call vmx_vmcs_init
    vmcs_set_bits VMCS_PROC_CONTROLS, PROC_SECONDARY_CONTROLS
    vmcs_write VMCS_PROC_CONTROLS2, PROC2_ENABLE_EPT
    vmcs_write VMCS_EPT_POINTER, ebx
    vmcs_write VMCS_EPT_POINTER + 1, 0
    ret

; l2_set_gate: EAX = vector (<= VEC_EXTERNAL), EBX = handler: a 32-bit interrupt gate, selector 0x08, in l2_idt.
vmx_gate_routine l2_set_gate, l2_idt, IDT_INT_GATE

; The L2 payloads: EDI = the linear (= guest-physical) address to access.
l2_read:
.access:
    mov eax, [edi]
    vmcall
    jmp l2_read

l2_write:
.access:
    mov [edi], eax
    vmcall
    jmp l2_write

l2_read_write:
    mov eax, [edi]
    vmcall
    mov [edi], eax
    vmcall
    jmp l2_read_write

l2_fetch:
    call edi
    vmcall
    jmp l2_fetch

l2_vmcall:
    vmcall
    jmp l2_vmcall

; What L2 fetches from the test page: 6 bytes L1 copies there.
fetch_code:
    mov eax, FETCH_VALUE
    ret
.end:

; ---------------------------------------------------------------------------------------------------- violations
; A write to an R+X page: exit 48, qualification = write (1) | readable (3) | executable (5) | linear valid (7) |
; translated access (8) = 0x1AA; the write did not happen. Then L1 grants W, INVEPT single-context, VMRESUME: the
; write lands in the page the PTE names.
test_write_rx:
    prefix_push "write to R+X page"
    call ept_build
    mov eax, PAGE_RX
    mov ebx, EPT_R | EPT_X | EPT_LEAF
    call ept_set_pte
    mov eax, l2_write
    mov ebx, ept_pml4 + EPTP_DEFAULT
    call vmcs_with_ept
    mov dword [vmx_guest_edi], GPA(PAGE_RX) + DATA_OFFSET
    mov dword [vmx_guest_eax], WRITE_VALUE
    call vmx_enter
    ept_exit_is EXIT_REASON_EPT_VIOLATION, EPT_QUAL_WRITE | EPT_QUAL_READABLE | EPT_QUAL_EXECUTABLE | QUAL_LINEAR, GPA(PAGE_RX) + DATA_OFFSET
    vmcs_read VMCS_GUEST_PHYSICAL_ADDRESS + 1
    check_eq eax, 0, "guest-physical address bits 63:32 = 0"
    check_eq dword [vmx_exit_rip], l2_write.access, "fault-like: guest RIP = the MOV"
    check_eq dword [HPA(PAGE_RX) + DATA_OFFSET], 0, "the write did not happen"
    mov dword [ept_pt + PAGE_RX * 8], HPA(PAGE_RX) + EPT_RWX + EPT_LEAF
    mov eax, ept_pml4 + EPTP_DEFAULT
    call invept_single
    check_eq eax, 0, "INVEPT single-context of the EPTP: VMsucceed"
    call vmx_enter
    check_eq eax, EXIT_REASON_VMCALL, "after L1 grants write access, VMRESUME: the write completes (VMCALL)"
    check_eq dword [HPA(PAGE_RX) + DATA_OFFSET], WRITE_VALUE, "L2's value is in the host page the PTE names"
    cmp dword [GPA(PAGE_RX) + DATA_OFFSET], WRITE_VALUE
    setne al
    report "and not at host-physical = guest-physical"
    mov dword [HPA(PAGE_RX) + DATA_OFFSET], 0
    prefix_pop
    ret

; A write to a read-only page: write | readable | linear = 0x18A.
test_write_r:
    prefix_push "write to R page"
    call ept_build
    mov eax, PAGE_R
    mov ebx, EPT_R | EPT_LEAF
    call ept_set_pte
    mov eax, l2_write
    mov ebx, ept_pml4 + EPTP_DEFAULT
    call vmcs_with_ept
    mov dword [vmx_guest_edi], GPA(PAGE_R) + DATA_OFFSET
    call vmx_enter
    ept_exit_is EXIT_REASON_EPT_VIOLATION, EPT_QUAL_WRITE | EPT_QUAL_READABLE | QUAL_LINEAR, GPA(PAGE_R) + DATA_OFFSET
    mov dword [HPA(PAGE_R) + DATA_OFFSET], 0x5A5A5A5A
    mov eax, l2_read
    vmcs_write VMCS_GUEST_RIP, eax
    call vmx_enter
    check_eq eax, EXIT_REASON_VMCALL, "a read of the same page does not exit"
    check_eq dword [vmx_guest_eax], 0x5A5A5A5A, "and returns the host page's data"
    mov dword [HPA(PAGE_R) + DATA_OFFSET], 0
    prefix_pop
    ret

; A read of a not-present page (bits 2:0 = 0 in the PTE): read | linear = 0x181; bits 3-5 are 0.
test_read_not_present:
    prefix_push "read of not-present page"
    call ept_build
    mov eax, l2_read
    mov ebx, ept_pml4 + EPTP_DEFAULT
    call vmcs_with_ept
    mov dword [vmx_guest_edi], GPA(PAGE_NP) + DATA_OFFSET
    call vmx_enter
    ept_exit_is EXIT_REASON_EPT_VIOLATION, EPT_QUAL_READ | QUAL_LINEAR, GPA(PAGE_NP) + DATA_OFFSET
    check_eq dword [vmx_exit_rip], l2_read.access, "guest RIP = the MOV"
    prefix_pop
    ret

; An instruction fetch from a R+W page: fetch | readable | writable | linear = 0x19C, at the CALL's target (the
; CALL itself completed). L1 adds X and the code in the page runs.
test_fetch_rw:
    prefix_push "fetch from R+W page"
    call ept_build
    mov esi, fetch_code
    mov edi, HPA(PAGE_RW) + DATA_OFFSET
    mov ecx, fetch_code.end - fetch_code
    rep movsb
    mov eax, PAGE_RW
    mov ebx, EPT_R | EPT_W | EPT_LEAF
    call ept_set_pte
    mov eax, l2_fetch
    mov ebx, ept_pml4 + EPTP_DEFAULT
    call vmcs_with_ept
    mov dword [vmx_guest_edi], GPA(PAGE_RW) + DATA_OFFSET
    call vmx_enter
    ept_exit_is EXIT_REASON_EPT_VIOLATION, EPT_QUAL_FETCH | EPT_QUAL_READABLE | EPT_QUAL_WRITABLE | QUAL_LINEAR, GPA(PAGE_RW) + DATA_OFFSET
    check_eq dword [vmx_exit_rip], GPA(PAGE_RW) + DATA_OFFSET, "guest RIP = the fetch address"
    check_eq dword [vmx_exit_rsp], vmx_guest_stack_top - 4, "the CALL completed (return address pushed)"
    mov eax, PAGE_RW
    mov ebx, EPT_RWX | EPT_LEAF
    call ept_set_pte
    call vmx_enter
    check_eq eax, EXIT_REASON_VMCALL, "with X granted the code runs and returns to VMCALL"
    check_eq dword [vmx_guest_eax], FETCH_VALUE, "L2 executed the host page's bytes"
    prefix_pop
    ret

; ---------------------------------------------------------------------------------------------------- misconfig
; Bits 2:0 = 010b (write-only) or 110b (write + execute, no read) are misconfigurations whatever the access
; (SDM 29.3.3.1): exit 49, qualification 0 (SDM 28.2.1: cleared for exits it does not describe), the GPA in 2400.
; A leaf with reserved memory type 2 is one too. L1 fixes the PTE, INVEPT, and the access succeeds.
test_misconfig:
    prefix_push "misconfiguration W"
    call ept_build
    mov eax, PAGE_MISCONF
    mov ebx, EPT_W | EPT_LEAF
    call ept_set_pte
    mov eax, l2_read
    mov ebx, ept_pml4 + EPTP_DEFAULT
    call vmcs_with_ept
    mov dword [vmx_guest_edi], GPA(PAGE_MISCONF) + DATA_OFFSET
    call vmx_enter
    ept_exit_is EXIT_REASON_EPT_MISCONFIG, 0, GPA(PAGE_MISCONF) + DATA_OFFSET
    check_eq dword [vmx_exit_rip], l2_read.access, "guest RIP = the MOV"
    prefix_pop

    prefix_push "misconfiguration WX"
    mov eax, PAGE_MISCONF
    mov ebx, EPT_W | EPT_X | EPT_LEAF
    call ept_set_pte
    mov eax, l2_write
    vmcs_write VMCS_GUEST_RIP, eax
    call vmx_enter
    ept_exit_is EXIT_REASON_EPT_MISCONFIG, 0, GPA(PAGE_MISCONF) + DATA_OFFSET
    prefix_pop

    prefix_push "misconfiguration memory type 2"
    mov eax, PAGE_MISCONF
    mov ebx, EPT_RWX | (2 << 3)
    call ept_set_pte
    call vmx_enter
    ept_exit_is EXIT_REASON_EPT_MISCONFIG, 0, GPA(PAGE_MISCONF) + DATA_OFFSET
    mov dword [ept_pt + PAGE_MISCONF * 8], HPA(PAGE_MISCONF) + EPT_R + EPT_W + EPT_LEAF
    mov eax, ept_pml4 + EPTP_DEFAULT
    call invept_single
    check_eq eax, 0, "INVEPT single-context: VMsucceed"
    mov dword [vmx_guest_eax], WRITE_VALUE
    call vmx_enter
    check_eq eax, EXIT_REASON_VMCALL, "PTE fixed (RW, WB): the write completes"
    check_eq dword [HPA(PAGE_MISCONF) + DATA_OFFSET], WRITE_VALUE, "in the host page"
    mov dword [HPA(PAGE_MISCONF) + DATA_OFFSET], 0
    prefix_pop
    ret

; ---------------------------------------------------------------------------------------------------- walk

; L2's CR3 at a guest-physical page EPT does not map: the first instruction fetch reads the guest PDE, a data read
; through EPT (SDM 29.3.3.2): qualification read (0) | linear valid (7), bit 8 = 0 (an access to a guest
; paging-structure entry) = 0x81; the GPA is the PDE's, the guest-linear address the one being translated (RIP).
; Mapping that GPA to L1's page directory lets L2 run.
test_paging_structure:
    prefix_push "guest paging structure"
    call ept_build
    mov eax, l2_vmcall
    mov ebx, ept_pml4 + EPTP_DEFAULT
    call vmcs_with_ept
    vmcs_write VMCS_GUEST_CR3, GPA(PAGE_PD)
    call vmx_enter
    check_eq dword [vmx_exit_reason], EXIT_REASON_EPT_VIOLATION, "exit reason"
    check_eq dword [vmx_exit_qual], EPT_QUAL_READ | EPT_QUAL_LINEAR_VALID, "exit qualification"
    vmcs_read VMCS_GUEST_PHYSICAL_ADDRESS
    check_eq eax, dword [pde_gpa], "guest-physical address (2400) = the guest PDE's"
    check_eq dword [vmx_exit_linear], l2_vmcall, "guest-linear address (640A) = the address being translated"
    check_eq dword [vmx_exit_rip], l2_vmcall, "guest RIP = L2's first instruction"
    mov dword [ept_pt + PAGE_PD * 8], vmx_page_dir + EPT_R + EPT_W + EPT_LEAF
    mov eax, ept_pml4 + EPTP_DEFAULT
    call invept_single
    call vmx_enter
    check_eq eax, EXIT_REASON_VMCALL, "GPA mapped to L1's page directory: L2 runs"
    vmcs_read VMCS_GUEST_CR3
    check_eq eax, GPA(PAGE_PD), "guest CR3 is the guest-physical address"
    ; Setting the accessed flag of a guest PDE is a write to a guest paging-structure entry (bit 8 = 0): with L2's
    ; page directory a read-only copy whose PDEs have A = 0, the walk reads the PDE and then exits on the write.
    mov esi, vmx_page_dir
    mov edi, HPA(PAGE_PD)
    mov ecx, 1024
.copy:
    lodsd
    and eax, ~0x20                      ; PDE accessed flag
    stosd
    dec ecx
    jnz .copy
    mov eax, PAGE_PD
    mov ebx, EPT_R | EPT_LEAF
    call ept_set_pte
    mov eax, l2_vmcall
    vmcs_write VMCS_GUEST_RIP, eax
    call vmx_enter
    check_eq dword [vmx_exit_reason], EXIT_REASON_EPT_VIOLATION, "read-only copy with PDE.A = 0: exit reason 48"
    check_eq dword [vmx_exit_qual], EPT_QUAL_WRITE | EPT_QUAL_READABLE | EPT_QUAL_LINEAR_VALID, "qualification: write, readable, linear valid, bit 8 = 0"
    vmcs_read VMCS_GUEST_PHYSICAL_ADDRESS
    check_eq eax, dword [pde_gpa], "guest-physical address = the guest PDE's"
    mov eax, PAGE_PD
    mov ebx, EPT_R | EPT_W | EPT_LEAF
    call ept_set_pte
    call vmx_enter
    check_eq eax, EXIT_REASON_VMCALL, "copy made writable: L2 runs"
    mov eax, [pde_gpa]
    sub eax, GPA(PAGE_PD)
    mov eax, [HPA(PAGE_PD) + eax]
    and eax, 0x20
    check_eq eax, 0x20, "and its walk set the PDE's accessed flag in the host page"
    prefix_pop
    ret

; ---------------------------------------------------------------------------------------------------- delivery
; An EPT violation while delivering an injected external interrupt (L2's stack read-only in EPT): exit 48 for the
; frame's write (write | readable | executable | linear valid | translated = 0x1AA) at the entry's RIP, with the
; event in the IDT-vectoring information (SDM 28.2.4); L1 makes the stack writable and re-injects it.
test_delivery:
    prefix_push "EPT violation during event delivery"
    mov eax, VEC_EXTERNAL
    mov ebx, l2_isr
    call l2_set_gate
    call ept_build
    mov eax, PAGE_STACK
    mov ebx, EPT_R | EPT_X | EPT_LEAF
    call ept_set_pte
    mov eax, l2_vmcall
    mov ebx, ept_pml4 + EPTP_DEFAULT
    call vmcs_with_ept
    vmcs_write VMCS_GUEST_IDTR_BASE, l2_idt
    vmcs_write VMCS_GUEST_IDTR_LIMIT, (VEC_EXTERNAL + 1) * 8 - 1
    vmcs_write VMCS_GUEST_RSP, GPA(PAGE_STACK + 1)
    vmcs_write VMCS_GUEST_RFLAGS, 0x202
    vmcs_write VMCS_ENTRY_INTR_INFO, INTR_INFO_VALID | INTR_TYPE_EXTERNAL | VEC_EXTERNAL
    call vmx_enter
    check_eq dword [vmx_exit_reason], EXIT_REASON_EPT_VIOLATION, "exit reason 48"
    check_eq dword [vmx_exit_qual], EPT_QUAL_WRITE | EPT_QUAL_READABLE | EPT_QUAL_EXECUTABLE | QUAL_LINEAR, "exit qualification"
    check_eq dword [vmx_exit_idt_vectoring], INTR_INFO_VALID | INTR_TYPE_EXTERNAL | VEC_EXTERNAL, "IDT-vectoring information: the injected interrupt"
    check_eq dword [vmx_exit_rip], l2_vmcall, "guest RIP = the entry's"
    check_eq dword [vmx_exit_rsp], GPA(PAGE_STACK + 1), "guest RSP unchanged"
    ; The frame is EFLAGS, CS, EIP below the top: which of its writes the processor reports is not specified.
    vmcs_read VMCS_GUEST_PHYSICAL_ADDRESS
    sub eax, GPA(PAGE_STACK + 1) - 12
    cmp eax, 12
    setb al
    report "guest-physical address inside the frame"
    mov eax, [vmx_exit_linear]
    sub eax, GPA(PAGE_STACK + 1) - 12
    cmp eax, 12
    setb al
    report "guest-linear address inside the frame"
    mov eax, PAGE_STACK
    mov ebx, EPT_R | EPT_W | EPT_LEAF
    call ept_set_pte
    mov eax, [vmx_exit_idt_vectoring]
    vmcs_write VMCS_ENTRY_INTR_INFO, eax
    call vmx_enter
    check_eq eax, EXIT_REASON_VMCALL, "stack writable, event re-injected: L2's handler runs"
    check_eq dword [vmx_exit_rip], l2_isr, "at its VMCALL"
    check_eq dword [HPA(PAGE_STACK + 1) - 12], l2_vmcall, "the frame's EIP in the host page"
    check_eq dword [HPA(PAGE_STACK + 1) - 4], 0x202, "the frame's EFLAGS"
    prefix_pop
    ret

l2_isr:
    vmcall
    jmp l2_isr

; An EPT violation on IRET's read of its frame, with virtual-NMI blocking: the IRET has already ended the blocking
; when the VM exit saves the interruptibility state (SDM 28.1), and qualification bit 12 reports it (28.2.3).
test_iret:
    prefix_push "IRET of an NMI handler"
    mov ebx, PIN_NMI_EXITING | PIN_VIRTUAL_NMIS
    mov eax, VMCS_PIN_CONTROLS
    call vmx_ctl_allowed1
    jnc .supported
    report_skip "virtual NMIs not supported"
    jmp .done
.supported:
    mov eax, 2
    mov ebx, l2_nmi_iret
    call l2_set_gate
    call ept_build
    mov eax, l2_vmcall
    mov ebx, ept_pml4 + EPTP_DEFAULT
    call vmcs_with_ept
    vmcs_write VMCS_GUEST_IDTR_BASE, l2_idt
    vmcs_write VMCS_GUEST_IDTR_LIMIT, (VEC_EXTERNAL + 1) * 8 - 1
    vmcs_set_bits VMCS_PIN_CONTROLS, PIN_NMI_EXITING | PIN_VIRTUAL_NMIS
    vmcs_write VMCS_ENTRY_INTR_INFO, INTR_INFO_VALID | INTR_TYPE_NMI | 2
    call vmx_enter
    ept_exit_is EXIT_REASON_EPT_VIOLATION, EPT_QUAL_NMI_UNBLOCK | EPT_QUAL_READ | QUAL_LINEAR, GPA(PAGE_NP)
    check_eq dword [vmx_exit_rip], l2_nmi_iret.iret, "guest RIP = the IRET"
    vmcs_read VMCS_GUEST_INTERRUPTIBILITY
    check_eq eax, 0, "virtual-NMI blocking already cleared"
.done:
    prefix_pop
    ret

l2_nmi_iret:
    mov esp, GPA(PAGE_NP)           ; the frame IRET reads: on a page EPT does not map
.iret:
    iret

; ---------------------------------------------------------------------------------------------------- INVEPT
; INVEPT (SDM 31.3): types 1 (single-context, descriptor = EPTP in bits 63:0, bits 127:64 reserved) and 2
; (all-context) succeed; another type, or single-context with an EPTP that VM entry would reject, is VMfailValid 28.
test_invept:
    prefix_push "INVEPT"
    mov eax, l2_vmcall
    mov ebx, ept_pml4 + EPTP_DEFAULT
    call vmcs_with_ept                  ; a current VMCS: VMfailValid, not VMfailInvalid
    mov eax, ept_pml4 + EPTP_DEFAULT
    call invept_single
    check_eq eax, 0, "type 1 (single-context): VMsucceed"
    mov eax, INVEPT_ALL_CONTEXT
    invept eax, [invept_desc]
    vmx_result
    check_eq eax, 0, "type 2 (all-context): VMsucceed"
    mov eax, 0
    invept eax, [invept_desc]
    vmx_result
    check_eq eax, EFLAGS_ZF, "type 0: VMfailValid"
    vmx_error
    check_eq eax, VMXERR_INVALID_INVEPT, "VM-instruction error 28"
    mov eax, 3
    invept eax, [invept_desc]
    vmx_result
    check_eq eax, EFLAGS_ZF, "type 3: VMfailValid"
    vmx_error
    check_eq eax, VMXERR_INVALID_INVEPT, "VM-instruction error 28"
    mov eax, ept_pml4 + 1 + EPTP_WALK_4
    call invept_single
    check_eq eax, EFLAGS_ZF, "type 1 with EPTP memory type 1: VMfailValid"
    vmx_error
    check_eq eax, VMXERR_INVALID_INVEPT, "VM-instruction error 28"
    prefix_pop
    ret

; ---------------------------------------------------------------------------------------------------- A/D flags
; run_read_write: EBX = EPTP: L2 reads, then writes, the PAGE_AD test page (RWX) of fresh tables; ESI = the PTE's
; A/D bits after the read, EDI after the write.
run_read_write:
    call ept_build
    mov eax, PAGE_AD
    push ebx
    mov ebx, EPT_RWX | EPT_LEAF
    call ept_set_pte
    pop ebx
    mov eax, l2_read_write
    call vmcs_with_ept
    mov dword [vmx_guest_edi], GPA(PAGE_AD) + DATA_OFFSET
    call vmx_enter
    check_eq eax, EXIT_REASON_VMCALL, "L2 read the page"
    mov esi, [ept_pt + PAGE_AD * 8]
    and esi, EPT_ACCESSED | EPT_DIRTY
    call vmx_skip_instruction
    call vmx_enter
    check_eq eax, EXIT_REASON_VMCALL, "L2 wrote the page"
    mov edi, [ept_pt + PAGE_AD * 8]
    and edi, EPT_ACCESSED | EPT_DIRTY
    ret

; Without EPTP[6] the processor does not touch the accessed and dirty flags (SDM 29.3.5).
test_no_ad:
    prefix_push "EPTP[6] = 0"
    mov ebx, ept_pml4 + EPTP_DEFAULT
    call run_read_write
    check_eq esi, 0, "after the read: PTE accessed and dirty clear"
    check_eq edi, 0, "after the write: still clear"
    mov eax, [ept_pd + (TEST_GPA >> 21) * 8]
    and eax, EPT_ACCESSED
    check_eq eax, 0, "PDE: accessed clear"
    prefix_pop
    ret

; With EPTP[6] (IA32_VMX_EPT_VPID_CAP[21]) every entry used gets accessed (bit 8), the leaf of a write dirty (9);
; accesses to guest paging structures count as writes, so the 2 MiB page holding L2's page directory is dirty.
test_ad:
    prefix_push "EPTP[6] = 1"
    mov ecx, MSR_IA32_VMX_EPT_VPID_CAP
    rdmsr
    test eax, EPT_VPID_CAP_AD
    jnz .supported
    report_skip "no accessed and dirty flags for EPT"
    jmp .done
.supported:
    mov ebx, ept_pml4 + EPTP_DEFAULT + EPTP_AD
    call run_read_write
    check_eq esi, EPT_ACCESSED, "after the read: PTE accessed, not dirty"
    check_eq edi, EPT_ACCESSED | EPT_DIRTY, "after the write: PTE accessed and dirty"
    mov eax, [ept_pd + (TEST_GPA >> 21) * 8]
    and eax, EPT_ACCESSED
    check_eq eax, EPT_ACCESSED, "PDE pointing to the page table: accessed"
    mov eax, [ept_pdpt]
    and eax, EPT_ACCESSED
    check_eq eax, EPT_ACCESSED, "PDPTE: accessed"
    mov eax, [ept_pml4]
    and eax, EPT_ACCESSED
    check_eq eax, EPT_ACCESSED, "PML4E: accessed"
    mov eax, vmx_page_dir
    shr eax, 21
    mov eax, [ept_pd + eax * 8]
    and eax, EPT_ACCESSED | EPT_DIRTY
    check_eq eax, EPT_ACCESSED | EPT_DIRTY, "2 MiB page holding L2's page directory: accessed and dirty"
    mov eax, [ept_pd + (IDENTITY_PAGES - 1) * 8]
    and eax, EPT_ACCESSED | EPT_DIRTY
    check_eq eax, 0, "a 2 MiB page L2 did not touch (14-16 MiB): accessed and dirty clear"
    ; With A/D on, accesses to guest paging structures need W: L2's page directory mapped read-only stops the
    ; first fetch's walk with both bits 0 and 1 set (SDM table 28-7, note): read | write | readable | linear valid.
    call ept_build
    mov dword [ept_pt + PAGE_PD * 8], vmx_page_dir + EPT_R + EPT_LEAF
    call ept_invalidate
    mov eax, l2_vmcall
    mov ebx, ept_pml4 + EPTP_DEFAULT + EPTP_AD
    call vmcs_with_ept
    vmcs_write VMCS_GUEST_CR3, GPA(PAGE_PD)
    call vmx_enter
    check_eq dword [vmx_exit_reason], EXIT_REASON_EPT_VIOLATION, "read-only guest page directory: exit reason 48"
    check_eq dword [vmx_exit_qual], EPT_QUAL_READ | EPT_QUAL_WRITE | EPT_QUAL_READABLE | EPT_QUAL_LINEAR_VALID, "qualification: read and write, readable, linear valid, bit 8 = 0"
    vmcs_read VMCS_GUEST_PHYSICAL_ADDRESS
    check_eq eax, dword [pde_gpa], "guest-physical address = the guest PDE's"
.done:
    prefix_pop
    ret

; ---------------------------------------------------------------------------------------------------- EPTP
; VM entry checks the EPT pointer (SDM 27.2.1.1): memory type UC (0) or WB (6) as IA32_VMX_EPT_VPID_CAP reports,
; page-walk length - 1 (bits 5:3) = 3; otherwise VMfailValid 7.
; bad_eptp EPTP, "what": VMLAUNCH with that EPTP fails with VMfailValid 7 (two PASS lines).
%macro bad_eptp 2
    mov eax, l2_vmcall
    mov ebx, %1
    call vmcs_with_ept
    call vmx_enter
    check_eq eax, VMX_ENTRY_VMFAIL, %2
    check_eq dword [vmx_vmfail_flags], EFLAGS_ZF, "VMfailValid"
    check_eq dword [vmx_vmfail_error], VMXERR_ENTRY_BAD_CONTROLS, "VM-instruction error 7"
%endmacro

test_bad_eptp:
    prefix_push "EPT pointer"
    call ept_build
    bad_eptp ept_pml4 + 1 + EPTP_WALK_4, "memory type 1 (WC): VMLAUNCH fails"
    bad_eptp ept_pml4 + EPTP_MEMTYPE_WB + (2 << 3), "page-walk length 3 (bits 5:3 = 2): VMLAUNCH fails"
    bad_eptp ept_pml4 + EPTP_MEMTYPE_WB + (7 << 3), "page-walk length 8 (bits 5:3 = 7): VMLAUNCH fails"
    mov ecx, MSR_IA32_VMX_EPT_VPID_CAP
    rdmsr
    test eax, 1 << 8
    jz .no_uc
    mov eax, l2_vmcall
    mov ebx, ept_pml4 + EPTP_MEMTYPE_UC + EPTP_WALK_4
    call vmcs_with_ept
    call vmx_enter
    check_eq eax, EXIT_REASON_VMCALL, "memory type UC, walk length 4: L2 runs"
    jmp .done
.no_uc:
    report_skip "UC EPT paging structures not supported"
.done:
    prefix_pop
    ret

    align 8
l2_idt:             times VEC_EXTERNAL + 1 dq 0
    align 16
invept_desc:        dd 0, 0, 0, 0       ; EPTP (63:0), reserved (127:64)
; The GPA of the guest PDE translating l2_vmcall when L2's CR3 is GPA(PAGE_PD): main adds the PDE index * 4
; (NASM cannot shift a label).
pde_gpa:            dd GPA(PAGE_PD)

%include "../lib/image-end.inc"
%include "../lib/vmx-bss.inc"

    alignb 4096
ept_pml4:           resb 4096
ept_pdpt:           resb 4096
ept_pd:             resb 4096
ept_pt:             resb 4096           ; GPA TEST_GPA .. TEST_GPA + 2 MiB
ept_pages:          resb 4096 * TEST_PAGES

%include "../lib/bss-end.inc"
