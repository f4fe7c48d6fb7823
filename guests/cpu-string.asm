; guests/cpu-string.asm: string instructions: MOVS/STOS/LODS/CMPS/SCAS/INS/OUTS with REP/REPE/REPNE,
; byte/word/dword, DF=0 and DF=1, ECX=0, early termination, overlap. Leaves faults inside strings to others.
;
; Set-up and verification use plain MOV loops (mem_fill, mem_equal) so a broken string instruction cannot
; hide its own bug. SDM Vol. 2B "REP/REPE/REPZ/REPNE/REPNZ": ECX = 0 executes nothing and changes no flag;
; REPE/REPNE test ZF after each iteration, after ECX was decremented.

bits 32
org 0x100000                        ; KERNEL_LOAD_ADDR (lib/multiboot.inc)

%include "lib/multiboot.inc"
%include "lib/serial.inc"
%include "lib/exit.inc"
%include "lib/report.inc"
%include "lib/start.inc"

SCRATCH_PORT equ COM1_BASE + UART_SCR   ; the 16550 scratch register: stores one byte, no side effect

%macro save_flags 0
    pushfd
    pop dword [saved_flags]
%endmacro

%macro save_regs 0                  ; ESI, EDI, ECX after a string instruction
    mov [saved_esi], esi
    mov [saved_edi], edi
    mov [saved_ecx], ecx
%endmacro

main:
    cld
    call test_movs
    call test_stos
    call test_lods
    call test_cmps
    call test_scas
    call test_ins_outs
    cld
    ret

; ---------------------------------------------------------------------------------------------------- MOVS
test_movs:
    prefix_push "MOVS"
    mov edi, dst_buf
    mov ecx, 64
    mov al, 0xEE
    call mem_fill
    mov esi, text
    mov edi, dst_buf
    mov ecx, 13
    rep movsb
    save_regs
    mov esi, text
    mov edi, dst_buf
    mov ecx, 13
    call mem_equal
    report "REP MOVSB copies 13 bytes forward"
    check_eq dword [saved_esi], text + 13, "REP MOVSB: ESI advanced by 13"
    check_eq dword [saved_edi], dst_buf + 13, "REP MOVSB: EDI advanced by 13"
    check_eq dword [saved_ecx], 0, "REP MOVSB: ECX counted down to 0"
    check_eq dword [dst_buf + 13], 0xEEEEEEEE, "REP MOVSB: nothing written past the count"

    mov esi, words
    mov edi, dst_buf
    mov ecx, 5
    rep movsw
    save_regs
    mov esi, words
    mov edi, dst_buf
    mov ecx, 10
    call mem_equal
    report "REP MOVSW copies 5 words"
    check_eq dword [saved_esi], words + 10, "REP MOVSW: ESI advanced by 10"
    check_eq dword [saved_edi], dst_buf + 10, "REP MOVSW: EDI advanced by 10"

    mov esi, dwords
    mov edi, dst_buf
    mov ecx, 4
    rep movsd
    save_regs
    mov esi, dwords
    mov edi, dst_buf
    mov ecx, 16
    call mem_equal
    report "REP MOVSD copies 4 dwords"
    check_eq dword [saved_edi], dst_buf + 16, "REP MOVSD: EDI advanced by 16"

    mov edi, dst_buf
    mov ecx, 64
    mov al, 0
    call mem_fill
    std
    mov esi, dwords + 12
    mov edi, dst_buf + 12
    mov ecx, 4
    rep movsd
    cld
    save_regs
    mov esi, dwords
    mov edi, dst_buf
    mov ecx, 16
    call mem_equal
    report "DF=1: REP MOVSD copies 4 dwords backward"
    check_eq dword [saved_esi], dwords - 4, "DF=1: ESI decremented by 16"
    check_eq dword [saved_edi], dst_buf - 4, "DF=1: EDI decremented by 16"

    mov edi, dst_buf
    mov ecx, 64
    mov al, 0x55
    call mem_fill
    mov esi, text
    mov edi, dst_buf
    mov ecx, 0
    rep movsb
    save_regs
    check_eq dword [saved_esi], text, "ECX=0: REP MOVSB leaves ESI alone"
    check_eq dword [saved_edi], dst_buf, "ECX=0: REP MOVSB leaves EDI alone"
    check_eq dword [dst_buf], 0x55555555, "ECX=0: REP MOVSB writes nothing"

    mov esi, text
    mov edi, dst_buf
    mov ecx, 7
    movsb
    save_regs
    check_eq dword [saved_ecx], 7, "MOVSB without REP ignores ECX"
    check_eq dword [saved_esi], text + 1, "MOVSB without REP moves one byte"

    mov esi, text
    mov edi, dst_buf
    mov ecx, 4
    stc
    rep movsb
    setc al
    report "REP MOVSB leaves CF alone"

    ; Overlap, forward: copying buf -> buf+1 byte by byte replicates the first byte.
    mov esi, digits
    mov edi, ovl_buf
    mov ecx, 10
    call mem_copy
    mov esi, ovl_buf
    mov edi, ovl_buf + 1
    mov ecx, 5
    rep movsb
    mov esi, ovl_forward
    mov edi, ovl_buf
    mov ecx, 10
    call mem_equal
    report "overlapping REP MOVSB forward (dst = src + 1) propagates byte by byte"

    ; Overlap, backward with DF=1: a correct memmove to the right.
    mov esi, digits
    mov edi, ovl_buf
    mov ecx, 10
    call mem_copy
    std
    mov esi, ovl_buf + 4
    mov edi, ovl_buf + 6
    mov ecx, 5
    rep movsb
    cld
    mov esi, ovl_backward
    mov edi, ovl_buf
    mov ecx, 10
    call mem_equal
    report "overlapping REP MOVSB with DF=1 moves the block intact"
    prefix_pop
    ret

; ---------------------------------------------------------------------------------------------------- STOS
test_stos:
    prefix_push "STOS"
    mov edi, dst_buf
    mov ecx, 64
    mov al, 0
    call mem_fill
    mov edi, dst_buf
    mov ecx, 7
    mov eax, 0x123456AB
    rep stosb
    save_regs
    check_eq dword [dst_buf], 0xABABABAB, "REP STOSB stores AL"
    check_eq dword [dst_buf + 4], 0x00ABABAB, "REP STOSB stores exactly 7 bytes"
    check_eq dword [saved_edi], dst_buf + 7, "REP STOSB: EDI advanced by 7"
    check_eq dword [saved_ecx], 0, "REP STOSB: ECX = 0"

    mov edi, dst_buf + 16
    mov ecx, 3
    mov eax, 0xFFFF1234
    rep stosw
    save_regs
    check_eq dword [dst_buf + 16], 0x12341234, "REP STOSW stores AX"
    check_eq dword [dst_buf + 20], 0x00001234, "REP STOSW stores exactly 3 words"
    check_eq dword [saved_edi], dst_buf + 22, "REP STOSW: EDI advanced by 6"

    mov edi, dst_buf + 32
    mov ecx, 2
    mov eax, 0xA5A5C3C3
    rep stosd
    save_regs
    check_eq dword [dst_buf + 36], 0xA5A5C3C3, "REP STOSD stores EAX"
    check_eq dword [saved_edi], dst_buf + 40, "REP STOSD: EDI advanced by 8"

    std
    mov edi, dst_buf + 48
    mov eax, 0x0D0D0D0D
    stosd
    cld
    save_regs
    check_eq dword [dst_buf + 48], 0x0D0D0D0D, "DF=1: STOSD stores at EDI"
    check_eq dword [saved_edi], dst_buf + 44, "DF=1: STOSD decrements EDI by 4"

    mov edi, dst_buf + 56
    mov ecx, 0
    mov eax, 0x77777777
    rep stosd
    save_regs
    check_eq dword [dst_buf + 56], 0, "ECX=0: REP STOSD stores nothing"
    check_eq dword [saved_edi], dst_buf + 56, "ECX=0: REP STOSD leaves EDI alone"
    prefix_pop
    ret

; ---------------------------------------------------------------------------------------------------- LODS
test_lods:
    prefix_push "LODS"
    mov esi, dwords
    mov eax, 0xFFFFFFFF
    lodsb
    check_eq eax, 0xFFFFFF44, "LODSB loads AL only"
    check_eq esi, dwords + 1, "LODSB: ESI advanced by 1"
    mov esi, dwords
    mov eax, 0xFFFFFFFF
    lodsw
    check_eq eax, 0xFFFF3344, "LODSW loads AX only"
    check_eq esi, dwords + 2, "LODSW: ESI advanced by 2"
    mov esi, dwords
    lodsd
    check_eq eax, 0x11223344, "LODSD loads EAX"
    check_eq esi, dwords + 4, "LODSD: ESI advanced by 4"
    std
    mov esi, dwords + 4
    lodsd
    cld
    check_eq eax, 0x55667788, "DF=1: LODSD loads from ESI"
    check_eq esi, dwords, "DF=1: LODSD decrements ESI by 4"
    prefix_pop
    ret

; ---------------------------------------------------------------------------------------------------- CMPS
test_cmps:
    prefix_push "CMPS"
    mov esi, cmp_a
    mov edi, cmp_b
    mov ecx, 10
    repe cmpsb                      ; first difference at index 5: 'F' (0x46) vs 'x' (0x78)
    save_flags
    save_regs
    check_eq dword [saved_ecx], 4, "REPE CMPSB stops on the mismatch: ECX = 10 - 6"
    check_eq dword [saved_esi], cmp_a + 6, "REPE CMPSB: ESI one past the mismatch"
    check_eq dword [saved_edi], cmp_b + 6, "REPE CMPSB: EDI one past the mismatch"
    mov eax, [saved_flags]
    and eax, EFLAGS_ZF | EFLAGS_CF
    check_eq eax, EFLAGS_CF, "REPE CMPSB mismatch: ZF=0, CF=1 ('F' - 'x' borrows)"

    mov esi, cmp_a
    mov edi, cmp_a_copy
    mov ecx, 10
    repe cmpsb
    save_flags
    save_regs
    check_eq dword [saved_ecx], 0, "REPE CMPSB over equal strings runs out: ECX = 0"
    check_eq dword [saved_esi], cmp_a + 10, "REPE CMPSB over equal strings: ESI + 10"
    mov eax, [saved_flags]
    and eax, EFLAGS_ZF
    check_eq eax, EFLAGS_ZF, "REPE CMPSB over equal strings: ZF=1"

    mov esi, cmp_c
    mov edi, cmp_d
    mov ecx, 6
    repne cmpsb                     ; first equal pair at index 3
    save_flags
    save_regs
    check_eq dword [saved_ecx], 2, "REPNE CMPSB stops on the first match: ECX = 6 - 4"
    mov eax, [saved_flags]
    and eax, EFLAGS_ZF
    check_eq eax, EFLAGS_ZF, "REPNE CMPSB match: ZF=1"

    mov esi, cmp_dw_a
    mov edi, cmp_dw_b
    mov ecx, 4
    repe cmpsd                      ; second dword differs
    save_regs
    check_eq dword [saved_ecx], 2, "REPE CMPSD stops after the 2nd dword: ECX = 2"
    check_eq dword [saved_esi], cmp_dw_a + 8, "REPE CMPSD: ESI + 8"

    mov al, 0
    cmp al, 1                       ; ZF=0, CF=1
    mov esi, cmp_a
    mov edi, cmp_a_copy
    mov ecx, 0
    repe cmpsb
    save_flags
    mov eax, [saved_flags]
    and eax, EFLAGS_ZF | EFLAGS_CF
    check_eq eax, EFLAGS_CF, "ECX=0: REPE CMPSB changes no flag"
    prefix_pop
    ret

; ---------------------------------------------------------------------------------------------------- SCAS
test_scas:
    prefix_push "SCAS"
    mov edi, scan_text
    mov ecx, 8
    mov al, 'd'
    repne scasb
    save_flags
    save_regs
    check_eq dword [saved_ecx], 4, "REPNE SCASB finds 'd' at index 3: ECX = 8 - 4"
    check_eq dword [saved_edi], scan_text + 4, "REPNE SCASB: EDI one past the match"
    mov eax, [saved_flags]
    and eax, EFLAGS_ZF
    check_eq eax, EFLAGS_ZF, "REPNE SCASB match: ZF=1"

    mov edi, scan_text
    mov ecx, 8
    mov al, 'z'
    repne scasb
    save_flags
    save_regs
    check_eq dword [saved_ecx], 0, "REPNE SCASB without a match: ECX = 0"
    check_eq dword [saved_edi], scan_text + 8, "REPNE SCASB without a match: EDI + 8"
    mov eax, [saved_flags]
    and eax, EFLAGS_ZF
    check_eq eax, 0, "REPNE SCASB without a match: ZF=0"

    mov edi, scan_dwords
    mov ecx, 4
    mov eax, 0x600DF00D
    repe scasd                      ; equal, equal, different
    save_flags
    save_regs
    check_eq dword [saved_ecx], 1, "REPE SCASD stops at the 3rd dword: ECX = 1"
    check_eq dword [saved_edi], scan_dwords + 12, "REPE SCASD: EDI + 12"
    mov eax, [saved_flags]
    and eax, EFLAGS_ZF
    check_eq eax, 0, "REPE SCASD mismatch: ZF=0"

    std
    mov edi, scan_words + 6
    mov ecx, 4
    mov eax, 0x0000BEEF
    repne scasw                     ; from the last word backwards; BEEF is word 1
    cld
    save_regs
    check_eq dword [saved_ecx], 1, "DF=1: REPNE SCASW finds word 1 scanning down: ECX = 1"
    check_eq dword [saved_edi], scan_words, "DF=1: REPNE SCASW: EDI one below the match"
    prefix_pop
    ret

; ---------------------------------------------------------------------------------------------------- INS/OUTS
test_ins_outs:
    prefix_push "INS/OUTS"
    mov dx, SCRATCH_PORT
    mov esi, io_out
    outsb
    mov ebx, esi
    mov eax, 0
    in al, dx
    check_eq eax, 'X', "OUTSB writes [ESI] to the port (COM1 scratch register)"
    check_eq ebx, io_out + 1, "OUTSB: ESI advanced by 1"

    mov dx, SCRATCH_PORT
    mov esi, io_out
    mov ecx, 3
    rep outsb
    save_regs
    mov eax, 0
    in al, dx
    check_eq eax, 'Z', "REP OUTSB writes 3 bytes, the last one stays in the register"
    check_eq dword [saved_esi], io_out + 3, "REP OUTSB: ESI advanced by 3"
    check_eq dword [saved_ecx], 0, "REP OUTSB: ECX = 0"

    mov dword [io_in], 0
    mov dx, SCRATCH_PORT
    mov edi, io_in
    mov ecx, 2
    rep insb
    save_regs
    check_eq dword [io_in], 0x00005A5A, "REP INSB reads the port twice into [EDI]"
    check_eq dword [saved_edi], io_in + 2, "REP INSB: EDI advanced by 2"

    std
    mov dx, SCRATCH_PORT
    mov edi, io_in + 3
    insb
    cld
    save_regs
    check_eq dword [io_in], 0x5A005A5A, "DF=1: INSB stores at EDI"
    check_eq dword [saved_edi], io_in + 2, "DF=1: INSB decrements EDI"
    prefix_pop
    ret

; ---------------------------------------------------------------------------------------------------- helpers
; mem_fill: EDI = destination, ECX = count, AL = byte. Plain MOV loop. Preserves registers.
mem_fill:
    pushad
.next:
    test ecx, ecx
    jz .done
    mov [edi], al
    inc edi
    dec ecx
    jmp .next
.done:
    popad
    ret

; mem_copy: ESI -> EDI, ECX bytes, ascending. Plain MOV loop. Preserves registers.
mem_copy:
    pushad
.next:
    test ecx, ecx
    jz .done
    mov al, [esi]
    mov [edi], al
    inc esi
    inc edi
    dec ecx
    jmp .next
.done:
    popad
    ret

; mem_equal: compares ECX bytes at ESI and EDI with plain MOVs. AL = 1 if equal, else 0. Preserves the rest.
mem_equal:
    push ebx
    push ecx
    push esi
    push edi
    mov al, 1
.next:
    test ecx, ecx
    jz .done
    mov bl, [esi]
    cmp bl, [edi]
    jne .differ
    inc esi
    inc edi
    dec ecx
    jmp .next
.differ:
    mov al, 0
.done:
    pop edi
    pop esi
    pop ecx
    pop ebx
    ret

text:           db "exitless-strs"                  ; 13 bytes
words:          dw 0x1111, 0x2222, 0x3333, 0x4444, 0x5555
    align 4
dwords:         dd 0x11223344, 0x55667788, 0x99AABBCC, 0xDDEEFF00
digits:         db "0123456789"
ovl_forward:    db "0000006789"
ovl_backward:   db "0101234789"
cmp_a:          db "ABCDEFGHIJ"
cmp_a_copy:     db "ABCDEFGHIJ"
cmp_b:          db "ABCDExGHIJ"
cmp_c:          db "abcdef"
cmp_d:          db "xyzdww"
    align 4
cmp_dw_a:       dd 1, 2, 3, 4
cmp_dw_b:       dd 1, 7, 3, 4
scan_text:      db "abcdefgh"
scan_dwords:    dd 0x600DF00D, 0x600DF00D, 0xBAD0BAD0, 0x600DF00D
scan_words:     dw 0x1111, 0xBEEF, 0x2222, 0x3333
io_out:         db "XYZ"
    align 4
saved_flags:    dd 0
saved_esi:      dd 0
saved_edi:      dd 0
saved_ecx:      dd 0

%include "lib/image-end.inc"
dst_buf:        resb 64
ovl_buf:        resb 16
io_in:          resb 4
%include "lib/bss-end.inc"
