use qdev_runtime::qemu_device;

#[qemu_device(name = "stride-small", sysbus)]
struct Dev {
    #[reg(offset = 0x00, access = rw, stride = 2)]
    channels: [u32; 4],
}

fn main() {}
