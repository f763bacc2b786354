//! The processes the harness starts (Gatehouse nodes, the fakes) and what the kernel says
//! about them: CPU time (utime + stime from `/proc/<pid>/stat`) and memory (`VmRSS`, `VmHWM`).
//!
//! Every child is killed when its handle drops, and also when the driver itself dies: children
//! are forked from a thread that lives as long as the process, with a parent-death signal.

use std::fs;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use anyhow::{anyhow, Context};
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;

type SpawnRequest = (Command, mpsc::Sender<std::io::Result<std::process::Child>>);

/// The parent-death signal fires when the *thread* that forked the child exits, so every child
/// is forked by this one thread, which never exits.
fn spawner() -> &'static mpsc::Sender<SpawnRequest> {
    static SPAWNER: OnceLock<mpsc::Sender<SpawnRequest>> = OnceLock::new();
    SPAWNER.get_or_init(|| {
        let (tx, rx) = mpsc::channel::<SpawnRequest>();
        // The receiver lives in the thread; a Sender in a static is never dropped, so the
        // thread blocks in recv for the life of the process.
        std::thread::Builder::new()
            .name("bench-spawner".into())
            .spawn(move || {
                while let Ok((mut cmd, reply)) = rx.recv() {
                    let _ = reply.send(cmd.spawn());
                }
                loop {
                    std::thread::park();
                }
            })
            .expect("start the spawner thread");
        tx
    })
}

/// A running child process, killed (TERM, then KILL) when dropped.
pub struct Child {
    pub name: String,
    child: Option<std::process::Child>,
    pub log: PathBuf,
}

impl Child {
    /// Starts `program` with `args` and `envs` (on top of a cleared environment plus PATH, HOME
    /// and LANG), stdout and stderr appended to `log`.
    pub fn spawn(
        name: &str,
        program: &Path,
        args: &[&str],
        envs: &[(&str, String)],
        log: &Path,
        stdout_piped: bool,
    ) -> anyhow::Result<Self> {
        let file = fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(log)
            .with_context(|| format!("opening {}", log.display()))?;
        let mut cmd = Command::new(program);
        cmd.args(args).env_clear();
        for keep in ["PATH", "HOME", "LANG"] {
            if let Ok(v) = std::env::var(keep) {
                cmd.env(keep, v);
            }
        }
        for (k, v) in envs {
            cmd.env(k, v);
        }
        cmd.stdin(Stdio::null())
            .stderr(file.try_clone().context("log file")?);
        if stdout_piped {
            cmd.stdout(Stdio::piped());
        } else {
            cmd.stdout(file);
        }
        // SAFETY: prctl is async-signal-safe; it runs in the forked child before exec.
        unsafe {
            cmd.pre_exec(|| {
                nix::sys::prctl::set_pdeathsig(Signal::SIGTERM).map_err(std::io::Error::from)
            });
        }
        let (tx, rx) = mpsc::channel();
        spawner()
            .send((cmd, tx))
            .map_err(|_| anyhow!("the spawner thread is gone"))?;
        let child = rx
            .recv()
            .map_err(|_| anyhow!("the spawner thread is gone"))?
            .with_context(|| format!("starting {}", program.display()))?;
        Ok(Child {
            name: name.to_owned(),
            child: Some(child),
            log: log.to_owned(),
        })
    }

    pub fn pid(&self) -> u32 {
        self.child.as_ref().map_or(0, |c| c.id())
    }

    pub fn take_stdout(&mut self) -> Option<std::process::ChildStdout> {
        self.child.as_mut().and_then(|c| c.stdout.take())
    }

    /// `Some(status)` once the process has exited.
    pub fn exited(&mut self) -> Option<std::process::ExitStatus> {
        self.child
            .as_mut()
            .and_then(|c| c.try_wait().ok().flatten())
    }

    /// SIGTERM, up to `grace` to exit, then SIGKILL. Waits for the process either way.
    pub fn stop(&mut self, grace: Duration) {
        let Some(mut child) = self.child.take() else {
            return;
        };
        if let Ok(Some(_)) = child.try_wait() {
            return;
        }
        let pid = Pid::from_raw(child.id() as i32);
        let _ = kill(pid, Signal::SIGTERM);
        let deadline = Instant::now() + grace;
        while Instant::now() < deadline {
            if let Ok(Some(_)) = child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        let _ = child.kill();
        let _ = child.wait();
    }

    /// The last lines of the log, for error messages.
    pub fn log_tail(&self) -> String {
        tail(&self.log, 20)
    }
}

impl Drop for Child {
    fn drop(&mut self) {
        self.stop(Duration::from_secs(3));
    }
}

pub fn tail(path: &Path, lines: usize) -> String {
    let text = fs::read_to_string(path).unwrap_or_default();
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

/// Clock ticks per second of the utime/stime fields.
pub fn clock_ticks() -> f64 {
    static TICKS: OnceLock<f64> = OnceLock::new();
    *TICKS.get_or_init(|| {
        Command::new("getconf")
            .arg("CLK_TCK")
            .output()
            .ok()
            .and_then(|o| String::from_utf8(o.stdout).ok())
            .and_then(|s| s.trim().parse::<f64>().ok())
            .filter(|t| *t > 0.0)
            .unwrap_or(100.0)
    })
}

/// The fields of `/proc/<pid>/stat` after the command name, so index 0 is field 3 (`state`).
fn stat_fields(pid: &str) -> Option<Vec<u64>> {
    let text = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = &text[text.rfind(')')? + 1..];
    Some(
        rest.split_whitespace()
            .map(|f| f.parse::<u64>().unwrap_or(0))
            .collect(),
    )
}

/// (ppid, utime + stime, cutime + cstime) in ticks.
fn cpu_of(pid: &str) -> Option<(u64, u64, u64)> {
    let f = stat_fields(pid)?;
    if f.len() < 15 {
        return None;
    }
    Some((f[1], f[11] + f[12], f[13] + f[14]))
}

/// CPU seconds (user + system, all threads) a process has used so far.
pub fn cpu_seconds(pid: u32) -> Option<f64> {
    cpu_of(&pid.to_string()).map(|(_, own, _)| own as f64 / clock_ticks())
}

/// CPU seconds of this driver process.
pub fn own_cpu_seconds() -> f64 {
    cpu_of("self").map_or(0.0, |(_, own, _)| own as f64 / clock_ticks())
}

/// CPU seconds of a process tree one level deep: the process itself, the children it has
/// reaped, and its live children (PostgreSQL's postmaster and its backends).
pub fn tree_cpu_seconds(parent: u32) -> Option<f64> {
    let (_, own, reaped) = cpu_of(&parent.to_string())?;
    let mut total = own + reaped;
    if let Ok(entries) = fs::read_dir("/proc") {
        for entry in entries.flatten() {
            let name = entry.file_name();
            let Some(name) = name.to_str() else { continue };
            if !name.bytes().all(|b| b.is_ascii_digit()) {
                continue;
            }
            if let Some((ppid, own, _)) = cpu_of(name) {
                if ppid == u64::from(parent) {
                    total += own;
                }
            }
        }
    }
    Some(total as f64 / clock_ticks())
}

/// A `Vm*` line of `/proc/<pid>/status`, in KiB.
pub fn status_kib(pid: u32, field: &str) -> Option<u64> {
    let text = fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    text.lines()
        .find(|l| l.starts_with(field) && l[field.len()..].starts_with(':'))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
}

pub fn rss_mb(pid: u32) -> Option<f64> {
    status_kib(pid, "VmRSS").map(kib_to_mb)
}

pub fn hwm_mb(pid: u32) -> Option<f64> {
    status_kib(pid, "VmHWM").map(kib_to_mb)
}

/// Resets the peak RSS (`VmHWM`) to the current RSS (Linux ≥ 4.0), so a scenario's peak is its
/// own. False when the kernel refuses; peaks are then since the process started.
pub fn reset_hwm(pid: u32) -> bool {
    fs::write(format!("/proc/{pid}/clear_refs"), "5").is_ok()
}

/// KiB (as /proc reports) to MB (10^6 bytes, as the targets are written).
fn kib_to_mb(kib: u64) -> f64 {
    kib as f64 * 1024.0 / 1e6
}

/// A fake upstream (`fake-exact`, `fake-oidc`) started with `args`: it prints its address on
/// the first line of stdout. Answers the child, that address, and the rest of its stdout (kept
/// open: the fake stops when it closes).
pub async fn start_fake(
    name: &str,
    program: &Path,
    args: &[&str],
    log: &Path,
) -> anyhow::Result<(Child, String, std::process::ChildStdout)> {
    use std::io::BufRead;
    let mut fake = Child::spawn(
        name,
        program,
        args,
        &[("RUST_LOG", "warn".into())],
        log,
        true,
    )?;
    let stdout = fake.take_stdout().context("the fake's stdout")?;
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut reader = std::io::BufReader::new(stdout);
        let mut line = String::new();
        let _ = reader.read_line(&mut line);
        let _ = tx.send((line, reader.into_inner()));
    });
    let received =
        tokio::task::spawn_blocking(move || rx.recv_timeout(Duration::from_secs(30))).await?;
    let Ok((line, stdout)) = received else {
        return Err(anyhow!(
            "{name} did not print its address; the end of its log:\n{}",
            fake.log_tail()
        ));
    };
    let url = line.trim().to_owned();
    if !url.starts_with("http://127.0.0.1:") {
        return Err(anyhow!("{name} printed `{url}` instead of its address"));
    }
    Ok((fake, url, stdout))
}
