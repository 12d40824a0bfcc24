//! "Did you mean ...?" for misspelled keys, values and environment names.

/// The candidate closest to `word` by edit distance, if it is close enough to be a
/// likely typo (at most a third of the word's length, and at least 1, edits away).
pub fn closest<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let limit = (word.chars().count() / 3).max(1);
    candidates
        .into_iter()
        .map(|c| {
            (
                strsim::damerau_levenshtein(&word.to_ascii_lowercase(), &c.to_ascii_lowercase()),
                c,
            )
        })
        .filter(|(d, _)| *d <= limit)
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

/// ` Did you mean `x`?` or nothing.
pub fn did_you_mean<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> String {
    closest(word, candidates)
        .map(|c| format!("; did you mean `{c}`?"))
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::closest;

    #[test]
    fn suggests_near_misses_only() {
        assert_eq!(closest("maxx", ["max", "policy"]), Some("max"));
        assert_eq!(
            closest("allkeys-lur", ["allkeys-lru", "allkeys-lfu", "noeviction"]),
            Some("allkeys-lru")
        );
        assert_eq!(closest("prdo", ["dev", "prod"]), Some("prod"));
        assert_eq!(closest("zzzzzz", ["max", "policy"]), None);
    }
}
