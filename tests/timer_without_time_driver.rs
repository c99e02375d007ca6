//! The default timer where it cannot wait: `can_sleep()` is the client's
//! only way to know, and a wait it cannot make must end as an error with
//! its time — never a panic inside the library. A tokio runtime built
//! without its time driver (`Builder::new_current_thread().build()`) is
//! such a place.
#![cfg(feature = "reqwest")]

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
