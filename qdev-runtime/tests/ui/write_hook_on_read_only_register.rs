use qdev_runtime::qemu_device;

#[qemu_device(name = "ro-hook", sysbus)]
struct Dev {
    #[reg(offset = 0x00, access = ro, write = Self::written)]
    status: u32,
}

impl Dev {
    fn written(&mut self, value: u32) {
        self.status = value;
    }
}

fn main() {}
