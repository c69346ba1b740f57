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
//! — its watcher does: one small shell per process ([`WATCHER`]), started
//! with the first group, that this process tells of each group it
//! registers and releases over a pipe only this process writes to. When
//! this process is gone, however it ended, the pipe closes and the watcher
//! kills every group it was told of and not told to forget. A command that
//! must not run unwatched waits for a word from this process before it
//! starts (`providers/exec/src/lib.rs`, `GATE`), sent once its group is
//! registered here and so with the watcher: no window is left in which a
//! `kill -9` of this process would leave it running.

use std::collections::BTreeSet;
use std::io::Write as _;
use std::os::unix::process::CommandExt as _;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use rustix::process::{Pid, Signal, kill_process_group, test_kill_process_group};

/// How long [`terminate_all`] waits between `SIGTERM` and `SIGKILL` when
/// the caller has no reason to choose otherwise.
pub const TERMINATE_GRACE: Duration = Duration::from_millis(1500);

/// How often [`terminate_all`] looks whether the groups are gone.
const POLL: Duration = Duration::from_millis(20);

/// The watcher, run as `/bin/sh -c WATCHER` in a process group of its own
/// (a Ctrl-C at the terminal does not reach it) with its standard input on
/// a pipe from this process. Each line it reads is `+ GROUP` (a group to
/// kill when this process is gone) or `- GROUP` (its leader was reaped:
/// forget it, its id may be reused). At the pipe's end of file it kills
/// the groups it still holds, and ends.
pub const WATCHER: &str = r#"trap '' HUP INT QUIT TERM
groups=' '
while read -r change group; do
  case $change$groups in
    "+"*) groups="$groups$group " ;;
    "-"*" $group "*) groups="${groups%% $group *} ${groups#* $group }" ;;
  esac
done
for group in $groups; do kill -s KILL -- "-$group"; done 2>/dev/null
"#;

/// The registry: the groups whose leader runs, whether the process is
/// closing, and the watcher that holds the same groups.
#[derive(Debug, Default)]
struct Registry {
    /// Raw process ids of the groups' leaders.
    groups: BTreeSet<i32>,
    /// [`terminate_all`] ran: a group registered now is killed at once.
    closing: bool,
    /// Started with the first group registered.
    watcher: Option<Watcher>,
}

/// The running watcher ([`WATCHER`]) and the pipe to it.
#[derive(Debug)]
struct Watcher {
    process: Child,
    input: ChildStdin,
}

impl Watcher {
    fn start() -> std::io::Result<Watcher> {
        let mut process = Command::new("/bin/sh")
            .arg("-c")
            .arg(WATCHER)
            .arg("orch-watcher")
            .current_dir("/")
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .process_group(0)
            .spawn()?;
        let input = process.stdin.take().expect("a piped standard input");
        Ok(Watcher { process, input })
    }
}

impl Registry {
    /// Tells the watcher of a change to `groups` (already made), starting
    /// it first if it is not running. A watcher that is gone (killed by
    /// someone) is replaced, and the new one is told of every group.
    fn tell(&mut self, change: char, group: i32) -> std::io::Result<()> {
        // One write per line: the watcher wakes once for it.
        if let Some(watcher) = &mut self.watcher
            && watcher.input.write_all(watcher_line(change, group).as_bytes()).is_ok()
        {
            return Ok(());
        }
        if let Some(mut gone) = self.watcher.take() {
            // Reaped, if it has ended, so that it is not left a zombie.
            let _ = gone.process.try_wait();
        }
        let mut watcher = Watcher::start()?;
        let lines: String = self.groups.iter().map(|&group| watcher_line('+', group)).collect();
        watcher.input.write_all(lines.as_bytes())?;
        self.watcher = Some(watcher);
        Ok(())
    }
}

/// A line of [`WATCHER`]'s input: `+ GROUP` or `- GROUP`.
fn watcher_line(change: char, group: i32) -> String {
    format!("{change} {group}\n")
}

static REGISTRY: Mutex<Registry> =
    Mutex::new(Registry { groups: BTreeSet::new(), closing: false, watcher: None });

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
    /// registered, and known to the watcher when this returns. When the
    /// process is already closing, the group is killed at once (and the
    /// value holds nothing). When the watcher cannot be started, the group
    /// is killed and the error returned: it would outlive a `kill -9` of
    /// this process.
    pub fn register(child_id: Option<u32>) -> std::io::Result<ProcessGroup> {
        // Never 1 (which `kill` would read as "every process"); the child
        // of a process cannot be `init` anyway.
        let leader = child_id
            .and_then(|id| i32::try_from(id).ok())
            .filter(|id| *id > 1)
            .and_then(Pid::from_raw);
        let Some(leader) = leader else { return Ok(ProcessGroup { leader: None }) };
        let mut registry = registry();
        if registry.closing {
            drop(registry);
            let _ = kill_process_group(leader, Signal::KILL);
            return Ok(ProcessGroup { leader: None });
        }
        let raw = leader.as_raw_nonzero().get();
        registry.groups.insert(raw);
        if let Err(error) = registry.tell('+', raw) {
            registry.groups.remove(&raw);
            drop(registry);
            let _ = kill_process_group(leader, Signal::KILL);
            return Err(error);
        }
        Ok(ProcessGroup { leader: Some(leader) })
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
            let raw = leader.as_raw_nonzero().get();
            let mut registry = registry();
            registry.groups.remove(&raw);
            // A watcher that had gone is replaced by one told of the
            // groups left; if none can be started, there is none to tell.
            let _ = registry.tell('-', raw);
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

#[cfg(test)]
mod tests {
    use super::*;

    /// A `sleep` in a process group of its own, which it leads.
    fn sleeper() -> Child {
        Command::new("sleep")
            .arg("30")
            .stdin(Stdio::null())
            .process_group(0)
            .spawn()
            .expect("start sleep")
    }

    /// Whether the sleeper (the only process of its group) still runs; a
    /// killed one is reaped on the way, so that it is not a zombie.
    fn running(child: &mut Child) -> bool {
        matches!(child.try_wait(), Ok(None))
    }

    fn wait_until_gone(child: &mut Child) {
        let deadline = Instant::now() + Duration::from_secs(5);
        while running(child) {
            assert!(Instant::now() < deadline, "group {} still runs", child.id());
            std::thread::sleep(POLL);
        }
    }

    #[test]
    fn the_watcher_kills_the_groups_it_holds_at_end_of_file_and_forgets_released_ones() {
        let mut watcher = Watcher::start().expect("start the watcher");
        let (mut kept, mut released, mut other) = (sleeper(), sleeper(), sleeper());
        let lines = format!(
            "+ {}\n+ {}\n+ {}\n- {}\n",
            kept.id(),
            released.id(),
            other.id(),
            released.id()
        );
        watcher.input.write_all(lines.as_bytes()).expect("tell the watcher");
        std::thread::sleep(Duration::from_millis(100));
        assert!(running(&mut kept) && running(&mut released) && running(&mut other));
        // The end of file: what this process's death looks like to it.
        drop(watcher.input);
        let ended = watcher.process.wait().expect("the watcher ends");
        assert!(ended.success(), "{ended}");
        wait_until_gone(&mut kept);
        wait_until_gone(&mut other);
        assert!(running(&mut released), "a released group is not the watcher's to kill");
        let _ = released.kill();
        let _ = released.wait();
    }

    #[test]
    fn a_watcher_that_was_killed_is_replaced_and_told_of_every_group() {
        let mut first = sleeper();
        let first_group = ProcessGroup::register(Some(first.id())).expect("watched");
        let watcher_pid = {
            let registry = registry();
            registry.watcher.as_ref().expect("a watcher").process.id()
        };
        let killed = Command::new("kill").arg("-9").arg(watcher_pid.to_string()).status();
        assert!(killed.expect("run kill").success());
        std::thread::sleep(Duration::from_millis(100));
        let mut second = sleeper();
        let second_group = ProcessGroup::register(Some(second.id())).expect("watched again");
        let mut replacement = registry().watcher.take().expect("a new watcher");
        assert_ne!(replacement.process.id(), watcher_pid);
        // This process's death, as the new watcher sees it: both groups go.
        drop(replacement.input);
        replacement.process.wait().expect("the watcher ends");
        wait_until_gone(&mut first);
        wait_until_gone(&mut second);
        // Their leaders are reaped: their ids are no longer ours to signal,
        // as dropping them would.
        std::mem::forget((first_group, second_group));
    }
}
