use qdev_runtime::qemu_device;

#[qemu_device(name = "hook-missing", sysbus)]
struct Dev {
    #[reg(offset = 0x00, access = wo, write = Self::transmit)]
    data: u32,
}

impl Dev {
    fn tx(&mut self, value: u32) {
        let _ = value;
    }
}

fn main() {}
