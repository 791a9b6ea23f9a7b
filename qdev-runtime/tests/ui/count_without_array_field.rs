use qdev_runtime::qemu_device;

#[qemu_device(name = "count-scalar", sysbus)]
struct Dev {
    #[reg(offset = 0x00, access = rw, count = 4)]
    channels: u32,
}

fn main() {}
