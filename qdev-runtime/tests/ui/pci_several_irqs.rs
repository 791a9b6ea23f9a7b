use qdev_runtime::{qemu_device, Irq};

#[qemu_device(name = "pci-irqs", pci(vendor = 0x1234, device = 0x0001))]
struct Dev {
    #[reg(offset = 0x00, access = rw)]
    ctrl: u32,
    #[irq]
    tx: Irq,
    #[irq]
    rx: Irq,
}

fn main() {}
