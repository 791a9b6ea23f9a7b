use qdev_runtime::qemu_device;

#[qemu_device(name = "hook-realize", sysbus, realize = Self::check)]
struct Dev {
    #[reg(offset = 0x00, access = rw)]
    ctrl: u32,
}

impl Dev {
    fn check(&mut self) -> bool {
        self.ctrl == 0
    }
}

fn main() {}
