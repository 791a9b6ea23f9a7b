use qdev_runtime::qemu_device;

#[qemu_device(name = "since-above", sysbus, version = 2)]
struct Dev {
    #[reg(offset = 0x00, access = rw, since = 2)]
    ctrl: u32,
    #[state(since = 3)]
    count: u32,
}

fn main() {}
