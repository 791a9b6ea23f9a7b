use qdev_runtime::qemu_device;

#[qemu_device(
    name = "bar-size",
    pci(vendor = 0x1234, device = 0x0001),
    region(name = "mmio", size = 0x300)
)]
struct Dev {
    #[reg(offset = 0x00, access = rw)]
    ctrl: u32,
}

fn main() {}
