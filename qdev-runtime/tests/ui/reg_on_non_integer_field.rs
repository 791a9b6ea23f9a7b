use qdev_runtime::qemu_device;

#[qemu_device(name = "reg-bool", sysbus)]
struct Dev {
    #[reg(offset = 0x00, access = rw)]
    enabled: bool,
}

fn main() {}
