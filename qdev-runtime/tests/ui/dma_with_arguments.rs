use qdev_runtime::qemu_device;

#[qemu_device(name = "dma-args", pci(vendor = 0x1234, device = 0x0001))]
struct Dev {
    #[reg(offset = 0x00, access = rw)]
    ctrl: u32,
    #[dma(mask = 32)]
    dma: qdev_runtime::Dma,
}

fn main() {}
