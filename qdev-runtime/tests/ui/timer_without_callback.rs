use qdev_runtime::qemu_device;

#[qemu_device(name = "timer-no-callback", sysbus)]
struct Dev {
    #[reg(offset = 0x00, access = rw)]
    ctrl: u32,
    #[timer]
    tick: qdev_runtime::Timer,
}

fn main() {}
