//! Writes a generated configuration: `generate-config RESOURCES > main.orch`.

fn main() {
    let resources = std::env::args().nth(1).and_then(|n| n.parse().ok()).unwrap_or(20_000);
    print!("{}", orch_tests::generate::configuration(resources));
}
