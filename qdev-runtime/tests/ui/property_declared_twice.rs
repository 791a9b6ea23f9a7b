use qdev_runtime::qemu_device;

#[qemu_device(name = "prop-twice", sysbus)]
struct Dev {
    #[reg(offset = 0x00, access = rw)]
    ctrl: u32,
    #[property(default = 16)]
    depth: u32,
    #[property(name = "depth", default = 8)]
    rx_depth: u32,
}

fn main() {}
