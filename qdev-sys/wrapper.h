/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The QEMU APIs device modules use; bindgen reads this with the SDK's flags.
 * Older SDKs (bookworm's 7.2) have the older header names: QEMU 10.0 renamed
 * include/sysemu/ to include/system/, 8.0 split out hw/pci/pci_device.h. */
#include "qemu/osdep.h"
#include "qemu/module.h"
#include "qemu/main-loop.h"
#include "qemu/log.h"
#include "qemu/timer.h"
#include "qemu/error-report.h"
#include "qapi/error.h"
#include "qapi/qapi-commands-control.h"
#include "qapi/qapi-types-control.h"
#include "qom/object.h"
#include "hw/qdev-core.h"
#include "hw/qdev-properties.h"
#include "hw/qdev-properties-system.h"
#include "hw/qdev-clock.h"
#include "hw/clock.h"
#include "hw/resettable.h"
#include "hw/sysbus.h"
#include "hw/irq.h"
#include "hw/boards.h"
#include "hw/pci/pci.h"
#if __has_include("hw/pci/pci_device.h")
#include "hw/pci/pci_device.h"
#endif
#include "hw/pci/pcie.h"
#include "hw/pci/msi.h"
#include "hw/pci/msix.h"
#include "exec/memory.h"
#include "exec/address-spaces.h"
#if __has_include("system/dma.h")
#include "system/dma.h"
#else
#include "sysemu/dma.h"
#endif
#include "chardev/char-fe.h"
#include "migration/vmstate.h"
#if __has_include("system/runstate.h")
#include "system/runstate.h"
#include "system/watchdog.h"
#else
#include "sysemu/runstate.h"
#include "sysemu/watchdog.h"
#endif
#include "trace/control.h"
