// SPDX-License-Identifier: GPL-2.0-or-later
//! Stage 1: parse `#[qemu_device]` and its field attributes into a small
//! typed model. Every problem becomes a `syn::Error` with the span of the
//! offending attribute; errors are collected, not returned at the first.

use proc_macro2::{Span, TokenStream};
use syn::parse::{Parse, ParseStream};
use syn::punctuated::Punctuated;
use syn::spanned::Spanned;
use syn::{Expr, ExprLit, ExprPath, Ident, Lit, LitStr, Meta, Token, Type};

/// Collects errors so that one build reports every mistake.
#[derive(Default)]
pub struct Errors(Option<syn::Error>);

impl Errors {
    pub fn push(&mut self, e: syn::Error) {
        match &mut self.0 {
            Some(all) => all.combine(e),
            None => self.0 = Some(e),
        }
    }

    pub fn add(&mut self, span: impl Spanned, msg: impl std::fmt::Display) {
        self.push(syn::Error::new(span.span(), msg));
    }

    pub fn finish(self) -> syn::Result<()> {
        match self.0 {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }
}

/// The access kinds, by keyword.
pub const ACCESS_KINDS: &[&str] = &["rw", "ro", "wo", "w1c", "w1s", "w0c", "rc", "rs", "toggle"];

#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Bus {
    SysBus,
    Pci,
}

pub struct PciInfo {
    pub vendor: u64,
    pub device: u64,
    pub subsystem_vendor: u64,
    pub subsystem: u64,
    pub class: u64,
    pub prog_if: u64,
    pub revision: u64,
    pub express: bool,
    pub interrupt_pin: u64,
    pub msi: u64,
    pub msix: u64,
    pub msix_bar: Option<u64>,
    pub span: Span,
}

pub struct Region {
    pub name: String,
    pub size: Option<u64>,
    pub size_property: Option<(String, Span)>,
    pub io: bool,
    pub bits64: bool,
    pub prefetch: bool,
    /// Registers in the device's own part of PCI config space.
    pub config: bool,
    pub bar: Option<u64>,
    pub span: Span,
}

pub struct Hooks {
    pub realize: Option<ExprPath>,
    pub reset: Option<ExprPath>,
    pub unrealize: Option<ExprPath>,
    /// Extra migratable state: `fn(&self, &mut StateWriter)`.
    pub save: Option<ExprPath>,
    /// Reads it back: `fn(&mut self, &mut StateReader) -> Result<(), Error>`.
    pub load: Option<ExprPath>,
    /// After the state is loaded: `fn(&mut self, u32) -> Result<(), Error>`.
    pub post_load: Option<ExprPath>,
}

pub struct GpioIn {
    pub name: Option<String>,
    pub count: u64,
    pub handler: ExprPath,
}

pub struct Device {
    pub name: String,
    pub desc: Option<String>,
    pub bus: Bus,
    pub pci: Option<PciInfo>,
    pub regions: Vec<Region>,
    pub hooks: Hooks,
    pub gpio_in: Vec<GpioIn>,
    pub method_regs: Vec<Register>,
    /// Migration stream version (`version = N`) and its span.
    pub version: (u32, Span),
    /// The oldest version the device loads (`minimum_version = N`).
    pub minimum_version: (u32, Span),
}

/// Where a register's value lives.
pub enum Storage {
    /// A field of the struct (an array for register arrays).
    Field(Ident),
    /// Methods: `read = Self::f` returns the value, `write = Self::g` takes it.
    Methods,
}

/// A named bit range of a register.
pub struct FieldSpec {
    pub name: String,
    pub shift: u32,
    pub bits: u32,
    /// A `field_enum!` type the field's values map to.
    pub values: Option<syn::Path>,
    pub span: Span,
}

pub struct Register {
    pub name: String,
    pub storage: Storage,
    pub region: Option<(String, Span)>,
    pub offset: u64,
    pub offset_span: Span,
    /// Width in bytes, from the field type (or `width = ` for methods).
    pub width: u32,
    pub reset: u64,
    pub reset_span: Span,
    pub access: String,
    /// Whether `access = ...` was written (with masks, uncovered bits then
    /// follow it; otherwise they are read-only).
    pub access_explicit: bool,
    pub access_span: Span,
    /// Explicit per-kind bit masks for mixed registers.
    pub masks: Vec<(String, u64, Span)>,
    pub reserved: u64,
    pub reserved_span: Span,
    pub unimplemented: bool,
    /// Bits the model does not implement: a write that changes them is
    /// logged as unimplemented (`unimplemented = MASK`).
    pub unimplemented_bits: u64,
    pub count: u64,
    pub stride: Option<u64>,
    pub before_write: Option<ExprPath>,
    pub after_write: Option<ExprPath>,
    pub after_read: Option<ExprPath>,
    pub read_method: Option<ExprPath>,
    /// Named bit fields.
    pub fields: Vec<FieldSpec>,
    /// Access sizes (bytes) the register accepts; `None`: any size inside it.
    pub sizes: Option<(Vec<u32>, Span)>,
    /// `migrate = false`: not saved for migration (with its span).
    pub migrate: (bool, Option<Span>),
    /// `since = N`: first migration stream version holding the register.
    pub since: (u32, Option<Span>),
    pub doc: String,
    pub span: Span,
}

pub enum PropType {
    Bool,
    U8,
    U16,
    U32,
    U64,
    I32,
    I64,
    Str,
}

pub struct Property {
    pub field: Ident,
    pub ty: PropType,
    pub name: String,
    pub default: Option<Expr>,
    pub min: Option<Expr>,
    pub max: Option<Expr>,
    pub desc: String,
}

pub enum Line {
    Irq,
    GpioOut(Option<String>),
}

/// A service handle field: `#[timer]`, `#[dma]`, `#[msi]`, `#[chardev]`.
/// (Built once per field at compile time; size does not matter.)
#[allow(clippy::large_enum_variant)]
pub enum Service {
    Timer {
        callback: ExprPath,
    },
    Dma,
    Msi,
    System,
    Chardev {
        name: String,
        /// `required`: realize fails when no chardev is given.
        required: bool,
        receive: Option<ExprPath>,
        can_receive: Option<ExprPath>,
        event: Option<ExprPath>,
    },
}

pub struct ServiceField {
    pub field: Ident,
    pub kind: Service,
    pub span: Span,
}

pub struct LineField {
    pub field: Ident,
    pub kind: Line,
    /// `Some(n)` for `[Irq; n]`.
    pub array: Option<u64>,
}

pub struct Model {
    pub device: Device,
    pub regs: Vec<Register>,
    pub props: Vec<Property>,
    pub lines: Vec<LineField>,
    pub services: Vec<ServiceField>,
    /// Fields with no attribute (or only `#[state]`): `Default::default()`
    /// at instantiate.
    pub plain: Vec<(Ident, Span)>,
    /// What is saved for migration, in declaration order.
    pub migrated: Vec<Migrated>,
}

/// A field saved for migration.
pub struct Migrated {
    pub field: Ident,
    /// The first stream version holding it.
    pub since: u32,
    /// Where a missing `Migrate` implementation is reported (the type).
    pub span: Span,
    /// Where `since` was given.
    pub since_span: Option<Span>,
}

fn lit_u64(e: &Expr) -> syn::Result<u64> {
    match e {
        Expr::Lit(ExprLit {
            lit: Lit::Int(i), ..
        }) => i.base10_parse::<u64>(),
        Expr::Unary(u) if matches!(u.op, syn::UnOp::Not(_)) => Ok(!lit_u64(&u.expr)?),
        _ => Err(syn::Error::new(e.span(), "expected an integer literal")),
    }
}

fn lit_i128(e: &Expr) -> Option<i128> {
    match e {
        Expr::Lit(ExprLit {
            lit: Lit::Int(i), ..
        }) => i.base10_parse::<i128>().ok(),
        Expr::Unary(u) if matches!(u.op, syn::UnOp::Neg(_)) => lit_i128(&u.expr).map(|v| -v),
        _ => None,
    }
}

fn lit_str(e: &Expr) -> syn::Result<String> {
    match e {
        Expr::Lit(ExprLit {
            lit: Lit::Str(s), ..
        }) => Ok(s.value()),
        _ => Err(syn::Error::new(e.span(), "expected a string literal")),
    }
}

fn expr_path(e: &Expr) -> syn::Result<ExprPath> {
    match e {
        Expr::Path(p) => Ok(p.clone()),
        _ => Err(syn::Error::new(
            e.span(),
            "expected a method path such as `Self::on_write`",
        )),
    }
}

/// `key = value` pairs and bare flags of one attribute.
struct Args(Punctuated<Meta, Token![,]>);

impl Parse for Args {
    fn parse(input: ParseStream) -> syn::Result<Self> {
        Ok(Args(Punctuated::parse_terminated(input)?))
    }
}

fn meta_value(meta: &Meta) -> syn::Result<&Expr> {
    match meta {
        Meta::NameValue(nv) => Ok(&nv.value),
        _ => Err(syn::Error::new(
            meta.span(),
            format!("`{}` needs a value: `{} = ...`", key(meta), key(meta)),
        )),
    }
}

fn key(meta: &Meta) -> String {
    meta.path()
        .get_ident()
        .map(|i| i.to_string())
        .unwrap_or_else(|| "?".into())
}

fn parse_list(meta: &Meta) -> syn::Result<Vec<Meta>> {
    match meta {
        Meta::List(l) => Ok(l.parse_args::<Args>()?.0.into_iter().collect()),
        _ => Err(syn::Error::new(
            meta.span(),
            format!("`{}` takes a list: `{}(...)`", key(meta), key(meta)),
        )),
    }
}

fn doc_of(attrs: &[syn::Attribute]) -> String {
    let lines: Vec<String> = attrs
        .iter()
        .filter(|a| a.path().is_ident("doc"))
        .filter_map(|a| match &a.meta {
            Meta::NameValue(nv) => lit_str(&nv.value).ok(),
            _ => None,
        })
        .map(|s| s.trim().to_string())
        .collect();
    lines.join(" ").trim().to_string()
}

/// Parses the arguments of `#[qemu_device(...)]`.
fn parse_device(args: TokenStream, errors: &mut Errors) -> Device {
    let mut dev = Device {
        name: String::new(),
        desc: None,
        bus: Bus::SysBus,
        pci: None,
        regions: Vec::new(),
        hooks: Hooks {
            realize: None,
            reset: None,
            unrealize: None,
            save: None,
            load: None,
            post_load: None,
        },
        gpio_in: Vec::new(),
        method_regs: Vec::new(),
        version: (1, Span::call_site()),
        minimum_version: (1, Span::call_site()),
    };
    let args = match syn::parse2::<Args>(args) {
        Ok(a) => a,
        Err(e) => {
            errors.push(e);
            return dev;
        }
    };
    let mut have_name = false;
    let mut have_bus = false;
    for meta in &args.0 {
        let k = key(meta);
        let r: syn::Result<()> = (|| {
            match k.as_str() {
                "name" => {
                    have_name = true;
                    let v = meta_value(meta)?;
                    dev.name = lit_str(v)?;
                    if dev.name.is_empty() {
                        return Err(syn::Error::new(
                            v.span(),
                            "the QOM type name must not be empty",
                        ));
                    }
                    if !dev
                        .name
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
                    {
                        return Err(syn::Error::new(
                            v.span(),
                            "the type name may hold letters, digits, '-' and '_'",
                        ));
                    }
                }
                "desc" => dev.desc = Some(lit_str(meta_value(meta)?)?),
                "sysbus" | "pci" if have_bus => {
                    return Err(syn::Error::new(
                        meta.span(),
                        "a device has one bus: `sysbus` or `pci(...)`, not both",
                    ))
                }
                "sysbus" => {
                    dev.bus = Bus::SysBus;
                    have_bus = true;
                }
                "pci" => {
                    dev.bus = Bus::Pci;
                    have_bus = true;
                    dev.pci = Some(parse_pci(meta)?);
                }
                "region" => dev.regions.push(parse_region(meta)?),
                "realize" => dev.hooks.realize = Some(expr_path(meta_value(meta)?)?),
                "reset" => dev.hooks.reset = Some(expr_path(meta_value(meta)?)?),
                "unrealize" => dev.hooks.unrealize = Some(expr_path(meta_value(meta)?)?),
                "save" => dev.hooks.save = Some(expr_path(meta_value(meta)?)?),
                "load" => dev.hooks.load = Some(expr_path(meta_value(meta)?)?),
                "post_load" => dev.hooks.post_load = Some(expr_path(meta_value(meta)?)?),
                "version" => dev.version = (version_number(meta_value(meta)?)?, meta.span()),
                "minimum_version" => {
                    dev.minimum_version = (version_number(meta_value(meta)?)?, meta.span())
                }
                "gpio_in" => dev.gpio_in.push(parse_gpio_in(meta)?),
                "register" => dev.method_regs.push(parse_method_register(meta)?),
                _ => {
                    return Err(syn::Error::new(
                        meta.span(),
                        format!(
                            "unknown argument `{k}`; expected name, desc, sysbus, pci(...), \
                             region(...), register(...), gpio_in(...), realize, reset, unrealize, save, load, \
                             post_load, version or minimum_version"
                        ),
                    ))
                }
            }
            Ok(())
        })();
        if let Err(e) = r {
            errors.push(e);
        }
    }
    if !have_name {
        errors.add(
            Span::call_site(),
            "#[qemu_device] needs a QOM type name: `name = \"my-device\"`",
        );
    }
    if !have_bus {
        errors.add(
            Span::call_site(),
            "#[qemu_device] needs a bus: `sysbus` or `pci(vendor = ..., device = ...)`",
        );
    }
    dev
}

fn parse_pci(meta: &Meta) -> syn::Result<PciInfo> {
    let mut p = PciInfo {
        vendor: 0,
        device: 0,
        subsystem_vendor: 0,
        subsystem: 0,
        class: 0x00ff,
        prog_if: 0,
        revision: 0,
        express: false,
        interrupt_pin: 1,
        msi: 0,
        msix: 0,
        msix_bar: None,
        span: meta.span(),
    };
    let mut have = (false, false);
    for m in parse_list(meta)? {
        match key(&m).as_str() {
            "vendor" => {
                p.vendor = lit_u64(meta_value(&m)?)?;
                have.0 = true;
            }
            "device" => {
                p.device = lit_u64(meta_value(&m)?)?;
                have.1 = true;
            }
            "subsystem_vendor" => p.subsystem_vendor = lit_u64(meta_value(&m)?)?,
            "subsystem" => p.subsystem = lit_u64(meta_value(&m)?)?,
            "class" => p.class = lit_u64(meta_value(&m)?)?,
            "prog_if" => p.prog_if = lit_u64(meta_value(&m)?)?,
            "revision" => p.revision = lit_u64(meta_value(&m)?)?,
            "interrupt_pin" => p.interrupt_pin = lit_u64(meta_value(&m)?)?,
            "express" => p.express = true,
            "msi" => p.msi = lit_u64(meta_value(&m)?)?,
            "msix" => p.msix = lit_u64(meta_value(&m)?)?,
            "msix_bar" => p.msix_bar = Some(lit_u64(meta_value(&m)?)?),
            k => {
                return Err(syn::Error::new(
                    m.span(),
                    format!("unknown pci argument `{k}`; expected vendor, device, subsystem_vendor, subsystem, class, prog_if, revision, interrupt_pin, express, msi, msix or msix_bar"),
                ))
            }
        }
    }
    if p.msi != 0 && !p.msi.is_power_of_two() {
        return Err(syn::Error::new(
            meta.span(),
            "pci msi vectors must be 1, 2, 4, 8, 16 or 32",
        ));
    }
    if p.msix != 0 && p.msix_bar.is_none() {
        return Err(syn::Error::new(
            meta.span(),
            "pci msix needs `msix_bar = N`: the BAR that holds the MSI-X table",
        ));
    }
    if !(have.0 && have.1) {
        return Err(syn::Error::new(
            meta.span(),
            "pci(...) needs `vendor = 0x....` and `device = 0x....`",
        ));
    }
    for (v, max, what) in [
        (p.vendor, 0xffff, "vendor"),
        (p.device, 0xffff, "device"),
        (p.subsystem_vendor, 0xffff, "subsystem_vendor"),
        (p.subsystem, 0xffff, "subsystem"),
        (
            p.class,
            0xffff,
            "class (base class and subclass, e.g. 0x0700)",
        ),
        (p.prog_if, 0xff, "prog_if"),
        (p.revision, 0xff, "revision"),
        (p.interrupt_pin, 4, "interrupt_pin"),
        (p.msi, 32, "msi (vectors)"),
        (p.msix, 2048, "msix (vectors)"),
        (p.msix_bar.unwrap_or(0), 5, "msix_bar"),
    ] {
        if v > max {
            return Err(syn::Error::new(
                meta.span(),
                format!("pci {what} must be at most {max:#x}"),
            ));
        }
    }
    Ok(p)
}

impl Region {
    /// A region with every option off.
    pub fn named(name: &str, span: Span) -> Region {
        Region {
            name: name.to_string(),
            size: None,
            size_property: None,
            io: false,
            bits64: false,
            prefetch: false,
            config: false,
            bar: None,
            span,
        }
    }
}

fn parse_region(meta: &Meta) -> syn::Result<Region> {
    let mut r = Region::named("", meta.span());
    for m in parse_list(meta)? {
        match key(&m).as_str() {
            "name" => r.name = lit_str(meta_value(&m)?)?,
            "size" => r.size = Some(lit_u64(meta_value(&m)?)?),
            "bar" => r.bar = Some(lit_u64(meta_value(&m)?)?),
            "io" => r.io = true,
            "bits64" => r.bits64 = true,
            "prefetch" => r.prefetch = true,
            "config" => r.config = true,
            "size_property" => r.size_property = Some((lit_str(meta_value(&m)?)?, m.span())),
            k => {
                return Err(syn::Error::new(
                    m.span(),
                    format!("unknown region argument `{k}`; expected name, size, size_property, bar, io, bits64, prefetch or config"),
                ))
            }
        }
    }
    if r.name.is_empty() {
        return Err(syn::Error::new(
            meta.span(),
            "region(...) needs `name = \"...\"`",
        ));
    }
    Ok(r)
}

fn parse_gpio_in(meta: &Meta) -> syn::Result<GpioIn> {
    let mut name = None;
    let mut count = 1;
    let mut handler = None;
    for m in parse_list(meta)? {
        match key(&m).as_str() {
            "name" => name = Some(lit_str(meta_value(&m)?)?),
            "count" => count = lit_u64(meta_value(&m)?)?,
            "handler" => handler = Some(expr_path(meta_value(&m)?)?),
            k => {
                return Err(syn::Error::new(
                    m.span(),
                    format!("unknown gpio_in argument `{k}`; expected name, count or handler"),
                ))
            }
        }
    }
    let handler = handler.ok_or_else(|| {
        syn::Error::new(
            meta.span(),
            "gpio_in(...) needs `handler = Self::method` (fn(&mut self, line: u32, level: bool))",
        )
    })?;
    if count == 0 {
        return Err(syn::Error::new(
            meta.span(),
            "gpio_in(...) needs count >= 1",
        ));
    }
    Ok(GpioIn {
        name,
        count,
        handler,
    })
}

fn new_register(name: String, storage: Storage, width: u32, span: Span) -> Register {
    Register {
        name,
        storage,
        region: None,
        offset: 0,
        offset_span: span,
        width,
        reset: 0,
        reset_span: span,
        access: "rw".into(),
        access_explicit: false,
        access_span: span,
        masks: Vec::new(),
        reserved: 0,
        reserved_span: span,
        unimplemented: false,
        unimplemented_bits: 0,
        count: 1,
        stride: None,
        before_write: None,
        after_write: None,
        after_read: None,
        read_method: None,
        fields: Vec::new(),
        sizes: None,
        migrate: (true, None),
        since: (1, None),
        doc: String::new(),
        span,
    }
}

/// A migration stream version: an integer from 1.
fn version_number(e: &Expr) -> syn::Result<u32> {
    match lit_u64(e)? {
        v @ 1..=0x7fff_ffff => Ok(v as u32),
        _ => Err(syn::Error::new(
            e.span(),
            "a migration version is an integer from 1",
        )),
    }
}

/// Applies one `#[reg(...)]` argument; shared by field and method registers.
fn reg_arg(r: &mut Register, m: &Meta, have_offset: &mut bool) -> syn::Result<()> {
    match key(m).as_str() {
        "offset" => {
            r.offset = lit_u64(meta_value(m)?)?;
            r.offset_span = m.span();
            *have_offset = true;
        }
        "reset" => {
            r.reset = lit_u64(meta_value(m)?)?;
            r.reset_span = m.span();
        }
        "access" => {
            let v = meta_value(m)?;
            let kw = match v {
                Expr::Path(p) => p.path.get_ident().map(|i| i.to_string()),
                _ => None,
            }
            .unwrap_or_default();
            if !ACCESS_KINDS.contains(&kw.as_str()) {
                return Err(syn::Error::new(
                    v.span(),
                    format!(
                        "unknown access kind `{}`; expected one of {}",
                        quote::quote!(#v),
                        ACCESS_KINDS.join(", ")
                    ),
                ));
            }
            r.access = kw;
            r.access_explicit = true;
            r.access_span = v.span();
        }
        "name" => r.name = lit_str(meta_value(m)?)?,
        "region" => r.region = Some((lit_str(meta_value(m)?)?, m.span())),
        "reserved" => {
            r.reserved = lit_u64(meta_value(m)?)?;
            r.reserved_span = m.span();
        }
        "unimplemented" => match m {
            Meta::Path(_) => r.unimplemented = true,
            _ => r.unimplemented_bits = lit_u64(meta_value(m)?)?,
        },
        "count" => r.count = lit_u64(meta_value(m)?)?,
        "stride" => r.stride = Some(lit_u64(meta_value(m)?)?),
        "before_write" => r.before_write = Some(expr_path(meta_value(m)?)?),
        "write" | "after_write" => r.after_write = Some(expr_path(meta_value(m)?)?),
        "after_read" => r.after_read = Some(expr_path(meta_value(m)?)?),
        "field" => r.fields.push(parse_field(m)?),
        "sizes" => {
            let v = meta_value(m)?;
            let Expr::Array(arr) = v else {
                return Err(syn::Error::new(
                    v.span(),
                    "expected a list of access sizes in bytes, e.g. `sizes = [4]`",
                ));
            };
            let mut sizes = Vec::new();
            for e in &arr.elems {
                let n = lit_u64(e)?;
                if ![1, 2, 4, 8].contains(&n) {
                    return Err(syn::Error::new(
                        e.span(),
                        "an access size is 1, 2, 4 or 8 bytes",
                    ));
                }
                sizes.push(n as u32);
            }
            if sizes.is_empty() {
                return Err(syn::Error::new(v.span(), "give at least one access size"));
            }
            r.sizes = Some((sizes, m.span()));
        }
        "migrate" => {
            let v = meta_value(m)?;
            let b = match v {
                Expr::Lit(ExprLit {
                    lit: Lit::Bool(b), ..
                }) => b.value,
                _ => return Err(syn::Error::new(v.span(), "expected `true` or `false`")),
            };
            r.migrate = (b, Some(m.span()));
        }
        "since" => r.since = (version_number(meta_value(m)?)?, Some(m.span())),
        k if ACCESS_KINDS.contains(&k) => {
            r.masks
                .push((k.to_string(), lit_u64(meta_value(m)?)?, m.span()));
        }
        k => {
            return Err(syn::Error::new(
                m.span(),
                format!(
                "unknown register argument `{k}`; expected offset, access, reset, name, region, \
                     count, stride, sizes, field(...), reserved, unimplemented, before_write, \
                     write (after_write), after_read, read and width (method registers), \
                     migrate, since, or a bit mask per access kind ({})",
                ACCESS_KINDS.join(", ")
            ),
            ))
        }
    }
    Ok(())
}

/// `field(name = "MODE", bits = 1..=2, values = Mode)` or `bit = 0`.
fn parse_field(meta: &Meta) -> syn::Result<FieldSpec> {
    let mut f = FieldSpec {
        name: String::new(),
        shift: 0,
        bits: 0,
        values: None,
        span: meta.span(),
    };
    for m in parse_list(meta)? {
        match key(&m).as_str() {
            "name" => f.name = lit_str(meta_value(&m)?)?,
            "bit" => {
                f.shift = lit_u64(meta_value(&m)?)? as u32;
                f.bits = 1;
            }
            "bits" => {
                let v = meta_value(&m)?;
                let Expr::Range(r) = v else {
                    return Err(syn::Error::new(
                        v.span(),
                        "expected a bit range such as `bits = 4..=7`",
                    ));
                };
                let (Some(lo), Some(hi)) = (&r.start, &r.end) else {
                    return Err(syn::Error::new(
                        v.span(),
                        "a bit range needs both ends: `4..=7`",
                    ));
                };
                let (lo, mut hi) = (lit_u64(lo)?, lit_u64(hi)?);
                if matches!(r.limits, syn::RangeLimits::HalfOpen(_)) {
                    hi = hi
                        .checked_sub(1)
                        .ok_or_else(|| syn::Error::new(v.span(), "empty bit range"))?;
                }
                if hi < lo {
                    return Err(syn::Error::new(v.span(), "empty bit range"));
                }
                f.shift = lo as u32;
                f.bits = (hi - lo + 1) as u32;
            }
            "values" => match meta_value(&m)? {
                Expr::Path(p) => f.values = Some(p.path.clone()),
                v => {
                    return Err(syn::Error::new(
                        v.span(),
                        "expected a type made with `qdev_runtime::field_enum!`",
                    ))
                }
            },
            k => {
                return Err(syn::Error::new(
                    m.span(),
                    format!("unknown field argument `{k}`; expected name, bit, bits or values"),
                ))
            }
        }
    }
    if f.name.is_empty() {
        return Err(syn::Error::new(
            meta.span(),
            "field(...) needs `name = \"...\"`",
        ));
    }
    if f.bits == 0 {
        return Err(syn::Error::new(
            meta.span(),
            "field(...) needs `bit = N` or `bits = LO..=HI`",
        ));
    }
    Ok(f)
}

fn parse_method_register(meta: &Meta) -> syn::Result<Register> {
    let mut r = new_register(String::new(), Storage::Methods, 4, meta.span());
    let mut have_offset = false;
    let mut width_set = false;
    for m in parse_list(meta)? {
        match key(&m).as_str() {
            "read" => r.read_method = Some(expr_path(meta_value(&m)?)?),
            "width" => {
                let bits = lit_u64(meta_value(&m)?)?;
                if ![8, 16, 32, 64].contains(&bits) {
                    return Err(syn::Error::new(
                        m.span(),
                        "width must be 8, 16, 32 or 64 (bits)",
                    ));
                }
                r.width = (bits / 8) as u32;
                width_set = true;
            }
            "reset" => {
                return Err(syn::Error::new(
                    m.span(),
                    "a register backed by methods has no stored value to reset; reset its source in the device's reset hook",
                ))
            }
            k @ ("access" | "reserved" | "before_write" | "after_read" | "field")
            | k @ ("rw" | "ro" | "wo" | "w1c" | "w1s" | "w0c" | "rc" | "rs" | "toggle") => {
                return Err(syn::Error::new(
                    m.span(),
                    format!(
                        "`{k}` has no effect on a register backed by methods: its `read` and \
                         `write` methods decide what accesses do"
                    ),
                ))
            }
            "unimplemented" if !matches!(m, Meta::Path(_)) => {
                return Err(syn::Error::new(
                    m.span(),
                    "`unimplemented = MASK` has no effect on a register backed by methods; \
                     use `unimplemented` for the whole register",
                ))
            }
            _ => reg_arg(&mut r, &m, &mut have_offset)?,
        }
    }
    let _ = width_set;
    if !have_offset {
        return Err(syn::Error::new(
            meta.span(),
            "register(...) needs `offset = ...`",
        ));
    }
    if r.name.is_empty() {
        return Err(syn::Error::new(
            meta.span(),
            "register(...) needs `name = \"...\"`",
        ));
    }
    if r.read_method.is_none() && r.after_write.is_none() {
        return Err(syn::Error::new(
            meta.span(),
            "register(...) is backed by methods: give `read = Self::...` and/or `write = Self::...`",
        ));
    }
    if r.read_method.is_none() {
        r.access = "wo".into();
    } else if r.after_write.is_none() {
        r.access = "ro".into();
    }
    Ok(r)
}

/// The width in bytes of `u8`..`u64`, and for `[uN; n]` also `n`.
fn int_width(ty: &Type) -> Option<(u32, Option<u64>)> {
    match ty {
        Type::Path(p) => {
            let id = p.path.get_ident()?.to_string();
            let w = match id.as_str() {
                "u8" => 1,
                "u16" => 2,
                "u32" => 4,
                "u64" => 8,
                _ => return None,
            };
            Some((w, None))
        }
        Type::Array(a) => {
            let (w, _) = int_width(&a.elem)?;
            let n = lit_u64(&a.len).ok()?;
            Some((w, Some(n)))
        }
        _ => None,
    }
}

fn prop_type(ty: &Type) -> Option<PropType> {
    let Type::Path(p) = ty else { return None };
    Some(match p.path.get_ident()?.to_string().as_str() {
        "bool" => PropType::Bool,
        "u8" => PropType::U8,
        "u16" => PropType::U16,
        "u32" => PropType::U32,
        "u64" => PropType::U64,
        "i32" => PropType::I32,
        "i64" => PropType::I64,
        "String" => PropType::Str,
        _ => return None,
    })
}

fn is_irq(ty: &Type) -> Option<Option<u64>> {
    match ty {
        Type::Path(p) if p.path.segments.last().is_some_and(|s| s.ident == "Irq") => Some(None),
        Type::Array(a) => match is_irq(&a.elem)? {
            None => Some(Some(lit_u64(&a.len).ok()?)),
            Some(_) => None,
        },
        _ => None,
    }
}

const OUR_ATTRS: &[&str] = &[
    "reg", "property", "irq", "gpio_out", "timer", "dma", "msi", "chardev", "system", "state",
];

fn type_is(ty: &Type, name: &str) -> bool {
    matches!(ty, Type::Path(p) if p.path.segments.last().is_some_and(|s| s.ident == name))
}

/// Parses the struct; strips our attributes from it.
pub fn parse(
    args: TokenStream,
    item: &mut syn::ItemStruct,
    errors: &mut Errors,
) -> syn::Result<Model> {
    let mut device = parse_device(args, errors);
    if device.desc.is_none() {
        let doc = doc_of(&item.attrs);
        if !doc.is_empty() {
            device.desc = Some(doc);
        }
    }
    if !item.generics.params.is_empty() {
        errors.add(&item.generics, "a #[qemu_device] struct cannot be generic");
    }
    let mut model = Model {
        device,
        regs: Vec::new(),
        props: Vec::new(),
        lines: Vec::new(),
        services: Vec::new(),
        plain: Vec::new(),
        migrated: Vec::new(),
    };
    let syn::Fields::Named(fields) = &mut item.fields else {
        return Err(syn::Error::new(
            item.fields.span(),
            "#[qemu_device] needs a struct with named fields",
        ));
    };
    for field in fields.named.iter_mut() {
        let ident = field.ident.clone().expect("named field");
        let ours: Vec<syn::Attribute> = field
            .attrs
            .iter()
            .filter(|a| OUR_ATTRS.iter().any(|n| a.path().is_ident(n)))
            .cloned()
            .collect();
        let doc = doc_of(&field.attrs);
        field
            .attrs
            .retain(|a| !OUR_ATTRS.iter().any(|n| a.path().is_ident(n)));
        if ours.len() > 1 {
            errors.add(
                &ours[1],
                "a field takes one of #[reg], #[property], #[irq], #[gpio_out], #[timer], #[dma], #[msi], #[chardev], #[system], #[state] \
                 (a register opts out of migration with #[reg(..., migrate = false)])",
            );
        }
        let ty_span = field.ty.span();
        let attr = match ours.into_iter().next() {
            None => {
                model.migrated.push(Migrated {
                    field: ident.clone(),
                    since: 1,
                    span: ty_span,
                    since_span: None,
                });
                model.plain.push((ident, ty_span));
                continue;
            }
            Some(a) if a.path().is_ident("state") => {
                match parse_state(&a) {
                    Ok(None) => {}
                    Ok(Some((since, since_span))) => model.migrated.push(Migrated {
                        field: ident.clone(),
                        since,
                        span: ty_span,
                        since_span,
                    }),
                    Err(e) => errors.push(e),
                }
                model.plain.push((ident, ty_span));
                continue;
            }
            Some(a) => a,
        };
        let r: syn::Result<()> = (|| {
            let args: Vec<Meta> = match &attr.meta {
                Meta::Path(_) => Vec::new(),
                _ => attr.parse_args::<Args>()?.0.into_iter().collect(),
            };
            if attr.path().is_ident("reg") {
                let (width, array) = int_width(&field.ty).ok_or_else(|| {
                    syn::Error::new(
                        field.ty.span(),
                        "a #[reg] field must be u8, u16, u32 or u64 (or an array of them for a register array)",
                    )
                })?;
                let mut r = new_register(
                    ident.to_string().to_uppercase(),
                    Storage::Field(ident.clone()),
                    width,
                    attr.span(),
                );
                r.doc = doc.clone();
                let mut have_offset = false;
                let mut reg_errors = Errors::default();
                let mut seen = std::collections::HashSet::new();
                for m in &args {
                    if key(m) != "field" && !seen.insert(key(m)) {
                        reg_errors.add(m, format!("`{}` is given twice", key(m)));
                        continue;
                    }
                    if let Err(e) = reg_arg(&mut r, m, &mut have_offset) {
                        reg_errors.push(e);
                    }
                }
                reg_errors.finish()?;
                if let Some(m) = args.iter().find(|m| key(m) == "count") {
                    if r.count == 0 {
                        return Err(syn::Error::new(
                            m.span(),
                            "a register array needs count >= 1",
                        ));
                    }
                }
                if array == Some(0) {
                    return Err(syn::Error::new(
                        field.ty.span(),
                        "a register array needs at least one register",
                    ));
                }
                if !have_offset {
                    return Err(syn::Error::new(attr.span(), "#[reg] needs `offset = ...`"));
                }
                match (array, r.count) {
                    (Some(n), 1) => r.count = n,
                    (Some(n), c) if n != c => {
                        return Err(syn::Error::new(
                            attr.span(),
                            format!("count = {c} but the field is an array of {n}"),
                        ))
                    }
                    (None, c) if c != 1 => {
                        return Err(syn::Error::new(
                            field.ty.span(),
                            format!(
                                "a register array of {c} needs an array field, e.g. [u32; {c}]"
                            ),
                        ))
                    }
                    _ => {}
                }
                if r.migrate.0 {
                    model.migrated.push(Migrated {
                        field: ident.clone(),
                        since: r.since.0,
                        span: ty_span,
                        since_span: r.since.1,
                    });
                }
                model.regs.push(r);
            } else if attr.path().is_ident("property") {
                let ty = prop_type(&field.ty).ok_or_else(|| {
                    syn::Error::new(
                        field.ty.span(),
                        "a #[property] field must be bool, u8, u16, u32, u64, i32, i64 or String",
                    )
                })?;
                let mut p = Property {
                    field: ident.clone(),
                    ty,
                    name: ident.to_string().replace('_', "-"),
                    default: None,
                    min: None,
                    max: None,
                    desc: doc.clone(),
                };
                for m in &args {
                    match key(m).as_str() {
                        "default" => p.default = Some(meta_value(m)?.clone()),
                        "name" => p.name = lit_str(meta_value(m)?)?,
                        "desc" => p.desc = lit_str(meta_value(m)?)?,
                        "min" => p.min = Some(meta_value(m)?.clone()),
                        "max" => p.max = Some(meta_value(m)?.clone()),
                        k => {
                            return Err(syn::Error::new(
                                m.span(),
                                format!("unknown property argument `{k}`; expected default, name, desc, min or max"),
                            ))
                        }
                    }
                }
                if matches!(p.ty, PropType::Str | PropType::Bool)
                    && (p.min.is_some() || p.max.is_some())
                {
                    return Err(syn::Error::new(
                        attr.span(),
                        "min/max apply to integer properties only",
                    ));
                }
                fn int(e: &Option<Expr>) -> Option<(i128, &Expr)> {
                    e.as_ref().and_then(|e| lit_i128(e).map(|v| (v, e)))
                }
                let (dv, lo, hi) = (int(&p.default), int(&p.min), int(&p.max));
                if let (Some((lo, _)), Some((hi, e))) = (lo, hi) {
                    if lo > hi {
                        return Err(syn::Error::new(
                            e.span(),
                            format!("max = {hi} is below min = {lo}"),
                        ));
                    }
                }
                if let Some((v, e)) = dv {
                    let lo_v = lo.map(|l| l.0).unwrap_or(i128::MIN);
                    let hi_v = hi.map(|h| h.0).unwrap_or(i128::MAX);
                    if v < lo_v || v > hi_v {
                        return Err(syn::Error::new(
                            e.span(),
                            format!(
                                "default {v} is outside the range {}..={} of min and max",
                                lo.map(|l| l.0.to_string()).unwrap_or_default(),
                                hi.map(|h| h.0.to_string()).unwrap_or_default()
                            ),
                        ));
                    }
                }
                model.props.push(p);
            } else if ["timer", "dma", "msi", "chardev", "system"]
                .iter()
                .any(|n| attr.path().is_ident(n))
            {
                let which = attr.path().get_ident().unwrap().to_string();
                let ty_name = match which.as_str() {
                    "timer" => "Timer",
                    "dma" => "Dma",
                    "msi" => "Msi",
                    "system" => "System",
                    _ => "CharDev",
                };
                if !type_is(&field.ty, ty_name) {
                    return Err(syn::Error::new(
                        field.ty.span(),
                        format!("a #[{which}] field must be `{ty_name}`"),
                    ));
                }
                let kind = match which.as_str() {
                    "timer" => {
                        let mut callback = None;
                        for m in &args {
                            match key(m).as_str() {
                                "callback" => callback = Some(expr_path(meta_value(m)?)?),
                                k => {
                                    return Err(syn::Error::new(
                                        m.span(),
                                        format!("unknown timer argument `{k}`; expected callback"),
                                    ))
                                }
                            }
                        }
                        let callback = callback.ok_or_else(|| {
                            syn::Error::new(
                                attr.span(),
                                "#[timer] needs `callback = Self::method` (fn(&mut self))",
                            )
                        })?;
                        Service::Timer { callback }
                    }
                    "dma" | "msi" | "system" => {
                        if !args.is_empty() {
                            return Err(syn::Error::new(
                                attr.span(),
                                format!("#[{which}] takes no arguments"),
                            ));
                        }
                        match which.as_str() {
                            "dma" => Service::Dma,
                            "msi" => Service::Msi,
                            _ => Service::System,
                        }
                    }
                    _ => {
                        let (mut name, mut receive, mut can_receive, mut event) =
                            ("chardev".to_string(), None, None, None);
                        let mut required = false;
                        for m in &args {
                            match key(m).as_str() {
                                "required" if matches!(m, Meta::Path(_)) => required = true,
                                "required" => {
                                    return Err(syn::Error::new(
                                        m.span(),
                                        "`required` is a flag: write #[chardev(required, ...)]",
                                    ))
                                }
                                "name" => name = lit_str(meta_value(m)?)?,
                                "receive" => receive = Some(expr_path(meta_value(m)?)?),
                                "can_receive" => can_receive = Some(expr_path(meta_value(m)?)?),
                                "event" => event = Some(expr_path(meta_value(m)?)?),
                                k => return Err(syn::Error::new(m.span(), format!("unknown chardev argument `{k}`; expected name, required, receive, can_receive or event"))),
                            }
                        }
                        if receive.is_some() != can_receive.is_some() {
                            return Err(syn::Error::new(attr.span(), "#[chardev] takes `receive` and `can_receive` together (input has backpressure)"));
                        }
                        Service::Chardev {
                            name,
                            required,
                            receive,
                            can_receive,
                            event,
                        }
                    }
                };
                if matches!(kind, Service::Timer { .. }) {
                    model.migrated.push(Migrated {
                        field: ident.clone(),
                        since: 1,
                        span: ty_span,
                        since_span: None,
                    });
                }
                model.services.push(ServiceField {
                    field: ident.clone(),
                    kind,
                    span: attr.span(),
                });
            } else {
                let array = is_irq(&field.ty).ok_or_else(|| {
                    syn::Error::new(
                        field.ty.span(),
                        "an #[irq] or #[gpio_out] field must be `Irq` or `[Irq; N]`",
                    )
                })?;
                let kind = if attr.path().is_ident("irq") {
                    if !args.is_empty() {
                        return Err(syn::Error::new(attr.span(), "#[irq] takes no arguments"));
                    }
                    Line::Irq
                } else {
                    let mut name = None;
                    for m in &args {
                        match key(m).as_str() {
                            "name" => name = Some(lit_str(meta_value(m)?)?),
                            k => {
                                return Err(syn::Error::new(
                                    m.span(),
                                    format!("unknown gpio_out argument `{k}`; expected name"),
                                ))
                            }
                        }
                    }
                    Line::GpioOut(name)
                };
                model.migrated.push(Migrated {
                    field: ident.clone(),
                    since: 1,
                    span: ty_span,
                    since_span: None,
                });
                model.lines.push(LineField {
                    field: ident.clone(),
                    kind,
                    array,
                });
            }
            Ok(())
        })();
        if let Err(e) = r {
            errors.push(e);
        }
    }
    model.regs.append(&mut model.device.method_regs);
    Ok(model)
}

/// `#[state]` (saved, the default), `#[state(skip)]` (not saved: `None`)
/// or `#[state(since = N)]` (saved from stream version N).
#[allow(clippy::type_complexity)]
fn parse_state(attr: &syn::Attribute) -> syn::Result<Option<(u32, Option<Span>)>> {
    let args: Vec<Meta> = match &attr.meta {
        Meta::Path(_) => return Ok(Some((1, None))),
        _ => attr.parse_args::<Args>()?.0.into_iter().collect(),
    };
    let mut since = (1, None);
    let mut skip = None;
    for m in &args {
        match (key(m).as_str(), m) {
            ("skip", Meta::Path(_)) => skip = Some(m.span()),
            ("since", _) => since = (version_number(meta_value(m)?)?, Some(m.span())),
            (k, _) => {
                return Err(syn::Error::new(
                    m.span(),
                    format!("unknown state argument `{k}`; expected skip or since = N"),
                ))
            }
        }
    }
    match skip {
        Some(s) if args.len() > 1 => Err(syn::Error::new(
            s,
            "a skipped field is not saved: `since` does not apply",
        )),
        Some(_) => Ok(None),
        None => Ok(Some(since)),
    }
}

/// A helper to make string literals for generated code.
pub fn lit(s: &str) -> LitStr {
    LitStr::new(s, Span::call_site())
}
