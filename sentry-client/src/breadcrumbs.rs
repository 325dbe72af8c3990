//! A persistent (immutable, structurally shared) breadcrumb ring.
//!
//! Scopes are snapshotted on every capture, and a scope holding 100 breadcrumbs must not
//! copy them each time. [`BreadcrumbRing`] is a singly linked list of `Arc` nodes, newest
//! first: cloning it is one reference-count increment, pushing allocates one node and
//! copies nothing, and snapshots taken earlier keep seeing exactly what they saw.
//!
//! The ring keeps at most `max` entries *visible*; the list itself may grow to `2 * max`
//! nodes before it is compacted to the newest `max` (so the copy costs one breadcrumb per
//! push, amortized, and memory stays bounded).

use std::sync::Arc;

use crate::protocol::Breadcrumb;

struct Node {
    crumb: Breadcrumb,
    next: Option<Arc<Node>>,
}

impl Drop for Node {
    // Dropping a long chain recursively could exhaust the stack; unlink iteratively.
    fn drop(&mut self) {
        let mut next = self.next.take();
        while let Some(node) = next {
            match Arc::try_unwrap(node) {
                Ok(mut owned) => next = owned.next.take(),
                Err(_) => break,
            }
        }
    }
}

/// Breadcrumbs of a scope, newest first internally, oldest first when read.
#[derive(Clone, Default)]
pub(crate) struct BreadcrumbRing {
    head: Option<Arc<Node>>,
    /// Nodes in the chain (may exceed the visible maximum until compaction).
    len: usize,
}

impl BreadcrumbRing {
    /// Adds a breadcrumb, keeping at most `max` visible.
    pub(crate) fn push(&mut self, crumb: Breadcrumb, max: usize) {
        if max == 0 {
            self.head = None;
            self.len = 0;
            return;
        }
        self.head = Some(Arc::new(Node {
            crumb,
            next: self.head.take(),
        }));
        self.len += 1;
        if self.len > max.saturating_mul(2) {
            self.compact(max);
        }
    }

    fn compact(&mut self, max: usize) {
        let newest: Vec<Breadcrumb> = self.iter_newest_first().take(max).cloned().collect();
        let mut head = None;
        for crumb in newest.into_iter().rev() {
            head = Some(Arc::new(Node { crumb, next: head }));
        }
        self.len = max.min(self.len);
        self.head = head;
    }

    /// Removes every breadcrumb.
    pub(crate) fn clear(&mut self) {
        self.head = None;
        self.len = 0;
    }

    /// The number of breadcrumbs visible under `max`.
    pub(crate) fn len(&self, max: usize) -> usize {
        self.len.min(max)
    }

    fn iter_newest_first(&self) -> impl Iterator<Item = &Breadcrumb> {
        let mut cur = self.head.as_deref();
        std::iter::from_fn(move || {
            let node = cur?;
            cur = node.next.as_deref();
            Some(&node.crumb)
        })
    }

    /// The newest `max` breadcrumbs, oldest first.
    pub(crate) fn to_vec(&self, max: usize) -> Vec<Breadcrumb> {
        let mut out: Vec<Breadcrumb> = self.iter_newest_first().take(max).cloned().collect();
        out.reverse();
        out
    }
}

impl std::fmt::Debug for BreadcrumbRing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.iter_newest_first()).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn crumb(i: usize) -> Breadcrumb {
        Breadcrumb {
            message: Some(i.to_string()),
            ..Default::default()
        }
    }

    fn messages(v: &[Breadcrumb]) -> Vec<String> {
        v.iter().filter_map(|c| c.message.clone()).collect()
    }

    #[test]
    fn keeps_newest_in_order_and_bounds_memory() {
        let mut ring = BreadcrumbRing::default();
        for i in 0..1000 {
            ring.push(crumb(i), 3);
            assert!(ring.len <= 6, "chain stays bounded");
        }
        assert_eq!(messages(&ring.to_vec(3)), ["997", "998", "999"]);
        assert_eq!(ring.len(3), 3);
    }

    #[test]
    fn snapshots_are_unaffected_by_later_pushes() {
        let mut ring = BreadcrumbRing::default();
        ring.push(crumb(1), 2);
        let snapshot = ring.clone();
        ring.push(crumb(2), 2);
        ring.push(crumb(3), 2);
        ring.push(crumb(4), 2);
        ring.push(crumb(5), 2);
        assert_eq!(messages(&snapshot.to_vec(2)), ["1"]);
        assert_eq!(messages(&ring.to_vec(2)), ["4", "5"]);
        ring.clear();
        assert!(ring.to_vec(2).is_empty());
        assert_eq!(messages(&snapshot.to_vec(2)), ["1"]);
    }

    #[test]
    fn long_chains_drop_without_recursion() {
        let mut ring = BreadcrumbRing::default();
        for i in 0..200_000 {
            ring.push(crumb(i), 1_000_000);
        }
        drop(ring);
    }
}
