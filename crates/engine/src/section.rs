//! One tagged section of a changelog record: a feature's state with its
//! tag and length in front, so readers can skip what they do not know
//! (layout in `changelog`).

use serde::Serialize;

/// Appends one tagged section.
pub(crate) fn write_section<T: Serialize>(
    out: &mut Vec<u8>,
    tag: &str,
    value: &T,
) -> Result<(), postcard::Error> {
    let body = postcard::to_allocvec(value)?;
    *out = postcard::to_extend(tag, std::mem::take(out))?;
    *out = postcard::to_extend(&(body.len() as u64), std::mem::take(out))?;
    out.extend_from_slice(&body);
    Ok(())
}
