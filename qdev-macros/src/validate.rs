// SPDX-License-Identifier: GPL-2.0-or-later
//! Stage 2: check the model against the rules a datasheet obeys. Each
//! mistake is a compile error at the attribute that makes it, and all of
//! them are reported together.

use crate::model::{Bus, Errors, Model, Region, Register, Storage};

/// A region with its final size and registers assigned.
pub struct CheckedRegion<'a> {
    pub name: String,
    pub size: u64,
    pub size_property: Option<String>,
    pub io: bool,
    pub bits64: bool,
    pub prefetch: bool,
    pub config: bool,
    pub bar: u64,
    pub regs: Vec<&'a Register>,
}

/// The end (exclusive) of a register or register array.
pub fn reg_end(r: &Register) -> u64 {
    let stride = r.stride.unwrap_or(u64::from(r.width));
    r.offset + stride * (r.count - 1) + u64::from(r.width)
}

fn width_mask(width: u32) -> u64 {
    if width >= 8 {
        u64::MAX
    } else {
        (1u64 << (width * 8)) - 1
    }
}

pub fn check<'a>(model: &'a Model, errors: &mut Errors) -> Vec<CheckedRegion<'a>> {
    let d = &model.device;

    // Migration versions: a field is added in a version the device has.
    if d.minimum_version.0 > d.version.0 {
        errors.add(
            d.minimum_version.1,
            format!(
                "minimum_version = {} is above the device's version = {}",
                d.minimum_version.0, d.version.0
            ),
        );
    }
    for m in &model.migrated {
        if m.since > d.version.0 {
            errors.add(
                m.since_span.unwrap_or(m.span),
                format!(
                    "since = {} is above the device's migration version ({}): \
                     raise it with #[qemu_device(..., version = {})]",
                    m.since, d.version.0, m.since
                ),
            );
        }
    }
    for r in &model.regs {
        if let (Storage::Methods, Some(s)) = (&r.storage, r.migrate.1.or(r.since.1)) {
            errors.add(
                s,
                "`migrate` and `since` apply to register fields: a method register's state \
                 lives in the device's fields, which are migrated themselves",
            );
        }
    }

    // Property names: unique, and not the runtime's own placement
    // properties of sysbus devices.
    for (i, p) in model.props.iter().enumerate() {
        if d.bus == Bus::SysBus && ["mmio", "irq", "intc"].contains(&p.name.as_str()) {
            errors.add(
                &p.field,
                format!(
                    "property name `{}` is taken by qdev's placement properties of sysbus devices \
                     (mmio, irq, intc); give it another with `name = \"...\"`",
                    p.name
                ),
            );
        }
        if model.props[..i].iter().any(|q| q.name == p.name) {
            errors.add(&p.field, format!("property `{}` is declared twice", p.name));
        }
    }

    // Regions: declared, or one default region named "regs".
    let default_region = Region::named("regs", proc_macro2::Span::call_site());
    let declared: Vec<&Region> = if d.regions.is_empty() {
        vec![&default_region]
    } else {
        d.regions.iter().collect()
    };
    if declared.len() > 8 {
        errors.add(declared[8].span, "a device has at most 8 regions");
    }
    for (i, r) in declared.iter().enumerate() {
        if declared[..i].iter().any(|o| o.name == r.name) {
            errors.add(r.span, format!("region `{}` is declared twice", r.name));
        }
        if r.io && d.bus != Bus::Pci {
            errors.add(
                r.span,
                "`io` regions are PCI I/O BARs; a sysbus device has MMIO regions only",
            );
        }
        if r.bar.is_some() && d.bus != Bus::Pci {
            errors.add(r.span, "`bar` applies to PCI devices");
        }
        if let Some(b) = r.bar {
            if b > 5 {
                errors.add(r.span, "a PCI BAR number is 0 to 5");
            }
        }
        if r.config
            && (d.bus != Bus::Pci
                || r.io
                || r.bits64
                || r.prefetch
                || r.bar.is_some()
                || r.size.is_some()
                || r.size_property.is_some())
        {
            errors.add(
                r.span,
                "a `config` region is PCI config space: no bar, size, io, bits64 or prefetch",
            );
        }
        if (r.bits64 || r.prefetch) && (d.bus != Bus::Pci || r.io) {
            errors.add(r.span, "`bits64` and `prefetch` apply to PCI memory BARs");
        }
        if let Some((name, span)) = &r.size_property {
            match model.props.iter().find(|p| &p.name == name) {
                Some(p)
                    if matches!(
                        p.ty,
                        crate::model::PropType::U32 | crate::model::PropType::U64
                    ) => {}
                Some(_) => errors.add(
                    *span,
                    format!("property `{name}` sizes a region, so it must be u32 or u64"),
                ),
                None => errors.add(
                    *span,
                    format!("no property named `{name}` (property names use '-', e.g. `bar-size`)"),
                ),
            }
        }
        if let Some(size) = r.size {
            if size == 0 || (d.bus == Bus::Pci && !size.is_power_of_two()) {
                errors.add(
                    r.span,
                    if d.bus == Bus::Pci {
                        "a BAR size must be a power of two"
                    } else {
                        "a region size must not be 0"
                    },
                );
            }
        }
    }

    let mut regions: Vec<CheckedRegion> = declared
        .iter()
        .enumerate()
        .map(|(i, r)| CheckedRegion {
            name: r.name.clone(),
            size: r.size.unwrap_or(0),
            size_property: r.size_property.as_ref().map(|p| p.0.clone()),
            io: r.io,
            bits64: r.bits64,
            prefetch: r.prefetch,
            config: r.config,
            bar: r.bar.unwrap_or(i as u64),
            regs: Vec::new(),
        })
        .collect();
    let mut used_bars = std::collections::HashSet::new();
    let mut owners: Vec<(u64, &str, bool)> = Vec::new();
    for (i, r) in regions.iter().enumerate().filter(|(_, r)| !r.config) {
        let step = if r.bits64 { 2 } else { 1 };
        if d.bus == Bus::Pci {
            for k in 0..step {
                used_bars.insert(r.bar + k);
                if let Some((_, owner, upper)) = owners.iter().find(|o| o.0 == r.bar + k) {
                    let why = if *upper {
                        format!(
                            "region `{owner}` is a 64-bit BAR at {}, which also takes BAR {}",
                            r.bar + k - 1,
                            r.bar + k
                        )
                    } else {
                        format!("region `{owner}` uses it")
                    };
                    errors.add(
                        declared[i].span,
                        format!("BAR {} of region `{}` is taken: {why}", r.bar + k, r.name),
                    );
                    break;
                }
            }
            for k in 0..step {
                owners.push((r.bar + k, &r.name, k == 1));
            }
        }
        if r.bits64 && r.bar >= 5 {
            errors.add(
                declared[i].span,
                format!("a 64-bit BAR takes two slots; BAR {} has no room", r.bar),
            );
        }
    }
    if let Some(p) = &d.pci {
        if let Some(bar) = p.msix_bar {
            if p.msix > 0 && used_bars.contains(&bar) {
                errors.add(p.span, format!("msix_bar = {bar} is already a region's BAR; the MSI-X table needs a BAR of its own"));
            }
        }
    }

    // Limits of the runtime's instance layout.
    let lines: u64 = model
        .lines
        .iter()
        .filter(|l| !(d.bus == Bus::Pci && matches!(l.kind, crate::model::Line::Irq)))
        .map(|l| l.array.unwrap_or(1))
        .sum();
    if lines > 64 {
        errors.add(
            proc_macro2::Span::call_site(),
            format!("a device has at most 64 IRQ and GPIO output lines, not {lines}"),
        );
    }
    if d.gpio_in.len() > 8 {
        errors.add(
            proc_macro2::Span::call_site(),
            "a device has at most 8 gpio_in groups",
        );
    }
    if let Some(g) = d.gpio_in.iter().find(|g| g.count == 0) {
        errors.add(&g.handler, "a gpio_in group needs count >= 1");
    }

    // Service handles.
    use crate::model::Service;
    let count = |f: fn(&Service) -> bool| model.services.iter().filter(|s| f(&s.kind)).count();
    if count(|k| matches!(k, Service::Timer { .. })) > 8 {
        errors.add(
            proc_macro2::Span::call_site(),
            "a device has at most 8 timers",
        );
    }
    if count(|k| matches!(k, Service::Chardev { .. })) > 4 {
        errors.add(
            proc_macro2::Span::call_site(),
            "a device has at most 4 chardevs",
        );
    }
    for sf in &model.services {
        match &sf.kind {
            Service::Msi => {
                let ok = d.pci.as_ref().is_some_and(|p| p.msi > 0 || p.msix > 0);
                if !ok {
                    errors.add(sf.span, "#[msi] needs a PCI device with `pci(..., msi = N)` or `pci(..., msix = N, msix_bar = B)`");
                }
            }
            Service::Chardev { name, .. }
                if d.bus == Bus::SysBus && ["mmio", "irq", "intc"].contains(&name.as_str()) =>
            {
                errors.add(
                    sf.span,
                    format!("chardev property name `{name}` is taken by qdev's placement properties of sysbus devices (mmio, irq, intc)"),
                );
            }
            Service::Chardev { name, .. } if model.props.iter().any(|p| &p.name == name) => {
                errors.add(
                    sf.span,
                    format!(
                        "chardev property `{name}` clashes with a #[property] of the same name"
                    ),
                );
            }
            _ => {}
        }
    }

    let mut intx = 0;
    for l in &model.lines {
        if matches!(l.kind, crate::model::Line::Irq) && d.bus == Bus::Pci {
            intx += 1;
            if intx > 1 || l.array.is_some() {
                errors.add(
                    &l.field,
                    "a PCI function has one interrupt pin (INTx): declare a single `#[irq] irq: Irq`",
                );
            }
        }
    }

    for reg in &model.regs {
        let w = u64::from(reg.width);
        let stride = reg.stride.unwrap_or(w);
        let end = stride
            .checked_mul(reg.count.saturating_sub(1))
            .and_then(|s| reg.offset.checked_add(s))
            .and_then(|o| o.checked_add(w));
        if end.is_none() {
            errors.add(
                reg.offset_span,
                format!(
                    "register {} at {:#x} runs past the end of the address space",
                    reg.name, reg.offset
                ),
            );
            continue;
        }
        if reg.reserved & !width_mask(reg.width) != 0 {
            errors.add(
                reg.reserved_span,
                format!(
                    "reserved mask {:#x} is wider than the {}-bit register",
                    reg.reserved,
                    reg.width * 8
                ),
            );
        }
        if matches!(reg.storage, Storage::Field(_)) {
            let mut writable = reg
                .masks
                .iter()
                .any(|(k, _, _)| !["ro", "rc", "rs"].contains(&k.as_str()));
            if (reg.masks.is_empty() || reg.access_explicit)
                && !["ro", "rc", "rs"].contains(&reg.access.as_str())
            {
                writable = true;
            }
            if !writable {
                for h in [&reg.before_write, &reg.after_write].into_iter().flatten() {
                    errors.push(syn::Error::new_spanned(
                        h,
                        format!(
                            "register {} is read-only (access = {}): a write hook would never run",
                            reg.name, reg.access
                        ),
                    ));
                }
            }
        }
        if reg.offset % w != 0 {
            errors.add(
                reg.offset_span,
                format!(
                    "register {} at offset {:#x} is not aligned to its width of {} bytes",
                    reg.name, reg.offset, w
                ),
            );
        }
        if reg.reset & !width_mask(reg.width) != 0 {
            errors.add(
                reg.reset_span,
                format!(
                    "reset value {:#x} does not fit the {}-bit register {}",
                    reg.reset,
                    reg.width * 8,
                    reg.name
                ),
            );
        }
        for (kind, mask, span) in &reg.masks {
            if mask & !width_mask(reg.width) != 0 {
                errors.add(
                    *span,
                    format!(
                        "{kind} mask {mask:#x} is wider than the {}-bit register",
                        reg.width * 8
                    ),
                );
            }
        }
        for (i, (ka, ma, span)) in reg.masks.iter().enumerate() {
            for (kb, mb, _) in &reg.masks[..i] {
                if ma & mb != 0 {
                    errors.add(*span, format!("bits {:#x} are both {kb} and {ka}", ma & mb));
                }
            }
            if ma & reg.reserved != 0 {
                errors.add(
                    *span,
                    format!("bits {:#x} are both {ka} and reserved", ma & reg.reserved),
                );
            }
        }
        for (i, f) in reg.fields.iter().enumerate() {
            if u64::from(f.shift) + u64::from(f.bits) > u64::from(reg.width) * 8 {
                errors.add(
                    f.span,
                    format!(
                        "field {} (bits {}..={}) does not fit the {}-bit register {}",
                        f.name,
                        f.shift,
                        u64::from(f.shift) + u64::from(f.bits) - 1,
                        reg.width * 8,
                        reg.name
                    ),
                );
            }
            let mask = |f: &crate::model::FieldSpec| -> u128 {
                1u128
                    .checked_shl(f.bits)
                    .map_or(u128::MAX, |m| m - 1)
                    .checked_shl(f.shift)
                    .unwrap_or(0)
            };
            for g in &reg.fields[..i] {
                if mask(f) & mask(g) != 0 {
                    errors.add(
                        f.span,
                        format!("field {} overlaps field {}", f.name, g.name),
                    );
                }
                if g.name == f.name {
                    errors.add(f.span, format!("field {} is declared twice", f.name));
                }
            }
        }
        if let Some((sizes, span)) = &reg.sizes {
            if let Some(s) = sizes.iter().find(|&&s| s > reg.width) {
                errors.add(
                    *span,
                    format!(
                        "a {s}-byte access does not fit the {}-byte register {}",
                        reg.width, reg.name
                    ),
                );
            }
        }
        if reg.count == 0 {
            errors.add(reg.span, "a register array needs count >= 1");
        }
        if let Some(stride) = reg.stride {
            if stride < w {
                errors.add(
                    reg.span,
                    format!("stride {stride:#x} is smaller than the register width {w}"),
                );
            }
        }
        let idx = match &reg.region {
            Some((name, span)) => match regions.iter().position(|r| &r.name == name) {
                Some(i) => i,
                None => {
                    errors.add(*span, format!("no region named `{name}`; declare it with region(name = \"{name}\", size = ...)"));
                    continue;
                }
            },
            None => 0,
        };
        regions[idx].regs.push(reg);
    }

    for (ri, region) in regions.iter_mut().enumerate() {
        region.regs.sort_by_key(|r| r.offset);
        for pair in region.regs.windows(2) {
            let (a, b) = (pair[0], pair[1]);
            if b.offset < reg_end(a) {
                errors.add(
                    b.offset_span,
                    format!(
                        "register {} at {:#x} overlaps register {} ({:#x}..{:#x}) in region `{}`",
                        b.name,
                        b.offset,
                        a.name,
                        a.offset,
                        reg_end(a),
                        region.name
                    ),
                );
            }
        }
        let end = region.regs.iter().map(|r| reg_end(r)).max().unwrap_or(0);
        if region.config {
            let express = d.pci.as_ref().is_some_and(|p| p.express);
            region.size = if express { 0x1000 } else { 0x100 };
            for reg in &region.regs {
                if reg.offset < 0x40 {
                    errors.add(
                        reg.offset_span,
                        format!("config register {} at {:#x} is in the standard header (0x00-0x3f), which QEMU owns", reg.name, reg.offset),
                    );
                }
            }
        }
        match if region.config {
            Some(region.size)
        } else {
            declared[ri].size
        } {
            Some(size) => {
                for reg in &region.regs {
                    if reg_end(reg) > size {
                        errors.add(
                            reg.offset_span,
                            format!(
                                "register {} ({:#x}..{:#x}) is outside region `{}` of size {:#x}",
                                reg.name,
                                reg.offset,
                                reg_end(reg),
                                region.name,
                                size
                            ),
                        );
                    }
                }
            }
            // Sized by a property: checked at realize.
            None if region.size_property.is_some() => {}
            // Undeclared size: the registers, rounded up to a power of two,
            // at least one page.
            None => match end.max(0x1000).checked_next_power_of_two() {
                Some(s) => region.size = s,
                None => errors.add(
                    proc_macro2::Span::call_site(),
                    format!("region `{}` would need more than 2^63 bytes", region.name),
                ),
            },
        }
    }
    regions
}
