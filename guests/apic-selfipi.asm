; guests/apic-selfipi.asm: the local APIC as the CPU sees it: CPUID bits, IA32_APIC_BASE, x2APIC mode, a
; self-IPI through the SELF_IPI MSR taken at STI, EOI through MSR 0x80B, and the xAPIC MMIO page.
; Leaves the APIC's register rules to test/devices/apic (unit level); this checks the CPU-APIC wiring.

bits 32
org 0x100000                        ; KERNEL_LOAD_ADDR (lib/multiboot.inc)

%include "lib/multiboot.inc"
%include "lib/serial.inc"
%include "lib/exit.inc"
%include "lib/report.inc"
%include "lib/start.inc"

IA32_APIC_BASE  equ 0x1B
X2APIC_EOI      equ 0x80B
X2APIC_SVR      equ 0x80F
X2APIC_ISR7     equ 0x817               ; ISR bits 255:224; vector 0x40 is in ISR2 (0x812)
X2APIC_ISR2     equ 0x812
X2APIC_SELF_IPI equ 0x83F
IPI_VECTOR      equ 0x40

main:
    ; CPUID.1: EDX.APIC (bit 9), ECX.x2APIC (bit 21).
    mov eax, 1
    cpuid
    mov eax, edx
    shr eax, 9
    and eax, 1
    check_eq eax, 1, "cpuid: APIC present"
    mov eax, ecx
    shr eax, 21
    and eax, 1
    check_eq eax, 1, "cpuid: x2APIC present"

    ; xAPIC mode after reset: base 0xFEE00000, enabled, BSP; the version register through MMIO.
    mov ecx, IA32_APIC_BASE
    rdmsr
    and eax, 0xFFFFF900
    check_eq eax, 0xFEE00900, "IA32_APIC_BASE: base, EN, BSP after reset"
    mov eax, [0xFEE00030]
    and eax, 0xFF
    check_eq eax, 0x14, "xAPIC version register through MMIO"

    ; Switch to x2APIC (EN | EXTD), software-enable with spurious vector 0xFF.
    mov ecx, IA32_APIC_BASE
    rdmsr
    or eax, 0xC00
    wrmsr
    mov ecx, X2APIC_SVR
    mov eax, 0x1FF
    xor edx, edx
    wrmsr

    ; The handler counts and records ISR while in service, then EOIs through the MSR.
    mov eax, IPI_VECTOR
    mov ebx, ipi_handler
    mov ecx, IDT_INT_GATE
    call idt_set_gate

    cli
    mov ecx, X2APIC_SELF_IPI
    mov eax, IPI_VECTOR
    xor edx, edx
    wrmsr
    mov eax, [ipi_count]
    check_eq eax, 0, "self-IPI waits while IF = 0"
    sti
    nop                                 ; the STI shadow: the interrupt arrives after this instruction
    cli
    mov eax, [ipi_count]
    check_eq eax, 1, "self-IPI delivered once after STI"
    mov eax, [ipi_isr]
    check_eq eax, 1, "vector 0x40 in service inside the handler"
    mov ecx, X2APIC_ISR2
    rdmsr
    check_eq eax, 0, "ISR clear after the handler's EOI"
    ret

ipi_handler:
    push eax
    push ecx
    push edx
    inc dword [ipi_count]
    mov ecx, X2APIC_ISR2
    rdmsr
    and eax, 1                          ; vector 0x40 = bit 0 of ISR bits 95:64
    mov [ipi_isr], eax
    mov ecx, X2APIC_EOI
    xor eax, eax
    xor edx, edx
    wrmsr
    pop edx
    pop ecx
    pop eax
    iretd

ipi_count: dd 0
ipi_isr:   dd 0

%include "lib/image-end.inc"
%include "lib/bss-end.inc"
