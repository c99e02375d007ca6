//! Where the client saves a session at the points that make a crash safe.

use std::fmt;

use async_trait::async_trait;

use crate::session::PortingSession;

pub(crate) type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// Saves sessions for the client, at the moments a crash would otherwise
/// lose or repeat a side effect: after marking a step in flight and before
/// sending it, and after recording its outcome.
///
/// Without a checkpoint the client still keeps the in-flight marker in the
/// session (so an in-process retry reconciles), but a process that dies
/// between sending `register` and your own save resumes from a session that
/// does not know the request was sent. With one, the saved session always
/// has the marker, and the next step reconciles (reads the number) instead
/// of repeating the side effect.
///
/// Implement it over your own storage; key sessions by what identifies the
/// port for you (e.g. [`PortingSession::waba_id`] and
/// [`PortingSession::phone_number`]). A save must be durable when it returns.
///
/// ```
/// use std::sync::Mutex;
/// use waba_porting::{Checkpoint, PortingSession};
///
/// #[derive(Debug, Default)]
/// struct LastSaved(Mutex<Option<String>>);
///
/// #[waba_porting::async_trait]
/// impl Checkpoint for LastSaved {
///     async fn save(
///         &self,
///         session: &PortingSession,
///     ) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
///         let json = serde_json::to_string(session)?;
///         *self.0.lock().map_err(|_| "poisoned")? = Some(json);
///         Ok(())
///     }
/// }
/// ```
#[async_trait]
pub trait Checkpoint: Send + Sync + fmt::Debug {
    /// Durably saves `session`, replacing the previous save of the same port.
    async fn save(&self, session: &PortingSession) -> Result<(), BoxError>;
}

#[async_trait]
impl<T: Checkpoint + ?Sized> Checkpoint for std::sync::Arc<T> {
    async fn save(&self, session: &PortingSession) -> Result<(), BoxError> {
        (**self).save(session).await
    }
}

/// When a checkpoint save failed, relative to the request.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum CheckpointStage {
    /// Before sending: nothing was sent, the marker was taken back.
    BeforeSend,
    /// After the outcome was recorded in the session in memory: the step
    /// happened (or failed) as the session says; save the session yourself.
    AfterOutcome,
}
