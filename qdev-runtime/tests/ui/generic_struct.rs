use qdev_runtime::qemu_device;

#[qemu_device(name = "generic", sysbus)]
struct Dev<T> {
    #[reg(offset = 0x00, access = rw)]
    ctrl: u32,
    extra: T,
}

fn main() {}
