//! "Did you mean ...?" suggestions.

/// The candidate closest to `name` by edit distance, if it is close enough
/// to be a likely typo: at most a third of the name's length (at least 1),
/// and less than the length itself (`z` suggests nothing).
pub fn closest<'c>(name: &str, candidates: impl IntoIterator<Item = &'c str>) -> Option<&'c str> {
    let length = name.chars().count();
    let limit = (length / 3).max(1);
    candidates
        .into_iter()
        .filter(|candidate| *candidate != name)
        .map(|candidate| (edit_distance(name, candidate), candidate))
        .filter(|(distance, _)| *distance <= limit && *distance < length)
        .min_by_key(|(distance, candidate)| (*distance, *candidate))
        .map(|(_, candidate)| candidate)
}

/// Edit distance over characters, case-insensitive, counting a swap of two
/// neighbouring characters as one edit (optimal string alignment).
pub fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.to_lowercase().chars().collect();
    let b: Vec<char> = b.to_lowercase().chars().collect();
    let width = b.len() + 1;
    let mut table = vec![0usize; (a.len() + 1) * width];
    for i in 0..=a.len() {
        table[i * width] = i;
    }
    for (j, cell) in table.iter_mut().enumerate().take(width) {
        *cell = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut best = (table[(i - 1) * width + j - 1] + cost)
                .min(table[(i - 1) * width + j] + 1)
                .min(table[i * width + j - 1] + 1);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                best = best.min(table[(i - 2) * width + j - 2] + 1);
            }
            table[i * width + j] = best;
        }
    }
    table[a.len() * width + b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggests_close_names_only() {
        assert_eq!(closest("pth", ["path", "content", "mode"]), Some("path"));
        assert_eq!(closest("xyz", ["path", "content", "mode"]), None);
        assert_eq!(closest("contnet", ["path", "content", "mode"]), Some("content"));
        assert_eq!(closest("prot", ["port", "path"]), Some("port"));
        assert_eq!(closest("z", ["a", "b"]), None);
    }
}
