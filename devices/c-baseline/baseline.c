/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * qdev-c-baseline: a small PCI device written in C the way a QEMU developer
 * writes one, built against the qdev SDK with nothing but its pkg-config
 * file. It proves the SDK for C authors and is the baseline the Rust
 * devices are measured against.
 *
 * BAR0, 4 KiB of 32-bit registers:
 *   0x00 ID         RO  0x71646576 ("qdev")
 *   0x04 SCRATCH    RW  reset 0
 *   0x08 IRQ_STATUS RO  bit 0: the interrupt is asserted
 *   0x0c IRQ_RAISE  WO  writing bit 0 asserts INTx
 *   0x10 IRQ_ACK    WO  writing bit 0 deasserts INTx
 * Any other offset is a guest error, reads as 0.
 */
#include "qemu/osdep.h"
#include "qemu/log.h"
#include "qemu/module.h"
#include "hw/pci/pci_device.h"
#include "hw/qdev-properties.h"
#include "qom/object.h"

#define TYPE_QDEV_C_BASELINE "qdev-c-baseline"
OBJECT_DECLARE_SIMPLE_TYPE(BaselineState, QDEV_C_BASELINE)

#define BASELINE_ID 0x71646576u

enum {
    REG_ID = 0x00,
    REG_SCRATCH = 0x04,
    REG_IRQ_STATUS = 0x08,
    REG_IRQ_RAISE = 0x0c,
    REG_IRQ_ACK = 0x10,
};

struct BaselineState {
    PCIDevice parent_obj;
    MemoryRegion mmio;
    uint32_t scratch;
    uint32_t irq_status;
};

#ifdef BASELINE_TRACE
/*
 * Trace points in the read and write callbacks, as QEMU's own devices have
 * them: the code tracetool generates for QEMU's "log" trace backend (the
 * one Debian builds) from these trace-events lines
 *
 *   qdev_c_baseline_read(uint64_t addr, unsigned size, uint64_t val) "addr 0x%" PRIx64 " size %u val 0x%" PRIx64
 *   qdev_c_baseline_write(uint64_t addr, unsigned size, uint64_t val) "addr 0x%" PRIx64 " size %u val 0x%" PRIx64
 *
 * written out here, since an out-of-tree module has no tracetool run.
 * Built as qdev-c-baseline-trace.so (make trace); the benchmarks measure
 * the C twin with and without them.
 */
#include "trace/control.h"

uint16_t _TRACE_QDEV_C_BASELINE_READ_DSTATE;
uint16_t _TRACE_QDEV_C_BASELINE_WRITE_DSTATE;
TraceEvent _TRACE_QDEV_C_BASELINE_READ_EVENT = {
    .id = 0,
    .name = "qdev_c_baseline_read",
    .sstate = 1,
    .dstate = &_TRACE_QDEV_C_BASELINE_READ_DSTATE,
};
TraceEvent _TRACE_QDEV_C_BASELINE_WRITE_EVENT = {
    .id = 0,
    .name = "qdev_c_baseline_write",
    .sstate = 1,
    .dstate = &_TRACE_QDEV_C_BASELINE_WRITE_DSTATE,
};
#define TRACE_QDEV_C_BASELINE_READ_ENABLED 1
#define TRACE_QDEV_C_BASELINE_WRITE_ENABLED 1

static TraceEvent *baseline_trace_events[] = {
    &_TRACE_QDEV_C_BASELINE_READ_EVENT,
    &_TRACE_QDEV_C_BASELINE_WRITE_EVENT,
    NULL,
};

static void baseline_trace_register_events(void)
{
    trace_event_register_group(baseline_trace_events);
}
trace_init(baseline_trace_register_events)

static inline void trace_qdev_c_baseline_read(uint64_t addr, unsigned size,
                                              uint64_t val)
{
    if (trace_event_get_state(TRACE_QDEV_C_BASELINE_READ) &&
        qemu_loglevel_mask(LOG_TRACE)) {
        qemu_log("qdev_c_baseline_read addr 0x%" PRIx64 " size %u val 0x%"
                 PRIx64 "\n", addr, size, val);
    }
}

static inline void trace_qdev_c_baseline_write(uint64_t addr, unsigned size,
                                               uint64_t val)
{
    if (trace_event_get_state(TRACE_QDEV_C_BASELINE_WRITE) &&
        qemu_loglevel_mask(LOG_TRACE)) {
        qemu_log("qdev_c_baseline_write addr 0x%" PRIx64 " size %u val 0x%"
                 PRIx64 "\n", addr, size, val);
    }
}
#else
#define trace_qdev_c_baseline_read(addr, size, val) do { } while (0)
#define trace_qdev_c_baseline_write(addr, size, val) do { } while (0)
#endif

static void baseline_update_irq(BaselineState *s)
{
    pci_set_irq(&s->parent_obj, s->irq_status & 1);
}

static uint64_t baseline_read(void *opaque, hwaddr addr, unsigned size)
{
    BaselineState *s = opaque;
    uint64_t val;

    switch (addr) {
    case REG_ID:
        val = BASELINE_ID;
        break;
    case REG_SCRATCH:
        val = s->scratch;
        break;
    case REG_IRQ_STATUS:
        val = s->irq_status;
        break;
    default:
        qemu_log_mask(LOG_GUEST_ERROR,
                      "%s: read of unknown register 0x%" HWADDR_PRIx "\n",
                      TYPE_QDEV_C_BASELINE, addr);
        val = 0;
        break;
    }
    trace_qdev_c_baseline_read(addr, size, val);
    return val;
}

static void baseline_write(void *opaque, hwaddr addr, uint64_t val,
                           unsigned size)
{
    BaselineState *s = opaque;

    trace_qdev_c_baseline_write(addr, size, val);
    switch (addr) {
    case REG_SCRATCH:
        s->scratch = val;
        break;
    case REG_IRQ_RAISE:
        s->irq_status |= val & 1;
        baseline_update_irq(s);
        break;
    case REG_IRQ_ACK:
        s->irq_status &= ~(val & 1);
        baseline_update_irq(s);
        break;
    default:
        qemu_log_mask(LOG_GUEST_ERROR,
                      "%s: write of 0x%" PRIx64 " to unknown register 0x%"
                      HWADDR_PRIx "\n", TYPE_QDEV_C_BASELINE, val, addr);
        break;
    }
}

static const MemoryRegionOps baseline_ops = {
    .read = baseline_read,
    .write = baseline_write,
    .endianness = DEVICE_LITTLE_ENDIAN,
    .valid = {
        .min_access_size = 4,
        .max_access_size = 4,
    },
    .impl = {
        .min_access_size = 4,
        .max_access_size = 4,
    },
};

static void baseline_realize(PCIDevice *pdev, Error **errp)
{
    BaselineState *s = QDEV_C_BASELINE(pdev);

    pci_config_set_interrupt_pin(pdev->config, 1);
    memory_region_init_io(&s->mmio, OBJECT(s), &baseline_ops, s,
                          "qdev-c-baseline-mmio", 0x1000);
    pci_register_bar(pdev, 0, PCI_BASE_ADDRESS_SPACE_MEMORY, &s->mmio);
}

static void baseline_reset(DeviceState *dev)
{
    BaselineState *s = QDEV_C_BASELINE(dev);

    s->scratch = 0;
    s->irq_status = 0;
}

static void baseline_class_init(ObjectClass *klass, void *data)
{
    DeviceClass *dc = DEVICE_CLASS(klass);
    PCIDeviceClass *k = PCI_DEVICE_CLASS(klass);

    k->realize = baseline_realize;
    k->vendor_id = 0x1234;
    k->device_id = 0xbace;
    k->revision = 1;
    k->class_id = PCI_CLASS_OTHERS;
    dc->desc = "qdev C baseline device";
    device_class_set_legacy_reset(dc, baseline_reset);
    set_bit(DEVICE_CATEGORY_MISC, dc->categories);
}

static const TypeInfo baseline_info = {
    .name = TYPE_QDEV_C_BASELINE,
    .parent = TYPE_PCI_DEVICE,
    .instance_size = sizeof(BaselineState),
    .class_init = baseline_class_init,
    .interfaces = (InterfaceInfo[]) {
        { INTERFACE_CONVENTIONAL_PCI_DEVICE },
        { },
    },
};

static void baseline_register_types(void)
{
    type_register_static(&baseline_info);
}

type_init(baseline_register_types)
