use qdev_runtime::qemu_device;

#[qemu_device(name = "prop-str-range", sysbus)]
struct Dev {
    #[reg(offset = 0x00, access = rw)]
    ctrl: u32,
    #[property(default = "uart", min = 1, max = 8)]
    label: String,
}

fn main() {}
