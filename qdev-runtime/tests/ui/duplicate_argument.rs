use qdev_runtime::qemu_device;

#[qemu_device(name = "duplicate-arg", sysbus)]
struct Dev {
    #[reg(offset = 0x00, access = rw, offset = 0x04)]
    ctrl: u32,
}

fn main() {}
