use qdev_runtime::qemu_device;

#[qemu_device(name = "hook-gpio-in", sysbus, gpio_in(count = 4, handler = Self::input))]
struct Dev {
    #[reg(offset = 0x00, access = rw)]
    levels: u32,
}

impl Dev {
    fn input(&mut self, line: u32) {
        self.levels ^= 1 << line;
    }
}

fn main() {}
