//! Writes the configurations of the runtime benchmarks (see
//! `docs/performance.md`):
//!
//! ```text
//! generate-dag values N DIR   # N core.value instances in a tree of references
//! generate-dag true N DIR     # N exec.run `true` commands (chains and fan-outs),
//!                             # with the same DAG as DIR/build.ninja
//! generate-dag sleep N DIR    # N exec.run `sleep` commands; prints the critical path
//! generate-dag chain N DIR    # N exec.run commands in one chain, each reading
//!                             # the previous one's stdout (known only on apply)
//! ```
//!
//! In the chain, `c0` prints 1 and `cI` prints one more than what `cI-1`
//! printed, so the output `last` is N after a correct apply.
//!
//! The command DAG is a binary tree of chains: chain `c` of 50 nodes starts
//! after the last node of chain `(c - 1) / 2`, so it has long chains and
//! fan-outs of two at every chain end.

use std::fmt::Write as _;
use std::path::PathBuf;

/// The dependencies of node `i` in chains of `chain` nodes.
fn deps(i: usize, chain_len: usize) -> Vec<usize> {
    let (chain, position) = (i / chain_len, i % chain_len);
    if position > 0 {
        vec![i - 1]
    } else if chain > 0 {
        vec![((chain - 1) / 2) * chain_len + chain_len - 1]
    } else {
        Vec::new()
    }
}

/// A deterministic sleep in milliseconds for node `i`: 100 to 900 ms.
fn sleep_ms(i: usize) -> u64 {
    100 + ((i as u64 * 2_654_435_761) % 9) * 100
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let (Some(kind), Some(n), Some(dir)) = (args.get(1), args.get(2), args.get(3)) else {
        eprintln!("usage: generate-dag values|true|sleep|chain N DIR");
        std::process::exit(1);
    };
    let n: usize = n.parse().unwrap_or_else(|_| {
        eprintln!("N must be a number");
        std::process::exit(1)
    });
    let dir = PathBuf::from(dir);
    if let Err(error) = std::fs::create_dir_all(&dir) {
        eprintln!("cannot create {}: {error}", dir.display());
        std::process::exit(1);
    }
    let mut orch = String::new();
    match kind.as_str() {
        "values" => {
            for i in 0..n {
                if i == 0 {
                    let _ = writeln!(orch, "resource v0: core.value {{ input = 0 }}");
                } else {
                    let _ = writeln!(
                        orch,
                        "resource v{i}: core.value {{ input = v{}.output + 1 }}",
                        (i - 1) / 2
                    );
                }
            }
        }
        "chain" => {
            for i in 0..n {
                if i == 0 {
                    let _ = writeln!(orch, "resource c0: exec.run {{ create = \"echo 1\" }}");
                } else {
                    let _ = writeln!(
                        orch,
                        "resource c{i}: exec.run {{ create = \"echo $(( ${{trim(c{}.stdout)}} + 1 ))\" }}",
                        i - 1
                    );
                }
            }
            if n > 0 {
                let _ = writeln!(orch, "output last = trim(c{}.stdout)", n - 1);
            }
        }
        "true" | "sleep" => {
            let mut ninja = String::from("rule run\n  command = $cmd\n\n");
            let mut finish = vec![0u64; n];
            let mut on_path = vec![0usize; n];
            let chain_len = if kind == "true" { 50 } else { 5 };
            for i in 0..n {
                let command = if kind == "true" {
                    "true".to_string()
                } else {
                    let ms = sleep_ms(i);
                    format!("sleep {}.{:03}", ms / 1000, ms % 1000)
                };
                let deps = deps(i, chain_len);
                let start = deps.iter().map(|&d| finish[d]).max().unwrap_or(0);
                finish[i] = start + if kind == "sleep" { sleep_ms(i) } else { 0 };
                on_path[i] = 1 + deps.iter().map(|&d| on_path[d]).max().unwrap_or(0);
                if !deps.is_empty() {
                    let names: Vec<String> = deps.iter().map(|d| format!("n{d}")).collect();
                    let _ = writeln!(orch, "@depends_on({})", names.join(", "));
                }
                let _ = writeln!(orch, "resource n{i}: exec.run {{ create = \"{command}\" }}");
                let inputs: Vec<String> = deps.iter().map(|d| format!("n{d}")).collect();
                let _ = writeln!(
                    ninja,
                    "build n{i}: run{}\n  cmd = {command}",
                    if inputs.is_empty() {
                        String::new()
                    } else {
                        format!(" || {}", inputs.join(" "))
                    }
                );
            }
            if let Err(error) = std::fs::write(dir.join("build.ninja"), ninja) {
                eprintln!("cannot write build.ninja: {error}");
                std::process::exit(1);
            }
            if kind == "sleep" {
                let (last, critical) =
                    finish.iter().copied().enumerate().max_by_key(|(_, f)| *f).unwrap_or((0, 0));
                println!("critical path: {critical} ms of sleep over {} commands", on_path[last]);
            }
        }
        other => {
            eprintln!("unknown kind `{other}`: values, true, sleep or chain");
            std::process::exit(1);
        }
    }
    if let Err(error) = std::fs::write(dir.join("main.orch"), orch) {
        eprintln!("cannot write main.orch: {error}");
        std::process::exit(1);
    }
}
