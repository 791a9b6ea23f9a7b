use qdev_runtime::qemu_device;

#[qemu_device(name = "pci-no-device", pci(vendor = 0x1234))]
struct Dev {
    #[reg(offset = 0x00, access = rw)]
    ctrl: u32,
}

fn main() {}
