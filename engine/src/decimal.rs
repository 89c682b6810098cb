//! Decimal numbers with a fraction, read and written without the standard
//! library's float parser and formatter: their tables and algorithms for any
//! double weigh about 20 KB in the web page, while the options and outputs
//! that use fractions (`sleep`, `ping -i`, `--probability`, rate estimator
//! times, round-trip times, transfer rates) see ordinary values.

/// Parses what `str::parse::<f64>` accepts: an optional sign, then `inf`,
/// `infinity` or `nan` (any case), or digits with an optional point and an
/// optional exponent (`e`/`E`, optional sign, digits). The result is the
/// correctly rounded value when the significant digits fit in 2^53 and the
/// exponent is within ±22 (every ordinary input); beyond that it may differ
/// from the nearest double in the last bits.
pub fn parse_f64(s: &str) -> Option<f64> {
    let (negative, body) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    let magnitude = if body.eq_ignore_ascii_case("inf") || body.eq_ignore_ascii_case("infinity") {
        f64::INFINITY
    } else if body.eq_ignore_ascii_case("nan") {
        f64::NAN
    } else {
        parse_digits(body.as_bytes())?
    };
    Some(if negative { -magnitude } else { magnitude })
}

fn parse_digits(b: &[u8]) -> Option<f64> {
    let mut mantissa: u64 = 0;
    let mut exponent: i64 = 0;
    let mut digits = 0usize;
    let mut i = 0;
    let mut seen_point = false;
    while let Some(&c) = b.get(i) {
        match c {
            b'0'..=b'9' => {
                digits += 1;
                if mantissa < (u64::MAX - 9) / 10 {
                    mantissa = mantissa * 10 + u64::from(c - b'0');
                    if seen_point {
                        exponent -= 1;
                    }
                } else if !seen_point {
                    // Digits past what a u64 holds only scale the value.
                    exponent += 1;
                }
            }
            b'.' if !seen_point => seen_point = true,
            _ => break,
        }
        i += 1;
    }
    if digits == 0 {
        return None;
    }
    if let Some(b'e' | b'E') = b.get(i) {
        i += 1;
        let negative = match b.get(i) {
            Some(b'-') => {
                i += 1;
                true
            }
            Some(b'+') => {
                i += 1;
                false
            }
            _ => false,
        };
        let start = i;
        let mut e: i64 = 0;
        while let Some(&c @ b'0'..=b'9') = b.get(i) {
            e = (e * 10 + i64::from(c - b'0')).min(100_000);
            i += 1;
        }
        if i == start {
            return None;
        }
        exponent += if negative { -e } else { e };
    }
    if i != b.len() {
        return None;
    }
    Some(scale(mantissa, exponent))
}

/// `mantissa × 10^exponent`; exact powers of ten (up to 1e22) and a mantissa
/// within 2^53 make one correctly rounded multiplication or division.
fn scale(mantissa: u64, exponent: i64) -> f64 {
    if mantissa == 0 {
        return 0.0;
    }
    let m = mantissa as f64;
    let exponent = exponent.clamp(-1000, 1000) as i32;
    if exponent >= 0 {
        if exponent <= 22 {
            m * 10f64.powi(exponent)
        } else {
            m * 1e22 * 10f64.powi(exponent - 22)
        }
    } else if exponent >= -22 {
        m / 10f64.powi(-exponent)
    } else {
        // Two steps, so a very small result is not lost to a power of ten
        // that underflows or overflows on its own.
        m / 1e22 / 10f64.powi(-exponent - 22)
    }
}

/// `v` with `prec` digits after the point, as `format!("{v:.prec$}")`
/// writes it: the exact binary value rounded half to even, `-` kept on
/// negative values and zeros, `NaN`, `inf`, `-inf`. At most 17 digits.
pub fn fixed(v: f64, prec: usize) -> String {
    if v.is_nan() {
        return "NaN".into();
    }
    let sign = if v.is_sign_negative() { "-" } else { "" };
    if v.is_infinite() {
        return format!("{sign}inf");
    }
    let prec = prec.min(17);
    let bits = v.abs().to_bits();
    let biased = (bits >> 52) as i32;
    let fraction = bits & ((1 << 52) - 1);
    let (mantissa, exp2) = if biased == 0 {
        (fraction, -1074)
    } else {
        (fraction | 1 << 52, biased - 1075)
    };
    let (int, frac) = if exp2 >= 0 {
        // An integer: its digits, then zeros after the point.
        (integer_digits(mantissa, exp2 as u32), "0".repeat(prec))
    } else {
        // The integer part, and the fraction's bits over 2^shift times
        // 10^prec (below 2^110) shifted back with exact rounding: both
        // results fit a u64.
        let shift = exp2.unsigned_abs();
        let (mut int, fraction) = if shift < 64 {
            (mantissa >> shift, mantissa & ((1u64 << shift) - 1))
        } else {
            (0, mantissa)
        };
        let unit = 10u64.pow(prec as u32);
        let mut digits = 0u64;
        if shift < 120 {
            let scaled = u128::from(fraction) * u128::from(unit);
            let quotient = (scaled >> shift) as u64;
            let rest = scaled & ((1u128 << shift) - 1);
            let half = 1u128 << (shift - 1);
            let odd = if prec == 0 {
                int & 1 == 1
            } else {
                quotient & 1 == 1
            };
            digits = quotient;
            if rest > half || (rest == half && odd) {
                digits += 1;
            }
            if digits == unit {
                int += 1;
                digits = 0;
            }
        }
        (int.to_string(), format!("{digits:0>prec$}"))
    };
    if prec == 0 {
        format!("{sign}{int}")
    } else {
        format!("{sign}{int}.{frac}")
    }
}

/// The decimal digits of `mantissa × 2^shift`.
fn integer_digits(mantissa: u64, shift: u32) -> String {
    // Little-endian limbs of nine decimal digits.
    let mut limbs: Vec<u32> = vec![(mantissa % 1_000_000_000) as u32];
    let mut high = mantissa / 1_000_000_000;
    while high > 0 {
        limbs.push((high % 1_000_000_000) as u32);
        high /= 1_000_000_000;
    }
    for _ in 0..shift {
        let mut carry = 0u32;
        for limb in limbs.iter_mut() {
            let doubled = *limb * 2 + carry;
            carry = doubled / 1_000_000_000;
            *limb = doubled % 1_000_000_000;
        }
        if carry > 0 {
            limbs.push(carry);
        }
    }
    let mut s = String::new();
    for (i, limb) in limbs.iter().rev().enumerate() {
        if i == 0 {
            s.push_str(&limb.to_string());
        } else {
            s.push_str(&format!("{limb:09}"));
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_what_the_standard_parser_reads_with_the_same_value() {
        for s in [
            "0",
            "1",
            "0.5",
            ".5",
            "5.",
            "0.25",
            "1e-3",
            "1E3",
            "2.5e+2",
            "-0.75",
            "+3",
            "0.1",
            "0.3",
            "0.0001",
            "123456789012345",
            "0.999999999",
            "1.5e-7",
            "007",
            "1e22",
            "3.14159",
            "0.000000001",
            "4294967295",
            "0.1234567890123",
        ] {
            assert_eq!(parse_f64(s), s.parse::<f64>().ok(), "{s}");
        }
    }

    #[test]
    fn reads_infinities_and_nan_in_any_case() {
        assert_eq!(parse_f64("inf"), Some(f64::INFINITY));
        assert_eq!(parse_f64("-Infinity"), Some(f64::NEG_INFINITY));
        assert!(parse_f64("NaN").is_some_and(f64::is_nan));
    }

    #[test]
    fn refuses_what_the_standard_parser_refuses() {
        for s in [
            "", ".", "-", "e5", "1e", "1e+", "1.2.3", "1 ", " 1", "0x10", "1,5", "infinit", "--1",
            "1e5x",
        ] {
            assert_eq!(parse_f64(s), None, "{s}");
            assert!(s.parse::<f64>().is_err(), "{s}");
        }
    }

    #[test]
    fn writes_fixed_precision_like_the_standard_formatter() {
        let mut seed = 99u64;
        let mut values = vec![
            0.0,
            -0.0,
            0.5,
            1.5,
            2.5,
            0.125,
            0.05,
            0.15,
            0.25,
            0.35,
            9.995,
            99.95,
            1e-7,
            123.456,
            0.1,
            1.0 / 3.0,
            2.0 / 3.0,
            1e15,
            1e21,
            1e300,
            5e-324,
            0.999_999_999_99,
            4096.0,
            1e-310,
            0.0005,
            0.00049999,
            12345.678,
        ];
        for _ in 0..2000 {
            seed = seed
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            let scale = [1e-6, 1e-3, 1.0, 1e3, 1e6][(seed >> 60) as usize % 5];
            values.push((seed >> 11) as f64 / (1u64 << 53) as f64 * scale);
        }
        for v in values {
            for prec in [0, 1, 2, 3, 4, 11, 17] {
                assert_eq!(fixed(v, prec), format!("{v:.prec$}"), "{v:e} .{prec}");
                assert_eq!(fixed(-v, prec), format!("{:.prec$}", -v), "-{v:e} .{prec}");
            }
        }
        assert_eq!(fixed(f64::NAN, 2), format!("{:.2}", f64::NAN));
        assert_eq!(fixed(f64::INFINITY, 2), format!("{:.2}", f64::INFINITY));
        assert_eq!(
            fixed(f64::NEG_INFINITY, 1),
            format!("{:.1}", f64::NEG_INFINITY)
        );
    }

    #[test]
    fn very_long_and_very_large_values_stay_close() {
        let long = "3.14159265358979323846264338327950288";
        let v = parse_f64(long).unwrap();
        assert!((v - std::f64::consts::PI).abs() < 1e-15);
        assert_eq!(parse_f64("1e400"), Some(f64::INFINITY));
        assert_eq!(parse_f64("1e-400"), Some(0.0));
        let big = parse_f64("1.5e300").unwrap();
        assert!((big / 1.5e300 - 1.0).abs() < 1e-12);
        let small = parse_f64("2.5e-300").unwrap();
        assert!((small / 2.5e-300 - 1.0).abs() < 1e-12);
    }
}
