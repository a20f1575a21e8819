//! Which partition a rep belongs to: Kafka's default (Java client)
//! partitioner, murmur2 of the key, so the by-rep topic stays
//! co-partitioned with an input that producers keyed by rep_id, and a
//! replay over P partitions puts each rep where the live service would.

/// Kafka's default partitioner hash, murmur2 with seed 0x9747b28c;
/// librdkafka's `murmur2_random` uses the same.
pub fn murmur2(data: &[u8]) -> u32 {
    const M: u32 = 0x5bd1_e995;
    let mut h: u32 = 0x9747_b28c ^ data.len() as u32;
    let mut chunks = data.chunks_exact(4);
    for c in &mut chunks {
        let mut k = u32::from_le_bytes([c[0], c[1], c[2], c[3]]);
        k = k.wrapping_mul(M);
        k ^= k >> 24;
        k = k.wrapping_mul(M);
        h = h.wrapping_mul(M) ^ k;
    }
    let rest = chunks.remainder();
    if rest.len() >= 3 {
        h ^= u32::from(rest[2]) << 16;
    }
    if rest.len() >= 2 {
        h ^= u32::from(rest[1]) << 8;
    }
    if !rest.is_empty() {
        h ^= u32::from(rest[0]);
        h = h.wrapping_mul(M);
    }
    h ^= h >> 13;
    h = h.wrapping_mul(M);
    h ^ (h >> 15)
}

/// The partition Kafka's default partitioner picks for `key`.
pub fn partition_for(key: &[u8], partitions: i32) -> i32 {
    ((murmur2(key) & 0x7fff_ffff) % partitions.max(1) as u32) as i32
}

#[derive(serde::Deserialize)]
struct KeyOnly<'a> {
    #[serde(borrow)]
    rep_id: Option<&'a str>,
}

/// The `rep_id` of an event record, read without decoding the rest (None
/// when the record has none or is not JSON: its engine rejects it).
pub fn rep_id_of(record: &[u8]) -> Option<&str> {
    serde_json::from_slice::<KeyOnly<'_>>(record)
        .ok()
        .and_then(|k| k.rep_id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn murmur2_matches_kafkas_reference_values() {
        // From Kafka's UtilsTest.testMurmur2 (as signed 32-bit values).
        for (input, want) in [
            ("21", -973_932_308i32),
            ("foobar", -790_332_482),
            ("a-little-bit-long-string", -985_981_536),
            ("a-little-bit-longer-string", -1_486_304_829),
            (
                "lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8",
                -58_897_971,
            ),
            ("abc", 479_470_107),
        ] {
            assert_eq!(murmur2(input.as_bytes()) as i32, want, "{input}");
        }
    }
}
