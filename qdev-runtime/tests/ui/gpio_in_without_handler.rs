use qdev_runtime::qemu_device;

#[qemu_device(name = "gpio-in", sysbus, gpio_in(name = "in", count = 4))]
struct Dev {
    #[reg(offset = 0x00, access = rw)]
    ctrl: u32,
}

fn main() {}
