//! Services listed dependencies first, as asgard creates them.

/// Indices of `deps` ordered so each comes after what it depends on,
/// otherwise in file order; Err holds a cycle. A service must not
/// depend on itself.
pub(super) fn dependency_order(deps: &[Vec<usize>]) -> Result<Vec<usize>, Vec<usize>> {
    let mut placed = vec![false; deps.len()];
    let mut order = Vec::with_capacity(deps.len());
    while order.len() < deps.len() {
        let next = (0..deps.len()).find(|&s| !placed[s] && deps[s].iter().all(|&d| placed[d]));
        match next {
            Some(s) => {
                placed[s] = true;
                order.push(s);
            }
            None => {
                // Every service left waits for another one left: walk
                // until a service comes round again.
                let mut path = vec![(0..deps.len()).find(|&s| !placed[s]).unwrap_or_default()];
                loop {
                    let here = path[path.len() - 1];
                    let Some(&d) = deps[here].iter().find(|&&d| !placed[d]) else {
                        return Err(path);
                    };
                    if let Some(start) = path.iter().position(|&p| p == d) {
                        let mut cycle = path.split_off(start);
                        cycle.push(d);
                        return Err(cycle);
                    }
                    path.push(d);
                }
            }
        }
    }
    Ok(order)
}
