use qdev_runtime::qemu_device;

#[qemu_device(
    name = "bar-sysbus",
    sysbus,
    region(name = "regs", size = 0x100, bar = 2)
)]
struct Dev {
    #[reg(offset = 0x00, access = rw)]
    ctrl: u32,
}

fn main() {}
