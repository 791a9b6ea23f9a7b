// SPDX-License-Identifier: GPL-2.0-or-later
//! What a module holds, asked of the module itself: QEMU is started with the
//! module preloaded and `QDEV_DESCRIBE=1`, and the module prints its device
//! types, properties, regions, registers and fields, and which of the QEMU
//! functions it needs the binary exports, then exits before registering
//! anything (see `qdev_runtime::describe`).

use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;

use crate::launch::{qemu_command, LaunchOptions};
use crate::qemu::QemuBinary;

/// One register, as the module describes it.
#[derive(Debug, Clone, Default)]
pub struct Register {
    /// Datasheet name.
    pub name: String,
    /// Offset in its region.
    pub offset: u64,
    /// Width in bytes.
    pub width: u32,
    /// Instances (arrays).
    pub count: u32,
    /// Distance between instances.
    pub stride: u64,
    /// Reset value.
    pub reset: u64,
    /// Per-kind bit masks (`rw`, `w1c`, ..., `reserved`).
    pub masks: BTreeMap<String, u64>,
    /// Doc comment.
    pub doc: String,
    /// Named fields: name, shift, bits.
    pub fields: Vec<(String, u32, u32)>,
    /// The access sizes the register takes; empty: any size within it.
    pub sizes: Vec<u32>,
    /// The model does not implement it (every access is logged).
    pub unimplemented: bool,
    /// Bits the model does not implement (a write changing them is logged).
    pub unimplemented_bits: u64,
}

impl Register {
    /// The register's access in one word: the kind that covers its bits, or
    /// `mixed`.
    pub fn access(&self) -> String {
        let kinds: Vec<&str> = ["rw", "wo", "w1c", "w1s", "w0c", "toggle", "rc", "rs"]
            .into_iter()
            .filter(|k| self.masks.get(*k).copied().unwrap_or(0) != 0)
            .collect();
        match kinds.as_slice() {
            [] => "ro".into(),
            ["rw", "wo"] => "wo".into(),
            [one] => (*one).into(),
            _ => "mixed".into(),
        }
    }
}

/// One region.
#[derive(Debug, Clone, Default)]
pub struct Region {
    /// Name.
    pub name: String,
    /// Size in bytes.
    pub size: u64,
    /// `mmio`, `io bar=N`, `mmio bar=N` or `config`.
    pub kind: String,
    /// Registers by offset.
    pub registers: Vec<Register>,
}

/// One property.
#[derive(Debug, Clone, Default)]
pub struct Property {
    /// Name.
    pub name: String,
    /// Type.
    pub ty: String,
    /// Default and range, as printed.
    pub detail: String,
    /// Description.
    pub description: String,
}

/// One device type.
#[derive(Debug, Clone, Default)]
pub struct Device {
    /// QOM type name.
    pub name: String,
    /// Bus and IDs, as printed.
    pub bus: String,
    /// Description.
    pub description: String,
    /// Properties.
    pub properties: Vec<Property>,
    /// Regions.
    pub regions: Vec<Region>,
}

/// What a module holds and needs.
#[derive(Debug, Clone, Default)]
pub struct Description {
    /// The module's build record.
    pub module: String,
    /// QEMU functions the module needs, and whether the binary has each.
    pub symbols: Vec<(String, bool)>,
    /// Device types.
    pub devices: Vec<Device>,
}

/// Why a module could not be described.
#[derive(Debug)]
pub struct DescribeError(pub String);

impl fmt::Display for DescribeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for DescribeError {}

/// Splits `a b c "quoted text"` into words and the quoted tail.
fn split(line: &str) -> (Vec<&str>, String) {
    let (head, quoted) = match line.find(" \"") {
        Some(i) => (&line[..i], &line[i + 1..]),
        None => (line, ""),
    };
    let text = quoted
        .strip_prefix('"')
        .and_then(|q| q.strip_suffix('"'))
        .unwrap_or(quoted)
        .replace("\\\"", "\"")
        .replace("\\\\", "\\");
    (head.split_whitespace().collect(), text)
}

fn kv<'a>(words: &[&'a str], key: &str) -> Option<&'a str> {
    words
        .iter()
        .find_map(|w| w.strip_prefix(key).and_then(|r| r.strip_prefix('=')))
}

fn num(s: Option<&str>) -> u64 {
    let s = s.unwrap_or("0");
    match s.strip_prefix("0x") {
        Some(h) => u64::from_str_radix(h, 16).unwrap_or(0),
        None => s.parse().unwrap_or(0),
    }
}

impl Description {
    /// Parses the module's output.
    pub fn parse(text: &str) -> Description {
        let mut d = Description::default();
        for line in text.lines() {
            let (w, quoted) = split(line);
            match w.first().copied() {
                Some("module") => d.module = line["module ".len()..].to_string(),
                Some("symbol") if w.len() >= 3 => d.symbols.push((w[1].into(), w[2] == "found")),
                Some("device") if w.len() >= 3 => d.devices.push(Device {
                    name: w[1].into(),
                    bus: w[2..].join(" "),
                    description: quoted,
                    ..Default::default()
                }),
                Some("property") if w.len() >= 4 => {
                    if let Some(dev) = d.devices.iter_mut().find(|x| x.name == w[1]) {
                        dev.properties.push(Property {
                            name: w[2].into(),
                            ty: w[3].into(),
                            detail: w[4..].join(" "),
                            description: quoted,
                        });
                    }
                }
                Some("region") if w.len() >= 4 => {
                    if let Some(dev) = d.devices.iter_mut().find(|x| x.name == w[1]) {
                        let kind = line.split(" kind=").nth(1).unwrap_or("").to_string();
                        dev.regions.push(Region {
                            name: w[2].into(),
                            size: num(kv(&w, "size")),
                            kind,
                            registers: Vec::new(),
                        });
                    }
                }
                Some("register") if w.len() >= 4 => {
                    let region = d
                        .devices
                        .iter_mut()
                        .find(|x| x.name == w[1])
                        .and_then(|dev| dev.regions.iter_mut().find(|r| r.name == w[2]));
                    if let Some(region) = region {
                        let masks = [
                            "rw", "wo", "w1c", "w1s", "w0c", "toggle", "rc", "rs", "reserved",
                        ]
                        .iter()
                        .map(|k| (k.to_string(), num(kv(&w, k))))
                        .collect();
                        region.registers.push(Register {
                            name: w[3].into(),
                            offset: num(kv(&w, "offset")),
                            width: num(kv(&w, "width")) as u32,
                            count: num(kv(&w, "count")) as u32,
                            stride: num(kv(&w, "stride")),
                            reset: num(kv(&w, "reset")),
                            masks,
                            doc: quoted,
                            fields: Vec::new(),
                            sizes: kv(&w, "sizes")
                                .map(|s| s.split(',').filter_map(|n| n.parse().ok()).collect())
                                .unwrap_or_default(),
                            unimplemented: kv(&w, "unimplemented") == Some("true"),
                            unimplemented_bits: num(kv(&w, "unimplemented_bits")),
                        });
                    }
                }
                Some("field") if w.len() >= 5 => {
                    let reg = d
                        .devices
                        .iter_mut()
                        .find(|x| x.name == w[1])
                        .and_then(|dev| dev.regions.iter_mut().find(|r| r.name == w[2]))
                        .and_then(|r| r.registers.iter_mut().find(|r| r.name == w[3]));
                    if let Some(reg) = reg {
                        reg.fields.push((
                            w[4].into(),
                            num(kv(&w, "shift")) as u32,
                            num(kv(&w, "bits")) as u32,
                        ));
                    }
                }
                _ => {}
            }
        }
        d
    }

    /// The QEMU functions the module needs that the binary does not export.
    pub fn missing_symbols(&self) -> Vec<&str> {
        self.symbols
            .iter()
            .filter(|(_, found)| !found)
            .map(|(n, _)| n.as_str())
            .collect()
    }
}

/// Asks `module` to describe itself inside `qemu` (loaded without the
/// version check, so even a mismatched module can be inspected).
pub fn describe(qemu: &QemuBinary, module: &Path) -> Result<Description, DescribeError> {
    let mut cmd = qemu_command(
        qemu,
        &[module.to_path_buf()],
        &LaunchOptions { no_check: true },
    )
    .map_err(|e| DescribeError(e.to_string()))?;
    let out = cmd
        .env("QDEV_DESCRIBE", "1")
        .args(["-M", "none", "-display", "none", "-nodefaults", "-S"])
        .stdin(std::process::Stdio::null())
        .output()
        .map_err(|e| DescribeError(format!("cannot run {}: {e}", qemu.path.display())))?;
    let text = String::from_utf8_lossy(&out.stdout);
    if !text.starts_with("module ") {
        return Err(DescribeError(format!(
            "{} did not describe itself (is it a qdev Rust module?); QEMU said: {}",
            module.display(),
            String::from_utf8_lossy(&out.stderr).trim()
        )));
    }
    Ok(Description::parse(&text))
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = "module QDEV-MODULE-INFO/1;qemu=10.0.2;package=Debian 1;host=x86_64;targets=x86_64;\n\
symbol qemu_set_irq found\n\
symbol no_such_function missing\n\
device d sysbus \"A \\\"quoted\\\" device\"\n\
property d ngpio u32 default=8 min=1 max=8 \"Pins.\"\n\
region d regs size=0x100 kind=mmio\n\
register d regs CTRL offset=0x10 width=4 count=1 stride=4 reset=0x0 rw=0x1 wo=0x0 w1c=0x0 w1s=0x0 w0c=0x0 toggle=0x2 rc=0x0 rs=0x0 reserved=0xffffff00 \"Control.\"\n\
field d regs CTRL ENABLE shift=0 bits=1\n";

    #[test]
    fn parses_a_description() {
        let d = Description::parse(SAMPLE);
        assert_eq!(d.missing_symbols(), ["no_such_function"]);
        let dev = &d.devices[0];
        assert_eq!(dev.description, "A \"quoted\" device");
        assert_eq!(dev.properties[0].detail, "default=8 min=1 max=8");
        let reg = &dev.regions[0].registers[0];
        assert_eq!(
            (reg.offset, reg.width, reg.masks["reserved"]),
            (0x10, 4, 0xffff_ff00)
        );
        assert_eq!(reg.access(), "mixed");
        assert_eq!(reg.fields, [("ENABLE".to_string(), 0, 1)]);
    }
}
