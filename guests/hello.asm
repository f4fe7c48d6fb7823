; guests/hello.asm: the smallest exitless guest: one greeting line on COM1, then isa-debug-exit with code 0.
; Leaves GDT/IDT/stack/serial set-up to lib/start.inc. Expected: QEMU exit status 1.

bits 32
org 0x100000                        ; KERNEL_LOAD_ADDR (lib/multiboot.inc)

%include "lib/multiboot.inc"
%include "lib/serial.inc"
%include "lib/exit.inc"
%include "lib/report.inc"
%include "lib/start.inc"

main:
    mov esi, greeting
    call puts
    mov eax, 0                      ; exit code 0 -> QEMU status (0 << 1) | 1 = 1
    jmp exit

greeting: db "Hello from exitless! This multiboot guest booted, set up its own GDT and IDT, and talks over COM1.", 10, 0

%include "lib/image-end.inc"
%include "lib/bss-end.inc"
