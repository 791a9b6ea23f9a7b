use qdev_runtime::qemu_device;

#[qemu_device(
    name = "same-bar",
    pci(vendor = 0x1234, device = 0x0001),
    region(name = "mmio", size = 0x1000, bar = 0),
    region(name = "msix", size = 0x1000, bar = 0)
)]
struct Dev {
    #[reg(offset = 0x00, access = rw)]
    ctrl: u32,
}

fn main() {}
