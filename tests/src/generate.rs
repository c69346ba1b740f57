//! Generated configurations for benchmarks: realistic shapes (params, lets,
//! loops, conditions, references between resources) at any size.

use std::fmt::Write as _;

/// A configuration with about `resources` resource instances declared in
/// about `3.5 * resources` lines: each block declares four resources (a
/// directory, a file that references it, a command triggered by the file,
/// and one more file), a `let`, an output, and every tenth block a `for`
/// over three names and an `if`.
pub fn configuration(resources: usize) -> String {
    let blocks = resources.div_ceil(4);
    let mut out = String::with_capacity(blocks * 700);
    out.push_str("param env: \"dev\" | \"prod\" = \"dev\"\nparam names: list<string> = [\"a\", \"b\", \"c\"]\n\n");
    for i in 0..blocks {
        let _ = write!(
            out,
            r#"let root_{i} = "/srv/app-{i}/${{env}}"
resource dir_{i}: fs.dir {{ path = "${{root_{i}}}/data", mode = 0o750 }}
resource conf_{i}: fs.file {{
  path    = "${{dir_{i}.path}}/app.conf"
  content = "port=${{8000 + {i}}}\n"
}}
resource run_{i}: exec.run {{
  create   = "true"
  triggers = {{ conf = conf_{i}.sha256 }}
}}
resource note_{i}: fs.file {{ path = "${{root_{i}}}/NOTE", content = upper(env) }}
output out_{i}: string = conf_{i}.path

"#
        );
        if i % 10 == 0 {
            let _ = write!(
                out,
                r#"for n in names {{
  resource per_{i}: fs.file {{
    path    = "${{root_{i}}}/${{n}}"
    content = n
  }}
}}

if env == "prod" {{
  resource backup_{i}: exec.run {{ create = "true" }}
}}

"#
            );
        }
    }
    out
}
