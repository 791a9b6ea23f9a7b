use qdev_runtime::qemu_device;

#[qemu_device(name = "min-above", sysbus, version = 2, minimum_version = 3)]
struct Dev {
    #[reg(offset = 0x00, access = rw)]
    ctrl: u32,
}

fn main() {}
