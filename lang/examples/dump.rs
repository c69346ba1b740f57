use std::io::Read;
fn main() {
    let mut s = String::new();
    std::io::stdin().read_to_string(&mut s).unwrap();
    let parsed = orch_lang::parse(orch_lang::FileId(0), &s);
    if std::env::args().any(|a| a == "-v") { println!("{:#?}", parsed.file); }
    for d in &parsed.diagnostics {
        let lc = orch_lang::LineIndex::new(&s).line_col(&s, d.primary.span.start);
        println!("{}:{} {} {} [{}] {:?}", lc.line, lc.column, d.code.code, d.message, d.primary.message, d.labels);
    }
    println!("{} items", parsed.file.items.len());
}
