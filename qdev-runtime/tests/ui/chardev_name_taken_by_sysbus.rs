use qdev_runtime::qemu_device;

#[qemu_device(name = "chardev-mmio", sysbus)]
pub struct ChardevMmio {
    #[chardev(name = "mmio")]
    chr: qdev_runtime::CharDev,
}

fn main() {}
