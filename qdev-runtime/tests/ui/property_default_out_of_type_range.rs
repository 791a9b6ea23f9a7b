use qdev_runtime::qemu_device;

#[qemu_device(name = "prop-u8-range", sysbus)]
struct Dev {
    #[reg(offset = 0x00, access = rw)]
    ctrl: u32,
    #[property(default = 300)]
    depth: u8,
}

fn main() {}
