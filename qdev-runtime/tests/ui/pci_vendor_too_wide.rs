use qdev_runtime::qemu_device;

#[qemu_device(name = "pci-vendor", pci(vendor = 0x12345, device = 0x0001))]
struct Dev {
    #[reg(offset = 0x00, access = rw)]
    ctrl: u32,
}

fn main() {}
