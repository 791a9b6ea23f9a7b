use qdev_runtime::{qemu_device, CharDev};

#[qemu_device(name = "hook-chardev", sysbus)]
struct Dev {
    #[reg(offset = 0x00, access = rw)]
    data: u32,
    #[chardev(receive = Self::rx, can_receive = Self::room)]
    serial: CharDev,
}

impl Dev {
    fn rx(&mut self, bytes: &[u8]) {
        self.data = u32::from(bytes[0]);
    }

    fn room(&mut self) -> bool {
        self.data == 0
    }
}

fn main() {}
