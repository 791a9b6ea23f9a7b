use qdev_runtime::qemu_device;

#[qemu_device(name = "outside", sysbus, region(name = "regs", size = 0x10))]
struct Dev {
    #[reg(offset = 0x0c, access = rw)]
    ctrl: u32,
    #[reg(offset = 0x10, access = rw)]
    status: u32,
}

fn main() {}
