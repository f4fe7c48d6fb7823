// The one object thrown to unwind a faulting instruction (STYLE rule 5: preallocated, never `new Error`).
// Leaf module, so that every part of the CPU can throw and catch it without an import cycle.

export const FAULT = { fault: true } as const;
