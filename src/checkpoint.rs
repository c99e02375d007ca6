//! Where the client saves a session at the points that make a crash safe.

use std::fmt;

use async_trait::async_trait;

use crate::operation::Operation;
use crate::session::PortingSession;

type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

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

/// The [`Checkpoint`] failed to save the session.
#[derive(Debug)]
pub struct CheckpointError {
    operation: Operation,
    stage: CheckpointStage,
    source: BoxError,
    step_error: Option<Box<crate::Error>>,
}

impl CheckpointError {
    pub(crate) fn new(operation: Operation, stage: CheckpointStage, source: BoxError) -> Self {
        Self {
            operation,
            stage,
            source,
            step_error: None,
        }
    }

    pub(crate) fn with_step_error(mut self, error: crate::Error) -> Self {
        self.step_error = Some(Box::new(error));
        self
    }

    /// The step's own error, when the step failed and then the save failed
    /// too (the session in memory records that failure).
    pub fn step_error(&self) -> Option<&crate::Error> {
        self.step_error.as_deref()
    }

    /// The step being performed.
    pub fn operation(&self) -> Operation {
        self.operation
    }

    /// Whether the save failed before sending or after the outcome.
    pub fn stage(&self) -> CheckpointStage {
        self.stage
    }
}

impl fmt::Display for CheckpointError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.stage {
            CheckpointStage::BeforeSend => write!(
                f,
                "the session could not be saved before {}; nothing was sent",
                self.operation
            )?,
            CheckpointStage::AfterOutcome => write!(
                f,
                "the outcome of {} is in the session but could not be saved",
                self.operation
            )?,
        }
        if let Some(step_error) = &self.step_error {
            write!(f, " (the step failed: {step_error})")?;
        }
        Ok(())
    }
}

impl std::error::Error for CheckpointError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&*self.source as &(dyn std::error::Error + 'static))
    }
}
