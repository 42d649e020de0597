//! A real PostgreSQL server for the integration tests.
//!
//! The tests run against the server software production uses rather than a mock, so SQL
//! dialect, locking and constraint behaviour are the real thing. Debian's `postgresql`
//! package must be installed; the tests fail loudly instead of skipping, because a storage
//! test that silently skips looks exactly like one that passes.
//!
//! Self-contained on purpose (std + `libc` only): it is included both as
//! `#[path = "common/postgres.rs"] mod postgres;` and from `tests/common/mod.rs`.

#![allow(dead_code)]

use std::ffi::CString;
use std::fs::{self, File};
use std::io;
use std::net::TcpListener;
use std::os::unix::fs::chown;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, OnceLock, PoisonError, mpsc};
use std::thread;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

const INSTALL_HINT: &str =
    "PostgreSQL is not installed: apt-get install -y postgresql (the tests do not skip)";

/// Temp folders carry this prefix plus the test process's pid, so a later run can tell
/// which ones were left behind by processes that are gone (see `remove_stale_dirs`).
const DIR_PREFIX: &str = "kennzahl-pg-";

/// Generous because parallel test binaries on a 2-core CI box all run initdb at once.
const STARTUP_TIMEOUT: Duration = Duration::from_secs(60);

/// Fast shutdown. SIGTERM would be PostgreSQL's "smart" shutdown, which waits for every
/// client to disconnect — a connection pool still held by a test would then hang it.
const STOP_SIGNAL: libc::c_int = libc::SIGINT;

/// Environment variables that would silently redirect or break psql/pg_isready.
const CLIENT_ENV: &[&str] = &[
    "PGSERVICE",
    "PGSERVICEFILE",
    "PGOPTIONS",
    "PGSSLMODE",
    "PGPASSFILE",
];

/// A PostgreSQL server owned by the test process, with its own data folder and port.
pub struct Postgres {
    /// Temp folder holding `data/`, `sock/` and `server.log`; removed on drop.
    base: PathBuf,
    bin: PathBuf,
    port: u16,
    /// 0 while no server is running (start-up failures unwind through `Drop`).
    pid: libc::pid_t,
}

impl Postgres {
    /// Starts a fresh server. Takes about 1.5 s (initdb dominates); prefer `shared()`
    /// and one `create_database()` per test unless a test needs a server of its own.
    pub fn start() -> Postgres {
        let bin = bin_dir();
        let user = server_user();
        let tmp = std::env::temp_dir();
        remove_stale_dirs(&tmp);
        // From here on `Drop` cleans up if anything panics.
        let mut pg = Postgres {
            base: unique_dir(&tmp),
            bin,
            port: 0,
            pid: 0,
        };
        fs::create_dir(pg.sock_dir()).expect("create socket folder");
        if let Some(user) = user {
            // initdb and postgres run as `postgres`, which must own where they write.
            for dir in [pg.base.clone(), pg.sock_dir()] {
                chown(&dir, Some(user.uid), Some(user.gid))
                    .unwrap_or_else(|e| panic!("chown {} to postgres: {e}", dir.display()));
            }
        }
        pg.initdb(user);

        // The port is free when we look but could be taken before postgres binds it.
        const ATTEMPTS: usize = 5;
        for attempt in 1..=ATTEMPTS {
            pg.port = free_port();
            pg.pid = pg.spawn_server(user);
            match pg.wait_until_ready() {
                Ok(()) => return pg,
                Err(NotReady::Exited(status)) => {
                    pg.pid = 0;
                    let log = pg.log_tail(30);
                    if attempt < ATTEMPTS && log.contains("Address already in use") {
                        continue;
                    }
                    panic!(
                        "PostgreSQL server exited during start-up ({status}).\n\
                         Last lines of its log:\n{log}\n\
                         If PostgreSQL is missing or broken: apt-get install -y postgresql"
                    );
                }
                Err(NotReady::TimedOut) => panic!(
                    "PostgreSQL did not accept connections on 127.0.0.1:{} within {:?}.\n\
                     Last lines of its log:\n{}\n\
                     If PostgreSQL is missing or broken: apt-get install -y postgresql",
                    pg.port,
                    STARTUP_TIMEOUT,
                    pg.log_tail(30)
                ),
            }
        }
        unreachable!("the last attempt returns or panics")
    }

    /// One server per test process, started on first use. Its `Drop` never runs (it is a
    /// static); the server still goes away with the process thanks to PR_SET_PDEATHSIG, and
    /// the next run removes its data folder.
    pub fn shared() -> &'static Postgres {
        static SHARED: OnceLock<Postgres> = OnceLock::new();
        SHARED.get_or_init(Postgres::start)
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn url(&self, database: &str) -> String {
        format!("postgres://postgres@127.0.0.1:{}/{database}", self.port)
    }

    /// A new empty database, so tests sharing a server cannot see each other's tables.
    /// Returns its URL.
    pub fn create_database(&self) -> String {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let name = format!("t_{}_{}", NEXT.fetch_add(1, Ordering::Relaxed), nanos()).to_lowercase();
        self.psql(&self.url("postgres"), &format!("CREATE DATABASE {name}"));
        self.url(&name)
    }

    /// Runs `psql -At -c SQL` so tests can look at tables without a Rust client. Returns
    /// stdout without its final newline (`"1"` for `select 1`, rows separated by `\n`,
    /// columns by `|`). Panics with psql's stderr on failure.
    pub fn psql(&self, database_url: &str, sql: &str) -> String {
        self.run_psql(database_url, sql, &[])
    }

    /// psql with `extra` options; stdout without its final newline.
    fn run_psql(&self, database_url: &str, sql: &str, extra: &[&str]) -> String {
        let out = self
            .client("psql")
            // -X: a developer's ~/.psqlrc must not change the output format.
            .args(["-X", "-v", "ON_ERROR_STOP=1", "-At"])
            .args(extra)
            .args(["-d", database_url, "-c", sql])
            .stdin(Stdio::null())
            .output()
            .unwrap_or_else(|e| panic!("run psql: {e}. {INSTALL_HINT}"));
        if !out.status.success() {
            panic!(
                "psql failed ({}) on {database_url}\nSQL: {sql}\n{}",
                out.status,
                String::from_utf8_lossy(&out.stderr)
            );
        }
        let mut stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        if stdout.ends_with('\n') {
            stdout.pop();
        }
        stdout
    }

    /// Turns TLS on (with this certificate and key, PEM) on the running server: the files
    /// are copied into the data folder, owned by the server's user, and the server reloads.
    pub fn enable_tls(&self, cert: &Path, key: &Path) {
        use std::os::unix::fs::{MetadataExt, PermissionsExt};
        let owner = fs::metadata(self.data_dir()).expect("the data folder");
        for (from, name) in [(cert, "server.crt"), (key, "server.key")] {
            let to = self.data_dir().join(name);
            fs::copy(from, &to).unwrap_or_else(|e| panic!("copy {}: {e}", from.display()));
            chown(&to, Some(owner.uid()), Some(owner.gid())).unwrap();
            fs::set_permissions(&to, fs::Permissions::from_mode(0o600)).unwrap();
        }
        let url = self.url("postgres");
        self.psql(&url, "ALTER SYSTEM SET ssl = on");
        self.psql(&url, "SELECT pg_reload_conf()");
        thread::sleep(Duration::from_millis(300));
    }

    /// Like [`Postgres::psql`], the rows split into fields (NULL as ""). Records end with
    /// \x1e, not a line break: values may hold line breaks.
    pub fn psql_fields(&self, database_url: &str, sql: &str) -> Vec<Vec<String>> {
        self.run_psql(database_url, sql, &["-F", "\u{1f}", "-R", "\u{1e}"])
            .split('\u{1e}')
            .filter(|r| !r.is_empty())
            .map(|r| r.split('\u{1f}').map(str::to_string).collect())
            .collect()
    }

    fn data_dir(&self) -> PathBuf {
        self.base.join("data")
    }

    fn sock_dir(&self) -> PathBuf {
        self.base.join("sock")
    }

    fn log_path(&self) -> PathBuf {
        self.base.join("server.log")
    }

    /// A client tool from the server's own version, falling back to the one on PATH
    /// (`/usr/bin/psql` is Debian's version-dispatching wrapper).
    fn client(&self, tool: &str) -> Command {
        let own = self.bin.join(tool);
        let mut cmd = Command::new(if own.is_file() {
            own
        } else {
            PathBuf::from(tool)
        });
        for var in CLIENT_ENV {
            cmd.env_remove(var);
        }
        cmd.env("PGCLIENTENCODING", "UTF8");
        cmd
    }

    fn initdb(&self, user: Option<ServerUser>) {
        let mut failures = String::new();
        // C.UTF-8 gives Unicode-aware lower()/upper() for German text; plain C is the
        // fallback for systems whose libc lacks that locale.
        for locale in ["C.UTF-8", "C"] {
            let mut cmd = Command::new(self.bin.join("initdb"));
            cmd.arg("-D")
                .arg(self.data_dir())
                .args(["-U", "postgres", "--auth=trust", "--encoding=UTF8"])
                .arg(format!("--locale={locale}"))
                // -N: no fsync; the data is thrown away after the test.
                .arg("-N")
                .current_dir(&self.base)
                .stdin(Stdio::null());
            run_as(&mut cmd, user, None);
            let out = cmd.output().unwrap_or_else(|e| {
                panic!(
                    "run {}: {e}. {INSTALL_HINT}",
                    self.bin.join("initdb").display()
                )
            });
            if out.status.success() {
                return;
            }
            failures.push_str(&format!(
                "--locale={locale}: {}\n{}{}\n",
                out.status,
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            ));
            let _ = fs::remove_dir_all(self.data_dir());
        }
        panic!(
            "initdb failed in {}:\n{failures}\
             (When running as root, the `postgres` user must be able to reach the temp folder; \
             set TMPDIR to somewhere like /tmp. If PostgreSQL is broken: apt-get install -y postgresql)",
            self.base.display()
        );
    }

    // Reaped by pid in `reap`/`stop`: only the pid is kept so that `Postgres` stays a plain
    // `Sync` value for the `shared()` static.
    #[allow(clippy::zombie_processes)]
    fn spawn_server(&self, user: Option<ServerUser>) -> libc::pid_t {
        let log = File::create(self.log_path()).expect("create server log");
        let log2 = log.try_clone().expect("clone server log handle");
        let postgres = self.bin.join("postgres");
        let data = self.data_dir();
        let sock = self.sock_dir();
        // Unix socket paths are limited to 107 bytes and postgres refuses to start if it
        // cannot create any; the tests only use TCP, so drop the socket for long TMPDIRs.
        let socket_arg = if sock.as_os_str().len() + "/.s.PGSQL.65535".len() < 100 {
            sock.into_os_string()
        } else {
            "".into()
        };
        let base = self.base.clone();
        let port = self.port.to_string();
        let test_pid = unsafe { libc::getpid() };
        let child = spawn_from_lifelong_thread(Box::new(move || {
            let mut cmd = Command::new(postgres);
            cmd.arg("-D")
                .arg(data)
                .args(["-p", port.as_str()])
                .arg("-k")
                .arg(socket_arg)
                .args([
                    "-c",
                    "listen_addresses=127.0.0.1",
                    // Durability is pointless for throw-away data and costs seconds per test.
                    "-c",
                    "fsync=off",
                    "-c",
                    "synchronous_commit=off",
                    "-c",
                    "full_page_writes=off",
                    // Parallel tests each hold a pool's worth of connections.
                    "-c",
                    "max_connections=200",
                ])
                .current_dir(base)
                .stdin(Stdio::null())
                .stdout(log)
                .stderr(log2);
            run_as(&mut cmd, user, Some(test_pid));
            cmd.spawn()
        }))
        .unwrap_or_else(|e| {
            panic!(
                "start {}: {e}. {INSTALL_HINT}",
                self.bin.join("postgres").display()
            )
        });
        child.id() as libc::pid_t
    }

    fn wait_until_ready(&self) -> Result<(), NotReady> {
        let deadline = Instant::now() + STARTUP_TIMEOUT;
        let port = self.port.to_string();
        loop {
            if let Some(status) = reap(self.pid) {
                return Err(NotReady::Exited(status));
            }
            // -U/-d: without them pg_isready logs a FATAL for the OS user's role.
            let ready = self
                .client("pg_isready")
                .args([
                    "-q",
                    "-h",
                    "127.0.0.1",
                    "-p",
                    port.as_str(),
                    "-U",
                    "postgres",
                    "-d",
                    "postgres",
                    "-t",
                    "2",
                ])
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .map(|s| s.success())
                .unwrap_or(false);
            if ready {
                return Ok(());
            }
            if Instant::now() >= deadline {
                return Err(NotReady::TimedOut);
            }
            thread::sleep(Duration::from_millis(50));
        }
    }

    fn log_tail(&self, lines: usize) -> String {
        let log = fs::read_to_string(self.log_path()).unwrap_or_else(|e| format!("(no log: {e})"));
        let all: Vec<&str> = log.lines().collect();
        all[all.len().saturating_sub(lines)..].join("\n")
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        if self.pid > 0 {
            stop(self.pid);
            self.pid = 0;
        }
        let _ = fs::remove_dir_all(&self.base);
    }
}

enum NotReady {
    Exited(ExitStatus),
    TimedOut,
}

#[derive(Clone, Copy)]
pub struct ServerUser {
    uid: libc::uid_t,
    gid: libc::gid_t,
}

/// initdb and postgres refuse to run as root, so as root they run as the `postgres` user
/// that Debian's package creates; otherwise as the current user.
fn server_user() -> Option<ServerUser> {
    if unsafe { libc::geteuid() } != 0 {
        return None;
    }
    let name = CString::new("postgres").expect("no NUL in name");
    let mut pwd: libc::passwd = unsafe { std::mem::zeroed() };
    let mut buf = vec![0 as libc::c_char; 16 * 1024];
    let mut found: *mut libc::passwd = std::ptr::null_mut();
    // The _r variant because tests call this from parallel threads.
    let rc = unsafe {
        libc::getpwnam_r(
            name.as_ptr(),
            &mut pwd,
            buf.as_mut_ptr(),
            buf.len(),
            &mut found,
        )
    };
    if rc != 0 || found.is_null() {
        panic!(
            "running as root but there is no `postgres` user to run the server as. {INSTALL_HINT}"
        );
    }
    Some(ServerUser {
        uid: pwd.pw_uid,
        gid: pwd.pw_gid,
    })
}

/// Drops to `user` (if any) in the child and, with `test_pid`, ties the child's life to
/// the test process.
///
/// PR_SET_PDEATHSIG must come after setuid: the kernel clears it whenever the credentials
/// change. Everything in here runs between fork and exec, so it only makes async-signal-safe
/// calls and builds errors without allocating.
pub fn run_as(cmd: &mut Command, user: Option<ServerUser>, test_pid: Option<libc::pid_t>) {
    let in_child = move || -> io::Result<()> {
        if let Some(user) = user {
            if unsafe { libc::setgroups(0, std::ptr::null()) } != 0 {
                return Err(io::Error::last_os_error());
            }
            if unsafe { libc::setgid(user.gid) } != 0 {
                return Err(io::Error::last_os_error());
            }
            if unsafe { libc::setuid(user.uid) } != 0 {
                return Err(io::Error::last_os_error());
            }
        }
        if let Some(test_pid) = test_pid {
            if unsafe { libc::prctl(libc::PR_SET_PDEATHSIG, STOP_SIGNAL as libc::c_ulong) } != 0 {
                return Err(io::Error::last_os_error());
            }
            // The test process may have died between fork and prctl; the signal would
            // then never come.
            if unsafe { libc::getppid() } != test_pid {
                return Err(io::Error::from_raw_os_error(libc::ESRCH));
            }
        }
        Ok(())
    };
    unsafe {
        cmd.pre_exec(in_child);
    }
}

pub type SpawnJob = Box<dyn FnOnce() -> io::Result<Child> + Send>;

struct SpawnRequest {
    job: SpawnJob,
    reply: mpsc::Sender<io::Result<Child>>,
}

/// Spawns on a thread that lives as long as the test process.
///
/// PR_SET_PDEATHSIG fires when the *thread* that forked the child exits, not the process.
/// libtest runs every test on its own short-lived thread, so a server spawned there would
/// get the signal as soon as that test returns — fatal for `shared()`, whose server must
/// outlive the first test that uses it. This thread never exits (its sender sits in a
/// static), so the signal arrives only when the whole test process is gone, including
/// when it is killed and no destructor runs.
pub fn spawn_from_lifelong_thread(job: SpawnJob) -> io::Result<Child> {
    static SPAWNER: OnceLock<Mutex<mpsc::Sender<SpawnRequest>>> = OnceLock::new();
    let spawner = SPAWNER.get_or_init(|| {
        let (requests, incoming) = mpsc::channel::<SpawnRequest>();
        thread::Builder::new()
            .name("postgres-spawner".into())
            .spawn(move || {
                for request in incoming {
                    let _ = request.reply.send((request.job)());
                }
                // Not reached while the static sender exists; never exit regardless.
                loop {
                    thread::park();
                }
            })
            .expect("start postgres-spawner thread");
        Mutex::new(requests)
    });
    let (reply, answer) = mpsc::channel();
    spawner
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .send(SpawnRequest { job, reply })
        .expect("postgres-spawner thread is alive");
    answer.recv().expect("postgres-spawner thread replied")
}

/// The highest installed major version, as Debian installs them side by side.
fn bin_dir() -> PathBuf {
    let mut best: Option<(Vec<u32>, PathBuf)> = None;
    if let Ok(entries) = fs::read_dir("/usr/lib/postgresql") {
        for entry in entries.flatten() {
            let bin = entry.path().join("bin");
            if !bin.join("postgres").is_file() {
                continue;
            }
            let version: Vec<u32> = entry
                .file_name()
                .to_string_lossy()
                .split('.')
                .map(|part| part.parse().unwrap_or(0))
                .collect();
            if best.as_ref().is_none_or(|(seen, _)| version > *seen) {
                best = Some((version, bin));
            }
        }
    }
    match best {
        Some((_, bin)) => bin,
        None => panic!("{INSTALL_HINT} (no /usr/lib/postgresql/*/bin/postgres found)"),
    }
}

fn unique_dir(tmp: &Path) -> PathBuf {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    loop {
        let name = format!(
            "{DIR_PREFIX}{}-{}-{:x}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed),
            nanos()
        );
        let path = tmp.join(name);
        match fs::create_dir(&path) {
            Ok(()) => return path,
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
            Err(e) => panic!("create {}: {e}", path.display()),
        }
    }
}

/// Servers from `shared()` never run `Drop`, so each run sweeps the ~40 MB data folders
/// of earlier test processes that are gone (and whose server has stopped too).
fn remove_stale_dirs(tmp: &Path) {
    let Ok(entries) = fs::read_dir(tmp) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(rest) = name.to_str().and_then(|n| n.strip_prefix(DIR_PREFIX)) else {
            continue;
        };
        let Some(owner) = rest
            .split('-')
            .next()
            .and_then(|p| p.parse::<libc::pid_t>().ok())
        else {
            continue;
        };
        if owner <= 0 || is_alive(owner) {
            continue;
        }
        let server = fs::read_to_string(entry.path().join("data/postmaster.pid"))
            .ok()
            .and_then(|s| s.lines().next()?.trim().parse::<libc::pid_t>().ok());
        if server.is_some_and(|pid| pid > 0 && is_alive(pid)) {
            continue;
        }
        let _ = fs::remove_dir_all(entry.path());
    }
}

fn is_alive(pid: libc::pid_t) -> bool {
    let rc = unsafe { libc::kill(pid, 0) };
    rc == 0 || io::Error::last_os_error().raw_os_error() == Some(libc::EPERM)
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map(|addr| addr.port())
        .expect("find a free TCP port on 127.0.0.1")
}

/// `Some` once the child has exited (and is reaped). A child that is no longer ours
/// (ECHILD) counts as exited.
fn reap(pid: libc::pid_t) -> Option<ExitStatus> {
    let mut status: libc::c_int = 0;
    let rc = unsafe { libc::waitpid(pid, &mut status, libc::WNOHANG) };
    if rc == pid {
        Some(ExitStatus::from_raw(status))
    } else if rc == -1 && io::Error::last_os_error().raw_os_error() == Some(libc::ECHILD) {
        Some(ExitStatus::from_raw(0))
    } else {
        None
    }
}

fn stop(pid: libc::pid_t) {
    unsafe {
        libc::kill(pid, STOP_SIGNAL);
    }
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        if reap(pid).is_some() {
            return;
        }
        thread::sleep(Duration::from_millis(20));
    }
    unsafe {
        libc::kill(pid, libc::SIGKILL);
        libc::waitpid(pid, std::ptr::null_mut(), 0);
    }
}

fn nanos() -> u128 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0)
}
