use qdev_runtime::qemu_device;

#[qemu_device(name = "reset-wide", sysbus)]
struct Dev {
    #[reg(offset = 0x00, access = rw, reset = 0x100)]
    level: u8,
}

fn main() {}
