//! The server under test: `specmill serve` started as a child process of this binary, and
//! its memory as Linux reports it in `/proc/<pid>/status`.

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};

/// How long the child may take to answer its first request.
const START_TIMEOUT: Duration = Duration::from_secs(60);

/// A running `specmill serve` on a loopback port; killed when dropped.
pub struct ServerChild {
    child: Child,
    /// `http://127.0.0.1:<port>`
    pub base: String,
}

impl ServerChild {
    /// Starts this executable as `serve` on a free loopback port over `database_url`, open
    /// (no config: tenant `default`), logging warnings only (or what `SPECMILL_BENCH_SERVER_LOG`
    /// says, a `SPECMILL_LOG` filter), and waits until it answers.
    pub fn start(database_url: &str) -> anyhow::Result<ServerChild> {
        let exe = std::env::current_exe().context("locate the specmill executable")?;
        let port = TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
        let child = Command::new(exe)
            .args(["--database-url", database_url, "serve", "--listen", &format!("127.0.0.1:{port}")])
            .env_remove("SPECMILL_CONFIG")
            .env(
                "SPECMILL_LOG",
                std::env::var("SPECMILL_BENCH_SERVER_LOG").unwrap_or_else(|_| "warn".into()),
            )
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .context("start specmill serve")?;
        let mut server = ServerChild { child, base: format!("http://127.0.0.1:{port}") };
        server.wait_ready()?;
        Ok(server)
    }

    fn wait_ready(&mut self) -> anyhow::Result<()> {
        let agent = ureq::AgentBuilder::new().timeout(Duration::from_secs(2)).build();
        let url = format!("{}/clientlib/isAlive/ver", self.base);
        let deadline = Instant::now() + START_TIMEOUT;
        loop {
            if let Some(status) = self.child.try_wait()? {
                bail!("specmill serve exited before answering: {status}");
            }
            if agent.get(&url).call().is_ok() {
                return Ok(());
            }
            if Instant::now() > deadline {
                bail!("specmill serve did not answer within {START_TIMEOUT:?}");
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The child is still running (an exit is a crash: nothing asked it to stop).
    pub fn check_alive(&mut self) -> anyhow::Result<()> {
        match self.child.try_wait()? {
            Some(status) => bail!("specmill serve exited during the benchmark: {status}"),
            None => Ok(()),
        }
    }
}

impl Drop for ServerChild {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A `kB` field of `/proc/<pid>/status` (`VmRSS`, `VmHWM`) in bytes.
pub fn status_bytes(pid: u32, field: &str) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status.lines().find_map(|line| {
        let rest = line.strip_prefix(field)?.strip_prefix(':')?;
        let kb: u64 = rest.trim().strip_suffix("kB")?.trim().parse().ok()?;
        Some(kb * 1024)
    })
}

/// Resets the process's peak RSS (`VmHWM`) to its current RSS (Linux `clear_refs` 5);
/// false when the kernel does not allow it.
pub fn reset_peak_rss(pid: u32) -> bool {
    std::fs::write(format!("/proc/{pid}/clear_refs"), "5").is_ok()
}

/// Polls a process's RSS on a thread and keeps the highest value seen.
pub struct RssSampler {
    stop: Arc<AtomicBool>,
    max: Arc<AtomicU64>,
    handle: Option<JoinHandle<()>>,
}

impl RssSampler {
    pub fn start(pid: u32, every: Duration) -> RssSampler {
        let stop = Arc::new(AtomicBool::new(false));
        let max = Arc::new(AtomicU64::new(0));
        let (s, m) = (stop.clone(), max.clone());
        let handle = std::thread::spawn(move || {
            while !s.load(Ordering::Relaxed) {
                if let Some(rss) = status_bytes(pid, "VmRSS") {
                    m.fetch_max(rss, Ordering::Relaxed);
                }
                std::thread::sleep(every);
            }
        });
        RssSampler { stop, max, handle: Some(handle) }
    }

    /// Stops polling; the highest RSS seen, in bytes (0 when none could be read).
    pub fn finish(mut self) -> u64 {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
        self.max.load(Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn own_memory_is_readable() {
        let pid = std::process::id();
        let rss = status_bytes(pid, "VmRSS").expect("VmRSS of this process");
        let hwm = status_bytes(pid, "VmHWM").expect("VmHWM of this process");
        assert!(rss > 0 && hwm >= rss, "{rss} {hwm}");
        assert_eq!(status_bytes(pid, "NoSuchField"), None);
        let sampler = RssSampler::start(pid, Duration::from_millis(1));
        std::thread::sleep(Duration::from_millis(20));
        assert!(sampler.finish() > 0);
    }
}
