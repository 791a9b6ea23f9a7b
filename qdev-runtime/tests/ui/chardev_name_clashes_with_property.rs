use qdev_runtime::qemu_device;

#[qemu_device(name = "chardev-clash", sysbus)]
struct Dev {
    #[reg(offset = 0x00, access = rw)]
    data: u32,
    #[property(default = "uart")]
    chardev: String,
    #[chardev]
    serial: qdev_runtime::CharDev,
}

fn main() {}
