; guests/cpu-exceptions.asm: exception delivery at CPL 0: vectors, error codes, the stack frame, trap vs fault EIP.
; Leaves paging faults to cpu-paging.asm, far transfers to cpu-far.asm, interrupt shadows to cpu-shadows.asm.
;
; Faults save the EIP of the faulting instruction, traps (INT3, INT n, INTO, single-step #DB) the EIP of the
; next one (SDM Vol. 3 6.5). Error codes for selectors are selector & 0xFFFC (+1 if external, +2 if IDT;
; SDM Vol. 3 6.13).

bits 32
org 0x100000                        ; KERNEL_LOAD_ADDR (lib/multiboot.inc)

%include "lib/multiboot.inc"
%include "lib/serial.inc"
%include "lib/exit.inc"
%include "lib/report.inc"
%include "lib/start.inc"

SEL_NOT_PRESENT_DATA equ 0x18       ; data descriptor with P = 0
SEL_BEYOND_LIMIT     equ 0x80       ; GDT limit is 0x7F
VEC_NP_GATE          equ 0x40       ; IDT gate with P = 0
VEC_SOFT             equ 0x41       ; present gate routed into the recording machinery

main:
    call test_de
    call test_ud
    call test_bp
    call test_of
    call test_gp
    call test_np
    call test_int_n
    call test_db
    ret

; ---------------------------------------------------------------------------------------------------- #DE
test_de:
    prefix_push "#DE"
    mov eax, 0x12345678
    mov edx, 0
    mov ecx, 0
    expect_exception VEC_DE, .r1
.div_zero:
    div ecx
.r1:
    expect_done
    check_eq dword [exc_vector], VEC_DE, "DIV by zero raises #DE"
    check_eq dword [exc_eip], .div_zero, "#DE is a fault: saved EIP is the DIV"
    check_eq dword [exc_eax], 0x12345678, "faulting DIV leaves EAX unchanged"
    check_eq dword [exc_error], 0, "no error code (dummy slot is 0)"

    mov eax, 0x80000000
    mov edx, 0xFFFFFFFF             ; EDX:EAX = -2^31
    mov ecx, 0xFFFFFFFF             ; / -1 = +2^31: does not fit
    expect_exception VEC_DE, .r2
.idiv_overflow:
    idiv ecx
.r2:
    expect_done
    check_eq dword [exc_vector], VEC_DE, "IDIV overflow (INT_MIN / -1) raises #DE"
    check_eq dword [exc_eip], .idiv_overflow, "IDIV overflow: saved EIP is the IDIV"

    mov eax, 0x1000
    mov ecx, 0x10                   ; AX / CL = 0x100 > 0xFF
    expect_exception VEC_DE, .r3
.div8_overflow:
    div cl
.r3:
    expect_done
    check_eq dword [exc_vector], VEC_DE, "8-bit DIV quotient overflow raises #DE"
    check_eq dword [exc_eip], .div8_overflow, "8-bit DIV overflow: saved EIP is the DIV"

    mov eax, 100
    mov edx, 0
    mov ecx, 7
    expect_exception VEC_DE, .r4
    div ecx
.r4:
    expect_done
    mov ebx, eax
    check_eq dword [exc_vector], EXC_NONE, "DIV 100 / 7 raises nothing"
    check_eq ebx, 14, "DIV 100 / 7: quotient 14"
    check_eq edx, 2, "DIV 100 / 7: remainder 2"
    prefix_pop
    ret

; ---------------------------------------------------------------------------------------------------- #UD
test_ud:
    prefix_push "#UD"
    expect_exception VEC_UD, .r1
.ud2:
    ud2
.r1:
    expect_done
    check_eq dword [exc_vector], VEC_UD, "UD2 raises #UD"
    check_eq dword [exc_eip], .ud2, "#UD is a fault: saved EIP is the UD2"

    expect_exception VEC_UD, .r2
.ff7:
    db 0xFF, 0xFF                   ; FF /7 (ModRM reg = 7): undefined in group 5 on every IA-32 CPU
.r2:
    expect_done
    check_eq dword [exc_vector], VEC_UD, "opcode FF /7 raises #UD"
    check_eq dword [exc_eip], .ff7, "FF /7: saved EIP is the opcode"
    prefix_pop
    ret

; ---------------------------------------------------------------------------------------------------- #BP
test_bp:
    prefix_push "#BP"
    expect_exception VEC_BP, .r1
    int3
.after_int3:
.r1:
    expect_done
    check_eq dword [exc_vector], VEC_BP, "INT3 raises #BP"
    check_eq dword [exc_eip], .after_int3, "#BP is a trap: saved EIP is after the 1-byte INT3"

    expect_exception VEC_BP, .r2
    db 0xCD, 0x03                   ; INT 3 in its two-byte form (CD ib)
.after_int_3:
.r2:
    expect_done
    check_eq dword [exc_vector], VEC_BP, "INT 3 (CD 03) raises #BP"
    check_eq dword [exc_eip], .after_int_3, "INT 3 (CD 03): saved EIP is after both bytes"
    prefix_pop
    ret

; ---------------------------------------------------------------------------------------------------- #OF
test_of:
    prefix_push "#OF"
    mov eax, 0x7FFFFFFF
    add eax, 1                      ; OF = 1
    expect_exception VEC_OF, .r1    ; (MOVs only: OF survives)
    into
.after_into:
.r1:
    expect_done
    check_eq dword [exc_vector], VEC_OF, "INTO with OF=1 raises #OF"
    check_eq dword [exc_eip], .after_into, "#OF is a trap: saved EIP is after INTO"

    mov eax, 1
    add eax, 1                      ; OF = 0
    expect_exception VEC_OF, .r2
    into
.r2:
    expect_done
    check_eq dword [exc_vector], EXC_NONE, "INTO with OF=0 does nothing"
    prefix_pop
    ret

; ---------------------------------------------------------------------------------------------------- #GP
test_gp:
    prefix_push "#GP"
    mov eax, 0
    stc                             ; CF = 1 must show in the pushed EFLAGS
    expect_exception VEC_GP, .r1
.mov_ss_null:
    mov ss, ax
.r1:
    expect_done
    ; Copy the frame the CPU left below the resume ESP before any push reuses that memory.
    mov ebx, [exc_esp]
    mov eax, [ebx - 16]
    mov [frame_error], eax
    mov eax, [ebx - 12]
    mov [frame_eip], eax
    mov eax, [ebx - 8]
    and eax, 0xFFFF
    mov [frame_cs], eax
    mov eax, [ebx - 4]
    mov [frame_eflags], eax
    check_eq dword [exc_vector], VEC_GP, "MOV SS, null selector raises #GP"
    check_eq dword [exc_error], 0, "MOV SS, null: error code 0"
    check_eq dword [exc_eip], .mov_ss_null, "#GP is a fault: saved EIP is the MOV SS"
    mov eax, 0
    mov ax, ss
    check_eq eax, GDT_DATA_SEL, "SS keeps its old selector after the fault"
    check_eq dword [exc_esp], dword [exc_resume_esp], "frame pushed on the current stack (same privilege, no stack switch)"
    check_eq dword [frame_error], 0, "frame: error code at ESP-16"
    check_eq dword [frame_eip], .mov_ss_null, "frame: EIP at ESP-12"
    check_eq dword [frame_cs], GDT_CODE_SEL, "frame: CS at ESP-8"
    mov eax, [frame_eflags]
    and eax, EFLAGS_CF | EFLAGS_TF | EFLAGS_IF | EFLAGS_DF | 0x2
    check_eq eax, EFLAGS_CF | 0x2, "frame: EFLAGS at ESP-4 (CF=1, reserved bit 1 set, IF=TF=DF=0)"

    expect_exception VEC_GP, .r2
.jmp_beyond:
    jmp SEL_BEYOND_LIMIT:0
.r2:
    expect_done
    check_eq dword [exc_vector], VEC_GP, "far JMP to a selector beyond the GDT limit raises #GP"
    check_eq dword [exc_error], SEL_BEYOND_LIMIT, "far JMP beyond limit: error code = selector"
    check_eq dword [exc_eip], .jmp_beyond, "far JMP beyond limit: saved EIP is the JMP"

    expect_exception VEC_GP, .r3
    jmp (SEL_BEYOND_LIMIT | 3):0
.r3:
    expect_done
    check_eq dword [exc_error], SEL_BEYOND_LIMIT, "error code carries index/TI, not the RPL bits"

    mov eax, SEL_BEYOND_LIMIT + 8
    expect_exception VEC_GP, .r4
.mov_ds_beyond:
    mov ds, ax
.r4:
    expect_done
    check_eq dword [exc_vector], VEC_GP, "MOV DS beyond the GDT limit raises #GP"
    check_eq dword [exc_error], SEL_BEYOND_LIMIT + 8, "MOV DS beyond limit: error code = selector"

    mov eax, GDT_CODE_SEL
    expect_exception VEC_GP, .r5
    mov ss, ax
.r5:
    expect_done
    check_eq dword [exc_vector], VEC_GP, "MOV SS, code selector raises #GP"
    check_eq dword [exc_error], GDT_CODE_SEL, "MOV SS, code selector: error code = selector"

    mov eax, 0
    expect_exception VEC_GP, .r6
    mov es, ax
.r6:
    expect_done
    mov ebx, 0
    mov bx, es
    mov ax, GDT_DATA_SEL
    mov es, ax
    check_eq dword [exc_vector], EXC_NONE, "MOV ES, null selector is allowed"
    check_eq ebx, 0, "ES holds the null selector"
    prefix_pop
    ret

; ---------------------------------------------------------------------------------------------------- #NP
test_np:
    prefix_push "#NP"
    mov eax, VEC_NP_GATE
    mov ebx, exc_stub_0             ; any handler: the gate is not present
    mov ecx, IDT_INT_GATE_NP
    call idt_set_gate
    expect_exception VEC_NP, .r1
.int_np:
    int VEC_NP_GATE
.r1:
    expect_done
    check_eq dword [exc_vector], VEC_NP, "INT n through a not-present gate raises #NP"
    check_eq dword [exc_error], VEC_NP_GATE * 8 + 2, "#NP error code = vector * 8 + 2 (IDT bit)"
    check_eq dword [exc_eip], .int_np, "#NP is a fault: saved EIP is the INT"

    mov eax, SEL_NOT_PRESENT_DATA
    mov ebx, 0
    mov ecx, 0xFFFFF
    mov edx, (GDT_ACCESS_DATA & 0x7F) | GDT_FLAGS_32_4K   ; P = 0
    call gdt_set_descriptor
    expect_exception VEC_NP, .r2
.mov_ds_np:
    mov ds, ax
.r2:
    expect_done
    check_eq dword [exc_vector], VEC_NP, "MOV DS, not-present data segment raises #NP"
    check_eq dword [exc_error], SEL_NOT_PRESENT_DATA, "MOV DS, not present: error code = selector"
    check_eq dword [exc_eip], .mov_ds_np, "MOV DS, not present: saved EIP is the MOV"

    mov eax, SEL_NOT_PRESENT_DATA   ; registers other than ESP do not survive an expected exception
    expect_exception VEC_SS, .r3
    mov ss, ax
.r3:
    expect_done
    check_eq dword [exc_vector], VEC_SS, "MOV SS, not-present segment raises #SS (not #NP)"
    check_eq dword [exc_error], SEL_NOT_PRESENT_DATA, "MOV SS, not present: error code = selector"
    prefix_pop
    ret

; ---------------------------------------------------------------------------------------------------- INT n
test_int_n:
    prefix_push "INT n"
    mov eax, VEC_SOFT
    mov ebx, soft_int_stub
    mov ecx, IDT_INT_GATE
    call idt_set_gate
    expect_exception VEC_SOFT, .r1
    int VEC_SOFT
.after_int:
.r1:
    expect_done
    check_eq dword [exc_vector], VEC_SOFT, "INT 0x41 through a present gate reaches its handler"
    check_eq dword [exc_eip], .after_int, "INT n is a trap: saved EIP is after the INT"
    check_eq dword [exc_esp], dword [exc_resume_esp], "INT n pushes EIP, CS, EFLAGS and no error code"
    prefix_pop
    ret

soft_int_stub:
    push 0
    push VEC_SOFT
    jmp exc_common

; ---------------------------------------------------------------------------------------------------- #DB
test_db:
    prefix_push "#DB"
    mov dword [db_counter], 0
    expect_exception VEC_DB, .r1
    pushfd
    or dword [esp], EFLAGS_TF
    popfd                           ; TF = 1 from here; POPFD itself does not trap
    inc dword [db_counter]
.after_step:
    inc dword [db_counter]
    inc dword [db_counter]
.r1:
    expect_done
    check_eq dword [exc_vector], VEC_DB, "single-step (TF=1) raises #DB"
    check_eq dword [exc_eip], .after_step, "single-step #DB is a trap after exactly one instruction"
    check_eq dword [db_counter], 1, "the stepped instruction completed, the next did not run"
    mov eax, [exc_eflags]
    and eax, EFLAGS_TF
    check_eq eax, EFLAGS_TF, "EFLAGS saved by #DB still has TF set"
    pushfd
    pop eax
    and eax, EFLAGS_TF
    check_eq eax, 0, "the gate cleared TF for the handler"
    prefix_pop
    ret

frame_error:    dd 0
frame_eip:      dd 0
frame_cs:       dd 0
frame_eflags:   dd 0
db_counter:     dd 0

%include "lib/image-end.inc"
%include "lib/bss-end.inc"
