; guests/iommu.asm: VT-d as a driver sees it: VER/CAP/ECAP/GSTS at reset, root/context/3-level tables, SRTP, CCMD/IOTLB invalidation, TE, e1000 TX by IOVA, read/write-denied faults in FSTS/FRCD, the fault event MSI, NIC MSI interrupt remapping and the compatibility-format block.
; Leaves queued invalidation, pass-through, super pages, PSI, caching and the other fault reasons to test/devices (unit level); receive DMA to netperf-*.asm (it needs the link peer).
;
; devices.md 3.1 (register map), 3.2 (CAP/ECAP), 3.3 (GCMD/GSTS protocol), 3.4 (root/context entries),
; 3.5 (second-level PTEs and the walk: no present bit, R checked at every level), 3.6 (fault recording:
; FRCD layout, FSTS.PPF/FRI, the fault event MSI), 3.7 (CCMD/IOTLB invalidation), 3.8 (interrupt remapping),
; 3.9 (the kvm-unit-tests sequence); 1.6.2/1.7.1 (TX descriptors, DD write-back), 1.12 (MSI capability),
; 2.5 (requester ID 0x0018). Transmitting needs no link peer: the frame goes nowhere but DD is written back.
; A faulting DMA read returns all-ones to the NIC (3.5: emulator choice) and the NIC carries on, so the
; faulting descriptor still completes. exitless only: QEMU's `pc` board has no VT-d unit at 0xFED90000.

bits 32
org 0x100000                        ; KERNEL_LOAD_ADDR (lib/multiboot.inc)

%define E1000_RX_COUNT 8
%define E1000_TX_COUNT 8
%define E1000_ITR 0

%include "lib/multiboot.inc"
%include "lib/serial.inc"
%include "lib/exit.inc"
%include "lib/report.inc"
%include "lib/start.inc"
%include "lib/pci.inc"
%include "lib/e1000.inc"

VTD_BASE            equ 0xFED90000
VTD_VER             equ 0x000
VTD_CAP             equ 0x008
VTD_ECAP            equ 0x010
VTD_GCMD            equ 0x018
VTD_GSTS            equ 0x01C
VTD_RTADDR          equ 0x020
VTD_CCMD            equ 0x028
VTD_FSTS            equ 0x034
VTD_FECTL           equ 0x038
VTD_FEDATA          equ 0x03C
VTD_FEADDR          equ 0x040
VTD_FEUADDR         equ 0x044
VTD_IRTA            equ 0x0B8

GCMD_TE             equ 1 << 31
GCMD_SRTP           equ 1 << 30
GCMD_IRE            equ 1 << 25
GCMD_SIRTP          equ 1 << 24
GSTS_ONESHOT_MASK   equ 0x96FFFFFF      ; drops RTPS, FLS, WBFS, IRTPS (devices.md 3.3)
FSTS_PFO            equ 1 << 0
FSTS_PPF            equ 1 << 1
FECTL_IM            equ 1 << 31
FECTL_IP            equ 1 << 30
FRCD_F              equ 1 << 31         ; in dword +C
FRCD_T_READ         equ 1 << 30         ; in dword +C
CCMD_ICC_GLOBAL     equ 0xA0000000      ; high dword: ICC (63) | CIRG = 01 (62:61)
IOTLB_IVT_GLOBAL    equ 0x90000000      ; high dword: IVT (63) | IIRG = 01 (61:60)
FR_WRITE_DENIED     equ 0x05
FR_READ_DENIED      equ 0x06
FR_IR_COMPAT        equ 0x25

SLPTE_R             equ 1
SLPTE_W             equ 2
NIC_BDF             equ 0x0018          ; 00:03.0: requester ID (devices.md 2.5)
NIC_DOMAIN          equ 1

; The IOVA window the NIC sees (one 4 KiB leaf table: L3 index 0, L2 index 0x80).
IOVA_RING           equ 0x10000000      ; -> tx_ring_page, read/write
IOVA_BUF            equ 0x10001000      ; -> tx_buf_page, read-only
IOVA_HOLE           equ 0x10002000      ; not mapped (fault check)
IOVA_HOLE2          equ 0x10003000      ; not mapped (fault event check)
IOVA_RING_RO        equ 0x10004000      ; -> tx_ring_page again, read-only (write-back fault check)

IA32_APIC_BASE      equ 0x1B
X2APIC_SVR          equ 0x80F
FAULT_VECTOR        equ 0x50
NIC_IR_VECTOR       equ 0x51
IRTE_INDEX          equ 1
TX_FRAME_LEN        equ 60
TXD_CMD             equ E1000_TXD_CMD_EOP | E1000_TXD_CMD_IFCS | E1000_TXD_CMD_RS

main:
    call test_registers
    call test_setup
    cmp dword [setup_ok], 0
    je .done
    call test_translated_tx
    call test_fault
    call test_fault_event
    call test_write_fault
    call test_interrupt_remap
.done:
    ret

; ---------------------------------------------------------------------------------------------------- helpers

; vtd_read: ECX = register offset -> EAX.  vtd_write: ECX = offset, EAX = value.  32-bit accesses only.
vtd_read:
    mov eax, [VTD_BASE + ecx]
    ret
vtd_write:
    mov [VTD_BASE + ecx], eax
    ret

; vtd_gcmd: EAX = GCMD bit to set; GCMD = (GSTS & 0x96FFFFFF) | bit, then poll GSTS for it (bounded).
; -> EAX = 1 if the status bit came up.
vtd_gcmd:
    push ecx
    push edx
    mov edx, eax
    mov ecx, VTD_GSTS
    call vtd_read
    and eax, GSTS_ONESHOT_MASK
    or eax, edx
    mov ecx, VTD_GCMD
    call vtd_write
    mov ecx, VTD_GSTS
    push ebx
    mov ebx, 100000
.poll:
    call vtd_read
    test eax, edx
    jnz .ok
    dec ebx
    jnz .poll
    pop ebx
    mov eax, 0
    jmp .done
.ok:
    pop ebx
    mov eax, 1
.done:
    pop edx
    pop ecx
    ret

; vtd_poll_clear: ECX = register, EDX = bit -> EAX = 1 once (register & bit) == 0 (bounded).
vtd_poll_clear:
    push ebx
    mov ebx, 100000
.poll:
    call vtd_read
    test eax, edx
    jz .ok
    dec ebx
    jnz .poll
    mov eax, 0
    pop ebx
    ret
.ok:
    mov eax, 1
    pop ebx
    ret

; tx_queue: EAX = buffer IOVA; fills descriptor [tx_next] of tx_ring_page, bumps TDT, waits (bounded) for DD.
; -> EAX = 1 if DD was written back.
tx_queue:
    push ebx
    push ecx
    push edi
    mov ebx, [tx_next]
    mov edi, ebx
    shl edi, 4
    add edi, tx_ring_page
    mov [edi], eax
    mov dword [edi + 4], 0
    mov dword [edi + 8], TXD_CMD | TX_FRAME_LEN
    mov dword [edi + 12], 0
    inc ebx
    and ebx, E1000_TX_COUNT - 1
    mov [tx_next], ebx
    mov eax, ebx
    mov ecx, E1000_TDT
    call e1000_write
    mov ecx, 1000000
.wait:
    test dword [edi + 12], E1000_TXD_STA_DD
    jnz .ok
    dec ecx
    jnz .wait
    mov eax, 0
    jmp .done
.ok:
    mov eax, 1
.done:
    pop edi
    pop ecx
    pop ebx
    ret

; frcd_at: EAX = FRCD index -> ESI = its address (VTD_BASE + FRO * 16 + 16 * index).
frcd_at:
    mov esi, eax
    shl esi, 4
    add esi, [frcd_base]
    ret

; ---------------------------------------------------------------------------------------------------- registers

test_registers:
    prefix_push "registers"
    mov ecx, VTD_VER
    call vtd_read
    shr eax, 4
    and eax, 0xF
    check_eq eax, 1, "VER major 1"
    mov ecx, VTD_CAP
    call vtd_read
    mov ebx, eax
    shr eax, 8
    and eax, 2
    check_eq eax, 2, "CAP.SAGAW includes 39-bit (3-level)"
    mov ecx, VTD_CAP + 4
    call vtd_read
    shl eax, 8                          ; FRO = CAP bits 33:24
    shr ebx, 24
    or eax, ebx
    and eax, 0x3FF
    shl eax, 4
    check_eq eax, 0x220, "CAP.FRO: fault recording registers at 0x220"
    add eax, VTD_BASE
    mov [frcd_base], eax
    mov ecx, VTD_ECAP
    call vtd_read
    mov ebx, eax
    shr eax, 8
    and eax, 0x3FF
    shl eax, 4
    add eax, 8
    mov [iotlb_reg], eax
    check_eq eax, 0xF8, "ECAP.IRO: IOTLB register at 0xF8"
    mov eax, ebx
    and eax, 1 << 3
    check_eq eax, 1 << 3, "ECAP.IR: interrupt remapping supported"
    mov ecx, VTD_GSTS
    call vtd_read
    check_eq eax, 0, "GSTS = 0 after reset"
    mov ecx, VTD_FECTL
    call vtd_read
    check_eq eax, FECTL_IM, "FECTL = IM after reset"
    mov ecx, VTD_FSTS
    call vtd_read
    check_eq eax, 0, "FSTS = 0 after reset"
    prefix_pop
    ret

; ---------------------------------------------------------------------------------------------------- setup

test_setup:
    prefix_push "setup"
    call e1000_init
    check_eq eax, 1, "e1000_init found the NIC (translation off: identity)"
    cmp eax, 1
    jne .out
    mov ecx, E1000_RCTL                 ; no receive DMA while the tables change (nothing is attached anyway)
    mov eax, 0
    call e1000_write

    ; Root entry for bus 0 -> context table; context entry for devfn 0x18 (devices.md 3.4).
    mov dword [vtd_root], vtd_ctx + 1
    mov dword [vtd_ctx + NIC_BDF * 16], vtd_l3 + 1          ; P, FPD = 0, TT = 00, SLPTPTR
    mov dword [vtd_ctx + NIC_BDF * 16 + 8], 1 | (NIC_DOMAIN << 8)   ; AW = 1 (39-bit, 3-level), DID
    ; Second-level tables (3.5): L3[0] -> L2, L2[0x80] -> L1, leaves.
    mov dword [vtd_l3], vtd_l2 + (SLPTE_R | SLPTE_W)
    mov dword [vtd_l2 + ((IOVA_RING >> 21) & 0x1FF) * 8], vtd_l1 + (SLPTE_R | SLPTE_W)
    mov dword [vtd_l1 + ((IOVA_RING >> 12) & 0x1FF) * 8], tx_ring_page + (SLPTE_R | SLPTE_W)
    mov dword [vtd_l1 + ((IOVA_BUF >> 12) & 0x1FF) * 8], tx_buf_page + SLPTE_R
    mov dword [vtd_l1 + ((IOVA_RING_RO >> 12) & 0x1FF) * 8], tx_ring_page + SLPTE_R

    mov ecx, VTD_RTADDR
    mov eax, vtd_root
    call vtd_write
    mov ecx, VTD_RTADDR + 4
    mov eax, 0
    call vtd_write
    mov ecx, VTD_RTADDR
    call vtd_read
    check_eq eax, vtd_root, "RTADDR reads back"
    mov eax, GCMD_SRTP
    call vtd_gcmd
    check_eq eax, 1, "GCMD.SRTP -> GSTS.RTPS"

    ; Global context-cache and IOTLB invalidation, register-based (3.7): the command bits self-clear.
    mov ecx, VTD_CCMD
    mov eax, 0
    call vtd_write
    mov ecx, VTD_CCMD + 4
    mov eax, CCMD_ICC_GLOBAL
    call vtd_write
    mov edx, 1 << 31
    call vtd_poll_clear
    check_eq eax, 1, "CCMD.ICC self-clears (global context invalidation)"
    mov ecx, [iotlb_reg]
    mov eax, 0
    call vtd_write
    add ecx, 4
    mov eax, IOTLB_IVT_GLOBAL
    call vtd_write
    mov edx, 1 << 31
    call vtd_poll_clear
    check_eq eax, 1, "IOTLB.IVT self-clears (global IOTLB invalidation)"

    mov eax, GCMD_TE
    call vtd_gcmd
    check_eq eax, 1, "GCMD.TE -> GSTS.TES"
    mov ecx, VTD_GSTS
    call vtd_read
    and eax, GCMD_TE | GCMD_SRTP
    check_eq eax, GCMD_TE | GCMD_SRTP, "GSTS = TES | RTPS"
    mov ecx, VTD_FSTS
    call vtd_read
    check_eq eax, 0, "no fault from enabling translation"
    mov dword [setup_ok], 1
.out:
    prefix_pop
    ret

; ---------------------------------------------------------------------------------------------------- TX via IOVA

test_translated_tx:
    prefix_push "translated TX"
    ; The frame: broadcast, our MAC, EtherType 0x88B5.
    mov dword [tx_buf_page], 0xFFFFFFFF
    mov word [tx_buf_page + 4], 0xFFFF
    mov eax, [e1000_mac]
    mov [tx_buf_page + 6], eax
    mov ax, [e1000_mac + 4]
    mov [tx_buf_page + 10], ax
    mov word [tx_buf_page + 12], 0xB588

    ; Re-point the transmitter at the IOVA ring (1.11 step 8 with IOVAs).
    mov ecx, E1000_TCTL
    mov eax, 0
    call e1000_write
    mov ecx, E1000_TDBAL
    mov eax, IOVA_RING
    call e1000_write
    mov ecx, E1000_TDBAH
    mov eax, 0
    call e1000_write
    mov ecx, E1000_TDLEN
    mov eax, E1000_TX_COUNT * 16
    call e1000_write
    mov ecx, E1000_TDH
    mov eax, 0
    call e1000_write
    mov ecx, E1000_TDT
    call e1000_write
    mov dword [tx_next], 0
    mov ecx, E1000_TCTL
    mov eax, E1000_TCTL_VALUE
    call e1000_write
    mov ecx, E1000_GPTC
    call e1000_read                     ; read-to-clear

    mov eax, IOVA_BUF
    call tx_queue
    check_eq eax, 1, "descriptor 0 (ring and buffer by IOVA): DD written back through the translation"
    mov ecx, E1000_TDH
    call e1000_read
    check_eq eax, 1, "TDH advanced to 1"
    mov eax, [tx_ring_page + 8]
    check_eq eax, TXD_CMD | TX_FRAME_LEN, "descriptor 0 length and CMD kept"
    mov ecx, E1000_GPTC
    call e1000_read
    check_eq eax, 1, "GPTC = 1"
    mov ecx, VTD_FSTS
    call vtd_read
    check_eq eax, 0, "FSTS = 0: no fault for mapped IOVAs"
    prefix_pop
    ret

; ---------------------------------------------------------------------------------------------------- DMA fault

test_fault:
    prefix_push "DMA fault"
    mov eax, IOVA_HOLE
    call tx_queue
    check_eq eax, 1, "descriptor 1 (buffer IOVA unmapped): still completes (DD)"
    mov ecx, E1000_TDH
    call e1000_read
    check_eq eax, 2, "TDH advanced to 2"
    mov ecx, VTD_FSTS
    call vtd_read
    mov ebx, eax
    and eax, FSTS_PPF | FSTS_PFO
    check_eq eax, FSTS_PPF, "FSTS.PPF set (no overflow)"
    mov eax, ebx
    shr eax, 8
    and eax, 0xFF
    check_eq eax, 0, "FSTS.FRI = 0"
    mov ecx, VTD_FECTL
    call vtd_read
    check_eq eax, FECTL_IM | FECTL_IP, "FECTL: IP pending while IM masks it"
    mov eax, 0
    call frcd_at
    mov eax, [esi]
    check_eq eax, IOVA_HOLE, "FRCD[0].FI = the faulting IOVA page"
    mov eax, [esi + 4]
    check_eq eax, 0, "FRCD[0].FI high = 0"
    mov eax, [esi + 8]
    and eax, 0xFFFF
    check_eq eax, NIC_BDF, "FRCD[0].SID = 0x0018"
    mov eax, [esi + 12]
    and eax, FRCD_F | FRCD_T_READ | 0xFF
    check_eq eax, FRCD_F | FRCD_T_READ | FR_READ_DENIED, "FRCD[0]: F, T = read, FR = 6 (read not allowed)"
    ; Free the record (write 1 to F), then PFO; PPF, PFO and IP clear.
    mov dword [esi + 12], FRCD_F
    mov eax, [esi + 12]
    and eax, FRCD_F
    check_eq eax, 0, "FRCD[0].F cleared by writing 1"
    mov ecx, VTD_FSTS
    mov eax, FSTS_PFO
    call vtd_write
    call vtd_read
    and eax, 0xFF                       ; FRI (15:8) is only valid while PPF is set (VT-d 10.4.9): it may stay
    check_eq eax, 0, "FSTS status bits clear after the record is freed"
    mov ecx, VTD_FECTL
    call vtd_read
    check_eq eax, FECTL_IM, "FECTL.IP cleared"
    prefix_pop
    ret

; ---------------------------------------------------------------------------------------------------- fault event

test_fault_event:
    prefix_push "fault event"
    ; x2APIC on, software-enabled (guests/apic-selfipi.asm).
    mov ecx, IA32_APIC_BASE
    rdmsr
    or eax, 0xC00
    wrmsr
    mov ecx, X2APIC_SVR
    mov eax, 0x1FF
    xor edx, edx
    wrmsr
    mov eax, FAULT_VECTOR
    mov ebx, fault_isr
    mov ecx, IDT_INT_GATE
    call idt_set_gate

    mov ecx, VTD_FEDATA
    mov eax, FAULT_VECTOR
    call vtd_write
    mov ecx, VTD_FEADDR
    mov eax, 0xFEE00000
    call vtd_write
    mov ecx, VTD_FEUADDR
    mov eax, 0
    call vtd_write
    mov ecx, VTD_FECTL
    mov eax, 0
    call vtd_write
    call vtd_read
    check_eq eax, 0, "FECTL.IM cleared"

    cli
    mov eax, IOVA_HOLE2
    call tx_queue
    check_eq eax, 1, "descriptor 2 (another unmapped IOVA): DD"
    check_eq dword [fault_irqs], 0, "fault event waits while IF = 0"
    sti
    nop
    cli
    check_eq dword [fault_irqs], 1, "fault event MSI delivered (vector 0x50) once after STI"
    mov ecx, VTD_FSTS
    call vtd_read
    mov ebx, eax
    and eax, FSTS_PPF
    check_eq eax, FSTS_PPF, "FSTS.PPF set"
    mov eax, ebx
    shr eax, 8
    and eax, 0xFF
    mov [fri], eax
    check_eq eax, 1, "FSTS.FRI = 1 (the next record)"
    mov ecx, VTD_FECTL
    call vtd_read
    check_eq eax, 0, "FECTL.IP clear: the event was sent"
    mov eax, [fri]
    call frcd_at
    mov eax, [esi]
    check_eq eax, IOVA_HOLE2, "FRCD[1].FI = the faulting IOVA page"
    mov eax, [esi + 8]
    and eax, 0xFFFF
    check_eq eax, NIC_BDF, "FRCD[1].SID = 0x0018"
    mov eax, [esi + 12]
    and eax, FRCD_F | FRCD_T_READ | 0xFF
    check_eq eax, FRCD_F | FRCD_T_READ | FR_READ_DENIED, "FRCD[1]: F, T = read, FR = 6"
    mov dword [esi + 12], FRCD_F
    mov ecx, VTD_FSTS
    call vtd_read
    and eax, 0xFF                       ; FRI (15:8) is only valid while PPF is set (VT-d 10.4.9): it may stay
    check_eq eax, 0, "FSTS status bits clear after the record is freed"
    prefix_pop
    ret

fault_isr:
    push eax
    push ecx
    push edx
    inc dword [fault_irqs]
    mov ecx, X2APIC_EOI_MSR
    xor eax, eax
    xor edx, edx
    wrmsr
    pop edx
    pop ecx
    pop eax
    iretd

; ---------------------------------------------------------------------------------------------------- write fault

; The ring through a read-only alias: the descriptor fetch (read) works, the DD write-back is denied
; (fault 5, T = write; devices.md 3.5, 3.6) and is discarded, so DD stays clear in memory.
test_write_fault:
    prefix_push "write fault"
    mov dword [fault_irqs], 0
    mov ecx, E1000_TCTL
    mov eax, 0
    call e1000_write
    mov ecx, E1000_TDBAL
    mov eax, IOVA_RING_RO
    call e1000_write
    mov ecx, E1000_TDH
    mov eax, 0
    call e1000_write
    mov ecx, E1000_TDT
    call e1000_write
    mov ecx, E1000_TCTL
    mov eax, E1000_TCTL_VALUE
    call e1000_write
    mov dword [tx_ring_page], IOVA_BUF
    mov dword [tx_ring_page + 4], 0
    mov dword [tx_ring_page + 8], TXD_CMD | TX_FRAME_LEN
    mov dword [tx_ring_page + 12], 0
    mov ecx, E1000_TDT
    mov eax, 1
    call e1000_write
    mov ecx, E1000_TDH
    mov edx, 100000
.wait:
    call e1000_read
    cmp eax, 1
    je .moved
    dec edx
    jnz .wait
.moved:
    check_eq eax, 1, "TDH advanced: the descriptor was fetched through the read-only alias"
    mov eax, [tx_ring_page + 12]
    and eax, E1000_TXD_STA_DD
    check_eq eax, 0, "DD write-back blocked: memory unchanged"
    sti
    nop
    cli
    check_eq dword [fault_irqs], 1, "fault event delivered"
    mov ecx, VTD_FSTS
    call vtd_read
    mov ebx, eax
    and eax, FSTS_PPF | FSTS_PFO
    check_eq eax, FSTS_PPF, "FSTS.PPF set (no overflow)"
    mov eax, ebx
    shr eax, 8
    and eax, 0xFF
    check_eq eax, 2, "FSTS.FRI = 2"
    call frcd_at
    mov eax, [esi]
    check_eq eax, IOVA_RING_RO, "FRCD[2].FI = the read-only ring alias"
    mov eax, [esi + 8]
    and eax, 0xFFFF
    check_eq eax, NIC_BDF, "FRCD[2].SID = 0x0018"
    mov eax, [esi + 12]
    and eax, FRCD_F | FRCD_T_READ | 0xFF
    check_eq eax, FRCD_F | FR_WRITE_DENIED, "FRCD[2]: F, T = write, FR = 5 (write not allowed)"
    mov dword [esi + 12], FRCD_F
    mov ecx, VTD_FSTS
    call vtd_read
    and eax, 0xFF
    check_eq eax, 0, "FSTS status bits clear after the record is freed"
    prefix_pop
    ret

; ---------------------------------------------------------------------------------------------------- IR

test_interrupt_remap:
    prefix_push "interrupt remapping"
    mov ebx, NIC_BDF
    mov eax, PCI_CAP_ID_MSI
    call pci_find_cap
    mov [msi_cap], eax
    test eax, eax
    jnz .have_msi
    report_skip "the NIC has no MSI capability"
    prefix_pop
    ret
.have_msi:
    mov eax, NIC_IR_VECTOR
    mov ebx, nic_isr
    mov ecx, IDT_INT_GATE
    call idt_set_gate

    ; IRTE[1] (devices.md 3.8, 3.9): P, fixed, edge, physical, V = 0x51, DST = APIC 0 (xAPIC format,
    ; no EIM), SID = 0x0018 with SVT = 01 (full compare).
    mov dword [vtd_irt + IRTE_INDEX * 16], 1 | (NIC_IR_VECTOR << 16)
    mov dword [vtd_irt + IRTE_INDEX * 16 + 4], 0
    mov dword [vtd_irt + IRTE_INDEX * 16 + 8], NIC_BDF | (1 << 18)
    mov dword [vtd_irt + IRTE_INDEX * 16 + 12], 0
    mov ecx, VTD_IRTA
    mov eax, vtd_irt + 7                ; S = 7: 256 entries
    call vtd_write
    mov ecx, VTD_IRTA + 4
    mov eax, 0
    call vtd_write
    mov eax, GCMD_SIRTP
    call vtd_gcmd
    check_eq eax, 1, "GCMD.SIRTP -> GSTS.IRTPS"
    mov eax, GCMD_IRE
    call vtd_gcmd
    check_eq eax, 1, "GCMD.IRE -> GSTS.IRES"
    mov ecx, VTD_GSTS
    call vtd_read
    and eax, GCMD_TE
    check_eq eax, GCMD_TE, "TES still set"

    ; The NIC's MSI in remappable format: handle = 1, SHV = 0, data 0 (3.8, 3.9).
    mov ebx, NIC_BDF
    mov ecx, [msi_cap]
    add ecx, PCI_MSI_ADDRESS_LO
    mov eax, 0xFEE00000 | (IRTE_INDEX << 5) | (1 << 4)
    call pci_write32
    mov ecx, [msi_cap]
    add ecx, PCI_MSI_DATA_64
    mov eax, 0
    call pci_write16
    mov ecx, [msi_cap]
    add ecx, PCI_MSI_FLAGS
    call pci_read16
    and eax, PCI_MSI_FLAGS_ENABLE
    check_eq eax, PCI_MSI_FLAGS_ENABLE, "NIC MSI enabled"

    ; Raise a NIC interrupt: IMS = LSC, ICS = LSC -> MSI -> IRTE[1] -> vector 0x51.
    cli
    mov ecx, E1000_ICR
    call e1000_read
    mov ecx, E1000_IMS
    mov eax, E1000_ICR_LSC
    call e1000_write
    mov ecx, E1000_ICS
    call e1000_write
    sti
    nop
    cli
    check_eq dword [nic_irqs], 1, "NIC MSI remapped to vector 0x51 and delivered once"
    check_eq dword [nic_icr], E1000_ICR_LSC, "the handler saw ICR = LSC"
    mov ecx, VTD_FSTS
    call vtd_read
    and eax, 0xFF
    check_eq eax, 0, "no fault for the remapped MSI (FSTS status bits clear)"

    ; A compatibility-format MSI is blocked while IRE = 1 and CFIS = 0: fault 0x25 (3.8), and the
    ; fault event (still unmasked) arrives on vector 0x50.
    mov dword [fault_irqs], 0
    mov ebx, NIC_BDF
    mov ecx, [msi_cap]
    add ecx, PCI_MSI_ADDRESS_LO
    mov eax, 0xFEE00000
    call pci_write32
    mov ecx, [msi_cap]
    add ecx, PCI_MSI_DATA_64
    mov eax, NIC_IR_VECTOR
    call pci_write16
    mov ecx, E1000_ICS
    mov eax, E1000_ICR_LSC
    call e1000_write
    sti
    nop
    cli
    check_eq dword [nic_irqs], 1, "compatibility-format MSI not delivered"
    check_eq dword [fault_irqs], 1, "fault event for the blocked MSI"
    mov ecx, VTD_FSTS
    call vtd_read
    mov ebx, eax
    and eax, FSTS_PPF
    check_eq eax, FSTS_PPF, "FSTS.PPF set"
    mov eax, ebx
    shr eax, 8
    and eax, 0xFF
    call frcd_at
    mov eax, [esi + 8]
    and eax, 0xFFFF
    check_eq eax, NIC_BDF, "FRCD.SID = 0x0018"
    mov eax, [esi + 12]
    and eax, FRCD_F | 0xFF
    check_eq eax, FRCD_F | FR_IR_COMPAT, "FRCD: F, FR = 0x25 (compatibility format blocked)"
    mov dword [esi + 12], FRCD_F
    mov ecx, VTD_FSTS
    call vtd_read
    and eax, 0xFF                       ; FRI (15:8) is only valid while PPF is set (VT-d 10.4.9): it may stay
    check_eq eax, 0, "FSTS status bits clear after the record is freed"
    mov ecx, E1000_IMC
    mov eax, 0xFFFFFFFF
    call e1000_write
    prefix_pop
    ret

nic_isr:
    push eax
    push ecx
    push edx
    inc dword [nic_irqs]
    mov ecx, E1000_ICR
    call e1000_read
    mov [nic_icr], eax
    mov ecx, X2APIC_EOI_MSR
    xor eax, eax
    xor edx, edx
    wrmsr
    pop edx
    pop ecx
    pop eax
    iretd

setup_ok:   dd 0
frcd_base:  dd 0
iotlb_reg:  dd 0
tx_next:    dd 0
fri:        dd 0
fault_irqs: dd 0
nic_irqs:   dd 0
nic_icr:    dd 0
msi_cap:    dd 0

%include "lib/image-end.inc"
%include "lib/e1000-bss.inc"
    alignb 4096
vtd_root:       resb 4096
vtd_ctx:        resb 4096
vtd_l3:         resb 4096
vtd_l2:         resb 4096
vtd_l1:         resb 4096
vtd_irt:        resb 4096
tx_ring_page:   resb 4096
tx_buf_page:    resb 4096
%include "lib/bss-end.inc"
