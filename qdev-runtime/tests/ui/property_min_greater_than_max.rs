use qdev_runtime::qemu_device;

#[qemu_device(name = "prop-min-max", sysbus)]
struct Dev {
    #[reg(offset = 0x00, access = rw)]
    ctrl: u32,
    #[property(default = 4, min = 8, max = 1)]
    depth: u32,
}

fn main() {}
