// The one object thrown to unwind a faulting instruction (STYLE rule 5: preallocated, never `new Error`).
// Leaf module, so that every part of the CPU can throw and catch it without an import cycle.

export const FAULT = { fault: true } as const;

/**
 * Thrown after a VM exit has switched the CPU to the host (vmx/): unwinds the guest instruction or event
 * delivery that caused it. The run loop catches it and goes on with the host state.
 */
export const VMEXIT = { vmexit: true } as const;
