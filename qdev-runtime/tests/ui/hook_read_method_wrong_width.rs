use qdev_runtime::qemu_device;

#[qemu_device(
    name = "hook-read",
    sysbus,
    register(name = "DATA", offset = 0x04, read = Self::data)
)]
struct Dev {
    #[reg(offset = 0x00, access = rw)]
    ctrl: u32,
}

impl Dev {
    fn data(&mut self) -> u16 {
        self.ctrl as u16
    }
}

fn main() {}
