use qdev_runtime::qemu_device;

struct Fifo;

#[qemu_device(name = "plain-no-default", sysbus)]
struct Dev {
    #[reg(offset = 0x00, access = rw)]
    ctrl: u32,
    fifo: Fifo,
}

fn main() {}
