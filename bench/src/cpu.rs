//! CPU time by role, from `/proc` (Linux only; zero elsewhere): the app servers' threads, the
//! load generator's, the fake auth server's, and a child process (the Node anchor).
//!
//! The load generator shares the machine with the servers, so requests per second alone can
//! hide what a server costs: CPU time per request does not.

use std::collections::BTreeMap;

/// Which part of the benchmark a thread works for, from its name.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Role {
    /// The load generator (threads named `loadgen`, and the harness's main thread).
    LoadGenerator,
    /// The fake auth server (`nhost-auth-fake…`).
    AuthServer,
    /// Everything else in this process: the actix servers.
    App,
}

fn role_of(comm: &str) -> Role {
    if comm.starts_with("loadgen") || comm.starts_with("harness") {
        Role::LoadGenerator
    } else if comm.starts_with("nhost-auth-fake") {
        Role::AuthServer
    } else {
        Role::App
    }
}

/// Clock ticks per second (`getconf CLK_TCK`, 100 when unknown).
pub fn ticks_per_second() -> u64 {
    std::process::Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8_lossy(&o.stdout).trim().parse().ok())
        .unwrap_or(100)
}

/// `(comm, utime + stime)` of a `/proc/.../stat` line.
fn parse_stat(stat: &str) -> Option<(String, u64)> {
    let open = stat.find('(')?;
    let close = stat.rfind(')')?;
    let comm = stat.get(open + 1..close)?.to_owned();
    let rest: Vec<&str> = stat.get(close + 2..)?.split_whitespace().collect();
    // Fields 14 and 15 of stat(5) (utime, stime); `rest` starts at field 3.
    let utime: u64 = rest.get(11)?.parse().ok()?;
    let stime: u64 = rest.get(12)?.parse().ok()?;
    Some((comm, utime + stime))
}

/// CPU ticks used so far, by role, by the threads of this process.
pub fn own_ticks() -> BTreeMap<Role, u64> {
    let mut by_role = BTreeMap::new();
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else {
        return by_role;
    };
    for task in tasks.flatten() {
        let Ok(stat) = std::fs::read_to_string(task.path().join("stat")) else {
            continue;
        };
        if let Some((comm, ticks)) = parse_stat(&stat) {
            *by_role.entry(role_of(&comm)).or_insert(0) += ticks;
        }
    }
    by_role
}

/// CPU ticks used so far by process `pid` (all its threads; 0 when unknown).
pub fn process_ticks(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|s| parse_stat(&s))
        .map_or(0, |(_, ticks)| ticks)
}

/// CPU used between two snapshots, by role (ticks).
pub fn delta(before: &BTreeMap<Role, u64>, after: &BTreeMap<Role, u64>, role: Role) -> u64 {
    after
        .get(&role)
        .copied()
        .unwrap_or(0)
        .saturating_sub(before.get(&role).copied().unwrap_or(0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_stat_lines_with_spaces_in_the_name() {
        let line = "123 (actix-server wo) S 1 2 3 4 5 6 7 8 9 10 70 30 0 0 20 0";
        assert_eq!(parse_stat(line), Some(("actix-server wo".to_owned(), 100)));
        assert_eq!(role_of("loadgen"), Role::LoadGenerator);
        assert_eq!(role_of("nhost-auth-fake"), Role::AuthServer);
        assert_eq!(role_of("actix-rt|system"), Role::App);
    }
}
