use qdev_runtime::qemu_device;

#[qemu_device(name = "prop-arg", sysbus)]
struct Dev {
    #[reg(offset = 0x00, access = rw)]
    ctrl: u32,
    #[property(defualt = 16)]
    depth: u32,
}

fn main() {}
