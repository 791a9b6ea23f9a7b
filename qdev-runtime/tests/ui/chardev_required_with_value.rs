use qdev_runtime::{qemu_device, CharDev};

#[qemu_device(name = "required-value", sysbus)]
struct Dev {
    #[reg(offset = 0x00, access = rw)]
    ctrl: u32,
    #[chardev(required = yes)]
    chr: CharDev,
}

fn main() {}
