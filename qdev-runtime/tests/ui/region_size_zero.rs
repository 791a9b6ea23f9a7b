use qdev_runtime::qemu_device;

#[qemu_device(name = "region-zero", sysbus, region(name = "regs", size = 0))]
struct Dev {
    #[reg(offset = 0x00, access = rw)]
    ctrl: u32,
}

fn main() {}
