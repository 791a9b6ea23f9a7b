// SPDX-License-Identifier: GPL-2.0-or-later
//! The catalogue devices as targets for sweeps and random sequences: how to
//! start each in QEMU and where its regions land, the same device on the
//! mocked bus, and a functional check that a device which survived a
//! hostile guest still works.

use std::path::PathBuf;

use qdev_runtime::mock::MockDevice;
use qdev_runtime::{Device, LineRef};
use qdev_tool::describe::{describe, Device as Described};
use qdev_tool::qemu::{default_binary, QemuBinary};

use crate::access::{reply_value, Space};
use crate::modules::rust_module;
use crate::script::Session;
use crate::{HarnessError, Result};

/// The catalogue devices, by package name.
pub const CATALOGUE: [&str; 6] = [
    "qdev-edu",
    "qdev-16550",
    "qdev-pl011",
    "qdev-i6300esb",
    "qdev-gpio",
    "qdev-baseline",
];

/// Where PCI devices are plugged (`addr=4` on bus 0).
pub const PCI_SLOT: u16 = 4;

/// A device on the mocked bus, whatever its type.
pub trait MockBus {
    /// A guest access of `size` bytes at `offset` of region `region`
    /// (config space when `config`); returns what a read sees.
    fn access(
        &mut self,
        region: u32,
        config: bool,
        offset: u64,
        size: u32,
        write: Option<u64>,
    ) -> u64;
    /// A system reset.
    fn reset(&mut self);
    /// Guest-error and unimplemented messages since the last call.
    fn take_log(&mut self) -> Vec<String>;
    /// The levels `line` was driven to since the last call (every drive,
    /// also one that does not change the level).
    fn take_drives(&mut self, line: LineRef) -> Vec<bool>;
    /// Drives GPIO input `line` (group 0).
    fn gpio_in(&mut self, line: u32, level: bool);
}

impl<T: Device> MockBus for MockDevice<T> {
    fn access(
        &mut self,
        region: u32,
        config: bool,
        offset: u64,
        size: u32,
        write: Option<u64>,
    ) -> u64 {
        match (config, write) {
            (true, Some(v)) => {
                self.config_write(offset, size, v);
                0
            }
            (true, None) => self.config_read(offset, size),
            (false, Some(v)) => {
                self.write(region, offset, size, v);
                0
            }
            (false, None) => self.read(region, offset, size),
        }
    }
    fn reset(&mut self) {
        MockDevice::reset(self)
    }
    fn take_log(&mut self) -> Vec<String> {
        MockDevice::take_log(self)
            .into_iter()
            .map(|e| e.message)
            .collect()
    }
    fn gpio_in(&mut self, line: u32, level: bool) {
        self.set_gpio_in(0, line, level)
    }
    fn take_drives(&mut self, line: LineRef) -> Vec<bool> {
        self.take_line_events()
            .into_iter()
            .filter(|e| e.line == line)
            .map(|e| e.level)
            .collect()
    }
}

/// A catalogue device ready to start.
pub struct Target {
    /// The package (and device type) name.
    pub package: &'static str,
    /// The module's description of the device.
    pub device: Described,
    /// The module.
    pub module: PathBuf,
    /// Machine and device arguments.
    pub args: Vec<String>,
    /// Where each region (description order) is reached.
    pub spaces: Vec<Space>,
    /// The PCI function, for PCI devices.
    pub bdf: Option<u16>,
    /// The interrupt compared between QEMU and the mocked bus: the I/O
    /// APIC input (GSI) it arrives at, and the device's line.
    pub irq: Option<(u32, LineRef)>,
    /// The QOM path and number of the device's GPIO inputs (group 0).
    pub gpio_inputs: Option<(&'static str, u32)>,
    mock: MockMaker,
    check: Check,
}

/// Makes the device on the mocked bus.
type MockMaker = fn() -> Box<dyn MockBus>;
/// A functional check in a QEMU session.
type Check = fn(&mut Session) -> std::result::Result<(), String>;

fn mock_of<T: Device + 'static>() -> Box<dyn MockBus> {
    Box::new(MockDevice::<T>::new().expect("the device realizes with default properties"))
}

fn args(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| s.to_string()).collect()
}

impl Target {
    /// Builds the module of `package`, asks it to describe itself, and
    /// places its regions.
    pub fn new(package: &'static str) -> Result<Target> {
        let module = rust_module(package)?;
        let binary = QemuBinary::inspect(&default_binary()).map_err(HarnessError::Binary)?;
        let description = describe(&binary, &module)
            .map_err(|e| HarnessError::Usage(format!("describing {package}: {e}")))?;
        let device = description
            .devices
            .into_iter()
            .find(|d| d.name == package)
            .ok_or_else(|| HarnessError::Usage(format!("{package} does not describe itself")))?;
        let pci = device.bus.starts_with("pci");
        let bdf = pci.then_some(PCI_SLOT << 3);
        let dev_arg = |extra: &str| format!("{package},addr={PCI_SLOT:#x}{extra}");
        let (args, mock, check): (Vec<String>, MockMaker, Check) = match package {
            "qdev-edu" => (
                args(&["-M", "q35", "-device", &dev_arg("")]),
                mock_of::<qdev_edu::Edu>,
                check_edu,
            ),
            "qdev-16550" => (
                args(&["-M", "q35", "-device", &dev_arg("")]),
                mock_of::<qdev_16550::Uart16550>,
                check_16550,
            ),
            "qdev-i6300esb" => (
                args(&[
                    "-M",
                    "pc",
                    "-action",
                    "watchdog=none",
                    "-device",
                    &dev_arg(""),
                ]),
                mock_of::<qdev_i6300esb::I6300Esb>,
                check_i6300esb,
            ),
            "qdev-baseline" => (
                args(&["-M", "pc", "-device", &dev_arg("")]),
                mock_of::<qdev_baseline::Baseline>,
                check_baseline,
            ),
            "qdev-gpio" => (
                args(&[
                    "-M",
                    "pc",
                    "-device",
                    &format!("qdev-gpio,id=gpio0,mmio={GPIO_BASE:#x},irq={GPIO_GSI}"),
                ]),
                mock_of::<qdev_gpio::Gpio>,
                check_gpio,
            ),
            "qdev-pl011" => (
                args(&[
                    "-M",
                    "pc",
                    "-device",
                    &format!("qdev-pl011,mmio={PL011_BASE:#x},irq=6"),
                ]),
                mock_of::<qdev_pl011::Pl011>,
                check_pl011,
            ),
            other => return Err(HarnessError::Usage(format!("no target for {other}"))),
        };
        // Sysbus regions: the runtime's `mmio=` placement (each region
        // after the previous one, aligned to its size); BARs: memory from
        // 0xfe000000 a MiB apart, ports from 0xc000.
        let mut spaces = Vec::new();
        let mut next = match package {
            "qdev-gpio" => GPIO_BASE,
            _ => PL011_BASE,
        };
        for (i, r) in device.regions.iter().enumerate() {
            let space = if r.kind == "config" {
                Space::Config(bdf.unwrap_or(0))
            } else if r.kind.starts_with("io") {
                Space::Io(0xc000 + 0x100 * i as u16)
            } else if pci {
                Space::Mmio(0xfe00_0000 + 0x10_0000 * i as u64)
            } else {
                if i > 0 {
                    next = next.next_multiple_of(r.size.next_power_of_two());
                }
                let at = next;
                next += r.size;
                Space::Mmio(at)
            };
            spaces.push(space);
        }
        // INTx of slot 4 pin A: on q35 PIRQE-H are GSI 20-23 (slot + pin
        // picks one); on pc, PIRQ[(slot + 3) % 4] = PIRQD, routed by
        // `setup` to ISA IRQ 11 (as SeaBIOS does). See `Qemu::pci_intx_gsi`.
        let irq = match package {
            "qdev-edu" | "qdev-16550" => Some((16 + 4 + u32::from(PCI_SLOT) % 4, LineRef::Intx)),
            "qdev-baseline" => Some((11, LineRef::Intx)),
            "qdev-gpio" => Some((GPIO_GSI, LineRef::Irq(0))),
            "qdev-pl011" => Some((6, LineRef::Irq(0))),
            _ => None,
        };
        Ok(Target {
            package,
            device,
            module,
            args,
            spaces,
            bdf,
            irq,
            gpio_inputs: (package == "qdev-gpio").then_some(("/machine/peripheral/gpio0", 8)),
            mock,
            check,
        })
    }

    /// The device on the mocked bus, reset.
    pub fn mock(&self) -> Box<dyn MockBus> {
        (self.mock)()
    }

    /// Starts QEMU with the device, its BARs mapped.
    pub fn start(&self) -> Result<Session> {
        let mut s = Session::start(std::slice::from_ref(&self.module), &self.args)?;
        self.setup(&mut s)?;
        Ok(s)
    }

    /// Programs the BARs and enables I/O, memory and bus mastering (again
    /// after each system reset, which clears them).
    pub fn setup(&self, s: &mut Session) -> Result<()> {
        if self.irq.is_some() {
            s.batch(&["irq_intercept_in ioapic".to_string()])?;
        }
        let Some(bdf) = self.bdf else { return Ok(()) };
        if self.args.iter().any(|a| a == "pc") {
            // PIIX3 PIRQD route (register 0x63) to ISA IRQ 11.
            s.batch(&["outl 0xcf8 0x80000860".into(), "outb 0xcff 0xb".into()])?;
        }
        let cfg = |reg: u32| {
            format!(
                "outl 0xcf8 0x{:x}",
                0x8000_0000u32 | u32::from(bdf) << 8 | reg
            )
        };
        for (r, space) in self.device.regions.iter().zip(&self.spaces) {
            let Some(bar) = r
                .kind
                .split("bar=")
                .nth(1)
                .and_then(|b| b.parse::<u32>().ok())
            else {
                continue;
            };
            let reg = 0x10 + 4 * bar;
            let addr = match *space {
                Space::Mmio(a) => a,
                Space::Io(p) => u64::from(p),
                Space::Config(_) => continue,
            };
            let replies = s.batch(&[
                cfg(reg),
                format!("outl 0xcfc 0x{addr:x}"),
                "inl 0xcfc".into(),
            ])?;
            let low = reply_value(&replies[2]).unwrap_or(0);
            if low & 1 == 0 && low & 6 == 4 {
                s.batch(&[cfg(reg + 4), "outl 0xcfc 0x0".into()])?;
            }
        }
        s.batch(&[cfg(0x04), "outw 0xcfc 0x7".into()])?;
        Ok(())
    }

    /// Resets the machine and the BARs.
    pub fn reset(&self, s: &mut Session) -> Result<()> {
        s.system_reset()?;
        self.setup(s)
    }

    /// The device's functional check, run on a freshly reset machine.
    pub fn check(&self, s: &mut Session) -> std::result::Result<(), String> {
        self.reset(s).map_err(|e| e.to_string())?;
        (self.check)(s)
    }
}

const GPIO_BASE: u64 = 0xfed0_1000;
const GPIO_GSI: u32 = 5;
const PL011_BASE: u64 = 0xfed0_4000;
const BAR0: u64 = 0xfe00_0000;
const IO0: u64 = 0xc000;

fn read(s: &mut Session, cmd: String) -> std::result::Result<u64, String> {
    let r = s.command(&cmd).map_err(|e| e.to_string())?;
    reply_value(&r).ok_or_else(|| format!("`{cmd}` answered `{r}`"))
}

fn write(s: &mut Session, cmd: String) -> std::result::Result<(), String> {
    match s.command(&cmd).map_err(|e| e.to_string())?.as_str() {
        "OK" => Ok(()),
        r => Err(format!("`{cmd}` answered `{r}`")),
    }
}

fn expect(what: &str, got: u64, want: u64) -> std::result::Result<(), String> {
    if got == want {
        Ok(())
    } else {
        Err(format!("{what}: read 0x{got:x}, expected 0x{want:x}"))
    }
}

/// edu: identification, liveness, factorial, interrupt status (as
/// `tests/edu.rs` checks them).
fn check_edu(s: &mut Session) -> std::result::Result<(), String> {
    expect("ID", read(s, format!("readl 0x{BAR0:x}"))?, 0x0100_00ed)?;
    write(s, format!("writel 0x{:x} 0x5555aaaa", BAR0 + 4))?;
    expect(
        "LIVENESS",
        read(s, format!("readl 0x{:x}", BAR0 + 4))?,
        0xaaaa_5555,
    )?;
    write(s, format!("writel 0x{:x} 12", BAR0 + 8))?;
    expect(
        "FACT",
        read(s, format!("readl 0x{:x}", BAR0 + 8))?,
        479_001_600,
    )?;
    write(s, format!("writel 0x{:x} 0x42", BAR0 + 0x60))?;
    expect(
        "IRQ_STATUS",
        read(s, format!("readl 0x{:x}", BAR0 + 0x24))?,
        0x42,
    )?;
    write(s, format!("writel 0x{:x} 0x42", BAR0 + 0x64))?;
    expect(
        "IRQ_STATUS",
        read(s, format!("readl 0x{:x}", BAR0 + 0x24))?,
        0,
    )
}

/// 16550: scratch register, divisor latch, and a byte through loopback.
fn check_16550(s: &mut Session) -> std::result::Result<(), String> {
    write(s, format!("outb 0x{:x} 0x5a", IO0 + 7))?;
    expect("SCR", read(s, format!("inb 0x{:x}", IO0 + 7))?, 0x5a)?;
    write(s, format!("outb 0x{:x} 0x83", IO0 + 3))?; // DLAB
    write(s, format!("outb 0x{IO0:x} 0x0c"))?;
    expect("DLL", read(s, format!("inb 0x{IO0:x}"))?, 0x0c)?;
    write(s, format!("outb 0x{:x} 0x03", IO0 + 3))?;
    write(s, format!("outb 0x{:x} 0x07", IO0 + 2))?; // FIFO on, cleared
    write(s, format!("outb 0x{:x} 0x10", IO0 + 4))?; // loopback
    write(s, format!("outb 0x{IO0:x} 0xa7"))?;
    expect("LSR.DR", read(s, format!("inb 0x{:x}", IO0 + 5))? & 1, 1)?;
    expect("RBR", read(s, format!("inb 0x{IO0:x}"))?, 0xa7)
}

/// PL011: identification, control register, a byte through loopback.
fn check_pl011(s: &mut Session) -> std::result::Result<(), String> {
    let b = PL011_BASE;
    expect(
        "PeriphID0",
        read(s, format!("readl 0x{:x}", b + 0xfe0))?,
        0x11,
    )?;
    expect(
        "PCellID3",
        read(s, format!("readl 0x{:x}", b + 0xffc))?,
        0xb1,
    )?;
    write(s, format!("writel 0x{:x} 0x10", b + 0x2c))?; // FEN
    write(s, format!("writel 0x{:x} 0x381", b + 0x30))?; // UARTEN LBE TXE RXE
    write(s, format!("writel 0x{b:x} 0x5a"))?;
    expect(
        "FR.RXFE",
        read(s, format!("readl 0x{:x}", b + 0x18))? & 0x10,
        0,
    )?;
    expect("DR", read(s, format!("readl 0x{b:x}"))? & 0xff, 0x5a)
}

/// i6300esb: IDs, config registers, the unlock sequence.
fn check_i6300esb(s: &mut Session) -> std::result::Result<(), String> {
    let a = 0x8000_0000u32 | u32::from(PCI_SLOT << 3) << 8;
    write(s, format!("outl 0xcf8 0x{a:x}"))?;
    expect("vendor", read(s, "inw 0xcfc".into())?, 0x8086)?;
    write(s, format!("outl 0xcf8 0x{:x}", a | 0x60))?;
    write(s, "outw 0xcfc 0x4".into())?;
    expect("ESB_CONFIG", read(s, "inw 0xcfc".into())?, 0x4)?;
    write(s, format!("writew 0x{:x} 0x80", BAR0 + 0xc))?;
    write(s, format!("writew 0x{:x} 0x86", BAR0 + 0xc))?;
    write(s, format!("writel 0x{BAR0:x} 0x1234"))?;
    expect("TIMER1", read(s, format!("readl 0x{BAR0:x}"))?, 0x1234)
}

/// gpio: identification, read-back, an input edge latched and interrupting
/// at its GSI (as `tests/gpio.rs` checks it).
fn check_gpio(s: &mut Session) -> std::result::Result<(), String> {
    let b = GPIO_BASE;
    expect(
        "VERSION",
        read(s, format!("readl 0x{:x}", b + 0x14))?,
        0x1_0000,
    )?;
    expect("SCRATCH", read(s, format!("readb 0x{:x}", b + 0x40))?, 0xa5)?;
    write(s, format!("writel 0x{b:x} 0x5a"))?;
    write(s, format!("writeb 0x{:x} 0x12", b + 1))?;
    expect("DATA_OUT", read(s, format!("readl 0x{b:x}"))?, 0x125a)?;
    write(s, "irq_intercept_in ioapic".into())?;
    write(s, format!("writel 0x{:x} 1", b + 0x20 + 12))?; // PIN_CFG[3]: rising
    write(s, format!("writel 0x{:x} 8", b + 0xc))?; // INT_MASK
    write(s, format!("writel 0x{:x} 1", b + 0x10))?; // CTRL.ENABLE
    s.take_interrupts();
    write(s, "set_irq_in /machine/peripheral/gpio0 in 3 1".into())?;
    expect("DATA_IN", read(s, format!("readl 0x{:x}", b + 4))?, 8)?;
    expect("INT_STATUS", read(s, format!("readl 0x{:x}", b + 8))?, 8)?;
    let raised = s
        .take_interrupts()
        .iter()
        .any(|i| i.line == GPIO_GSI && i.level);
    if !raised {
        return Err(format!("no interrupt at GSI {GPIO_GSI}"));
    }
    Ok(())
}

/// baseline: identification and scratch.
fn check_baseline(s: &mut Session) -> std::result::Result<(), String> {
    expect("ID", read(s, format!("readl 0x{BAR0:x}"))?, 0x7164_6576)?;
    write(s, format!("writel 0x{:x} 0xcafe", BAR0 + 4))?;
    expect(
        "SCRATCH",
        read(s, format!("readl 0x{:x}", BAR0 + 4))?,
        0xcafe,
    )
}
