//! State that AWS keeps per account and region (security groups, an event bus's rules), one
//! `T` per (account, region) the way the fleet is per `fleet::Place`: a caller reaches only
//! its own account's, in the region its request is signed for.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use super::fleet::Place;

/// (account, region) pairs that get their own state at most (docs/emulator.md): the fleet
/// names a few accounts, and a region is whatever a SigV4 scope says, so this bounds what
/// callers inventing regions can make the emulator hold.
pub const MAX_PLACES: usize = 1000;

/// Every place's `T`, made the first time a caller reaches it.
pub struct PerPlace<T> {
    places: Mutex<HashMap<(String, String), Arc<T>>>,
}

impl<T> Default for PerPlace<T> {
    fn default() -> Self {
        Self {
            places: Mutex::new(HashMap::new()),
        }
    }
}

/// More places than [`MAX_PLACES`] were asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TooManyPlaces;

impl<T> PerPlace<T> {
    /// The place's state, made by `make` if new; `TooManyPlaces` past the bound.
    pub fn at_or(
        &self,
        place: Place<'_>,
        make: impl FnOnce() -> T,
    ) -> Result<Arc<T>, TooManyPlaces> {
        let mut places = self.places.lock().unwrap_or_else(|e| e.into_inner());
        let key = (place.account.to_owned(), place.region.to_owned());
        if let Some(existing) = places.get(&key) {
            return Ok(Arc::clone(existing));
        }
        if places.len() >= MAX_PLACES {
            return Err(TooManyPlaces);
        }
        let made = Arc::new(make());
        places.insert(key, Arc::clone(&made));
        Ok(made)
    }

    /// The place's state if a caller has reached it, without making it.
    pub fn existing(&self, place: Place<'_>) -> Option<Arc<T>> {
        let places = self.places.lock().unwrap_or_else(|e| e.into_inner());
        places
            .get(&(place.account.to_owned(), place.region.to_owned()))
            .cloned()
    }
}

impl<T: Default> PerPlace<T> {
    /// The place's state, `T::default()` if new.
    pub fn at(&self, place: Place<'_>) -> Result<Arc<T>, TooManyPlaces> {
        self.at_or(place, T::default)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    #[test]
    fn each_account_and_region_has_its_own_and_the_number_is_bounded() {
        let places: PerPlace<AtomicUsize> = PerPlace::default();
        let a_east = Place {
            account: "111111111111",
            region: "us-east-1",
        };
        let b_east = Place {
            account: "222222222222",
            ..a_east
        };
        places.at(a_east).unwrap().fetch_add(1, Ordering::Relaxed);
        assert_eq!(places.at(a_east).unwrap().load(Ordering::Relaxed), 1);
        assert_eq!(places.at(b_east).unwrap().load(Ordering::Relaxed), 0);
        assert!(
            places
                .existing(Place {
                    region: "eu-west-1",
                    ..a_east
                })
                .is_none()
        );
        let regions: Vec<String> = (0..MAX_PLACES).map(|i| format!("r-{i}")).collect();
        let mut refused = 0;
        for region in &regions {
            if places.at(Place { region, ..a_east }).is_err() {
                refused += 1;
            }
        }
        // Two places existed already: the last two new ones are refused.
        assert_eq!(refused, 2);
        assert!(places.at(a_east).is_ok(), "existing places stay reachable");
    }
}
