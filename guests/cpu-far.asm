; guests/cpu-far.asm: far control transfers and segment bases at CPL 0: JMP/CALL ptr16:32 and m16:32, RETF,
; RETF imm16, IRETD to the same privilege level, based DS/ES, and #GP/#NP on bad far targets.
; Leaves privilege changes and task switches out (CPL 0 only).
;
; SEL_CODE_BASED has base CODE_BASE, so code reached through it runs at offset (label - CODE_BASE): the EIP
; it sees and pushes is that offset (SDM Vol. 3 3.4). Code running there uses only relative branches and
; DS-relative data (DS stays flat), so it works at either base.

bits 32
org 0x100000                        ; KERNEL_LOAD_ADDR (lib/multiboot.inc)

%include "lib/multiboot.inc"
%include "lib/serial.inc"
%include "lib/exit.inc"
%include "lib/report.inc"
%include "lib/start.inc"

CODE_BASE       equ 0x1000
DATA_BASE       equ 0x500000

SEL_CODE_BASED  equ 0x18            ; code, base CODE_BASE
SEL_DATA_BASED  equ 0x20            ; data, base DATA_BASE
SEL_CODE_NP     equ 0x28            ; code, P = 0

main:
    mov eax, SEL_CODE_BASED
    mov ebx, CODE_BASE
    mov ecx, 0xFFFFF
    mov edx, GDT_ACCESS_CODE | GDT_FLAGS_32_4K
    call gdt_set_descriptor
    mov eax, SEL_DATA_BASED
    mov ebx, DATA_BASE
    mov edx, GDT_ACCESS_DATA | GDT_FLAGS_32_4K
    call gdt_set_descriptor
    mov eax, SEL_CODE_NP
    mov ebx, 0
    mov edx, (GDT_ACCESS_CODE & 0x7F) | GDT_FLAGS_32_4K
    call gdt_set_descriptor

    call test_far_jmp
    call test_far_call
    call test_iret
    call test_based_data
    call test_bad_targets
    ret

; ---------------------------------------------------------------------------------------------------- JMP
test_far_jmp:
    prefix_push "far JMP"
    mov dword [seen_cs], 0
    mov dword [return_ptr], far_jmp_back_direct
    mov word [return_ptr + 4], GDT_CODE_SEL
    jmp SEL_CODE_BASED:(based_jmp_target - CODE_BASE)
far_jmp_back_direct:
    check_eq dword [seen_cs], SEL_CODE_BASED, "JMP ptr16:32 reaches the based segment (CS = 0x18)"
    check_eq dword [seen_offset], based_jmp_here - CODE_BASE, "EIP there is an offset from the CS base"
    mov eax, 0
    mov ax, cs
    check_eq eax, GDT_CODE_SEL, "JMP m16:32 back to CS 0x08"

    mov dword [seen_cs], 0
    mov dword [return_ptr], far_jmp_back_indirect
    jmp far [jmp_ptr]
far_jmp_back_indirect:
    check_eq dword [seen_cs], SEL_CODE_BASED, "JMP m16:32 reaches the based segment"
    prefix_pop
    ret

; Runs with CS = SEL_CODE_BASED. Returns through return_ptr (m16:32).
based_jmp_target:
    mov eax, 0
    mov ax, cs
    mov [seen_cs], eax
    call based_jmp_here
based_jmp_here:
    pop eax
    mov [seen_offset], eax
    jmp far [return_ptr]

; ---------------------------------------------------------------------------------------------------- CALL/RETF
test_far_call:
    prefix_push "far CALL"
    mov [esp_before], esp
    call SEL_CODE_BASED:(based_call_target - CODE_BASE)
far_call_ret_direct:
    mov [esp_after], esp
    mov eax, 0
    mov ax, cs
    check_eq dword [seen_cs], SEL_CODE_BASED, "CALL ptr16:32 runs the target with CS = 0x18"
    check_eq dword [seen_ret_eip], far_call_ret_direct, "CALL pushes the return EIP at [ESP]"
    check_eq dword [seen_ret_cs], GDT_CODE_SEL, "CALL pushes the caller's CS at [ESP+4]"
    mov ebx, [esp_before]
    sub ebx, 8
    check_eq dword [seen_esp], ebx, "CALL pushes two dwords"
    check_eq eax, GDT_CODE_SEL, "RETF restores CS"
    check_eq dword [esp_after], dword [esp_before], "RETF restores ESP"

    mov dword [seen_ret_eip], 0
    mov [esp_before], esp
    call far [call_ptr]
far_call_ret_indirect:
    mov [esp_after], esp
    check_eq dword [seen_ret_eip], far_call_ret_indirect, "CALL m16:32 pushes the return EIP"
    check_eq dword [esp_after], dword [esp_before], "CALL m16:32 / RETF balance ESP"

    mov [esp_before], esp
    push 0xA1
    push 0xB2
    call SEL_CODE_BASED:(based_call_target_retf8 - CODE_BASE)
    mov [esp_after], esp
    check_eq dword [seen_arg], 0xB2, "the far callee sees its argument above CS:EIP"
    check_eq dword [esp_after], dword [esp_before], "RETF 8 pops the return address and 8 bytes of arguments"
    prefix_pop
    ret

based_call_target:
    mov eax, [esp]
    mov [seen_ret_eip], eax
    mov eax, [esp + 4]
    and eax, 0xFFFF                 ; upper half of the CS slot is not defined
    mov [seen_ret_cs], eax
    mov [seen_esp], esp
    mov eax, 0
    mov ax, cs
    mov [seen_cs], eax
    retf

based_call_target_retf8:
    mov eax, [esp + 8]
    mov [seen_arg], eax
    retf 8

; ---------------------------------------------------------------------------------------------------- IRETD
test_iret:
    prefix_push "IRETD"
    mov dword [seen_cs], 0
    mov [esp_before], esp
    pushfd
    push SEL_CODE_BASED
    push based_iret_target - CODE_BASE
    iretd
iret_back:
    setc bl                         ; the EFLAGS image pushed by based_iret_target had CF = 1
    mov [esp_after], esp
    check_eq dword [seen_cs], SEL_CODE_BASED, "IRETD to CS 0x18 at the same privilege level"
    mov al, bl
    report "IRETD loads EFLAGS from the stack (CF = 1)"
    mov eax, 0
    mov ax, cs
    check_eq eax, GDT_CODE_SEL, "IRETD back restores CS 0x08"
    check_eq dword [esp_after], dword [esp_before], "same-privilege IRETD pops exactly EIP, CS, EFLAGS"
    prefix_pop
    ret

based_iret_target:
    mov eax, 0
    mov ax, cs
    mov [seen_cs], eax
    clc
    pushfd
    or dword [esp], EFLAGS_CF
    push GDT_CODE_SEL
    push iret_back
    iretd

; ---------------------------------------------------------------------------------------------------- bases
test_based_data:
    prefix_push "segment base"
    mov dword [DATA_BASE + 0x40], 0x0BA5EDDA
    mov ax, SEL_DATA_BASED
    mov ds, ax
    mov ebx, [0x40]                 ; DS base + 0x40
    mov dword [0x44], 0x5EC0DE44
    mov ax, GDT_DATA_SEL
    mov ds, ax
    check_eq ebx, 0x0BA5EDDA, "read through DS with base 0x500000 sees linear base + offset"
    check_eq dword [DATA_BASE + 0x44], 0x5EC0DE44, "write through the based DS lands at base + offset"

    mov ax, SEL_DATA_BASED
    mov es, ax
    mov edi, 0x48
    mov eax, 0xE5E5E5E5
    stosd                           ; ES:EDI
    mov ax, GDT_DATA_SEL
    mov es, ax
    check_eq dword [DATA_BASE + 0x48], 0xE5E5E5E5, "STOSD writes through the ES base"

    mov ax, SEL_CODE_BASED
    mov ds, ax
    mov ebx, [code_marker - CODE_BASE]
    mov ax, GDT_DATA_SEL
    mov ds, ax
    check_eq ebx, 0xC0DEC0DE, "a readable code segment can be loaded into DS and read through its base"
    prefix_pop
    ret

; ---------------------------------------------------------------------------------------------------- faults
test_bad_targets:
    prefix_push "bad far target"
    expect_exception VEC_GP, .r1
.jmp_data:
    jmp GDT_DATA_SEL:0
.r1:
    expect_done
    check_eq dword [exc_vector], VEC_GP, "far JMP to a data segment selector raises #GP"
    check_eq dword [exc_error], GDT_DATA_SEL, "far JMP to data: error code = selector (0x10)"
    check_eq dword [exc_eip], .jmp_data, "far JMP to data: saved EIP is the JMP"
    check_eq dword [exc_cs], GDT_CODE_SEL, "far JMP to data: CS unchanged in the frame"

    expect_exception VEC_GP, .r2
    call GDT_DATA_SEL:0
.r2:
    expect_done
    check_eq dword [exc_vector], VEC_GP, "far CALL to a data segment selector raises #GP"
    check_eq dword [exc_error], GDT_DATA_SEL, "far CALL to data: error code = selector"
    check_eq dword [exc_esp], dword [exc_resume_esp], "far CALL to data: nothing was pushed before the fault"

    expect_exception VEC_GP, .r3
    jmp 0:0
.r3:
    expect_done
    check_eq dword [exc_vector], VEC_GP, "far JMP to the null selector raises #GP"
    check_eq dword [exc_error], 0, "far JMP to null: error code 0"

    expect_exception VEC_NP, .r4
    jmp SEL_CODE_NP:0
.r4:
    expect_done
    check_eq dword [exc_vector], VEC_NP, "far JMP to a not-present code segment raises #NP"
    check_eq dword [exc_error], SEL_CODE_NP, "far JMP not present: error code = selector"
    prefix_pop
    ret

    align 4
code_marker:    dd 0xC0DEC0DE
jmp_ptr:        dd based_jmp_target - CODE_BASE
                dw SEL_CODE_BASED
    align 4
call_ptr:       dd based_call_target - CODE_BASE
                dw SEL_CODE_BASED
    align 4
return_ptr:     dd 0
                dw 0
    align 4
seen_cs:        dd 0
seen_offset:    dd 0
seen_ret_eip:   dd 0
seen_ret_cs:    dd 0
seen_esp:       dd 0
seen_arg:       dd 0
esp_before:     dd 0
esp_after:      dd 0

%include "lib/image-end.inc"
%include "lib/bss-end.inc"
