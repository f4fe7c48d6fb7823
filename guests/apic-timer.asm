; guests/apic-timer.asm: the local APIC timer through the x2APIC MSRs: one-shot, periodic and TSC-deadline
; modes, the divide configuration, LVT masking, HLT woken by the timer.
; Leaves APIC priority/EOI/ESR rules to apic-rules.asm and the self-IPI wiring to apic-selfipi.asm.
;
; SDM Vol. 3 11.5.4 (APIC timer), 11.5.4.1 (TSC-deadline mode), 11.12 (x2APIC); vmx.md sections 9.2 and 9.5.
;
; Timing: every check that compares the timer against RDTSC relies on a platform fact of exitless: the APIC
; timer counts the core clock (1 GHz nominal, scheduler.frequencyHz) divided by the divide configuration, and
; the TSC is that same cycle clock. So "count N at divide D" expires exactly N*D TSC cycles after the write of
; the initial count. The tolerances below only absorb instruction costs between the RDTSC and the event
; (interrupt delivery ~20 cycles, RDTSC/RDMSR/WRMSR ~20-30 cycles each, a few 1-cycle instructions): they are
; TIMER_SLACK = 1000 cycles, far below one timer period (>= 100000 cycles here). On real hardware the APIC
; timer runs at the bus/crystal clock, not the TSC rate, so those checks would need calibration there; this
; guest needs x2APIC anyway, which QEMU 7.2 TCG lacks, so it is an exitless-only guest (not in manifest.json).

bits 32
org 0x100000                        ; KERNEL_LOAD_ADDR (lib/multiboot.inc)

%include "lib/multiboot.inc"
%include "lib/serial.inc"
%include "lib/exit.inc"
%include "lib/report.inc"
%include "lib/start.inc"

IA32_APIC_BASE      equ 0x1B
IA32_TSC_DEADLINE   equ 0x6E0
X2APIC_EOI          equ 0x80B
X2APIC_SVR          equ 0x80F
X2APIC_IRR1         equ 0x821           ; IRR bits 63:32 (vectors 0x20-0x3F) ... IRR2 = 0x822 (0x40-0x5F)
X2APIC_IRR2         equ 0x822
X2APIC_LVT_TIMER    equ 0x832
X2APIC_INIT_COUNT   equ 0x838
X2APIC_CUR_COUNT    equ 0x839
X2APIC_DIV_CONF     equ 0x83E

LVT_MASKED          equ 1 << 16
LVT_ONESHOT         equ 0 << 17
LVT_PERIODIC        equ 1 << 17
LVT_TSC_DEADLINE    equ 2 << 17

; Divide configuration encodings (bits 3,1,0; SDM Figure 11-10).
DIV_1               equ 0xB
DIV_2               equ 0x0
DIV_4               equ 0x1
DIV_16              equ 0x3
DIV_128             equ 0xA

TIMER_VEC           equ 0x50            ; one-shot / periodic
DEADLINE_VEC        equ 0x51            ; TSC-deadline
TIMER_SLACK         equ 1000            ; cycles of instruction cost allowed around an expiry (see above)

; One-shot: 10000 ticks at divide 16 = 160000 cycles.
ONESHOT_COUNT       equ 10000
ONESHOT_CYCLES      equ ONESHOT_COUNT * 16
; Periodic: 25000 ticks at divide 4 = a period of 100000 cycles; measured over 10.5 periods.
PERIOD_COUNT        equ 25000
PERIOD_CYCLES       equ PERIOD_COUNT * 4
PERIODS             equ 10
; TSC-deadline: 200000 cycles ahead.
DEADLINE_DELTA      equ 200000

main:
    call x2apic_enable
    mov eax, TIMER_VEC
    mov ebx, timer_handler
    mov ecx, IDT_INT_GATE
    call idt_set_gate
    mov eax, DEADLINE_VEC
    mov ebx, timer_handler
    call idt_set_gate

    call test_divide
    call test_oneshot
    call test_oneshot_hlt
    call test_periodic
    call test_mask
    call test_deadline
    ret

; ---------------------------------------------------------------------------------------------------- helpers

; x2apic_enable: IA32_APIC_BASE EN|EXTD (xAPIC -> x2APIC), SVR = software enable, spurious vector 0xFF.
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

; wrmsr32: ECX = MSR, EAX = low dword (high dword 0). Preserves all registers.
wrmsr32:
    push edx
    xor edx, edx
    wrmsr
    pop edx
    ret

; rdmsr32: ECX = MSR -> EAX = low dword. Preserves the other registers.
rdmsr32:
    push edx
    rdmsr
    pop edx
    ret

; tsc32: EAX = low 32 bits of the TSC (intervals here are far below 2^32 cycles). Preserves the others.
tsc32:
    push edx
    rdtsc
    pop edx
    ret

; spin_cycles: ECX = cycles; returns after at least that many TSC cycles (interrupts are taken meanwhile
; if IF = 1). Preserves all registers.
spin_cycles:
    push eax
    push ebx
    call tsc32
    mov ebx, eax
.wait:
    call tsc32
    sub eax, ebx
    cmp eax, ecx
    jb .wait
    pop ebx
    pop eax
    ret

; timer_reset_counters: zeroes the handler's record.
timer_reset_counters:
    mov dword [irq_count], 0
    mov dword [irq_vector], 0
    mov dword [irq_tsc_first], 0
    mov dword [irq_tsc_last], 0
    mov dword [irq_tsc_last_hi], 0
    ret

; timer_stop: initial count 0, LVT masked one-shot, IF = 0; then clears the record.
timer_stop:
    push eax
    push ecx
    cli
    mov ecx, X2APIC_INIT_COUNT
    mov eax, 0
    call wrmsr32
    mov ecx, X2APIC_LVT_TIMER
    mov eax, LVT_MASKED | TIMER_VEC
    call wrmsr32
    call timer_reset_counters
    pop ecx
    pop eax
    ret

; The interrupt handler for both vectors: counts, records the TSC of the first and the last arrival and
; which vector it was, then EOIs through MSR 0x80B. The vector is recovered from ISR (the only one in service).
timer_handler:
    push eax
    push ecx
    push edx
    rdtsc
    mov [irq_tsc_last], eax
    mov [irq_tsc_last_hi], edx
    cmp dword [irq_count], 0
    jne .not_first
    mov [irq_tsc_first], eax
.not_first:
    inc dword [irq_count]
    mov ecx, 0x812                      ; ISR bits 95:64 (vectors 0x40-0x5F)
    rdmsr
    mov ecx, TIMER_VEC
    test eax, 1 << (TIMER_VEC - 0x40)
    jnz .have_vector
    mov ecx, DEADLINE_VEC
    test eax, 1 << (DEADLINE_VEC - 0x40)
    jnz .have_vector
    mov ecx, 0                          ; neither in service: recorded as vector 0 (a failure)
.have_vector:
    mov [irq_vector], ecx
    mov ecx, X2APIC_EOI
    xor eax, eax
    xor edx, edx
    wrmsr
    pop edx
    pop ecx
    pop eax
    iretd

; ---------------------------------------------------------------------------------------------------- divide

; The current count decreases at cycles / divisor: measured across a spin of SPIN cycles at divide 1 and 128.
DIVIDE_SPIN         equ 50000

test_divide:
    prefix_push "divide"
    cli
    mov ecx, X2APIC_LVT_TIMER
    mov eax, LVT_MASKED | LVT_ONESHOT | TIMER_VEC
    call wrmsr32

    mov ecx, X2APIC_DIV_CONF
    mov eax, DIV_1
    call wrmsr32
    call rdmsr32
    check_eq eax, DIV_1, "divide configuration reads back (divide by 1 = 0xB)"
    mov eax, 0xFFFFFFFF
    call measure_count_rate             ; EAX = ticks counted, EBX = cycles elapsed
    call print_rate
    ; divide 1: ticks == cycles within the cost of the RDTSC/RDMSR pairs at either end
    sub eax, ebx
    add eax, 200
    cmp eax, 400
    setb al
    report "divide by 1: current count falls one per TSC cycle (within 200)"

    mov ecx, X2APIC_DIV_CONF
    mov eax, DIV_128
    call wrmsr32
    call rdmsr32
    check_eq eax, DIV_128, "divide configuration reads back (divide by 128 = 0xA)"
    mov eax, 0xFFFFFFFF
    call measure_count_rate
    call print_rate
    shr ebx, 7                          ; expected ticks = cycles / 128
    sub eax, ebx
    add eax, 3
    cmp eax, 6
    setb al
    report "divide by 128: current count falls one per 128 TSC cycles (within 2)"

    mov ecx, X2APIC_INIT_COUNT
    mov eax, 0
    call wrmsr32
    mov ecx, X2APIC_CUR_COUNT
    call rdmsr32
    check_eq eax, 0, "initial count 0 stops the timer: current count reads 0"
    prefix_pop
    ret

; print_rate: "INFO: <prefix>: <EAX> ticks in <EBX> cycles". Preserves all.
print_rate:
    pushad
    mov esi, report_str_info
    call puts
    call report_put_prefixes
    call putdec
    mov esi, str_ticks_in
    call puts
    mov eax, ebx
    call putdec
    mov esi, str_cycles
    call puts
    call report_newline
    popad
    ret

; measure_count_rate: EAX = initial count to load. Loads it, reads current count and TSC, spins DIVIDE_SPIN
; cycles, reads both again. Returns EAX = count decrease, EBX = TSC cycles between the two samples.
measure_count_rate:
    push ecx
    push edx
    push esi
    push edi
    mov ecx, X2APIC_INIT_COUNT
    call wrmsr32
    mov ecx, X2APIC_CUR_COUNT
    rdtsc
    mov esi, eax                        ; t0
    rdmsr
    mov edi, eax                        ; c0
    push ecx
    mov ecx, DIVIDE_SPIN
    call spin_cycles
    pop ecx
    rdtsc
    mov ebx, eax                        ; t1
    rdmsr                               ; c1
    sub edi, eax                        ; c0 - c1
    sub ebx, esi                        ; t1 - t0
    mov eax, edi
    pop edi
    pop esi
    pop edx
    pop ecx
    ret

; ---------------------------------------------------------------------------------------------------- one-shot

test_oneshot:
    prefix_push "one-shot"
    call timer_stop
    mov ecx, X2APIC_DIV_CONF
    mov eax, DIV_16
    call wrmsr32
    mov ecx, X2APIC_LVT_TIMER
    mov eax, LVT_ONESHOT | TIMER_VEC
    call wrmsr32
    call rdmsr32
    check_eq eax, LVT_ONESHOT | TIMER_VEC, "LVT timer reads back (one-shot, unmasked, vector 0x50)"

    call tsc32
    mov [t_start], eax
    mov ecx, X2APIC_INIT_COUNT
    mov eax, ONESHOT_COUNT
    call wrmsr32
    call rdmsr32
    check_eq eax, ONESHOT_COUNT, "initial count reads back"
    mov ecx, X2APIC_CUR_COUNT
    call rdmsr32
    mov ebx, eax
    cmp ebx, ONESHOT_COUNT
    setbe al
    cmp ebx, 0
    setne ah
    and al, ah
    report "current count is loaded from the initial count and counts down"

    ; IF = 0 for half the interval: nothing may arrive; then wait (IF = 1) for 2x the interval.
    mov ecx, ONESHOT_CYCLES / 2
    call spin_cycles
    check_eq dword [irq_count], 0, "no interrupt before the count reaches 0"
    sti
    mov ecx, ONESHOT_CYCLES * 2
    call spin_cycles
    cli
    check_eq dword [irq_count], 1, "exactly one interrupt"
    check_eq dword [irq_vector], TIMER_VEC, "delivered on the LVT timer vector"
    mov eax, [irq_tsc_first]
    sub eax, [t_start]
    mov [t_elapsed], eax
    cmp eax, ONESHOT_CYCLES
    setae al
    report "interrupt no earlier than count * divisor = 160000 cycles after the initial-count write"
    mov eax, [t_elapsed]
    cmp eax, ONESHOT_CYCLES + TIMER_SLACK
    setb al
    report "interrupt within 1000 cycles of the expiry"
    call print_elapsed
    mov ecx, X2APIC_CUR_COUNT
    call rdmsr32
    check_eq eax, 0, "current count stays 0 after expiry"
    mov ecx, X2APIC_INIT_COUNT
    call rdmsr32
    check_eq eax, ONESHOT_COUNT, "initial count keeps its value after expiry"
    sti
    mov ecx, ONESHOT_CYCLES * 2
    call spin_cycles
    cli
    check_eq dword [irq_count], 1, "no second interrupt"
    prefix_pop
    ret

; print_elapsed: "INFO: <prefix>: elapsed <t_elapsed> cycles".
print_elapsed:
    pushad
    mov esi, report_str_info
    call puts
    call report_put_prefixes
    mov esi, str_elapsed
    call puts
    mov eax, [t_elapsed]
    call putdec
    mov esi, str_cycles
    call puts
    call report_newline
    popad
    ret

; HLT with IF = 1 and the timer armed: the timer interrupt wakes the CPU.
test_oneshot_hlt:
    prefix_push "one-shot + HLT"
    call timer_stop
    mov ecx, X2APIC_LVT_TIMER
    mov eax, LVT_ONESHOT | TIMER_VEC
    call wrmsr32
    call tsc32
    mov [t_start], eax
    mov ecx, X2APIC_INIT_COUNT
    mov eax, ONESHOT_COUNT
    call wrmsr32
    sti
    hlt                                 ; the timer interrupt ends the halt; the handler returns after HLT
    cli
    check_eq dword [irq_count], 1, "HLT woken by the timer interrupt"
    mov eax, [irq_tsc_first]
    sub eax, [t_start]
    mov [t_elapsed], eax
    cmp eax, ONESHOT_CYCLES
    setae al
    mov ebx, [t_elapsed]
    cmp ebx, ONESHOT_CYCLES + TIMER_SLACK
    setb ah
    and al, ah
    report "woken at the expiry (160000 cycles, within 1000)"
    call print_elapsed
    prefix_pop
    ret

; ---------------------------------------------------------------------------------------------------- periodic

test_periodic:
    prefix_push "periodic"
    call timer_stop
    mov ecx, X2APIC_DIV_CONF
    mov eax, DIV_4
    call wrmsr32
    mov ecx, X2APIC_LVT_TIMER
    mov eax, LVT_PERIODIC | TIMER_VEC
    call wrmsr32
    call rdmsr32
    check_eq eax, LVT_PERIODIC | TIMER_VEC, "LVT timer reads back (periodic)"
    call tsc32
    mov [t_start], eax
    mov ecx, X2APIC_INIT_COUNT
    mov eax, PERIOD_COUNT
    call wrmsr32
    sti
    ; 10.5 periods: interrupts at 1, 2, ... 10 periods; the half period keeps jitter away from the edge.
    mov ecx, PERIODS * PERIOD_CYCLES + PERIOD_CYCLES / 2
    call spin_cycles
    cli
    mov eax, [irq_count]
    mov [t_count], eax
    check_eq eax, PERIODS, "10 interrupts in 10.5 periods of 100000 cycles (25000 ticks at divide 4)"
    call print_count
    ; First arrival one period after the write; then exactly one period apart (no drift): the span from the
    ; first to the last is (count - 1) periods.
    mov eax, [irq_tsc_first]
    sub eax, [t_start]
    sub eax, PERIOD_CYCLES
    cmp eax, TIMER_SLACK
    setb al
    report "first interrupt one period after the initial-count write (within 1000 cycles)"
    mov eax, [irq_tsc_last]
    sub eax, [irq_tsc_first]
    mov [t_elapsed], eax
    mov eax, [t_count]
    dec eax
    mov ebx, PERIOD_CYCLES
    mul ebx                             ; EAX = (count - 1) periods
    mov ebx, [t_elapsed]
    sub ebx, eax
    add ebx, TIMER_SLACK
    cmp ebx, 2 * TIMER_SLACK
    setb al
    report "first to last interrupt spans (count - 1) periods (within 1000 cycles)"
    call print_elapsed
    mov ecx, X2APIC_CUR_COUNT
    call rdmsr32
    mov ebx, eax
    cmp ebx, PERIOD_COUNT
    setbe al
    cmp ebx, 0
    setne ah
    and al, ah
    report "current count reloads (1..initial count after several periods)"

    ; Initial count 0 stops a periodic timer.
    mov ecx, X2APIC_INIT_COUNT
    mov eax, 0
    call wrmsr32
    call timer_reset_counters
    sti
    mov ecx, 3 * PERIOD_CYCLES
    call spin_cycles
    cli
    check_eq dword [irq_count], 0, "initial count 0 stops the periodic timer"
    prefix_pop
    ret

; print_count: "INFO: <prefix>: <t_count> interrupts".
print_count:
    pushad
    mov esi, report_str_info
    call puts
    call report_put_prefixes
    mov eax, [t_count]
    call putdec
    mov esi, str_interrupts
    call puts
    call report_newline
    popad
    ret

; ---------------------------------------------------------------------------------------------------- masking

test_mask:
    prefix_push "LVT mask"
    call timer_stop
    mov ecx, X2APIC_DIV_CONF
    mov eax, DIV_4
    call wrmsr32
    mov ecx, X2APIC_LVT_TIMER
    mov eax, LVT_MASKED | LVT_PERIODIC | TIMER_VEC
    call wrmsr32
    call rdmsr32
    check_eq eax, LVT_MASKED | LVT_PERIODIC | TIMER_VEC, "LVT timer reads back with the mask bit"
    mov ecx, X2APIC_INIT_COUNT
    mov eax, PERIOD_COUNT
    call wrmsr32
    sti
    mov ecx, 5 * PERIOD_CYCLES + PERIOD_CYCLES / 2
    call spin_cycles
    cli
    check_eq dword [irq_count], 0, "masked periodic timer: no interrupts in 5.5 periods"
    mov ecx, X2APIC_IRR2
    call rdmsr32
    and eax, 1 << (TIMER_VEC - 0x40)
    check_eq eax, 0, "masked: the vector is not pending in IRR either"
    ; The counter keeps running while masked (SDM 11.5.4: the mask only stops the interrupt).
    mov ecx, X2APIC_CUR_COUNT
    call rdmsr32
    mov ebx, eax
    push ecx
    mov ecx, PERIOD_CYCLES / 4
    call spin_cycles
    pop ecx
    call rdmsr32
    cmp eax, ebx
    setne al
    report "masked: the current count keeps changing"

    ; Unmask: interrupts resume (keep the same mode and count).
    mov ecx, X2APIC_LVT_TIMER
    mov eax, LVT_PERIODIC | TIMER_VEC
    call wrmsr32
    sti
    mov ecx, 3 * PERIOD_CYCLES + PERIOD_CYCLES / 2
    call spin_cycles
    cli
    mov eax, [irq_count]
    cmp eax, 3
    setae al
    mov ebx, [irq_count]
    cmp ebx, 4
    setbe ah
    and al, ah
    report "unmasked again: 3-4 interrupts in 3.5 periods"
    call timer_stop
    prefix_pop
    ret

; ---------------------------------------------------------------------------------------------------- TSC-deadline

test_deadline:
    prefix_push "TSC-deadline"
    mov eax, 1
    cpuid
    shr ecx, 24
    and ecx, 1
    check_eq ecx, 1, "CPUID.1:ECX[24] TSC-deadline supported"

    call timer_stop
    mov ecx, X2APIC_LVT_TIMER
    mov eax, LVT_TSC_DEADLINE | DEADLINE_VEC
    call wrmsr32
    call rdmsr32
    check_eq eax, LVT_TSC_DEADLINE | DEADLINE_VEC, "LVT timer reads back (TSC-deadline mode)"

    ; Initial-count writes are ignored and the current count reads 0 in this mode.
    mov ecx, X2APIC_INIT_COUNT
    mov eax, 12345
    call wrmsr32
    call rdmsr32
    check_eq eax, 0, "initial-count write ignored in TSC-deadline mode"
    mov ecx, X2APIC_CUR_COUNT
    call rdmsr32
    check_eq eax, 0, "current count reads 0 in TSC-deadline mode"

    ; Arm: deadline = now + DEADLINE_DELTA (64-bit).
    rdtsc
    add eax, DEADLINE_DELTA
    adc edx, 0
    mov [deadline_lo], eax
    mov [deadline_hi], edx
    mov ecx, IA32_TSC_DEADLINE
    wrmsr
    rdmsr
    check_eq eax, dword [deadline_lo], "IA32_TSC_DEADLINE reads back the armed deadline (low)"
    check_eq edx, dword [deadline_hi], "IA32_TSC_DEADLINE reads back the armed deadline (high)"
    sti
    ; Not before: spin with IF = 1 until 1000 cycles short of the deadline.
.before:
    rdtsc
    sub eax, [deadline_lo]
    cmp eax, -TIMER_SLACK
    jl .before
    mov eax, [irq_count]
    mov [t_count], eax
    mov ecx, 2 * DEADLINE_DELTA
    call spin_cycles
    cli
    check_eq dword [t_count], 0, "no interrupt 1000 cycles before the deadline"
    check_eq dword [irq_count], 1, "exactly one interrupt after the deadline"
    check_eq dword [irq_vector], DEADLINE_VEC, "delivered on the LVT timer vector"
    mov eax, [irq_tsc_last]
    mov edx, [irq_tsc_last_hi]
    sub eax, [deadline_lo]
    sbb edx, [deadline_hi]
    mov [t_elapsed], eax
    ; TSC at the interrupt >= deadline (64-bit difference non-negative) and within the slack.
    test edx, edx
    setz al
    mov ebx, [t_elapsed]
    cmp ebx, TIMER_SLACK
    setb ah
    and al, ah
    report "interrupt at or after the deadline, within 1000 cycles"
    call print_elapsed
    mov ecx, IA32_TSC_DEADLINE
    rdmsr
    or eax, edx
    check_eq eax, 0, "IA32_TSC_DEADLINE reads 0 after it fired (disarmed)"

    ; Writing 0 disarms an armed deadline.
    call timer_reset_counters
    rdtsc
    add eax, DEADLINE_DELTA
    adc edx, 0
    mov ecx, IA32_TSC_DEADLINE
    wrmsr
    xor eax, eax
    xor edx, edx
    wrmsr
    sti
    mov ecx, 2 * DEADLINE_DELTA
    call spin_cycles
    cli
    check_eq dword [irq_count], 0, "writing 0 disarms: no interrupt"

    ; A deadline already in the past fires at once.
    call timer_reset_counters
    rdtsc
    sub eax, 1000
    sbb edx, 0
    mov ecx, IA32_TSC_DEADLINE
    wrmsr
    sti
    nop                                 ; STI shadow
    nop
    cli
    check_eq dword [irq_count], 1, "a deadline in the past fires immediately"

    ; Leaving TSC-deadline mode disarms; IA32_TSC_DEADLINE reads 0 outside the mode.
    call timer_reset_counters
    rdtsc
    add eax, DEADLINE_DELTA
    adc edx, 0
    mov ecx, IA32_TSC_DEADLINE
    wrmsr
    mov ecx, X2APIC_LVT_TIMER
    mov eax, LVT_ONESHOT | TIMER_VEC
    call wrmsr32
    mov ecx, IA32_TSC_DEADLINE
    rdmsr
    or eax, edx
    check_eq eax, 0, "IA32_TSC_DEADLINE reads 0 in one-shot mode"
    sti
    mov ecx, 2 * DEADLINE_DELTA
    call spin_cycles
    cli
    check_eq dword [irq_count], 0, "switching to one-shot disarmed the deadline"
    call timer_stop
    prefix_pop
    ret

str_elapsed:    db "elapsed ", 0
str_cycles:     db " cycles", 0
str_ticks_in:   db " ticks in ", 0
str_interrupts: db " interrupts", 0

irq_count:          dd 0
irq_vector:         dd 0
irq_tsc_first:      dd 0
irq_tsc_last:       dd 0
irq_tsc_last_hi:    dd 0
t_start:            dd 0
t_elapsed:          dd 0
t_count:            dd 0
deadline_lo:        dd 0
deadline_hi:        dd 0

%include "lib/image-end.inc"
%include "lib/bss-end.inc"
