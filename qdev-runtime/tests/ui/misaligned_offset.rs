use qdev_runtime::qemu_device;

#[qemu_device(name = "misaligned", sysbus)]
struct Dev {
    #[reg(offset = 0x00, access = ro)]
    id: u16,
    #[reg(offset = 0x02, access = rw)]
    status: u32,
}

fn main() {}
