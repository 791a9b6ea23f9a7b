use qdev_runtime::qemu_device;

#[qemu_device(name = "prop-default-type", sysbus)]
struct Dev {
    #[reg(offset = 0x00, access = rw)]
    ctrl: u32,
    #[property(default = "sixteen")]
    depth: u32,
}

fn main() {}
