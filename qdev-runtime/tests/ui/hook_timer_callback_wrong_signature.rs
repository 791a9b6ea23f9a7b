use qdev_runtime::{qemu_device, Timer};

#[qemu_device(name = "hook-timer", sysbus)]
struct Dev {
    #[reg(offset = 0x00, access = rw)]
    count: u32,
    #[timer(callback = Self::tick)]
    timer: Timer,
}

impl Dev {
    fn tick(&mut self, now_ns: u64) {
        self.count = now_ns as u32;
    }
}

fn main() {}
