//! NextToken for every paginated operation: an opaque string that encodes where the next
//! page starts. Clients must pass it back unchanged; anything else is rejected, never
//! guessed at.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

const PREFIX: &str = "gangway-page-v1:";

pub fn encode(offset: usize) -> String {
    URL_SAFE_NO_PAD.encode(format!("{PREFIX}{offset}"))
}

pub fn decode(token: &str) -> Option<usize> {
    let bytes = URL_SAFE_NO_PAD.decode(token).ok()?;
    let text = std::str::from_utf8(&bytes).ok()?;
    text.strip_prefix(PREFIX)?.parse().ok()
}

/// One page of `items` from `start`, and the token of the next page if there is one.
pub fn page<T>(items: &[T], start: usize, max: usize) -> (&[T], Option<String>) {
    let start = start.min(items.len());
    let end = start.saturating_add(max).min(items.len());
    let next = (end < items.len()).then(|| encode(end));
    (&items[start..end], next)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn tokens_round_trip_and_garbage_is_rejected() {
        assert_eq!(decode(&encode(1234)), Some(1234));
        assert_eq!(decode("1234"), None);
        assert_eq!(decode(""), None);
        assert_eq!(decode("!!!"), None);
    }

    #[test]
    fn pages_cover_everything_once() {
        let items: Vec<u32> = (0..11).collect();
        let (first, next) = page(&items, 0, 5);
        assert_eq!(first, &[0, 1, 2, 3, 4]);
        let (second, next) = page(&items, decode(&next.unwrap()).unwrap(), 5);
        assert_eq!(second, &[5, 6, 7, 8, 9]);
        let (third, next) = page(&items, decode(&next.unwrap()).unwrap(), 5);
        assert_eq!(third, &[10]);
        assert!(next.is_none());
        assert!(page(&items, 99, 5).0.is_empty());
    }
}
