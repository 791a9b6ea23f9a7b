use qdev_runtime::qemu_device;

#[qemu_device(name = "zero-array", sysbus)]
struct Dev {
    #[reg(offset = 0x00, access = rw)]
    channels: [u32; 0],
}

fn main() {}
