; guests/cpu-shadows.asm: interrupt shadows: MOV SS / POP SS hold back a single-step #DB for one instruction;
; STI lets exactly one instruction run before a pending external interrupt; POPFD has no shadow.
; Leaves exception basics to cpu-exceptions.asm. Needs the 8259 PIC and the 8254 PIT (manifest: pic, pit).
;
; SDM Vol. 3 6.8.3 (MOV SS / POP SS suppress interrupts and debug exceptions until after the next
; instruction) and Vol. 2B STI ("the processor responds to external interrupts after executing the next
; instruction"). IRQ 0 comes from PIT channel 0 in mode 2 through the master 8259, remapped to vector 0x20.
; Each STI check first waits, with IF = 0, until IRQ 0 is pending in the PIC's IRR, so the interrupt is
; already waiting when STI executes and the outcome does not depend on timing.

bits 32
org 0x100000                        ; KERNEL_LOAD_ADDR (lib/multiboot.inc)

%include "lib/multiboot.inc"
%include "lib/serial.inc"
%include "lib/exit.inc"
%include "lib/report.inc"
%include "lib/start.inc"

PIC1_CMD        equ 0x20
PIC1_DATA       equ 0x21
PIC2_CMD        equ 0xA0
PIC2_DATA       equ 0xA1
PIC_EOI         equ 0x20            ; OCW2 non-specific EOI
PIC_READ_IRR    equ 0x0A            ; OCW3: next read of the command port returns IRR
PIT_CH0         equ 0x40
PIT_CMD         equ 0x43
PIT_CH0_MODE2   equ 0x34            ; channel 0, lobyte/hibyte, mode 2 (rate generator), binary
PIT_COUNT       equ 1193            ; about 1 kHz at 1.193182 MHz
VEC_IRQ0        equ 0x20
PENDING_SPINS   equ 5000000         ; give up waiting for IRQ 0 after this many IRR polls

main:
    call test_mov_ss_shadow
    call test_sti_shadow
    ret

; ---------------------------------------------------------------------------------------------------- MOV SS
test_mov_ss_shadow:
    prefix_push "MOV SS shadow"
    mov eax, 0
    mov ax, ss
    expect_exception VEC_DB, .r1
    pushfd
    or dword [esp], EFLAGS_TF
    popfd                           ; TF = 1: the next instruction is stepped
    mov ebx, eax
.control_after:
    nop
    nop
.r1:
    expect_done
    check_eq dword [exc_vector], VEC_DB, "control: TF=1 raises #DB"
    check_eq dword [exc_eip], .control_after, "control: #DB right after the instruction following POPFD"

    mov eax, 0
    mov ax, ss
    expect_exception VEC_DB, .r2
    pushfd
    or dword [esp], EFLAGS_TF
    popfd
    mov ss, ax                      ; the single-step trap after this instruction is held back...
    mov ebx, eax
.mov_ss_after:                      ; ...until after this one
    nop
    nop
.r2:
    expect_done
    check_eq dword [exc_vector], VEC_DB, "MOV SS with TF=1 still raises #DB"
    check_eq dword [exc_eip], .mov_ss_after, "MOV SS: #DB delivered after the instruction following MOV SS"

    mov eax, 0
    expect_exception VEC_DB, .r3
    push ss
    pushfd
    or dword [esp], EFLAGS_TF
    popfd
    pop ss
    mov ebx, eax
.pop_ss_after:
    nop
    nop
.r3:
    expect_done
    check_eq dword [exc_vector], VEC_DB, "POP SS with TF=1 still raises #DB"
    check_eq dword [exc_eip], .pop_ss_after, "POP SS: #DB delivered after the instruction following POP SS"
    prefix_pop
    ret

; ---------------------------------------------------------------------------------------------------- STI
test_sti_shadow:
    prefix_push "STI shadow"
    mov eax, VEC_IRQ0
    mov ebx, irq0_handler
    mov ecx, IDT_INT_GATE
    call idt_set_gate
    call pic_init
    call pit_start

    call wait_irq0_pending
    report "IRQ 0 becomes pending in the 8259 IRR while IF=0"
    test al, al
    jz .no_irq

    mov dword [marker], 0
    mov dword [irq_count], 0
    sti
    inc dword [marker]              ; the one instruction the STI shadow lets through
.after_one:
    inc dword [marker]
    cli
    check_eq dword [irq_count], 1, "the pending interrupt is taken once IF=1"
    check_eq dword [irq_eip], .after_one, "STI: saved EIP is after exactly one instruction"
    check_eq dword [irq_marker], 1, "STI: the handler sees the first INC done and the second not"
    check_eq dword [marker], 2, "execution resumes with the second INC"

    call pic_unmask_irq0
    call wait_irq0_pending
    mov dword [irq_count], 0
    sti
    cli                             ; inside the STI shadow: the interrupt never gets a boundary with IF=1
    nop
    check_eq dword [irq_count], 0, "STI; CLI with IRQ 0 pending: no interrupt is taken"

    call wait_irq0_pending          ; still pending (nobody acknowledged it)
    mov dword [marker], 0
    mov dword [irq_count], 0
    pushfd
    or dword [esp], EFLAGS_IF
    popfd                           ; IF = 1 without a shadow
.after_popfd:
    inc dword [marker]
    cli
    check_eq dword [irq_count], 1, "POPFD setting IF: the pending interrupt is taken"
    check_eq dword [irq_eip], .after_popfd, "POPFD has no shadow: saved EIP is right after POPFD"
    check_eq dword [irq_marker], 0, "POPFD: no instruction ran before the interrupt"
    jmp .done

.no_irq:
    report_skip "STI shadow checks (no IRQ 0 from the PIT)"
.done:
    cli
    mov al, 0xFF
    out PIC1_DATA, al
    prefix_pop
    ret

; IRQ 0: record where it hit, mask IRQ 0 again (one interrupt per check), EOI.
irq0_handler:
    push eax
    mov eax, [esp + 4]              ; saved EIP
    mov [irq_eip], eax
    mov eax, [marker]
    mov [irq_marker], eax
    inc dword [irq_count]
    mov al, 0xFF
    out PIC1_DATA, al
    mov al, PIC_EOI
    out PIC1_CMD, al
    pop eax
    iretd

; pic_init: ICW1-ICW4 on both 8259s: edge triggered, cascade on IRQ 2, vectors 0x20 / 0x28, 8086 mode;
; then mask everything on the slave and all but IRQ 0 on the master.
pic_init:
    push eax
    mov al, 0x11                    ; ICW1: edge, cascade, ICW4 follows
    out PIC1_CMD, al
    out PIC2_CMD, al
    mov al, VEC_IRQ0                ; ICW2: vector base
    out PIC1_DATA, al
    mov al, VEC_IRQ0 + 8
    out PIC2_DATA, al
    mov al, 0x04                    ; ICW3 master: slave on IRQ 2
    out PIC1_DATA, al
    mov al, 0x02                    ; ICW3 slave: cascade identity 2
    out PIC2_DATA, al
    mov al, 0x01                    ; ICW4: 8086 mode, normal EOI
    out PIC1_DATA, al
    out PIC2_DATA, al
    mov al, 0xFF
    out PIC2_DATA, al
    pop eax
    jmp pic_unmask_irq0

pic_unmask_irq0:
    push eax
    mov al, 0xFE
    out PIC1_DATA, al
    pop eax
    ret

pit_start:
    push eax
    mov al, PIT_CH0_MODE2
    out PIT_CMD, al
    mov al, PIT_COUNT & 0xFF
    out PIT_CH0, al
    mov al, PIT_COUNT >> 8
    out PIT_CH0, al
    pop eax
    ret

; wait_irq0_pending: polls the master IRR (OCW3) until IRQ 0 is pending. AL = 1 if it is, 0 on timeout.
wait_irq0_pending:
    push ecx
    mov ecx, PENDING_SPINS
.poll:
    mov al, PIC_READ_IRR
    out PIC1_CMD, al
    in al, PIC1_CMD
    test al, 0x01
    jnz .pending
    dec ecx
    jnz .poll
    mov al, 0
    pop ecx
    ret
.pending:
    mov al, 1
    pop ecx
    ret

marker:         dd 0
irq_count:      dd 0
irq_eip:        dd 0
irq_marker:     dd 0

%include "lib/image-end.inc"
%include "lib/bss-end.inc"
