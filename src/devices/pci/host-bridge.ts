// The host bridge at 00:00.0: the identity QEMU's q35 machine gives its MCH (8086:29C0, class 06/00/00).
// Only the type-0 header; the MCH's device-specific registers (PCIEXBAR, PAM, SMRAM) are not modelled.

import { PciFunction } from './pci-function.js';

/**
 * QEMU hw/pci-host/q35.c: vendor PCI_VENDOR_ID_INTEL, device PCI_DEVICE_ID_INTEL_Q35_MCH (0x29C0),
 * revision MCH_HOST_BRIDGE_REVISION_DEFAULT (0), class PCI_CLASS_BRIDGE_HOST (0x0600, prog-if 0).
 * q35 rather than i440fx (8086:1237) because QEMU's intel-iommu, which our VT-d model follows, needs q35.
 */
export const Q35_HOST_BRIDGE = { vendorId: 0x8086, deviceId: 0x29c0, revision: 0x00, classCode: 0x060000 } as const;

/** QEMU's default subsystem IDs for a device that sets none (PCI_SUBVENDOR_ID_REDHAT_QUMRANET, ..._QEMU). */
export const QEMU_SUBSYSTEM_VENDOR_ID = 0x1af4;
export const QEMU_SUBSYSTEM_ID = 0x1100;

/** A fresh host bridge function: no BARs, no capabilities, no interrupt pin. */
export function createHostBridge(): PciFunction {
  return new PciFunction({
    name: 'host-bridge',
    ...Q35_HOST_BRIDGE,
    subsystemVendorId: QEMU_SUBSYSTEM_VENDOR_ID,
    subsystemId: QEMU_SUBSYSTEM_ID,
  });
}
