use std::time::Instant;
struct Db(std::collections::HashMap<String, String>);
impl orch_compiler::SourceDb for Db {
    fn read(&self, p: &str) -> Result<String, String> {
        self.0.get(p).cloned().ok_or("no".into())
    }
}
fn med(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    v[v.len() / 2]
}
fn main() {
    let text = orch_tests::generate::configuration(2850);
    let db = Db([("/m.orch".to_string(), text.clone())].into());
    let roots = vec!["/m.orch".to_string()];
    for eval in [false, true] {
        let options = orch_compiler::Options { evaluate: eval, ..Default::default() };
        let mut t = vec![];
        for _ in 0..30 {
            let s = Instant::now();
            let a = orch_compiler::analyze(&db, &roots, &options);
            t.push(s.elapsed().as_secs_f64() * 1e3);
            drop(a);
        }
        println!("analyze eval={eval}: {:.2} ms", med(t));
    }
    let mut t = vec![];
    for _ in 0..30 {
        let s = Instant::now();
        let p = orch_lang::parse(orch_lang::FileId(0), &text);
        t.push(s.elapsed().as_secs_f64() * 1e3);
        drop(p);
    }
    println!("parse: {:.2} ms", med(t));
    let mut t = vec![];
    for _ in 0..30 {
        let s = Instant::now();
        let p = orch_lang::lex(orch_lang::FileId(0), &text);
        t.push(s.elapsed().as_secs_f64() * 1e3);
        drop(p);
    }
    println!("lex: {:.2} ms", med(t));
    let mut t = vec![];
    for _ in 0..30 {
        let s = Instant::now();
        let p = orch_lang::LineIndex::new(&text);
        t.push(s.elapsed().as_secs_f64() * 1e3);
        drop(p);
    }
    println!("lineindex: {:.2} ms", med(t));
    let options = orch_compiler::Options { evaluate: true, ..Default::default() };
    let a = orch_compiler::analyze(&db, &roots, &options);
    let mut t = vec![];
    for _ in 0..30 {
        let s = Instant::now();
        let p = orch_compiler::ide::completions(
            &a,
            orch_lang::FileId(0),
            text.find("upper(").unwrap() as u32 + 6,
        );
        t.push(s.elapsed().as_secs_f64() * 1e3);
        println!("{}", p.len());
        drop(p);
    }
    println!("completion expr: {:.2} ms", med(t));
    let s = Instant::now();
    drop(a);
    println!("drop analysis: {:.2} ms", s.elapsed().as_secs_f64() * 1e3);
}
