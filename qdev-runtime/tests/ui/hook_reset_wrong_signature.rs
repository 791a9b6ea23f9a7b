use qdev_runtime::qemu_device;

#[qemu_device(name = "hook-reset", sysbus, reset = Self::clear)]
struct Dev {
    #[reg(offset = 0x00, access = rw)]
    ctrl: u32,
}

impl Dev {
    fn clear(&mut self, value: u32) {
        self.ctrl = value;
    }
}

fn main() {}
