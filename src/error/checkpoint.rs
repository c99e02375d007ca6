//! A checkpoint save that failed: an error of its own (the stage, the
//! store's error) that may carry the step's error, which is why it lives
//! with [`Error`].

use std::fmt;

use super::Error;
use crate::checkpoint::{BoxError, CheckpointStage};
use crate::operation::Operation;

/// The [`Checkpoint`](crate::Checkpoint) failed to save the session.
#[derive(Debug)]
pub struct CheckpointError {
    operation: Operation,
    stage: CheckpointStage,
    source: BoxError,
    step_error: Option<Box<Error>>,
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

    pub(crate) fn with_step_error(mut self, error: Error) -> Self {
        self.step_error = Some(Box::new(error));
        self
    }

    /// The step's own error, when the step failed and then the save failed
    /// too (the session in memory records that failure).
    pub fn step_error(&self) -> Option<&Error> {
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
