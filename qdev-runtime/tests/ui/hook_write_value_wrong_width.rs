use qdev_runtime::qemu_device;

#[qemu_device(name = "hook-write-width", sysbus)]
struct Dev {
    #[reg(offset = 0x00, access = wo, write = Self::tx)]
    data: u32,
}

impl Dev {
    fn tx(&mut self, value: u8) {
        let _ = value;
    }
}

fn main() {}
