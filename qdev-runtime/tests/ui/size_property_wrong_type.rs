use qdev_runtime::qemu_device;

#[qemu_device(
    name = "size-prop-type",
    pci(vendor = 0x1234, device = 0x0001),
    region(name = "mmio", size = 0x1000),
    region(name = "ram", size_property = "ram-size")
)]
struct Dev {
    #[reg(offset = 0x00, access = rw)]
    ctrl: u32,
    #[property(default = "64k")]
    ram_size: String,
}

fn main() {}
