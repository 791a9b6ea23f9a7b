use qdev_runtime::qemu_device;

#[qemu_device(name = "two-buses", sysbus, pci(vendor = 0x1234, device = 0x1))]
pub struct TwoBuses {
    #[reg(offset = 0x0)]
    a: u32,
}

fn main() {}
