; guests/cpu-paging.asm: 32-bit paging: 4 KiB and 4 MiB (PSE) translation, #PF error codes and CR2, CR0.WP,
; accessed/dirty bits, INVLPG and MOV CR3 flushing. Leaves non-paging faults to cpu-exceptions.asm.
;
; Page tables live at fixed physical addresses (the machine has 32 MiB). Virtual layout once paging is on:
;   0x00000000-0x003FFFFF  identity, 4 KiB pages (PT_LOW): the kernel, its stack, IDT, GDT, the tables
;   0x00400000-0x007FFFFF  identity, one 4 MiB page (PDE 1): the test's physical data pages
;   0x00800000-0x00BFFFFF  PT_TEST, 4 KiB pages: VA_RW -> PHYS_A (RW), VA_RO -> PHYS_B (read-only),
;                          VA_NP (not present), VA_REMAP -> PHYS_X or PHYS_Y
;   0x00C00000-0x00FFFFFF  PDE 3 not present
;   0x01000000-0x013FFFFF  one 4 MiB page (PDE 4) -> physical 0x00400000 (an alias of PDE 1)
; #PF error code bits (SDM Vol. 3 4.7): bit 0 P (protection violation), bit 1 W/R, bit 2 U/S;
; 32-bit paging without SMEP reports no I/D bit.

bits 32
org 0x100000                        ; KERNEL_LOAD_ADDR (lib/multiboot.inc)

%include "lib/multiboot.inc"
%include "lib/serial.inc"
%include "lib/exit.inc"
%include "lib/report.inc"
%include "lib/start.inc"

PAGE_DIR    equ 0x200000
PT_LOW      equ 0x201000
PT_TEST     equ 0x202000

PHYS_A      equ 0x600000
PHYS_B      equ 0x601000
PHYS_X      equ 0x602000
PHYS_Y      equ 0x603000

VA_RW       equ 0x800000
VA_RO       equ 0x801000
VA_NP       equ 0x802000
VA_REMAP    equ 0x803000
VA_NP_PDE   equ 0xC00000
VA_BIG      equ 0x1000000
PHYS_BIG    equ 0x400000

PTE_P       equ 1 << 0
PTE_W       equ 1 << 1
PTE_A       equ 1 << 5
PTE_D       equ 1 << 6
PDE_PS      equ 1 << 7

PF_P        equ 1 << 0
PF_W        equ 1 << 1

CR0_WP      equ 1 << 16
CR0_PG      equ 1 << 31
CR4_PSE     equ 1 << 4

MAGIC_A     equ 0xCAFEF00D
MAGIC_BIG   equ 0x5A5A1234
MAGIC_X     equ 0x11111111
MAGIC_Y     equ 0x22222222

main:
    call paging_setup
    call test_translation
    call test_not_present
    call test_write_protect
    call test_accessed_dirty
    call test_flush
    ret

paging_setup:
    cld
    mov edi, PAGE_DIR
    mov ecx, 3 * 1024               ; PAGE_DIR, PT_LOW, PT_TEST
    mov eax, 0
    rep stosd
    mov edi, PT_LOW                 ; identity map the first 4 MiB with 4 KiB pages
    mov eax, PTE_P | PTE_W
    mov ecx, 1024
.low:
    stosd
    add eax, 0x1000
    dec ecx
    jnz .low
    mov dword [PAGE_DIR + 0 * 4], PT_LOW | PTE_P | PTE_W
    mov dword [PAGE_DIR + 1 * 4], 0x400000 | PDE_PS | PTE_P | PTE_W
    mov dword [PAGE_DIR + 2 * 4], PT_TEST | PTE_P | PTE_W
    mov dword [PAGE_DIR + 4 * 4], PHYS_BIG | PDE_PS | PTE_P | PTE_W
    mov dword [PT_TEST + 0 * 4], PHYS_A | PTE_P | PTE_W
    mov dword [PT_TEST + 1 * 4], PHYS_B | PTE_P             ; read-only
    mov dword [PT_TEST + 3 * 4], PHYS_X | PTE_P | PTE_W
    mov dword [PHYS_X], MAGIC_X
    mov dword [PHYS_Y], MAGIC_Y
    mov dword [PHYS_B], 0
    mov eax, cr4
    or eax, CR4_PSE
    mov cr4, eax
    mov eax, PAGE_DIR
    mov cr3, eax
    mov eax, cr0
    or eax, CR0_PG
    mov cr0, eax
    jmp .paged                      ; identity mapped: execution simply continues
.paged:
    ret

; ---------------------------------------------------------------------------------------------------- translation
test_translation:
    prefix_push "translation"
    mov eax, cr0
    and eax, CR0_PG
    check_eq eax, CR0_PG, "CR0.PG reads back as 1"
    mov dword [PHYS_A + 0x10], MAGIC_A
    check_eq dword [VA_RW + 0x10], MAGIC_A, "4 KiB page: 0x800010 reads physical 0x600010"
    mov dword [VA_RW + 0x20], 0x600020
    check_eq dword [PHYS_A + 0x20], 0x600020, "4 KiB page: write through 0x800020 lands at 0x600020"
    mov dword [VA_BIG + 0x1234], MAGIC_BIG
    check_eq dword [PHYS_BIG + 0x1234], MAGIC_BIG, "4 MiB page: 0x1001234 maps to physical 0x401234"
    prefix_pop
    ret

; ---------------------------------------------------------------------------------------------------- not present
test_not_present:
    prefix_push "#PF not present"
    expect_exception VEC_PF, .r1
.read_np:
    mov eax, [VA_NP]
.r1:
    expect_done
    check_eq dword [exc_vector], VEC_PF, "read of a not-present PTE raises #PF"
    check_eq dword [exc_error], 0, "read, supervisor, not present: error code 0"
    check_eq dword [exc_cr2], VA_NP, "CR2 = faulting linear address"
    check_eq dword [exc_eip], .read_np, "#PF is a fault: saved EIP is the access"

    expect_exception VEC_PF, .r2
    mov dword [VA_NP + 4], 1
.r2:
    expect_done
    check_eq dword [exc_error], PF_W, "write to a not-present PTE: error code W (2)"
    check_eq dword [exc_cr2], VA_NP + 4, "write: CR2 = faulting linear address"

    expect_exception VEC_PF, .r3
    mov eax, [VA_NP_PDE + 8]
.r3:
    expect_done
    check_eq dword [exc_vector], VEC_PF, "read through a not-present PDE raises #PF"
    check_eq dword [exc_error], 0, "not-present PDE: error code 0"
    check_eq dword [exc_cr2], VA_NP_PDE + 8, "not-present PDE: CR2 = faulting linear address"

    mov eax, VA_NP
    expect_exception VEC_PF, .r4
    jmp eax
.r4:
    expect_done
    check_eq dword [exc_vector], VEC_PF, "instruction fetch from a not-present page raises #PF"
    check_eq dword [exc_cr2], VA_NP, "fetch: CR2 = target"
    check_eq dword [exc_eip], VA_NP, "fetch: saved EIP = target"
    check_eq dword [exc_error], 0, "fetch: error code 0 (no I/D bit without NX or SMEP)"
    prefix_pop
    ret

; ---------------------------------------------------------------------------------------------------- CR0.WP
test_write_protect:
    prefix_push "CR0.WP"
    mov eax, cr0
    or eax, CR0_WP
    mov cr0, eax
    mov dword [PHYS_B], 0x0B0B0B0B
    check_eq dword [VA_RO], 0x0B0B0B0B, "WP=1: reading a read-only page works"
    expect_exception VEC_PF, .r1
.write_ro:
    mov dword [VA_RO], 0xDEADBEEF
.r1:
    expect_done
    check_eq dword [exc_vector], VEC_PF, "WP=1: supervisor write to a read-only page raises #PF"
    check_eq dword [exc_error], PF_P | PF_W, "WP=1: error code P|W (3)"
    check_eq dword [exc_cr2], VA_RO, "WP=1: CR2 = faulting linear address"
    check_eq dword [exc_eip], .write_ro, "WP=1: saved EIP is the write"
    check_eq dword [PHYS_B], 0x0B0B0B0B, "WP=1: the faulting write changed nothing"

    mov eax, cr0
    and eax, ~CR0_WP
    mov cr0, eax
    expect_exception VEC_PF, .r2
    mov dword [VA_RO], 0xFEEDFACE
.r2:
    expect_done
    check_eq dword [exc_vector], EXC_NONE, "WP=0: supervisor write to a read-only page does not fault"
    check_eq dword [PHYS_B], 0xFEEDFACE, "WP=0: the write reached memory"
    prefix_pop
    ret

; ---------------------------------------------------------------------------------------------------- A/D
test_accessed_dirty:
    prefix_push "A/D"
    and dword [PAGE_DIR + 2 * 4], ~(PTE_A | PTE_D)
    and dword [PT_TEST + 0 * 4], ~(PTE_A | PTE_D)
    invlpg [VA_RW]
    mov eax, [VA_RW]
    mov eax, [PT_TEST + 0 * 4]
    and eax, PTE_A | PTE_D
    check_eq eax, PTE_A, "read sets A in the PTE and leaves D clear"
    mov eax, [PAGE_DIR + 2 * 4]
    and eax, PTE_A
    check_eq eax, PTE_A, "read sets A in the PDE"
    mov dword [VA_RW], 1
    mov eax, [PT_TEST + 0 * 4]
    and eax, PTE_A | PTE_D
    check_eq eax, PTE_A | PTE_D, "write sets D in the PTE"

    and dword [PAGE_DIR + 4 * 4], ~(PTE_A | PTE_D)
    invlpg [VA_BIG]
    mov eax, [VA_BIG + 8]
    mov eax, [PAGE_DIR + 4 * 4]
    and eax, PTE_A | PTE_D
    check_eq eax, PTE_A, "4 MiB page: read sets A in the PDE, D clear"
    mov dword [VA_BIG + 8], 2
    mov eax, [PAGE_DIR + 4 * 4]
    and eax, PTE_A | PTE_D
    check_eq eax, PTE_A | PTE_D, "4 MiB page: write sets D in the PDE"
    prefix_pop
    ret

; ---------------------------------------------------------------------------------------------------- flushing
; Changing a PTE without a flush may leave the old translation in use (SDM Vol. 3 4.10.4.2), so only the
; state after INVLPG / MOV CR3 is checked.
test_flush:
    prefix_push "TLB"
    check_eq dword [VA_REMAP], MAGIC_X, "0x803000 maps PHYS_X"
    mov dword [PT_TEST + 3 * 4], PHYS_Y | PTE_P | PTE_W
    invlpg [VA_REMAP]
    check_eq dword [VA_REMAP], MAGIC_Y, "after INVLPG the new mapping (PHYS_Y) is used"
    mov dword [PT_TEST + 3 * 4], PHYS_X | PTE_P | PTE_W
    mov eax, cr3
    mov cr3, eax
    check_eq dword [VA_REMAP], MAGIC_X, "after MOV CR3 the new mapping (PHYS_X) is used"
    mov dword [PT_TEST + 3 * 4], 0
    invlpg [VA_REMAP]
    expect_exception VEC_PF, .r1
    mov eax, [VA_REMAP]
.r1:
    expect_done
    check_eq dword [exc_vector], VEC_PF, "after clearing P and INVLPG the access faults"
    check_eq dword [exc_cr2], VA_REMAP, "and CR2 = the unmapped address"
    prefix_pop
    ret

%include "lib/image-end.inc"
%include "lib/bss-end.inc"
