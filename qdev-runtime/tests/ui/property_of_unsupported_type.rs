use qdev_runtime::qemu_device;

#[qemu_device(name = "prop-float", sysbus)]
struct Dev {
    #[reg(offset = 0x00, access = rw)]
    ctrl: u32,
    #[property(default = 1.5)]
    ratio: f32,
}

fn main() {}
