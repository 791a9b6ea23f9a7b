use qdev_runtime::qemu_device;

#[qemu_device(name = "chardev-rx", sysbus)]
struct Dev {
    #[reg(offset = 0x00, access = rw)]
    data: u32,
    #[chardev(receive = Self::rx)]
    serial: qdev_runtime::CharDev,
}

fn main() {}
