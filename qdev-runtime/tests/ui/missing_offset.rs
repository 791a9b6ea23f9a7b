use qdev_runtime::qemu_device;

#[qemu_device(name = "no-offset", sysbus)]
struct Dev {
    #[reg(access = rw)]
    ctrl: u32,
}

fn main() {}
