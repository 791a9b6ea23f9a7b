use qdev_runtime::qemu_device;

#[qemu_device(name = "msix-no-bar", pci(vendor = 0x1234, device = 0x0001, msix = 4))]
struct Dev {
    #[reg(offset = 0x00, access = rw)]
    ctrl: u32,
}

fn main() {}
