; guests/netperf-stream.asm: the receiving end of the link peer's stream workload (TCP_STREAM-like): data
; frames arrive by MSI; each one's payload checksum is verified, a configurable amount of per-frame work
; stands in for a network stack, and every M in-order frames (and at once on ACK_REQUEST or FIN) a cumulative
; ack goes back. Leaves the peer's side to src/devices/net/stream-workload.ts, the NIC to lib/e1000.inc.
;
; Protocol (src/devices/net/frame-format.ts; lib/netpeer.inc): the guest sends a HELLO (ack of 0xFFFFFFFF)
; when its RX ring is ready; the peer then sends data frames with sequence 0, 1, 2, ...; a retransmission
; repeats a sequence (a duplicate: re-acked, not counted again, no work done).
;
; Command line (Multiboot, e.g. QEMU -append / exitless cmdline): "work=N ack=M idle=MS itr=N"
;   work  DEC/JNZ iterations of per-frame work (default 0)
;   ack   ack every M in-order data frames (default 16; the peer's default window is 64)
;   idle  end after MS simulated milliseconds without a frame (default 50)
;
; How the run ends (an assumption, stated here): the peer flags the last data frame of a counted run with
; FIN (frame-format.ts). Once that frame has arrived in order and been acked, the guest prints its counters
; and the checks and exits. A time-limited peer run sends no FIN: the peer just stops, and the guest ends
; after `idle` ms without a frame (the peer's retransmission timeout is 10 ms, so a live peer is never idle
; that long). If nothing at all arrives within `idle` ms of the HELLO, that is a FAIL (no peer attached).
; Without a NIC everything is skipped (exit status 77).

bits 32
org 0x100000                        ; KERNEL_LOAD_ADDR (lib/multiboot.inc)

%define E1000_RX_COUNT 128          ; more than the peer's default window (64): no RX overruns
%define E1000_TX_COUNT 16

%include "lib/multiboot.inc"
%include "lib/serial.inc"
%include "lib/exit.inc"
%include "lib/report.inc"
%include "lib/start.inc"
%include "lib/pci.inc"
%include "lib/e1000.inc"
%include "lib/cmdline.inc"
%include "lib/netpeer.inc"

main:
    prefix_push "netperf-stream"
    mov dword [e1000_rx_handler], stream_rx
    call net_setup
    test eax, eax
    jnz .have_nic
    report_skip "no 8086:100E NIC on bus 0"
    prefix_pop
    ret
.have_nic:
    mov esi, str_work
    mov eax, [net_work_n]
    call net_info
    mov esi, str_ack_every
    mov eax, [net_ack_every]
    call net_info
    call net_wait
    mov [ended_by_fin], eax

    mov esi, str_frames
    mov eax, [rx_in_order]
    call net_info
    mov esi, str_bytes
    mov eax, [rx_payload_bytes]
    call net_info
    mov esi, str_dups
    mov eax, [rx_duplicates]
    call net_info
    mov esi, str_gaps
    mov eax, [rx_gaps]
    call net_info
    mov esi, str_other
    mov eax, [rx_other]
    call net_info
    mov esi, str_csum
    mov eax, [rx_csum_errors]
    call net_info
    mov esi, str_acks
    mov eax, [net_acks_sent]
    call net_info
    mov esi, str_tx_full
    mov eax, [net_tx_full]
    call net_info
    mov esi, str_irqs
    mov eax, [e1000_irqs]
    call net_info
    mov esi, str_rx_bad
    mov eax, [e1000_rx_bad]
    call net_info
    mov esi, str_cycles
    call net_rx_span
    call net_info

    mov eax, [rx_in_order]
    test eax, eax
    setnz al
    report "data frames received"
    cmp dword [ended_by_fin], 0
    je .idle_end
    report "the FIN frame arrived in order and was acked"
    jmp .checks
.idle_end:
    report_info "no FIN: ended after the idle timeout (time-limited peer, or no peer)"
.checks:
    check_eq dword [rx_csum_errors], 0, "no payload checksum mismatches"
    check_eq dword [rx_gaps], 0, "no sequence gaps (the peer never skips a sequence)"
    check_eq dword [rx_other], 0, "no malformed or non-data frames"
    check_eq dword [e1000_rx_bad], 0, "no RX descriptors with errors or without EOP"
    check_eq dword [net_tx_lost], 0, "every ack was queued"
    prefix_pop
    ret

; stream_rx: the e1000 RX callback (ESI = frame, ECX = length; inside the ISR, IF = 0).
stream_rx:
    call net_note_rx
    call net_frame_check
    jc .other
    cmp byte [esi + NET_OFF_KIND], NET_KIND_DATA
    jne .other
    call net_checksum
    cmp eax, [esi + NET_OFF_CHECKSUM]
    je .csum_ok
    inc dword [rx_csum_errors]          ; counted and reported; the frame is still accepted
.csum_ok:
    mov eax, [esi + NET_OFF_SEQUENCE]
    cmp eax, [rx_expected]
    je .in_order
    jb .duplicate
    inc dword [rx_gaps]                 ; a frame beyond the next expected: dropped, re-ack what we have
    jmp .ack_now
.duplicate:
    inc dword [rx_duplicates]
    jmp .ack_now
.in_order:
    inc dword [rx_expected]
    inc dword [rx_in_order]
    mov eax, [esi + NET_OFF_LENGTH]
    add [rx_payload_bytes], eax
    call net_work
    inc dword [rx_since_ack]
    test byte [esi + NET_OFF_FLAGS], NET_FLAG_FIN
    jz .not_fin
    mov dword [rx_fin], 1
.not_fin:
    test byte [esi + NET_OFF_FLAGS], NET_FLAG_ACK_REQUEST | NET_FLAG_FIN
    jnz .ack_now
    mov eax, [rx_since_ack]
    cmp eax, [net_ack_every]
    jb .done
.ack_now:
    mov dword [rx_since_ack], 0
    mov eax, [rx_expected]
    dec eax                             ; cumulative: the highest sequence received in order
    call net_send_ack
    cmp dword [rx_fin], 0
    je .done
    mov dword [net_done], 1
.done:
    ret
.other:
    inc dword [rx_other]
    ret

str_work:       db "work per frame (DEC/JNZ iterations) ", 0
str_ack_every:  db "ack every ", 0
str_frames:     db "data frames in order ", 0
str_bytes:      db "payload bytes ", 0
str_dups:       db "duplicates ", 0
str_gaps:       db "out of order (dropped) ", 0
str_other:      db "malformed or non-data frames ", 0
str_csum:       db "checksum mismatches ", 0
str_acks:       db "acks sent (incl. HELLO) ", 0
str_tx_full:    db "TX ring full retries ", 0
str_irqs:       db "NIC interrupts ", 0
str_rx_bad:     db "RX descriptors with errors ", 0
str_cycles:     db "cycles first to last frame ", 0

ended_by_fin:       dd 0
rx_expected:        dd 0
rx_in_order:        dd 0
rx_payload_bytes:   dd 0
rx_duplicates:      dd 0
rx_gaps:            dd 0
rx_other:           dd 0
rx_csum_errors:     dd 0
rx_since_ack:       dd 0
rx_fin:             dd 0

%include "lib/image-end.inc"
%include "lib/e1000-bss.inc"
%include "lib/bss-end.inc"
