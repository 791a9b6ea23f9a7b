use qdev_runtime::qemu_device;

#[qemu_device(
    name = "method-migrate",
    sysbus,
    register(name = "STATUS", offset = 0x4, read = Self::status, migrate = false)
)]
struct Dev {
    #[reg(offset = 0x00, access = rw, migrate = maybe)]
    ctrl: u32,
}

impl Dev {
    fn status(&mut self) -> u32 {
        self.ctrl
    }
}

fn main() {}
