use qdev_runtime::qemu_device;

#[qemu_device(name = "no-region", sysbus, region(name = "regs", size = 0x100))]
struct Dev {
    #[reg(offset = 0x00, access = rw)]
    ctrl: u32,
    #[reg(region = "dma", offset = 0x00, access = rw)]
    dma_addr: u32,
}

fn main() {}
