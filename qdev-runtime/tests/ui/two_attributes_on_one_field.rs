use qdev_runtime::qemu_device;

#[qemu_device(name = "two-attrs", sysbus)]
struct Dev {
    #[reg(offset = 0x00, access = rw)]
    #[property(default = 1)]
    ctrl: u32,
}

fn main() {}
