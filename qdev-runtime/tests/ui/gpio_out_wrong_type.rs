use qdev_runtime::qemu_device;

#[qemu_device(name = "gpio-out-type", sysbus)]
struct Dev {
    #[reg(offset = 0x00, access = rw)]
    ctrl: u32,
    #[gpio_out(name = "out")]
    out: [bool; 8],
}

fn main() {}
