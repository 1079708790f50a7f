//! The planner: declarations checked and resolved, then every subresource and byte range walked
//! through the passes.

use std::ops::Range;

use ash::vk;

use super::{
    buffer_access_ok, buffer_usage, image_access_ok, image_usage, Bindings, BufferId, BufferNode,
    Graph, GraphError, ImageId, ImageNode, PassPlan, Plan, Resource, Result, Subresources,
    TransientKind, TransientUse,
};
use crate::access::{Access, AccessSet, ResourceState};
use crate::barrier::{buffer_masks, image_masks, ranges_covering, BarrierBatch};

/// One pass's use of an image, resolved: per subresource (level-major), the union of the sets
/// the pass declared for it.
struct ImageUse {
    id: ImageId,
    sets: Vec<Option<AccessSet>>,
}

/// One pass's use of a buffer, resolved: disjoint byte ranges with the union of the sets
/// declared over each.
struct BufferUse {
    id: BufferId,
    segments: Vec<(Range<u64>, AccessSet)>,
}

struct Resolved {
    images: Vec<ImageUse>,
    buffers: Vec<BufferUse>,
}

/// Where a subresource or byte range stands while the passes are walked.
#[derive(Clone, Debug, PartialEq)]
struct Track {
    /// `None`: a transient not used yet this frame.
    state: Option<ResourceState>,
    /// The passes that used it in `state`.
    users: Vec<usize>,
}

/// The state an access set has on `queue` for a resource in `from`: owned by the pass's family
/// when ownership is tracked, unowned otherwise.
fn state_on(owned: bool, accesses: AccessSet, queue: u32) -> ResourceState {
    if owned {
        ResourceState::new(accesses).on_queue(queue)
    } else {
        ResourceState::new(accesses)
    }
}

fn image_extent(graph: &Graph, id: ImageId) -> (u32, u32) {
    match &graph.images[id.index()].1 {
        ImageNode::Transient(t) => (t.mip_levels, t.array_layers),
        ImageNode::Imported { target, .. } => (target.mip_levels(), target.array_layers()),
    }
}

fn buffer_size(graph: &Graph, id: BufferId) -> u64 {
    match &graph.buffers[id.index()].1 {
        BufferNode::Transient { size } => *size,
        BufferNode::Imported { target, .. } => target.size(),
    }
}

/// Clamps an open-ended range (`u32::MAX` / `u64::MAX` as its end) to `count`, refusing one
/// that is empty or reaches past it.
fn resolve<T: Copy + Ord>(range: &Range<T>, count: T, open: T) -> Option<Range<T>> {
    let end = if range.end == open { count } else { range.end };
    (range.start < end && end <= count).then_some(range.start..end)
}

impl Graph {
    /// Refuses transients that cannot exist (before anything sizes a table by them).
    fn check_transients(&self) -> Result<()> {
        let refuse = |name: &str, reason| {
            Err(GraphError::InvalidTransient {
                resource: name.to_owned(),
                reason,
            })
        };
        for (name, node) in &self.images {
            let ImageNode::Transient(t) = node else {
                continue;
            };
            let e = t.extent;
            if e.width == 0 || e.height == 0 || e.depth == 0 {
                return refuse(name, "its extent is empty");
            }
            if t.mip_levels == 0 || t.array_layers == 0 {
                return refuse(name, "it has no levels or no layers");
            }
            if t.mip_levels > vkup_allocator::full_mip_chain(e) {
                return refuse(name, "it has more levels than its extent halves to");
            }
            if t.array_layers > super::MAX_TRANSIENT_LAYERS {
                return refuse(name, "it has more layers than MAX_TRANSIENT_LAYERS");
            }
        }
        for (name, node) in &self.buffers {
            if matches!(node, BufferNode::Transient { size: 0 }) {
                return refuse(name, "it has no bytes");
            }
        }
        Ok(())
    }

    /// The name of `resource` as pass `pass` uses it as `set`: refuses an id this graph did not
    /// declare and an access a pass cannot make of that kind of resource.
    fn declared(&self, pass: &str, resource: Resource, set: AccessSet) -> Result<&String> {
        let (found, allowed) = match resource {
            Resource::Image(id) => (
                self.images.get(id.index()).map(|(n, _)| n),
                set.all(image_access_ok),
            ),
            Resource::Buffer(id) => (
                self.buffers.get(id.index()).map(|(n, _)| n),
                set.all(buffer_access_ok),
            ),
        };
        let name = found.ok_or_else(|| GraphError::Unknown {
            pass: pass.to_owned(),
            resource,
        })?;
        if !allowed {
            return Err(GraphError::InvalidAccess {
                pass: pass.to_owned(),
                resource: name.clone(),
                access: set,
            });
        }
        Ok(name)
    }

    /// Checks every declaration and resolves each pass's uses.
    fn resolve(&self) -> Result<Vec<Resolved>> {
        self.check_transients()?;
        let mut out = Vec::with_capacity(self.passes.len());
        for pass in &self.passes {
            let mut images: Vec<ImageUse> = Vec::new();
            for (id, subresources, set) in &pass.images {
                let name = self.declared(&pass.name, Resource::Image(*id), *set)?;
                if let Some((first, second)) = set.layout_conflict() {
                    return Err(GraphError::LayoutConflict {
                        pass: pass.name.clone(),
                        resource: name.clone(),
                        first: first.into(),
                        second: second.into(),
                    });
                }
                let (levels, layers) = image_extent(self, *id);
                let Subresources {
                    levels: want_levels,
                    layers: want_layers,
                } = subresources;
                let (Some(lv), Some(ly)) = (
                    resolve(want_levels, levels, u32::MAX),
                    resolve(want_layers, layers, u32::MAX),
                ) else {
                    return Err(GraphError::OutOfRange {
                        pass: pass.name.clone(),
                        resource: name.clone(),
                        what: format!(
                            "levels {want_levels:?} and layers {want_layers:?} (it has {levels} \
                             levels, {layers} layers)"
                        ),
                    });
                };
                let index = match images.iter().position(|u| u.id == *id) {
                    Some(i) => i,
                    None => {
                        images.push(ImageUse {
                            id: *id,
                            sets: vec![None; (levels * layers) as usize],
                        });
                        images.len() - 1
                    }
                };
                for level in lv.clone() {
                    for layer in ly.clone() {
                        let slot = &mut images[index].sets[(level * layers + layer) as usize];
                        let merged = match *slot {
                            None => *set,
                            Some(old) => {
                                let both = set.iter().fold(old, AccessSet::with);
                                if both.layout().is_none() {
                                    return Err(GraphError::LayoutConflict {
                                        pass: pass.name.clone(),
                                        resource: name.clone(),
                                        first: old,
                                        second: *set,
                                    });
                                }
                                both
                            }
                        };
                        *slot = Some(merged);
                    }
                }
            }
            let mut buffers: Vec<BufferUse> = Vec::new();
            for (id, range, set) in &pass.buffers {
                let name = self.declared(&pass.name, Resource::Buffer(*id), *set)?;
                let size = buffer_size(self, *id);
                let Some(bytes) = resolve(range, size, u64::MAX) else {
                    return Err(GraphError::OutOfRange {
                        pass: pass.name.clone(),
                        resource: name.clone(),
                        what: format!("bytes {range:?} (it has {size})"),
                    });
                };
                match buffers.iter_mut().find(|u| u.id == *id) {
                    Some(u) => u.segments = merge_segments(&u.segments, bytes, *set),
                    None => buffers.push(BufferUse {
                        id: *id,
                        segments: vec![(bytes, *set)],
                    }),
                }
            }
            out.push(Resolved { images, buffers });
        }
        for &(id, _) in &self.leave_images {
            match self.images.get(id.index()) {
                Some((name, ImageNode::Transient(_))) => {
                    return Err(GraphError::FinalStateOnTransient {
                        resource: name.clone(),
                    })
                }
                Some(_) => {}
                None => {
                    return Err(GraphError::Unknown {
                        pass: "leave_image".into(),
                        resource: Resource::Image(id),
                    })
                }
            }
        }
        for &(id, _) in &self.leave_buffers {
            match self.buffers.get(id.index()) {
                Some((name, BufferNode::Transient { .. })) => {
                    return Err(GraphError::FinalStateOnTransient {
                        resource: name.clone(),
                    })
                }
                Some(_) => {}
                None => {
                    return Err(GraphError::Unknown {
                        pass: "leave_buffer".into(),
                        resource: Resource::Buffer(id),
                    })
                }
            }
        }
        self.check_writes_first(&out)?;
        Ok(out)
    }

    /// Refuses a transient's subresource or byte read before a pass wrote it.
    fn check_writes_first(&self, resolved: &[Resolved]) -> Result<()> {
        let mut images: Vec<Vec<bool>> = self
            .images
            .iter()
            .enumerate()
            .map(|(i, (_, node))| match node {
                ImageNode::Transient(_) => {
                    let (levels, layers) = image_extent(self, ImageId(i as u32));
                    vec![false; (levels * layers) as usize]
                }
                ImageNode::Imported { .. } => Vec::new(),
            })
            .collect();
        // Written byte ranges of each transient buffer.
        let mut buffers: Vec<Vec<Range<u64>>> = vec![Vec::new(); self.buffers.len()];
        for (p, uses) in resolved.iter().enumerate() {
            let pass = &self.passes[p].name;
            for u in &uses.images {
                let written = &mut images[u.id.index()];
                if written.is_empty() {
                    continue;
                }
                for (i, set) in u.sets.iter().enumerate() {
                    let Some(set) = set else { continue };
                    if !written[i] && !set.is_write() {
                        return Err(GraphError::ReadBeforeWrite {
                            pass: pass.clone(),
                            resource: self.images[u.id.index()].0.clone(),
                        });
                    }
                    written[i] = true;
                }
            }
            for u in &uses.buffers {
                if !matches!(self.buffers[u.id.index()].1, BufferNode::Transient { .. }) {
                    continue;
                }
                let written = &mut buffers[u.id.index()];
                for (range, set) in &u.segments {
                    if !set.is_write() && !covered(written, range) {
                        return Err(GraphError::ReadBeforeWrite {
                            pass: pass.clone(),
                            resource: self.buffers[u.id.index()].0.clone(),
                        });
                    }
                    if set.is_write() {
                        written.push(range.clone());
                    }
                }
            }
        }
        Ok(())
    }

    /// The transients the passes use, with their lifetimes and the usage their accesses need
    /// (transients no pass uses are left out: nothing needs creating for them). Checks every
    /// declaration first.
    pub fn transients(&self) -> Result<Vec<TransientUse>> {
        Ok(self.transients_of(&self.resolve()?))
    }

    /// The transients of resolved declarations (see [`Graph::transients`]).
    fn transients_of(&self, resolved: &[Resolved]) -> Vec<TransientUse> {
        let mut uses: Vec<TransientUse> = Vec::new();
        let mut note = |resource: Resource, name: &str, pass: usize, kind: TransientKind| match uses
            .iter_mut()
            .find(|u| u.resource == resource)
        {
            Some(u) => {
                u.last_pass = pass as u32;
                u.kind = match (u.kind, kind) {
                    (
                        TransientKind::Image { image, usage },
                        TransientKind::Image { usage: more, .. },
                    ) => TransientKind::Image {
                        image,
                        usage: usage | more,
                    },
                    (
                        TransientKind::Buffer { size, usage },
                        TransientKind::Buffer { usage: more, .. },
                    ) => TransientKind::Buffer {
                        size,
                        usage: usage | more,
                    },
                    (kind, _) => kind,
                };
            }
            None => uses.push(TransientUse {
                resource,
                name: name.to_owned(),
                first_pass: pass as u32,
                last_pass: pass as u32,
                kind,
            }),
        };
        for (p, r) in resolved.iter().enumerate() {
            for u in &r.images {
                let (name, ImageNode::Transient(image)) = &self.images[u.id.index()] else {
                    continue;
                };
                let usage = u
                    .sets
                    .iter()
                    .flatten()
                    .flat_map(|s| s.iter())
                    .fold(vk::ImageUsageFlags::empty(), |acc, a| acc | image_usage(a));
                note(
                    Resource::Image(u.id),
                    name,
                    p,
                    TransientKind::Image {
                        image: *image,
                        usage,
                    },
                );
            }
            for u in &r.buffers {
                let (name, BufferNode::Transient { size }) = &self.buffers[u.id.index()] else {
                    continue;
                };
                let usage = u
                    .segments
                    .iter()
                    .flat_map(|(_, s)| s.iter())
                    .fold(vk::BufferUsageFlags::empty(), |acc, a| {
                        acc | buffer_usage(a)
                    });
                note(
                    Resource::Buffer(u.id),
                    name,
                    p,
                    TransientKind::Buffer { size: *size, usage },
                );
            }
        }
        uses.sort_by_key(|u| u.resource);
        uses
    }

    /// Plans the frame. `bindings` gives the handles placed for the transients;
    /// `shares_bytes(a, b)` says whether transients `a` and `b` were placed over common bytes
    /// (`Placement::shares_bytes`; `|a, b| a == b` without aliasing).
    pub fn plan(
        &self,
        bindings: &Bindings,
        shares_bytes: impl Fn(Resource, Resource) -> bool,
    ) -> Result<Plan> {
        let resolved = self.resolve()?;
        let transients = self.transients_of(&resolved);
        let count = self.passes.len();
        let mut before: Vec<BarrierBatch> = (0..count).map(|_| BarrierBatch::new()).collect();
        let mut after: Vec<BarrierBatch> = (0..count).map(|_| BarrierBatch::new()).collect();
        let mut waits: Vec<Vec<usize>> = vec![Vec::new(); count];

        // The last access on `family` of every part of a transient (a subresource, a byte
        // range): what a take-over of its bytes on that family's queue must wait for. A part
        // written and never read after is last accessed by the write, whatever later passes did
        // to the rest. Accesses on other families are waited for through semaphores (and their
        // stages may not even exist on this queue).
        let last_sets = |resource: Resource, family: u32| -> Vec<Access> {
            let mut accesses: Vec<Access> = Vec::new();
            let mut add = |set: AccessSet| {
                for a in set.iter() {
                    if !accesses.contains(&a) {
                        accesses.push(a);
                    }
                }
            };
            match resource {
                Resource::Image(id) => {
                    let (levels, layers) = image_extent(self, id);
                    let mut seen = vec![false; (levels * layers) as usize];
                    for (_, r) in resolved
                        .iter()
                        .enumerate()
                        .rev()
                        .filter(|(q, _)| self.passes[*q].queue_family == family)
                    {
                        for u in r.images.iter().filter(|u| u.id == id) {
                            for (s, set) in u.sets.iter().enumerate() {
                                if let (Some(set), false) = (set, seen[s]) {
                                    add(*set);
                                    seen[s] = true;
                                }
                            }
                        }
                    }
                }
                Resource::Buffer(id) => {
                    let mut seen: Vec<Range<u64>> = Vec::new();
                    for (_, r) in resolved
                        .iter()
                        .enumerate()
                        .rev()
                        .filter(|(q, _)| self.passes[*q].queue_family == family)
                    {
                        for u in r.buffers.iter().filter(|u| u.id == id) {
                            for (bytes, set) in &u.segments {
                                if !covered(&seen, bytes) {
                                    add(*set);
                                }
                            }
                            seen.extend(u.segments.iter().map(|(b, _)| b.clone()));
                        }
                    }
                }
            }
            accesses
        };
        let users_of = |resource: Resource| -> Vec<usize> {
            resolved
                .iter()
                .enumerate()
                .filter(|(_, r)| match resource {
                    Resource::Image(id) => r.images.iter().any(|i| i.id == id),
                    Resource::Buffer(id) => r.buffers.iter().any(|b| b.id == id),
                })
                .map(|(p, _)| p)
                .collect()
        };
        // What a transient's first use waits for: the last accesses of itself and of every
        // transient sharing its bytes, and (across queues) the passes that used those earlier in
        // the frame.
        let take_over = |resource: Resource, pass: usize| -> (Vec<Access>, Vec<usize>) {
            let mut previous: Vec<Access> = Vec::new();
            let mut edges: Vec<usize> = Vec::new();
            for u in transients
                .iter()
                .filter(|u| u.resource == resource || shares_bytes(u.resource, resource))
            {
                for a in last_sets(u.resource, self.passes[pass].queue_family) {
                    if !previous.contains(&a) {
                        previous.push(a);
                    }
                }
                for q in users_of(u.resource) {
                    if q < pass && self.passes[q].queue_family != self.passes[pass].queue_family {
                        edges.push(q);
                    }
                }
            }
            (previous, edges)
        };

        // Images.
        let mut final_states: Vec<(Resource, ResourceState)> = Vec::new();
        for (i, (name, node)) in self.images.iter().enumerate() {
            let id = ImageId(i as u32);
            let (levels, layers) = image_extent(self, id);
            let (raw, aspect, initial) = match node {
                ImageNode::Transient(t) => {
                    let used = transients.iter().any(|u| u.resource == Resource::Image(id));
                    match bindings.image_of(id) {
                        Some(raw) => (raw, t.aspect(), None),
                        None if used => {
                            return Err(GraphError::Unbound {
                                resource: name.clone(),
                            })
                        }
                        None => continue,
                    }
                }
                ImageNode::Imported { target, state } => (
                    target.raw(),
                    super::aspect_of(target.format()),
                    Some(*state),
                ),
            };
            let owned = initial.is_none_or(|s| s.queue_family != vk::QUEUE_FAMILY_IGNORED);
            let mut tracks = vec![
                Track {
                    state: initial,
                    users: Vec::new(),
                };
                (levels * layers) as usize
            ];
            for (p, r) in resolved.iter().enumerate() {
                let Some(u) = r.images.iter().find(|u| u.id == id) else {
                    continue;
                };
                let queue = self.passes[p].queue_family;
                // Subresources grouped by what they need, then recorded as ranges.
                let mut groups: Vec<(Op, Vec<(u32, u32)>)> = Vec::new();
                for (s, set) in u.sets.iter().enumerate() {
                    let Some(set) = *set else { continue };
                    let track = &mut tracks[s];
                    let to = state_on(owned, set, queue);
                    let op = match track.state {
                        None => {
                            let (previous, edges) = take_over(Resource::Image(id), p);
                            Op::TakeOver {
                                previous,
                                edges,
                                to,
                            }
                        }
                        Some(from) => transition(self, &track.users, from, to, p, |f, t| {
                            f.transfers_ownership_to(t) || image_masks(f, t).is_some()
                        }),
                    };
                    let (level, layer) = (s as u32 / layers, s as u32 % layers);
                    match groups.iter_mut().find(|(o, _)| *o == op) {
                        Some((_, subs)) => subs.push((level, layer)),
                        None => groups.push((op.clone(), vec![(level, layer)])),
                    }
                    if track.state == Some(to) {
                        track.users.push(p);
                    } else {
                        track.state = Some(to);
                        track.users = vec![p];
                    }
                }
                for (op, subs) in groups {
                    for range in ranges_covering(aspect, &subs) {
                        op.record_image(raw, range, p, &mut before, &mut after, &mut waits);
                    }
                }
            }
            if matches!(node, ImageNode::Imported { .. }) {
                let leave = self
                    .leave_images
                    .iter()
                    .rev()
                    .find(|(i, _)| *i == id)
                    .map(|&(_, s)| s);
                let mut groups: Vec<LeaveGroup> = Vec::new();
                // Subresources no pass used move after the image's last use, on that queue
                // (where they are owned there, or unowned).
                let image_last = tracks.iter().flat_map(|t| t.users.iter()).max().copied();
                for (s, track) in tracks.iter_mut().enumerate() {
                    let (Some(want), Some(from)) = (leave, track.state) else {
                        continue;
                    };
                    // No pass used the image: it is left where it was declared.
                    let Some((last, to, op)) =
                        self.leave(track, image_last, from, want, owned, |f, t| {
                            image_masks(f, t).is_some()
                        })
                    else {
                        continue;
                    };
                    let (level, layer) = (s as u32 / layers, s as u32 % layers);
                    match groups.iter_mut().find(|(o, l, _)| *o == op && *l == last) {
                        Some((_, _, subs)) => subs.push((level, layer)),
                        None => groups.push((op, last, vec![(level, layer)])),
                    }
                    track.state = Some(to);
                }
                for (op, last, subs) in groups {
                    for range in ranges_covering(aspect, &subs) {
                        op.record_image(raw, range, last, &mut before, &mut after, &mut waits);
                    }
                }
                // One final state per image: the state of its first subresource (the planner
                // leaves every subresource of an image asked to be left somewhere in that state).
                if let Some(state) = tracks.first().and_then(|t| t.state) {
                    final_states.push((Resource::Image(id), state));
                }
            }
        }

        // Buffers.
        for (b, (name, node)) in self.buffers.iter().enumerate() {
            let id = BufferId(b as u32);
            let size = buffer_size(self, id);
            let (raw, initial) = match node {
                BufferNode::Transient { .. } => {
                    let used = transients
                        .iter()
                        .any(|u| u.resource == Resource::Buffer(id));
                    match bindings.buffer_of(id) {
                        Some(raw) => (raw, None),
                        None if used => {
                            return Err(GraphError::Unbound {
                                resource: name.clone(),
                            })
                        }
                        None => continue,
                    }
                }
                BufferNode::Imported { target, state } => (target.raw(), Some(*state)),
            };
            let owned = initial.is_none_or(|s| s.queue_family != vk::QUEUE_FAMILY_IGNORED);
            let mut intervals: Vec<(Range<u64>, Track)> = vec![(
                0..size,
                Track {
                    state: initial,
                    users: Vec::new(),
                },
            )];
            for (p, r) in resolved.iter().enumerate() {
                let Some(u) = r.buffers.iter().find(|u| u.id == id) else {
                    continue;
                };
                let queue = self.passes[p].queue_family;
                for (range, set) in &u.segments {
                    split_at(&mut intervals, range.start);
                    split_at(&mut intervals, range.end);
                    let to = state_on(owned, *set, queue);
                    let mut pending: Option<(Op, Range<u64>)> = None;
                    for (bytes, track) in intervals
                        .iter_mut()
                        .filter(|(bytes, _)| bytes.start >= range.start && bytes.end <= range.end)
                    {
                        let op = match track.state {
                            None => {
                                let (previous, edges) = take_over(Resource::Buffer(id), p);
                                Op::TakeOver {
                                    previous,
                                    edges,
                                    to,
                                }
                            }
                            Some(from) => transition(self, &track.users, from, to, p, |f, t| {
                                f.transfers_ownership_to(t) || buffer_masks(f, t).is_some()
                            }),
                        };
                        pending = match pending.take() {
                            Some((o, r)) if o == op && r.end == bytes.start => {
                                Some((o, r.start..bytes.end))
                            }
                            Some((o, r)) => {
                                o.record_buffer(raw, r, p, &mut before, &mut after, &mut waits);
                                Some((op, bytes.clone()))
                            }
                            None => Some((op, bytes.clone())),
                        };
                        if track.state == Some(to) {
                            track.users.push(p);
                        } else {
                            track.state = Some(to);
                            track.users = vec![p];
                        }
                    }
                    if let Some((o, r)) = pending {
                        o.record_buffer(raw, r, p, &mut before, &mut after, &mut waits);
                    }
                }
                merge_equal(&mut intervals);
            }
            if matches!(node, BufferNode::Imported { .. }) {
                let leave = self
                    .leave_buffers
                    .iter()
                    .rev()
                    .find(|(i, _)| *i == id)
                    .map(|&(_, s)| s);
                let buffer_last = intervals
                    .iter()
                    .flat_map(|(_, t)| t.users.iter())
                    .max()
                    .copied();
                for (bytes, track) in &mut intervals {
                    let (Some(want), Some(from)) = (leave, track.state) else {
                        continue;
                    };
                    let Some((last, to, op)) =
                        self.leave(track, buffer_last, from, want, owned, |f, t| {
                            buffer_masks(f, t).is_some()
                        })
                    else {
                        continue;
                    };
                    op.record_buffer(
                        raw,
                        bytes.clone(),
                        last,
                        &mut before,
                        &mut after,
                        &mut waits,
                    );
                    track.state = Some(to);
                }
                if let Some(state) = intervals.first().and_then(|(_, t)| t.state) {
                    final_states.push((Resource::Buffer(id), state));
                }
            }
        }

        let passes = before
            .into_iter()
            .zip(after)
            .zip(waits)
            .enumerate()
            .map(|(p, ((before, after), mut waits))| {
                waits.sort_unstable();
                waits.dedup();
                PassPlan {
                    queue_family: self.passes[p].queue_family,
                    before,
                    after,
                    waits,
                }
            })
            .collect();
        Ok(Plan {
            passes,
            final_states,
        })
    }
}

impl Graph {
    /// What leaving a part of an import in `want` takes after its last use (or, for a part no
    /// pass used, after the resource's last use `fallback`, on that queue where it is owned
    /// there or unowned): the pass, the final state and the op; `None` where it stays as it is.
    fn leave(
        &self,
        track: &Track,
        fallback: Option<usize>,
        from: ResourceState,
        want: ResourceState,
        owned: bool,
        needs_barrier: impl Fn(ResourceState, ResourceState) -> bool,
    ) -> Option<(usize, ResourceState, Op)> {
        let last = track.users.iter().max().copied().or(fallback)?;
        let family = self.passes[last].queue_family;
        if from.queue_family != vk::QUEUE_FAMILY_IGNORED && from.queue_family != family {
            return None;
        }
        let to = if want.queue_family == vk::QUEUE_FAMILY_IGNORED && owned {
            want.on_queue(from.queue_family)
        } else {
            want
        };
        let op = if from.transfers_ownership_to(to) {
            Op::Release { from, to }
        } else if needs_barrier(from, to) {
            Op::After { from, to }
        } else {
            Op::Nothing
        };
        Some((last, to, op))
    }
}

/// Subresources ((level, layer) pairs) that need one op, recorded after pass `.1`.
type LeaveGroup = (Op, usize, Vec<(u32, u32)>);

/// What one subresource or byte range needs before (or after) a pass.
#[derive(Clone, Debug, PartialEq)]
enum Op {
    /// Nothing: consecutive uses in one state on one queue.
    Nothing,
    /// A barrier on the pass's queue, after semaphore waits on `edges` (passes on other queues
    /// that used it in `from` without ownership: an unowned import).
    Local {
        from: ResourceState,
        to: ResourceState,
        edges: Vec<usize>,
    },
    /// The acquire half of an import another family released before the frame.
    Acquire {
        from: ResourceState,
        to: ResourceState,
    },
    /// A release after pass `last` on the old family, the acquire before this pass, and the
    /// edge between them.
    Transfer {
        from: ResourceState,
        to: ResourceState,
        last: usize,
    },
    /// A transient's first use: contents discarded, after the last accesses of everything that
    /// used its bytes.
    TakeOver {
        previous: Vec<Access>,
        edges: Vec<usize>,
        to: ResourceState,
    },
    /// After the last use: the transition to a final state.
    After {
        from: ResourceState,
        to: ResourceState,
    },
    /// After the last use: the release half of handing an import to another family.
    Release {
        from: ResourceState,
        to: ResourceState,
    },
}

/// What a use in `to` after uses in `from` by `users` needs at pass `pass`.
fn transition(
    graph: &Graph,
    users: &[usize],
    from: ResourceState,
    to: ResourceState,
    pass: usize,
    needs_barrier: impl Fn(ResourceState, ResourceState) -> bool,
) -> Op {
    let queue = graph.passes[pass].queue_family;
    // Contents that may be discarded need no ownership transfer (Vulkan spec, "Queue Family
    // Ownership Transfer"): the resource is simply used on the new family.
    let from = if from.accesses.is_nothing() {
        from.on_queue(to.queue_family)
    } else {
        from
    };
    let elsewhere: Vec<usize> = users
        .iter()
        .copied()
        .filter(|&u| graph.passes[u].queue_family != queue)
        .collect();
    if from.transfers_ownership_to(to) {
        return match users.iter().copied().max() {
            Some(last) => Op::Transfer { from, to, last },
            // An import another family released before the frame: only the acquire is ours.
            None => Op::Acquire { from, to },
        };
    }
    // Reads in one layout on two queues need no order between them; anything else does.
    let hazard = from.accesses.is_write()
        || to.accesses.is_write()
        || from.accesses.layout() != to.accesses.layout();
    let edges = if hazard { elsewhere } else { Vec::new() };
    if !needs_barrier(from, to) && edges.is_empty() {
        return Op::Nothing;
    }
    Op::Local { from, to, edges }
}

impl Op {
    fn record_image(
        &self,
        raw: vk::Image,
        range: vk::ImageSubresourceRange,
        pass: usize,
        before: &mut [BarrierBatch],
        after: &mut [BarrierBatch],
        waits: &mut [Vec<usize>],
    ) {
        match self {
            Op::Nothing => {}
            Op::Local { from, to, edges } => {
                before[pass].image_local(raw, range, *from, *to);
                waits[pass].extend(edges);
            }
            Op::Acquire { from, to } => before[pass].acquire_image(raw, range, *from, *to),
            Op::Transfer { from, to, last } => {
                after[*last].image(raw, range, *from, *to, &mut before[pass]);
                waits[pass].push(*last);
            }
            Op::TakeOver {
                previous,
                edges,
                to,
            } => {
                before[pass].image_over_aliases(raw, range, previous.iter().copied(), *to);
                waits[pass].extend(edges);
            }
            Op::After { from, to } => after[pass].image_local(raw, range, *from, *to),
            Op::Release { from, to } => {
                let mut dropped = BarrierBatch::new();
                after[pass].image(raw, range, *from, *to, &mut dropped);
            }
        }
    }

    fn record_buffer(
        &self,
        raw: vk::Buffer,
        bytes: Range<u64>,
        pass: usize,
        before: &mut [BarrierBatch],
        after: &mut [BarrierBatch],
        waits: &mut [Vec<usize>],
    ) {
        let (offset, size) = (bytes.start, bytes.end - bytes.start);
        match self {
            Op::Nothing => {}
            Op::Local { from, to, edges } => {
                before[pass].buffer_local(raw, offset, size, *from, *to);
                waits[pass].extend(edges);
            }
            Op::Acquire { from, to } => before[pass].acquire_buffer(raw, offset, size, *from, *to),
            Op::Transfer { from, to, last } => {
                after[*last].buffer(raw, offset, size, *from, *to, &mut before[pass]);
                waits[pass].push(*last);
            }
            Op::TakeOver {
                previous,
                edges,
                to,
            } => {
                before[pass].buffer_over_aliases(raw, offset, size, previous.iter().copied(), *to);
                waits[pass].extend(edges);
            }
            Op::After { from, to } => after[pass].buffer_local(raw, offset, size, *from, *to),
            Op::Release { from, to } => {
                let mut dropped = BarrierBatch::new();
                after[pass].buffer(raw, offset, size, *from, *to, &mut dropped);
            }
        }
    }
}

/// `segments` (disjoint, sorted) with `set` added over `bytes`.
fn merge_segments(
    segments: &[(Range<u64>, AccessSet)],
    bytes: Range<u64>,
    set: AccessSet,
) -> Vec<(Range<u64>, AccessSet)> {
    let mut cuts: Vec<u64> = segments
        .iter()
        .flat_map(|(r, _)| [r.start, r.end])
        .chain([bytes.start, bytes.end])
        .collect();
    cuts.sort_unstable();
    cuts.dedup();
    let mut out: Vec<(Range<u64>, AccessSet)> = Vec::new();
    for pair in cuts.windows(2) {
        let piece = pair[0]..pair[1];
        let old = segments
            .iter()
            .find(|(r, _)| r.start <= piece.start && piece.end <= r.end)
            .map(|(_, s)| *s);
        let new = (bytes.start <= piece.start && piece.end <= bytes.end).then_some(set);
        let union = match (old, new) {
            (Some(a), Some(b)) => Some(b.iter().fold(a, AccessSet::with)),
            (a, b) => a.or(b),
        };
        if let Some(s) = union {
            match out.last_mut() {
                Some((r, last)) if *last == s && r.end == piece.start => r.end = piece.end,
                _ => out.push((piece, s)),
            }
        }
    }
    out
}

/// Whether `ranges` together cover all of `bytes`.
fn covered(ranges: &[Range<u64>], bytes: &Range<u64>) -> bool {
    let mut at = bytes.start;
    loop {
        if at >= bytes.end {
            return true;
        }
        match ranges
            .iter()
            .filter(|r| r.start <= at && at < r.end)
            .map(|r| r.end)
            .max()
        {
            Some(end) => at = end,
            None => return false,
        }
    }
}

/// Splits the interval holding `at` in two there.
fn split_at(intervals: &mut Vec<(Range<u64>, Track)>, at: u64) {
    if let Some(i) = intervals
        .iter()
        .position(|(r, _)| r.start < at && at < r.end)
    {
        let (range, track) = intervals[i].clone();
        intervals[i] = (range.start..at, track.clone());
        intervals.insert(i + 1, (at..range.end, track));
    }
}

/// Joins neighbouring intervals that stand in the same state with the same users.
fn merge_equal(intervals: &mut Vec<(Range<u64>, Track)>) {
    let mut out: Vec<(Range<u64>, Track)> = Vec::with_capacity(intervals.len());
    for (range, track) in intervals.drain(..) {
        match out.last_mut() {
            Some((r, t)) if *t == track && r.end == range.start => r.end = range.end,
            _ => out.push((range, track)),
        }
    }
    *intervals = out;
}
