/*
 * Differential oracle for test/cpu/oracle-native.test.ts: runs instruction bytes on this machine's real
 * x86-64 CPU over many register states. The test owns the cases and the comparison; this file only executes.
 *
 * The bytes are register-only 8/16/32-bit forms without REX prefixes, which execute the same in 64-bit
 * mode as in 32-bit protected mode (SDM Vol. 1 3.4.1.1: 32-bit results zero-extend, which we ignore by
 * keeping only the low 32 bits). Build: cc -O1 -mno-red-zone (the asm pushes below RSP).
 *
 * stdin, little-endian, repeated until EOF:
 *   u8 length, length code bytes, u32 count, then count states of 7 u32: eax ecx edx ebx esi edi eflags
 * stdout, per state: u32 status (0, or the signal number: SIGFPE = #DE, SIGILL = #UD), then the 7 u32
 * after the instruction (the input state when a signal was caught).
 */
#define _GNU_SOURCE
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

static sigjmp_buf env;
static volatile sig_atomic_t caught;

static void on_signal(int sig) {
  caught = sig;
  siglongjmp(env, 1);
}

static uint8_t *input;
static size_t input_len, input_pos;

static int take(void *out, size_t n) {
  if (input_pos + n > input_len) return 0;
  memcpy(out, input + input_pos, n);
  input_pos += n;
  return 1;
}

static uint32_t run_case(void (*code)(void), const uint32_t *in, uint32_t *out) {
  uint64_t a = in[0], c = in[1], d = in[2], b = in[3], si = in[4], di = in[5], fl = in[6];
  caught = 0;
  if (sigsetjmp(env, 0) != 0) {
    memcpy(out, in, 7 * sizeof(uint32_t));
    return (uint32_t)caught;
  }
  __asm__ volatile(
      "pushq %[fl]\n\t"
      "popfq\n\t"
      "call *%[fn]\n\t"
      "pushfq\n\t"
      "popq %[fl]\n\t"
      : "+a"(a), "+b"(b), "+c"(c), "+d"(d), "+S"(si), "+D"(di), [fl] "+r"(fl)
      : [fn] "r"(code)
      : "memory", "cc");
  out[0] = (uint32_t)a;
  out[1] = (uint32_t)c;
  out[2] = (uint32_t)d;
  out[3] = (uint32_t)b;
  out[4] = (uint32_t)si;
  out[5] = (uint32_t)di;
  out[6] = (uint32_t)fl;
  return 0;
}

int main(void) {
  size_t cap = 1 << 20;
  input = malloc(cap);
  for (;;) {
    if (input_len == cap) input = realloc(input, cap *= 2);
    size_t n = fread(input + input_len, 1, cap - input_len, stdin);
    if (n == 0) break;
    input_len += n;
  }

  /* SA_NODEFER: the signal stays unblocked after siglongjmp leaves the handler. */
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_signal;
  sa.sa_flags = SA_NODEFER;
  sigaction(SIGFPE, &sa, NULL);
  sigaction(SIGILL, &sa, NULL);

  uint8_t *page = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (page == MAP_FAILED) {
    perror("mmap");
    return 2;
  }
  uint32_t state[7], out[8];
  for (;;) {
    uint8_t len;
    uint32_t count;
    if (!take(&len, 1)) break;
    if (len > 15 || !take(page, len) || !take(&count, 4)) {
      fprintf(stderr, "alu-oracle: malformed input at %zu\n", input_pos);
      return 2;
    }
    if (mprotect(page, 4096, PROT_READ | PROT_WRITE) != 0) return 3;
    page[len] = 0xc3; /* ret */
    if (mprotect(page, 4096, PROT_READ | PROT_EXEC) != 0) {
      perror("mprotect");
      return 3;
    }
    for (uint32_t i = 0; i < count; i++) {
      if (!take(state, sizeof state)) {
        fprintf(stderr, "alu-oracle: truncated states\n");
        return 2;
      }
      out[0] = run_case((void (*)(void))page, state, out + 1);
      fwrite(out, sizeof out, 1, stdout);
    }
    if (mprotect(page, 4096, PROT_READ | PROT_WRITE) != 0) return 3;
    memset(page, 0, 16);
  }
  return fflush(stdout) == 0 ? 0 : 4;
}
