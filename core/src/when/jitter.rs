//! Deterministic jitter: the same device always delays the same occurrence
//! by the same amount, and a fleet spreads uniformly.

use ring::digest;

/// A delay in `[0, max_seconds]` from SHA-256 over the length-prefixed
/// device id, schedule, task and occurrence number. The first 8 bytes of
/// the digest, reduced modulo `max_seconds + 1`, are uniform to within
/// `max/2^64` (negligible).
pub fn jitter_seconds(
    device_id: &str,
    schedule_id: &str,
    task_id: &str,
    seq: u64,
    max_seconds: u32,
) -> u32 {
    if max_seconds == 0 {
        return 0;
    }
    let mut ctx = digest::Context::new(&digest::SHA256);
    for field in [device_id, schedule_id, task_id] {
        ctx.update(&(field.len() as u64).to_be_bytes());
        ctx.update(field.as_bytes());
    }
    ctx.update(&seq.to_be_bytes());
    let d = ctx.finish();
    let mut first = [0u8; 8];
    first.copy_from_slice(&d.as_ref()[..8]);
    (u64::from_be_bytes(first) % (u64::from(max_seconds) + 1)) as u32
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_inputs_same_jitter_and_zero_max_is_zero() {
        assert_eq!(
            jitter_seconds("d", "s", "t", 7, 900),
            jitter_seconds("d", "s", "t", 7, 900)
        );
        assert_eq!(jitter_seconds("d", "s", "t", 7, 0), 0);
        assert_ne!(
            (0..20)
                .map(|i| jitter_seconds("d", "s", "t", i, 900))
                .collect::<Vec<_>>(),
            (0..20)
                .map(|i| jitter_seconds("e", "s", "t", i, 900))
                .collect::<Vec<_>>()
        );
    }

    #[test]
    fn fields_are_not_ambiguous() {
        // "ab"+"c" and "a"+"bc" must not collide by construction.
        let a: Vec<u32> = (0..32)
            .map(|i| jitter_seconds("ab", "c", "t", i, 1_000_000))
            .collect();
        let b: Vec<u32> = (0..32)
            .map(|i| jitter_seconds("a", "bc", "t", i, 1_000_000))
            .collect();
        assert_ne!(a, b);
    }

    #[test]
    fn spread_is_uniform_over_a_fleet() {
        // 10 buckets over 20k devices: each within ±10 % of 2000, and the
        // chi-square statistic well under the 0.1 % critical value (27.9, 9 d.f.).
        let mut buckets = [0u32; 10];
        for dev in 0..20_000 {
            let j = jitter_seconds(&format!("dev-{dev}"), "s", "t", 0, 999);
            assert!(j <= 999);
            buckets[(j / 100) as usize] += 1;
        }
        let chi: f64 = buckets
            .iter()
            .map(|&b| (f64::from(b) - 2000.0).powi(2) / 2000.0)
            .sum();
        assert!(chi < 27.9, "{buckets:?} chi2={chi}");
        assert!(
            buckets.iter().all(|&b| (1800..=2200).contains(&b)),
            "{buckets:?}"
        );
    }
}
