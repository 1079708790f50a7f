//! Answers of `vkGetPhysicalDeviceImageFormatProperties`, read without a lock.
//!
//! The answers are fixed for a physical device, so the cache only grows: the first [`SLOTS`]
//! distinct queries each take a slot that is written once and then read by plain loads, and
//! queries past them go to a map behind a mutex. A reader never writes shared memory, so threads
//! creating images at once do not pass a lock's cache line between them (with a read-write lock
//! every reader wrote its count: 8 threads creating images ran at 0.71x raw vk-mem on lavapipe).

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, OnceLock};

use ash::vk;

/// Slots read without a lock; an application's distinct (format, type, tiling, usage, flags)
/// combinations are usually a few dozen.
const SLOTS: usize = 64;

/// The arguments of one `vkGetPhysicalDeviceImageFormatProperties` call.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) struct FormatQuery {
    pub format: vk::Format,
    pub image_type: vk::ImageType,
    pub tiling: vk::ImageTiling,
    pub usage: vk::ImageUsageFlags,
    pub flags: vk::ImageCreateFlags,
}

/// The driver's answer: the properties, or `None` where the combination is not supported.
pub(crate) type Answer = Option<vk::ImageFormatProperties>;

pub(crate) struct FormatCache {
    slots: [OnceLock<(FormatQuery, Answer)>; SLOTS],
    /// Slots handed out so far (it may pass `SLOTS`: later queries go to `overflow`).
    claimed: AtomicUsize,
    overflow: Mutex<HashMap<FormatQuery, Answer>>,
}

impl FormatCache {
    pub fn new() -> Self {
        Self {
            slots: [const { OnceLock::new() }; SLOTS],
            claimed: AtomicUsize::new(0),
            overflow: Mutex::new(HashMap::new()),
        }
    }

    /// The cached answer to `query`, if there is one.
    pub fn get(&self, query: &FormatQuery) -> Option<Answer> {
        let claimed = self.claimed.load(Ordering::Relaxed);
        // A claimed slot may still be empty while its thread asks the driver: skipped.
        for slot in &self.slots[..claimed.min(SLOTS)] {
            if let Some((q, answer)) = slot.get() {
                if q == query {
                    return Some(*answer);
                }
            }
        }
        if claimed <= SLOTS {
            return None;
        }
        self.overflow.lock().ok()?.get(query).copied()
    }

    /// Keeps `answer` for `query`. Two threads that missed the same query at once may both keep
    /// it; both copies hold the same answer.
    pub fn insert(&self, query: FormatQuery, answer: Answer) {
        let index = self.claimed.fetch_add(1, Ordering::Relaxed);
        match self.slots.get(index) {
            Some(slot) => {
                // Each index is claimed once, so the slot is empty.
                let _ = slot.set((query, answer));
            }
            None => {
                if let Ok(mut map) = self.overflow.lock() {
                    map.insert(query, answer);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn query(i: i32) -> FormatQuery {
        FormatQuery {
            format: vk::Format::from_raw(i),
            image_type: vk::ImageType::TYPE_2D,
            tiling: vk::ImageTiling::OPTIMAL,
            usage: vk::ImageUsageFlags::SAMPLED,
            flags: vk::ImageCreateFlags::empty(),
        }
    }

    fn answer(i: u32) -> Answer {
        Some(vk::ImageFormatProperties {
            max_mip_levels: i,
            ..Default::default()
        })
    }

    /// What a lookup found, comparable (the properties struct has no `PartialEq`): `None` for a
    /// miss, `Some(None)` for a cached "unsupported", else the levels that tell answers apart.
    fn found(cache: &FormatCache, q: FormatQuery) -> Option<Option<u32>> {
        cache.get(&q).map(|a| a.map(|p| p.max_mip_levels))
    }

    fn levels(a: Answer) -> Option<Option<u32>> {
        Some(a.map(|p| p.max_mip_levels))
    }

    #[test]
    fn answers_come_back_from_slots_and_past_them() {
        let cache = FormatCache::new();
        let count = SLOTS as i32 * 2 + 5;
        for i in 0..count {
            assert_eq!(found(&cache, query(i)), None, "{i} before insert");
            // Odd queries are unsupported combinations, which are cached too.
            let a = if i % 2 == 1 { None } else { answer(i as u32) };
            cache.insert(query(i), a);
            assert_eq!(found(&cache, query(i)), levels(a), "{i}");
        }
        for i in 0..count {
            let a = if i % 2 == 1 { None } else { answer(i as u32) };
            assert_eq!(found(&cache, query(i)), levels(a), "{i} at the end");
        }
        assert_eq!(found(&cache, query(count)), None);
    }

    #[test]
    fn threads_inserting_at_once_all_find_their_answers() {
        let cache = FormatCache::new();
        std::thread::scope(|scope| {
            for t in 0..8 {
                let cache = &cache;
                scope.spawn(move || {
                    for i in 0..40 {
                        // Threads share half their queries, so some are inserted twice.
                        let q = if i % 2 == 0 { i } else { 1000 * (t + 1) + i };
                        if cache.get(&query(q)).is_none() {
                            cache.insert(query(q), answer(q as u32));
                        }
                        assert_eq!(found(cache, query(q)), levels(answer(q as u32)));
                    }
                });
            }
        });
        for q in (0..40).step_by(2) {
            assert_eq!(found(&cache, query(q)), levels(answer(q as u32)));
        }
    }
}
