// The package's TypeScript API (`import { ... } from 'exitless'`): the board and its run loop, the assembler, the
// VMX unit with its typed operations and SDM names, and the hypervisor. Everything else is reachable by path.

export { Machine, type MachineConfig } from './machine/machine.js';
export { runImage, runMachine, type RunMode, type RunOptions, type RunResult, type RunStop } from './machine/run.js';
export { assemble, assembleFile } from './asm/index.js';
export { Cpu, type CpuStop } from './cpu/cpu.js';
export { Vmx, type VmxResult, LEAF1_ECX_VMX } from './vmx/vmx-unit.js';
export { VmcsField, type VmcsFieldName, fieldName } from './vmx/vmcs-fields.js';
export { EXIT_REASON_NAMES } from './vmx/controls.js';
export { EptBuilder } from './vmx/ept.js';
export { VMCS_REVISION, capabilityMsr } from './vmx/capabilities.js';
export { Vm, type VmRunResult, type VmStop } from './hypervisor/vm.js';
