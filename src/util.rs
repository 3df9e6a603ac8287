//! Small helpers every layer uses.

/// Index of the largest value; NaN never wins, ties go to the first, and an empty or
/// all-NaN slice gives 0.
pub fn argmax<T: num_traits::Float>(v: &[T]) -> usize {
    let mut best: Option<(usize, T)> = None;
    for (i, &x) in v.iter().enumerate() {
        if !x.is_nan() && best.is_none_or(|(_, b)| x > b) {
            best = Some((i, x));
        }
    }
    best.map_or(0, |(i, _)| i)
}

/// Lowercase hex SHA-256 of some bytes.
pub fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn argmax_is_nan_safe() {
        assert_eq!(argmax(&[0.1, f32::NAN, 0.5, 0.2]), 2);
        assert_eq!(argmax(&[f32::NAN, f32::NAN]), 0);
        assert_eq!(argmax(&[f32::NAN, 0.3, 0.3]), 1);
        assert_eq!(argmax::<f64>(&[]), 0);
    }

    #[test]
    fn sha256_of_nothing() {
        assert_eq!(sha256_hex(b""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    }
}
