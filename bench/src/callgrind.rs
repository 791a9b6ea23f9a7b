// SPDX-License-Identifier: GPL-2.0-or-later
//! Reading a callgrind output file (format version 1, as valgrind 3.19
//! writes it): per function, its self cost, its inclusive cost and how
//! often it was called.
//!
//! `callgrind_annotate` splits a function's cost by source file (the code
//! inlined from a header is its own line), so this reads the file itself
//! and keys by function name only.

use std::collections::HashMap;
use std::path::Path;

/// One function's figures (instructions, `Ir`).
#[derive(Debug, Default, Clone, Copy)]
pub struct FnCost {
    /// Instructions executed in the function itself (inlined code included).
    pub self_ir: u64,
    /// Instructions executed in what it called.
    pub callee_ir: u64,
    /// Times it was called (from all its callers).
    pub calls: u64,
}

impl FnCost {
    /// Self plus callees.
    pub fn inclusive(&self) -> u64 {
        self.self_ir + self.callee_ir
    }
}

/// A parsed profile.
#[derive(Debug, Default)]
pub struct Profile {
    /// The `totals:`/`summary:` figure: every instruction of the run.
    pub total: u64,
    /// By (demangled) function name.
    pub functions: HashMap<String, FnCost>,
    /// By (caller, callee): calls and the inclusive cost of those calls.
    pub edges: HashMap<(String, String), (u64, u64)>,
}

impl Profile {
    /// The sum over the functions whose name satisfies `pred`, and how many
    /// functions that was.
    pub fn matching(&self, pred: impl Fn(&str) -> bool) -> (FnCost, usize) {
        let mut sum = FnCost::default();
        let mut n = 0;
        for (name, c) in &self.functions {
            if pred(name) {
                sum.self_ir += c.self_ir;
                sum.callee_ir += c.callee_ir;
                sum.calls += c.calls;
                n += 1;
            }
        }
        (sum, n)
    }

    /// What the functions satisfying `pred` call: callee, calls, inclusive
    /// cost of those calls; the most expensive first.
    pub fn callees(&self, pred: impl Fn(&str) -> bool) -> Vec<(String, u64, u64)> {
        let mut by: HashMap<&str, (u64, u64)> = HashMap::new();
        for ((caller, callee), (calls, cost)) in &self.edges {
            if pred(caller) {
                let e = by.entry(callee).or_default();
                e.0 += calls;
                e.1 += cost;
            }
        }
        let mut v: Vec<_> = by
            .into_iter()
            .map(|(k, (c, i))| (k.to_string(), c, i))
            .collect();
        v.sort_by(|a, b| b.2.cmp(&a.2).then(a.0.cmp(&b.0)));
        v
    }
}

/// A name-compression table: `(id) name` defines, `(id)` refers.
#[derive(Default)]
struct Names(HashMap<String, String>);

impl Names {
    fn resolve(&mut self, spec: &str) -> String {
        let spec = spec.trim();
        if let Some(rest) = spec.strip_prefix('(') {
            if let Some(close) = rest.find(')') {
                let id = &rest[..close];
                let name = rest[close + 1..].trim();
                if name.is_empty() {
                    return self.0.get(id).cloned().unwrap_or_else(|| spec.to_string());
                }
                self.0.insert(id.to_string(), name.to_string());
                return name.to_string();
            }
        }
        spec.to_string()
    }
}

fn is_cost_line(line: &str) -> bool {
    line.starts_with(|c: char| c.is_ascii_digit() || c == '+' || c == '-' || c == '*')
}

/// The first event's count on a cost line (after `positions` position
/// fields).
fn first_event(line: &str, positions: usize) -> u64 {
    line.split_whitespace()
        .nth(positions)
        .and_then(|t| t.parse().ok())
        .unwrap_or(0)
}

/// Parses the callgrind output file at `path`.
pub fn parse(path: &Path) -> Result<Profile, String> {
    let text =
        std::fs::read_to_string(path).map_err(|e| format!("reading {}: {e}", path.display()))?;
    let mut fns = Names::default();
    let mut profile = Profile::default();
    let mut positions = 1usize;
    let mut current: Option<String> = None;
    let mut callee: Option<String> = None;
    let mut pending_calls: Option<u64> = None;
    for line in text.lines() {
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        if let Some(count) = pending_calls.take() {
            // The line after `calls=`: position(s) and the inclusive cost.
            let cost = first_event(line, positions);
            if let Some(f) = &current {
                profile.functions.entry(f.clone()).or_default().callee_ir += cost;
            }
            if let Some(c) = callee.clone() {
                profile.functions.entry(c.clone()).or_default().calls += count;
                if let Some(f) = &current {
                    let e = profile.edges.entry((f.clone(), c)).or_default();
                    e.0 += count;
                    e.1 += cost;
                }
            }
            continue;
        }
        if is_cost_line(line) {
            if let Some(f) = &current {
                profile.functions.entry(f.clone()).or_default().self_ir +=
                    first_event(line, positions);
            }
            continue;
        }
        let Some((key, value)) = line.split_once('=').or_else(|| line.split_once(':')) else {
            continue;
        };
        match key {
            "fn" => current = Some(fns.resolve(value)),
            "cfn" => callee = Some(fns.resolve(value)),
            "calls" => {
                pending_calls = value
                    .split_whitespace()
                    .next()
                    .and_then(|t| t.parse().ok())
                    .or(Some(0));
            }
            "positions" => positions = value.split_whitespace().count().max(1),
            "totals" | "summary" => {
                profile.total = value
                    .split_whitespace()
                    .next()
                    .and_then(|t| t.parse().ok())
                    .unwrap_or(0);
            }
            _ => {}
        }
    }
    if profile.total == 0 {
        profile.total = profile.functions.values().map(|c| c.self_ir).sum();
    }
    Ok(profile)
}
