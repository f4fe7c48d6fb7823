; guests/netperf-rr.asm: the server end of the link peer's request/response workload (TCP_RR-like): each
; request arrives by MSI, its payload checksum is verified, a configurable amount of per-frame work stands in
; for a network stack, and a response with the same sequence (echoing the payload) goes straight back.
; Leaves the peer's side to src/devices/net/rr-workload.ts, the NIC to lib/e1000.inc.
;
; Protocol (src/devices/net/frame-format.ts; lib/netpeer.inc): the guest sends a HELLO (ack of 0xFFFFFFFF)
; when its RX ring is ready; the peer then sends request 0, waits for response 0, sends request 1, ... A request
; the peer resends (its timeout) repeats a sequence: it is answered again and counted as a duplicate.
;
; Command line: "work=N idle=MS" (ack= is accepted and unused): work = DEC/JNZ iterations per request
; (default 0); idle = end after MS simulated milliseconds without a frame (default 50).
;
; How the run ends (an assumption, stated here): the peer flags the last request of a counted run with FIN
; (frame-format.ts); once it is answered the guest prints its counters and the checks and exits. A
; time-limited peer run sends no FIN: the guest ends after `idle` ms without a request (the peer's resend
; timeout is 10 ms). Nothing at all within `idle` ms of the HELLO is a FAIL (no peer attached). Without a NIC
; everything is skipped (exit status 77).

bits 32
org 0x100000                        ; KERNEL_LOAD_ADDR (lib/multiboot.inc)

%define E1000_RX_COUNT 32
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
    prefix_push "netperf-rr"
    mov dword [e1000_rx_handler], rr_rx
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
    call net_wait
    mov [ended_by_fin], eax

    mov esi, str_transactions
    mov eax, [rr_transactions]
    call net_info
    mov esi, str_dups
    mov eax, [rr_duplicates]
    call net_info
    mov esi, str_gaps
    mov eax, [rr_gaps]
    call net_info
    mov esi, str_other
    mov eax, [rr_other]
    call net_info
    mov esi, str_csum
    mov eax, [rr_csum_errors]
    call net_info
    mov esi, str_responses
    mov eax, [rr_responses]
    call net_info
    mov esi, str_tx_full
    mov eax, [net_tx_full]
    call net_info
    mov esi, str_irqs
    mov eax, [e1000_irqs]
    call net_info
    mov esi, str_cycles
    call net_rx_span
    call net_info

    mov eax, [rr_transactions]
    test eax, eax
    setnz al
    report "requests answered"
    cmp dword [ended_by_fin], 0
    je .idle_end
    report "the FIN request arrived and was answered"
    jmp .checks
.idle_end:
    report_info "no FIN: ended after the idle timeout (time-limited peer, or no peer)"
.checks:
    check_eq dword [rr_csum_errors], 0, "no payload checksum mismatches"
    check_eq dword [rr_gaps], 0, "no sequence gaps (requests come one at a time, in order)"
    check_eq dword [rr_other], 0, "no malformed or non-request frames"
    check_eq dword [e1000_rx_bad], 0, "no RX descriptors with errors or without EOP"
    check_eq dword [net_tx_lost], 0, "every response was queued"
    prefix_pop
    ret

; rr_rx: the e1000 RX callback (ESI = frame, ECX = length; inside the ISR, IF = 0). The response is built in
; place in the RX buffer (e1000_transmit copies it before the descriptor is given back to the NIC).
rr_rx:
    call net_note_rx
    call net_frame_check
    jc .other
    cmp byte [esi + NET_OFF_KIND], NET_KIND_REQUEST
    jne .other
    call net_checksum
    cmp eax, [esi + NET_OFF_CHECKSUM]
    je .csum_ok
    inc dword [rr_csum_errors]          ; counted; the response carries a correct checksum anyway
    mov [esi + NET_OFF_CHECKSUM], eax
.csum_ok:
    mov eax, [esi + NET_OFF_SEQUENCE]
    cmp eax, [rr_expected]
    je .in_order
    jb .duplicate
    inc dword [rr_gaps]
    jmp .answer
.duplicate:
    inc dword [rr_duplicates]
    jmp .answer
.in_order:
    inc dword [rr_transactions]
    call net_work
.answer:
    lea eax, [eax + 1]
    cmp eax, [rr_expected]
    jbe .keep_expected
    mov [rr_expected], eax
.keep_expected:
    ; dst = the requester (the peer), src = our MAC, kind = response, flags 0, reserved 0.
    mov eax, [esi + 6]
    mov [esi], eax
    mov ax, [esi + 10]
    mov [esi + 4], ax
    mov eax, [e1000_mac]
    mov [esi + 6], eax
    mov ax, [e1000_mac + 4]
    mov [esi + 10], ax
    mov bl, [esi + NET_OFF_FLAGS]       ; FIN?
    mov dword [esi + NET_OFF_KIND], NET_KIND_RESPONSE
    call net_send
    inc dword [rr_responses]
    test bl, NET_FLAG_FIN
    jz .done
    mov dword [net_done], 1
.done:
    ret
.other:
    inc dword [rr_other]
    ret

str_work:         db "work per request (DEC/JNZ iterations) ", 0
str_transactions: db "transactions ", 0
str_dups:         db "duplicate requests ", 0
str_gaps:         db "out-of-order requests ", 0
str_other:        db "malformed or non-request frames ", 0
str_csum:         db "checksum mismatches ", 0
str_responses:    db "responses sent ", 0
str_tx_full:      db "TX ring full retries ", 0
str_irqs:         db "NIC interrupts ", 0
str_cycles:       db "cycles first to last request ", 0

ended_by_fin:       dd 0
rr_expected:        dd 0
rr_transactions:    dd 0
rr_duplicates:      dd 0
rr_gaps:            dd 0
rr_other:           dd 0
rr_csum_errors:     dd 0
rr_responses:       dd 0

%include "lib/image-end.inc"
%include "lib/e1000-bss.inc"
%include "lib/bss-end.inc"
