//! Front-end throughput on a generated configuration of about 100,000 lines:
//! lexing alone, lexing plus parsing, and formatting (which includes parsing).
//!
//! Run with `cargo bench -p orch-lang --bench frontend`; the figures are
//! recorded in docs/performance.md.

use std::fmt::Write as _;
use std::hint::black_box;

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use criterion::{Criterion, Throughput, criterion_group};
use orch_lang::{FileId, lex, parse};

/// A configuration of roughly `lines` lines in the style of real ones:
/// params, lets with interpolation, resources with bodies, loops,
/// conditions, outputs, comments and multi-line strings.
fn generate(lines: usize) -> String {
    let mut out = String::with_capacity(lines * 32);
    let mut i = 0;
    while out.lines().count() < lines {
        // Counting lines every block would be quadratic; count per chunk.
        for _ in 0..100 {
            write_block(&mut out, i);
            i += 1;
        }
    }
    out
}

fn write_block(out: &mut String, i: usize) {
    let _ = write!(
        out,
        r#"/// Settings for service {i}.
param port_{i}: int = {port}
let root_{i} = "/srv/app-{i}/${{env}}"

// Directories and files of service {i}.
@depends_on(base)
resource dir_{i}: fs.dir {{
  path = "${{root_{i}}}/data"
  mode = 0o750
}}

resource conf_{i}: fs.file {{
  path    = "${{dir_{i}.path}}/app.conf"
  content = """
    listen = ${{port_{i}}}
    workers = ${{replicas * 2 + 1}}
    """
  mode    = 0o640
}}

for svc in services key svc.name {{
  resource unit_{i}: exec.run {{
    create   = "systemctl restart ${{svc.name}}-{i}"
    env      = {{ PORT = string(port_{i}), NAME = svc.name }}
    triggers = {{ conf = conf_{i}.sha256 }}
  }}
}}

if env == "prod" && replicas >= 3 {{
  resource backup_{i}: exec.run {{ create = "tar czf /backup/{i}.tgz ${{root_{i}}}" }}
}}

output url_{i}: string = backup_{i}?.stdout ?? "http://localhost:${{port_{i}}}/v1"

"#,
        port = 8000 + i % 1000
    );
}

fn benches(c: &mut Criterion) {
    let source = generate(100_000);
    let parsed = parse(FileId(0), &source);
    assert!(
        parsed.diagnostics.is_empty(),
        "generated source has errors: {:?}",
        &parsed.diagnostics[..1]
    );
    let mut group = c.benchmark_group("frontend_100k_lines");
    group.throughput(Throughput::Bytes(source.len() as u64));
    group.sample_size(10);
    group.bench_function("lex", |b| b.iter(|| black_box(lex(FileId(0), black_box(&source)))));
    group.bench_function("lex_parse", |b| {
        b.iter(|| black_box(parse(FileId(0), black_box(&source))))
    });
    group.bench_function("format", |b| {
        b.iter(|| black_box(orch_lang::fmt::format(black_box(&source))))
    });
    group.finish();
}

criterion_group!(frontend, benches);

/// `ORCH_FRONTEND_ONCE=lex|lex_parse|format` runs that step once on the
/// generated source and exits, for profilers whose figures must not depend
/// on how many iterations criterion chose (`valgrind --tool=callgrind`
/// instruction counts; run it once with `none` to subtract generating the
/// source).
// The no-IO rule is the library's; this benchmark binary is a program.
#[allow(clippy::disallowed_methods)]
fn main() {
    if let Ok(step) = std::env::var("ORCH_FRONTEND_ONCE") {
        let source = generate(100_000);
        match step.as_str() {
            "none" => {}
            "lex" => drop(black_box(lex(FileId(0), black_box(&source)))),
            "lex_parse" => drop(black_box(parse(FileId(0), black_box(&source)))),
            "format" => drop(black_box(orch_lang::fmt::format(black_box(&source)))),
            other => panic!("ORCH_FRONTEND_ONCE={other}: expected none, lex, lex_parse or format"),
        }
        return;
    }
    frontend();
    Criterion::default().configure_from_args().final_summary();
}
