use std::io::Read;
fn main() {
    let mut s = String::new();
    std::io::stdin().read_to_string(&mut s).unwrap();
    match orch_lang::fmt::format(&s) {
        Ok(out) => {
            print!("{out}");
            let again = orch_lang::fmt::format(&out).unwrap();
            if again != out { eprintln!("NOT IDEMPOTENT:\n{again}"); }
            let a = orch_lang::dump::dump(&orch_lang::parse(orch_lang::FileId(0), &s).file);
            let b = orch_lang::dump::dump(&orch_lang::parse(orch_lang::FileId(0), &out).file);
            if a != b { eprintln!("DUMP DIFFERS:\n{a}\n---\n{b}"); }
            if std::env::args().any(|a| a == "-d") { eprintln!("{a}"); }
        }
        Err(d) => eprintln!("errors: {d:?}"),
    }
}
