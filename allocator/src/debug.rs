//! Debug utilities: statistics, budgets, VMA's JSON dump and the leak report at teardown.
//!
//! None of these enforce ownership. The allocator keeps no list of its handles: counts and bytes
//! come from VMA's own statistics, and the names of leaked allocations from VMA's detailed JSON
//! dump, which lists every live allocation with the name it was created with.

use std::fmt;
use std::sync::Arc;

use ash::vk;

use crate::error::{Error, Result};
use vk_mem::Alloc as _;

use crate::vma_c::HandleSlot;
use crate::Allocator;

/// Usage and budget of one memory heap.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HeapStatistics {
    /// Index of the heap.
    pub heap_index: u32,
    /// Heap flags (`DEVICE_LOCAL`, ...).
    pub flags: vk::MemoryHeapFlags,
    /// Heap size as the device reports it.
    pub size: vk::DeviceSize,
    /// Live VMA allocations (buffers and images) in this heap.
    pub allocation_count: u32,
    /// Bytes those allocations occupy.
    pub allocation_bytes: vk::DeviceSize,
    /// `VkDeviceMemory` blocks VMA holds in this heap.
    pub block_count: u32,
    /// Bytes of those blocks.
    pub block_bytes: vk::DeviceSize,
    /// This process's usage of the heap (from `VK_EXT_memory_budget` where enabled, else VMA's
    /// own estimate).
    pub usage: vk::DeviceSize,
    /// How much of the heap this process may use (likewise).
    pub budget: vk::DeviceSize,
}

/// Live allocations across the heaps.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Statistics {
    /// Live allocations in all heaps.
    pub allocation_count: u64,
    /// Bytes they occupy.
    pub allocation_bytes: vk::DeviceSize,
    /// Per-heap figures.
    pub heaps: Vec<HeapStatistics>,
}

/// What was still alive when an allocator was torn down.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LeakReport {
    /// Live allocations.
    pub count: u64,
    /// Bytes they occupy.
    pub bytes: vk::DeviceSize,
    /// Each live allocation VMA could describe: its kind (`BUFFER`, `IMAGE_OPTIMAL`, ...), size and
    /// name where it was given one.
    pub allocations: Vec<LeakedAllocation>,
}

/// One allocation in a [`LeakReport`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LeakedAllocation {
    /// VMA's suballocation type, e.g. `BUFFER` or `IMAGE_OPTIMAL`.
    pub kind: String,
    /// Bytes.
    pub size: vk::DeviceSize,
    /// The name given in its description, if any.
    pub name: Option<String>,
}

impl fmt::Display for LeakReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} allocation(s) of {} bytes still alive",
            self.count, self.bytes
        )?;
        for leak in &self.allocations {
            let name = leak.name.as_deref().unwrap_or("<unnamed>");
            write!(f, "\n  {name}: {} of {} bytes", leak.kind, leak.size)?;
        }
        Ok(())
    }
}

/// The allocator came back from [`Allocator::destroy`] because allocations were still alive.
/// Destroy them with `allocator` and call `destroy` again; dropping this error instead logs the
/// report and leaks the VMA allocator rather than letting VMA abort the process.
#[derive(Debug, thiserror::Error)]
#[error("allocator destroyed with live allocations: {report}")]
pub struct Leaked {
    /// What is alive.
    pub report: LeakReport,
    /// The allocator, still usable.
    pub allocator: Allocator,
}

/// Pulls every live allocation out of VMA's detailed JSON dump: any object with a `Type` other than
/// `FREE` and a `Size` is one, wherever it sits (block suballocations or dedicated allocations).
fn live_allocations(json: &serde_json::Value, out: &mut Vec<LeakedAllocation>) {
    match json {
        serde_json::Value::Object(map) => {
            let kind = map.get("Type").and_then(|v| v.as_str());
            let size = map.get("Size").and_then(|v| v.as_u64());
            if let (Some(kind), Some(size)) = (kind, size) {
                if kind != "FREE" {
                    out.push(LeakedAllocation {
                        kind: kind.to_owned(),
                        size,
                        name: map.get("Name").and_then(|v| v.as_str()).map(str::to_owned),
                    });
                    return;
                }
            }
            map.values().for_each(|v| live_allocations(v, out));
        }
        serde_json::Value::Array(items) => items.iter().for_each(|v| live_allocations(v, out)),
        _ => {}
    }
}

fn statistics_of(vma: &vk_mem::Allocator, heaps: &[vk::MemoryHeap]) -> Result<Statistics> {
    let budgets = vma.get_heap_budgets()?;
    let heaps: Vec<HeapStatistics> = budgets
        .iter()
        .zip(heaps)
        .zip(0u32..)
        .map(|((b, heap), heap_index)| HeapStatistics {
            heap_index,
            flags: heap.flags,
            size: heap.size,
            allocation_count: b.statistics.allocationCount,
            allocation_bytes: b.statistics.allocationBytes,
            block_count: b.statistics.blockCount,
            block_bytes: b.statistics.blockBytes,
            usage: b.usage,
            budget: b.budget,
        })
        .collect();
    Ok(Statistics {
        allocation_count: heaps.iter().map(|h| u64::from(h.allocation_count)).sum(),
        allocation_bytes: heaps.iter().map(|h| h.allocation_bytes).sum(),
        heaps,
    })
}

/// # Safety
/// `slot` is the one `vma` was created with.
unsafe fn leak_report_of(
    vma: &vk_mem::Allocator,
    slot: Option<&HandleSlot>,
    heaps: &[vk::MemoryHeap],
) -> Result<Option<LeakReport>> {
    let stats = statistics_of(vma, heaps)?;
    if stats.allocation_count == 0 {
        return Ok(None);
    }
    let mut allocations = Vec::new();
    // SAFETY: `vma` is alive (borrowed) and `slot` is its own (this function's contract).
    let text = slot.and_then(|slot| unsafe { slot.stats_json(true) });
    if let Some(json) = text.and_then(|text| serde_json::from_str(&text).ok()) {
        live_allocations(&json, &mut allocations);
    }
    Ok(Some(LeakReport {
        count: stats.allocation_count,
        bytes: stats.allocation_bytes,
        allocations,
    }))
}

impl Allocator {
    /// Live allocations and bytes, per heap and in total, with each heap's usage and budget. Cheap
    /// enough to call every frame (`vmaGetHeapBudgets`).
    pub fn statistics(&self) -> Result<Statistics> {
        statistics_of(self.vma_ref(), self.memory_heaps())
    }

    /// Number of live allocations (buffers and images) made through this VMA allocator.
    pub fn live_allocations(&self) -> Result<u64> {
        Ok(self.statistics()?.allocation_count)
    }

    /// VMA's JSON description of heaps, memory types and blocks; with `detailed`, of every live
    /// allocation too, with its name (the format VMA's `VmaDumpVis` reads).
    ///
    /// VMA tells the allocator its handle when it first allocates device memory, so a dump asked of
    /// an allocator that has never allocated makes and frees one small dedicated allocation first.
    /// An allocator wrapping a VMA made elsewhere ([`Allocator::from_vma`]) refuses with
    /// [`Error::Unsupported`].
    pub fn json_dump(&self, detailed: bool) -> Result<String> {
        let slot = self.handle_slot.ok_or(Error::Unsupported {
            feature: "json_dump of a VMA allocator made outside vkup-allocator (from_vma)",
        })?;
        // SAFETY: the slot is the one this allocator's live VMA was created with.
        if let Some(json) = unsafe { slot.stats_json(detailed) } {
            return Ok(json);
        }
        self.touch_device_memory()?;
        // SAFETY: as above.
        Ok(unsafe { slot.stats_json(detailed) }.unwrap_or_default())
    }

    /// Makes VMA allocate (and free) device memory once, so that its allocate callback runs.
    fn touch_device_memory(&self) -> Result<()> {
        let requirements = vk::MemoryRequirements {
            size: 256,
            alignment: 1,
            memory_type_bits: u32::MAX,
        };
        let info = vk_mem::AllocationCreateInfo {
            flags: vk_mem::AllocationCreateFlags::DEDICATED_MEMORY,
            ..Default::default()
        };
        // SAFETY: a plain allocation with no resource bound to it, freed at once.
        unsafe {
            let mut allocation = self.vma_ref().allocate_memory(&requirements, &info)?;
            self.vma_ref().free_memory(&mut allocation);
        }
        Ok(())
    }

    /// What is alive now, or `None` when nothing is.
    pub fn leak_report(&self) -> Result<Option<LeakReport>> {
        // SAFETY: the slot is the one this allocator's VMA was created with.
        unsafe { leak_report_of(self.vma_ref(), self.handle_slot, self.memory_heaps()) }
    }

    /// Tears the allocator down, first checking that nothing it created is alive. When something
    /// is, the allocator comes back inside [`Leaked`] with the report, still usable.
    pub fn destroy(self) -> Result<(), Box<Leaked>> {
        match self.leak_report() {
            Ok(Some(report)) => Err(Box::new(Leaked {
                report,
                allocator: self,
            })),
            _ => Ok(()), // dropped here; Drop checks again and destroys VMA
        }
    }
}

impl Drop for Allocator {
    fn drop(&mut self) {
        let heaps = self.memory_heaps().to_vec();
        let slot = self.handle_slot.take();
        let vma = self.take_vma();
        // Only the last holder tears VMA down; a shared allocator is the other holders' to check
        // (and the slot VMA may still call back into is leaked with it).
        let Some(vma) = Arc::into_inner(vma) else {
            return;
        };
        // VMA asserts (aborting the process in debug builds of vk-mem) when it is destroyed with
        // live allocations, so look first, report, and leak it rather than abort.
        // SAFETY: the slot is the one `vma` was created with.
        match unsafe { leak_report_of(&vma, slot, &heaps) } {
            Ok(None) => {
                drop(vma);
                if let Some(slot) = slot {
                    // SAFETY: leaked from a Box by `Allocator::new`; VMA, the only other user,
                    // is gone, and `self.handle_slot` was taken.
                    drop(unsafe { Box::from_raw(std::ptr::from_ref(slot).cast_mut()) });
                }
            }
            Ok(Some(report)) => {
                tracing::error!(target: "vkup_allocator", %report, "allocator dropped with live allocations; leaking VMA");
                std::mem::forget(vma);
            }
            Err(err) => {
                tracing::error!(target: "vkup_allocator", %err, "could not check for leaks; leaking VMA");
                std::mem::forget(vma);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn live_allocations_found_in_blocks_and_dedicated_lists() {
        let json = serde_json::json!({
            "General": {"API": "Vulkan"},
            "DefaultPools": {"Type 0": {"Blocks": {"0": {"Suballocations": [
                {"Offset": 0, "Type": "BUFFER", "Size": 256, "Usage": 130, "Name": "vertices"},
                {"Offset": 256, "Type": "FREE", "Size": 1024}
            ]}}, "DedicatedAllocations": [
                {"Type": "IMAGE_OPTIMAL", "Size": 4096, "Usage": 6}
            ]}}
        });
        let mut found = Vec::new();
        live_allocations(&json, &mut found);
        assert_eq!(
            found,
            vec![
                LeakedAllocation {
                    kind: "BUFFER".into(),
                    size: 256,
                    name: Some("vertices".into())
                },
                LeakedAllocation {
                    kind: "IMAGE_OPTIMAL".into(),
                    size: 4096,
                    name: None
                },
            ]
        );
    }

    #[test]
    fn report_lists_names_and_unnamed() {
        let report = LeakReport {
            count: 2,
            bytes: 300,
            allocations: vec![
                LeakedAllocation {
                    kind: "BUFFER".into(),
                    size: 100,
                    name: Some("leaky".into()),
                },
                LeakedAllocation {
                    kind: "BUFFER".into(),
                    size: 200,
                    name: None,
                },
            ],
        };
        let text = report.to_string();
        assert!(text.starts_with("2 allocation(s) of 300 bytes"), "{text}");
        assert!(text.contains("leaky: BUFFER of 100 bytes"), "{text}");
        assert!(text.contains("<unnamed>: BUFFER of 200 bytes"), "{text}");
    }
}
