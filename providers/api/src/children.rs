//! The process groups the runtime started, so that none outlives the
//! process that started them.
//!
//! Every command a provider runs (`exec.run`) runs in a process group of
//! its own, led by its shell. While the shell has not been reaped, its
//! group is in one registry for the whole process. A caller that is about
//! to exit — the command line on a second Ctrl-C, on `SIGTERM` or `SIGHUP`,
//! and on every way out of `main` — calls [`terminate_all`]: each group
//! gets `SIGTERM`, then, after a short grace, `SIGKILL`. From then on a
//! group registered late (a command spawned while the process is closing)
//! is killed at once.
//!
//! A group's id is its leader's process id. The id cannot be reused while
//! the leader is not reaped or any process of the group runs, so
//! signalling a registered group never reaches a stranger; once
//! [`terminate_all`] has signalled a group, it keeps signalling it while a
//! process of it is left, reaped leader or not (its id stays taken), for at
//! most the grace.
//!
//! What this registry cannot do — act after the process died by `SIGKILL`
//! — the guard of each command does (`providers/exec/src/lib.rs`, `GUARD`): it
//! kills its group when the pipe from this process closes.

use std::collections::BTreeSet;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use rustix::process::{Pid, Signal, kill_process_group, test_kill_process_group};

/// How long [`terminate_all`] waits between `SIGTERM` and `SIGKILL` when
/// the caller has no reason to choose otherwise.
pub const TERMINATE_GRACE: Duration = Duration::from_millis(1500);

/// How often [`terminate_all`] looks whether the groups are gone.
const POLL: Duration = Duration::from_millis(20);

/// The registry: the groups whose leader runs, and whether the process is
/// closing.
#[derive(Debug, Default)]
struct Registry {
    /// Raw process ids of the groups' leaders.
    groups: BTreeSet<i32>,
    /// [`terminate_all`] ran: a group registered now is killed at once.
    closing: bool,
}

static REGISTRY: Mutex<Registry> = Mutex::new(Registry { groups: BTreeSet::new(), closing: false });

/// The registry, even after a thread panicked while holding it (a set of
/// numbers cannot be left half-updated).
fn registry() -> MutexGuard<'static, Registry> {
    REGISTRY.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The process group of a running command: registered while its leader
/// runs, killed when dropped (a cancelled or abandoned operation) unless
/// released once the leader has been reaped.
#[derive(Debug)]
pub struct ProcessGroup {
    leader: Option<Pid>,
}

impl ProcessGroup {
    /// The group led by a child just spawned with its own process group,
    /// registered. When the process is already closing, the group is killed
    /// at once (and the value holds nothing).
    pub fn register(child_id: Option<u32>) -> ProcessGroup {
        // Never 1 (which `kill` would read as "every process"); the child
        // of a process cannot be `init` anyway.
        let leader = child_id
            .and_then(|id| i32::try_from(id).ok())
            .filter(|id| *id > 1)
            .and_then(Pid::from_raw);
        let Some(leader) = leader else { return ProcessGroup { leader: None } };
        let mut registry = registry();
        if registry.closing {
            drop(registry);
            let _ = kill_process_group(leader, Signal::KILL);
            return ProcessGroup { leader: None };
        }
        registry.groups.insert(leader.as_raw_nonzero().get());
        ProcessGroup { leader: Some(leader) }
    }

    /// Sends `signal` to every process of the group (if it still runs).
    pub fn signal(&self, signal: Signal) {
        if let Some(leader) = self.leader {
            // The group may be gone already: nothing left to signal.
            let _ = kill_process_group(leader, signal);
        }
    }

    /// Kills every process of the group and forgets it.
    pub fn kill(&mut self) {
        self.signal(Signal::KILL);
        self.release();
    }

    /// Forgets the group: its leader has been reaped, so its id is no longer
    /// ours to signal. What it left running in the background is its own
    /// business.
    pub fn release(&mut self) {
        if let Some(leader) = self.leader.take() {
            registry().groups.remove(&leader.as_raw_nonzero().get());
        }
    }
}

impl Drop for ProcessGroup {
    fn drop(&mut self) {
        self.kill();
    }
}

/// How many process groups are registered: started and not reaped yet.
pub fn running() -> usize {
    registry().groups.len()
}

/// Ends every registered process group: `SIGTERM`, then `SIGKILL` for the
/// groups still there after `grace` (or at once when `grace` is zero).
/// Waits less when every group ends sooner. Every group registered
/// afterwards is killed at once.
/// Blocks the calling thread; returns how many groups were signalled.
pub fn terminate_all(grace: Duration) -> usize {
    let groups: Vec<i32> = {
        let mut registry = registry();
        registry.closing = true;
        registry.groups.iter().copied().collect()
    };
    if groups.is_empty() {
        return 0;
    }
    let signal_each = |signal: Signal, groups: &[i32]| {
        for pid in groups.iter().filter_map(|raw| Pid::from_raw(*raw)) {
            let _ = kill_process_group(pid, signal);
        }
    };
    signal_each(Signal::TERM, &groups);
    let deadline = Instant::now() + grace;
    loop {
        // Still there: a process is in the group. Its leader may have
        // ended (and been reaped by the task that ran it) while a process
        // that ignores `SIGTERM` stays; a leader that exited but is not
        // reaped yet counts as there, and `SIGKILL` is harmless to it.
        let left: Vec<i32> = groups
            .iter()
            .copied()
            .filter(|raw| {
                Pid::from_raw(*raw).is_some_and(|pid| test_kill_process_group(pid).is_ok())
            })
            .collect();
        if left.is_empty() {
            break;
        }
        if Instant::now() >= deadline {
            signal_each(Signal::KILL, &left);
            break;
        }
        std::thread::sleep(POLL);
    }
    groups.len()
}
