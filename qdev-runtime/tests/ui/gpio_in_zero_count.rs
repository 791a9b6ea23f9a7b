use qdev_runtime::qemu_device;

#[qemu_device(name = "gpio-zero", sysbus, gpio_in(count = 0, handler = Self::input))]
struct Dev {
    #[reg(offset = 0x00, access = rw)]
    levels: u32,
}

impl Dev {
    fn input(&mut self, line: u32, level: bool) {
        let _ = (line, level);
    }
}

fn main() {}
