use qdev_runtime::qemu_device;

#[qemu_device(name = "reg-signed", sysbus)]
struct Dev {
    #[reg(offset = 0x00, access = rw)]
    temperature: i32,
}

fn main() {}
