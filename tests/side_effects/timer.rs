//! The default timer: a constant number of threads for any number of
//! waits, nothing kept by a dropped wait, and never a busy loop. (It is
//! tokio's, with the `reqwest` feature.)
#![cfg(feature = "reqwest")]

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use waba_porting::transport::{Headers, HttpRequest, HttpResponse, Transport, TransportError};
use waba_porting::{async_trait, PortingClient, RetryPolicy, Throttle, WabaId};

fn json_answer(status: u16, body: &str) -> HttpResponse {
    let mut headers = Headers::new();
    headers.push("Content-Type", "application/json");
    HttpResponse::new(status, headers, body)
}

fn with_retry_after(mut answer: HttpResponse, seconds: u64) -> HttpResponse {
    answer.headers.push("Retry-After", seconds.to_string());
    answer
}

/// `Retry-After: 3600`, every later one `{"success":true}`.
#[derive(Debug, Default)]
struct FirstLimited(AtomicBool);

#[async_trait]
impl Transport for FirstLimited {
    async fn send(&self, _request: HttpRequest) -> Result<HttpResponse, TransportError> {
        if !self.0.swap(true, Ordering::SeqCst) {
            return Ok(with_retry_after(
                json_answer(429, r#"{"error":{"message":"(#4) limit","code":4}}"#),
                3600,
            ));
        }
        Ok(json_answer(200, r#"{"success":true}"#))
    }
}

fn threads() -> usize {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("Threads:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}

/// The default `ThreadSleep` parks one OS thread per wait, and a wait whose
/// future is dropped (a caller's timeout, a cancelled task, a dropped fleet
/// run — the docs' own way to stop a run mid-step) keeps its thread asleep
/// for the whole wait: here 400 callers that gave up after 50 ms leave 400
/// threads parked for an hour (a 72-hour `Retry-After` keeps them 72 h).
///
/// Counts the process's threads: run alone in a child process, away from
/// the other tests of this binary.
#[test]
fn thread_sleep_keeps_a_parked_thread_for_every_abandoned_wait() {
    if !crate::common::is_alone() {
        return crate::common::run_alone(
            module_path!(),
            "thread_sleep_keeps_a_parked_thread_for_every_abandoned_wait",
        );
    }
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
        .block_on(abandoned_waits());
}

async fn abandoned_waits() {
    let client = PortingClient::builder()
        .access_token("EAAG-test")
        .transport(FirstLimited::default())
        .throttle(Throttle::new())
        .retry_policy(RetryPolicy::none())
        .build()
        .unwrap();
    let waba = WabaId::new("102290129340398").unwrap();
    // The 429 pauses the throttle for an hour.
    let _ = client.subscribe_app(&waba).await.unwrap_err();
    let before = threads();
    let mut tasks = Vec::new();
    for _ in 0..400 {
        let client = client.clone();
        let waba = waba.clone();
        tasks.push(tokio::spawn(async move {
            tokio::time::timeout(Duration::from_millis(50), client.subscribe_app(&waba))
                .await
                .is_err()
        }));
    }
    let mut gave_up = 0;
    for task in tasks {
        gave_up += usize::from(task.await.unwrap());
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    let after = threads();
    assert!(
        after.saturating_sub(before) < 40,
        "{gave_up} callers gave up; OS threads {before} -> {after}: each abandoned wait keeps a \
         thread parked for the rest of the hour"
    );
}

// ======================================================= 9. ThreadSleep fallback

/// The child half of the test below: a current-thread runtime with a
/// 100 ms ticker task, a throttle paused for 2 s, one call.
async fn spawn_failure_child() {
    let ticks = Arc::new(AtomicUsize::new(0));
    let t = Arc::clone(&ticks);
    tokio::spawn(async move {
        loop {
            tokio::time::sleep(Duration::from_millis(100)).await;
            t.fetch_add(1, Ordering::SeqCst);
        }
    });
    tokio::time::sleep(Duration::from_millis(250)).await;
    #[derive(Debug, Default)]
    struct Limited2s(AtomicBool);
    #[async_trait]
    impl Transport for Limited2s {
        async fn send(&self, _r: HttpRequest) -> Result<HttpResponse, TransportError> {
            if !self.0.swap(true, Ordering::SeqCst) {
                return Ok(with_retry_after(
                    json_answer(429, r#"{"error":{"message":"(#4) limit","code":4}}"#),
                    2,
                ));
            }
            Ok(json_answer(200, r#"{"success":true}"#))
        }
    }
    let client = PortingClient::builder()
        .access_token("EAAG-test")
        .transport(Limited2s::default())
        .throttle(Throttle::new())
        .retry_policy(RetryPolicy::none())
        .build()
        .unwrap();
    let waba = WabaId::new("102290129340398").unwrap();
    let _ = client.subscribe_app(&waba).await;
    let spawn_ok = std::thread::Builder::new().spawn(|| ()).is_ok();
    let before = ticks.load(Ordering::SeqCst);
    let started = std::time::Instant::now();
    let _ = client.subscribe_app(&waba).await;
    println!(
        "CHILD spawn_ok={spawn_ok} waited_ms={} ticks={}",
        started.elapsed().as_millis(),
        ticks.load(Ordering::SeqCst) - before
    );
}

/// When `ThreadSleep` cannot spawn its thread (a container's pids limit,
/// tens of thousands of concurrent waits; simulated here in a child process
/// with `RUST_MIN_STACK` too large to map) it returns at once, and the
/// throttle's admit loop, still paused, calls it again: a hot loop that
/// never yields. The task's executor thread is frozen for the whole pause
/// (up to 72 h): a 100 ms ticker on the same runtime gets no tick in 2 s.
#[test]
fn thread_sleep_without_a_thread_spins_and_freezes_the_runtime_for_the_pause() {
    if std::env::var_os("SPAWN_FAILURE_CHILD").is_some() {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
            .block_on(spawn_failure_child());
        return;
    }
    let output = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            crate::common::test_name(
                module_path!(),
                "thread_sleep_without_a_thread_spins_and_freezes_the_runtime_for_the_pause",
            )
            .as_str(),
            "--exact",
            "--test-threads=1",
            "--nocapture",
        ])
        .env("SPAWN_FAILURE_CHILD", "1")
        .env("RUST_MIN_STACK", "70368744177664")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let line = stdout
        .lines()
        .find_map(|l| l.find("CHILD").map(|at| l[at..].to_owned()))
        .unwrap_or_else(|| {
            panic!(
                "child said: {stdout}\n{}",
                String::from_utf8_lossy(&output.stderr)
            )
        });
    let ticks: usize = line
        .rsplit("ticks=")
        .next()
        .and_then(|t| t.trim().parse().ok())
        .unwrap();
    assert!(
        line.contains("spawn_ok=false") && ticks >= 10,
        "{line} — during the 2 s throttle pause the runtime ran no other task (a 100 ms \
         ticker should have ticked ~20 times)"
    );
}

#[cfg(feature = "reqwest")]
mod timer_without_time_driver {
    // The default timer where it cannot wait: `can_sleep()` is the client's
    // only way to know, and a wait it cannot make must end as an error with
    // its time — never a panic inside the library. A tokio runtime built
    // without its time driver (`Builder::new_current_thread().build()`) is
    // such a place.

    use std::sync::atomic::{AtomicBool, Ordering};

    use waba_porting::transport::{Headers, HttpRequest, HttpResponse, Transport, TransportError};
    use waba_porting::{async_trait, PortingClient, RetryPolicy, RuntimeSleep, Sleep, WabaId};

    /// A 429 with `Retry-After: 1`, then success.
    #[derive(Debug, Default)]
    struct FirstLimited(AtomicBool);

    #[async_trait]
    impl Transport for FirstLimited {
        async fn send(&self, _request: HttpRequest) -> Result<HttpResponse, TransportError> {
            let mut headers = Headers::new();
            headers.push("Content-Type", "application/json");
            if !self.0.swap(true, Ordering::SeqCst) {
                headers.push("Retry-After", "1");
                return Ok(HttpResponse::new(
                    429,
                    headers,
                    r#"{"error":{"message":"(#4) limit","code":4}}"#,
                ));
            }
            Ok(HttpResponse::new(200, headers, r#"{"success":true}"#))
        }
    }

    #[test]
    fn a_retry_wait_on_a_runtime_without_its_time_driver_is_an_error_not_a_panic() {
        // No enable_time(): a runtime that can run futures but has no timer.
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            runtime.block_on(async {
                let says = RuntimeSleep.can_sleep();
                let client = PortingClient::builder()
                    .access_token("EAAG-test")
                    .transport(FirstLimited::default())
                    .retry_policy(RetryPolicy::default())
                    .build()
                    .unwrap();
                let waba = WabaId::new("102290129340398").unwrap();
                (says, client.subscribe_app(&waba).await)
            })
        }));
        match outcome {
            Ok((_, result)) => drop(result),
            Err(panic) => {
                let message = panic
                    .downcast_ref::<String>()
                    .cloned()
                    .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                    .unwrap_or_default();
                panic!("the client panicked waiting 1 s between attempts: {message}");
            }
        }
    }
}
