; guests/nic-regs.asm: the e1000's PCI face and register semantics as a driver sees them: bus-0 scan, identity,
; BAR sizing and programming, the MSI capability, CTRL.RST, STATUS.LU, EERD (MAC and the EEPROM checksum),
; RAL/RAH and the AV bit, ICR read-to-clear, ICS/IMS/IMC, MSI delivery and ITR throttling, RDLEN masking,
; transmit with DD write-back, TDH advance, TXDW/TXQE, statistics, and ring wrap.
; Leaves receive traffic to netperf-stream.asm / netperf-rr.asm (they need the link peer).
;
; devices.md 1 (e1000), 1.12 (MSI capability), 2 (PCI). Transmitting needs no peer: a frame nobody receives
; is still sent by the NIC (descriptor written back, TDH advanced, counters bumped). Written to pass on
; QEMU's e1000 too (00:03.0 is QEMU's default NIC on `pc`): there the MSI checks SKIP (QEMU's e1000 has no
; capability list). Not in manifest.json: exitless and QEMU print different lines (MSI PASS vs SKIP), and the
; exitless board has no NIC yet.

bits 32
org 0x100000                        ; KERNEL_LOAD_ADDR (lib/multiboot.inc)

%define E1000_RX_COUNT 8            ; the smallest rings (RDLEN/TDLEN multiple of 128): 8 descriptors
%define E1000_TX_COUNT 8
%define E1000_ITR 0

%include "lib/multiboot.inc"
%include "lib/serial.inc"
%include "lib/exit.inc"
%include "lib/report.inc"
%include "lib/start.inc"
%include "lib/pci.inc"
%include "lib/e1000.inc"

IA32_APIC_BASE      equ 0x1B
X2APIC_SVR          equ 0x80F
NIC_BDF             equ 0x0018      ; 00:03.0 (devices.md 2.5)
PEER_MAC_LO32       equ 0x00005452  ; 52:54:00:00:00:01 as little-endian: bytes 0-3 ...
PEER_MAC_LO16       equ 0x0100      ; ... and bytes 4-5
ETHERTYPE_BE        equ 0xB588      ; 0x88B5 in network order, as a little-endian word
TX_FRAME_LEN        equ 60
ITR_TEST            equ 400         ; 400 * 256 ns = 102.4 us = 102400 cycles at 1 GHz

main:
    call test_pci
    cmp dword [nic_found], 0
    je .done
    call test_registers
    call test_interrupt_regs
    call test_init_and_rings
    call test_transmit
    call test_msi
.done:
    ret

; ---------------------------------------------------------------------------------------------------- PCI

test_pci:
    prefix_push "pci"
    mov eax, E1000_VENDOR_DEVICE
    call pci_find
    cmp eax, PCI_NONE
    jne .found
    report_skip "no 8086:100E on bus 0: every NIC check skipped"
    prefix_pop
    ret
.found:
    mov dword [nic_found], 1
    mov ebx, eax
    check_eq ebx, NIC_BDF, "8086:100E found at 00:03.0"
    mov ecx, PCI_CLASS_REVISION
    call pci_read32
    shr eax, 8
    check_eq eax, 0x020000, "class code 020000 (Ethernet controller)"
    mov ecx, PCI_HEADER_TYPE
    call pci_read8
    and eax, 0x7F
    check_eq eax, 0, "header type 0"
    mov ecx, PCI_INTERRUPT_PIN
    call pci_read8
    check_eq eax, 1, "interrupt pin INTA#"
    mov ecx, PCI_VENDOR_ID
    call pci_read16
    check_eq eax, 0x8086, "16-bit config read of the vendor ID"
    mov ecx, PCI_DEVICE_ID
    call pci_read16
    check_eq eax, 0x100E, "16-bit config read of the device ID (port 0xCFE)"

    ; BAR sizing (devices.md 2.3): write all-ones, read back, restore.
    mov ecx, 0
    call pci_bar_probe
    mov [bar_raw], edx
    check_eq eax, 0x20000, "BAR0 size 128 KiB"
    check_eq dword [bar_raw], 0xFFFE0000, "BAR0 all-ones read-back 0xFFFE0000 (32-bit, non-prefetchable memory)"
    mov ecx, 1
    call pci_bar_probe
    mov [bar_raw], edx
    check_eq eax, 0x40, "BAR1 size 0x40 (I/O)"
    check_eq dword [bar_raw], 0xFFFFFFC1, "BAR1 all-ones read-back 0xFFFFFFC1"
    mov ecx, 2
    call pci_bar_probe
    check_eq eax, 0, "BAR2 unimplemented (reads 0 after all-ones)"

    ; Program BAR0, enable Memory Space and Bus Master.
    mov ecx, 0
    mov eax, E1000_BAR0_ADDR
    call pci_bar_set
    call pci_bar_address
    check_eq eax, E1000_BAR0_ADDR, "BAR0 programmed at 0xE0000000"
    mov [e1000_mmio], eax
    mov eax, PCI_CMD_MEM | PCI_CMD_MASTER
    call pci_command_set
    mov ecx, PCI_COMMAND
    call pci_read16
    and eax, PCI_CMD_MEM | PCI_CMD_MASTER
    check_eq eax, PCI_CMD_MEM | PCI_CMD_MASTER, "Command: Memory Space and Bus Master set"

    ; The MSI capability (devices.md 1.12): ours has one at 0xD0, 64-bit capable; QEMU's e1000 none.
    mov eax, PCI_CAP_ID_MSI
    call pci_find_cap
    mov [msi_cap], eax
    test eax, eax
    jnz .msi
    report_skip "no MSI capability (QEMU's e1000 has none)"
    prefix_pop
    ret
.msi:
    mov ecx, PCI_STATUS
    call pci_read16
    and eax, PCI_STATUS_CAPLIST
    check_eq eax, PCI_STATUS_CAPLIST, "Status bit 4: capability list"
    check_eq dword [msi_cap], 0xD0, "MSI capability at 0xD0"
    mov ecx, [msi_cap]
    add ecx, PCI_MSI_FLAGS
    call pci_read16
    check_eq eax, 0x0080, "MSI control 0x0080 at reset (64-bit capable, one vector, disabled)"
    mov ecx, [msi_cap]
    inc ecx
    call pci_read8
    check_eq eax, 0, "MSI is the last capability"
    ; Address bits 1:0 read 0; data at +0xC (0xDC) is 16 bits.
    mov ecx, [msi_cap]
    add ecx, PCI_MSI_ADDRESS_LO
    mov eax, 0xFEE00003
    call pci_write32
    call pci_read32
    check_eq eax, 0xFEE00000, "MSI address low: bits 1:0 read 0"
    mov ecx, [msi_cap]
    add ecx, PCI_MSI_DATA_64
    mov eax, 0x12345678
    call pci_write32
    call pci_read32
    check_eq eax, 0x5678, "MSI data at 0xDC is 16 bits (upper half reads 0)"
    mov eax, 0
    call pci_write32
    prefix_pop
    ret

; ---------------------------------------------------------------------------------------------------- registers

test_registers:
    prefix_push "registers"
    mov ecx, E1000_STATUS
    call e1000_read
    and eax, E1000_STATUS_LU
    check_eq eax, E1000_STATUS_LU, "STATUS.LU: link up"

    ; CTRL.RST self-clears (devices.md 1.3.1).
    mov ecx, E1000_CTRL
    call e1000_read
    or eax, E1000_CTRL_RST
    call e1000_write
    mov edx, 1000
.rst:
    call e1000_read
    test eax, E1000_CTRL_RST
    jz .rst_done
    dec edx
    jnz .rst
.rst_done:
    and eax, E1000_CTRL_RST
    check_eq eax, 0, "CTRL.RST reads back 0 (self-clearing)"

    ; EEPROM through EERD (1.9): the MAC words, the checksum over words 0..3F.
    mov ebx, 0                          ; word address
    mov edx, 0                          ; 16-bit sum
.sum:
    mov eax, ebx
    call e1000_eerd
    cmp ebx, 3
    jae .not_mac
    mov [eeprom_mac + ebx * 2], ax
.not_mac:
    cmp ebx, 0x0D
    jne .not_did
    mov [eeprom_did], eax
.not_did:
    cmp ebx, 0x0E
    jne .not_vid
    mov [eeprom_vid], eax
.not_vid:
    add edx, eax
    inc ebx
    cmp ebx, 0x40
    jb .sum
    and edx, 0xFFFF
    check_eq edx, 0xBABA, "EEPROM words 0..3F sum to 0xBABA"
    check_eq dword [eeprom_did], 0x100E, "EEPROM word 0D: device ID"
    check_eq dword [eeprom_vid], 0x8086, "EEPROM word 0E: vendor ID"
    mov eax, E1000_EERD_START | (0x03 << 8)
    mov ecx, E1000_EERD
    call e1000_write
    call e1000_read
    and eax, 0xFF1F                     ; ADDR, DONE, START
    check_eq eax, (0x03 << 8) | E1000_EERD_DONE, "EERD read: DONE set, START reads 0, ADDR kept"
    movzx eax, byte [eeprom_mac]
    and eax, 1
    check_eq eax, 0, "MAC is unicast (bit 0 of byte 0 clear)"

    ; RAL0/RAH0 hold the EEPROM MAC with AV after reset (1.8).
    mov ecx, E1000_RAL0
    call e1000_read
    check_eq eax, dword [eeprom_mac], "RAL0 = MAC bytes 0..3 after reset"
    mov ecx, E1000_RAH0
    call e1000_read
    mov ebx, eax
    and eax, 0xFFFF
    movzx edx, word [eeprom_mac + 4]
    check_eq eax, edx, "RAH0 bits 15:0 = MAC bytes 4..5"
    and ebx, E1000_RAH_AV
    check_eq ebx, E1000_RAH_AV, "RAH0.AV set after reset"

    ; RAL1/RAH1 are plain storage; AV is bit 31.
    mov ecx, E1000_RAL0 + 8
    mov eax, 0x44332211
    call e1000_write
    call e1000_read
    check_eq eax, 0x44332211, "RAL1 reads back"
    mov ecx, E1000_RAH0 + 8
    mov eax, E1000_RAH_AV | 0x6655
    call e1000_write
    call e1000_read
    check_eq eax, E1000_RAH_AV | 0x6655, "RAH1 reads back with AV"
    mov eax, 0x6655
    call e1000_write
    call e1000_read
    check_eq eax, 0x6655, "RAH1 without AV reads back with AV clear"
    mov eax, 0
    call e1000_write
    mov ecx, E1000_RAL0 + 8
    call e1000_write
    prefix_pop
    ret

; ---------------------------------------------------------------------------------------------------- ICR/IMS

test_interrupt_regs:
    prefix_push "ICR/ICS/IMS/IMC"
    mov ecx, E1000_IMC
    mov eax, 0xFFFFFFFF
    call e1000_write
    mov ecx, E1000_IMS
    call e1000_read
    check_eq eax, 0, "IMC all-ones: IMS reads 0"
    mov ecx, E1000_ICR
    call e1000_read                     ; clear whatever is there
    call e1000_read
    check_eq eax, 0, "a second ICR read returns 0 (read-to-clear)"
    mov ecx, E1000_ICS
    mov eax, E1000_ICR_TXDW | E1000_ICR_LSC
    call e1000_write
    mov ecx, E1000_ICR
    call e1000_read
    check_eq eax, E1000_ICR_TXDW | E1000_ICR_LSC, "ICS sets causes in ICR even while masked"
    call e1000_read
    check_eq eax, 0, "the ICR read cleared them"
    mov ecx, E1000_ICS
    mov eax, E1000_ICR_RXT0
    call e1000_write
    mov eax, E1000_ICR_RXT0 | E1000_ICR_LSC
    call e1000_write
    mov ecx, E1000_ICR
    call e1000_read
    check_eq eax, E1000_ICR_RXT0 | E1000_ICR_LSC, "ICS writes accumulate (OR) into ICR"

    mov ecx, E1000_IMS
    mov eax, 0x9D
    call e1000_write
    call e1000_read
    check_eq eax, 0x9D, "IMS write sets bits; IMS reads the mask"
    mov eax, 0x02
    call e1000_write
    call e1000_read
    check_eq eax, 0x9F, "IMS writes OR into the mask"
    mov ecx, E1000_IMC
    mov eax, 0x0C
    call e1000_write
    mov ecx, E1000_IMS
    call e1000_read
    check_eq eax, 0x93, "IMC clears the written bits"
    mov ecx, E1000_IMC
    mov eax, 0xFFFFFFFF
    call e1000_write
    mov ecx, E1000_IMS
    call e1000_read
    check_eq eax, 0, "IMC all-ones masks everything"
    prefix_pop
    ret

; ---------------------------------------------------------------------------------------------------- init

test_init_and_rings:
    prefix_push "driver init"
    call e1000_init
    check_eq eax, 1, "e1000_init found and set up the NIC"
    check_eq dword [e1000_link_up], 1, "link up after init"
    mov eax, [e1000_mac]
    check_eq eax, dword [eeprom_mac], "driver MAC bytes 0..3 = EEPROM words 0-1"
    mov ecx, E1000_TDLEN
    call e1000_read
    check_eq eax, 8 * 16, "TDLEN = 128"
    mov ecx, E1000_TDBAL
    call e1000_read
    check_eq eax, e1000_tx_ring, "TDBAL = the TX ring"
    mov ecx, E1000_RDT
    call e1000_read
    check_eq eax, 7, "RDT = N - 1"
    mov ecx, E1000_RDH
    call e1000_read
    check_eq eax, 0, "RDH = 0"
    mov ecx, E1000_RCTL
    call e1000_read
    check_eq eax, E1000_RCTL_VALUE, "RCTL reads back"
    mov ecx, E1000_TCTL
    call e1000_read
    check_eq eax, E1000_TCTL_VALUE, "TCTL reads back"
    ; RDLEN: bits 6:0 read 0 (devices.md 1.2). Receiver off meanwhile.
    mov ecx, E1000_RCTL
    mov eax, 0
    call e1000_write
    mov ecx, E1000_RDLEN
    mov eax, 0x8F
    call e1000_write
    call e1000_read
    check_eq eax, 0x80, "RDLEN bits 6:0 read 0"
    mov eax, 8 * 16
    call e1000_write
    mov ecx, E1000_RCTL
    mov eax, E1000_RCTL_VALUE
    call e1000_write
    prefix_pop
    ret

; ---------------------------------------------------------------------------------------------------- transmit

; build_frame: EAX = sequence number -> tx_frame = peer MAC, our MAC, EtherType 0x88B5, the sequence, zeros.
build_frame:
    pushad
    mov edi, tx_frame
    mov dword [edi], PEER_MAC_LO32
    mov word [edi + 4], PEER_MAC_LO16
    mov ebx, [e1000_mac]
    mov [edi + 6], ebx
    mov bx, [e1000_mac + 4]
    mov [edi + 10], bx
    mov word [edi + 12], ETHERTYPE_BE
    mov [edi + 14], eax
    popad
    ret

; send_and_wait: EAX = sequence number; transmits one frame, then waits (bounded) for its descriptor's DD.
; -> EAX = 1 if queued and done.
send_and_wait:
    push ebx
    push ecx
    push esi
    call build_frame
    mov ebx, [e1000_tx_tail]            ; the slot this frame takes
    mov esi, tx_frame
    mov ecx, TX_FRAME_LEN
    call e1000_transmit
    test eax, eax
    jz .done
    shl ebx, 4
    mov ecx, 1000000
.wait:
    test dword [e1000_tx_ring + ebx + 12], E1000_TXD_STA_DD
    jnz .ok
    dec ecx
    jnz .wait
    mov eax, 0
    jmp .done
.ok:
    mov eax, 1
.done:
    pop esi
    pop ecx
    pop ebx
    ret

test_transmit:
    prefix_push "transmit"
    mov ecx, E1000_ICR
    call e1000_read
    mov ecx, E1000_TPT
    call e1000_read                     ; statistics are read-to-clear: start from 0
    mov ecx, E1000_GPTC
    call e1000_read

    mov eax, 1
    call send_and_wait
    check_eq eax, 1, "frame 1: descriptor 0 written back with DD"
    mov ecx, E1000_TDH
    call e1000_read
    check_eq eax, 1, "TDH advanced to 1"
    mov ecx, E1000_ICR
    call e1000_read
    and eax, E1000_ICR_TXDW | E1000_ICR_TXQE
    check_eq eax, E1000_ICR_TXDW | E1000_ICR_TXQE, "ICR: TXDW (RS descriptor written back) and TXQE"
    mov eax, [e1000_tx_ring + 8]
    check_eq eax, E1000_TXD_CMD_EOP | E1000_TXD_CMD_IFCS | E1000_TXD_CMD_RS | TX_FRAME_LEN, "descriptor 0 length and CMD kept"
    mov eax, 2
    call send_and_wait
    mov ebx, eax
    mov eax, 3
    call send_and_wait
    and eax, ebx
    check_eq eax, 1, "frames 2 and 3 done"
    mov ecx, E1000_TDH
    call e1000_read
    check_eq eax, 3, "TDH = 3 after three frames"
    mov ecx, E1000_TDT
    call e1000_read
    check_eq eax, 3, "TDT = 3"
    call e1000_tx_reclaim
    check_eq dword [e1000_tx_done], 3, "driver reclaimed 3 descriptors"

    ; Ring wrap: 8 more frames through an 8-entry ring: tail 3 -> 7 -> 0 -> 3.
    mov ebx, 4
    mov edx, 1
.more:
    mov eax, ebx
    call send_and_wait
    and edx, eax
    inc ebx
    cmp ebx, 12
    jb .more
    check_eq edx, 1, "frames 4..11 done across the wrap"
    mov ecx, E1000_TDH
    call e1000_read
    check_eq eax, 3, "TDH wrapped: (11 mod 8) = 3"
    mov ecx, E1000_TDT
    call e1000_read
    check_eq eax, 3, "TDT wrapped to 3"
    call e1000_tx_reclaim
    check_eq dword [e1000_tx_done], 11, "driver reclaimed 11 descriptors"
    mov ecx, E1000_TPT
    call e1000_read
    check_eq eax, 11, "TPT (total packets transmitted) = 11"
    mov ecx, E1000_GPTC
    call e1000_read
    check_eq eax, 11, "GPTC (good packets transmitted) = 11"
    call e1000_read
    check_eq eax, 0, "GPTC is read-to-clear"

    ; TCTL.EN = 0: a TDT write transmits nothing until the transmitter is enabled again.
    mov ecx, E1000_TCTL
    mov eax, E1000_TCTL_VALUE & ~2
    call e1000_write
    mov eax, 12
    call build_frame
    mov esi, tx_frame
    mov ecx, TX_FRAME_LEN
    call e1000_transmit
    mov ecx, 1000
.idle:
    dec ecx
    jnz .idle
    mov ecx, E1000_TDH
    call e1000_read
    check_eq eax, 3, "TCTL.EN = 0: TDT write leaves TDH at 3"
    mov ecx, E1000_TCTL
    mov eax, E1000_TCTL_VALUE
    call e1000_write
    mov ecx, 1000
.resume:
    dec ecx
    jnz .resume
    mov ecx, E1000_TDH
    call e1000_read
    check_eq eax, 4, "TCTL.EN = 1 again: the queued frame goes (TDH 4)"
    prefix_pop
    ret

; ---------------------------------------------------------------------------------------------------- MSI

test_msi:
    prefix_push "MSI"
    cmp dword [e1000_msi_cap], 0
    jne .have_msi
    report_skip "no MSI capability: interrupt delivery not checked"
    prefix_pop
    ret
.have_msi:
    mov ebx, [e1000_bdf]
    mov ecx, [e1000_msi_cap]
    add ecx, PCI_MSI_FLAGS
    call pci_read16
    and eax, PCI_MSI_FLAGS_ENABLE
    check_eq eax, PCI_MSI_FLAGS_ENABLE, "driver enabled MSI"
    mov ecx, [e1000_msi_cap]
    add ecx, PCI_MSI_ADDRESS_LO
    call pci_read32
    check_eq eax, 0xFEE00000, "MSI address 0xFEE00000 (APIC 0, physical)"
    mov ecx, [e1000_msi_cap]
    add ecx, PCI_MSI_DATA_64
    call pci_read16
    check_eq eax, E1000_VECTOR, "MSI data = vector 0x41, fixed, edge"

    ; x2APIC on, the driver's ISR on the vector.
    mov ecx, IA32_APIC_BASE
    rdmsr
    or eax, 0xC00
    wrmsr
    mov ecx, X2APIC_SVR
    mov eax, 0x1FF
    xor edx, edx
    wrmsr
    mov eax, E1000_VECTOR
    mov ebx, e1000_isr
    mov ecx, IDT_INT_GATE
    call idt_set_gate
    mov ecx, E1000_ICR
    call e1000_read

    ; A masked cause sends nothing.
    mov dword [e1000_irqs], 0
    mov ecx, E1000_IMS
    mov eax, E1000_ICR_LSC
    call e1000_write
    mov ecx, E1000_ICS
    mov eax, E1000_ICR_TXQE             ; not in IMS
    sti
    call e1000_write
    call short_spin
    cli
    check_eq dword [e1000_irqs], 0, "masked cause (TXQE): no MSI"
    ; Unmasking a pending cause asserts at once (1.5.1).
    mov ecx, E1000_IMS
    mov eax, E1000_ICR_TXQE
    sti
    call e1000_write
    call short_spin
    cli
    check_eq dword [e1000_irqs], 1, "unmasking the pending cause: one MSI"
    check_eq dword [e1000_icr_last], E1000_ICR_TXQE, "the ISR read ICR = TXQE"
    ; ICS of an unmasked cause: one MSI per 0 -> non-zero edge of ICR & IMS (1.5.2).
    mov ecx, E1000_ICS
    mov eax, E1000_ICR_LSC
    sti
    call e1000_write
    call short_spin
    cli
    check_eq dword [e1000_irqs], 2, "ICS LSC: one MSI"
    check_eq dword [e1000_icr_last], E1000_ICR_LSC, "the ISR read ICR = LSC"
    ; While ICR & IMS stays non-zero, new causes send nothing more.
    mov ecx, E1000_ICS
    mov eax, E1000_ICR_LSC
    call e1000_write                    ; IF = 0: the MSI waits in the APIC
    mov eax, E1000_ICR_TXQE
    call e1000_write                    ; still pending: no second message
    sti
    call short_spin
    cli
    check_eq dword [e1000_irqs], 3, "two causes while pending: one MSI"
    check_eq dword [e1000_icr_last], E1000_ICR_LSC | E1000_ICR_TXQE, "the ISR read both causes"
    ; A transmit with TXDW unmasked: the ISR reclaims the descriptor.
    mov ecx, E1000_IMS
    mov eax, E1000_ICR_TXDW
    call e1000_write
    mov eax, [e1000_tx_done]
    mov [tx_done_before], eax
    mov eax, 100
    call build_frame
    mov esi, tx_frame
    mov ecx, TX_FRAME_LEN
    sti
    call e1000_transmit
    call short_spin
    cli
    check_eq dword [e1000_irqs], 4, "transmit with TXDW unmasked: one MSI"
    mov eax, [e1000_tx_done]
    sub eax, [tx_done_before]
    check_eq eax, 1, "the ISR reclaimed the transmitted descriptor"

    ; ITR (1.5.3): no second message within ITR * 256 ns of the first.
    mov ecx, E1000_ITR_REG
    mov eax, ITR_TEST
    call e1000_write
    mov ecx, 150000                     ; well past any window started by the interrupts above
    call spin_tsc
    mov dword [e1000_irqs], 0
    mov ecx, E1000_ICS
    mov eax, E1000_ICR_LSC
    sti
    call e1000_write
    call short_spin
    mov eax, E1000_ICR_LSC
    call e1000_write                    ; inside the window
    mov ecx, 50000
    call spin_tsc
    mov eax, [e1000_irqs]
    mov [irqs_mid], eax
    mov ecx, 150000
    call spin_tsc
    cli
    check_eq dword [irqs_mid], 1, "ITR 400: first cause signalled at once, the second waits (50000 cycles < 102400)"
    check_eq dword [e1000_irqs], 2, "ITR 400: it is signalled when the window ends"
    mov ecx, E1000_ITR_REG
    mov eax, 0
    call e1000_write
    mov ecx, E1000_IMC
    mov eax, 0xFFFFFFFF
    call e1000_write
    prefix_pop
    ret

short_spin:
    push ecx
    mov ecx, 200
.loop:
    dec ecx
    jnz .loop
    pop ecx
    ret

; spin_tsc: ECX = TSC cycles to wait. Preserves all.
spin_tsc:
    pushad
    rdtsc
    mov ebx, eax
.wait:
    rdtsc
    sub eax, ebx
    cmp eax, ecx
    jb .wait
    popad
    ret

nic_found:      dd 0
msi_cap:        dd 0
bar_raw:        dd 0
eeprom_mac:     times 8 db 0
eeprom_did:     dd 0
eeprom_vid:     dd 0
tx_done_before: dd 0
irqs_mid:       dd 0
tx_frame:       times TX_FRAME_LEN db 0

%include "lib/image-end.inc"
%include "lib/e1000-bss.inc"
%include "lib/bss-end.inc"
