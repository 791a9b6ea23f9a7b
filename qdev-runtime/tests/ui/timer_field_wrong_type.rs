use qdev_runtime::qemu_device;

#[qemu_device(name = "timer-type", sysbus)]
struct Dev {
    #[reg(offset = 0x00, access = rw)]
    ctrl: u32,
    #[timer(callback = Self::tick)]
    tick_timer: u64,
}

fn main() {}
