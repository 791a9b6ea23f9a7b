use qdev_runtime::qemu_device;

#[qemu_device(name = "skip-since", sysbus, version = 2)]
struct Dev {
    #[reg(offset = 0x00, access = rw)]
    ctrl: u32,
    #[state(skip, since = 2)]
    cache: u32,
    #[state(sometimes)]
    other: u32,
}

fn main() {}
