use qdev_runtime::qemu_device;

#[qemu_device(name = "mask-wide", sysbus)]
struct Dev {
    #[reg(offset = 0x00, rw = 0x0f, w1c = 0x1f0)]
    status: u8,
}

fn main() {}
