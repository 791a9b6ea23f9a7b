use qdev_runtime::qemu_device;

#[qemu_device(
    name = "bar-number",
    pci(vendor = 0x1234, device = 0x0001),
    region(name = "mmio", size = 0x1000, bar = 6)
)]
struct Dev {
    #[reg(offset = 0x00, access = rw)]
    ctrl: u32,
}

fn main() {}
