use qdev_runtime::qemu_device;

#[qemu_device(name = "outside-array", sysbus, region(name = "regs", size = 0x20))]
struct Dev {
    #[reg(offset = 0x10, access = rw, stride = 8)]
    channels: [u32; 4],
}

fn main() {}
