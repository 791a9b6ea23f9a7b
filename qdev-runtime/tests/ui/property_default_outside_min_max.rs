use qdev_runtime::qemu_device;

#[qemu_device(name = "prop-range", sysbus)]
struct Dev {
    #[reg(offset = 0x00, access = rw)]
    ctrl: u32,
    #[property(default = 16, min = 1, max = 8)]
    depth: u32,
}

fn main() {}
