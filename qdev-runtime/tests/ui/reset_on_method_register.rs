use qdev_runtime::qemu_device;

#[qemu_device(
    name = "method-reset",
    sysbus,
    register(name = "DATA", offset = 0x04, read = Self::data, reset = 0x5)
)]
struct Dev {
    #[reg(offset = 0x00, access = rw)]
    ctrl: u32,
}

impl Dev {
    fn data(&mut self) -> u32 {
        self.ctrl
    }
}

fn main() {}
