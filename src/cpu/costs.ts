// The CPU's cycle costs (DESIGN.md "Time"): every instruction costs 1 cycle unless its class is listed
// here. These are a model, not a measurement of any processor; the VM-exit costs live with vmx/.

/** Default cost of one instruction. */
export const DEFAULT_CYCLES = 1;
/** DIV/IDIV: iterative dividers take tens of cycles on the Core 2 generation ELI measured on. */
export const DIVIDE_CYCLES = 20;
/** CPUID, RDMSR, WRMSR: serialising and microcoded. */
export const SERIALIZING_CYCLES = 30;
/** RDTSC. */
export const RDTSC_CYCLES = 20;
/** WBINVD/INVD: a cache flush (far more on hardware; kept small so guests stay fast). */
export const CACHE_FLUSH_CYCLES = 100;
/**
 * Delivering an exception or interrupt through the IDT (microcode: gate and descriptor reads, frame
 * pushes). It also guarantees that a guest stuck in a loop of faults still advances the clock.
 */
export const EVENT_DELIVERY_CYCLES = 20;
