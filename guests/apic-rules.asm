; guests/apic-rules.asm: the local APIC's interrupt rules as software sees them through the x2APIC MSRs:
; TPR/PPR and priority classes, delivery in priority order, nesting, EOI of the highest in-service vector,
; merging of a repeated vector, illegal vectors (< 16) and ESR, the LVT error interrupt, SELF IPI and ICR
; self-IPIs, and #GP on reserved, read-only and write-only MSR accesses and on bad IA32_APIC_BASE transitions.
; Leaves the timer to apic-timer.asm.
;
; SDM Vol. 3 11.8.3.1 (TPR/PPR), 11.8.4 (acceptance), 11.8.5 (EOI), 11.5.3 (ESR), 11.12.1.2 and 11.12.1.3
; (x2APIC MSR #GP rules), 11.12.5 (mode transitions); vmx.md sections 9.1-9.5. Needs x2APIC, so exitless
; only (QEMU 7.2 TCG has no x2APIC; not in manifest.json).
;
; Every interrupt goes through one logging handler: it appends the vector at entry and vector | 0x100 at exit,
; so the log shows both the order of deliveries and their nesting, and it records PPR at entry.

bits 32
org 0x100000                        ; KERNEL_LOAD_ADDR (lib/multiboot.inc)

%include "lib/multiboot.inc"
%include "lib/serial.inc"
%include "lib/exit.inc"
%include "lib/report.inc"
%include "lib/start.inc"

IA32_APIC_BASE      equ 0x1B
X2APIC_ID           equ 0x802
X2APIC_VERSION      equ 0x803
X2APIC_TPR          equ 0x808
X2APIC_APR          equ 0x809           ; not in x2APIC mode
X2APIC_PPR          equ 0x80A
X2APIC_EOI          equ 0x80B
X2APIC_RRD          equ 0x80C           ; not in x2APIC mode
X2APIC_LDR          equ 0x80D
X2APIC_DFR          equ 0x80E           ; not in x2APIC mode
X2APIC_SVR          equ 0x80F
X2APIC_ISR0         equ 0x810
X2APIC_IRR0         equ 0x820
X2APIC_ESR          equ 0x828
X2APIC_ICR          equ 0x830
X2APIC_ICR_HI       equ 0x831           ; not in x2APIC mode (ICR is one 64-bit MSR)
X2APIC_LVT_TIMER    equ 0x832
X2APIC_LVT_ERROR    equ 0x837
X2APIC_INIT_COUNT   equ 0x838
X2APIC_CUR_COUNT    equ 0x839
X2APIC_DIV_CONF     equ 0x83E
X2APIC_SELF_IPI     equ 0x83F

LVT_MASKED          equ 1 << 16
ESR_SEND_ILLEGAL    equ 1 << 5
ESR_RECV_ILLEGAL    equ 1 << 6
ICR_SELF            equ 1 << 18         ; destination shorthand 01 = self
EXIT_MARK           equ 0x100           ; log entry for a handler's exit: vector | 0x100
LOG_MAX             equ 32
ERROR_VEC           equ 0xE0

; A stub per vector this guest uses: pushes the vector and joins the logging handler.
%macro irq_stub 1
irq_stub_%1:
    push %1
    jmp irq_common
%endmacro

; rdmsr_gp MSR, "msg": RDMSR must raise #GP(0).
%macro rdmsr_gp 2
    mov ecx, %1
    expect_exception VEC_GP, %%resume
    rdmsr
%%resume:
    expect_done
    check_eq dword [exc_vector], VEC_GP, %2
%endmacro

; wrmsr_gp MSR, lo, hi, "msg": WRMSR must raise #GP(0).
%macro wrmsr_gp 4
    mov ecx, %1
    mov eax, %2
    mov edx, %3
    expect_exception VEC_GP, %%resume
    wrmsr
%%resume:
    expect_done
    check_eq dword [exc_vector], VEC_GP, %4
%endmacro

; self_ipi VECTOR: WRMSR SELF_IPI (fixed, edge, to self).
%macro self_ipi 1
    mov ecx, X2APIC_SELF_IPI
    mov eax, %1
    xor edx, edx
    wrmsr
%endmacro

; check_log EXPECTED, "msg": the log equals the dword list at EXPECTED (count first); prints it if not.
%macro check_log 2
    push esi
    mov esi, %1
    call log_matches
    pop esi
    report %2
    test al, al
    jnz %%ok
    call log_print
%%ok:
%endmacro

main:
    call install_stubs
    call test_msr_before_x2apic
    call x2apic_enable
    call test_registers
    call test_msr_gp
    call test_self_ipi
    call test_tpr
    call test_order
    call test_nesting
    call test_eoi
    call test_illegal
    call test_apic_base
    ret

; ---------------------------------------------------------------------------------------------------- helpers

install_stubs:
    pushad
    mov esi, stub_table
.next:
    mov eax, [esi]
    test eax, eax
    jz .done
    mov ebx, [esi + 4]
    mov ecx, IDT_INT_GATE
    call idt_set_gate
    add esi, 8
    jmp .next
.done:
    popad
    ret

x2apic_enable:
    pushad
    mov ecx, IA32_APIC_BASE
    rdmsr
    or eax, 0xC00
    wrmsr
    mov ecx, X2APIC_SVR
    mov eax, 0x1FF
    xor edx, edx
    wrmsr
    popad
    ret

; rdmsr32: ECX = MSR -> EAX (low dword). Preserves the others.
rdmsr32:
    push edx
    rdmsr
    pop edx
    ret

; wrmsr32: ECX = MSR, EAX = low dword, high dword 0. Preserves all.
wrmsr32:
    push edx
    xor edx, edx
    wrmsr
    pop edx
    ret

; eoi: one EOI write. Preserves all.
eoi:
    push eax
    push ecx
    mov ecx, X2APIC_EOI
    mov eax, 0
    call wrmsr32
    pop ecx
    pop eax
    ret

; esr_latch: ESR write 0 (latches the errors since the previous write) then read -> EAX.
esr_latch:
    push ecx
    mov ecx, X2APIC_ESR
    mov eax, 0
    call wrmsr32
    call rdmsr32
    pop ecx
    ret

; isr_bit: EAX = vector -> EAX = 1 if the vector is in service, else 0. Same with irr_bit for IRR.
isr_bit:
    push ecx
    mov ecx, X2APIC_ISR0
    jmp vector_bit
irr_bit:
    push ecx
    mov ecx, X2APIC_IRR0
vector_bit:                             ; ECX pushed by the caller's entry; ECX = first MSR of the bank
    push edx
    push ebx
    mov ebx, eax
    shr eax, 5
    add ecx, eax                        ; bank MSR = base + vector / 32
    rdmsr
    mov ecx, ebx
    and ecx, 31
    shr eax, cl
    and eax, 1
    pop ebx
    pop edx
    pop ecx
    ret

log_reset:
    mov dword [log_len], 0
    ret

; The logging handler: [esp] = vector (pushed by the stub). Appends the vector and PPR at entry; runs the
; hook if one is armed for this vector; EOIs unless [no_eoi] is set; appends vector | EXIT_MARK at exit.
irq_common:
    pushad
    mov ebx, [esp + 32]                 ; vector
    mov eax, ebx
    call log_append
    mov ecx, X2APIC_PPR
    call rdmsr32
    mov edx, [log_len]
    mov [ppr_log + edx * 4 - 4], eax    ; PPR seen at this entry
    cmp ebx, [hook_vector]
    jne .no_hook
    mov dword [hook_vector], 0          ; one shot
    call [hook_routine]
.no_hook:
    cmp dword [no_eoi], 0
    jne .skip_eoi
    call eoi
.skip_eoi:
    mov eax, ebx
    or eax, EXIT_MARK
    call log_append
    popad
    add esp, 4
    iretd

; log_append: EAX = entry. Preserves all.
log_append:
    push edx
    mov edx, [log_len]
    cmp edx, LOG_MAX
    jae .full
    mov [log + edx * 4], eax
    inc dword [log_len]
.full:
    pop edx
    ret

; log_matches: ESI = expected list (dword count, then entries) -> AL = 1 if the log equals it.
log_matches:
    push ecx
    push edx
    push esi
    mov al, 0
    mov ecx, [esi]
    cmp ecx, [log_len]
    jne .done
    add esi, 4
    mov edx, 0
.next:
    cmp edx, ecx
    jae .equal
    push eax
    mov eax, [esi + edx * 4]
    cmp eax, [log + edx * 4]
    pop eax
    jne .done
    inc edx
    jmp .next
.equal:
    mov al, 1
.done:
    pop esi
    pop edx
    pop ecx
    ret

; log_print: "INFO: <prefixes>log: v v v ... (expected: e e e)" with ESI = the expected list.
log_print:
    pushad
    mov ebp, esi
    mov esi, report_str_info
    call puts
    call report_put_prefixes
    mov esi, str_log
    call puts
    mov ebx, 0
.next:
    cmp ebx, [log_len]
    jae .expected
    mov al, ' '
    call putc
    mov eax, [log + ebx * 4]
    call puthex32
    inc ebx
    jmp .next
.expected:
    mov esi, str_expected
    call puts
    mov ecx, [ebp]
    mov ebx, 0
.next_expected:
    cmp ebx, ecx
    jae .close
    mov al, ' '
    call putc
    mov eax, [ebp + 4 + ebx * 4]
    call puthex32
    inc ebx
    jmp .next_expected
.close:
    mov al, ')'
    call putc
    call report_newline
    popad
    ret

; ---------------------------------------------------------------------------------------------------- xAPIC mode

test_msr_before_x2apic:
    prefix_push "xAPIC mode"
    rdmsr_gp X2APIC_ID, "RDMSR of an x2APIC MSR (0x802) while in xAPIC mode: #GP"
    wrmsr_gp X2APIC_TPR, 0, 0, "WRMSR of an x2APIC MSR (0x808) while in xAPIC mode: #GP"
    check_eq dword [exc_error], 0, "#GP error code 0"
    prefix_pop
    ret

; ---------------------------------------------------------------------------------------------------- registers

test_registers:
    prefix_push "registers"
    mov ecx, X2APIC_ID
    call rdmsr32
    check_eq eax, 0, "x2APIC ID of the BSP is 0"
    mov ecx, X2APIC_VERSION
    call rdmsr32
    and eax, 0xFF
    check_eq eax, 0x14, "version 0x14 (integrated APIC)"
    mov ecx, X2APIC_LDR
    call rdmsr32
    check_eq eax, 1, "LDR = cluster 0, bit (ID & 15) = 0x00000001"
    mov ecx, X2APIC_TPR
    mov eax, 0x35
    call wrmsr32
    call rdmsr32
    check_eq eax, 0x35, "TPR reads back 0x35"
    mov ecx, X2APIC_PPR
    call rdmsr32
    check_eq eax, 0x35, "PPR = TPR when nothing is in service"
    mov ecx, X2APIC_TPR
    mov eax, 0
    call wrmsr32
    mov ecx, X2APIC_PPR
    call rdmsr32
    check_eq eax, 0, "PPR = 0 with TPR 0 and nothing in service"
    mov ecx, X2APIC_SVR
    call rdmsr32
    check_eq eax, 0x1FF, "SVR reads back (enabled, spurious vector 0xFF)"
    prefix_pop
    ret

; ---------------------------------------------------------------------------------------------------- MSR #GP

test_msr_gp:
    prefix_push "MSR #GP"
    ; Write-only registers.
    rdmsr_gp X2APIC_EOI, "RDMSR EOI (0x80B, write-only)"
    rdmsr_gp X2APIC_SELF_IPI, "RDMSR SELF IPI (0x83F, write-only)"
    ; Read-only registers.
    wrmsr_gp X2APIC_ID, 0, 0, "WRMSR APIC ID (0x802, read-only)"
    wrmsr_gp X2APIC_VERSION, 0, 0, "WRMSR version (0x803, read-only)"
    wrmsr_gp X2APIC_PPR, 0, 0, "WRMSR PPR (0x80A, read-only)"
    wrmsr_gp X2APIC_LDR, 0, 0, "WRMSR LDR (0x80D, read-only in x2APIC mode)"
    wrmsr_gp X2APIC_ISR0, 0, 0, "WRMSR ISR (0x810, read-only)"
    wrmsr_gp X2APIC_IRR0 + 7, 0, 0, "WRMSR IRR (0x827, read-only)"
    wrmsr_gp X2APIC_CUR_COUNT, 0, 0, "WRMSR current count (0x839, read-only)"
    ; Registers that do not exist in x2APIC mode.
    rdmsr_gp X2APIC_APR, "RDMSR APR (0x809, none in x2APIC)"
    rdmsr_gp X2APIC_RRD, "RDMSR RRD (0x80C, none in x2APIC)"
    rdmsr_gp X2APIC_DFR, "RDMSR DFR (0x80E, none in x2APIC)"
    rdmsr_gp X2APIC_ICR_HI, "RDMSR ICR high (0x831, none in x2APIC)"
    wrmsr_gp X2APIC_ICR_HI, 0, 0, "WRMSR ICR high (0x831, none in x2APIC)"
    rdmsr_gp 0x801, "RDMSR 0x801 (reserved)"
    rdmsr_gp 0x840, "RDMSR 0x840 (reserved)"
    rdmsr_gp 0x8FF, "RDMSR 0x8FF (reserved)"
    ; Reserved bits.
    wrmsr_gp X2APIC_TPR, 0x100, 0, "WRMSR TPR with bit 8 set (bits 31:8 reserved)"
    wrmsr_gp X2APIC_TPR, 0x10, 1, "WRMSR TPR with bit 32 set (bits 63:32 reserved)"
    wrmsr_gp X2APIC_EOI, 1, 0, "WRMSR EOI with a non-zero value"
    wrmsr_gp X2APIC_ESR, 1, 0, "WRMSR ESR with a non-zero value"
    wrmsr_gp X2APIC_SELF_IPI, 0x140, 0, "WRMSR SELF IPI with bit 8 set (bits 31:8 reserved)"
    check_eq dword [exc_error], 0, "#GP error code 0"
    ; Controls: the same registers accessed legally raise nothing.
    expect_exception VEC_GP, .legal_gp
    mov ecx, X2APIC_TPR
    rdmsr
    xor eax, eax
    xor edx, edx
    wrmsr
    mov ecx, X2APIC_PPR
    rdmsr
    mov ecx, X2APIC_ESR
    xor eax, eax
    wrmsr
    mov ecx, X2APIC_ICR
    rdmsr
.legal_gp:
    expect_done
    check_eq dword [exc_vector], EXC_NONE, "legal accesses to TPR, PPR, ESR, ICR raise nothing"
    prefix_pop
    ret

; ---------------------------------------------------------------------------------------------------- SELF IPI

test_self_ipi:
    prefix_push "SELF IPI"
    cli
    call log_reset
    self_ipi 0x40
    mov eax, 0x40
    call irr_bit
    check_eq eax, 1, "SELF IPI sets IRR while IF = 0"
    self_ipi 0x40                       ; a second one merges with the first (one IRR bit per vector)
    sti
    nop
    cli
    check_log exp_one_40, "delivered once at STI (two sends merged in IRR)"
    mov eax, 0x40
    call irr_bit
    check_eq eax, 0, "IRR clear after delivery"
    mov eax, 0x40
    call isr_bit
    check_eq eax, 0, "ISR clear after the handler's EOI"
    check_eq dword [ppr_log], 0x40, "PPR inside the handler = the in-service vector's class (0x40)"

    ; ICR with the self shorthand, fixed, edge: the same delivery.
    call log_reset
    mov ecx, X2APIC_ICR
    mov eax, ICR_SELF | 0x50
    xor edx, edx
    wrmsr
    sti
    nop
    cli
    check_log exp_one_50, "ICR shorthand self, vector 0x50, delivered"
    mov ecx, X2APIC_ICR
    rdmsr
    check_eq eax, ICR_SELF | 0x50, "ICR reads back (delivery status idle)"
    ; ICR physical destination 0 (this APIC), no shorthand.
    call log_reset
    mov ecx, X2APIC_ICR
    mov eax, 0x61
    xor edx, edx                        ; destination x2APIC ID 0 in bits 63:32
    wrmsr
    sti
    nop
    cli
    check_log exp_one_61, "ICR physical destination 0 (own ID), vector 0x61, delivered"
    prefix_pop
    ret

; ---------------------------------------------------------------------------------------------------- TPR

test_tpr:
    prefix_push "TPR"
    call log_reset
    mov ecx, X2APIC_TPR
    mov eax, 0x50
    call wrmsr32
    sti
    self_ipi 0x45                       ; class 4 <= TPR class 5: waits
    nop
    self_ipi 0x50                       ; class 5 == TPR class 5: waits too (needs a strictly higher class)
    nop
    check_eq dword [log_len], 0, "vectors 0x45 and 0x50 wait while TPR = 0x50 (IF = 1)"
    mov eax, 0x45
    call irr_bit
    mov ebx, eax
    mov eax, 0x50
    call irr_bit
    and eax, ebx
    check_eq eax, 1, "both stay pending in IRR"
    mov ecx, X2APIC_PPR
    call rdmsr32
    check_eq eax, 0x50, "PPR = TPR = 0x50"
    self_ipi 0x61                       ; class 6 > 5: delivered at once
    nop
    check_log exp_tpr_61, "vector 0x61 (class 6) is delivered at once"
    check_eq dword [ppr_log], 0x60, "PPR inside the 0x61 handler = 0x60 (ISR class above TPR)"
    mov ecx, X2APIC_TPR
    mov eax, 0x4F
    call wrmsr32                        ; class 4: 0x50 is now above it, 0x45 is not
    nop
    check_log exp_tpr_50, "lowering TPR to 0x4F releases 0x50, 0x45 still waits"
    check_eq dword [ppr_log + 8], 0x50, "PPR inside the 0x50 handler = 0x50"
    mov ecx, X2APIC_TPR
    mov eax, 0
    call wrmsr32
    nop
    check_log exp_tpr_45, "TPR 0 releases 0x45"
    ; Raising TPR again holds a new interrupt back; the release happens on the lowering write.
    call log_reset
    mov ecx, X2APIC_TPR
    mov eax, 0xF0
    call wrmsr32
    self_ipi 0xE0
    nop
    check_eq dword [log_len], 0, "TPR 0xF0 holds back vector 0xE0"
    mov ecx, X2APIC_TPR
    mov eax, 0xDF
    call wrmsr32
    nop
    check_log exp_one_e0, "TPR 0xDF releases 0xE0"
    cli
    mov ecx, X2APIC_TPR
    mov eax, 0
    call wrmsr32
    prefix_pop
    ret

; ---------------------------------------------------------------------------------------------------- order

test_order:
    prefix_push "priority order"
    cli
    call log_reset
    self_ipi 0x42
    self_ipi 0x82
    self_ipi 0x62
    self_ipi 0x45                       ; same class as 0x42: within a class the higher vector goes first
    sti
    nop
    cli
    check_log exp_order, "four pending vectors delivered highest first: 0x82, 0x62, 0x45, 0x42"
    prefix_pop
    ret

; ---------------------------------------------------------------------------------------------------- nesting

; While 0x40 is in service with IF = 1 (the hook does STI), a higher-class vector interrupts the handler,
; a lower one waits until the handler's EOI and IRET.
test_nesting:
    prefix_push "nesting"
    cli
    call log_reset
    mov dword [hook_vector], 0x40
    mov dword [hook_routine], hook_send_70
    self_ipi 0x40
    sti
    nop
    cli
    check_log exp_nest_70, "0x70 sent inside the 0x40 handler nests inside it"
    check_eq dword [ppr_log + 4], 0x70, "PPR inside the nested 0x70 handler = 0x70"

    call log_reset
    mov dword [hook_vector], 0x40
    mov dword [hook_routine], hook_send_30
    self_ipi 0x40
    sti
    nop
    cli
    check_log exp_nest_30, "0x30 sent inside the 0x40 handler waits for its EOI"

    call log_reset
    mov dword [hook_vector], 0x40
    mov dword [hook_routine], hook_send_4f
    self_ipi 0x40
    sti
    nop
    cli
    check_log exp_nest_4f, "0x4F (same class as 0x40) sent inside the 0x40 handler waits for its EOI"
    prefix_pop
    ret

hook_send_70:
    sti
    self_ipi 0x70
    nop
    cli
    ret

hook_send_30:
    sti
    self_ipi 0x30
    nop
    nop
    cli
    ret

hook_send_4f:
    sti
    self_ipi 0x4F
    nop
    nop
    cli
    ret

; ---------------------------------------------------------------------------------------------------- EOI

test_eoi:
    prefix_push "EOI"
    cli
    call log_reset
    mov dword [no_eoi], 1               ; handlers leave their vector in service
    sti
    self_ipi 0x40
    nop
    mov eax, 0x40
    call isr_bit
    check_eq eax, 1, "0x40 in service (handler did not EOI)"
    mov ecx, X2APIC_PPR
    call rdmsr32
    check_eq eax, 0x40, "PPR = 0x40 while 0x40 is in service"
    self_ipi 0x40                       ; same vector while in service: pending, not delivered
    nop
    self_ipi 0x30                       ; lower class: pending
    nop
    self_ipi 0x70                       ; higher class: delivered, also left in service
    nop
    check_log exp_eoi_1, "0x40 again and 0x30 wait, 0x70 is delivered"
    mov eax, 0x40
    call irr_bit
    check_eq eax, 1, "0x40 pending in IRR while also in service"
    mov eax, 0x70
    call isr_bit
    mov ebx, eax
    mov eax, 0x40
    call isr_bit
    and eax, ebx
    check_eq eax, 1, "0x40 and 0x70 both in service"
    mov ecx, X2APIC_PPR
    call rdmsr32
    check_eq eax, 0x70, "PPR = 0x70"

    call eoi                            ; retires the highest in service: 0x70
    nop
    mov eax, 0x70
    call isr_bit
    check_eq eax, 0, "EOI cleared 0x70 (the highest in service)"
    mov eax, 0x40
    call isr_bit
    check_eq eax, 1, "0x40 still in service after the first EOI"
    mov ecx, X2APIC_PPR
    call rdmsr32
    check_eq eax, 0x40, "PPR back to 0x40"
    check_log exp_eoi_1, "nothing delivered by the first EOI (pending 0x40 and 0x30 do not beat 0x40)"

    call log_reset
    mov dword [no_eoi], 0               ; from here on handlers EOI again
    call eoi                            ; retires 0x40: the pending 0x40 and then 0x30 are delivered
    nop
    check_log exp_eoi_2, "second EOI retires 0x40; pending 0x40 then 0x30 are delivered"
    cli
    mov eax, 0x40
    call isr_bit
    mov ebx, eax
    mov eax, 0x30
    call isr_bit
    or eax, ebx
    check_eq eax, 0, "nothing left in service"
    ; An EOI with nothing in service changes nothing (and raises nothing).
    call eoi
    mov ecx, X2APIC_PPR
    call rdmsr32
    check_eq eax, 0, "PPR 0 after an EOI with an empty ISR"
    prefix_pop
    ret

; ---------------------------------------------------------------------------------------------------- illegal

test_illegal:
    prefix_push "illegal vectors"
    cli
    call esr_latch
    check_eq eax, 0, "ESR clear before the checks"
    call log_reset
    sti
    self_ipi 5                          ; vector < 16: illegal
    nop
    nop
    cli
    check_eq dword [log_len], 0, "SELF IPI vector 5 is not delivered"
    mov ecx, X2APIC_IRR0
    call rdmsr32
    check_eq eax, 0, "IRR bits 31:0 stay clear"
    call esr_latch
    and eax, ESR_SEND_ILLEGAL
    check_eq eax, ESR_SEND_ILLEGAL, "ESR bit 5 (send illegal vector) after SELF IPI vector 5"
    call esr_latch
    check_eq eax, 0, "ESR reads 0 after the next write (no new errors)"

    mov ecx, X2APIC_ICR
    mov eax, ICR_SELF | 3
    xor edx, edx
    sti
    wrmsr
    nop
    nop
    cli
    check_eq dword [log_len], 0, "ICR self vector 3 is not delivered"
    call esr_latch
    and eax, ESR_SEND_ILLEGAL
    check_eq eax, ESR_SEND_ILLEGAL, "ESR bit 5 after ICR vector 3"

    ; An LVT entry with an illegal vector: the timer fires vector 8 -> "receive illegal vector".
    mov ecx, X2APIC_DIV_CONF
    mov eax, 0xB                        ; divide by 1
    call wrmsr32
    mov ecx, X2APIC_LVT_TIMER
    mov eax, 8                          ; one-shot, unmasked, vector 8
    call wrmsr32
    mov ecx, X2APIC_INIT_COUNT
    mov eax, 100
    call wrmsr32
    sti
    mov ecx, 1000
.spin:
    dec ecx
    jnz .spin
    cli
    mov ecx, X2APIC_CUR_COUNT
    call rdmsr32
    check_eq eax, 0, "the timer ran out"
    check_eq dword [log_len], 0, "LVT timer vector 8 is not delivered"
    call esr_latch
    and eax, ESR_RECV_ILLEGAL
    check_eq eax, ESR_RECV_ILLEGAL, "ESR bit 6 (receive illegal vector) after the timer fired vector 8"
    mov ecx, X2APIC_LVT_TIMER
    mov eax, LVT_MASKED
    call wrmsr32

    ; The LVT error entry: an APIC error raises its interrupt.
    call esr_latch
    call log_reset
    mov ecx, X2APIC_LVT_ERROR
    mov eax, ERROR_VEC
    call wrmsr32
    sti
    self_ipi 7
    nop
    cli
    check_log exp_one_e0, "illegal SELF IPI with LVT error unmasked: error interrupt 0xE0"
    call esr_latch
    and eax, ESR_SEND_ILLEGAL
    check_eq eax, ESR_SEND_ILLEGAL, "and ESR bit 5"
    mov ecx, X2APIC_LVT_ERROR
    mov eax, LVT_MASKED | ERROR_VEC
    call wrmsr32
    prefix_pop
    ret

; ---------------------------------------------------------------------------------------------------- IA32_APIC_BASE

test_apic_base:
    prefix_push "IA32_APIC_BASE"
    cli
    mov ecx, IA32_APIC_BASE
    rdmsr
    mov [apic_base_x2], eax
    and eax, 0xFFFFFD00
    check_eq eax, 0xFEE00D00, "x2APIC mode: base FEE00000, EN, EXTD, BSP"
    mov eax, [apic_base_x2]
    and eax, ~0x400                     ; EXTD 0, EN 1: x2APIC -> xAPIC directly is illegal
    wrmsr_gp IA32_APIC_BASE, eax, 0, "x2APIC -> xAPIC directly: #GP"
    mov eax, [apic_base_x2]
    and eax, ~0x800                     ; EN 0, EXTD 1: the invalid state
    wrmsr_gp IA32_APIC_BASE, eax, 0, "EN = 0 with EXTD = 1: #GP"
    mov eax, [apic_base_x2]
    or eax, 0x200                       ; bit 9 is reserved
    wrmsr_gp IA32_APIC_BASE, eax, 0, "reserved bit 9: #GP"
    ; Legal path: x2APIC -> disabled -> xAPIC -> x2APIC.
    expect_exception VEC_GP, .legal
    mov ecx, IA32_APIC_BASE
    mov eax, [apic_base_x2]
    and eax, ~0xC00
    xor edx, edx
    wrmsr
    mov eax, [apic_base_x2]
    and eax, ~0x400
    wrmsr
    mov eax, [apic_base_x2]
    wrmsr
.legal:
    expect_done
    check_eq dword [exc_vector], EXC_NONE, "x2APIC -> disabled -> xAPIC -> x2APIC raises nothing"
    mov ecx, X2APIC_SVR
    call rdmsr32
    check_eq eax, 0xFF, "SVR back to its reset value 0xFF after the global disable"
    prefix_pop
    ret

; ---------------------------------------------------------------------------------------------------- data

irq_stub 0x30
irq_stub 0x40
irq_stub 0x42
irq_stub 0x45
irq_stub 0x4F
irq_stub 0x50
irq_stub 0x61
irq_stub 0x62
irq_stub 0x70
irq_stub 0x82
irq_stub 0xE0

stub_table:
    dd 0x30, irq_stub_0x30
    dd 0x40, irq_stub_0x40
    dd 0x42, irq_stub_0x42
    dd 0x45, irq_stub_0x45
    dd 0x4F, irq_stub_0x4F
    dd 0x50, irq_stub_0x50
    dd 0x61, irq_stub_0x61
    dd 0x62, irq_stub_0x62
    dd 0x70, irq_stub_0x70
    dd 0x82, irq_stub_0x82
    dd 0xE0, irq_stub_0xE0
    dd 0, 0

; Expected logs: count, then entries (vector at entry, vector | 0x100 at exit).
exp_one_40:  dd 2, 0x40, 0x140
exp_one_50:  dd 2, 0x50, 0x150
exp_one_61:  dd 2, 0x61, 0x161
exp_one_e0:  dd 2, 0xE0, 0x1E0
exp_tpr_61:  dd 2, 0x61, 0x161
exp_tpr_50:  dd 4, 0x61, 0x161, 0x50, 0x150
exp_tpr_45:  dd 6, 0x61, 0x161, 0x50, 0x150, 0x45, 0x145
exp_order:   dd 8, 0x82, 0x182, 0x62, 0x162, 0x45, 0x145, 0x42, 0x142
exp_nest_70: dd 4, 0x40, 0x70, 0x170, 0x140
exp_nest_30: dd 4, 0x40, 0x140, 0x30, 0x130
exp_nest_4f: dd 4, 0x40, 0x140, 0x4F, 0x14F
exp_eoi_1:   dd 4, 0x40, 0x140, 0x70, 0x170
exp_eoi_2:   dd 4, 0x40, 0x140, 0x30, 0x130

str_log:      db "log:", 0
str_expected: db " (expected:", 0

hook_vector:   dd 0
hook_routine:  dd 0
no_eoi:        dd 0
apic_base_x2:  dd 0
log_len:       dd 0
log:           times LOG_MAX dd 0
ppr_log:       times LOG_MAX dd 0

%include "lib/image-end.inc"
%include "lib/bss-end.inc"
