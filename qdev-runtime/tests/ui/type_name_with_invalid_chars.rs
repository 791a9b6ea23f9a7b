use qdev_runtime::qemu_device;

#[qemu_device(name = "my uart", sysbus)]
struct Dev {
    #[reg(offset = 0x00, access = rw)]
    ctrl: u32,
}

fn main() {}
